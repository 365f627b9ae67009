"""The export files (survey and topic BibTeX, Markdown outlines), made as streams.

At 100k papers the exports are ~210 MB of text (survey.bib 39 MB, survey.md 32 MB, and
each topic's two files), and a digest changes nearly all of it: a new paper joins the
survey files and the files of every topic above its own. Made as whole texts, held as
bytes until the write, with every paper's entry and line kept in a memo, that cost
~290 MB of memory per update. Here each file is written as it is made (into a temp file
beside its destination, or into memory when there is no output folder), and the text of
an unchanged paper is read back from the last build's survey.bib and survey.md: the memo
keeps only where each paper's text is in them, and a file is read only once its SHA-1
is the one the memo made. The bytes are those exports.bibtex_text / outline_text make.
"""
from __future__ import annotations

import bisect
import collections
import hashlib
import itertools
import os
import tempfile
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from site_src import urls
from site_src.writer import StagedFile

EXPORTS_MEMO_VERSION = 2
"""Bump when what ExportsMemo holds changes meaning (older memos are then ignored)."""

FLUSH_BYTES = 1 << 17
"""A stream hands its text to the file (and the hash) in pieces of about this size."""
BATCH = 1024
"""Papers whose BibTeX entries are gathered before each file's share is written."""
BLOCK_BYTES = 1 << 20
"""The last build's survey.bib is read in blocks of this size."""

UNSORTED = ""
"""The listing key of the papers no topic claims (survey.md's '## Unsorted')."""


@dataclass(frozen=True)
class ExportsMemo:
    """Where the last build's export files hold each paper's text (picklable, ~10 MB at 100k papers)."""

    settings: str
    """What every export depends on besides the papers: title, base URL, topics."""
    slugs: list[str]
    """Every paper, in survey order (exports.survey_order)."""
    keys: list[str]
    """Each paper's key (a hash of its fields, notes aside) when its text was made."""
    topics: list[tuple[str, ...]]
    """Each paper's own topic ids."""
    entry_sizes: array
    """Bytes of each paper's BibTeX entry in survey.bib (entries are one newline apart)."""
    first_entry: int
    """Offset of the first entry in survey.bib."""
    listings: dict[str, tuple[int, int]]
    """Topic id (UNSORTED for the unsorted papers) -> (offset, size) in survey.md of the lines
    listing its own papers, a paper a line."""
    members: dict[str, array]
    """Topic id (or UNSORTED) -> the positions (in slugs) of the papers its listing lists, in order."""
    hashes: dict[str, str]
    """Destination -> SHA-1 (hex) of the bytes made for it."""

    def fits(self) -> bool:
        """Whether the per-paper columns line up (a memo that does not is not used)."""
        try:
            n = len(self.slugs)
            return self._fits(n)
        except (AttributeError, TypeError):  # (a memo of other code)
            return False

    def _fits(self, n: int) -> bool:
        return (len(self.keys) == n and len(self.topics) == n and isinstance(self.entry_sizes, array)
                and len(self.entry_sizes) == n and isinstance(self.listings, dict)
                and isinstance(self.members, dict) and isinstance(self.hashes, dict)
                and all(isinstance(places, array) for places in self.members.values()))


# --- where the bytes go -------------------------------------------------------------------

