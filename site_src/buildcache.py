"""Incremental builds: remember what made every output, redo only what changed.

The cache lives in `<root>/.cache/build-<hash of the output folder>/` (git-ignored):

- `corpus.pickle`: every paper and digest file parsed, keyed by its stat
  (mtime_ns, size, inode), so a rebuild re-parses only edited files;
- `topics.pickle`: each paper's automatic topics, keyed by the paper's text and
  the taxonomy, so a rebuild re-scores only edited papers;
- `corpus.delta.pickle`, `topics.delta.pickle`: what changed in those two memos
  since they were last saved whole (memolayers), so a digest saves a small file;
- `manifest.pickle`: for every output, the key of the inputs that made it (page:
  view + template closure; other outputs: their bytes) and the (size, mtime_ns)
  it had when written; plus a stat snapshot of every input, for the no-op path;
- `noop.marshal`: the no-op record of a small site's last build, which `build.py` reads
  before importing anything else (quicknoop; leave_noop_record).

Every file starts with a format line and a SHA-1 digest of its payload (cachefiles); the
whole cache also carries the code version (a hash of site_src/ and the versions
of Jinja2, markdown-it-py and PyYAML) and the site settings (config, taxonomy,
templates). Anything that does not match, fails to load, or disagrees with the
output tree (a file edited, added or removed behind our back) makes the build a
full one: the cache is never trusted, only checked.

How a build proceeds (`build`):

1. no-op check: same code, same inputs (stat snapshot of content/ and templates/),
   same output tree -> nothing to do;
2. load the corpus through the memo, assign topics through the memo;
3. plan every page (plan.plan_site), key each page by its view and template
   closure; render only pages whose key changed (in worker processes when many);
4. produce feeds, sitemap, search files and static files, keep those whose bytes changed;
5. write: with a trusted cache, changed files are replaced in place, each
   atomically (temp file + rename), and stale files removed; without one, worker
   processes render and write the pages straight into a fresh tree beside the
   output folder (unchanged files hard-linked from the previous build) while this
   process makes the other outputs; the tree is swapped in with two renames, like
   writer.write_site, without holding the site in memory, and the previous tree
   is deleted in the background.

Why in place rather than a staging tree for incremental builds: on this kind of
disk a 100k-page staging tree costs ~9 s of hard links and ~50 s to delete the
old tree, against milliseconds for the few dozen files an edit changes. A kill
during the in-place phase leaves some files new and some old; the manifest is
only saved after the last write, so the next build sees the mismatch and does a
full build.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import itertools
import json
import marshal
import operator
import os
import shutil
import stat as stat_module
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from site_src import codeversion, fsclock, lockfile, memolayers, quicknoop, urls
from site_src.buildreport import BuildError, BuildReport
from site_src.cachefiles import code_version, digest, load_blob, save_blob
from site_src.config import project_path
from site_src.memory import map_large_blocks, release_freed_memory
from site_src.model import Corpus, DigestRecord, Paper, Problem
from site_src.relatedmemo import CorruptCache, forget_related_memo, load_related_memo, save_related_memo
from site_src.writer import STAGING_PREFIX, StagedFile

CACHE_DIR = ".cache"
RENDER_IN_PARALLEL = 600
"""Pages to render before worker processes pay off."""
LIST_SHARE_OF_PAGES = 5
"""A full build renders its list pages in one worker when they are under 1/5 of the pages
(a list page costs ~2.5x a paper page, so that is under ~40% of the work)."""
ASSIGN_IN_PARALLEL = 1000
"""Papers to score for topics before worker processes pay off."""
EXTRAS_BESIDE_PAPERS = 1000
"""Papers from which a full build makes the search index, exports and feeds in a child
process beside the related papers and the plan (which keep one core busy, the other idle)."""
DEFER_VIEWS_PAGES = 2000
"""Paper pages to render again from which an incremental build plans them without their
views, and the processes that render them make them (as a full build does): a template
edit at 100k papers held ~1.3 GB of views. Below it the site index is dropped once the
pages are planned, which an update's extras stage (its peak) is better without."""
EARLY_PRODUCERS = ("search", "exports", "feeds")
"""Output producers that read only the Site's papers, digests and topics (not the pages,
related papers or about.md), so a full build can run them before the rest is made."""
NO_OUTPUT = ("", "")
"""A manifest entry (key, content hash) that matches no output: what old.get() gives for a new one."""
RACY_NS = fsclock.MARGIN_NS
"""Files modified this close to a snapshot (by our clock) are re-read: a second write within
the file system's timestamp granularity would otherwise look unchanged (git's "racy
clean"). Where the file system's own stamp is known, it is the limit instead (fsclock)."""


# ------------------------------------------------------------------ hashing

def view_key(view: Any) -> str:
    """Hash of a page view.

    marshal format 2 (no back-references, so object identity never matters) is the
    fastest exact serialization of the plain data views hold; dict order is the order
    the planning code inserted, which only changes when the code does, and a code
    change re-keys everything anyway. Views marshal cannot write fall back to repr().
    SHA-1 (hardware-accelerated here) hashes the ~170 MB of views of a 10k-paper site in
    half the time of BLAKE2b; this detects changes, it does not defend against anyone.
    """
    try:
        data = marshal.dumps(view, 2)
    except ValueError:
        data = b"repr:" + repr(view).encode("utf-8", "surrogatepass")
    return hashlib.sha1(data).hexdigest()


# ------------------------------------------------------------------ cache files

def cache_dir_for(root: Path, out_dir: Path) -> Path:
    """The cache folder of one output folder (two output folders never share a manifest).

    Keyed by the output folder's path relative to the project when it is inside it, so a
    project moved or copied (`cp -a`) keeps a cache that its next build can check and use.
    """
    key = digest(project_path(out_dir, root).encode())[:12]
    return Path(root) / CACHE_DIR / f"build-{key}"


# ------------------------------------------------------------------ stat snapshots

StatKey = tuple[int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    """What we compare to decide a file is unchanged: mtime in ns, size, inode."""
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def scan_tree(root: Path, *, skip_hidden: bool = True,
              known: Mapping[str, StatKey] | None = None, odd: set[str] | None = None,
              skip: Collection[str] = (), folders: dict[str, FolderKey] | None = None
              ) -> dict[str, StatKey]:
    """Relative POSIX path -> stat key of every file under root (empty when root is missing).

    A regular file whose path is in `known` takes that key instead of a stat call. `odd`
    collects the paths of the entries that are neither listed as regular files nor
    folders: symlinks, other special files and (with skip_hidden) hidden entries. Folders
    in `skip` (relative paths) are left out. `folders` receives the key (mtime ns, inode)
    of every folder listed, taken before its listing ('' for root, else 'sub/'), so that
    an entry added since changes it (quicknoop).
    """
    known = known or {}
    out: dict[str, StatKey] = {}
    root = Path(root)
    stack = [("", str(root))]
    while stack:
        prefix, folder = stack.pop()
        try:
            if folders is not None:
                st = os.stat(folder)
                folders[prefix] = (st.st_mtime_ns, st.st_ino)
            entries = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):
            if folders is not None:
                folders.pop(prefix, None)
            continue
        with entries:  # (streamed: 100k DirEntry objects held at once cost ~40 MB of heap)
            for entry in entries:
                rel = prefix + entry.name
                if skip_hidden and entry.name.startswith("."):
                    if odd is not None:
                        odd.add(rel)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if rel not in skip:
                        stack.append((rel + "/", entry.path))
                elif entry.is_file(follow_symlinks=False):
                    out[rel] = known.get(rel) or stat_key(entry.stat(follow_symlinks=False))
                else:
                    out[rel] = stat_key(entry.stat(follow_symlinks=False))
                    if odd is not None:
                        odd.add(rel)
    return out


# ------------------------------------------------------------------ memoised corpus

def _read_file(path: str) -> bytes | OSError:
    """A file's bytes, or the error reading it."""
    try:
        # Unbuffered: a buffered open() adds an ioctl and lseeks per file.
        with open(path, "rb", buffering=0) as handle:
            return handle.readall()
    except OSError as error:
        return error


def _read_batch(paths: list[str]) -> list[bytes | OSError]:
    return [_read_file(path) for path in paths]


READ_AHEAD_FILES = 2000
"""Files to read from which load_corpus reads them in threads ahead of the parsing."""
READ_AHEAD_BATCH = 64
READ_AHEAD_THREADS = 8
"""Reader threads: enough requests in flight to keep a disk busy while files are not cached
(each read releases the GIL while it waits); one batch of files per task keeps the
thread hand-offs to a few per hundred files."""
READ_AHEAD_MISSES = 8
"""Files found not cached (and over one in 16 so far) from which threads read ahead."""


_NOWAIT = getattr(os, "RWF_NOWAIT", None)


def _read_cached(path: str, size: int) -> bytearray | OSError | None:
    """A file's bytes when the page cache holds all `size` of them (read without waiting on
    the disk), the error opening it, or None (not all cached, or no such read here: tmpfs)."""
    if _NOWAIT is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        return error
    try:
        data = bytearray(size + 1)  # (a byte more: a file grown since its stat is not read short)
        if os.preadv(fd, [data], 0, _NOWAIT) != size:
            return None
        del data[size:]
        return data
    except OSError:  # EAGAIN (not cached), EOPNOTSUPP
        return None
    finally:
        os.close(fd)


def _read_ahead(paths: list[str], sizes: list[int]) -> Iterator[bytes | bytearray | OSError]:
    """Each file's bytes (or error) in order. Files the page cache holds are read here, in
    order, and the odd one it does not hold too; once more than one file in 16 was not
    cached (or where a read cannot tell, as on tmpfs), threads read the rest a few batches
    ahead of the caller.

    Threads cost where nothing waits on the disk: their GIL hand-offs (~265k futex calls
    for 10k files) took ~0.1 CPU-s more than reading 10k cached files in one thread.
    """
    misses = 0
    for n, (path, size) in enumerate(zip(paths, sizes)):
        data = _read_cached(path, size)
        if data is None:
            misses += 1
            if misses >= READ_AHEAD_MISSES and misses * 16 > n:
                yield from _read_in_threads(paths[n:])
                return
            data = _read_file(path)
        yield data


def _read_in_threads(paths: list[str]) -> Iterator[bytes | OSError]:
    """Each file's bytes (or error) in order, read by threads a few batches ahead of the caller."""
    batches = [paths[i:i + READ_AHEAD_BATCH] for i in range(0, len(paths), READ_AHEAD_BATCH)]
    with ThreadPoolExecutor(READ_AHEAD_THREADS, thread_name_prefix="atlas-read") as pool:
        window = 2 * READ_AHEAD_THREADS
        pending = collections.deque(pool.submit(_read_batch, batch) for batch in batches[:window])
        next_batch = len(pending)
        while pending:
            done = pending.popleft().result()
            if next_batch < len(batches):
                pending.append(pool.submit(_read_batch, batches[next_batch]))
                next_batch += 1
            yield from done


def _parse_paper_file(job: tuple[str, str, str], data: bytes | OSError | None = None
                      ) -> tuple[Paper | None, tuple[Problem, ...]]:
    """Parse a paper file (`data`: its bytes or the error reading them, when already read)."""
    from site_src import store

    path, slug, source = job
    if data is None:
        data = _read_file(path)
    try:
        if isinstance(data, OSError):
            raise data
        # Decoded at once: store.split_front_matter normalises line ends itself.
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, (Problem(source, None, f"cannot read: {error}", "error"),)
    return store.parse_paper(text, slug=slug, source=source)


def _parse_digest_file(job: tuple[str, str]) -> tuple[DigestRecord | None, tuple[Problem, ...]]:
    from site_src import store

    path, source = job
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, (Problem(source, None, f"cannot read: {error}", "error"),)
    return store.parse_digest(text, source=source)


_first = operator.itemgetter(0)
PAPERS_LISTED_WHOLE = "papers_listed_whole"
"""Item of a parse memo: True when content/papers/ held nothing but the memo's paper files
(regular, visible '.md' files) when load_corpus listed it (see snapshot_inputs)."""


def list_folder_files(folder: Path, suffix: str, known: Mapping[str, StatKey] | None = None
                      ) -> tuple[list[tuple[str, StatKey]], bool]:
    """(name, stat key) of the files named *suffix in content/<folder>/ (symlinks followed),
    by name, and whether the folder held nothing else (only regular, visible such files).

    A regular file whose 'content/<folder>/<name>' is in `known` takes that key. Streamed,
    each file stat'ed by name relative to the open folder: a list of 100k DirEntry objects,
    each caching its stat result, took ~80 MB of heap for the moment (kept by the process
    ever after) and the full paths' lookups ~20% more CPU.
    """
    known = known or {}
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return [], False
    prefix = f"content/{Path(folder).name}/"
    out = []
    others = 0  # entries other than regular, visible files with the suffix
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                name = entry.name
                if not (name.endswith(suffix) and entry.is_file(follow_symlinks=False)
                        and not name.startswith(".")):
                    others += 1
                if not (name.endswith(suffix) and entry.is_file()):
                    continue
                # The snapshot holds lstat keys: equal to stat's for a regular file only.
                key = known.get(prefix + name) if entry.is_file(follow_symlinks=False) else None
                if key is None:
                    st = os.stat(name, dir_fd=fd)
                    key = (st.st_mtime_ns, st.st_size, st.st_ino)
                out.append((name, key))
    finally:
        os.close(fd)
    out.sort(key=_first)  # (names are unique: no need to compare the keys)
    return out, not others


def list_content(content_dir: Path) -> dict[str, Any]:
    """The listings load_corpus makes of content/ (papers and digest records), for its
    `listings`: made beside the unpickling of the parse memo (update), they cost no time."""
    from site_src import store

    content_dir = Path(content_dir)
    scanned_ns = time.time_ns()  # (before any stat: see load_corpus)
    return {"scanned_ns": scanned_ns,
            store.PAPERS_DIR: list_folder_files(content_dir / store.PAPERS_DIR, ".md"),
            store.DIGESTS_DIR: list_folder_files(content_dir / store.DIGESTS_DIR, ".yaml")}


