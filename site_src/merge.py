"""Identity and merging: is a digest record a paper the store already has, and what changes.

Matching, in order:
1. same arXiv id -> same paper;
2. same title key (case, accents, punctuation, whitespace and hyphenation ignored), or the
   title ingest last wrote for a paper whose title the curator has since corrected;
3. a fuzzy title match (rapidfuzz `fuzz.ratio` on title keys) of at least MERGE_SCORE
   with at most MAX_MERGE_EDITS edits and the same numbers in both titles;
4. anything else scoring at least REVIEW_SCORE is a *possible duplicate*: reported, never merged.
Two records with different arXiv ids are never merged, whatever their titles.

Why these numbers (docs/ingest.md has the table): `ratio` gives 100 to case/punctuation/
hyphenation variants once titles are reduced to keys, 95.7 to "Graph Attention Networks" vs
"... v2", 96.8 to "Segment Anything" vs "Segment Anything 2", 97.6 to "Llama 2: ..." vs
"Llama 3: ..." and 92.6 to "... Large Language Models ..." vs "... Small ...": so a high score
alone is not identity. Requiring equal numbers and at most two single-character edits
keeps spelling variants (optimisation/optimization) and stray plurals, and nothing else.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from site_src.model import DIGEST_FIELDS, Appearance, Paper

MERGE_SCORE = 97.0
"""fuzz.ratio on title keys at or above which (with the guards) two titles are one paper."""
MAX_MERGE_EDITS = 2
"""Most single-character insertions/deletions a fuzzy merge may bridge."""
REVIEW_SCORE = 85.0
"""fuzz.ratio on title keys at or above which a non-merged pair is a possible duplicate."""

MatchKind = Literal["id", "title", "ingested-title", "fuzzy"]


_NOT_ALNUM = re.compile(r"[\W_]+")
"""Runs of characters that are not str.isalnum() (re's \\w is isalnum() or '_')."""
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())


def title_key(title: str) -> str:
    """Reduce a title to lowercase letters and digits (accents, spaces, punctuation, hyphens gone)."""
    if title.isascii():
        # Most titles: NFKD and casefold change nothing but case; bytes.translate is ~10x
        # faster than the general path, and an ingest keys every stored title.
        return title.encode("ascii").translate(_ASCII_LOWER, _ASCII_NOT_ALNUM).decode("ascii")
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", title).casefold())


def _numbers(title: str) -> tuple[str, ...]:
    """Digit runs of a title ('Llama 2', 'GATv2', '16x16'), leading zeros dropped."""
    return tuple(run.lstrip("0") or "0" for run in re.findall(r"\d+", unicodedata.normalize(
        "NFKD", title)))


def title_score(a: str, b: str) -> float:
    """Similarity of two titles, 0-100 (rapidfuzz ratio on title keys)."""
    return fuzz.ratio(title_key(a), title_key(b))


def same_title(a: str, b: str) -> bool:
    """Whether two titles name the same paper by the merge rules (no id involved)."""
    key_a, key_b = title_key(a), title_key(b)
    if not key_a or not key_b:
        return a.strip() == b.strip()
    if key_a == key_b:
        return True
    return (fuzz.ratio(key_a, key_b) >= MERGE_SCORE
            and Indel.distance(key_a, key_b) <= MAX_MERGE_EDITS
            and _numbers(a) == _numbers(b))


def field_hash(name: str, value: Any) -> str:
    """A short fingerprint of a field value as ingest wrote it."""
    if isinstance(value, dt.date):
        value = value.isoformat()
    payload = json.dumps([name, value], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:10]


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Paper)
                             if f.default is not dataclasses.MISSING}


def _is_empty(name: str, value: Any) -> bool:
    return value is None or value == _DEFAULTS.get(name) or value in ("", ())


def hand_edited_fields(paper: Paper) -> tuple[str, ...]:
    """Digest-owned fields whose value is not what ingest last wrote (the curator changed them)."""
    hashes = dict(paper.ingested)
    edited = []
    for name in DIGEST_FIELDS:
        value = getattr(paper, name)
        if name in hashes:
            if field_hash(name, value) != hashes[name]:
                edited.append(name)
        elif not _is_empty(name, value):
            edited.append(name)  # set by hand on a paper ingest never wrote it for
    return tuple(edited)


@dataclass(frozen=True, slots=True)
class Match:
    """Where a digest record belongs in the store."""

    slug: str | None
    """The store paper it is, or None for a new paper."""
    kind: MatchKind | None = None
    score: float = 0.0
    possible: tuple[tuple[str, float], ...] = ()
    """(slug, score) of store papers that look alike but were not merged."""


_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
"""Characters counted one by one in a title key's histogram; every other character shares a count."""


