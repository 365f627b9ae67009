"""The Hugging Face papers API JSON reader: item lists, paper objects, bad items, dates."""
from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_src.readers import READERS, hf_json, read_file, sniff
from tests.conftest import DIGESTS, FIXTURES

TODAY = dt.date(2026, 6, 1)
HERE = FIXTURES / "hf_json"
SAMPLE = DIGESTS / "hf-daily-2026-05-29.json"


def parse_file(path, **options):
    return hf_json.parse(path.read_text(encoding="utf-8"), source=path.name, today=TODAY, **options)


def by_id(result):
    return {paper.id: paper for paper in result.papers}


def test_the_daily_sample_gives_eight_papers_in_listing_order_dated_by_its_items():
    result = parse_file(SAMPLE)
    assert [paper.id for paper in result.papers] == [
        "2605.21781", "2605.30280", "2605.29801", "2605.30161",
        "2605.24786", "2605.24785", "2605.23235", "2605.30350",
    ]
    assert result.problems == ()
    assert result.entries_seen == 8
    assert (result.digest.format, result.digest.date, result.digest.date_source) == (
        "hf-json", dt.date(2026, 5, 29), "items")
    assert [paper.digests[0].position for paper in result.papers] == list(range(8))
    assert all(paper.slug == "" and paper.digests[0].digest == "" for paper in result.papers)


def test_each_appearance_points_at_the_line_where_its_item_starts():
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    for paper in parse_file(SAMPLE).papers:
        start = paper.digests[0].line
        assert lines[start - 1].strip() == "{"
        assert f'"id": "{paper.id}"' in lines[start + 1]


def test_sample_fields_come_through_with_authors_dates_upvotes_and_repositories():
    papers = by_id(parse_file(SAMPLE))
    first = papers["2605.21781"]
    assert first.title == "Reflective Prompt Tuning through Language Model Function-Calling"
    assert first.authors == ("Farima Fatahi Bayat", "Moin Aminnaseri", "Pouya Pezeshkpour",
                             "Estevam Hruschka")
    assert first.n_authors == 4
    assert (first.published_at, first.date_precision) == (dt.date(2026, 5, 20), "day")
    assert first.submitted_at == dt.date(2026, 5, 29)
    assert first.github_repo == "https://github.com/megagonlabs/RPT"
    assert first.summary.startswith("Large language models (LLMs) have become")
    assert papers["2605.29801"].n_authors == len(papers["2605.29801"].authors) == 50
    qwen = papers["2605.30280"]
    assert (qwen.upvotes, qwen.digests[0].upvotes, qwen.submitted_at) == (35, 35, None)
    assert papers["2605.29801"].github_repo is None


def test_a_single_paper_object_is_read_with_every_optional_field():
    result = parse_file(HERE / "paper-2407-13168.json")
    (paper,) = result.papers
    assert paper.id == "2407.13168"
    assert paper.title == "SciCode: A Research Coding Benchmark Curated by Scientists"
    assert paper.summary == (
        "Since language models (LMs) now outperform average humans on many challenging tasks, "
        "it has become increasingly difficult to develop challenging, high-quality, and "
        "realistic evaluations.\n\nWe address this by examining LMs' capabilities to generate "
        "code for solving real scientific research problems.")
    assert paper.ai_summary == "SciCode is a benchmark of scientist-curated coding problems."
    assert paper.ai_keywords == ("code generation", "scientific computing", "benchmark")
    assert (paper.github_repo, paper.github_stars) == ("https://github.com/scicode-bench/SciCode", 123)
    assert paper.project_page == "https://scicode-bench.github.io/"
    assert paper.organization == "SciCode Bench"
    assert (paper.published_at, paper.submitted_at) == (dt.date(2024, 7, 18), dt.date(2024, 7, 19))
    assert paper.upvotes == 12 and paper.comments is None and not paper.withdrawn


def test_hidden_authors_are_counted_but_never_named():
    (paper,) = parse_file(HERE / "paper-2407-13168.json").papers
    assert paper.n_authors == 5
    assert paper.authors == ("Minyang Tian", "Luyu Gao", "Shizhuo Dylan Zhang")
    assert "Someone Private" not in json.dumps(paper.authors)


def test_a_nameless_author_is_counted_with_a_warning():
    result = parse_file(HERE / "paper-2407-13168.json")
    assert [p.reason for p in result.problems] == [
        "item 0 (arXiv 2407.13168): author 4 has no name; counted but not named"]
    assert result.problems[0].severity == "warning"


def test_search_results_carry_comments_organization_and_the_withdrawn_flag():
    result = parse_file(HERE / "search-robust.json")
    root, withdrawn = result.papers
    assert (root.id, root.comments, root.digests[0].comments) == ("2511.20626", 4, 4)
    assert root.organization == "Huawei Noah's Ark Lab"
    assert root.submitted_at == dt.date(2025, 11, 26) and not root.withdrawn
    assert withdrawn.id == "2301.00001"
    assert withdrawn.withdrawn is True
    assert withdrawn.title == "A Withdrawn Study of Robustness"
    assert (withdrawn.comments, withdrawn.authors, withdrawn.n_authors) == (0, (), None)