def load_corpus(content_dir: Path, memo: dict | None = None, *, recover: bool = True,
                known: Mapping[str, StatKey] | None = None, known_ns: int = 0,
                odd: Collection[str] | None = None, listings: Mapping[str, Any] | None = None,
                jobs: int | None = None) -> tuple[Corpus, dict]:
    """Load content/ like store.load_store, re-parsing only files whose stat changed.

    Returns the corpus and the new memo ({'papers': {name: (stat, paper, problems, hashes)},
    'digests': {...}}); hashes are paper_hashes(paper), made once per parse (see paper_keys). Parsing stays in this process: with store's fast reader (~40 µs a
    file) sending the papers back from worker processes would cost more than parsing them.

    `known` is a build's snapshot of content/ (snapshot_inputs: 'content/papers/x.md' -> stat
    key, taken at known_ns): a regular file it lists is not stat'ed again (100k stat calls,
    ~1 s at 100k papers). Files it does not list (added since, hidden, symlinks) are.
    With `odd` (what the snapshot found under content/ that is not a regular file, see
    scan_tree), the snapshot also stands for the folders' listings: they are not listed
    again (a scandir of 100k entries and a lookup each, ~0.4 s at 100k papers), and what
    the build reads is exactly what its snapshot recorded. `listings` is list_content's,
    made moments ago (and before this call): the folders are not listed again.
    With PARALLEL_PARSE_FILES files or more to parse and `jobs` (default: all CPUs) above
    one, a forked child parses the second half of them (_parse_papers_in_halves).
    """
    from site_src import store

    content_dir = Path(content_dir)
    if recover:
        from site_src import ingest as _ingest

        _ingest.recover(content_dir)
    memo = memo if isinstance(memo, dict) else {}
    # An entry is reused only if its file was last modified well before the memo's
    # snapshot: a second edit within the timestamp granularity would look unchanged.
    trusted_before = memo.get("scanned_ns", 0) - RACY_NS
    old_papers: Mapping = memo.get("papers") or {}
    old_digests: Mapping = {k: v for k, v in (memo.get("digests") or {}).items() if v[0][0] < trusted_before}
    new_memo: dict[str, Any] = {"papers": {}, "digests": {}, "scanned_ns": time.time_ns()}
    # (taken before any stat below, so a file changed during the listing is never trusted;
    # with a snapshot, the snapshot's time: its stat keys are older than the listing)
    if known is not None:
        new_memo["scanned_ns"] = min(known_ns, new_memo["scanned_ns"])
    else:
        known = {}
    if listings is not None:
        new_memo["scanned_ns"] = min(listings["scanned_ns"], new_memo["scanned_ns"])

    def listing(folder: Path, suffix: str) -> list[tuple[str, StatKey]]:
        if listings is not None and folder.name in listings:
            out, plain[folder.name] = listings[folder.name]
        else:
            out, plain[folder.name] = list_folder_files(folder, suffix, known)
        return out

    def snapshot_listing(folder: Path, suffix: str) -> list[tuple[str, StatKey]]:
        prefix = f"content/{folder.name}/"
        cut = len(prefix)
        out = [(rel[cut:], key) for rel, key in known.items()
               if rel.startswith(prefix) and rel.endswith(suffix) and rel.find("/", cut) < 0]
        strays = [rel for rel in odd if rel.startswith(prefix) and rel.endswith(suffix)
                  and rel.find("/", cut) < 0]
        if strays:
            # Symlinks and hidden files: taken as a listing would (a regular file once
            # symlinks are followed, by its stat).
            out = [item for item in out if prefix + item[0] not in odd]
            for rel in strays:
                try:
                    st = os.stat(folder / rel[cut:])
                except OSError:
                    continue
                if stat_module.S_ISREG(st.st_mode):
                    out.append((rel[cut:], stat_key(st)))
        out.sort(key=_first)
        return out

    plain: dict[str, bool] = {}  # folder name -> listed by scandir, and held nothing else
    list_folder = snapshot_listing if odd is not None and known else listing
    papers_dir = content_dir / store.PAPERS_DIR
    paper_files = list_folder(papers_dir, ".md")
    # The folder held only paper files (regular, visible): this memo is its whole listing.
    new_memo[PAPERS_LISTED_WHOLE] = plain.get(store.PAPERS_DIR, False)
    new_papers = new_memo["papers"]
    todo: list[tuple[str, StatKey]] = []
    get = old_papers.get
    for name, key in paper_files:
        entry = get(name)
        if entry is not None and entry[0] == key and key[0] < trusted_before:
            new_papers[name] = entry  # (the very entry: memolayers then compares by identity)
        else:
            new_papers[name] = None  # (its place, in the listing's order: parsed below)
            todo.append((name, key))
    folder, prefix = str(papers_dir), f"{content_dir.name}/{store.PAPERS_DIR}/"
    for (name, key), parsed in zip(todo, _parse_papers_in_halves(todo, folder, prefix, jobs)):
        new_papers[name] = (key, *parsed)
    entries = new_papers.values()
    papers: list[Paper] = [entry[1] for entry in entries if entry[1] is not None]
    problems: list[Problem] = [problem for entry in entries if entry[2] for problem in entry[2]]

    digests_dir = content_dir / store.DIGESTS_DIR
    digests: list[DigestRecord] = []
    for name, key in list_folder(digests_dir, ".yaml"):
        if name in old_digests and old_digests[name][0] == key:
            _, record, found = old_digests[name]
        else:
            record, found = _parse_digest_file(
                (str(digests_dir / name), f"{content_dir.name}/{store.DIGESTS_DIR}/{name}"))
        new_memo["digests"][name] = (key, record, found)
        problems.extend(found)
        if record is not None:
            digests.append(record)
    papers.sort(key=operator.attrgetter("slug"))
    digests.sort(key=operator.attrgetter("id"))
    return Corpus(papers=tuple(papers), digests=tuple(digests), problems=tuple(problems)), new_memo


def _parse_papers(todo: Sequence[tuple[str, StatKey]], folder: str, prefix: str
                  ) -> list[tuple[Paper | None, tuple[Problem, ...], tuple[str, str, str] | None]]:
    """(paper, problems, paper_hashes) of each (file name, stat key) in `folder`, in order."""
    paths = [os.path.join(folder, name) for name, _ in todo]
    # Many files (a full build, a new code version): read by threads ahead of the parsing,
    # so that files not in the page cache are waited for several at a time.
    contents = (_read_ahead(paths, [key[1] for _, key in todo]) if len(paths) >= READ_AHEAD_FILES
                else (None for _ in paths))
    out = []
    for (name, _), path, data in zip(todo, paths, contents):
        paper, found = _parse_paper_file((path, name[:-3], prefix + name), data)
        out.append((paper, found, paper_hashes(paper) if paper is not None else None))
    return out


PARALLEL_PARSE_FILES = 3000
"""Paper files to parse from which a forked child parses half of them."""


def _parse_papers_in_halves(todo: Sequence[tuple[str, StatKey]], folder: str, prefix: str,
                            jobs: int | None) -> list:
    """_parse_papers(todo, ...), the second half in a forked child when the files are many.

    Parsing is ~70 µs a file with its hashes, and sending a parsed paper back ~7 µs (it
    pickles as a tuple, model.pickled_as_tuples), so two processes load a 10k corpus
    ~0.4 s sooner, and a 100k one seconds sooner, its reads waited for by both. The
    results are the same papers, in the same order. A child that fails (killed, out of
    memory) costs only time: its half is parsed here.
    """
    from site_src.parallel import run_beside

    if len(todo) < PARALLEL_PARSE_FILES:
        return _parse_papers(todo, folder, prefix)
    half = len(todo) // 2
    second = todo[half:]
    beside = run_beside(lambda: _parse_papers(second, folder, prefix), jobs=jobs)
    first = _parse_papers(todo[:half], folder, prefix)
    try:
        rest = beside.result()
    except RuntimeError:
        rest = _parse_papers(second, folder, prefix)
    return first + rest


def paper_hashes(paper: Paper) -> tuple[str, str, str]:
    """(hash of the whole paper, hash of the paper without its notes, paper_text_key).

    Made when a file is parsed and kept in the parse memo, so keys over a whole corpus (the
    producers', related papers', each paper page's, the topic memo's) cost a lookup per paper
    instead of writing out 100k papers' text on every build.
    """
    whole = repr(paper)
    blind = repr(dataclasses.replace(paper, notes="")) if paper.notes else whole
    return (digest(whole.encode("utf-8", "surrogatepass")), digest(blind.encode("utf-8", "surrogatepass")),
            paper_text_key(paper))


def paper_keys(corpus_memo: Mapping) -> dict[str, tuple[str, str, str]]:
    """Slug -> paper_hashes of every paper in a parse memo from load_corpus."""
    return {entry[1].slug: entry[3] for entry in (corpus_memo.get("papers") or {}).values()
            if entry[1] is not None}


# ------------------------------------------------------------------ memoised topics

def paper_text_key(paper: Paper) -> str:
    """Hash of the fields topic assignment reads."""
    return digest(repr((paper.title, paper.summary, paper.topics, paper.topics_exclude)).encode())


_TAXONOMY = None


def _assign_one(paper: Paper):
    from site_src import taxonomy as taxonomy_module

    return taxonomy_module.assign_topics([paper], _TAXONOMY)[paper.slug]


def assign_topics(papers: Iterable[Paper], taxonomy, memo: dict | None = None, *,
                  jobs: int | None = None, text_keys: Mapping[str, str] | None = None,
                  paper_keys: Mapping[str, tuple[str, str, str]] | None = None) -> tuple[dict, dict]:
    """taxonomy.assign_topics with a memo: only papers whose text changed are scored again.

    text_keys: slug -> paper_text_key of the very papers given, or paper_keys: slug ->
    paper_hashes (the parse memo keeps them), so 100k texts are not written out and hashed
    again at every build. An unchanged paper keeps the memo's entry, the very object (so
    what was made from its Assignment can be told unchanged by identity).
    """
    global _TAXONOMY
    from site_src.parallel import parallel_map

    papers = list(papers)
    tax_key = digest(repr(taxonomy.topics).encode())
    memo = memo if isinstance(memo, dict) and memo.get("taxonomy") == tax_key else {}
    known: Mapping = memo.get("papers") or {}
    entries: dict[str, Any] = {}
    todo: list[tuple[Paper, str]] = []
    for paper in papers:
        slug = paper.slug
        hashes = paper_keys.get(slug) if paper_keys else None
        key = hashes[2] if hashes else (text_keys.get(slug) if text_keys else None) or paper_text_key(paper)
        entry = known.get(slug)
        if entry is not None and entry[0] == key:
            entries[slug] = entry
        else:
            entries[slug] = None  # (filled below, in the papers' order)
            todo.append((paper, key))
    _TAXONOMY = taxonomy
    try:
        # Assignment is a pure function of one paper and the taxonomy: split across workers.
        fresh = parallel_map(_assign_one, [paper for paper, _ in todo], min_items=ASSIGN_IN_PARALLEL, jobs=jobs)
    finally:
        _TAXONOMY = None
    for (paper, key), assignment in zip(todo, fresh):
        entries[paper.slug] = (key, assignment)
    out = {slug: entry[1] for slug, entry in entries.items()}
    return out, {"taxonomy": tax_key, "papers": entries}


# ------------------------------------------------------------------ templates

def template_keys(env, names: Iterable[str], references: dict[str, frozenset] | None = None) -> dict[str, str]:
    """Template name -> hash of its source and of every template it extends, includes or imports.

    A template that names another dynamically (a variable) depends on all of them.
    `references` (hash of a source -> the names it refers to, None for a dynamic one) spares
    parsing a source seen before (every build of a CLI process parsed every template: ~0.2 s);
    what is parsed is added to it.
    """
    import jinja2
    from jinja2 import meta

    sources: dict[str, str | None] = {}
    deps: dict[str, set[str] | None] = {}

    def load(name: str) -> None:
        if name in sources:
            return
        try:
            source, _, _ = env.loader.get_source(env, name)
        except jinja2.TemplateNotFound:
            sources[name], deps[name] = None, set()
            return
        sources[name] = source
        seen = digest(source.encode("utf-8", "surrogatepass")) if references is not None else ""
        found = references.get(seen) if references is not None else None
        if found is None:
            try:
                found = frozenset(meta.find_referenced_templates(env.parse(source)))
            except jinja2.TemplateSyntaxError:
                found = frozenset()  # rendering reports the error; the key just has to differ
            if references is not None:
                references[seen] = found
        deps[name] = None if None in found else {n for n in found if n}
        for child in deps[name] or ():
            load(child)

    for name in names:
        load(name)
    everything = None

    def closure(name: str) -> set[str]:
        nonlocal everything
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            children = deps.get(current)
            if children is None:  # dynamic reference: depend on every template there is
                if everything is None:
                    everything = set(env.loader.list_templates())
                    for other in everything:
                        load(other)
                stack.extend(everything)
            else:
                stack.extend(children)
        return seen

    out = {}
    for name in names:
        parts = sorted((n, sources.get(n) or "") for n in closure(name))
        out[name] = digest(json.dumps(parts).encode())
    return out


# ------------------------------------------------------------------ the manifest

@dataclass
class Manifest:
    """What the last build produced, from which inputs, and what the output tree looked like."""

    code: str = ""
    settings: str = ""
    """Hash of config, taxonomy and templates: a change re-keys every page."""
    inputs: dict[str, StatKey] = field(default_factory=dict)
    """Stat of every input file at the last build (for the no-op check)."""
    outputs: dict[str, tuple[str, str]] = field(default_factory=dict)
    """dest -> (input key, content hash)."""
    tree: dict[str, StatKey] = field(default_factory=dict)
    """dest -> stat of the file as written (to notice edits behind our back)."""
    scanned_ns: int = 0
    """When `inputs` was taken (files modified just before it are not trusted)."""
    producers: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """Output producer name -> (key of its inputs, the destinations it wrote)."""
    problems: tuple[Problem, ...] = ()
    """Problems the content had, reported again by a build that has nothing to do."""
    memo_token: int = 0
    """The parse memo this build made (its scanned_ns): only that memo says what the pages
    were built from (serve keeps newer memos in memory and leaves older ones on disk)."""
    pages: int = 0
    """How many of the outputs are pages."""
    folders: dict[str, FolderKey] = field(default_factory=dict)
    """Folder of the output tree ('' for the tree's root) -> (mtime ns, inode) it had when
    its entries were last seen to be those of `tree`, in an earlier tick of the file system's
    clock than the look (so not racy: fsclock): such a folder is not listed again while its
    key is the same (check_tree)."""
    inputs_stamp_ns: int | None = None
    """The file system's now (fsclock.file_system_now) just before `inputs` was taken: an
    input whose mtime is not below it may have changed since without changing its key.
    None when that was not known: then RACY_NS before scanned_ns (see racy_from)."""
    loaded: dict = field(default_factory=dict, compare=False, repr=False)
    """What read_manifest made of the files on disk (memolayers.merged, with its LAYERS record):
    the manifest a build saves is a delta against that base. Not part of the saved manifest."""


_MANIFEST_FIELDS = tuple(f.name for f in dataclasses.fields(Manifest) if f.name != "loaded")


@dataclass(frozen=True)
class CacheState:
    """The cache as loaded: the memos and a manifest that may be trusted (or None)."""

    folder: Path
    corpus_memo: dict
    topics_memo: dict
    manifest: Manifest | None
    reason: str
    """Why the manifest is not trusted ('' when it is)."""


def load_manifest(folder: Path, out_dir: Path, tree: Mapping[str, StatKey] | None = None
                  ) -> tuple[Manifest | None, str]:
    """The last build's manifest if it may be trusted for out_dir as it is now, else (None, why).

    `tree` is out_dir's scan_tree when the caller already has it.
    """
    manifest, reason = read_manifest(folder)
    if manifest is not None and not tree_matches(manifest, out_dir, tree):
        return None, TREE_CHANGED
    return manifest, reason


TREE_CHANGED = "the output folder was changed outside the build"


def read_manifest(folder: Path) -> tuple[Manifest | None, str]:
    """The last build's manifest if it is readable and from this code, else (None, why).

    Not yet trusted: the output tree must still match it (tree_matches). The manifest is
    saved as a base and a delta (memolayers; the delta of an update holds the few thousand
    outputs it changed, the base all 150k of a 100k-paper site) and is the two together:
    forget() removes the delta, so a base alone is never taken for the manifest.
    """
    folder = Path(folder)
    base = load_blob(folder / "manifest.pickle", any_code=True)
    delta = load_blob(folder / "manifest.delta.pickle", any_code=True) if isinstance(base, dict) else None
    if not (isinstance(delta, dict) and delta.get("base") == base.get(memolayers.TOKEN)):
        return None, "no usable cache"
    memo = memolayers.merged(base, delta)
    try:
        # (folders may be missing: then every folder is listed, as it must be once anyway)
        manifest = Manifest(**{name: memo[name] for name in _MANIFEST_FIELDS if name != "folders"},
                            folders=memo.get("folders") or {}, loaded=memo)
    except KeyError:
        return None, "no usable cache"
    if manifest.code != code_version():
        return None, "the code changed"
    # (A settings change is fine: keys include the settings, the tree is still known.)
    return manifest, ""