class _KeyHistograms:
    """Character counts of many title keys, to rule out most of them before fuzzy scoring.

    fuzz.ratio is 100 * (1 - indel / (len a + len b)), and the indel distance is at least the
    L1 distance of the two keys' character counts (each insertion or deletion changes one
    count by one; counting several characters together only lowers it). A key whose L1
    distance to a record's exceeds REVIEW_SCORE's share of the lengths cannot score
    REVIEW_SCORE: at 100k stored titles ~0.4% are left to score (~1 ms a record instead of ~11).
    """

    def __init__(self, keys: list[str | None]) -> None:
        import numpy as np

        self.size = len(keys)
        texts = [key or "" for key in keys]
        self.lengths = np.fromiter(map(len, texts), dtype=np.int32, count=self.size)
        owner = np.repeat(np.arange(self.size, dtype=np.int32), self.lengths)
        cells = self._bins("".join(texts)).astype(np.int32) * np.int32(self.size) + owner
        counts = np.bincount(cells, minlength=(len(_ALPHABET) + 1) * self.size)
        self.counts = counts.reshape(len(_ALPHABET) + 1, self.size).astype(np.int16)

    @staticmethod
    def _bins(text: str):
        """The histogram bin of each character of text."""
        import numpy as np

        table = np.full(256, len(_ALPHABET), dtype=np.uint8)
        for number, char in enumerate(_ALPHABET):
            table[ord(char)] = number
        if text.isascii():
            return table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        return np.where(codes < 128, table[np.minimum(codes, 255)], len(_ALPHABET)).astype(np.uint8)

    def candidates(self, key: str, score: float) -> list[int]:
        """Indexes of the keys that may score `score` or more against key, in order."""
        import numpy as np

        wanted = np.bincount(self._bins(key), minlength=len(_ALPHABET) + 1)
        distance = np.zeros(self.size, dtype=np.int32)
        for row, count in zip(self.counts, wanted.tolist()):
            distance += np.abs(row - np.int16(count))
        # (one edit of slack: the ratio is computed in floating point)
        limit = (self.lengths + len(key)) * ((100.0 - score) / 100.0) + 1.0
        return np.flatnonzero(distance <= limit).tolist()


class PaperIndex:
    """Lookup tables over the store's papers; grows as one ingest adds papers."""

    def __init__(self, papers: tuple[Paper, ...] | list[Paper] = ()):
        self.papers: dict[str, Paper] = {}
        self._by_id: dict[str, str] = {}
        self._by_key: dict[str, list[str]] = {}
        self._by_ingested_title: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        # Title keys by slot, in the order papers were added (None: replaced since); the
        # histograms cover the slots there were at the first fuzzy match.
        self._choices: list[str | None] = []
        self._slot_slugs: list[str] = []
        self._slots: dict[str, int] = {}
        self._histograms: _KeyHistograms | None = None
        for paper in papers:
            if paper.slug in self.papers:
                self.add(paper)  # (replaces the first)
                continue
            # add(), unrolled: an ingest indexes every stored paper (100k at the top end).
            slug, key = paper.slug, title_key(paper.title)
            self.papers[slug] = paper
            if paper.id:
                self._by_id.setdefault(paper.id, slug)
            same = self._by_key.get(key)
            if same is None:
                self._by_key[key] = [slug]
            else:
                same.append(slug)
            self._keys[slug] = key
            self._slots[slug] = len(self._choices)
            self._choices.append(key)
            self._slot_slugs.append(slug)
            ingested_title = None
            for name, value in paper.ingested:
                if name == "title":
                    ingested_title = value  # (the last, as dict() would keep)
            if ingested_title is not None:
                self._by_ingested_title.setdefault(ingested_title, slug)

    def add(self, paper: Paper) -> None:
        """Add or replace a paper (by slug)."""
        old = self.papers.get(paper.slug)
        if old is not None:
            self._forget(old)
        self.papers[paper.slug] = paper
        if paper.id:
            self._by_id.setdefault(paper.id, paper.slug)
        key = title_key(paper.title)
        self._by_key.setdefault(key, []).append(paper.slug)
        self._keys[paper.slug] = key
        self._slots[paper.slug] = len(self._choices)
        self._choices.append(key)
        self._slot_slugs.append(paper.slug)
        hashes = dict(paper.ingested)
        if "title" in hashes:
            self._by_ingested_title.setdefault(hashes["title"], paper.slug)

    def _forget(self, paper: Paper) -> None:
        if paper.id and self._by_id.get(paper.id) == paper.slug:
            del self._by_id[paper.id]
        key = self._keys.pop(paper.slug)
        self._by_key[key].remove(paper.slug)
        self._choices[self._slots.pop(paper.slug)] = None
        hashes = dict(paper.ingested)
        if self._by_ingested_title.get(hashes.get("title", "")) == paper.slug:
            del self._by_ingested_title[hashes["title"]]

    def _compatible(self, record: Paper, slug: str) -> bool:
        """Different arXiv ids are different papers, whatever the titles say."""
        other = self.papers[slug].id
        return not (record.id and other and record.id != other)

    def match(self, record: Paper) -> Match:
        """Find the store paper a record is, or the near-misses worth a human look."""
        if record.id and record.id in self._by_id:
            return Match(self._by_id[record.id], "id", 100.0)
        key = title_key(record.title)
        for slug in self._by_key.get(key, ()) if key else ():
            if self._compatible(record, slug):
                return Match(slug, "title", 100.0)
        slug = self._by_ingested_title.get(field_hash("title", record.title))
        if slug is not None and self._compatible(record, slug):
            return Match(slug, "ingested-title", 100.0)
        possible: list[tuple[str, float]] = []
        if key:
            for slug, score in self._closest(key):
                other = self.papers[slug]
                if self._compatible(record, slug) and same_title(record.title, other.title):
                    return Match(slug, "fuzzy", score)
                possible.append((slug, round(score, 1)))
        return Match(None, None, 0.0, tuple(possible))


    def _closest(self, key: str, limit: int = 10) -> list[tuple[str, float]]:
        """The stored titles (slug, score) scoring REVIEW_SCORE or more against a title key,
        best first, ties in the order papers were added (as process.extract over them all)."""
        if self._histograms is None:
            self._histograms = _KeyHistograms(self._choices)
        covered = self._histograms.size
        slots = self._histograms.candidates(key, REVIEW_SCORE)
        slots.extend(range(covered, len(self._choices)))  # (papers added since)
        slots = [slot for slot in slots if self._choices[slot] is not None]
        found = process.extract(key, [self._choices[slot] for slot in slots], scorer=fuzz.ratio,
                                score_cutoff=REVIEW_SCORE, limit=limit)
        return [(self._slot_slugs[slots[at]], score) for _, score, at in found]


