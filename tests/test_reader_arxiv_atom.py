"""The arXiv API Atom reader: ids, authors, categories, empty pages, errors and unsafe XML."""
from __future__ import annotations

import datetime as dt
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from site_src.readers import READERS, arxiv_atom, read_file, sniff
from tests.conftest import DIGESTS, FIXTURES

TODAY = dt.date(2026, 6, 1)
HERE = FIXTURES / "arxiv"
SAMPLE = DIGESTS / "arxiv-api-example.atom"


def parse_file(path, **options):
    return arxiv_atom.parse(path.read_text(encoding="utf-8"), source=path.name, today=TODAY,
                            **options)


def test_the_sample_entry_is_one_paper_with_its_old_style_id_doi_and_categories():
    result = parse_file(SAMPLE)
    assert result.problems == ()
    (paper,) = result.papers
    assert paper.id == "hep-ex/0307015"
    assert paper.title == ("Multi-Electron Production at High Transverse Momenta in ep "
                           "Collisions at HERA")
    assert paper.authors == ("H1 Collaboration",) and paper.n_authors == 1
    assert paper.doi == "10.1140/epjc/s2003-01326-x"
    assert paper.categories == ("hep-ex", "hep-ph")
    assert (paper.published_at, paper.date_precision) == (dt.date(2003, 7, 7), "day")
    assert paper.summary.startswith("Multi-electron production is studied at high transverse "
                                    "momentum in positron-proton collisions using")
    assert "\n" not in paper.summary
    assert paper.digests[0].line == 10 and paper.digests[0].position == 0


def test_the_feed_update_day_dates_the_digest_unless_none_is_given():
    meta = parse_file(SAMPLE).digest
    assert (meta.format, meta.date, meta.date_source) == ("arxiv-atom", dt.date(2013, 5, 29), "feed")
    assert meta.title.startswith("ArXiv Query: search_query=all:electron&id_list=")
    bare = '<feed xmlns="http://www.w3.org/2005/Atom"></feed>'
    dated = arxiv_atom.parse(bare, source="q.atom", digest_date=dt.date(2026, 5, 30), today=TODAY)
    assert (dated.digest.date, dated.digest.date_source) == (dt.date(2026, 5, 30), "option")


def test_versioned_new_and_old_style_ids_are_normalized():
    result = parse_file(HERE / "query-robust-training.atom")
    assert [paper.id for paper in result.papers] == ["2511.20626", "math.GT/0309136", "0704.0001"]


def test_a_second_version_of_the_same_paper_is_reported_not_repeated():
    result = parse_file(HERE / "query-robust-training.atom")
    assert [(p.line, p.reason) for p in result.problems] == [
        (58, "entry 3: arXiv 2511.20626 is listed again; the first listing is kept")]
    assert result.entries_seen == 4


def test_authors_categories_doi_journal_ref_and_comment_are_kept_in_order():
    root, _, diphoton = parse_file(HERE / "query-robust-training.atom").papers
    assert root.title == "ROOT: Robust Orthogonalized Optimizer for Neural Network Training"
    assert root.authors == ("Wei He", "Kai Han", "Hang Zhou")
    assert root.categories == ("cs.LG", "cs.AI")
    assert root.doi == "10.1000/root.2026"
    assert root.journal_ref == "Proc. ICML 2026, 1-14"
    assert root.arxiv_comment == "14 pages; project page: https://root-optimizer.github.io/."
    assert root.published_at == dt.date(2025, 11, 25)
    assert diphoton.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan")
    assert diphoton.title == ("Calculation of prompt diphoton production cross sections at "
                              "Tevatron and LHC energies")


def test_escaped_text_is_unescaped_once_and_links_are_found_in_abstract_and_comment():
    root = parse_file(HERE / "query-robust-training.atom").papers[0]
    assert "challenge & an open problem when training with <noisy> gradients." in root.summary
    assert root.github_repo == "https://github.com/huawei-noah/noah-research"
    assert root.project_page == "https://root-optimizer.github.io/"


