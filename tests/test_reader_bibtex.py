"""The BibTeX reader: titles, names, dates, identifiers, links and parse failures."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from site_src.readers import READERS, bibtex, read_file, sniff
from tests.conftest import FIXTURES

TODAY = dt.date(2026, 6, 1)
HERE = FIXTURES / "bibtex"


def parse_file(path, **options):
    return bibtex.parse(path.read_text(encoding="utf-8"), source=path.name, today=TODAY, **options)


def by_title(result):
    return {paper.title: paper for paper in result.papers}


def test_a_library_gives_one_paper_per_entry_in_file_order_with_lines():
    result = parse_file(HERE / "survey.bib")
    assert [(paper.digests[0].line, paper.digests[0].position) for paper in result.papers] == [
        (4, 0), (11, 1), (25, 2), (36, 3), (45, 4), (62, 5)]
    assert result.entries_seen == 7
    assert result.digest.format == "bibtex"


def test_titles_lose_braces_and_tex_accents_become_letters():
    titles = [paper.title for paper in parse_file(HERE / "survey.bib").papers]
    assert titles[:4] == [
        "Attention Is All You Need",
        "ROOT: Robust Orthogonalized Optimizer for Neural Network Training",
        "Robust Training of Neural Networks with Schrödinger Bridges",
        "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA",
    ]


def test_last_first_names_read_as_first_last_and_braced_surnames_stay_whole():
    papers = parse_file(HERE / "survey.bib").papers
    assert papers[2].authors == ("Jörg Müller", "Jan van der Berg", "María García",
                                 "John Smith, Jr.")
    assert papers[2].n_authors == 4
    assert papers[1].authors == ("Wei He", "Kai Han", "Hang Zhou")
    assert papers[3].authors == ("H1 Collaboration",)


def test_and_others_keeps_the_named_authors_but_leaves_the_count_unknown():
    attention = parse_file(HERE / "survey.bib").papers[0]
    assert attention.authors == ("Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit")
    assert attention.n_authors is None


def test_years_months_and_full_dates_keep_their_precision():
    papers = parse_file(HERE / "survey.bib").papers
    assert [(p.published_at, p.date_precision) for p in papers] == [
        (dt.date(2017, 1, 1), "year"), (dt.date(2025, 1, 1), "year"),
        (dt.date(2023, 7, 1), "month"), (dt.date(2003, 1, 1), "year"),
        (dt.date(2024, 3, 5), "day"), (None, None)]


def test_arxiv_ids_come_from_eprint_journal_corr_volume_and_arxiv_dois():
    assert [paper.id for paper in parse_file(HERE / "survey.bib").papers] == [
        "1706.03762", "2511.20626", None, "hep-ex/0307015", "2403.01234", None]


def test_doi_url_venue_category_and_abstract_are_kept():
    papers = parse_file(HERE / "survey.bib").papers
    root, bridges, h1, zotero, yearless = papers[1], papers[2], papers[3], papers[4], papers[5]
    assert bridges.doi == "10.5555/ICML.2023.42"
    assert bridges.project_page == "https://robust-bridges.example.org/"
    assert bridges.journal_ref == ("Proceedings of the 40th International Conference on "
                                   "Machine Learning, 1000–1010 (2023)")
    assert h1.github_repo == "https://github.com/h1-collab/analysis" and h1.journal_ref is None
    assert zotero.doi is None  # the arXiv DOI is the id already
    assert yearless.journal_ref == "Journal of Examples 7"
    assert root.categories == ("cs.LG",)
    assert root.summary == ("The optimization of large language models remains a critical "
                            "challenge.\n\nCode: https://github.com/huawei-noah/ROOT")
    assert root.github_repo == "https://github.com/huawei-noah/ROOT"
    assert papers[0].summary == ""


def test_a_second_entry_for_one_arxiv_id_and_a_bad_year_are_warnings():
    result = parse_file(HERE / "survey.bib")
    assert [(p.severity, p.line, p.reason) for p in result.problems] == [
        ("warning", 54, "entry 'duplicate-of-root' is the same paper as the entry on line 11; "
                        "the first is kept"),
        ("warning", 62, "entry 'yearless': year 'forthcoming' is not a year; ignored"),
    ]


def test_parse_failures_are_errors_with_line_numbers_and_the_rest_is_read():
    result = parse_file(HERE / "broken.bib")
    assert [paper.title for paper in result.papers] == [
        "A Good Entry Before the Damage", "A Good Entry After the Damage"]
    assert [(p.severity, p.line) for p in result.problems] == [
        ("error", 7), ("error", 18), ("error", 23)]
    assert "cannot parse this BibTeX block" in result.problems[0].reason
    assert "'good1' is used again" in result.problems[1].reason
    assert "no title and no arXiv id" in result.problems[2].reason


def test_the_digest_date_comes_from_the_option_then_the_file_name():
    text = (HERE / "broken.bib").read_text(encoding="utf-8")
    named = bibtex.parse(text, source="reading-list-2026-05-01.bib", today=TODAY).digest
    assert (named.date, named.date_source) == (dt.date(2026, 5, 1), "file-name")
    chosen = bibtex.parse(text, source="reading-list-2026-05-01.bib",
                          digest_date=dt.date(2026, 5, 3), today=TODAY).digest
    assert (chosen.date, chosen.date_source) == (dt.date(2026, 5, 3), "option")


def test_a_file_without_entries_is_a_warning():
    result = bibtex.parse("% nothing here\n", source="empty.bib", today=TODAY)
    assert result.papers == ()
    assert [p.reason for p in result.problems] == ["no BibTeX entries found"]


def test_bibtex_is_sniffed_by_its_entries_even_without_the_suffix():
    for path in sorted(HERE.glob("*.bib")):
        text = path.read_text(encoding="utf-8")
        assert sniff(text, path.name) == "bibtex"
        assert sniff(text, "refs.txt") == "bibtex"
    assert READERS["bibtex"] is bibtex.parse
    assert read_file(HERE / "survey.bib", today=TODAY).digest.format == "bibtex"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("@{}=,\"#\\ \narticlemisc{title}author")), max_size=150))
def test_any_bibtex_like_text_is_read_without_crashing(text):
    result = bibtex.parse(text, source="x.bib", today=TODAY)
    assert all(paper.title for paper in result.papers)


def test_parse_failures_are_reported_once_as_problems_not_also_on_stderr():
    # A subprocess: under pytest, its own log capture would hide stray log lines.
    import subprocess
    import sys

    from tests.conftest import ROOT

    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "parse", str(HERE / "broken.bib")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "broken.bib:7: error: cannot parse" in run.stdout
    assert run.stderr == ""
