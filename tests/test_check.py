"""The data-quality report: each kind of problem is found, with file and line."""
from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys

from site_src import check, store
from site_src.model import Appearance, DigestRecord, Paper
from conftest import ROOT

DAY = dt.date(2025, 12, 12)
ABSTRACT = "We study robust training. Results improve."


def paper(slug: str, title: str, **fields) -> Paper:
    fields.setdefault("summary", ABSTRACT)
    fields.setdefault("published_at", DAY)
    fields.setdefault("date_precision", "day")
    fields.setdefault("digests", (Appearance("2025-12-12-d", line=1),))
    return Paper(slug=slug, title=title, **fields)


def make_store(tmp_path, papers, *, raw=b"digest text\n", record=True):
    content = tmp_path / "content"
    (content / "papers").mkdir(parents=True)
    (content / "digests").mkdir()
    for item in papers:
        (content / "papers" / f"{item.slug}.md").write_text(store.dumps(item), encoding="utf-8")
    if record:
        digest = DigestRecord(id="2025-12-12-d", date=DAY, format="hf-text", source_name="d.txt",
                              raw_file="2025-12-12-d.txt", sha256=hashlib.sha256(raw).hexdigest(),
                              papers=tuple(p.slug for p in papers), ingested_on=DAY)
        (content / "digests" / "2025-12-12-d.yaml").write_text(store.dumps_digest(digest))
        (content / "digests" / "2025-12-12-d.txt").write_bytes(raw)
    return content


def found(report, severity=None):
    return [(p.source.rsplit("/", 1)[1], p.line, p.reason) for p in report.problems
            if severity is None or p.severity == severity]


def test_a_clean_store_has_no_problems(tmp_path):
    content = make_store(tmp_path, [paper("a", "Alpha"), paper("b", "Beta")])
    report = check.check_store(content)
    assert (report.papers, report.digests, report.problems) == (2, 1, ())


def test_front_matter_that_does_not_fit_is_an_error_with_file_and_line(tmp_path):
    content = make_store(tmp_path, [paper("a", "Alpha")])
    (content / "papers" / "a.md").write_text(
        store.dumps(paper("a", "Alpha")).replace("date_precision: day", "date_precision: 7"))
    (content / "papers" / "b.md").write_text("---\ntitle: [\n---\n")
    report = check.check_store(content)
    assert [(name, line) for name, line, _ in found(report, "error")] == [("a.md", 6), ("b.md", 3)]


def test_possible_duplicates_are_warned_once_per_pair_at_the_title_line(tmp_path):
    content = make_store(tmp_path, [
        paper("gat", "Graph Attention Networks"),
        paper("gat-2", "Graph attention networks."),
        paper("gatv2", "Graph Attention Networks v2"),
        paper("other", "How Attentive are Graph Attention Networks?"),
    ])
    warnings = found(check.check_store(content), "warning")
    assert sorted(warnings) == [
        ("gat-2.md", 3, "possible duplicate of gat: the same title"),
        ("gatv2.md", 3, "possible duplicate of gat-2: title similarity 95.7"),
        ("gatv2.md", 3, "possible duplicate of gat: title similarity 95.7"),
    ]


def test_two_papers_with_one_arxiv_id_are_an_error(tmp_path):
    content = make_store(tmp_path, [paper("a", "Alpha", id="2407.13168"),
                                    paper("b", "Beta", id="2407.13168")])
    assert found(check.check_store(content), "error") == [
        ("b.md", 2, "duplicate paper: arXiv id 2407.13168 is also a")]


def test_same_titles_with_different_ids_are_not_duplicates(tmp_path):
    content = make_store(tmp_path, [paper("a", "Attention", id="1706.03762"),
                                    paper("b", "Attention!", id="2501.00001")])
    assert check.check_store(content).problems != ()  # identical keys are still shown
    content2 = make_store(tmp_path / "x", [paper("a", "Attention Is All You Need", id="1706.03762"),
                                           paper("b", "Attention Is Not All You Need",
                                                 id="2501.00001")])
    assert check.check_store(content2).problems == ()


def test_inferred_and_missing_dates_are_warnings(tmp_path):
    content = make_store(tmp_path, [
        paper("a", "Alpha", date_precision="year-inferred"),
        paper("b", "Beta", published_at=None, date_precision=None),
    ])
    report = check.check_store(content)
    assert report.errors == ()
    assert [(name, reason.split(" ")[0]) for name, _, reason in found(report)] == [
        ("a.md", "the"), ("b.md", "no")]


