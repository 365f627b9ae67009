"""Ingest: fold digests into content/, all or nothing, one ingest at a time.

The recipe (`ingest`):
1. take the lock (content/.ingest/lock-<hash of its location>, see site_src/lockfile.py) and finish or discard what a killed ingest left;
2. load the store; refuse to write over files that do not fit the schema;
3. read every digest, match each record against the store (site_src.merge), build the new
   papers and digest records in memory (`plan_ingest`, pure);
4. write every changed file into content/.ingest/staging/, fsync, then write the journal
   (the list of renames) atomically: from that moment the ingest has happened;
5. rename the staged files into place, fsync, delete the journal.

A kill before step 4's journal leaves content/ as it was (staging is discarded next time);
a kill after it is completed by the next ingest or `load_store` (renames are replayed).
Files whose bytes would not change are never written, so re-ingesting a digest is a no-op.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from site_src import lockfile, merge, store
from site_src.model import Appearance, Corpus, DigestRecord, Paper, Problem, ReadResult
from site_src.slugs import slugify, unique_slug

WORK_DIR = ".ingest"
"""Folder inside content/ for the lock, the journal and staged files (not content)."""
LOCK_TIMEOUT = 60.0
"""Seconds a second ingest waits for the first before giving up."""
CRASH_ENV = "ATLAS_INGEST_CRASH_AT"
"""Testing hook: kill the process (SIGKILL) at a named step: 'staged', 'journal', 'apply-N', 'applied'."""
PAUSE_ENV = "ATLAS_INGEST_PAUSE_AT"
"""Testing hook: 'STEP:SECONDS' sleeps at a named step while holding the lock."""


class IngestError(Exception):
    """Ingest could not do its work; nothing was written."""


class LockTimeout(IngestError):
    """Another ingest held the lock for longer than we were willing to wait."""


@dataclass(frozen=True, slots=True)
class PossibleDuplicate:
    """A new paper whose title is close to a stored one, kept apart for a human to judge."""

    source: str
    line: int | None
    slug: str
    """The new paper."""
    other: str
    """The stored paper it resembles."""
    score: float

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: possible duplicate: {self.slug} looks like {self.other} " \
               f"(title similarity {self.score:g})"


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What an ingest saw and did (or, with dry_run, would do)."""

    entries_seen: int = 0
    new: tuple[str, ...] = ()
    """Slugs of papers created."""
    updated: tuple[str, ...] = ()
    """Slugs of stored papers whose content changed."""
    unchanged: tuple[str, ...] = ()
    skipped: int = 0
    """Entries not ingested (unreadable fragments, truncated entries, repeats)."""
    possible_duplicates: tuple[PossibleDuplicate, ...] = ()
    problems: tuple[Problem, ...] = ()
    digests: tuple[str, ...] = ()
    """Digest ids ingested."""
    written: tuple[str, ...] = ()
    """Files (relative to content/) written or to be written."""
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class DigestInput:
    """One digest file, read: its bytes (for the archive) and what the reader made of it."""

    path: Path
    data: bytes
    result: ReadResult


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of an ingest, computed in memory: files to write and the report."""

    files: dict[str, bytes] = field(default_factory=dict)
    """Relative path under content/ -> new bytes (changed papers and records, raw archives)."""
    report: IngestReport = IngestReport()


# --------------------------------------------------------------------- planning (pure)

def digest_id(date: dt.date | None, source_name: str) -> str:
    """The id of a digest: '<date>-<source stem slug>' ('undated-...' without a date)."""
    stem = slugify(Path(source_name).stem, max_length=60) or "digest"
    return f"{date.isoformat() if date else 'undated'}-{stem}"


def _raw_suffix(source_name: str) -> str:
    suffix = Path(source_name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ".txt"


def _appearance(record: Paper, digest: str, position: int) -> Appearance:
    """Where a record sat in its digest, under the digest's id."""
    if record.digests:
        found = record.digests[0]
        return dataclasses.replace(found, digest=digest,
                                   comments=found.comments if found.comments is not None
                                   else record.comments,
                                   upvotes=found.upvotes if found.upvotes is not None
                                   else record.upvotes)
    return Appearance(digest=digest, position=position, comments=record.comments,
                      upvotes=record.upvotes)


