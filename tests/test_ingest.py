"""Ingest: new papers, merges, idempotence, curator edits, all-or-nothing, the lock."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from site_src import ingest, store
from site_src.model import Appearance, DigestMeta, Paper, Problem, ReadResult
from site_src.readers import READERS
from conftest import ROOT, SAMPLE_TEXT_DIGEST

TODAY = dt.date(2025, 12, 20)


def parse_lines(text: str, *, source: str, digest_date=None, today) -> ReadResult:
    """A tiny test format: 'title | arXiv id | comments' per line, '#' lines are problems."""
    papers, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            problems.append(Problem(source, number, "unreadable entry", "error"))
            continue
        title, _, rest = line.partition("|")
        arxiv_id, _, comments = rest.partition("|")
        papers.append(Paper(slug="", title=title.strip(), id=arxiv_id.strip() or None,
                            summary=f"Abstract of {title.strip()}.",
                            comments=int(comments) if comments.strip() else None,
                            digests=(Appearance("", line=number, position=len(papers)),)))
    return ReadResult(DigestMeta("test-lines", digest_date), tuple(papers), tuple(problems),
                      entries_seen=len(papers) + len(problems))


@pytest.fixture(autouse=True)
def lines_reader(monkeypatch):
    monkeypatch.setitem(READERS, "test-lines", parse_lines)


def digest(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(paths, content: Path, date="2025-12-12", **options) -> ingest.IngestReport:
    options.setdefault("format", "test-lines")
    return ingest.ingest([paths] if isinstance(paths, Path) else paths, content, today=TODAY,
                         digest_date=dt.date.fromisoformat(date), **options)


def tree(content: Path) -> dict[str, bytes]:
    """Every content file (the ingest work folder excluded) and its bytes."""
    return {p.relative_to(content).as_posix(): p.read_bytes() for p in sorted(content.rglob("*"))
            if p.is_file() and ingest.WORK_DIR not in p.relative_to(content).parts}


FIRST = "Graph Attention Networks | 1710.10903 | 3\nMamba: Linear-Time Sequence Modeling | | 5\n"


def test_a_first_ingest_creates_papers_a_digest_record_and_the_raw_archive(tmp_path):
    content = tmp_path / "content"
    source = digest(tmp_path, "week one.txt", FIRST)
    report = run(source, content)
    assert report.new == ("graph-attention-networks", "mamba-linear-time-sequence-modeling")
    assert (report.entries_seen, report.updated, report.skipped) == (2, (), 0)
    corpus = store.load_store(content)
    assert corpus.problems == ()
    gat = corpus.papers[0]
    assert (gat.id, gat.comments, gat.first_seen) == ("1710.10903", 3, dt.date(2025, 12, 12))
    assert gat.digests == (Appearance("2025-12-12-week-one", line=1, position=0, comments=3),)
    (record,) = corpus.digests
    assert record.id == "2025-12-12-week-one" and record.source_name == "week one.txt"
    assert record.papers == record.new_papers == report.new
    assert record.ingested_on == TODAY and record.format == "test-lines"
    assert (content / "digests" / record.raw_file).read_bytes() == source.read_bytes()


def test_reingesting_the_same_digest_changes_no_byte(tmp_path):
    content = tmp_path / "content"
    source = digest(tmp_path, "d.txt", FIRST)
    run(source, content)
    before = tree(content)
    report = ingest.ingest([source], content, today=TODAY + dt.timedelta(days=30),
                           digest_date=dt.date(2025, 12, 12), format="test-lines")
    assert report.written == () and report.new == () and report.updated == ()
    assert len(report.unchanged) == 2
    assert tree(content) == before


def test_a_dry_run_writes_nothing_but_reports_the_plan(tmp_path):
    content = tmp_path / "content"
    report = run(digest(tmp_path, "d.txt", FIRST), content, dry_run=True)
    assert len(report.new) == 2 and report.dry_run and len(report.written) == 4
    assert tree(content) == {}


def test_curator_notes_topics_and_an_edited_title_survive_reingest_and_a_later_digest(tmp_path):
    content = tmp_path / "content"
    run(digest(tmp_path, "d.txt", FIRST), content)
    path = content / "papers" / "mamba-linear-time-sequence-modeling.md"
    paper = store.loads(path.read_text(), slug=path.stem, source="x")
    edited = dataclasses.replace(paper, title="Mamba: Linear-Time Sequence Modeling with "
                                 "Selective State Spaces", topics=("ssm",), notes="Key paper.")
    path.write_text(store.dumps(edited))
    run(digest(tmp_path, "d.txt", FIRST), content)
    assert store.loads(path.read_text(), slug=path.stem, source="x") == edited
    later = digest(tmp_path, "d2.txt", "Mamba: Linear-Time Sequence Modeling | 2312.00752 | 9\n")
    report = run(later, content, date="2025-12-19")
    assert report.updated == ("mamba-linear-time-sequence-modeling",) and report.new == ()
    final = store.loads(path.read_text(), slug=path.stem, source="x")
    assert (final.title, final.topics, final.notes) == (edited.title, ("ssm",), "Key paper.")
    assert (final.id, final.comments, final.first_seen) == ("2312.00752", 9, dt.date(2025, 12, 12))
    assert [a.digest for a in final.digests] == ["2025-12-12-d", "2025-12-19-d2"]


def test_hand_formatted_files_of_unchanged_papers_are_left_alone(tmp_path):
    content = tmp_path / "content"
    run(digest(tmp_path, "d.txt", FIRST), content)
    path = content / "papers" / "graph-attention-networks.md"
    path.write_text(path.read_text().replace("## Notes\n", "## Notes\n\n\n"))
    before = tree(content)
    run(digest(tmp_path, "d.txt", FIRST), content)
    assert tree(content) == before


def test_duplicates_are_found_both_ways_and_near_misses_reported(tmp_path):
    content = tmp_path / "content"
    run(digest(tmp_path, "a.txt", "Graph Attention Networks | | 1\n"), content)
    # by id from the other side: a later record with an id merges into the id-less paper
    report = run(digest(tmp_path, "b.txt", "graph attention networks. | 1710.10903 | 2\n"
                                           "Graph Attention Networks v2 | | 1\n"), content,
                 date="2025-12-13")
    assert report.updated == ("graph-attention-networks",)
    assert report.new == ("graph-attention-networks-v2",)
    (dup,) = report.possible_duplicates
    assert (dup.slug, dup.other, dup.line) == ("graph-attention-networks-v2",
                                               "graph-attention-networks", 2)
    report = run(digest(tmp_path, "c.txt", "A retitled GAT | 1710.10903 | 4\n"), content,
                 date="2025-12-14")
    assert report.updated == ("graph-attention-networks",) and report.new == ()


def test_a_repeated_entry_in_one_digest_is_skipped_with_a_problem(tmp_path):
    content = tmp_path / "content"
    report = run(digest(tmp_path, "d.txt", "Mamba | | 1\nMAMBA | | 1\n"), content)
    assert report.new == ("mamba",) and report.skipped == 1
    assert [(p.line, p.severity) for p in report.problems] == [(2, "warning")]


def test_strict_refuses_problems_and_writes_nothing(tmp_path):
    content = tmp_path / "content"
    source = digest(tmp_path, "d.txt", "# garbage\nMamba | | 1\n")
    with pytest.raises(ingest.StrictFailure) as failure:
        run(source, content, strict=True)
    assert failure.value.report.problems[0].line == 1
    assert tree(content) == {}
    report = run(source, content)
    assert report.skipped == 1 and report.new == ("mamba",)


def test_a_missing_or_unknown_file_fails_the_whole_ingest(tmp_path):
    content = tmp_path / "content"
    good = digest(tmp_path, "d.txt", FIRST)
    with pytest.raises(ingest.IngestError, match="cannot read"):
        run([good, tmp_path / "missing.txt"], content)
    with pytest.raises(ingest.IngestError, match="cannot tell the format"):
        ingest.ingest([digest(tmp_path, "x.bin", "\x00\x01")], content, today=TODAY)
    assert tree(content) == {}


def test_ingest_refuses_a_store_with_files_that_do_not_fit_the_schema(tmp_path):
    content = tmp_path / "content"
    (content / "papers").mkdir(parents=True)
    (content / "papers" / "bad.md").write_text("---\ntitle: [\n---\n")
    with pytest.raises(ingest.IngestError, match=r"bad.md:3: error"):
        run(digest(tmp_path, "d.txt", FIRST), content)


def test_the_digest_id_comes_from_date_and_file_stem():
    assert ingest.digest_id(dt.date(2025, 12, 12), "HF Papers (robust).TXT") == \
        "2025-12-12-hf-papers-robust"
    assert ingest.digest_id(None, "../../etc/passwd") == "undated-passwd"


def test_a_leftover_staging_folder_without_journal_is_rolled_back(tmp_path):
    content = tmp_path / "content"
    run(digest(tmp_path, "d.txt", FIRST), content)
    before = tree(content)
    staging = content / ingest.WORK_DIR / "staging"
    staging.mkdir(parents=True)
    (staging / "000000").write_text("half")
    assert ingest.recover(content) == "rolled back"
    assert tree(content) == before and not staging.exists()


def test_a_committed_journal_is_completed_by_the_next_load(tmp_path):
    content = tmp_path / "content"
    run(digest(tmp_path, "d.txt", FIRST), content)
    work = content / ingest.WORK_DIR
    (work / "staging").mkdir()
    (work / "staging" / "000000").write_text(store.dumps(Paper(slug="x", title="X")))
    (work / "journal.json").write_text(
        '{"version": 1, "moves": [[".ingest/staging/000000", "papers/x.md"],'
        ' [".ingest/staging/gone", "papers/y.md"]]}')
    corpus = store.load_store(content)
    assert "x" in [p.slug for p in corpus.papers]
    assert not (work / "journal.json").exists() and not (work / "staging").exists()


def test_a_second_ingest_waits_for_the_lock_then_fails_clearly(tmp_path):
    content = tmp_path / "content"
    with ingest.store_lock(content):
        started = time.monotonic()
        with pytest.raises(ingest.LockTimeout, match="another ingest is running"):
            run(digest(tmp_path, "d.txt", FIRST), content, lock_timeout=0.3)
        assert time.monotonic() - started >= 0.3
    assert tree(content) == {}
    assert len(run(digest(tmp_path, "d.txt", FIRST), content).new) == 2