def tree_matches(manifest: Manifest, out_dir: Path, tree: Mapping[str, StatKey] | None = None) -> bool:
    """Whether the output folder is exactly as the manifest's build left it (by stat)."""
    if tree is None:
        return check_tree(manifest, out_dir)[0]
    return tree == manifest.tree


FolderKey = tuple[int, int]


def check_tree(manifest: Manifest, out_dir: Path, clock_dir: Path | None = None
               ) -> tuple[bool, dict[str, FolderKey]]:
    """Whether out_dir holds exactly the files of manifest.tree, each with its stat key (what
    scan_tree would find), and the folder keys a later check may trust (Manifest.folders).

    Every file of the tree is stat'ed (an edit in place changes only the file's stat), but a
    folder is listed only when its key differs from the one recorded: adding, removing or
    renaming an entry changes a folder's mtime. At 100k papers (150k files in 120k folders)
    that is a stat per file and folder instead of a listing of every folder (2.0 -> ~1 CPU-s).
    A folder listed is trusted from then on if it was last changed before the file system's
    clock, read through a file made in `clock_dir`, reached now (fsclock.trusted_before).
    """
    return _folder_keys(manifest, *_tree_changes(manifest, out_dir, clock_dir))


def _tree_changes(manifest: Manifest, out_dir: Path, clock_dir: Path | None = None
                  ) -> tuple[bool, dict[str, FolderKey], set[str], set[str]]:
    """check_tree's work: (whether the tree is as recorded, the folders listed now and trusted
    from now on, those to list again next time, the recorded folders the tree no longer has)."""
    trusted_before = fsclock.trusted_before(clock_dir, out_dir)  # (before any folder's stat)
    tree, recorded = manifest.tree, manifest.folders
    root = os.fspath(out_dir)
    prefix = os.path.join(root, "")
    stat = os.stat
    failed: tuple[bool, dict, set, set] = (False, {}, set(), set())
    for dest, key in tree.items():
        try:
            st = stat(prefix + dest, follow_symlinks=False)
        except OSError:
            return failed
        if (st.st_mtime_ns, st.st_size, st.st_ino) != key:
            return failed
    folders = tree_folders(tree)
    fresh: dict[str, FolderKey] = {}
    left_out: set[str] = set()
    for folder in folders:
        path = prefix + folder if folder else root
        try:
            # (the root as scan_tree lists it, through a symlink; any other folder by lstat)
            st = stat(path, follow_symlinks=not folder)
        except OSError:
            return failed
        if not stat_module.S_ISDIR(st.st_mode):
            return failed
        key = (st.st_mtime_ns, st.st_ino)
        if recorded.get(folder) != key:
            # Listed after its stat: an entry added since changes the mtime again.
            listed = _folder_listed(path, folder, tree, folders)
            if listed is None:
                return failed
            if listed and key[0] < trusted_before:
                fresh[folder] = key
            else:
                left_out.add(folder)  # (racy, or an empty folder of its own inside: listed every time)
    gone = {folder for folder in recorded if folder not in folders}
    return True, fresh, left_out, gone


def _folder_keys(manifest: Manifest, ok: bool, fresh: dict[str, FolderKey], left_out: set[str],
                 gone: set[str]) -> tuple[bool, dict[str, FolderKey]]:
    """check_tree's answer from _tree_changes'. The folders whose key is the recorded one keep
    the recorded objects (name and key): made anew, the 120k folders of a 100k-paper site
    held ~30 MB more through the build."""
    if not ok:
        return False, {}
    keys = {folder: key for folder, key in manifest.folders.items()
            if folder not in fresh and folder not in left_out and folder not in gone}
    keys.update(fresh)
    return True, keys


TREE_CHECK_BESIDE = 2_000
"""Output files from which the tree is checked in a child process rather than a thread. In a
thread its stat calls and listings take turns with the content scan of the same process: a
no-op build of 10k papers (15k files) took 0.15-0.19 s beside against 0.18-0.25 s in a thread,
from cli.main (tmpfs); at 1k papers (2.4k files) both took 0.04-0.05 s."""


class _TreeCheck:
    """check_tree(manifest, out_dir) running beside the build; result() gives its answer.

    A big tree is checked in a forked child process: in a thread, its loop over 150k files
    and 120k folders contended for the interpreter with the memos' unpickling (at 100k
    papers ~1.4 CPU-s, most of it added to the build's time); beside, it runs on another
    core and sends back only what changed. A small tree, or a single core, uses a thread.
    """

    def __init__(self, manifest: Manifest, out_dir: Path, jobs: int | None,
                 clock_dir: Path | None = None) -> None:
        from site_src.parallel import available_jobs, run_beside

        self._manifest, self._out_dir, self._clock_dir = manifest, out_dir, clock_dir
        self._answer: tuple[bool, dict[str, FolderKey]] | None = None
        self._beside = self._future = None
        if len(manifest.tree) >= TREE_CHECK_BESIDE and (jobs if jobs is not None else available_jobs()) > 1:
            self._beside = run_beside(lambda: _tree_changes(manifest, out_dir, clock_dir), jobs=jobs)
        else:
            self._future = _scanner().submit(_tree_changes, manifest, out_dir, clock_dir)

    def result(self) -> tuple[bool, dict[str, FolderKey]]:
        """check_tree's answer, once the check is done."""
        if self._answer is None:
            if self._beside is not None:
                try:
                    changes = self._beside.result()
                except RuntimeError:  # (the child process died: check here)
                    changes = _tree_changes(self._manifest, self._out_dir, self._clock_dir)
            else:
                changes = self._future.result()
            self._answer = _folder_keys(self._manifest, *changes)
        return self._answer

    def cancel(self) -> None:
        """Stop a child process still checking (the build failed)."""
        if self._beside is not None:
            self._beside.cancel()


def tree_folders(tree: Iterable[str]) -> set[str]:
    """Every folder holding a file of the tree, and those above it ('' for the tree's root)."""
    folders: set[str] = {""}
    for dest in tree:
        folder = dest.rpartition("/")[0]
        while folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def written_tree_keys(out_dir: Path, tree: Mapping[str, StatKey], clock_dir: Path | None = None
                      ) -> dict[str, FolderKey]:
    """The keys of the folders of a tree a full build just wrote whole (staged, then swapped
    in): their entries are the tree's files, so the next check_tree need not list them.
    As there, a folder changed in the file system's present tick is left out (listed next
    time): fsclock.trusted_before."""
    trusted_before = fsclock.trusted_before(clock_dir, out_dir)
    root = os.fspath(out_dir)
    prefix = os.path.join(root, "")
    keys: dict[str, FolderKey] = {}
    for folder in tree_folders(tree):
        try:
            st = os.stat(prefix + folder if folder else root, follow_symlinks=not folder)
        except OSError:
            continue
        if st.st_mtime_ns < trusted_before:
            keys[folder] = (st.st_mtime_ns, st.st_ino)
    return keys


SETTLE_WAIT_S = 0.05
"""How long a small build waits for the file system's clock to leave the tick of its last
writes, to key the folders it wrote into (settle_folder_keys): a tick is a jiffy (4 ms) on
ext4 and tmpfs; on a file system of coarser ticks the folders are left to the next check."""


def settle_folder_keys(out_dir: Path, tree: Mapping[str, StatKey], folders: Mapping[str, FolderKey],
                       clock_dir: Path) -> dict[str, FolderKey]:
    """`folders` and the keys of the tree's other folders, those that can be trusted once the
    file system's clock has left the tick of their last change (SETTLE_WAIT_S at most): each
    is stat'ed after that stamp and listed after its stat, as check_tree does.

    A build leaves out the folders it wrote into last (written_tree_keys) or at all
    (folders_left); keying them here spares the next check their listing, and lets the
    build leave a no-op record (leave_noop_record), which needs every folder keyed.
    """
    every = tree_folders(tree)
    missing = every - set(folders)
    keyed = dict(folders)
    if not missing:
        return keyed
    root = os.fspath(out_dir)
    prefix = os.path.join(root, "")

    def path_of(folder: str) -> str:
        return prefix + folder if folder else root

    try:
        newest = max(os.stat(path_of(folder), follow_symlinks=not folder).st_mtime_ns for folder in missing)
    except OSError:
        return keyed
    deadline = time.monotonic() + SETTLE_WAIT_S
    while True:
        stamp = fsclock.file_system_now(clock_dir, out_dir)
        if stamp is None:
            return keyed
        if stamp > newest:
            break
        if time.monotonic() > deadline:
            return keyed
        time.sleep(0.001)
    for folder in missing:
        path = path_of(folder)
        try:
            st = os.stat(path, follow_symlinks=not folder)
        except OSError:
            continue
        if (stat_module.S_ISDIR(st.st_mode) and st.st_mtime_ns < stamp
                and _folder_listed(path, folder, tree, every) is True):
            keyed[folder] = (st.st_mtime_ns, st.st_ino)
    return keyed


def _folder_listed(path: str, folder: str, tree: Mapping[str, StatKey], folders: set[str]) -> bool | None:
    """None when the folder holds a file the tree does not have; False when it holds no such
    file but a folder of its own (empty: scan_tree finds nothing in it, so the folder cannot
    be trusted by its key, which would not change as files appear in there); else True."""
    base = folder + "/" if folder else ""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return None
    clean = True
    for entry in entries:
        rel = base + entry.name
        if entry.is_dir(follow_symlinks=False):
            if rel not in folders:
                if scan_tree(Path(entry.path), skip_hidden=False):
                    return None
                clean = False
        elif rel not in tree:
            return None
    return clean


def folders_left(folders: Mapping[str, FolderKey], written: Iterable[str], removed: Iterable[str],
                 old_tree: Mapping[str, StatKey]) -> dict[str, FolderKey]:
    """Folder keys still true after files were written (replaced or new) and removed.

    Replacing a file (a rename over it) changes its folder's listing; a new or removed file
    may also have made or removed folders, changing their parents' listings up to the root.
    """
    kept = dict(folders)
    for dests, new in ((written, False), (removed, True)):
        for dest in dests:
            folder = dest.rpartition("/")[0]
            kept.pop(folder, None)
            if new or dest not in old_tree:
                while folder:
                    folder = folder.rpartition("/")[0]
                    kept.pop(folder, None)
    return kept


def load_memos(folder: Path, memos: dict | None = None, corpus_memo: dict | None = None) -> tuple[dict, dict]:
    """The parse and topic memos: from `memos` (kept in memory by serve) or from disk.

    A caller that has already read the parse memo from disk (update) passes it as corpus_memo.
    """
    if memos:
        corpus_memo, topics_memo = memos.get("corpus") or {}, memos.get("topics") or {}
    else:
        corpus_memo = load_corpus_memo(folder) if corpus_memo is None else corpus_memo
        topics_memo = load_layered(Path(folder), "topics")
    if not (isinstance(topics_memo, dict) and topics_memo.get("code") == code_version()):
        topics_memo = {}
    return corpus_memo, topics_memo


def load_state(folder: Path, out_dir: Path, settings: str, memos: dict | None = None) -> CacheState:
    """Load the cache and decide whether its manifest describes out_dir as it is now."""
    manifest, reason = load_manifest(folder, out_dir)
    corpus_memo, topics_memo = load_memos(folder, memos)
    return CacheState(Path(folder), corpus_memo, topics_memo, manifest, reason)


def load_corpus_memo(folder: Path) -> dict:
    """The parse memo of a cache folder, or {} when it is missing, corrupted or from other code."""
    memo = load_layered(Path(folder), "corpus")
    return memo if memo.get("code") == code_version() else {}


def load_layered(folder: Path, name: str) -> dict:
    """A memo saved by save_layered (its base and delta merged), or {} when there is none."""
    base = load_blob(folder / f"{name}.pickle")
    delta = load_blob(folder / f"{name}.delta.pickle") if base is not None else None
    return memolayers.merged(base, delta)


def save_layered(folder: Path, name: str, memo: dict, previous: Mapping) -> None:
    """Save memo as a delta against the base on disk, or as a new base when one is due.

    previous is what load_layered gave for the files on disk when this build began.
    """
    delta = memolayers.delta_against(previous, memo)
    if delta is None:
        save_blob(folder / f"{name}.pickle", memolayers.new_base(memo))
        (folder / f"{name}.delta.pickle").unlink(missing_ok=True)
    else:
        save_blob(folder / f"{name}.delta.pickle", delta)


def save_state(folder: Path, manifest: Manifest, corpus_memo: dict, topics_memo: dict, *,
               memos: bool = True, previous: tuple[Mapping, Mapping] = ({}, {})) -> None:
    """Write the memos (unless memos=False), then the manifest last (it vouches for the output tree).

    previous: the parse and topic memos as loaded from disk by this build, if it did.
    """
    folder = Path(folder)
    if memos:
        _save_memos(folder, corpus_memo, topics_memo, previous, None)
    save_manifest(folder, manifest)


def save_manifest(folder: Path, manifest: Manifest) -> None:
    """Save the manifest as a delta against the base on disk (manifest.loaded), or as a new
    base and an empty delta; the delta is written last (read_manifest needs both)."""
    quicknoop.remove(folder)  # (it vouches for the manifest it was made with)
    memo = {name: getattr(manifest, name) for name in _MANIFEST_FIELDS}
    delta = memolayers.delta_against(manifest.loaded, memo) if manifest.loaded else None
    if delta is None:
        memo["tree"] = _keyed_like(memo["tree"], memo["outputs"])
        base = memolayers.new_base(memo)
        save_blob(folder / "manifest.pickle", base)
        delta = {"base": base[memolayers.TOKEN], "sections": {}, "scalars": {}}
    save_blob(folder / "manifest.delta.pickle", delta)


def _keyed_like(tree: Mapping[str, StatKey], outputs: Mapping) -> dict[str, StatKey]:
    """tree keyed by the very strings that key outputs (the same paths): pickled together,
    each path is then stored and loaded once (150k paths, ~17 MB in memory at 100k papers)."""
    shared = {dest: tree[dest] for dest in outputs if dest in tree}
    if len(shared) != len(tree):
        shared.update((dest, key) for dest, key in tree.items() if dest not in shared)
    return shared


def forget(folder: Path) -> None:
    """Drop the manifest (before touching the output tree, so a kill cannot leave it trusted):
    its delta goes, and a base without its delta is not a manifest (read_manifest)."""
    quicknoop.remove(folder)
    (Path(folder) / "manifest.delta.pickle").unlink(missing_ok=True)


def keeps_noop_record(tree: Collection[str]) -> bool:
    """Whether a site of these output files is small enough to keep a no-op record."""
    return len(tree) <= quicknoop.MAX_OUTPUTS