def plan_ingest(corpus: Corpus, inputs: Sequence[DigestInput], *, today: dt.date,
                digest_date: dt.date | None = None) -> Plan:
    """Work out the files an ingest writes and the report, without touching the disk.

    Papers and digest records are compared as values, so an unchanged paper is not
    rewritten (a curator's formatting survives); raw archives are always listed and
    the caller drops files whose bytes are already on disk.
    """
    from site_src.readers.common import date_in_filename

    index = merge.PaperIndex(corpus.papers)
    originals = {paper.slug: paper for paper in corpus.papers}
    records_by_id = {record.id: record for record in corpus.digests}
    outcome: dict[str, str] = {}  # slug -> 'new' | 'seen'
    problems: list[Problem] = []
    duplicates: list[PossibleDuplicate] = []
    new_records: dict[str, DigestRecord] = {}
    raw_files: dict[str, bytes] = {}
    entries_seen = skipped = 0

    for item in inputs:
        result = item.result
        name = item.path.name
        problems.extend(result.problems)
        entries_seen += max(result.entries_seen, len(result.papers))
        skipped += max(result.entries_seen - len(result.papers), 0)
        date = digest_date or result.digest.date or date_in_filename(name)
        if date is None:
            date = today
            problems.append(Problem(name, None, f"the digest has no date; using {today} "
                                    "(pass --date to set it)", "warning"))
        ident = digest_id(date, name)
        if ident in new_records:
            raise IngestError(f"{name}: two digests in one ingest share the id {ident!r}")
        slugs: list[str] = []
        created: list[str] = []
        lines: dict[str, int | None] = {}
        for position, record in enumerate(result.papers):
            line = record.digests[0].line if record.digests else None
            if record.truncated:
                skipped += 1
                continue
            appearance = _appearance(record, ident, position)
            record = dataclasses.replace(record, digests=())
            match = index.match(record)
            if match.slug is None:
                slug = unique_slug(record.title, index.papers, arxiv_id=record.id)
                index.add(merge.new_paper(record, slug=slug, appearance=appearance,
                                          digest_date=date))
                outcome[slug] = "new"
                created.append(slug)
                duplicates.extend(PossibleDuplicate(name, line, slug, other, score)
                                  for other, score in match.possible)
            else:
                slug = match.slug
                if slug in lines:
                    skipped += 1
                    first = lines[slug]
                    problems.append(Problem(name, line, f"this entry repeats the paper at line "
                                            f"{first} ({slug}); only the first was kept",
                                            "warning"))
                    continue
                index.add(merge.merge_paper(index.papers[slug], record, appearance=appearance,
                                            digest_date=date))
                outcome.setdefault(slug, "seen")
            lines[slug] = line
            slugs.append(slug)

        old = records_by_id.get(ident)
        sha = hashlib.sha256(item.data).hexdigest()
        if old is not None and old.sha256 != sha:
            problems.append(Problem(name, None, f"digest {ident} was ingested before from "
                                    "different bytes; its record and archive are replaced",
                                    "warning"))
        kept_new = set(created) | (set(old.new_papers) if old else set())
        raw_name = ident + _raw_suffix(name)
        new_records[ident] = DigestRecord(
            id=ident, date=date, format=result.digest.format, source_name=name,
            raw_file=raw_name, sha256=sha, papers=tuple(slugs),
            new_papers=tuple(s for s in slugs if s in kept_new),
            ingested_on=old.ingested_on if old and old.ingested_on else today,
            title=result.digest.title,
        )
        raw_files[f"{store.DIGESTS_DIR}/{raw_name}"] = item.data

    files: dict[str, bytes] = {}
    new, updated, unchanged = [], [], []
    for slug, state in outcome.items():
        paper = index.papers[slug]
        if state == "new":
            new.append(slug)
        elif paper == originals.get(slug):
            unchanged.append(slug)
            continue
        else:
            updated.append(slug)
        files[f"{store.PAPERS_DIR}/{slug}.md"] = store.dumps(paper).encode("utf-8")
    for ident, record in new_records.items():
        if records_by_id.get(ident) != record:
            files[f"{store.DIGESTS_DIR}/{ident}.yaml"] = store.dumps_digest(record).encode("utf-8")
    files.update(raw_files)
    report = IngestReport(
        entries_seen=entries_seen, new=tuple(new), updated=tuple(updated),
        unchanged=tuple(unchanged), skipped=skipped, possible_duplicates=tuple(duplicates),
        problems=tuple(problems), digests=tuple(new_records), written=tuple(sorted(files)),
    )
    return Plan(files=files, report=report)


# --------------------------------------------------------------------- lock, journal (I/O)

def _checkpoint(step: str) -> None:
    """Testing hook: die or pause at a named step when the environment asks for it."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV, "")
    if pause.rpartition(":")[0] == step:
        time.sleep(float(pause.rpartition(":")[2]))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def store_lock(content_dir: Path, *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the store's exclusive lock; raise LockTimeout after `timeout` seconds of waiting."""
    work = Path(content_dir) / WORK_DIR
    try:
        with lockfile.locked(work, timeout=timeout):
            yield
    except TimeoutError:
        raise LockTimeout(
            f"another ingest is running on {content_dir} (lock {lockfile.lock_path(work)} "
            f"held for more than {timeout:g} s); try again when it has finished"
        ) from None


def _recover_locked(content_dir: Path) -> str | None:
    """Complete a committed journal or discard uncommitted staging; say which (lock held)."""
    work = content_dir / WORK_DIR
    journal = work / "journal.json"
    staging = work / "staging"
    done = None
    if journal.exists():
        try:
            moves = json.loads(journal.read_text(encoding="utf-8"))["moves"]
            if not all(isinstance(m, list) and len(m) == 2 and all(isinstance(x, str) for x in m)
                       and not Path(m[1]).is_absolute() and ".." not in Path(m[1]).parts
                       for m in moves):
                raise ValueError("unexpected entries")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise IngestError(f"the ingest journal {journal} is unreadable ({error}); "
                              "move it away and run `build.py check`") from None
        _apply_moves(content_dir, moves)
        journal.unlink()
        _fsync_dir(work)
        done = "completed"
    if staging.exists():
        shutil.rmtree(staging)
        done = done or "rolled back"
    return done


