"""Build the sharded search index: search documents in, {destination: bytes} out.

Layout (all under `search/data/`, see docs/search.md for the byte formats):

- `manifest.json`  stable name; document count, years, topics, and the first term
  and file of every vocabulary shard and metadata directory.
- `v-<hash>.bin`   vocabulary shard: a sorted run of terms with their document
  frequency and which postings file holds them.
- `p-<hash>.bin`   postings: for each term, the documents with a precomputed
  BM25F impact and the few document facts filters and sorting need.
- `q-<hash>.bin`   positions, parallel to one postings file; fetched only for phrases.
- `d-<hash>.bin`   metadata directory: the hashes of 64 metadata chunks.
- `m-<hash>.bin`   metadata chunk: what a result shows for 4 documents.

Every shard is gzip-compressed and named by the SHA-256 of its uncompressed bytes.
Shard boundaries are content-defined (a cut falls after a term whose CRC-32 is a
multiple of a divisor, once a minimum size is reached), so changing one paper
changes only the shards holding its terms, its metadata chunk, their directories
and the manifest. Impacts use fixed typical field lengths rather than corpus
averages for the same reason: adding a paper does not rescore every posting.
"""
from __future__ import annotations

import array
import datetime as dt
import gzip
import hashlib
import json
import math
import zlib
from dataclasses import dataclass
from typing import Iterable, Sequence

from site_src.search.tokenize import index_terms, query_terms

FORMAT_VERSION = 1
DATA_DIR = "search/data"

META_CHUNK = 4
"""Documents per metadata chunk: a page of 10 results touches ~10 chunks, so keep them small."""
META_DIR = 64
"""Metadata chunks listed per directory file (small: a page of results touches ~10 of them)."""
ABSTRACT_LIMIT = 2000
"""Characters of abstract kept for snippets."""
AUTHOR_LIMIT = 12

K1 = 1.2
"""BM25 term-frequency saturation."""

# field: (weight, typical length in terms, length normalisation b). Title > topics > abstract;
# authors and the arXiv id are there to be found. Each field saturates on its own and the
# weighted scores add up, so one title hit outweighs many abstract mentions.
FIELDS: dict[str, tuple[float, float, float]] = {
    "title": (3.0, 10.0, 0.5),
    "topics": (1.5, 4.0, 0.3),
    "authors": (2.0, 12.0, 0.3),
    "id": (3.0, 1.0, 0.0),
    "abstract": (1.0, 180.0, 0.75),
}
IMPACT_SCALE = 16.0
"""Impact byte 255 stands for this score; higher scores are clipped (it takes several fields)."""
FIELD_GAP = 50
"""Positions left empty between fields (and between authors) so phrases never span two."""

# Content-defined chunking (raw, uncompressed bytes).
VOCAB_MIN, VOCAB_MAX, VOCAB_DIV = 3_000, 12_000, 64
POSTINGS_MIN, POSTINGS_MAX, POSTINGS_DIV = 6_000, 24_000, 16
HASH_LENGTH = 12


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """What the index knows about one paper."""

    url: str
    """Page URL relative to the site root, e.g. 'papers/some-slug/'."""
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    arxiv_id: str | None = None
    topics: tuple[str, ...] = ()
    """Topic ids the paper is filed under (sub-topics included as assigned)."""
    date: dt.date | None = None
    comments: int | None = None
    has_code: bool = False
    slug: str = ""


@dataclass(frozen=True, slots=True)
class SearchTopic:
    """A topic as the filters show it."""

    id: str
    name: str
    parent: str | None = None
    url: str = ""
    """Topic page URL relative to the site root."""


def encode_varint(value: int, out: bytearray) -> None:
    """Append VALUE (>= 0) to OUT as a little-endian base-128 varint."""
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def shard_name(kind: str, raw: bytes) -> str:
    """Name a shard by its kind and the hash of its uncompressed bytes."""
    return f"{kind}-{hashlib.sha256(raw).hexdigest()[:HASH_LENGTH]}.bin"


def compress(raw: bytes) -> bytes:
    """Gzip RAW reproducibly (no timestamp)."""
    return gzip.compress(raw, compresslevel=9, mtime=0)


def impact(field_tfs: Sequence[float], field_lengths: Sequence[int]) -> int:
    """Quantise the field-weighted BM25 term weight of one term in one document to 1..255.

    The browser multiplies it by the term's idf at query time (idf changes with every
    paper added; impacts do not, which keeps rebuilds local).
    """
    score = 0.0
    for (weight, typical, b), tf, length in zip(FIELDS.values(), field_tfs, field_lengths):
        if tf:
            norm = 1.0 - b + b * length / typical
            score += weight * tf * (K1 + 1.0) / (tf + K1 * norm)
    return max(1, min(255, round(score / IMPACT_SCALE * 255)))