class _Stream:
    """One file being made: its text arrives in pieces, is hashed, and goes to `handle`
    (None: kept in memory) a few hundred KB at a time."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.hash = hashlib.sha1()
        self.parts: list[bytes] = []
        self.pending = 0
        self.position = 0  # bytes given so far
        self.kept: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.pending += len(data)
        self.position += len(data)
        if self.pending >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.parts:
            return
        blob = b"".join(self.parts)
        self.parts, self.pending = [], 0
        self.hash.update(blob)
        if self.handle is None:
            self.kept.append(blob)
        else:
            self.handle.write(blob)


class _Sink:
    """Opens the streams of one export run: temp files beside their destinations under
    out_dir, or memory (out_dir None). Each finished file is bytes or a StagedFile."""

    def __init__(self, out_dir: Path | None) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.open_files: dict[str, tuple[_Stream, str | None]] = {}

    def open(self, dest: str) -> _Stream:
        if self.out_dir is None:
            stream = _Stream(None)
            self.open_files[dest] = (stream, None)
            return stream
        target = self.out_dir / dest
        if not target.parent.resolve().is_relative_to(self.out_dir.resolve()):
            raise ValueError(f"output {dest!r} would be written outside {self.out_dir}")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, path = _new_file_beside(target)
        stream = _Stream(os.fdopen(fd, "wb", buffering=0))
        self.open_files[dest] = (stream, path)
        return stream

    def close(self, dest: str, existing: str | None) -> tuple[bytes | StagedFile | None, str]:
        """(the file's bytes or StagedFile, or None when they are `existing`'s; its SHA-1)."""
        stream, path = self.open_files.pop(dest)
        stream.flush()
        content = stream.hash.hexdigest()
        if stream.handle is not None:
            stream.handle.close()
        if content == existing:
            if path is not None:
                os.unlink(path)
            return None, content
        if path is None:
            return b"".join(stream.kept), content
        return StagedFile(path, content), content

    def discard(self) -> None:
        """Drop every file still open (a failed run leaves no temp file behind)."""
        for stream, path in self.open_files.values():
            if stream.handle is not None:
                stream.handle.close()
            if path is not None:
                Path(path).unlink(missing_ok=True)
        self.open_files.clear()


def _new_file_beside(target: Path) -> tuple[int, str]:
    """A new temp file beside target, mode 644 less the umask (as the build's other writes)."""
    while True:
        path = f"{target.parent}/.tmp-{target.name}-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644), path
        except FileExistsError:
            continue


class _Outline:
    """A Markdown outline stream whose trailing newlines fold into one at the end, as
    outline_text's rstrip does; `position` is where the next text will start."""

    def __init__(self, stream: _Stream) -> None:
        self.stream, self.newlines = stream, 0

    @property
    def position(self) -> int:
        return self.stream.position + self.newlines

    def write(self, data: bytes) -> None:
        text = data.rstrip(b"\n")
        if text:
            if self.newlines:
                self.stream.write(b"\n" * self.newlines)
            self.stream.write(text)
            self.newlines = len(data) - len(text)
        else:
            self.newlines += len(data)

    def end(self) -> None:
        self.stream.write(b"\n")


def _file_sha1(path: Path) -> str | None:
    """SHA-1 (hex) of a file's bytes, or None when it cannot be read."""
    digest = hashlib.sha1()
    try:
        with open(path, "rb", buffering=0) as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


# --- the exports ----------------------------------------------------------------------------

def make_exports(site, config, memo: ExportsMemo | None = None, *,
                 paper_keys: Mapping[str, str] | None = None, existing: Mapping[str, str] | None = None,
                 out_dir: Path | None = None, remember: bool = True,
                 ) -> tuple[dict[str, bytes | StagedFile | None], ExportsMemo | None]:
    """Return ({destination: bytes, StagedFile or None}, the memo for the next build).

    A file maps to None (keep the one there) when `existing` (destination -> SHA-1 of the
    file on disk) holds what it would be made of: a topic whose subtree lost, gained or
    changed no paper is not made at all. With out_dir, files are written beside their
    destinations (StagedFile, to be renamed into place) and unchanged papers' texts are
    read from out_dir's survey.bib and survey.md when their hashes are the memo's.
    """
    from site_src.exports import escape_markdown, survey_order, topic_chains

    if not site.topics:
        return {}, None
    settings = repr((EXPORTS_MEMO_VERSION, config.title, config.absolute(""), tuple(site.topics)))
    if not (isinstance(memo, ExportsMemo) and memo.settings == settings and paper_keys is not None
            and memo.fits()):
        memo = None
    existing = existing or {}
    old_slugs = memo.slugs if memo is not None else []
    old_keys = memo.keys if memo is not None else []
    old_topics = memo.topics if memo is not None else []
    known = memo.hashes if memo is not None else {}

    ancestors = topic_chains(site.topics)  # (each topic first, then its ancestors)
    above_of: dict[tuple, tuple[str, ...]] = {}

    def above(topics: tuple) -> tuple[str, ...]:
        """The topics whose BibTeX lists a paper of these own topics (theirs and their ancestors')."""
        found = above_of.get(topics)
        if found is None:
            found = above_of[topics] = tuple(dict.fromkeys(a for t in topics for a in ancestors.get(t, ())))
        return found

    # Which papers' texts carry over (same key), and what changed.
    by_slug = {p.slug: p for p in site.papers}
    paper_topics = site.paper_topics
    key_of = paper_keys.get if paper_keys is not None else {}.get
    dirty: set[str] = set()  # topics whose subtree lost, gained or changed a paper
    relisted: set[str] = set()  # listing keys whose own papers or their lines changed

    def changed(topics: tuple) -> None:
        dirty.update(above(topics))
        relisted.update(topics or (UNSORTED,))

    # Old positions of the papers still here under the same key (a paper without a key
    # was stored under "", which no key equals).
    survivors = [i for i, (slug, key) in enumerate(zip(old_slugs, old_keys))
                 if key == key_of(slug) and slug in by_slug]
    gone_after = -1
    for i in itertools.chain(survivors, [len(old_slugs)]):
        for gone in range(gone_after + 1, i):  # (removed or edited: its old topics lose it)
            changed(old_topics[gone])
        gone_after = i
    moved: set[int] = set()  # (old positions of carried papers whose topics changed)
    for i in survivors:
        now = paper_topics.get(old_slugs[i], ())
        if now != old_topics[i] and tuple(now) != old_topics[i]:
            moved.add(i)
            changed(old_topics[i])
            changed(tuple(now))
    carried = set(map(old_slugs.__getitem__, survivors))
    fresh = sorted((p for p in site.papers if p.slug not in carried), key=survey_order)
    for paper in fresh:
        changed(tuple(paper_topics.get(paper.slug, ())))
    anything = bool(dirty or relisted)

    # The survey order: the survivors keep theirs, each fresh paper goes in by bisection.
    def old_order(i: int) -> tuple:
        return survey_order(by_slug[old_slugs[i]])

    places = [bisect.bisect_left(survivors, survey_order(p), key=old_order) for p in fresh]
    slugs: list[str] = []
    source = array("q")  # old position of each paper's text, -1 for a fresh paper
    done = 0
    for paper, place in zip(fresh, places):
        slugs.extend(map(old_slugs.__getitem__, survivors[done:place]))
        source.extend(survivors[done:place])
        slugs.append(paper.slug)
        source.append(-1)
        done = place
    slugs.extend(map(old_slugs.__getitem__, survivors[done:]))
    source.extend(survivors[done:])
    del survivors, carried
    # Each paper's own topics; a carried paper that kept them keeps the memo's tuple, and
    # the others take an equal one from there when there is one (the memo pickles each once).
    shared: dict[tuple, tuple] = {topics: topics for topics in set(old_topics)}

    def topics_now(slug: str) -> tuple:
        topics = tuple(paper_topics.get(slug, ()))
        return shared.setdefault(topics, topics)

    topics_in_order = [old_topics[old] if old >= 0 and old not in moved else topics_now(slug)
                       for slug, old in zip(slugs, source)]

    bib_dest, md_dest = urls.url_for("survey_bibtex"), urls.url_for("survey_outline")

    def due(dest: str, changed: bool) -> bool:
        return changed or dest not in known or existing.get(dest) != known[dest]

    bib_files = {topic.id: urls.url_for("topic_bibtex", topic.id) for topic in site.topics}
    md_files = {topic.id: urls.url_for("topic_outline", topic.id) for topic in site.topics}
    bib_due = [t for t, dest in bib_files.items() if due(dest, t in dirty)]
    md_due = [t for t, dest in md_files.items() if due(dest, t in dirty)]
    survey_due = due(bib_dest, anything), due(md_dest, anything)

    # The last build's survey files hold every carried paper's text: used only when their
    # bytes are those the memo made.
    def readable(dest: str) -> Path | None:
        if out_dir is None or memo is None or dest not in known:
            return None
        path = Path(out_dir) / dest
        return path if _file_sha1(path) == known[dest] else None

    wanted = any(survey_due) or bib_due or md_due
    old_bib = readable(bib_dest) if wanted and memo is not None else None
    old_md = readable(md_dest) if wanted and memo is not None else None

    def paper_url(slug: str) -> str:
        return config.absolute(urls.url_for("paper", slug))

    sink = _Sink(out_dir)
    files: dict[str, bytes | StagedFile | None] = {}
    hashes: dict[str, str] = {}
    try:
        entry_sizes, first_entry = _write_bibtex(
            site, config, sink, files, hashes, slugs, source, topics_in_order, above, by_slug, paper_url,
            memo if old_bib is not None else None, old_bib, survey_due[0], bib_due, bib_files, bib_dest,
            existing, known)
        listings, members = _write_outlines(
            site, config, sink, files, hashes, slugs, source, topics_in_order, by_slug, paper_url,
            memo if old_md is not None else None, old_md, relisted, survey_due[1], md_due, md_files, md_dest,
            existing, known, escape_markdown)
    except BaseException:
        sink.discard()
        for made in files.values():
            if isinstance(made, StagedFile):
                made.discard()
        raise
    if not remember:
        return files, None
    if entry_sizes is None:  # survey.bib kept: its entries are where they were
        entry_sizes, first_entry = memo.entry_sizes, memo.first_entry  # type: ignore[union-attr]
    if listings is None:
        listings = memo.listings  # type: ignore[union-attr]
    if members is None:
        members = memo.members  # type: ignore[union-attr]
    keys = [key_of(slug) or "" for slug in slugs]
    return files, ExportsMemo(settings, slugs, keys, topics_in_order, entry_sizes, first_entry, listings, members,
                              hashes)


def _finish(sink: _Sink, files: dict, hashes: dict, dest: str, existing: Mapping[str, str]) -> None:
    files[dest], hashes[dest] = sink.close(dest, existing.get(dest))


def _keep(files: dict, hashes: dict, dest: str, known: Mapping[str, str]) -> None:
    files[dest], hashes[dest] = None, known[dest]


def _bibtex_head(heading: str) -> bytes:
    """What bibtex_text puts before the entries: the heading's lines as % comments."""
    lines = [f"% {line}" for line in heading.splitlines() if line.strip()]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def _keep_those_not_due(files, hashes, known, survey_dest, survey_due, topic_files, topics_due) -> bool:
    """Keep the survey file unless due and every topic file not due; whether any is due."""
    if not survey_due:
        _keep(files, hashes, survey_dest, known)
    for topic_id, dest in topic_files.items():
        if topic_id not in topics_due:
            _keep(files, hashes, dest, known)
    return bool(survey_due or topics_due)


def _write_bibtex(site, config, sink, files, hashes, slugs, source, topics_in_order, above, by_slug,
                  paper_url, memo, old_bib, survey_due, bib_due, bib_files, bib_dest, existing, known):
    """Stream survey.bib and the due topics' papers.bib; (entry sizes, first entry offset)
    of the new survey.bib, or (None, 0) when it was kept."""
    from site_src.cite import bibtex_for

    if not _keep_those_not_due(files, hashes, known, bib_dest, survey_due, bib_files, bib_due):
        return None, 0
    members = collections.Counter()
    for topics, count in collections.Counter(topics_in_order).items():
        for topic_id in above(topics):
            members[topic_id] += count
    names = {t.id: t.name for t in site.topics}
    # The entries go into lists, one per file, written out (newline-joined) every
    # BATCH papers: a paper costs an append per file that lists it.
    streams: dict[str, tuple[_Stream, list[bytes]]] = {}
    heads: dict[str, bytes] = {}
    if survey_due:
        heads[""] = _bibtex_head(f"{config.title}: all {len(slugs)} papers")
    for topic_id in bib_due:
        heads[topic_id] = _bibtex_head(f"{config.title}: {names[topic_id]} ({members[topic_id]} papers)")
    for name, head in heads.items():
        stream = sink.open(bib_dest if name == "" else bib_files[name])
        stream.write(head)
        streams[name] = (stream, [])
    started = {name: bool(head) for name, head in heads.items()}  # (a headless file starts with its first entry)
    first_entry = len(heads.get("", b"")) + (1 if heads.get("") else 0)

    def flush() -> None:
        for name, (stream, entries) in streams.items():
            if entries:
                if started[name]:
                    stream.write(b"\n")
                started[name] = True
                stream.write(b"\n".join(entries))
                entries.clear()

    survey = (streams[""][1].append,) if "" in streams else ()
    appenders: dict[int, tuple] = {}  # id of a topics tuple of topics_in_order (alive throughout)
    entry_sizes = array("L")
    sizes_append = entry_sizes.append
    fd, starts, old_sizes = -1, array("q"), array("L")
    if memo is not None:
        old_sizes = memo.entry_sizes
        starts.append(memo.first_entry)
        for size in old_sizes:
            starts.append(starts[-1] + size + 1)
        fd = os.open(old_bib, os.O_RDONLY)
    block, base, block_end = b"", 0, 0
    try:
        for count, (slug, old, topics) in enumerate(zip(slugs, source, topics_in_order), 1):
            if old >= 0 and fd >= 0:
                start = starts[old]
                end = start + old_sizes[old]
                if start < base or end > block_end:  # (read on in blocks: the survivors are in file order)
                    block = os.pread(fd, max(BLOCK_BYTES, end - start), start)
                    base, block_end = start, start + len(block)
                entry = block[start - base:end - base]
            else:
                entry = bibtex_for(by_slug[slug], url=paper_url(slug)).encode("utf-8")
            sizes_append(len(entry))
            targets = appenders.get(id(topics))  # (by identity: a tuple's hash is not cached)
            if targets is None:
                targets = appenders[id(topics)] = survey + tuple(streams[t][1].append for t in above(topics)
                                                                 if t in streams)
            for append in targets:
                append(entry)
            if count % BATCH == 0:
                flush()
        flush()
    finally:
        if fd >= 0:
            os.close(fd)
    if survey_due:
        _finish(sink, files, hashes, bib_dest, existing)
    for topic_id in bib_due:
        _finish(sink, files, hashes, bib_files[topic_id], existing)
    return (entry_sizes, first_entry) if survey_due else (None, 0)


def _write_outlines(site, config, sink, files, hashes, slugs, source, topics_in_order, by_slug, paper_url,
                    memo, old_md, relisted, survey_due, md_due, md_files, md_dest, existing, known,
                    escape_markdown):
    """Stream survey.md and the due topics' outline.md; (the listings' places in the new
    survey.md, or None when it was kept; each listing's papers, or None when nothing was made)."""
    from site_src.exports import outline_line, unsorted_line

    if not _keep_those_not_due(files, hashes, known, md_dest, survey_due, md_files, md_due):
        return None, None
    # Each listing's papers now (positions in the survey order) and before (old positions).
    own: dict[str, list[int]] = {t.id: [] for t in site.topics}
    own[UNSORTED] = []
    for place, topics in enumerate(topics_in_order):
        for topic_id in topics or (UNSORTED,):
            if topic_id in own:
                own[topic_id].append(place)
    before: dict[str, array] = memo.members if memo is not None else {}

    old_file = open(old_md, "rb") if memo is not None else None
    scratch = tempfile.TemporaryFile(dir=sink.out_dir) if sink.out_dir is not None else tempfile.TemporaryFile()
    try:
        # Where each listing's bytes are: (file, offset, size).
        places: dict[str, tuple[Any, int, int]] = {}
        for key, members in own.items():
            if not members:
                continue
            if key == UNSORTED:
                def line(slug: str) -> bytes:
                    return (unsorted_line(by_slug[slug]) + "\n").encode("utf-8")
            else:
                def line(slug: str) -> bytes:
                    return (outline_line(by_slug[slug], paper_url(slug)) + "\n").encode("utf-8")
            olds = array("q", map(source.__getitem__, members))
            if memo is not None and key not in relisted and olds == before.get(key) and key in memo.listings:
                places[key] = (old_file, *memo.listings[key])
                continue
            old_lines: dict[int, bytes] = {}
            if memo is not None and key in memo.listings and before.get(key):
                offset, size = memo.listings[key]
                text = os.pread(old_file.fileno(), size, offset)  # type: ignore[union-attr]
                listed = text.split(b"\n")[:-1]
                if len(listed) == len(before[key]):  # (the memo's own count: else none is used)
                    old_lines = dict(zip(before[key], (item + b"\n" for item in listed)))
            offset = scratch.seek(0, os.SEEK_END)
            chunk: list[bytes] = []
            for place, old in zip(members, olds):
                found = old_lines.get(old) if old >= 0 else None
                chunk.append(found if found is not None else line(slugs[place]))
                if len(chunk) >= 4096:
                    scratch.write(b"".join(chunk))
                    chunk = []
            scratch.write(b"".join(chunk))
            places[key] = (scratch, offset, scratch.tell() - offset)
        scratch.flush()
        listings: dict[str, tuple[int, int]] = {}
        children: dict[str | None, list] = {}
        for topic in site.topics:
            children.setdefault(topic.parent, []).append(topic)

        def copy(place: tuple[Any, int, int], outlines: list[_Outline]) -> None:
            handle, offset, size = place
            end = offset + size
            while offset < end:
                piece = os.pread(handle.fileno(), min(1 << 20, end - offset), offset)
                if not piece:
                    raise OSError(f"{handle.name}: ends early")
                for outline in outlines:
                    outline.write(piece)
                offset += len(piece)

        def outline(dest: str, title: str, starts: list, unsorted: bool, record: bool) -> None:
            out = _Outline(sink.open(dest))
            out.write(f"# {escape_markdown(title)}\n\n".encode("utf-8"))

            def emit(topic, level: int) -> None:
                out.write(f"{'#' * min(level, 6)} {escape_markdown(topic.name)}\n\n".encode("utf-8"))
                if getattr(topic, "description", ""):
                    out.write(f"{escape_markdown(topic.description)}\n\n".encode("utf-8"))
                if topic.id in places:
                    if record:
                        listings[topic.id] = (out.position, places[topic.id][2])
                    copy(places[topic.id], [out])
                    out.write(b"\n")
                for child in children.get(topic.id, []):
                    emit(child, level + 1)

            for topic in starts:
                emit(topic, 2)
            if unsorted and UNSORTED in places:
                out.write(b"## Unsorted\n\n")
                if record:
                    listings[UNSORTED] = (out.position, places[UNSORTED][2])
                copy(places[UNSORTED], [out])
                out.write(b"\n")
            out.end()
            _finish(sink, files, hashes, dest, existing)

        if survey_due:
            outline(md_dest, config.title, children.get(None, []), True, True)
        for topic in site.topics:
            if topic.id in md_due:
                outline(md_files[topic.id], f"{config.title}: {topic.name}", [topic], False, False)
    finally:
        scratch.close()
        if old_file is not None:
            old_file.close()
    return (listings if survey_due else None), {key: array("q", listed) for key, listed in own.items() if listed}