def test_an_empty_page_of_a_non_empty_result_is_an_error_not_silence():
    result = parse_file(HERE / "empty-page.atom")
    assert result.papers == ()
    (problem,) = result.problems
    assert problem.severity == "error"
    assert "no entries although arXiv reports 37211 results from index 200" in problem.reason


def test_a_query_with_no_results_is_quietly_empty():
    result = parse_file(HERE / "no-results.atom")
    assert result.papers == () and result.problems == ()


def test_an_error_entry_is_a_problem_with_arxivs_message():
    result = parse_file(HERE / "error.atom")
    assert result.papers == ()
    assert [(p.severity, p.line, p.reason) for p in result.problems] == [
        ("error", 10, "arXiv returned an error: incorrect id format for 1234.12345")]


def test_entity_expansion_is_refused_before_any_entity_is_expanded():
    started = time.perf_counter()
    result = parse_file(HERE / "entity-expansion.atom")
    assert time.perf_counter() - started < 1
    assert result.papers == ()
    assert [p.reason for p in result.problems] == [
        "the document declares a DOCTYPE; refusing it (entities are not expanded)"]


def test_external_entities_are_never_resolved():
    result = parse_file(HERE / "external-entity.atom")
    assert result.papers == ()
    assert all("root:" not in p.reason for p in result.problems)
    assert result.problems[0].severity == "error"


def test_a_truncated_feed_is_one_error_with_its_line():
    text = (HERE / "query-robust-training.atom").read_text(encoding="utf-8")
    cut = text[: text.index("<author><name>Kai Han")]
    result = arxiv_atom.parse(cut, source="cut.atom", today=TODAY)
    assert result.papers == ()
    (problem,) = result.problems
    assert problem.severity == "error" and problem.line == cut.count("\n") + 1
    assert problem.reason.startswith("not well-formed XML")


def test_a_document_that_is_not_an_atom_feed_is_an_error():
    result = arxiv_atom.parse("<rss><channel/></rss>", source="x.xml", today=TODAY)
    assert [p.reason for p in result.problems] == ["the document is not an Atom <feed>"]


def test_an_oai_style_id_from_arxiv_listing_feeds_is_understood():
    text = ('<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
            "<entry><id>oai:arXiv.org:2605.12345v1</id><title>T</title></entry></feed>")
    (paper,) = arxiv_atom.parse(text, source="cs.LG.atom", today=TODAY).papers
    assert paper.id == "2605.12345"


def test_atom_samples_are_sniffed_as_arxiv_atom_even_without_their_suffix():
    for path in [SAMPLE, HERE / "query-robust-training.atom", HERE / "empty-page.atom"]:
        text = path.read_text(encoding="utf-8")
        assert sniff(text, path.name) == "arxiv-atom"
        assert sniff(text, "download") == "arxiv-atom"
    assert READERS["arxiv-atom"] is arxiv_atom.parse
    assert read_file(SAMPLE, today=TODAY).digest.format == "arxiv-atom"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' &;!?[]-abcdefentryidfeed\n")), max_size=200))
def test_any_markup_like_text_is_read_without_crashing(text):
    arxiv_atom.parse(text, source="x.atom", today=TODAY)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=100))
def test_any_entry_text_is_read_without_crashing(inner):
    from xml.sax.saxutils import escape

    text = ('<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2301.12345'
            f"</id><title>{escape(inner)}</title><summary>{escape(inner)}</summary></entry></feed>")
    result = arxiv_atom.parse(text, source="x.atom", today=TODAY)
    assert len(result.papers) + len(result.problems) >= 1


def test_a_lone_surrogate_in_the_text_does_not_crash_the_reader():
    text = ('<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2301.12345'
            "</id><title>Bad \ud800 char</title></entry></feed>")
    (paper,) = arxiv_atom.parse(text, source="x.atom", today=TODAY).papers
    assert paper.title == "Bad ? char"