def order_documents(documents: Iterable[SearchDocument]) -> list[SearchDocument]:
    """Sort documents oldest first (undated first), so a document id also sorts by date."""
    return sorted(documents, key=lambda d: (d.date or dt.date.min, d.slug or d.url))


@dataclass(slots=True)
class _Postings:
    docs: array.array
    impacts: bytearray
    in_title: bytearray
    positions: bytearray


def _field_texts(doc: SearchDocument, topic_names: dict[str, str]) -> dict[str, list[str]]:
    return {
        "title": [doc.title],
        "topics": [topic_names[t] for t in doc.topics if t in topic_names],
        "authors": list(doc.authors),
        "id": [doc.arxiv_id] if doc.arxiv_id else [],
        "abstract": [doc.abstract],
    }


def _collect(ordered: list[SearchDocument], topic_names: dict[str, str]) -> dict[str, _Postings]:
    # The hot loop of the build: plain locals, no per-term helper calls.
    fields = list(FIELDS.values())
    k1_plus = K1 + 1.0
    to_byte = 255 / IMPACT_SCALE
    postings: dict[str, _Postings] = {}
    for doc_id, doc in enumerate(ordered):
        texts = _field_texts(doc, topic_names)
        positions: dict[str, list[int]] = {}
        counts: list[dict[str, int]] = []
        factors: list[tuple[float, float]] = []
        pos = 0
        for name, (weight, typical, b) in FIELDS.items():
            field_counts: dict[str, int] = {}
            length = 0
            for text in texts[name]:
                terms, pos = index_terms(text, pos)
                pos += FIELD_GAP
                length += len(terms)
                for term, at in terms:
                    field_counts[term] = field_counts.get(term, 0) + 1
                    seen = positions.get(term)
                    if seen is None:
                        positions[term] = [at]
                    else:
                        seen.append(at)
            counts.append(field_counts)
            factors.append((weight, K1 * (1.0 - b + b * length / typical)))
        title_counts = counts[0]
        scores: dict[str, float] = {}
        for (weight, norm), field_counts in zip(factors, counts):
            for term, tf in field_counts.items():
                scores[term] = scores.get(term, 0.0) + weight * tf * k1_plus / (tf + norm)
        for term, at in positions.items():
            quantised = round(scores[term] * to_byte)
            entry = postings.get(term)
            if entry is None:
                entry = postings[term] = _Postings(array.array("I"), bytearray(), bytearray(),
                                                   bytearray())
            entry.docs.append(doc_id)
            entry.impacts.append(1 if quantised < 1 else 255 if quantised > 255 else quantised)
            entry.in_title.append(1 if term in title_counts else 0)
            out = entry.positions
            if len(at) < 0x80:
                out.append(len(at))
            else:
                encode_varint(len(at), out)
            previous = 0
            for p in at:
                gap = p - previous
                if gap < 0x80:
                    out.append(gap)
                else:
                    encode_varint(gap, out)
                previous = p
    return postings


def _doc_facts(ordered: list[SearchDocument], topic_index: dict[str, int]) -> tuple[list[int], list[bytes]]:
    """Per document: the flags byte (without in-title bit) and the tail bytes of a posting."""
    flags: list[int] = []
    tails: list[bytes] = []
    for doc in ordered:
        topics = [topic_index[t] for t in doc.topics if t in topic_index][:63]
        flags.append((1 if doc.has_code else 0) << 1 | len(topics) << 2)
        tail = bytearray([min(255, len(set(query_terms(doc.title))))])
        encode_varint(max(0, doc.comments or 0), tail)
        for t in topics:
            encode_varint(t, tail)
        tails.append(bytes(tail))
    return flags, tails


def _encode_postings(entry: _Postings, flags: list[int], tails: list[bytes]) -> bytes:
    out = bytearray()
    previous = 0
    for i, doc_id in enumerate(entry.docs):
        gap = doc_id - previous
        if gap < 0x80:
            out.append(gap)
        else:
            encode_varint(gap, out)
        previous = doc_id
        out.append(entry.impacts[i])
        out.append(flags[doc_id] | entry.in_title[i])
        out += tails[doc_id]
    return bytes(out)


def _term_block(term: str, count: int, block: bytes, out: bytearray) -> None:
    raw = term.encode()
    encode_varint(len(raw), out)
    out += raw
    encode_varint(count, out)
    encode_varint(len(block), out)
    out += block


def _cut_after(term: str, size: int, minimum: int, maximum: int, divisor: int) -> bool:
    """Content-defined boundary: stable under edits elsewhere in the term list."""
    if size >= maximum:
        return True
    return size >= minimum and zlib.crc32(term.encode()) % divisor == 0


def _split(terms: list[str], sizes: dict[str, int], minimum: int, maximum: int,
           divisor: int) -> list[list[str]]:
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for term in terms:
        # A term that would overflow the group starts a new one: a small term must not drag
        # a big neighbour's postings into every query that needs it.
        if current and size + sizes[term] > maximum:
            groups.append(current)
            current, size = [], 0
        current.append(term)
        size += sizes[term]
        if _cut_after(term, size, minimum, maximum, divisor):
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return groups