def digest_date_of(digest_id: str) -> dt.date | None:
    """The date a digest id starts with ('2025-12-12-...'), or None."""
    try:
        return dt.date.fromisoformat(digest_id[:10])
    except ValueError:
        return None


def _with_hashes(paper: Paper, written: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The `ingested` table after ingest wrote `written` (field -> value)."""
    hashes = dict(paper.ingested)
    for name, value in written.items():
        if _is_empty(name, value):
            hashes.pop(name, None)
        else:
            hashes[name] = field_hash(name, value)
    return tuple((name, hashes[name]) for name in DIGEST_FIELDS if name in hashes)


def new_paper(record: Paper, *, slug: str, appearance: Appearance,
              digest_date: dt.date | None) -> Paper:
    """Turn a digest record into a store paper (curator fields empty, hashes recorded)."""
    fields = {name: getattr(record, name) for name in DIGEST_FIELDS}
    paper = Paper(slug=slug, **fields, digests=(appearance,), first_seen=digest_date)
    return dataclasses.replace(paper, ingested=_with_hashes(paper, fields))


_PRECISION_RANK = {"day": 3, "year-inferred": 2, "month": 1, "year": 0}


def _finer_date(record: Paper, existing: Paper, *, strictly: bool = False) -> bool:
    """Whether the record's publication date is as precise as the stored one (or more, if strictly)."""
    if record.published_at is None:
        return False
    old = _PRECISION_RANK.get(existing.date_precision or "", -1)
    new = _PRECISION_RANK.get(record.date_precision or "", -1)
    return existing.published_at is None or new > old or (new == old and not strictly)


def merge_paper(existing: Paper, record: Paper, *, appearance: Appearance,
                digest_date: dt.date | None) -> Paper:
    """Fold a digest record into a store paper; curator fields and hand edits are kept.

    A record from a digest older than the paper's latest appearance only fills
    fields that are empty; a newer (or the same) digest also refreshes the rest.
    A publication date is only replaced by one at least as precise, and a strictly more
    precise one is taken even from an older digest.
    """
    edited = set(hand_edited_fields(existing))
    latest = max((d for d in (digest_date_of(a.digest) for a in existing.digests) if d),
                 default=None)
    refresh = digest_date is None or latest is None or digest_date >= latest
    written: dict[str, Any] = {}
    for name in DIGEST_FIELDS:
        if name in edited:
            continue
        new = getattr(record, name)
        old = getattr(existing, name)
        if _is_empty(name, new):
            continue
        if name in ("published_at", "date_precision"):
            # A BibTeX year never replaces a day another source gave; a finer date fills
            # in a coarser one even from an older digest.
            if not (_finer_date(record, existing, strictly=not refresh)):
                continue
        elif not refresh and not _is_empty(name, old):
            continue
        written[name] = new
    appearances = [a for a in existing.digests if a.digest != appearance.digest]
    appearances.append(appearance)
    appearances.sort(key=lambda a: (digest_date_of(a.digest) or dt.date.min, a.digest))
    first_seen = existing.first_seen
    if digest_date is not None and (first_seen is None or digest_date < first_seen):
        first_seen = digest_date
    merged = dataclasses.replace(existing, **written, digests=tuple(appearances),
                                 first_seen=first_seen)
    return dataclasses.replace(merged, ingested=_with_hashes(merged, written))