def test_items_dated_on_different_days_leave_the_digest_date_to_the_option():
    path = HERE / "hf-week-2026-W22.json"
    assert parse_file(path).digest.date is None
    dated = parse_file(path, digest_date=dt.date(2026, 5, 31)).digest
    assert (dated.date, dated.date_source) == (dt.date(2026, 5, 31), "option")


def test_without_item_dates_the_file_name_dates_the_digest():
    text = '[{"paper": {"id": "2605.21781", "title": "T"}}]'
    meta = hf_json.parse(text, source="hf-daily-2026-05-28.json", today=TODAY).digest
    assert (meta.date, meta.date_source) == (dt.date(2026, 5, 28), "file-name")


def test_bad_items_become_problems_with_their_lines_and_good_ones_survive():
    path = HERE / "bad-items.json"
    result = parse_file(path)
    errors = [(p.line, p.reason) for p in result.problems if p.severity == "error"]
    assert errors == [
        (2, "item 0 is a JSON str, not an object; skipped"),
        (3, "item 1: no paper.id; skipped"),
        (4, "item 2: paper.id 'not-an-id' is not an arXiv id; skipped"),
        (5, "item 3: 'paper' is not an object; skipped"),
    ]
    assert [paper.id for paper in result.papers] == ["2605.11111", "2605.22222"]
    assert result.entries_seen == 7


def test_fields_of_the_wrong_type_are_dropped_with_warnings_not_trusted():
    result = parse_file(HERE / "bad-items.json")
    paper = by_id(result)["2605.11111"]
    assert paper.title == "arXiv:2605.11111"
    assert paper.authors == () and paper.n_authors is None
    assert paper.github_repo is None and paper.project_page is None
    assert paper.upvotes is None and paper.github_stars is None and paper.comments is None
    assert paper.published_at is None and paper.ai_keywords == () and paper.organization is None
    warned = {p.reason.split(": ", 1)[1] for p in result.problems
              if p.severity == "warning" and p.line == 6}
    assert {"'githubRepo' is not an http(s) URL; ignored", "'authors' is not a list; ignored",
            "'upvotes' is not a count (-3); ignored", "'title' is not a string; ignored",
            "'publishedAt' is not an ISO date ('yesterday'); ignored",
            "'organization' is not an object; ignored"} <= warned


def test_a_repeated_id_keeps_the_first_listing():
    result = parse_file(HERE / "bad-items.json")
    assert [p.reason for p in result.problems if "listed again" in p.reason] == [
        "item 5: arXiv 2605.11111 is listed again; the first listing is kept"]
    assert by_id(result)["2605.22222"].digests[0].position == 1


def test_the_page_props_wrapper_is_read_like_a_list():
    result = parse_file(HERE / "page-props.json")
    assert [paper.id for paper in result.papers] == ["2605.21781", "2605.30280"]
    assert result.papers[0].comments == 1 and result.digest.title == "Daily Papers"
    assert result.digest.date == dt.date(2026, 5, 29)


def test_truncated_json_is_one_error_with_a_line_and_no_papers():
    result = parse_file(HERE / "truncated-2026-05-29.json")
    assert result.papers == ()
    (problem,) = result.problems
    assert problem.severity == "error" and problem.line == 25  # the unterminated summary
    assert problem.reason.startswith("not valid JSON")


def test_json_of_another_shape_is_an_error():
    result = hf_json.parse('{"error": "Not found"}', source="x.json", today=TODAY)
    assert result.papers == ()
    assert [p.reason for p in result.problems] == [
        "expected a list of papers or a paper object, found a JSON dict"]


def test_samples_and_variants_are_sniffed_as_hf_json_even_without_a_json_suffix():
    variants = [p for p in sorted(HERE.glob("*.json")) if not p.name.endswith(".expected.json")]
    assert len(variants) == 6
    for path in [SAMPLE, *variants]:
        text = path.read_text(encoding="utf-8")
        assert sniff(text, path.name) == "hf-json", path.name
        if "truncated" not in path.name:
            assert sniff(text, "capture.txt") == "hf-json", path.name
    assert READERS["hf-json"] is hf_json.parse


def test_read_file_uses_the_sniffed_reader_on_the_sample():
    result = read_file(SAMPLE, today=TODAY)
    assert result.digest.format == "hf-json" and len(result.papers) == 8


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "paper", "title", "authors", "name", "hidden", "publishedAt",
                         "upvotes", "numComments", "githubRepo", "organization", "fullname",
                         "ai_keywords", "withdrawnAt", "dailyPapers", "summary"]), inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_any_json_document_is_read_without_crashing(document):
    result = hf_json.parse(json.dumps(document, indent=1), source="x.json", today=TODAY)
    assert all(paper.id for paper in result.papers)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_read_without_crashing(text):
    hf_json.parse(text, source="x.json", today=TODAY)