def recover(content_dir: Path, *, timeout: float = LOCK_TIMEOUT) -> str | None:
    """Finish or undo an ingest that was killed; 'completed', 'rolled back' or None."""
    work = Path(content_dir) / WORK_DIR
    if not (work / "journal.json").exists() and not (work / "staging").exists():
        return None
    with store_lock(content_dir, timeout=timeout):
        return _recover_locked(Path(content_dir))


def _apply_moves(content_dir: Path, moves: list[list[str]]) -> None:
    """Rename staged files into place; a move already done is skipped (replay is safe)."""
    touched: set[Path] = set()
    for number, (staged, target) in enumerate(moves, start=1):
        source = content_dir / staged
        destination = content_dir / target
        if source.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, destination)
            touched.add(destination.parent)
        _checkpoint(f"apply-{number}")
    for folder in sorted(touched):
        _fsync_dir(folder)


def write_files(content_dir: Path, files: dict[str, bytes]) -> None:
    """Write files under content/ as one transaction (staging, journal, renames)."""
    if not files:
        return
    work = content_dir / WORK_DIR
    staging = work / "staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    moves = []
    for number, (rel, data) in enumerate(sorted(files.items())):
        target = (content_dir / rel).resolve()
        if not target.is_relative_to(content_dir.resolve()):
            raise IngestError(f"refusing to write outside {content_dir}: {rel}")
        staged = staging / f"{number:06d}"
        _write_synced(staged, data)
        moves.append([f"{WORK_DIR}/staging/{staged.name}", rel])
    _fsync_dir(staging)
    _checkpoint("staged")
    temporary = work / "journal.json.tmp"
    _write_synced(temporary, json.dumps({"version": 1, "moves": moves}, indent=1).encode())
    os.replace(temporary, work / "journal.json")  # the commit point
    _fsync_dir(work)
    _checkpoint("journal")
    _apply_moves(content_dir, moves)
    _checkpoint("applied")
    (work / "journal.json").unlink()
    shutil.rmtree(staging)
    _fsync_dir(work)


# --------------------------------------------------------------------- the command's core

def _unchanged_on_disk(content_dir: Path, rel: str, data: bytes) -> bool:
    """Whether a file already holds exactly these bytes (then it is not rewritten)."""
    try:
        return (content_dir / rel).read_bytes() == data
    except OSError:
        return False


def ingest(paths: Sequence[str | Path], content_dir: Path, *, today: dt.date,
           digest_date: dt.date | None = None, format: str | None = None,  # noqa: A002
           dry_run: bool = False, strict: bool = False,
           lock_timeout: float = LOCK_TIMEOUT,
           load: Callable[[Path], Corpus] | None = None) -> IngestReport:
    """Ingest digest files into content/ all or nothing; raise IngestError on failed work.

    With `strict`, any problem (even a warning) fails the ingest before anything is written.
    `load` replaces `store.load_store(content_dir, recover=False)` (e.g. a memoised loader
    returning the same Corpus); it is called with the lock held, after recovery.
    """
    from site_src.readers import UnknownFormat, read_file

    content_dir = Path(content_dir)
    with store_lock(content_dir, timeout=lock_timeout):
        _recover_locked(content_dir)
        corpus = load(content_dir) if load else store.load_store(content_dir, recover=False)
        errors = [p for p in corpus.problems if p.severity == "error"]
        if errors:
            listed = "\n  ".join(str(p) for p in errors[:20])
            raise IngestError("the store has files that do not fit the schema; fix them first "
                              f"(see `build.py check`):\n  {listed}")
        inputs = []
        for path in map(Path, paths):
            try:
                data = path.read_bytes()
                result = read_file(path, format=format, digest_date=digest_date, today=today)
            except OSError as error:
                raise IngestError(f"{path}: cannot read: {error.strerror or error}") from None
            except UnknownFormat as error:
                raise IngestError(str(error)) from None
            inputs.append(DigestInput(path, data, result))
        plan = plan_ingest(corpus, inputs, today=today, digest_date=digest_date)
        files = {rel: data for rel, data in plan.files.items()
                 if not _unchanged_on_disk(content_dir, rel, data)}
        report = dataclasses.replace(plan.report, dry_run=dry_run, written=tuple(sorted(files)))
        if strict and (report.problems or report.possible_duplicates):
            raise StrictFailure(report)
        if not dry_run:
            write_files(content_dir, files)
        return report


class StrictFailure(IngestError):
    """--strict and the digests had problems; nothing was written."""

    def __init__(self, report: IngestReport):
        count = len(report.problems) + len(report.possible_duplicates)
        super().__init__(f"{count} problem(s) with --strict; nothing was written")
        self.report = report