def _shared_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def build_index(documents: Iterable[SearchDocument], topics: Sequence[SearchTopic] = (),
                data_dir: str = DATA_DIR) -> dict[str, bytes]:
    """Return every index file, keyed by its destination relative to the site root."""
    ordered = order_documents(documents)
    topic_index = {t.id: i for i, t in enumerate(topics)}
    topic_names = {t.id: t.name for t in topics}
    outputs: dict[str, bytes] = {}

    def emit(kind: str, raw: bytes) -> str:
        name = shard_name(kind, raw)
        outputs[f"{data_dir}/{name}"] = compress(raw)
        return name[2:2 + HASH_LENGTH]

    postings = _collect(ordered, topic_names)
    flags, tails = _doc_facts(ordered, topic_index)
    encoded = {term: _encode_postings(entry, flags, tails) for term, entry in postings.items()}
    terms = sorted(postings)
    vocab_sizes = {t: len(t.encode()) + 4 for t in terms}
    vocab: list[list[str]] = []
    for shard_terms in _split(terms, vocab_sizes, VOCAB_MIN, VOCAB_MAX, VOCAB_DIV):
        posting_sizes = {t: len(encoded[t]) + len(t) + 6 for t in shard_terms}
        files = bytearray()
        file_of: dict[str, int] = {}
        groups = _split(shard_terms, posting_sizes, POSTINGS_MIN, POSTINGS_MAX, POSTINGS_DIV)
        encode_varint(len(groups), files)
        for file_number, group in enumerate(groups):
            p_raw, q_raw = bytearray(), bytearray()
            encode_varint(len(group), p_raw)
            encode_varint(len(group), q_raw)
            for term in group:
                entry = postings[term]
                _term_block(term, len(entry.docs), encoded[term], p_raw)
                _term_block(term, len(entry.docs), bytes(entry.positions), q_raw)
                file_of[term] = file_number
            files += emit("p", bytes(p_raw)).encode()
            files += emit("q", bytes(q_raw)).encode()
        raw = bytearray(files)
        encode_varint(len(shard_terms), raw)
        previous = b""
        for term in shard_terms:
            current = term.encode()
            shared = _shared_prefix(previous, current)
            encode_varint(shared, raw)
            encode_varint(len(current) - shared, raw)
            raw += current[shared:]
            encode_varint(len(postings[term].docs), raw)
            encode_varint(file_of[term], raw)
            previous = current
        vocab.append([shard_terms[0], emit("v", bytes(raw))])

    chunk_hashes = []
    for start in range(0, len(ordered), META_CHUNK):
        chunk = [_meta(doc, topic_index) for doc in ordered[start:start + META_CHUNK]]
        raw = json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode()
        chunk_hashes.append(emit("m", raw))
    directories = [emit("d", "".join(chunk_hashes[i:i + META_DIR]).encode())
                   for i in range(0, len(chunk_hashes), META_DIR)]

    depth = data_dir.strip("/").count("/") + 1
    manifest = {
        "format": FORMAT_VERSION,
        "docs": len(ordered),
        "root": "../" * depth,
        "metaChunk": META_CHUNK,
        "metaDir": META_DIR,
        "hashLength": HASH_LENGTH,
        "impactScale": IMPACT_SCALE,
        "years": _year_starts(ordered),
        "topics": [{"id": t.id, "name": t.name, "url": t.url,
                    "parent": topic_index.get(t.parent) if t.parent else None} for t in topics],
        "vocab": vocab,
        "dirs": directories,
    }
    outputs[f"{data_dir}/manifest.json"] = (
        json.dumps(manifest, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    return outputs


def _year_starts(ordered: list[SearchDocument]) -> list[list[int | None]]:
    """[[year, first document id], ...] in id order; year None for undated papers."""
    starts: list[list[int | None]] = []
    for doc_id, doc in enumerate(ordered):
        year = doc.date.year if doc.date else None
        if not starts or starts[-1][0] != year:
            starts.append([year, doc_id])
    return starts


def _meta(doc: SearchDocument, topic_index: dict[str, int]) -> dict:
    authors = list(doc.authors[:AUTHOR_LIMIT])
    meta = {
        "u": doc.url,
        "t": doc.title,
        "d": doc.date.isoformat() if doc.date else "",
        "a": authors,
        "p": [topic_index[t] for t in doc.topics if t in topic_index],
        "c": doc.comments or 0,
        "s": doc.abstract[:ABSTRACT_LIMIT],
    }
    if len(doc.authors) > AUTHOR_LIMIT:
        meta["n"] = len(doc.authors)
    if doc.arxiv_id:
        meta["x"] = doc.arxiv_id
    if doc.has_code:
        meta["g"] = 1
    return meta


def idf(df: int, n: int) -> float:
    """BM25 inverse document frequency (the browser computes the same at query time)."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))