def test_abstracts_that_look_cut_off_or_are_missing_are_warnings_at_the_body(tmp_path):
    content = make_store(tmp_path, [
        paper("a", "Alpha", summary="We propose a method that..."),
        paper("b", "Beta", summary="We propose a method that improves the"),
        paper("c", "Gamma", summary=""),
        paper("d", "Delta", summary="Code: https://github.com/a/b"),
        paper("e", "Epsilon", summary="We show $O(n)$"),
        paper("f", "Zeta", summary="Code is at github.com/PaulAlbert31/LSA"),
    ])
    report = check.check_store(content)
    body_line = store.split_front_matter(store.dumps(paper("a", "Alpha")))[2]
    assert [(name, line) for name, line, _ in found(report)] == [
        ("a.md", body_line), ("b.md", body_line), ("c.md", body_line - 0)]
    assert "no abstract" in found(report)[2][2]


def test_a_missing_or_changed_digest_archive_is_an_error(tmp_path):
    content = make_store(tmp_path, [paper("a", "Alpha")])
    (content / "digests" / "2025-12-12-d.txt").write_bytes(b"edited\n")
    assert "changed since it was ingested" in found(check.check_store(content), "error")[0][2]
    (content / "digests" / "2025-12-12-d.txt").unlink()
    assert "is missing" in found(check.check_store(content), "error")[0][2]


def test_links_between_papers_and_digest_records_must_resolve(tmp_path):
    content = make_store(tmp_path, [paper("a", "Alpha")])
    (content / "papers" / "a.md").unlink()
    (content / "papers" / "b.md").write_text(store.dumps(paper(
        "b", "Beta", digests=(Appearance("2020-01-01-gone"),))))
    errors = [reason for _, _, reason in found(check.check_store(content), "error")]
    assert errors == ["lists paper 'a', which has no file",
                      "appears in digest '2020-01-01-gone', which has no record in content/digests/"]


def test_a_digest_record_listing_a_paper_twice_is_an_error(tmp_path):
    content = make_store(tmp_path, [paper("a", "Alpha")])
    path = content / "digests" / "2025-12-12-d.yaml"
    path.write_text(path.read_text().replace("papers:\n- a\n", "papers:\n- a\n- a\n"))
    assert [reason for _, _, reason in found(check.check_store(content), "error")] == [
        "lists paper 'a' more than once"]


def test_file_names_that_are_not_slugs_or_clash_by_case_are_errors(tmp_path):
    content = make_store(tmp_path, [paper("alpha", "Alpha"), paper("Alpha", "Alpha again",
                                                                    id="2407.00001")])
    errors = [reason for _, _, reason in found(check.check_store(content), "error")]
    assert any("not a valid slug" in e for e in errors)
    assert any("case-insensitive" in e for e in errors)


def test_check_exits_1_on_errors_and_0_on_warnings_unless_strict(tmp_path):
    content = make_store(tmp_path, [paper("a", "Alpha", date_precision="year-inferred")])

    def run(*extra):
        return subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(tmp_path),
                               "check", *extra], capture_output=True, text=True)
    ok = run()
    assert ok.returncode == 0 and "0 error(s), 1 warning(s)" in ok.stdout
    assert "content/papers/a.md:" in ok.stdout
    assert run("--strict").returncode == 1
    (content / "digests" / "2025-12-12-d.txt").unlink()
    assert run().returncode == 1


def test_the_shipped_content_passes_check():
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(ROOT), "check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checked 41 papers and 1 digests: 0 error(s)" in result.stdout


TAXONOMY = """topics:
  - id: label-noise
    name: Label noise
    description: Learning from wrong labels.
    match: [label noise]
"""


def test_a_curated_topic_the_taxonomy_does_not_define_is_reported_at_its_file_and_line(tmp_path):
    content = make_store(tmp_path, [
        paper("a", "Alpha", topics=("label-noise",)),
        paper("b", "Beta", topics=("label-nosie",), topics_exclude=("gone",)),
    ])
    (content / "taxonomy.yaml").write_text(TAXONOMY, encoding="utf-8")
    text = (content / "papers" / "b.md").read_text(encoding="utf-8").splitlines()
    topics_line = next(i for i, line in enumerate(text, 1) if line.startswith("topics:"))
    exclude_line = next(i for i, line in enumerate(text, 1) if line.startswith("topics_exclude:"))
    assert found(check.check_store(content)) == [
        ("b.md", topics_line, "'topics' names unknown topic 'label-nosie'"),
        ("b.md", exclude_line, "'topics_exclude' names unknown topic 'gone'"),
    ]


def test_a_broken_taxonomy_is_an_error_at_its_line(tmp_path):
    content = make_store(tmp_path, [paper("a", "Alpha")])
    (content / "taxonomy.yaml").write_text(TAXONOMY + TAXONOMY.replace("topics:\n", ""),
                                           encoding="utf-8")
    errors = [p for p in check.check_store(content).problems if p.severity == "error"]
    assert [(p.source, p.line is not None) for p in errors] == [("content/taxonomy.yaml", True)]
    assert errors[0].line == 6 and "label-noise" in errors[0].reason
