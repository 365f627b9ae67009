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


def test_reingesting_an_older_digest_after_a_newer_one_changes_no_byte(tmp_path):
    content = tmp_path / "content"
    older = digest(tmp_path, "a.txt", FIRST)
    run(older, content, date="2025-12-12")
    run(digest(tmp_path, "b.txt", "Graph Attention Networks | 1710.10903 | 8\n"), content,
        date="2025-12-19")
    before = tree(content)
    report = run(older, content, date="2025-12-12")
    assert report.written == () and tree(content) == before
    gat = store.load_store(content).papers[0]
    assert gat.comments == 8 and [a.comments for a in gat.digests] == [3, 8]


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


def test_a_caller_may_supply_the_store_loader(tmp_path):
    content = tmp_path / "content"
    run(digest(tmp_path, "d.txt", FIRST), content)
    calls = []

    def loader(folder):
        calls.append(folder)
        return store.load_store(folder, recover=False)

    report = run(digest(tmp_path, "d.txt", FIRST), content, load=loader)
    assert calls == [content] and len(report.unchanged) == 2


def test_the_digest_id_comes_from_date_and_file_stem():
    assert ingest.digest_id(dt.date(2025, 12, 12), "HF Papers (robust).TXT") == \
        "2025-12-12-hf-papers-robust"
    assert ingest.digest_id(None, "../../etc/passwd") == "undated-passwd"
    assert ingest.digest_id(dt.date(2026, 5, 29), "hf-daily-2026-05-29.json") == \
        "2026-05-29-hf-daily-2026-05-29"
    assert ingest.digest_id(dt.date(2026, 5, 29), "深度.json") == "2026-05-29-digest"


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


def test_an_unreadable_journal_is_a_store_problem_not_a_crash(tmp_path):
    content = tmp_path / "content"
    run(digest(tmp_path, "d.txt", FIRST), content)
    (content / ingest.WORK_DIR / "journal.json").write_text('{"moves": [["a", "../../x"]]}')
    corpus = store.load_store(content)
    assert len(corpus.papers) == 2
    assert [p.severity for p in corpus.problems] == ["error"]
    assert "journal" in corpus.problems[0].reason
    with pytest.raises(ingest.IngestError, match="journal"):
        run(digest(tmp_path, "d.txt", FIRST), content)


def test_a_second_ingest_waits_for_the_lock_then_fails_clearly(tmp_path):
    content = tmp_path / "content"
    with ingest.store_lock(content):
        started = time.monotonic()
        with pytest.raises(ingest.LockTimeout, match="another ingest is running"):
            run(digest(tmp_path, "d.txt", FIRST), content, lock_timeout=0.3)
        assert time.monotonic() - started >= 0.3
    assert tree(content) == {}
    assert len(run(digest(tmp_path, "d.txt", FIRST), content).new) == 2


# ------------------------------------------------------------------ whole command, real digest