def leave_noop_record(config, folder: Path, manifest: Manifest, input_folders: Mapping[str, FolderKey],
                      listed_before: int) -> None:
    """Save the no-op record of a build whose manifest was just saved or found true (quicknoop),
    when every key it would hold may be trusted: the output tree's folders all keyed
    (check_tree), the inputs older than the manifest's racy limit, their folders (input_folders,
    from this build's snapshot) older than this snapshot's (listed_before, racy_from), and the
    code's sources settled. A site too big for one keeps none.

    Only for builds of the default output folder with the configuration as content/site.yaml
    gives it: the record says nothing about command-line options (the answer takes none).
    """
    if not keeps_noop_record(manifest.tree) or set(manifest.folders) != tree_folders(manifest.tree):
        return
    roots = {"content/": config.content_dir, "templates/": config.templates_dir}
    if config.theme_dir:
        roots["theme/"] = config.theme_dir
    listed = {*roots, *(name + "/" for name in tree_folders(manifest.inputs) if name)}
    if any(name not in input_folders for name in listed):
        return  # (a root missing, or a folder not listed: content/papers/ after an update)
    # (a no-op keeps the manifest, and its snapshot's limit, of the build that made the
    # site; a folder changed since, by an entry the snapshot leaves out, is judged by this one)
    limit = racy_from(manifest.inputs_stamp_ns, manifest.scanned_ns)
    if any(key[0] >= limit for key in manifest.inputs.values()) or any(
            key[0] >= listed_before for key in input_folders.values()):
        return

    def path_of(rel: str) -> str:
        prefix, _, below = rel.rstrip("/").partition("/")
        return os.path.join(roots[prefix + "/"], below)

    files = {path_of(rel): key for rel, key in manifest.inputs.items()}
    out = os.fspath(config.out_dir)
    files.update((os.path.join(out, dest), key) for dest, key in manifest.tree.items())
    folders = {path_of(rel): key for rel, key in input_folders.items() if rel not in roots}
    folders.update((os.path.join(out, rel), key) for rel, key in manifest.folders.items() if rel)
    followed = {os.fspath(roots[prefix]): key for prefix, key in input_folders.items() if prefix in roots}
    followed[out] = manifest.folders[""]
    try:
        for name in ("manifest.pickle", "manifest.delta.pickle"):
            st = os.stat(Path(folder) / name)
            followed[os.fspath(Path(folder) / name)] = (st.st_mtime_ns, st.st_ino)
    except OSError:
        return
    # (the sources' own stamp, when their keys are too recent for our clock's margin)
    sources_stamp = (fsclock.file_system_now(folder, Path(codeversion.PACKAGE))
                     if codeversion.source_keys() is None else None)
    record = quicknoop.make_record(
        root=os.fspath(config.root), out_dir=out, pages=manifest.pages, outputs=len(manifest.outputs),
        problems=[str(problem) for problem in manifest.problems], files=files, folders=folders,
        followed=followed, sources_stamp=sources_stamp)
    if record is not None:
        quicknoop.save(folder, record)


# ------------------------------------------------------------------ writing

WRITE_THREADS = 4
"""Threads replacing files: on a slow disk, metadata operations overlap (1,500 replaces:
1.10 s in one thread, 0.45 s in four, measured here)."""


def _replace_file(path: Path, data: bytes | StagedFile) -> None:
    """Write data to path atomically: a temp file beside it (mode 644), then a rename."""
    if isinstance(data, StagedFile):  # (written beside it, or in the build's page stash, already)
        try:
            os.replace(data.path, path)
        except FileNotFoundError:  # (a new page's folder)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(data.path, path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_files(paths: list[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _remove_folders(paths: list[str]) -> None:
    for path in paths:
        try:
            os.rmdir(path)  # only succeeds when empty, which is what we want
        except OSError:
            pass


def write_changed(out_dir: Path, changed: Mapping[str, bytes | StagedFile], stale: Iterable[str]) -> None:
    """Replace changed files in place (each atomically) and delete stale ones."""
    out_dir = Path(out_dir)
    root = out_dir.resolve()
    paths = {}
    for dest in changed:
        path = out_dir / dest
        if not path.resolve().is_relative_to(root):
            raise ValueError(f"output {dest!r} would be written outside {out_dir}")
        paths[dest] = path
    stale = sorted(stale)
    removed = [os.path.join(out_dir, dest) for dest in stale]
    # Folders the stale files leave, deepest first: each is removed if it is empty then.
    folders: dict[int, set[str]] = collections.defaultdict(set)
    for dest in stale:
        parts = dest.split("/")
        for depth in range(1, len(parts)):
            folders[depth].add(os.path.join(out_dir, *parts[:depth]))
    levels = [sorted(folders[depth]) for depth in sorted(folders, reverse=True)]
    if len(paths) + len(removed) > 50:
        # Unlinks and rmdirs wait on the disk as replaces do (an update at 100k papers removes
        # ~1,150 files, often each in its own folder: ~1.8 s one after the other, ~1 s in
        # threads here), so all of them go through the threads, a level of folders at a time.
        with ThreadPoolExecutor(WRITE_THREADS) as pool:
            futures = [pool.submit(_replace_file, paths[d], changed[d]) for d in sorted(paths)]
            futures.extend(pool.submit(_remove_files, removed[i:i + 16]) for i in range(0, len(removed), 16))
            for future in futures:
                future.result()
            for level in levels:
                for future in [pool.submit(_remove_folders, level[i:i + 16]) for i in range(0, len(level), 16)]:
                    future.result()
    else:
        for dest in sorted(paths):
            _replace_file(paths[dest], changed[dest])
        _remove_files(removed)
        for level in levels:
            _remove_folders(level)


