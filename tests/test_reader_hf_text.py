"""The Hugging Face papers text listing reader ('hf-text').

Small cases live in tests/fixtures/hf_text/<case>.txt beside <case>.json, which states what the
reader must make of the text: the digest fields and paper fields it lists are compared exactly,
`absent` names paper fields that must be missing, problems match by line, severity and a
fragment of the reason. The whole sample digest is the golden test in test_readers_common.py.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_src.readers import hf_text, paper_as_json, read_file, sniff

CASES = Path(__file__).parent / "fixtures" / "hf_text"
SAMPLE = Path(__file__).parent / "fixtures" / "digests" / "hf-papers-robust-training.txt"
TODAY = dt.date(2026, 11, 26)


def parse(text: str, **options):
    """Parse a listing given as a string."""
    options.setdefault("today", TODAY)
    return hf_text.parse(text, source="test.txt", **options)


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.txt")))
def test_fixture_case_parses_as_described(case):
    spec = json.loads((CASES / f"{case}.json").read_text(encoding="utf-8"))
    result = read_file(CASES / f"{case}.txt", format="hf-text",
                       today=dt.date.fromisoformat(spec["today"]))
    digest = {"format": result.digest.format, "title": result.digest.title,
              "date": result.digest.date.isoformat() if result.digest.date else None,
              "date_source": result.digest.date_source}
    for key, value in spec.get("digest", {}).items():
        assert digest[key] == value, f"digest {key}"
    assert result.entries_seen == spec["entries_seen"]
    papers = [paper_as_json(p) for p in result.papers]
    assert [p["title"] for p in papers] == [p["title"] for p in spec["papers"]]
    for actual, expected in zip(papers, spec["papers"]):
        for key, value in expected.items():
            if key == "absent":
                assert not set(value) & set(actual), f"{actual['title']}: should lack {value}"
            else:
                assert actual.get(key) == value, f"{actual['title']}: {key}"
    assert len(result.problems) == len(spec["problems"]), [str(p) for p in result.problems]
    for actual, expected in zip(result.problems, spec["problems"]):
        assert (actual.line, actual.severity) == (expected["line"], expected["severity"]), str(actual)
        assert expected["reason"] in actual.reason
        assert actual.source == f"{case}.txt"


def test_every_fixture_case_has_its_expectations():
    inputs = {p.stem for p in CASES.glob("*.txt")}
    specs = {p.stem for p in CASES.glob("*.json")}
    assert inputs == specs
    assert len(inputs) >= 15


def test_sample_digest_has_41_papers_with_root_as_its_own_entry():
    result = read_file(SAMPLE, today=TODAY)
    titles = [p.title for p in result.papers]
    assert len(titles) == 41 == result.entries_seen
    root = result.papers[titles.index(
        "ROOT: Robust Orthogonalized Optimizer for Neural Network Training")]
    assert root.n_authors is None and root.published_at is None
    assert root.summary.startswith("The optimization of large language models (LLMs)")
    after = result.papers[titles.index(root.title) + 1]
    assert after.title.startswith("Quick and Robust Feature Selection") and after.n_authors == 7
    assert result.problems == ()


def test_number_after_a_date_is_the_comment_count_not_upvotes():
    result = read_file(SAMPLE, today=TODAY)
    paper = next(p for p in result.papers if p.title.startswith("Low-Precision Training"))
    assert (paper.published_at, paper.comments, paper.upvotes) == (dt.date(2025, 5, 2), 3, None)
    assert paper.digests[0].comments == 3 and paper.digests[0].upvotes is None


def test_yearless_date_takes_the_digest_year():
    text = "Daily Papers\n\nJan 3\n\nT\n\nAn abstract.\n\n  • 2 authors\n·\nDec 30\n"
    result = parse(text, today=dt.date(2026, 1, 10))
    assert result.digest.date == dt.date(2026, 1, 3)
    paper = result.papers[0]
    assert (paper.published_at, paper.date_precision) == (dt.date(2026, 12, 30), "year-inferred")
    assert any("falls after the digest date" in p.reason for p in result.problems)


def test_page_date_resolves_to_latest_such_day_on_or_before_today():
    text = "Daily Papers\n\nDec 12\n\nT\n\nAn abstract.\n"
    assert parse(text, today=dt.date(2026, 12, 12)).digest.date == dt.date(2026, 12, 12)
    assert parse(text, today=dt.date(2026, 12, 11)).digest.date == dt.date(2025, 12, 12)
    assert parse(text).digest.date_source == "page"


def test_date_option_overrides_the_page_date_and_sets_the_year_of_yearless_dates():
    text = "Daily Papers\n\nDec 12\n\nT\n\nAn abstract.\n\n  • 2 authors\n·\nMar 1\n"
    result = parse(text, digest_date=dt.date(2020, 12, 12))
    assert (result.digest.date, result.digest.date_source) == (dt.date(2020, 12, 12), "option")
    assert result.papers[0].published_at == dt.date(2020, 3, 1)


def test_listing_without_a_page_date_has_no_digest_date():
    result = parse("T\n\nAn abstract.\n\n  • 2 authors\n·\nMar 1, 2024\n")
    assert (result.digest.date, result.digest.date_source) == (None, None)
    assert result.papers[0].published_at == dt.date(2024, 3, 1)


def test_impossible_card_date_is_left_empty_with_a_problem():
    result = parse("Daily Papers\n\nDec 12\n\nT\n\nAn abstract.\n\n  • 2 authors\n·\nFeb 30, 2024\n")
    assert result.papers[0].published_at is None and result.papers[0].date_precision is None
    assert [p.line for p in result.problems] == [11]


def test_byline_without_a_title_is_a_problem_not_a_paper():
    result = parse("Daily Papers\n\nDec 12\n\n  • 2 authors\n·\nMar 1, 2024\n")
    assert result.papers == ()
    assert [(p.line, p.severity) for p in result.problems] == [(5, "error")]


def test_odd_text_before_a_card_is_skipped_with_its_line():
    text = ("Daily Papers\n\nDec 12\n\nA\n\nA abstract.\n\n  • 1 authors\n·\nMar 1, 2024\n\n"
            "stray words\n\nB\n\nB abstract.\n\n  • 2 authors\n·\nMar 2, 2024\n")
    result = parse(text)
    assert [p.title for p in result.papers] == ["A", "B"]
    assert [(p.line, p.severity) for p in result.problems] == [(13, "error")]
    assert "stray words" in result.problems[0].reason


def test_card_with_title_but_no_abstract_is_kept_with_a_warning():
    text = "Daily Papers\n\nDec 12\n\nOnly A Title\n\n  • 2 authors\n·\nMar 1, 2024\n"
    result = parse(text)
    assert [(p.title, p.summary, p.n_authors) for p in result.papers] == [("Only A Title", "", 2)]
    assert [(p.line, p.severity) for p in result.problems] == [(5, "warning")]


def test_positions_count_papers_after_deduplication():
    card = "Same Title\n\nAbstract.\n\n  • 2 authors\n·\nMar 1, 2024\n\n"
    result = parse("Daily Papers\n\nDec 12\n\n" + card + card + card.replace("Same", "Other"))
    assert [(p.title, p.digests[0].position, p.digests[0].line) for p in result.papers] == [
        ("Same Title", 0, 5), ("Other Title", 1, 21)]
    assert result.entries_seen == 3


def test_slug_and_digest_id_are_left_for_ingest():
    paper = parse("T\n\nAn abstract.\n").papers[0]
    assert paper.slug == "" and paper.digests[0].digest == ""


def test_text_listing_is_sniffed():
    assert sniff(SAMPLE.read_text(encoding="utf-8"), "digest.txt") == "hf-text"
    assert hf_text.looks_like("Robust Models\n\nAbstract\n\n  • 4 authors\n·\nMay 9\n")


# Lines the reader has special rules for, so random text reaches every branch.
_FRAGMENTS = st.sampled_from([
    "", "·", "  • 3 authors", "- 1 authors", "Dec 12", "May 2 3", "Jun 12, 2023 1", "Feb 29",
    "Feb 30, 2024", "· Published on Oct 4, 2026", "[", "65", "][35]", " [-] 19", "[Upvote",
    "117](https://huggingface.co/login?next=%2Fpapers%2F2501.00001)", "Submitted by",
    "[图片：无替代文本]", "https://huggingface.co/papers/2501.00001", "[Content truncated]",
    "[GitHub 11.3k](https://github.com/a/b)", "[arXiv Page](https://arxiv.org/abs/2501.00001)",
    "### [Wrapped", "### Title][106]", "Daily Papers", "Trending Papers", "byAK", "Microsoft",
    "https://huggingface.co/papers/date/2026-03-24", "\ufeff", "\u00a0", "\r",
    "x" * 130, "![](x)", "[[a] B][1]", "Title", "An abstract. https: //github.com/a/b.",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=40)), max_size=40),
       st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_reader_never_raises_on_arbitrary_text(lines, today):
    result = hf_text.parse("\n".join(lines), source="random.txt", today=today)
    assert len(result.papers) <= result.entries_seen
    assert all(p.title and not p.truncated for p in result.papers)
    assert [p.digests[0].position for p in result.papers] == list(range(len(result.papers)))
    assert all(problem.source == "random.txt" for problem in result.problems)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_reader_never_raises_on_any_unicode_text(text):
    result = hf_text.parse(text, source="random.txt", today=TODAY)
    assert len(result.papers) <= result.entries_seen


def test_same_title_with_different_arxiv_ids_stays_two_papers():
    card = ("https://huggingface.co/papers/{id}\n\nAttention Is All You Need\n\nAbstract.\n\n"
            "  • 2 authors\n·\nMar 1, 2024\n\n")
    result = parse(card.format(id="1706.03762") + card.format(id="2501.00001"))
    assert [p.id for p in result.papers] == ["1706.03762", "2501.00001"]


def test_upvotes_before_a_title_go_to_that_card_even_between_cards_without_meta():
    text = "[\n5\n][1]\n\nA\n\nA abstract.\n\n[\n7\n][2]\n\nB\n\nB abstract.\n"
    assert [(p.title, p.upvotes) for p in parse(text).papers] == [("A", 5), ("B", 7)]


def test_truncation_marker_before_the_last_card_does_not_drop_it():
    text = ("Daily Papers\n\nDec 12\n\n[Content truncated]\n\nA\n\nA abstract.\n\n"
            "  • 2 authors\n·\nMar 1, 2024\n")
    result = parse(text)
    assert [p.title for p in result.papers] == ["A"] and result.problems == ()


def test_linked_comment_count_after_a_date_is_read_with_its_arxiv_id():
    text = ("T\n\nAn abstract.\n\n* 2 authors\n"
            "· May 2, 2025 [3](https://huggingface.co/papers/2505.01234#community)\n")
    paper = parse(text).papers[0]
    assert (paper.published_at, paper.comments, paper.id) == (dt.date(2025, 5, 2), 3, "2505.01234")