def cli(root: Path, *args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run build.py with --root as a user would."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(root), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          **kwargs)


def ingest_sample(root: Path, date: str, *extra: str, env=None) -> subprocess.CompletedProcess:
    return cli(root, "ingest", str(SAMPLE_TEXT_DIGEST), "--date", date, "--today", "2025-12-20",
               *extra, env=env)


@pytest.fixture(scope="module")
def sample_states(tmp_path_factory) -> tuple[dict, dict]:
    """The tree after ingesting the sample on 12-12, and after ingesting it again on 12-19."""
    root = tmp_path_factory.mktemp("reference")
    assert ingest_sample(root, "2025-12-12").returncode == 0
    before = tree(root / "content")
    assert ingest_sample(root, "2025-12-19").returncode == 0
    return before, tree(root / "content")


def test_the_command_prints_the_summary_and_rerunning_writes_nothing(tmp_path):
    first = ingest_sample(tmp_path, "2025-12-12")
    assert first.returncode == 0, first.stderr
    assert "entries seen: 41  new: 41  updated: 0  unchanged: 0  skipped: 0" in first.stdout
    assert "wrote 43 file(s)" in first.stdout
    again = ingest_sample(tmp_path, "2025-12-12")
    assert "new: 0  updated: 0  unchanged: 41" in again.stdout and "wrote 0 file(s)" in again.stdout


def test_the_shipped_content_is_the_sample_digest_ingested(tmp_path):
    record = store.load_store(ROOT / "content", recover=False).digests[0]
    result = cli(tmp_path, "ingest", str(SAMPLE_TEXT_DIGEST), "--date", "2025-12-12",
                 "--today", record.ingested_on.isoformat())
    assert result.returncode == 0, result.stderr
    shipped = {k: v for k, v in tree(ROOT / "content").items()
               if k.startswith(("papers/", "digests/"))}
    assert tree(tmp_path / "content") == shipped
    corpus = store.load_store(ROOT / "content", recover=False)
    assert len(corpus.papers) == 41 and corpus.problems == ()
    assert any(p.title.startswith("ROOT: Robust Orthogonalized Optimizer") for p in corpus.papers)


def test_command_usage_errors_exit_2_and_failed_work_exits_1(tmp_path):
    assert cli(tmp_path, "ingest").returncode == 2
    assert cli(tmp_path, "ingest", str(SAMPLE_TEXT_DIGEST), "--date", "12/12").returncode == 2
    unknown = cli(tmp_path, "ingest", str(SAMPLE_TEXT_DIGEST), "--format", "nope")
    assert unknown.returncode == 2 and "unknown format 'nope'" in unknown.stderr
    missing = cli(tmp_path, "ingest", str(tmp_path / "missing.txt"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    assert not (tmp_path / "content" / "papers").exists()


def test_the_dry_run_command_lists_the_plan_and_writes_nothing(tmp_path):
    result = ingest_sample(tmp_path, "2025-12-12", "--dry-run")
    assert result.returncode == 0
    assert "  new: root-robust-orthogonalized-optimizer-for-neural-network-training" in result.stdout
    assert "would write 43 file(s)" in result.stdout
    assert tree(tmp_path / "content") == {}


@pytest.mark.parametrize("step", ["staged", "journal", "apply-1", "apply-30", "applied"])
def test_a_kill_at_any_step_leaves_a_store_that_is_before_or_after(tmp_path, step, sample_states):
    before, after = sample_states
    assert ingest_sample(tmp_path, "2025-12-12").returncode == 0
    killed = ingest_sample(tmp_path, "2025-12-19", env={ingest.CRASH_ENV: step})
    assert killed.returncode == -9, killed.stderr
    on_disk = tree(tmp_path / "content")
    if step == "staged":
        assert on_disk == before  # nothing committed: content/ untouched
    corpus = store.load_store(tmp_path / "content")  # completes or rolls back
    assert corpus.problems == ()
    assert tree(tmp_path / "content") == (before if step == "staged" else after)
    assert not (tmp_path / "content" / ingest.WORK_DIR / "journal.json").exists()
    rerun = ingest_sample(tmp_path, "2025-12-19")
    assert rerun.returncode == 0
    assert tree(tmp_path / "content") == after


def test_two_ingests_at_once_never_interleave(tmp_path, sample_states):
    _, after = sample_states
    first = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "--root", str(tmp_path), "ingest",
         str(SAMPLE_TEXT_DIGEST), "--date", "2025-12-12", "--today", "2025-12-20"],
        env={**os.environ, ingest.PAUSE_ENV: "staged:2"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "content" / ingest.WORK_DIR / "staging"
    deadline = time.monotonic() + 10
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    impatient = ingest_sample(tmp_path, "2025-12-19", "--lock-timeout", "0.2")
    assert impatient.returncode == 1 and "another ingest is running" in impatient.stderr
    patient = ingest_sample(tmp_path, "2025-12-19")
    assert first.wait(timeout=20) == 0
    assert patient.returncode == 0, patient.stderr
    assert "new: 0  updated: 41" in patient.stdout
    assert tree(tmp_path / "content") == after


def test_a_hand_written_paper_keeps_every_value_the_curator_set(tmp_path):
    content = tmp_path / "content"
    (content / "papers").mkdir(parents=True)
    hand = ROOT / "tests" / "fixtures" / "store" / "hand-written.md"
    (content / "papers" / "mamba.md").write_bytes(hand.read_bytes())
    before = store.loads(hand.read_text(), slug="mamba", source="x")
    report = run(digest(tmp_path, "d.txt", "Mamba | 2312.00752 | 4\n"), content)
    assert report.updated == ("mamba",) and report.new == ()
    after = store.load_store(content).papers[0]
    assert (after.title, after.summary, after.authors, after.topics, after.notes) == \
        (before.title, before.summary, before.authors, before.topics, before.notes)
    assert after.comments == 4 and after.first_seen == dt.date(2025, 12, 12)