REMOVE_INLINE_FILES = 1000
"""A replaced output tree with fewer files is deleted before the build returns; a bigger one
in a detached process (writer.remove_tree_later): this disk deletes 100k files in ~50 s."""


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def _write_file(path: str, data: bytes, mode: int) -> None:
    """Write data to a file of a build's own folder, with plain os calls (see _stage_file)."""
    fd = os.open(path, _NEW_FILE, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _make_folder(folder: str, folders: set[str]) -> None:
    """Create folder (and any missing parent) in a fresh tree, once per process: a page's
    folder is new, so one mkdir usually does, and only a failed one climbs to the parent."""
    try:
        os.mkdir(folder)
    except FileNotFoundError:
        _make_folder(folder.rpartition("/")[0], folders)
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass  # another worker made it meanwhile
    except FileExistsError:
        pass
    folders.add(folder)


def _stage_file(root: str, previous: str | None, dest: str, data: bytes,
                folders: set[str]) -> tuple[bool, StatKey]:
    """Write one output into the new tree `root`; (False when, its bytes being those of the
    previous build's file under `previous`, it was hard-linked instead, keeping its inode
    and mtime; the file's stat key, for the manifest's record of the tree).

    Plain os calls on string paths: pathlib's write_bytes (open() adds fstat, ioctl and
    lseek calls) and mkdir(parents=True) made a third more system calls than the writing
    itself, 17k files at 10k papers.
    """
    # The tree is our own fresh folder with no links in it, so a relative path
    # without '..' stays inside it: no need to resolve (an lstat per component).
    if not urls.is_safe_dest(dest):
        raise ValueError(f"output {dest!r} would be written outside the site")
    path = f"{root}/{dest}"
    folder = path.rpartition("/")[0]
    if folder not in folders:
        _make_folder(folder, folders)
    if previous is not None:
        old = f"{previous}/{dest}"
        try:
            if os.stat(old).st_size == len(data):
                with open(old, "rb") as handle:
                    same = handle.read() == data
                if same:
                    os.link(old, path)
                    return False, stat_key(os.stat(path))
        except OSError:
            pass  # no previous file, or no hard links here: write it
    _write_file(path, data, 0o666)  # (the umask applies, as with open())
    return True, stat_key(os.stat(path))


class _Staging:
    """A fresh output tree built beside the output folder, then swapped in with two renames.

    Like writer.write_site, but filled file by file as pages are rendered (a 100k-page
    site is ~3 GB of HTML, too much to hold): by writer threads (put) or straight from
    the worker processes that render the pages (stage). Files whose bytes equal the
    previous build's are hard-linked, so they keep their inode and mtime.
    """

    def __init__(self, out_dir: Path, protected: Iterable[Path]) -> None:
        from site_src.writer import check_out_dir

        self.target = check_out_dir(out_dir, protected)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.previous = self.target if self.target.exists() else None
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.target.name}{STAGING_PREFIX}", dir=self.target.parent)).resolve()
        self._root, self._previous = str(self.root), (str(self.previous) if self.previous is not None else None)
        self.written: list[str] = []
        self.tree: dict[str, StatKey] = {}
        """dest -> stat key of every file staged (what scan_tree will find once swapped in)."""
        self._pool = ThreadPoolExecutor(WRITE_THREADS)  # (its threads start with the first put)
        self._pending: list = []
        self._folders: set[str] = {self._root}
        self._old_files: dict[str, StatKey] | None = None
        self.committed = False

    def put(self, dest: str, data: bytes) -> None:
        """Write one output into the new tree (in a writer thread)."""
        self._pending.append(self._pool.submit(self._write, dest, data))
        if len(self._pending) > 4096:
            self.drain()

    def stage(self, dest: str, data: bytes) -> tuple[bool, StatKey]:
        """Write one output into the new tree now (in a worker process): (written, its stat key);
        the parent hands both to record()."""
        return _stage_file(self._root, self._previous, dest, data, self._folders)

    def record(self, dest: str, written: bool, key: StatKey) -> None:
        """Note a file a worker process staged."""
        self.tree[dest] = key
        if written:
            self.written.append(dest)

    def _write(self, dest: str, data: bytes) -> tuple[str, bool, StatKey]:
        return (dest, *_stage_file(self._root, self._previous, dest, data, self._folders))

    def drain(self) -> None:
        """Wait for every write submitted so far."""
        pending, self._pending = self._pending, []
        for future in pending:
            self.record(*future.result())

    def scan_previous(self) -> None:
        """List the previous tree's files (to report the removed ones); the parent does it
        while worker processes render."""
        self._old_files = scan_tree(self.previous, skip_hidden=False) if self.previous is not None else {}

    def commit(self, dests: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Swap the new tree in; return (written, removed) destinations.

        The previous tree is moved aside and deleted, in the background when it is big
        (the new site is in place by then), as is any earlier one a removal left behind.
        """
        from site_src.writer import move_aside, old_trees, remove_tree_later

        self.drain()
        self._pool.shutdown()
        if self._old_files is None:
            self.scan_previous()
        old_files = self._old_files or {}
        removed = sorted(set(old_files) - dests)
        os.chmod(self.root, 0o755)  # mkdtemp makes it 0700; a web server must read it
        for leftover in old_trees(self.target):
            remove_tree_later(leftover)
        if self.target.exists():
            aside = move_aside(self.target)
            os.rename(self.root, self.target)
            if len(old_files) < REMOVE_INLINE_FILES:
                shutil.rmtree(aside, ignore_errors=True)
            else:
                remove_tree_later(aside)
        else:
            os.rename(self.root, self.target)
        self.committed = True
        return tuple(sorted(self.written)), tuple(removed)

    def abort(self) -> None:
        """Throw the new tree away (the previous site stays)."""
        self._pool.shutdown(cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)


def timed(log: dict[str, float], name: str):
    """Context manager adding the elapsed seconds of a block to log[name]."""
    class _Timer:
        def __enter__(self):
            self.start = time.perf_counter()

        def __exit__(self, *exc):
            log[name] = round(log.get(name, 0.0) + time.perf_counter() - self.start, 4)
    return _Timer()


__all__ = [
    "CacheState", "Manifest", "assign_topics", "cache_dir_for", "code_version", "digest",
    "forget", "load_blob", "load_corpus", "load_state", "save_blob", "save_state",
    "scan_tree", "stat_key", "template_keys", "view_key", "write_changed",
]


# ------------------------------------------------------------------ the build

def settings_key(config) -> str:
    """Hash of the configuration every page sees (env globals `site` and `config`)."""
    return digest(json.dumps(config.fingerprint(), sort_keys=True, default=str).encode())


def snapshot_inputs(config, listed: Mapping | None = None,
                    previous: Mapping[str, StatKey] | None = None, odd: set[str] | None = None,
                    folder_keys: dict[str, FolderKey] | None = None) -> dict[str, StatKey]:
    """Stat of every file a build reads: content/ (minus work folders) and the templates.

    `listed` is a parse memo made moments ago (update: ingest's load) and the files it wrote
    since ({'memo': ..., 'written': paths under content/}): the memo's stat keys of paper
    files older than its snapshot by more than RACY_NS, and not written since, are taken
    as they are (see stat_keys_to_reuse). `previous` is the last snapshot (the manifest's):
    the entries equal to its own are its very objects (see _sharing). `odd` collects the
    paths of the entries under content/ it lists not as regular files (see scan_tree), and
    `folder_keys` the keys of the folders it lists ('content/', 'content/papers/'…); given,
    content/papers/ is listed even when the memo holds its whole listing (a no-op record
    needs its key; for the small sites that keep one, ~10 ms at 10k papers).
    """
    out: dict[str, StatKey] = {}
    folders = [("content/", config.content_dir), ("templates/", config.templates_dir)]
    if config.theme_dir:
        folders.append(("theme/", config.theme_dir))
    memo = (listed or {}).get("memo") or {}
    whole = (bool(listed) and memo.get(PAPERS_LISTED_WHOLE) is True and isinstance(memo.get("papers"), dict)
             and folder_keys is None)
    for prefix, folder in folders:
        known = stat_keys_to_reuse(listed) if listed and prefix == "content/" and not whole else None
        found: set[str] | None = set() if odd is not None and prefix == "content/" else None
        skip = ("papers",) if whole and prefix == "content/" else ()
        listed_folders: dict[str, FolderKey] | None = {} if folder_keys is not None else None
        for rel, key in scan_tree(folder, known=known, odd=found, skip=skip, folders=listed_folders).items():
            out[prefix + rel] = key
        if listed_folders:
            folder_keys.update((prefix + rel, key) for rel, key in listed_folders.items())
        if found:
            odd.update(prefix + rel for rel in found)
        if skip:
            out.update(_papers_listed(folder, listed))
    return _sharing(out, previous) if previous else out


def _papers_listed(content_dir: Path, listed: Mapping) -> dict[str, StatKey]:
    """content/papers/ as listed by a parse memo made moments ago that holds its whole listing
    (update: ingest's load, under the store's lock) and the files written since: the memo's
    keys where stat_keys_to_reuse takes them, a stat of the others (racy, or written).

    The folder is not listed again (100k entries at the top end): a file someone adds or
    removes between ingest's listing and this build is missed by this build as an edit
    would be (stat_keys_to_reuse), and seen by the next, whose snapshot then differs.
    """
    memo = listed["memo"]
    written = {rel[len("papers/"):] for rel in listed.get("written") or ()
               if rel.startswith("papers/") and rel.endswith(".md") and rel.count("/") == 1}
    before = memo.get("scanned_ns", 0) - RACY_NS
    folder = os.path.join(content_dir, "papers", "")
    out: dict[str, StatKey] = {}
    papers = memo["papers"]
    for name in itertools.chain(papers, (name for name in written if name not in papers)):
        key = papers[name][0] if name in papers else None
        if key is None or key[0] >= before or name in written:
            try:
                key = stat_key(os.stat(folder + name, follow_symlinks=False))
            except OSError:
                continue
        out["content/papers/" + name] = key
    return out


def _sharing(new: dict, old: Mapping) -> dict:
    """new, with each entry equal to one of old made of old's objects (key and value).

    The manifest a build loaded and the one it saves are alive together: at 100k papers a
    new snapshot's own path strings and keys held ~17 MB more, for the same values.
    """
    get = new.get
    shared = {key: value for key, value in old.items() if get(key) == value}
    if len(shared) != len(new):
        shared.update((key, value) for key, value in new.items() if key not in shared)
    return shared


def stat_keys_to_reuse(listed: Mapping) -> dict[str, StatKey]:
    """Paper files' stat keys that a build may take from a parse memo instead of stat calls.

    The memo's keys were taken at its snapshot (its scanned_ns). A file last modified well
    before that and not written by the caller since (listed['written']) is recorded with the
    memo's key and the memo's parse: if someone changed it since, its key no longer matches
    the disk, so the next build sees the change (as with any edit made during a build).
    """
    memo, written = listed.get("memo") or {}, set(listed.get("written") or ())
    before = memo.get("scanned_ns", 0) - RACY_NS
    folder = "papers/"
    return {folder + name: entry[0] for name, entry in (memo.get("papers") or {}).items()
            if entry[0][0] < before and folder + name not in written}


def racy_from(stamp_ns: int | None, scanned_ns: int) -> int:
    """The mtime (ns) from which an input of a snapshot may have changed since unseen (its
    key taken in the tick of its last change): the file system's stamp taken just before
    the snapshot (Manifest.inputs_stamp_ns), when there was one, or RACY_NS before the
    snapshot by our clock (Manifest.scanned_ns)."""
    return stamp_ns if stamp_ns is not None else scanned_ns - RACY_NS


def _is_racy(inputs: Mapping[str, StatKey], manifest: Manifest) -> bool:
    limit = racy_from(manifest.inputs_stamp_ns, manifest.scanned_ns)
    return any(key[0] >= limit for key in inputs.values())


def notes_only_change(manifest: Manifest, inputs: Mapping[str, StatKey], old_memo: Mapping,
                      new_memo: Mapping) -> tuple[str, ...] | None:
    """Slugs of the papers whose notes alone changed since the manifest's build, when nothing
    else did; None when anything else may have changed (then every page is planned).

    A paper's notes appear only on its own page (plan._paper_view; the output producers
    are notes-blind), so such an edit re-plans one page instead of the whole site. The
    baseline is the parse memo of the manifest's own build: its entry for a file must carry
    the stat the manifest recorded. Files racy at that build are compared too, by content.
    """
    if manifest.memo_token == 0 or old_memo.get("scanned_ns") != manifest.memo_token:
        return None
    old_papers, new_papers = old_memo.get("papers") or {}, new_memo.get("papers") or {}
    old_digests, new_digests = old_memo.get("digests") or {}, new_memo.get("digests") or {}
    prefix, digests_prefix = "content/" + "papers/", "content/" + "digests/"
    trusted_before = racy_from(manifest.inputs_stamp_ns, manifest.scanned_ns)
    suspects = {k for k, _ in inputs.items() ^ manifest.inputs.items()}  # (added, removed or changed)
    suspects.update(k for k, key in manifest.inputs.items() if key[0] >= trusted_before)
    slugs = []
    for key in sorted(suspects):
        if key.startswith(digests_prefix):
            # What `update`'s ingest wrote, seen just written by its build: the raw digest
            # (kept for the curator, never read by a build) and the digest record, which
            # must read the same as then. Any other change to a record plans the site.
            name = key[len(digests_prefix):]
            if "/" in name or not name.endswith(".yaml"):
                continue
            before, after = old_digests.get(name), new_digests.get(name)
            if before is None or after is None or before[0] != manifest.inputs.get(key) or before[1:] != after[1:]:
                return None
            continue
        name = key[len(prefix):]
        if not (key.startswith(prefix) and "/" not in name and name.endswith(".md")):
            return None  # the taxonomy, the config, a template, an odd file
        before, after = old_papers.get(name), new_papers.get(name)
        if before is None or after is None or before[0] != manifest.inputs.get(key):
            return None  # added, removed, or no baseline
        old_paper, new_paper = before[1], after[1]
        if old_paper is None or new_paper is None or before[2] != after[2]:
            return None
        if dataclasses.replace(old_paper, notes=new_paper.notes) != new_paper:
            return None
        if old_paper.notes != new_paper.notes:
            slugs.append(new_paper.slug)
    return tuple(slugs)


_RENDER: tuple | None = None
_SCANNER: ThreadPoolExecutor | None = None


def _scanner() -> ThreadPoolExecutor:
    """One long-lived thread for scanning the output tree beside the build (serve builds often)."""
    global _SCANNER
    if _SCANNER is None:
        _SCANNER = ThreadPoolExecutor(1, thread_name_prefix="atlas-tree-scan")
    return _SCANNER


def _render_stashed(page) -> tuple[str, StagedFile | None]:
    """Render a page of an incremental build: (its content hash, None when its bytes are the
    last build's, else a StagedFile in the build's stash).

    The stash (_page_stash) is a folder beside the output folder: a worker writes each
    changed page there, so that no page's HTML travels back to the parent (a template
    edit re-renders every page: ~2.5 GB of HTML at 100k papers, all held until the
    write stage), and the write stage renames it into place.
    """
    from site_src.render import render_page

    assert _RENDER is not None
    env, old, stash, index, deferred = _RENDER
    view = _view_of(page, index, deferred)
    data = render_page(env, page.template, view)
    content = digest(data)
    if old.get(page.dest, NO_OUTPUT)[1] == content:
        return content, None
    path = f"{stash}/{digest(page.dest.encode('utf-8'))}"  # (one file per page: no two workers meet)
    _write_file(path, data, 0o644)  # (as _replace_file writes an incremental build's files)
    return content, StagedFile(path, content)


def _remove_stash(stash: str | None) -> None:
    """Remove the page stash once its pages are in place (it is empty then)."""
    if stash is not None:
        shutil.rmtree(stash, ignore_errors=True)


def _page_stash(out_dir: Path) -> str:
    """A fresh folder beside out_dir for the pages an incremental build writes (_render_stashed).

    Named like a full build's staging tree, so a failed or killed build's stash is removed
    as one is (build(), old_trees)."""
    return tempfile.mkdtemp(prefix=f"{Path(out_dir).name}{STAGING_PREFIX}", dir=Path(out_dir).parent)


def _key_salt(settings: str, template_key: str) -> str:
    """The part of a page's key shared by every page of a template: the settings and its code."""
    return digest((settings + template_key).encode("utf-8"))


def _paper_pages(index, skip: Container[str] = ()) -> dict[str, str]:
    """Destination -> slug of each paper page of the site index, but those of the `skip` slugs."""
    return {urls.dest_for(urls.url_for("paper", slug)): slug for slug in index.papers if slug not in skip}


def _view_of(page, index, deferred: Mapping[str, str]):
    """A page's view; for a paper page planned without it (`deferred`: dest -> slug), made now."""
    if not page.view and page.dest in deferred:
        from site_src.plan import paper_view

        return paper_view(index, deferred[page.dest])
    return page.view


def _render_staged(page) -> tuple[str, tuple[bool, StatKey] | None]:
    """Render a page of a full build into the staging tree: (its content hash, what
    _Staging.stage says or None when a writer thread of this process writes it).

    In a worker process the page is written there and then, so its HTML never travels
    back to the parent: only the hash does. A paper page planned without its view gets
    it here.
    """
    from site_src.render import render_page

    assert _RENDER is not None
    env, staging, parent, index, deferred = _RENDER
    view = _view_of(page, index, deferred)
    data = render_page(env, page.template, view)
    if os.getpid() == parent:
        staging.put(page.dest, data)  # writer threads overlap the disk with rendering
        return digest(data), None
    return digest(data), staging.stage(page.dest, data)


@dataclass(frozen=True)
class IncrementalReport:
    """What an incremental build did, on top of the pipeline's BuildReport fields."""

    mode: str
    """'no-op', 'incremental' or 'full' (with the reason in `why`)."""
    why: str
    rendered: int
    timings: dict[str, float]


def build(config, now: dt.datetime | None = None, **options):
    """Build the site incrementally (see the module docstring); return a buildreport.BuildReport.

    Two builds of one output folder (serve rebuilding while `update` runs in another
    terminal) take turns: each holds the folder's build lock (build_lock). Holding it, a
    build knows that any staging tree beside the folder was left by a build killed outright,
    and removes it. Options: see _build.
    """
    from site_src.writer import STAGING_TREE, old_trees, remove_tree_later

    with build_lock(cache_dir_for(config.root, config.out_dir), config.out_dir):
        leftovers = old_trees(Path(config.out_dir), STAGING_TREE)
        for leftover in leftovers:
            remove_tree_later(leftover)
        try:
            return _build(config, now, **options)
        except BaseException:
            # A signal (Ctrl-C, SIGTERM) that lands while a staging tree is being made, before
            # _build holds it, leaves a tree _build cannot remove. Holding the lock, any
            # staging tree that was not there before is this build's (and nearly empty).
            for tree in set(old_trees(Path(config.out_dir), STAGING_TREE)) - set(leftovers):
                shutil.rmtree(tree, ignore_errors=True)
            raise


@contextlib.contextmanager
def build_lock(folder: Path, out_dir: Path) -> Iterator[None]:
    """Hold the build lock of one output folder (a file in its cache folder), waiting for
    the build that holds it; the system drops the lock when its process dies."""
    def say_waiting() -> None:
        print(f"waiting for another build of {out_dir} to finish...", file=sys.stderr, flush=True)

    with lockfile.locked(folder, on_wait=say_waiting):
        yield


def _build(config, now: dt.datetime | None = None, *, full: bool = False, jobs: int | None = None,
           quiet: bool = True, corpus_memo: dict | None = None, session: dict | None = None,
           allow_noop: bool = True, previous_corpus_memo: dict | None = None,
           written: Iterable[str] | None = None, noop_record: bool = False):
    """Build the site with the build lock held; see build() and the module docstring.

    `session` (a dict the caller keeps between builds, as serve does) carries the memos
    from one build to the next in memory. `corpus_memo` is a parse memo made since the last
    build (update's ingest loads the corpus through it) and `previous_corpus_memo` the last
    build's own as read from disk, so it is not read twice. `written` (paths under content/)
    are the files the caller wrote since it made corpus_memo: given, the paper files' stat
    keys of that memo are reused for the others (stat_keys_to_reuse). allow_noop=False goes through
    every step even when nothing changed (serve's first build: it loads the memos and
    imports the modules before the first save, which then takes only the rebuild's own time).
    noop_record: leave a no-op record when the build ends with its site complete (see
    leave_noop_record; only for the default output folder and configuration).

    The report carries an extra attribute `incremental` (IncrementalReport).
    """
    global _RENDER
    clock = time.perf_counter()
    timings: dict[str, float] = {}
    staging: _Staging | None = None
    extras_beside = None  # a full build's search index, exports and feeds, made in a child process
    memoised_beside: _MemoisedBeside | None = None  # an update's search index and exports, likewise
    blind_key: str | None = None  # _blind_key of the Site, once worked out
    tree_check: _TreeCheck | None = None  # the output tree's check, beside the build
    staged_extras: list[tuple[str, str, bool, StatKey, str]] = []
    staged_files: list[StagedFile] = []  # outputs a producer wrote beside their destinations (exports)
    stash: str | None = None  # the folder an incremental build's workers write changed pages into
    memos_saved = False  # (a full build saves its memos while the pages render)
    folder = cache_dir_for(config.root, config.out_dir)
    settings = settings_key(config)
    protected = [config.root, config.content_dir, config.templates_dir]
    try:
        with timed(timings, "check"):
            if full:
                manifest, reason = None, "asked for a full build"
            else:
                # The output tree (a folder per page) is checked beside the build (a child
                # process, or a thread) while the corpus loads; the manifest counts as
                # trusted only once the check passes, before anything is planned.
                manifest, reason = read_manifest(folder)
                if manifest is not None:
                    tree_check = _TreeCheck(manifest, config.out_dir, jobs, folder)
            # The file system's clock, then ours, before any input is stat'ed (see racy_from).
            inputs_stamp = fsclock.file_system_now(folder, config.content_dir, config.templates_dir,
                                                   *([config.theme_dir] if config.theme_dir else []))
            scanned_ns = time.time_ns()
            odd_inputs: set[str] = set()  # (the snapshot stands for content/'s listing too)
            # (the folders' keys, for a no-op record: only a site small enough to keep one)
            input_folders: dict[str, FolderKey] | None = (
                {} if noop_record and (manifest is None or keeps_noop_record(manifest.tree)) else None)
            inputs = snapshot_inputs(config, {"memo": corpus_memo, "written": written}
                                     if corpus_memo and written is not None else None,
                                     previous=manifest.inputs if manifest is not None else None,
                                     odd=odd_inputs, folder_keys=input_folders)
        if (allow_noop and manifest is not None and manifest.settings == settings
                and manifest.inputs == inputs and not _is_racy(inputs, manifest)
                and tree_check.result()[0]):
            if tree_check.result()[1] != manifest.folders:
                # (the folders listed this time need not be listed by the next build)
                manifest = dataclasses.replace(manifest, folders=tree_check.result()[1])
                save_manifest(folder, manifest)
            if input_folders is not None:
                leave_noop_record(config, folder, manifest, input_folders, racy_from(inputs_stamp, scanned_ns))
            report = BuildReport(manifest.pages, len(manifest.outputs), (),
                                 len(manifest.outputs), (), manifest.problems, 0.0, now)
            return _finish(report, IncrementalReport("no-op", "nothing changed", 0, timings), clock)
        # Imported only now: a no-op build never loads the page machinery (Jinja, NumPy…).
        from site_src import pipeline
        from site_src import plan as plan_module
        from site_src.parallel import available_jobs, parallel_map, parallel_map_meanwhile, run_beside
        from site_src.progress import Progress
        from site_src.writer import check_dests

        with timed(timings, "memos"):
            # Loaded only now: a no-op build never unpickles the corpus.
            if full:
                state = CacheState(folder, {}, {}, None, reason)
            else:
                memo_pair = load_memos(folder, session.get("memos") if session is not None else None,
                                       previous_corpus_memo)
                state = CacheState(folder, memo_pair[0], memo_pair[1], manifest, reason)
                if not (state.corpus_memo and state.topics_memo) and tree_check is not None:
                    tree_check.result()  # cold memos mean worker processes: fork with no thread busy

        with timed(timings, "load"):
            # A caller that just loaded the corpus (update: ingest) hands its memo over.
            corpus, corpus_memo = load_corpus(config.content_dir, corpus_memo or state.corpus_memo,
                                              known=inputs, known_ns=scanned_ns, odd=odd_inputs, jobs=jobs)
            # Only notes changed (the curator's usual edit)? Then only those papers' pages
            # are planned; the rest of the site, feeds and search are known to be unchanged.
            notes_only = None
            if (manifest is not None and manifest.settings == settings
                    and all(name in NOTES_BLIND_PRODUCERS for name, _ in pipeline.OUTPUT_PRODUCERS)):
                notes_only = notes_only_change(manifest, inputs, state.corpus_memo, corpus_memo)
        # The corpus (100k papers at the top end) lives until the end of the build: keep the
        # garbage collector from re-traversing it at every collection while views are built.
        gc.freeze()
        hashes = paper_keys(corpus_memo)
        # serve keeps the last build's Site: after a notes-only edit it is that Site with
        # the new papers (topics, related papers, digests and about.md are unchanged).
        kept = session.get("site") if session is not None and notes_only is not None else None
        if kept is not None and kept[0] == manifest.memo_token:
            site, topics_memo = dataclasses.replace(kept[1], papers=corpus.papers), state.topics_memo
        else:
            after_topics = None
            if (manifest is None and session is None and len(corpus.papers) >= EXTRAS_BESIDE_PAPERS
                    and (jobs if jobs is not None else available_jobs()) > 1):
                # A full build: the search index, exports and feeds need only the papers and
                # their topics, so a child process makes them (and writes them into the new
                # tree) while this one works out related papers and plans the pages.
                forget(folder)
                staging = _Staging(config.out_dir, protected)

                def start_extras(early_site, staging=staging):
                    nonlocal extras_beside
                    extras_beside = run_beside(
                        lambda: _stage_extras(early_site, config, folder, staging, full=full, paper_keys=hashes),
                        jobs=jobs)
                after_topics = start_extras
            site, topics_memo = _make_site(config, corpus, state, notes_only is not None, jobs, timings,
                                           keys=hashes, session=session, full=full, after_topics=after_topics)
        with timed(timings, "check"):
            if manifest is not None and not tree_check.result()[0]:
                manifest, reason, notes_only = None, TREE_CHANGED, None
                state = dataclasses.replace(state, manifest=None, reason=reason)
        if manifest is not None and session is None:
            # The parse and topic memos are final once the site is made: saved now, before
            # planning holds the pages. A memo due a new base is pickled whole, and its
            # pickler's tables (~100 MB at 100k papers) then add to a lower point of the
            # build than its peak (plan, extras), which they used to raise past 1 GiB.
            with timed(timings, "memos saved"):
                _save_memos(folder, corpus_memo, topics_memo, (state.corpus_memo, state.topics_memo), None)
            memos_saved = True
            if (notes_only is None and len(corpus.papers) >= EXTRAS_BESIDE_PAPERS
                    and (jobs if jobs is not None else available_jobs()) > 1):
                blind_key = _blind_key(site, settings, hashes, topics_memo.get("taxonomy"))
                memoised_beside = _MemoisedBeside.start(site, config, folder, manifest, blind_key, hashes, jobs)
        env = _environment(config, settings, inputs, racy_from(inputs_stamp, scanned_ns), session)
        old = manifest.outputs if manifest is not None else {}
        from site_src.gcpause import collector_paused

        with timed(timings, "plan"), collector_paused():
            # Each view is hashed as soon as it is planned and kept only if its page must be
            # rendered again (views average ~13 KB: 1.6 GB for 125k pages held at once).
            # Planning makes no reference cycles worth collecting mid-way, but ~125k pages
            # kept would set off full collections that each walk every page kept so far.
            # Producers get the pages without views unless one of them might read views.
            keep_views = any(name not in NOTES_BLIND_PRODUCERS for name, _ in pipeline.OUTPUT_PRODUCERS)
            tkeys: dict[str, str] = {}
            template_refs = _TemplateReferences(folder, session, full)

            salts: dict[str, str] = {}  # template -> hash of the settings and the template's code

            def salt_of(template: str) -> str:
                salt = salts.get(template)
                if salt is None:
                    if template not in tkeys:
                        tkeys.update(template_keys(env, [template], references=template_refs.loaded))
                    salt = salts[template] = _key_salt(settings, tkeys[template])
                return salt

            def page_key(template: str, inputs: str, view) -> str:
                # A page planned with its inputs (plan.paper_page_inputs, list_page_inputs: a
                # hash) is keyed by them, any other by its view.
                return salt_of(template) + (inputs or view_key(view))

            asked: dict[str, str] = {}  # dest -> key worked out by unchanged(), not hashed twice

            def unchanged(dest: str, template: str, inputs: str) -> bool:
                key = asked[dest] = page_key(template, inputs, None)
                return old.get(dest, ("",))[0] == key

            def unchanged_or_deferred(dest: str, template: str, inputs: str) -> bool:
                """unchanged(), or a paper page whose view is made where it is rendered (`deferred`)."""
                return unchanged(dest, template, inputs) or dest in deferred

            by_slug = dict(zip(hashes, map(operator.itemgetter(0), hashes.values())))  # (in C: 100k papers)
            card_keys = dict(zip(hashes, map(operator.itemgetter(1), hashes.values())))
            # A full build plans paper pages without their views (keyed by their inputs): each
            # view is made by the worker process that renders the page (see _render_staged).
            index = pages_memo = None
            deferred: dict[str, str] = {}  # dest -> slug of each paper page planned without its view
            kept: Mapping[str, str] = {}  # slug -> path of each paper page kept as the last build made it (plan.KeptPaperPages)
            paper_template = next(kind.template for kind in plan_module.PAGE_KINDS if kind.name == "paper")
            lists_memo = _ListsMemo(folder, session, full)
            if notes_only is None:
                # Paper pages' inputs are made again only where what they read changed.
                index = plan_module.index_site(site, config)
                index.paper_keys = by_slug
                pages_memo = _PagesMemo(folder, session, full)
                index.page_inputs = pages_memo.update(index, state.topics_memo, topics_memo)
            if notes_only is not None:
                planned = plan_module.plan_paper_pages(site, config, notes_only, paper_keys=by_slug)
            elif manifest is None and not keep_views:
                deferred = _paper_pages(index)
                planned = plan_module.iter_pages(site, config,
                                                 unchanged=lambda dest, template, inputs: dest in deferred,
                                                 paper_keys=by_slug, index=index, card_keys=card_keys,
                                                 lists_memo=lists_memo.loaded, lists_made=lists_memo.made)
            else:
                if old and not keep_views:
                    # A paper page whose key (its inputs, template and settings) is the last
                    # build's keeps its file and manifest entry: no Page is made for it.
                    salt = salt_of(paper_template)
                    inputs_of = index.page_inputs
                    kept = plan_module.kept_paper_pages(
                        index, lambda slug, dest: old.get(dest, NO_OUTPUT)[0] == salt + inputs_of[slug])
                    if len(index.papers) - len(kept) >= DEFER_VIEWS_PAGES:
                        # Many paper pages to render (a template edit): planned by their inputs
                        # alone, each view made by the process that renders it (_render_stashed).
                        deferred = _paper_pages(index, skip=kept)
                # Pages whose inputs are those of the last build are not planned again.
                planned = plan_module.iter_pages(site, config,
                                                 unchanged=None if keep_views or not old else unchanged_or_deferred,
                                                 paper_keys=by_slug, card_keys=card_keys, index=index,
                                                 lists_memo=lists_memo.loaded, lists_made=lists_memo.made,
                                                 kept=kept)
            keys: dict[str, str] = {}
            pages: list = []
            todo: list = []
            for page in planned:
                if type(page) is str:  # a paper page kept (see kept above)
                    pages.append(page)
                    continue
                key = asked.pop(page.dest, None) or page_key(page.template, page.inputs, page.view)
                keys[page.dest] = key
                if old.get(page.dest, ("",))[0] != key:
                    todo.append(page)
                pages.append(page if keep_views or not page.view else dataclasses.replace(page, view={}))
            del planned
            if kept:
                pages = plan_module.PlannedPages(pages, kept, paper_template)
            if manifest is not None and pages_memo is not None:
                # An update needs nothing the planning made but the pages and their keys
                # (and the index, for views it deferred): the memos are saved now (they are
                # final; saved before the manifest, as every memo) and dropped with the
                # index, so the extras run without them.
                lists_memo.save()
                pages_memo.save()
                lists_memo = pages_memo = None
                if not deferred:
                    index = None
                if session is None:
                    plan_module.forget_lookups()  # (serve plans again with them)
                release_freed_memory()
            # The pages and views kept are acyclic and live until the end: as the corpus,
            # keep the collector from walking them on every full collection while rendering.
            gc.freeze()
        rendered_count = len(todo)
        rendered_hash: dict[str, str] = {}
        page_outputs: dict[str, StagedFile] = {}
        old_producers = manifest.producers if manifest is not None else {}
        extra_digests: dict[str, tuple[bytes, str]] = {}  # dest -> (bytes, digest) a producer hashed already

        def make_extras(in_place: bool) -> tuple[list, list[str], dict[str, list[str]], dict[str, str]]:
            """Feeds, sitemap, exports, search index and static files, through the producers' keys."""
            with timed(timings, "extras"):
                blind = blind_key or _blind_key(site, settings, hashes, topics_memo.get("taxonomy"))
                producer_keys = _producer_keys(site, blind, hashes, keys)
                extras, reused = [], []
                ran: dict[str, list[str]] = {}
                for name, produce in pipeline.OUTPUT_PRODUCERS:
                    previous = old_producers.get(name)
                    if previous is not None and previous[0] == producer_keys[name]:
                        reused.extend(previous[1])  # same inputs: the files on disk are right
                        continue
                    kept: list[str] = []
                    if extras_beside is not None and name in EARLY_PRODUCERS:
                        files, seconds = extras_beside.result()  # (made in a child process, already staged)
                        timings["beside"] = round(seconds, 4)  # (its own time, beside the other stages)
                        beside = files[name]
                        staged_extras.extend((*file, name) for file in beside)
                        ran[name] = sorted(dest for dest, *_ in beside)
                        continue
                    if name in MEMOISED_PRODUCERS:
                        beside = memoised_beside.result(name, extra_digests) if memoised_beside else None
                        if beside is not None:
                            made, kept = beside  # (made in a child process while this one planned)
                            timings["extras beside"] = memoised_beside.seconds
                        else:
                            on_disk = _files_on_disk(previous, old) if in_place else {}
                            made, kept = _memoised_outputs(name, site, config, pages, folder, session, full=full,
                                                           existing=on_disk, paper_keys=hashes,
                                                           digests=extra_digests,
                                                           out_dir=config.out_dir if in_place else None)
                        staged_files.extend(o.data for o in made if isinstance(o.data, StagedFile))
                    else:
                        made = pipeline.produce_extras(site, config, pages, [(name, produce)])
                    ran[name] = sorted([output.dest for output in made] + kept)
                    extras.extend(made)
                    reused.extend(kept)  # unchanged content-hashed files: the ones on disk are right
                    if name in MEMOISED_PRODUCERS and in_place:
                        release_freed_memory()  # (the memo and its per-paper scratch are gone)
                extras.extend(pipeline.static_outputs(config))
                if memoised_beside is not None:
                    memoised_beside.discard()  # (anything it made that no producer took)
            return extras, reused, ran, producer_keys

        made_extras = None
        with timed(timings, "render"), Progress("render", len(todo), quiet=quiet or len(todo) < 200) as bar:
            try:
                if manifest is None:
                    # A full build renders into a fresh tree beside the output folder: worker
                    # processes render, hash and write their share of the pages, and send back
                    # only hashes, while this process makes the feeds, search index and exports
                    # and lists the previous tree. No page's HTML is held here.
                    if staging is None:
                        forget(folder)
                        staging = _Staging(config.out_dir, protected)
                    _RENDER = (env, staging, os.getpid(), index, deferred)
                    gc.freeze()  # the pages too: workers' collections then never touch (and copy) them

                    def meanwhile(staging=staging):
                        nonlocal memos_saved
                        made = make_extras(False)
                        for output in made[0]:  # (checked with the pages before the swap)
                            staging.put(output.dest, output.data)
                        staging.scan_previous()
                        if session is None:
                            # The memos are final: pickle them while the workers render (the
                            # manifest, which vouches for the tree, is still saved last).
                            with timed(timings, "memos saved"):
                                _save_memos(folder, corpus_memo, topics_memo,
                                            (state.corpus_memo, state.topics_memo), pages_memo)
                            memos_saved = True
                        return made

                    # List pages first, all to one worker: each worker renders every card it
                    # meets once (the macro memo is per process), and split between two
                    # workers the list pages rendered most cards twice (10k: 1.64 against
                    # 1.45-1.50 CPU-s in one). They are ~30% of the rendering work at 10k.
                    lists = [page for page in todo if page.dest not in deferred]
                    if len(lists) * LIST_SHARE_OF_PAGES < len(todo):
                        todo = lists + [page for page in todo if page.dest in deferred]
                    else:
                        lists = []
                    results, made_extras = parallel_map_meanwhile(
                        _render_staged, todo, meanwhile, min_items=RENDER_IN_PARALLEL, jobs=jobs,
                        done=bar.advance, together=len(lists))
                    for page, (content, staged) in zip(todo, results):
                        rendered_hash[page.dest] = content
                        if staged is not None:
                            staging.record(page.dest, *staged)
                else:
                    stash = _page_stash(config.out_dir) if todo else None
                    _RENDER = (env, old, stash, index, deferred)
                    for page, (content, data) in zip(todo, parallel_map(_render_stashed, todo, jobs=jobs,
                                                                        min_items=RENDER_IN_PARALLEL,
                                                                        done=bar.advance)):
                        rendered_hash[page.dest] = content
                        if data is not None:
                            page_outputs[page.dest] = data
            finally:
                _RENDER = None
        del todo
        if notes_only is not None:
            # Everything but the re-planned pages is as the last build left it.
            outputs = dict(old)
            changed = {}
            for page in pages:
                content = rendered_hash.get(page.dest, old[page.dest][1])
                if page.dest in rendered_hash and old[page.dest][1] != content:
                    changed[page.dest] = page_outputs[page.dest]
                outputs[page.dest] = (keys[page.dest], content)
            report = _save_notes_build(config, folder, manifest, settings, inputs, outputs, changed,
                                       (scanned_ns, inputs_stamp), site, corpus, (corpus_memo, topics_memo), session, now,
                                       rendered_count, timings, clock,
                                       previous=(state.corpus_memo, state.topics_memo),
                                       folders=tree_check.result()[1], memos_saved=memos_saved,
                                       input_folders=input_folders)
            _remove_stash(stash)
            return report
        extras, reused, ran, producer_keys = made_extras or make_extras(staging is None)
        # (a kept page's entry under the last manifest's own path: no new path string each)
        outputs: dict[str, tuple[str, str]] = {dest: entry for dest, entry in old.items()
                                               if kept.holds(dest)} if kept else {}
        changed: dict[str, bytes | StagedFile] = {}
        for page in pages.items if kept else pages:
            if type(page) is str:
                continue  # (a paper page kept: its entry is in already)
            if page.dest in rendered_hash:
                content = rendered_hash[page.dest]
                if staging is None and old.get(page.dest, ("", ""))[1] != content:
                    changed[page.dest] = page_outputs[page.dest]
            else:
                content = old[page.dest][1]
            outputs[page.dest] = (keys[page.dest], content)
        for dest in reused:
            if dest in outputs:
                raise BuildError(f"two outputs claim {dest!r}: a page and a producer")
            outputs[dest] = old[dest]
        for output in extras:
            if output.dest in outputs:
                raise BuildError(f"two outputs claim {output.dest!r}: a page and {output.source}")
            known = extra_digests.get(output.dest)
            if isinstance(output.data, StagedFile):
                content = output.data.digest
            else:
                content = known[1] if known is not None and known[0] is output.data else digest(output.data)
            outputs[output.dest] = (content, content)
            if old.get(output.dest, ("", ""))[1] != content:
                changed[output.dest] = output.data
            elif isinstance(output.data, StagedFile):
                output.data.discard()  # (the file there has these bytes)
        for dest, content, written, key, name in staged_extras:  # (a full build's, see _stage_extras)
            if dest in outputs:
                raise BuildError(f"two outputs claim {dest!r}: a page and {name}")
            outputs[dest] = (content, content)
            staging.record(dest, written, key)
        stale = sorted(dest for dest in old if dest not in outputs)

        with timed(timings, "write"):
            check_dests(outputs, old)  # (the last build's outputs passed together: its manifest vouches)
            if staging is not None:
                # (the extras were staged while the pages rendered)
                written_dests, removed = staging.commit(set(outputs))
                tree = staging.tree
                folders = written_tree_keys(config.out_dir, tree, folder)  # (the next check lists none)
            else:
                forget(folder)
                write_changed(config.out_dir, changed, stale)
                tree = dict(manifest.tree)
                for dest in stale:
                    tree.pop(dest, None)
                for dest in changed:
                    tree[dest] = stat_key(os.stat(config.out_dir / dest))
                folders = folders_left(tree_check.result()[1], changed, stale, manifest.tree)
                written_dests, removed = tuple(sorted(changed)), tuple(stale)
                _remove_stash(stash)
            if input_folders is not None and keeps_noop_record(tree):
                folders = settle_folder_keys(config.out_dir, tree, folders, folder)
        with timed(timings, "save"):
            producers = {name: (producer_keys[name],
                                tuple(ran[name]) if name in ran else old_producers.get(name, ("", ()))[1])
                         for name, _ in pipeline.OUTPUT_PRODUCERS}
            new_manifest = Manifest(code_version(), settings, inputs, outputs, tree, scanned_ns,
                                    producers, tuple(corpus.problems), corpus_memo["scanned_ns"], len(pages),
                                    folders, inputs_stamp, loaded=manifest.loaded if manifest is not None else {})
            if lists_memo is not None:
                lists_memo.save()  # (before the manifest, like every memo)
            template_refs.save()
            if memos_saved:
                save_state(folder, new_manifest, corpus_memo, topics_memo, memos=False)
            else:
                _save_build(folder, new_manifest, corpus_memo, topics_memo, session, site,
                            previous=(state.corpus_memo, state.topics_memo))
                if pages_memo is not None:
                    pages_memo.save()
            if input_folders is not None:
                leave_noop_record(config, folder, new_manifest, input_folders, racy_from(inputs_stamp, scanned_ns))
    except BaseException as error:
        if tree_check is not None:
            tree_check.cancel()
        for staged_file in staged_files:
            staged_file.discard()  # (renamed into place already, it is gone from there)
        _remove_stash(stash)  # (the previous site stays as it was)
        if extras_beside is not None:
            extras_beside.cancel()  # (before the tree it writes into goes)
        if memoised_beside is not None:
            memoised_beside.discard()  # (its files wait beside their destinations)
        if staging is not None and not staging.committed:
            staging.abort()  # the previous site stays as it was
        if isinstance(error, BuildError) or not isinstance(error, Exception):
            raise
        raise BuildError(str(error) or type(error).__name__) from error  # one clear message
    finally:
        # serve builds again in the same process: nothing stays pinned (load_blob freezes
        # what it unpickles, the manifest first, so even a no-op build unfreezes).
        gc.unfreeze()
    report = BuildReport(len(pages), len(outputs), written_dests,
                                  len(outputs) - len(written_dests), removed,
                                  tuple(corpus.problems), 0.0, now)
    mode = "full" if manifest is None else "incremental"
    return _finish(report, IncrementalReport(mode, state.reason if manifest is None else "",
                                             rendered_count, timings), clock)


class _PagesMemo:
    """The memo of paper pages' inputs (plan.papers_page_inputs) through a build: read from
    pages.pickle (a base plus a delta, see memolayers; ~20 MB at 100k papers) or kept in a
    serve session, and saved after the build. A memo from other code is not used.
    """

    def __init__(self, folder: Path, session: dict | None, full: bool) -> None:
        self.folder, self.session = Path(folder), session
        self.loaded: dict = {}
        self.made: dict | None = None
        if full:
            return
        if session is not None and session.get("pages") is not None:
            self.loaded = session["pages"]
        elif session is None:
            self.loaded = load_layered(self.folder, "pages")
        if self.loaded.get("code") != code_version():
            self.loaded = {}

    def update(self, index, old_topics_memo: Mapping, topics_memo: Mapping) -> dict[str, str]:
        """Every shown paper's page inputs, made again only where needed."""
        from site_src import plan as plan_module

        def extras(memo: Mapping) -> tuple | None:
            return site_extras_of(memo) if isinstance(memo, Mapping) else None

        now, before = extras(topics_memo), extras(old_topics_memo)
        inputs, made = plan_module.papers_page_inputs(index, self.loaded, extras_key=now[0] if now else None,
                                                      previous_extras=before)
        self.made = {**made, "code": code_version()}
        return inputs

    def save(self) -> None:
        """Keep the memo made by update() for the next build."""
        if self.made is None:
            return
        if self.session is not None:
            self.session["pages"] = self.made  # (serve: kept in memory)
        else:
            save_layered(self.folder, "pages", self.made, self.loaded)


class _ListsMemo:
    """The memo of list pages' inputs (iter_pages' lists_memo, plan._memo_list_rows) through a
    build: read from lists.pickle (~3 MB at 100k papers: a key and the inputs of each topic,
    year, author and digest page) or kept in a serve session, and saved after the build. The
    file's header rejects other code; the memo itself rejects another context or config.
    """

    def __init__(self, folder: Path, session: dict | None, full: bool) -> None:
        self.path, self.session = Path(folder) / "lists.pickle", session
        self.loaded: Any = None
        self.made: dict = {}  # filled by iter_pages
        if full:
            return
        self.loaded = session.get("lists") if session is not None else load_blob(self.path)

    def save(self) -> None:
        """Keep the memo iter_pages made for the next build (none when the lists were not planned)."""
        if not self.made.get("pages"):
            return
        if self.session is not None:
            self.session["lists"] = self.made  # (serve: kept in memory)
        else:
            save_blob(self.path, self.made)


class _TemplateReferences:
    """The templates each template source refers to (template_keys' references), through a
    build: read from templates.pickle (a few KB) or kept in a serve session, saved when it grew.
    Entries are keyed by a hash of the source itself, so none can go stale; a file of other
    code, corrupted, or not a dict, is not used."""

    def __init__(self, folder: Path, session: dict | None, full: bool) -> None:
        self.path, self.session = Path(folder) / "templates.pickle", session
        loaded = None
        if session is not None:
            loaded = session.get("templates")
        elif not full:
            loaded = load_blob(self.path)
        self.loaded: dict[str, frozenset] = {}
        if isinstance(loaded, dict):
            self.loaded = {seen: found for seen, found in loaded.items() if isinstance(found, frozenset)}
        self.known = len(self.loaded)

    def save(self) -> None:
        """Keep what was parsed for the next build (nothing to do when nothing was)."""
        if self.session is not None:
            self.session["templates"] = self.loaded
        elif len(self.loaded) > self.known:
            save_blob(self.path, self.loaded)


MEMOISED_PRODUCERS = frozenset({"search", "exports"})
"""Output producers run through a memo of the last build (_memoised_outputs)."""


class _MemoisedBeside:
    """An incremental build's memoised producers (search index, exports) run in a forked child
    process from the moment the site is made, while this process plans the pages.

    They read only the papers, digests and topics (EARLY_PRODUCERS), and an update at 100k
    papers spent ~2.5 s in them after its ~4 s of planning, with the second core idle. The
    child writes each file beside its destination (a StagedFile) as _memoised_outputs does
    in place, saves their memos, and sends back what it made. Only producers whose key
    (its NOTES_BLIND_PRODUCERS key, which needs no page) changed are run. If the child
    fails, result() gives None and the producer runs here as before.
    """

    def __init__(self, names: tuple[str, ...], beside) -> None:
        self.names, self._beside = names, beside
        self._made: dict[str, tuple[list, list[str]]] | None = None
        self._digests: dict[str, tuple[bytes, str]] = {}
        self.seconds = 0.0

    @classmethod
    def start(cls, site, config, folder: Path, manifest: Manifest, blind: str,
              paper_keys: Mapping[str, tuple[str, str]], jobs: int | None) -> "_MemoisedBeside | None":
        """Start the producers whose key changed (blind: the Site's _blind_key), or None: none did."""
        from site_src.parallel import run_beside

        names = tuple(name for name in EARLY_PRODUCERS
                      if name in MEMOISED_PRODUCERS and name in NOTES_BLIND_PRODUCERS
                      and manifest.producers.get(name, NO_OUTPUT)[0] != _blind_producer_key(name, blind))
        if not names:
            return None

        def work():
            started = time.perf_counter()
            made: dict[str, tuple[list, list[str]]] = {}
            digests: dict[str, tuple[bytes, str]] = {}
            try:
                for name in names:
                    on_disk = _files_on_disk(manifest.producers.get(name), manifest.outputs)
                    made[name] = _memoised_outputs(name, site, config, None, folder, None, full=False,
                                                   existing=on_disk, paper_keys=paper_keys, digests=digests,
                                                   out_dir=config.out_dir)
            except BaseException:
                _discard_staged(made)
                raise
            # (one value, pickled once: an output's bytes and its entry in digests stay one object)
            return made, digests, time.perf_counter() - started

        return cls(names, run_beside(work, jobs=jobs))

    def _take(self) -> dict[str, tuple[list, list[str]]]:
        if self._made is None:
            try:
                self._made, self._digests, self.seconds = self._beside.result()
            except RuntimeError:
                self._made = {}  # (the child failed: each producer runs in this process instead)
        return self._made

    def result(self, name: str, digests: dict[str, tuple[bytes, str]]) -> tuple[list, list[str]] | None:
        """(made, kept) of one producer as _memoised_outputs gives them, or None: not run there.

        The digests it knows go into `digests`."""
        if name not in self.names:
            return None
        found = self._take().pop(name, None)
        if found is not None:
            digests.update((output.dest, self._digests[output.dest]) for output in found[0]
                           if output.dest in self._digests)
        return found

    def discard(self) -> None:
        """Remove the files the child made that no producer took (a failed build's, or any
        left over), once it is done."""
        _discard_staged(self._take())


def _files_on_disk(previous: tuple[str, tuple[str, ...]] | None,
                   outputs: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """A producer's files of the last build (its manifest entry `previous`): dest -> content hash."""
    return {dest: outputs[dest][1] for dest in previous[1] if dest in outputs} if previous else {}


def _discard_staged(made: Mapping[str, tuple[list, list[str]]]) -> None:
    for outputs, _ in made.values():
        for output in outputs:
            if isinstance(output.data, StagedFile):
                output.data.discard()


def _memoised_outputs(name: str, site, config, pages, folder: Path, session: dict | None, *, full: bool,
                      existing: Mapping[str, str],
                      paper_keys: Mapping[str, tuple[str, str]],
                      digests: dict[str, tuple[bytes, str]] | None = None,
                      out_dir: Path | None = None) -> tuple[list, list[str]]:
    """One producer's files through its memo, and the destinations of files to keep as they are on disk.

    search (search.update_search_index): a new digest tokenizes only its own papers; a
    content-hashed shard whose bytes are unchanged is kept. exports
    (survey_pages.update_exports): BibTeX entries and outline lines of unchanged papers
    are read back from the survey files on disk, and a topic whose papers are all
    unchanged keeps its two files; with out_dir (an update in place) each file is written
    beside its destination as it is made (its Output's data is a StagedFile), so the
    exports' ~210 MB at 100k papers are never held in memory.
    `existing` maps the producer's files of the last build to their content hashes.

    Each memo (search ~14 MB at 10k papers, ~140 MB at 100k, read a segment at a time;
    exports ~1 / ~10 MB) has its own cache file, read only when the producer must run;
    serve keeps it in memory. `digests` receives dest -> (bytes, digest) of the files whose
    digest the producer already has (exports made in memory need not be hashed twice).
    """
    from site_src import search, survey_pages
    from site_src.writer import Output

    memo = None
    if not full:
        if session is not None and session.get(name) is not None:
            memo = session[name]
        elif name == "search":
            memo = _load_search_memo(Path(folder))
        else:
            memo = _load_exports_memo(Path(folder))
    blind_keys = {slug: key[1] for slug, key in paper_keys.items()}  # (these producers never read notes)
    if name == "search":
        files, memo = search.update_search_index(site, config, pages, memo, existing=frozenset(existing),
                                                 paper_keys=blind_keys)
    else:
        files, memo = survey_pages.update_exports(site, config, pages, memo, existing=existing,
                                                  paper_keys=blind_keys, out_dir=out_dir)
    if session is not None:
        session[name] = memo  # (a pure cache: one left older on disk is still right to use)
    elif memo is not None and name == "search":
        _save_search_memo(Path(folder), memo)
    elif memo is not None:
        _save_exports_memo(Path(folder), memo)
    made = [Output(dest, data, name) for dest, data in sorted(files.items()) if data is not None]
    if digests is not None and name == "exports" and memo is not None:
        for output in made:  # (update_exports hashed them with digest's function, SHA-1 hex)
            if output.dest in memo.hashes and not isinstance(output.data, StagedFile):
                digests[output.dest] = (output.data, memo.hashes[output.dest])
    return made, sorted(dest for dest, data in files.items() if data is None)


def _load_exports_memo(folder: Path):
    """The exports memo saved by _save_exports_memo (exportfiles.ExportsMemo), or None. It
    only says where the last build's survey files hold each paper's text; those files are
    read only when their hashes are the memo's."""
    from site_src.exportfiles import ExportsMemo

    stored = load_blob(folder / "exports.pickle")
    if not (isinstance(stored, dict) and stored.get("code") == code_version()
            and isinstance(stored.get("memo"), ExportsMemo)):
        return None
    return stored["memo"]


def _save_exports_memo(folder: Path, memo) -> None:
    """Save the exports memo whole (~10 MB at 100k papers: a slug, key, topics and entry size each)."""
    save_blob(folder / "exports.pickle", {"code": code_version(), "memo": memo})
    (folder / "exports.delta.pickle").unlink(missing_ok=True)  # (the format before: a base and a delta)


def _load_search_memo(folder: Path):
    """The search memo saved by _save_search_memo. Its segments stay in their own files until
    update_index asks for more than the head says of them (search.index.SegmentOnDisk): a
    digest leaves the base segment (~125 MB of memo at 100k papers) on disk. A segment file
    another save left, with a token the head does not name, is not used."""
    from site_src.search import index

    stored = load_blob(folder / "search.pickle")
    if not (isinstance(stored, dict) and stored.get("code") == code_version()
            and isinstance(stored.get("segments"), dict)):
        return None
    segments, tokens = {}, {}
    for level, named in stored["segments"].items():
        if not (isinstance(named, tuple) and len(named) == 4):
            continue
        token, order, vocab, files = named

        def load(path=folder / f"search-{level}.pickle", token=token):
            part = load_blob(path)
            return part.get("memo") if isinstance(part, dict) and part.get("token") == token else None

        segments[level], tokens[level] = index.SegmentOnDisk(order, vocab, files, load), token
    memo = stored.get("memo")
    try:
        memo = dataclasses.replace(memo, segments=segments)
    except (TypeError, AttributeError):  # not a memo of this code
        return None
    _SEARCH_SEGMENTS_ON_DISK[folder] = (tokens, dict(segments))
    return memo


_SEARCH_SEGMENTS_ON_DISK: dict[Path, tuple[dict[str, str], dict]] = {}
"""Folder -> (token, memo object) of each search segment file as loaded: an update that
leaves a segment unchanged returns the very memo object, and its file is not written again."""


def _save_search_memo(folder: Path, memo) -> None:
    """Save the search memo as a head (search.pickle) and one file per segment, writing only
    the segments whose memo changed: after a digest the base segment's (~90% of the memo at
    100k papers) stays as it is. The head names each segment's file by its token and holds
    its order, vocabulary and files, all an unchanged segment is known by."""
    tokens, loaded = _SEARCH_SEGMENTS_ON_DISK.pop(folder, ({}, {}))
    names = {}
    for level, segment in memo.segments.items():
        if loaded.get(level) is segment and level in tokens:
            names[level] = (tokens[level], segment.order, segment.vocab, segment.files)
            continue
        token = os.urandom(8).hex()
        save_blob(folder / f"search-{level}.pickle", {"token": token, "memo": segment})
        names[level] = (token, segment.order, segment.vocab, segment.files)
    # The head last: it names the segment files that go with it.
    save_blob(folder / "search.pickle", {"code": code_version(), "segments": names,
                                         "memo": dataclasses.replace(memo, segments={})})


def _stage_extras(site, config, folder: Path, staging: "_Staging", *, full: bool,
                  paper_keys: Mapping[str, tuple[str, str]]
                  ) -> tuple[dict[str, list[tuple[str, str, bool, StatKey]]], float]:
    """Run the EARLY_PRODUCERS of a full build and write their files into the new tree (in a
    child process, see run_beside): (name -> [(dest, content hash, written, stat key)], the
    seconds it took).

    `site` need only hold the papers, digests and topics. The producers get no pages (None,
    so one that starts reading them fails loudly); memos for the next build are saved here.
    """
    from site_src import pipeline

    start = time.perf_counter()
    producers = dict(pipeline.OUTPUT_PRODUCERS)
    staged: dict[str, list[tuple[str, str, bool, StatKey]]] = {}
    for name in EARLY_PRODUCERS:
        if name in MEMOISED_PRODUCERS:
            made, kept = _memoised_outputs(name, site, config, None, folder, None, full=full, existing={},
                                           paper_keys=paper_keys)
            assert not kept  # (nothing exists to keep in a fresh tree)
        else:
            made = pipeline.produce_extras(site, config, None, [(name, producers[name])])
        staged[name] = [(output.dest, digest(output.data), *staging.stage(output.dest, output.data))
                        for output in made]
    return staged, time.perf_counter() - start


def _save_build(folder: Path, manifest: Manifest, corpus_memo: dict, topics_memo: dict,
                session: dict | None, site, previous: tuple[Mapping, Mapping] = ({}, {})) -> None:
    """Save the cache of a finished build; a session (serve) also keeps the memos and the Site in memory.

    A session's memos are written to disk only by its first build: pickling 10k papers on
    every save would cost more than the rebuild. The next `build` re-parses what changed
    since the memos on disk were written, which is always safe. previous: see save_state.
    """
    stale_disk = session is not None and bool(session.get("memos"))
    save_state(folder, manifest, corpus_memo, topics_memo, memos=not stale_disk, previous=previous)
    if session is not None:
        code = code_version()
        session["memos"] = {"corpus": {**corpus_memo, "code": code}, "topics": {**topics_memo, "code": code}}
        session["site"] = (corpus_memo["scanned_ns"], site)


def _save_memos(folder: Path, corpus_memo: dict, topics_memo: dict, previous: tuple[Mapping, Mapping],
                pages_memo: "_PagesMemo | None") -> None:
    """Save the parse, topic and page-input memos (what save_state(memos=True) and
    _PagesMemo.save write), before the manifest: a memo without a manifest is only unused."""
    code = code_version()
    save_layered(folder, "corpus", {**corpus_memo, "code": code}, previous[0])
    save_layered(folder, "topics", {**topics_memo, "code": code}, previous[1])
    if pages_memo is not None:
        pages_memo.save()


def _environment(config, settings: str, inputs: Mapping[str, StatKey], racy_ns: int,
                 session: dict | None):
    """The Jinja environment; serve reuses the last one (templates compiled) while no template
    changed. A template modified from racy_ns on (racy_from) may change again unseen: then
    the environment is not kept for the next build."""
    from site_src.render import TemplateCodeCache, make_environment

    templates = tuple(sorted((k, v) for k, v in inputs.items() if not k.startswith("content/")))
    key = (settings, templates)
    settled = all(v[0] < racy_ns for _, v in templates)
    kept = session.get("env") if session is not None else None
    if settled and kept is not None and kept[0] == key:
        return kept[1]
    if session is None:
        return make_environment(config)
    # A new environment still loads the templates that did not change already compiled.
    env = make_environment(config, bytecode_cache=session.setdefault("compiled", TemplateCodeCache()))
    session["env"] = (key, env) if settled else None
    return env


def _make_site(config, corpus: Corpus, state: CacheState, notes_only: bool, jobs: int | None,
               timings: dict[str, float], *, keys: Mapping[str, tuple[str, str]],
               session: dict | None = None, full: bool = False,
               after_topics: Callable[[Any], None] | None = None):
    """The Site of a corpus, with topics and related papers through their memos; and the new topics memo.

    after_topics(site) is called once topics are assigned, with the Site as it is before
    related papers, topic reasons and about.md are added.
    """
    from site_src import pipeline
    from site_src.plan import Site

    with timed(timings, "topics"):
        memos: dict[str, dict] = {"topics": {}}

        def assign(papers, taxonomy):
            assigned, memos["topics"] = assign_topics(papers, taxonomy, state.topics_memo, jobs=jobs,
                                                      paper_keys=keys)
            return assigned

        topics, paper_topics, assignments = pipeline.load_topics(config, corpus.papers, assign=assign)
        topics_memo = memos["topics"]
    if after_topics is not None:
        after_topics(Site(papers=corpus.papers, digests=corpus.digests, topics=topics, paper_topics=paper_topics))
    with timed(timings, "site"):
        extras_memo = {"old": site_extras_of(state.topics_memo or {}), "trusted": notes_only,
                       "folder": state.folder, "session": session, "full": full,
                       "paper_keys": keys, "taxonomy": topics_memo.get("taxonomy"),
                       "assigned": ((state.topics_memo or {}).get("papers"), topics_memo.get("papers"))}
        site = pipeline.site_from_corpus(config, corpus, topics, paper_topics, assignments,
                                         site_extras=_memoised_site_extras(extras_memo))
        if extras_memo.get("new"):
            with_site_extras(topics_memo, extras_memo["new"])
    return site, topics_memo


def with_site_extras(topics_memo: dict, extras: tuple[str, tuple[dict, dict]]) -> None:
    """Keep (key, (topic reasons, related papers)) in the topic memo, each paper's entries as
    sections (memolayers): a digest changes a few hundred papers' related lists, and the
    delta saved then holds those, not the whole value (23 MB at 100k papers)."""
    key, (reasons, related) = extras
    topics_memo.pop("site_extras", None)
    if type(reasons) is dict and type(related) is dict:
        topics_memo.update(site_extras_key=key, topic_reasons=reasons, related=related)
    else:
        topics_memo["site_extras"] = extras


def site_extras_of(topics_memo: Mapping) -> tuple[str, tuple[dict, dict]] | None:
    """The (key, (topic reasons, related papers)) a topic memo keeps (with_site_extras), or None."""
    whole = topics_memo.get("site_extras")
    if isinstance(whole, tuple) and len(whole) == 2:
        return whole
    key, reasons, related = (topics_memo.get(name) for name in ("site_extras_key", "topic_reasons", "related"))
    if isinstance(key, str) and isinstance(reasons, dict) and isinstance(related, dict):
        return key, (reasons, related)
    return None


def _save_notes_build(config, folder: Path, manifest: Manifest, settings: str, inputs, outputs,
                      changed: dict[str, bytes | StagedFile], scanned: tuple[int, int | None], site, corpus,
                      memos: tuple[dict, dict],
                      session: dict | None, now, rendered: int, timings: dict[str, float], clock: float,
                      previous: tuple[Mapping, Mapping], folders: Mapping[str, FolderKey],
                      memos_saved: bool = False, input_folders: Mapping[str, FolderKey] | None = None):
    """Write the pages a notes-only build changed and save the cache (see notes_only_change).

    scanned: when the inputs were taken, by our clock and the file system's (Manifest.scanned_ns,
    Manifest.inputs_stamp_ns); folders: the folder keys check_tree found true before the
    pages were written;
    memos_saved: the build saved its memos already (then only the manifest is saved);
    input_folders: the input folders' keys when the build may leave a no-op record (see _build)."""
    with timed(timings, "write"):
        forget(folder)
        write_changed(config.out_dir, changed, ())
        tree = dict(manifest.tree)
        for dest in changed:
            tree[dest] = stat_key(os.stat(config.out_dir / dest))
        folders = folders_left(folders, changed, (), manifest.tree)
        if input_folders is not None and keeps_noop_record(tree):
            folders = settle_folder_keys(config.out_dir, tree, folders, folder)
    with timed(timings, "save"):
        new_manifest = dataclasses.replace(
            manifest, settings=settings, inputs=dict(inputs), outputs=outputs, tree=tree,
            folders=folders,
            scanned_ns=scanned[0], inputs_stamp_ns=scanned[1], problems=tuple(corpus.problems),
            memo_token=memos[0]["scanned_ns"])
        if memos_saved:
            save_state(folder, new_manifest, *memos, memos=False)
        else:
            _save_build(folder, new_manifest, *memos, session, site, previous=previous)
        if input_folders is not None:
            leave_noop_record(config, folder, new_manifest, input_folders, racy_from(scanned[1], scanned[0]))
    written = tuple(sorted(changed))
    report = BuildReport(manifest.pages, len(outputs), written, len(outputs) - len(written), (),
                                  tuple(corpus.problems), 0.0, now)
    return _finish(report, IncrementalReport("incremental", "only notes changed", rendered, timings), clock)


def _related_through_memo(papers, assignments, memo: dict):
    """survey_pages.update_site_extras with the related-papers memo of the last build (its own
    cache files, related.pickle + related.arrays + related.delta.pickle: relatedmemo;
    serve keeps it in memory), so a new digest redoes only the papers it changes. The value
    does not depend on the memo.

    The memo records the key of the value it was made with (made_for): when that is the
    last build's value (memo['old']), its unchanged related lists are reused as they are.
    """
    with map_large_blocks():
        value = _related_update(papers, assignments, memo)
    release_freed_memory()  # (the memo and the update's arrays are gone by now)
    return value


def _related_update(papers, assignments, memo: dict):
    """_related_through_memo's work: load the memo, update, save the new memo; return the value."""
    from site_src import survey_pages

    folder, session = memo.get("folder"), memo.get("session")
    terms = layers = None
    if not memo.get("full"):
        if session is not None and session.get("related") is not None:
            terms = session["related"]
        elif folder is not None:
            known = itertools.chain(map(operator.attrgetter("slug"), papers),
                                    map(operator.itemgetter(1), memo["paper_keys"].values()))
            terms, layers = load_related_memo(Path(folder), known)
    old = memo.get("old")
    previous = None
    if (terms is not None and isinstance(old, tuple) and len(old) == 2
            and getattr(terms, "made_for", None) == old[0]):
        previous = old[1]
    fingerprints = dict(zip(memo["paper_keys"], map(operator.itemgetter(1), memo["paper_keys"].values())))
    try:
        value, new_terms = survey_pages.update_site_extras(papers, assignments, terms, previous=previous,
                                                           fingerprints=fingerprints,
                                                           reasons_before=_reasons_before(memo))
    except CorruptCache:  # (a block of the stored memo read wrong: made again without it)
        terms = layers = None
        if folder is not None:
            forget_related_memo(Path(folder))
        value, new_terms = survey_pages.update_site_extras(papers, assignments, None, fingerprints=fingerprints,
                                                           reasons_before=_reasons_before(memo))
    if new_terms is not None and dataclasses.is_dataclass(new_terms):
        new_terms = dataclasses.replace(new_terms, made_for=memo.get("key"))
    if session is not None:
        session["related"] = new_terms  # (a pure cache: one left older on disk is still right to use)
    elif folder is not None and new_terms is not None:
        try:
            save_related_memo(Path(folder), new_terms, terms, layers)
        except CorruptCache:
            forget_related_memo(Path(folder))
    return value


def _reasons_before(memo: Mapping) -> tuple[dict, set[str]] | None:
    """The last build's topic reasons and the slugs re-assigned since (topic_reasons' previous), or None.

    Reasons and topic memo were saved together, the reasons made from that memo's
    assignments; assign_topics keeps an unchanged paper's memo entry, the very object.
    """
    old = memo.get("old")
    before, now = memo.get("assigned") or (None, None)
    if not (isinstance(old, tuple) and len(old) == 2 and isinstance(old[1][0], Mapping)
            and isinstance(before, Mapping) and isinstance(now, Mapping)):
        return None
    return old[1][0], {slug for slug, entry in now.items() if before.get(slug) is not entry}


def _memoised_site_extras(memo: dict) -> Callable:
    """survey_pages.site_extras (related papers, topic reasons) reused while its inputs are unchanged.

    Its inputs are the papers (title and abstract for related papers; notes are not read)
    and the topic assignments, themselves made from the papers and the taxonomy; the key is
    made from memo['paper_keys'] (paper_keys) and memo['taxonomy'] (the taxonomy's key).
    memo['old'] is the previous (key, value), memo['new'] the current.
    """
    def site_extras(papers, assignments):
        old = memo.get("old")
        if memo.get("trusted") and isinstance(old, tuple) and len(old) == 2:
            memo["new"] = old  # only notes changed: its inputs are those of the last build
            return old[1]
        # The assignments are a function of the papers (notes aside) and the taxonomy; a
        # paper's hash without notes covers its slug (paper_hashes).
        hashes = memo["paper_keys"]
        blind = "\n".join(map(operator.itemgetter(1), map(hashes.__getitem__, map(operator.attrgetter("slug"), papers))))
        key = digest(repr((code_version(), memo.get("taxonomy"), len(papers))).encode() + blind.encode())
        if isinstance(old, tuple) and len(old) == 2 and old[0] == key:
            value = old[1]
        else:
            memo["key"] = key
            value = _related_through_memo(papers, assignments, memo)
        memo["new"] = (key, value)
        return value

    return site_extras


NOTES_BLIND_PRODUCERS = frozenset({"feeds", "sitemap", "search", "exports"})
"""Producers known to read neither a paper's notes nor a page's view (checked by reading
their code; tests/test_incremental.py edits a note and compares with a clean build).
Their inputs are the Site without notes plus each page's kind, URL and template, so a
note edit does not rebuild the search index. Any other producer is keyed on everything."""


def _hashed(parts: Iterable[Any]) -> str:
    """SHA-1 hex of parts, each a str or written with repr(), one after another."""
    # Hashed a slice at a time: one repr of 100k papers' keys and every digest record was a
    # ~90 MB peak of strings at 100k papers.
    found = hashlib.sha1()
    for part in parts:
        found.update((part if type(part) is str else repr(part)).encode("utf-8", "surrogatepass"))
        found.update(b"\0\n")
    return found.hexdigest()


def _slices(items: list, size: int = 4096) -> Iterator[list]:
    return (items[start:start + size] for start in range(0, len(items), size))


def _blind_key(site, settings: str, keys: Mapping[str, tuple[str, str]], taxonomy: str | None) -> str:
    """Hash of everything the NOTES_BLIND_PRODUCERS read (once per build: ~0.1 s at 100k papers).

    The Site's topic ids, related papers and topic reasons are made from its papers (notes
    aside) and the taxonomy, and the pages from the Site, the config and the code: so the
    papers' hashes (paper_keys), the taxonomy's key, the digest records, the topics and
    about.md stand for all of it.
    """
    papers = list(site.papers)
    return _hashed(itertools.chain(
        [(code_version(), settings, taxonomy, len(papers), len(site.digests))],
        # (a path never holds a NUL, nor does a hex key: the pairs read back one way)
        ("\0".join([f"{p.slug}\0{keys[p.slug][1]}" for p in part]) for part in _slices(papers)),
        _slices(list(site.digests), 256), [site.topics, site.about]))


def _blind_producer_key(name: str, blind: str) -> str:
    return digest(f"{name}:{blind}".encode())


def _producer_keys(site, blind: str, keys: Mapping[str, tuple[str, str]],
                   page_keys: Mapping[str, str]) -> dict[str, str]:
    """Key of each output producer's inputs: from blind (_blind_key) for NOTES_BLIND_PRODUCERS,
    from every paper and every page for any other."""
    from site_src import pipeline

    out = {}
    for name, _ in pipeline.OUTPUT_PRODUCERS:
        if name in NOTES_BLIND_PRODUCERS:
            out[name] = _blind_producer_key(name, blind)
        else:  # reads anything: keyed on every paper and every page
            everything = _hashed(itertools.chain(
                [blind], ([keys[p.slug][0] for p in part] for part in _slices(list(site.papers))),
                ([(dest, page_keys[dest]) for dest in part] for part in _slices(sorted(page_keys)))))
            out[name] = digest(f"{name}:{everything}".encode())
    return out


def _finish(report, incremental: IncrementalReport, clock: float) -> "_Report":
    import dataclasses

    return _Report(dataclasses.replace(report, seconds=round(time.perf_counter() - clock, 3)), incremental)


@dataclass(frozen=True)
class _Report:
    """A buildreport.BuildReport plus what the incremental build did."""

    base: Any
    incremental: IncrementalReport

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    def summary(self) -> str:
        """One line: what was rendered, written and removed."""
        b, i = self.base, self.incremental
        if i.mode == "no-op":
            return f"nothing changed ({b.outputs} files up to date)"
        why = f" ({i.why})" if i.why else ""
        return (f"{i.mode}{why}: {i.rendered} of {b.pages} pages rendered, {len(b.written)} files "
                f"written, {len(b.removed)} removed, {b.unchanged} unchanged")
