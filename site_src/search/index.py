"""Build the sharded search index: search documents in, {destination: bytes} out.

Layout (all under `search/data/`, see docs/search.md for the byte formats):

- `manifest.json`  stable name; document count, years, topics, the segments (per segment:
  its first document and the first term and file of every vocabulary shard), the
  metadata directories and the comment files.
- `v-<hash>.bin`   vocabulary shard: a sorted run of one segment's terms with their
  document frequency in it and which postings file holds them.
- `p-<hash>.bin`   postings: for each term, the documents with a precomputed
  BM25F impact and the few document facts filters and sorting need.
- `q-<hash>.bin`   positions, parallel to one postings file; fetched only for phrases.
- `d-<hash>.bin`   metadata directory: the hashes of 64 metadata chunks.
- `m-<hash>.bin`   metadata chunk: what a result shows for 4 documents.
- `c-<hash>.bin`   comment counts of 4,096 documents (to sort by comments).

The term files are made per segment, a run of whole batches of documents (see
SEGMENT_STEPS): a digest's papers, the newest, change only the last segment's.

Every shard is gzip-compressed and named by the SHA-256 of its uncompressed bytes.
Shard boundaries are content-defined (a cut falls after a term whose CRC-32 is a
multiple of a divisor, once a minimum size is reached), so changing one paper
changes only the shards holding its terms, its metadata chunk, their directories
and the manifest. Impacts use fixed typical field lengths rather than corpus
averages for the same reason: adding a paper does not rescore every posting.
"""
from __future__ import annotations

import array
import bisect
import dataclasses
import datetime as dt
import hashlib
import json
import marshal
import math
import re
import zlib
from dataclasses import dataclass
from operator import getitem
from typing import Callable, Container, Iterable, Mapping, Sequence

import numpy as np
from isal import igzip

from site_src.gcpause import collector_paused
from site_src.search.tokenize import GROUP_PATTERN, fold, group_query_term, group_terms, index_terms  # noqa: F401 - tests use index.index_terms

FORMAT_VERSION = 2
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
COMPRESS_LEVEL = 3
"""ISA-L level (0-3): 10x faster than zlib's level 9 here, files about 3% larger."""


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
    return igzip.compress(raw, COMPRESS_LEVEL, mtime=0)


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
    # By one string, the date's day number (fixed width) then the slug: the order of the
    # pairs (date, slug), with string comparisons in C instead of tuples' (0.16 -> 0.07
    # CPU-s at 100k documents).
    return sorted(documents, key=lambda d: f"{(d.date or dt.date.min).toordinal():07d}{d.slug or d.url}")


# A document is tokenized as one string: every text is followed by TEXT_END (it takes
# FIELD_GAP positions) and every field by FIELD_END (no position). Neither character is
# a word character, a hyphen, a dot, cased or a combining mark, so folding and splitting the
# joined string gives exactly the groups of folding and splitting each text alone.
_TEXT_END, _FIELD_END = "\x01", "\x02"
_DOC_GROUPS = re.compile(GROUP_PATTERN + "|[\x01\x02]")
# ASCII documents (nearly all) skip the regex: a byte table lower-cases letters and turns
# every byte that can never be inside a word group into a space, and bytes.split() cuts the
# rest into chunks. A chunk is one or more word groups (a hyphen or dot that does not join
# two words stays inside the chunk); _Chunks splits it with the real pattern once.
_KEPT = b"abcdefghijklmnopqrstuvwxyz0123456789.-\x01\x02"
_ASCII_TABLE = bytes(c + 32 if 65 <= c <= 90 else c if c in _KEPT else 32 for c in range(256))
_GROUPS_OF = re.compile(GROUP_PATTERN).findall
_N_FIELDS = len(FIELDS)
BATCH_MIN, BATCH_MAX, BATCH_DIV = 64, 1024, 256
"""Documents are tokenized and encoded in batches: a batch ends after a document whose
slug's CRC-32 is a multiple of BATCH_DIV once it holds BATCH_MIN documents (or at BATCH_MAX): about 320 documents.
The cuts depend only on the slugs, so adding or editing a paper changes the batch it falls
in and leaves the others, which update_index then takes from its memo (smaller batches:
less to tokenize again, more pieces to join). Batches also bound memory and keep each
array under malloc's mmap threshold, so later batches reuse freed heap memory instead of
page-faulting fresh memory (the first build in a process was 1.5x slower with 8,192)."""
SEGMENT_LEVELS = ("base", "mid", "tail")
SEGMENT_STEPS = (32, 4)
"""The term shards are built per segment, a run of whole batches: the base holds the
largest multiple of 32 batches, the mid segment the largest multiple of 4 after it, the
tail the rest; the last two batches are always in the tail, where a digest's papers
(the newest) land. Membership follows from the batch count alone, so a clean build makes
the same segments as a chain of updates. A digest rewrites the tail's shards and leaves the
others; every 4 batches (~1,300 papers) the tail merges into the mid segment, every 32
(~10,000 papers) everything merges into the base. A query reads each segment's
vocabulary shard and postings file for a term (at most three of each)."""
COMMENT_CHUNK = 4096
"""Documents per comment-count file (fetched only to sort by comments). Comment counts are
not in the postings, so a paper seen again with new comments changes one such file."""
_KEY_BITS = 62
"""Room in an int64 sort key for (term, document, field, position)."""


def _texts(doc: SearchDocument, topic_names: dict[str, str]) -> list[list[str]]:
    """The texts of each field of DOC, in FIELDS order."""
    return [
        [doc.title],
        [topic_names[t] for t in doc.topics if t in topic_names],
        list(doc.authors),
        [doc.arxiv_id] if doc.arxiv_id else [],
        [doc.abstract],
    ]


def _joined(texts: list[list[str]]) -> str:
    return "".join(" \x01 ".join(field) + " \x01 \x02 " if field else "\x02 " for field in texts)


def document_chunks(doc: SearchDocument, topic_names: dict[str, str]) -> list[str] | list[bytes]:
    """Cut one document (every field, separators between them) into the chunks _Chunks numbers."""
    texts = _texts(doc, topic_names)
    text = _joined(texts)
    if text.count(_TEXT_END) != sum(map(len, texts)) or text.count(_FIELD_END) != _N_FIELDS:
        # A text contains a separator character: make it a space (which it is to the
        # tokenizer anyway) so it cannot act as a separator.
        text = _joined([[t.replace(_TEXT_END, " ").replace(_FIELD_END, " ") for t in field] for field in texts])
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE).split()
    return _DOC_GROUPS.findall(fold(text))


_TABLES = ("width", "field_end", "emit_start", "emit_count", "query_start", "query_count",
           "emit_term", "emit_offset", "query_term")


class _Chunks(dict):
    """{chunk: id} for document chunks (str, or bytes when ASCII); a new chunk is analysed on first lookup.

    Per chunk id the tables hold the positions it takes, whether it ends a field, its
    emitted terms (a slice of emit_term/emit_offset) and its query terms (a slice of
    query_term; they count the distinct words of a title).
    """

    def __init__(self) -> None:
        super().__init__()
        self.terms: dict[str, int] = {}
        self.query_terms: dict[str, int] = {}
        self.lists: dict[str, list[int]] = {name: [] for name in _TABLES}
        self._arrays: dict[str, np.ndarray] = {name: np.zeros(0, dtype=np.int64) for name in _TABLES}

    def __missing__(self, chunk: str | bytes) -> int:
        text = chunk.decode("ascii") if isinstance(chunk, bytes) else chunk
        lists = self.lists
        cid = self[chunk] = len(lists["width"])
        emit_term, query_term = lists["emit_term"], lists["query_term"]
        lists["emit_start"].append(len(emit_term))
        lists["query_start"].append(len(query_term))
        width = FIELD_GAP if text == _TEXT_END else 0
        plain = text.isalnum() and text.isascii()  # one word: the usual chunk
        for group in ((text,) if plain else _GROUPS_OF(text)):
            emitted, group_width = group_terms(group)
            for term, offset in emitted:
                emit_term.append(self.terms.setdefault(term, len(self.terms)))
                lists["emit_offset"].append(width + offset)
            query = group_query_term(group)
            if query is not None:
                query_term.append(self.query_terms.setdefault(query, len(self.query_terms)))
            width += group_width
        lists["width"].append(width)
        lists["field_end"].append(1 if text == _FIELD_END else 0)
        lists["emit_count"].append(len(emit_term) - lists["emit_start"][-1])
        lists["query_count"].append(len(query_term) - lists["query_start"][-1])
        return cid

    def tables(self) -> dict[str, np.ndarray]:
        """The tables as arrays (only entries added since the last call are converted)."""
        for name, values in self.lists.items():
            known = self._arrays[name]
            if len(values) > len(known):
                self._arrays[name] = np.concatenate([known, np.array(values[len(known):], dtype=np.int64)])
        return self._arrays


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.cumsum(values, dtype=np.int64)
    out -= values
    return out


def _varint_columns(values: np.ndarray, rows: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill ROWS (one per value, one column per byte) with LEB128 bytes; return the byte counts.

    VALID marks the bytes in use; ROWS must have enough columns for the largest value.
    """
    sizes = np.ones(len(values), dtype=np.int64)
    valid[:, 0] = True
    for j in range(rows.shape[1]):
        column = (values >> (7 * j)).astype(np.uint8) & 0x7F
        if j + 1 < rows.shape[1]:
            more = values >= (1 << (7 * (j + 1)))
            column |= more.view(np.uint8) << 7
            valid[:, j + 1] = more
            sizes += more
        rows[:, j] = column
    return sizes


def _varint_width(values: np.ndarray) -> int:
    """Bytes of the longest LEB128 varint among VALUES."""
    return max(1, (int(values.max(initial=0)).bit_length() + 6) // 7)


def _varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Encode VALUES as concatenated LEB128 varints; also return where each one starts."""
    width = _varint_width(values)
    rows = np.empty((len(values), width), dtype=np.uint8)
    valid = np.empty((len(values), width), dtype=bool)
    sizes = _varint_columns(values, rows, valid)
    return rows[valid], _exclusive_cumsum(sizes)


@dataclass(slots=True)
class _Batch:
    """A batch of documents as arrays: chunk ids and per-document facts."""

    stream: np.ndarray
    sizes: np.ndarray
    """Chunks per document."""
    flags: np.ndarray
    """Per document: the flags byte without the in-title bit."""
    tails: np.ndarray
    """Per document: the posting tail bytes after the title-length byte, padded rows."""
    tail_sizes: np.ndarray


@dataclass(frozen=True, slots=True)
class Pieces:
    """One batch of documents, encoded: each of its terms' postings and positions in the batch.

    A term's postings bytes lack the document gap of its first posting (that gap depends
    on the batches before); `first` and `last` are the batch-local documents of its first
    and last posting, so the gap is filled in when the batches are joined.
    """

    n_docs: int
    terms: np.ndarray
    """int32 term ids: into the build's term list, or into IndexMemo.terms once remembered."""
    count: np.ndarray
    """uint16 postings per term (first, last: uint16 too)."""
    first: np.ndarray
    last: np.ndarray
    postings: bytes
    postings_at: np.ndarray
    """uint32 offsets of each term's postings in `postings` (one more than terms)."""
    positions: bytes
    positions_at: np.ndarray


def _encode_documents(docs: Sequence[SearchDocument], chunks: _Chunks, topic_names: dict[str, str],
                      topic_index: dict[str, int]) -> Pieces:
    """Tokenize one batch of documents (numbered from 0) and encode its postings and positions.

    Python turns each document into chunk ids (a byte-table split and one dict lookup per
    chunk); everything per token or per posting runs on arrays.
    """
    chunk_id = chunks.__getitem__
    stream = array.array("q")
    sizes = array.array("q")
    flags = bytearray()
    tails = bytearray()
    tail_sizes = array.array("q")
    for doc in docs:
        pieces = document_chunks(doc, topic_names)
        stream.extend(map(chunk_id, pieces))
        sizes.append(len(pieces))
        topics = [topic_index[t] for t in doc.topics if t in topic_index][:63]
        flags.append((1 if doc.has_code else 0) << 1 | len(topics) << 2)
        start = len(tails)
        for t in topics:
            encode_varint(t, tails)
        tail_sizes.append(len(tails) - start)
    tail_sizes_array = np.frombuffer(tail_sizes, dtype=np.int64)
    width = int(tail_sizes_array.max(initial=0))
    tail_rows = np.zeros((len(tail_sizes_array), width), dtype=np.uint8)
    tail_rows[np.arange(width) < tail_sizes_array[:, None]] = np.frombuffer(bytes(tails), dtype=np.uint8)
    batch = _Batch(np.frombuffer(stream, dtype=np.int64), np.frombuffer(sizes, dtype=np.int64),
                   np.frombuffer(bytes(flags), dtype=np.uint8), tail_rows, tail_sizes_array)
    return _encode_batch(batch, chunks.tables(), len(chunks.terms))


def _sorted_rows(term: np.ndarray, doc: np.ndarray, field: np.ndarray, position: np.ndarray,
                 n_terms: int, n_docs: int) -> tuple[np.ndarray, ...]:
    """Sort term occurrences by (term, document, position); return (term, doc, field, position)."""
    doc_bits = max(1, (n_docs - 1).bit_length())
    position_bits = max(1, int(position.max(initial=0)).bit_length())
    term_bits = max(1, (n_terms - 1).bit_length())
    if term_bits + doc_bits + 3 + position_bits > _KEY_BITS:
        order = np.lexsort((position, doc, term))
        return term[order], doc[order], field[order], position[order]
    # One int64 key per occurrence sorts fastest. A field's positions all come after the
    # previous field's, so the field bits do not change the order.
    key = term << doc_bits
    key |= doc
    key <<= 3
    key |= field
    key <<= position_bits
    key |= position
    key.sort()
    position = key & ((1 << position_bits) - 1)
    key >>= position_bits
    field = key & 7
    key >>= 3
    doc = key & ((1 << doc_bits) - 1)
    key >>= doc_bits
    return key, doc, field, position


def _encode_batch(batch: _Batch, tables: dict[str, np.ndarray], n_terms: int) -> Pieces:
    """Encode one batch of documents: every term's postings and positions in it."""
    stream, sizes = batch.stream, batch.sizes
    n_docs = len(sizes)
    doc_of_chunk = np.repeat(np.arange(n_docs, dtype=np.int64), sizes)
    # Positions and fields restart in every document.
    position = _exclusive_cumsum(tables["width"][stream])
    position -= np.repeat(position[_exclusive_cumsum(sizes)], sizes)
    field = _exclusive_cumsum(tables["field_end"][stream])
    field -= doc_of_chunk * _N_FIELDS
    count = tables["emit_count"][stream]
    lengths = np.bincount(doc_of_chunk * _N_FIELDS + field, weights=count,
                          minlength=n_docs * _N_FIELDS).reshape(n_docs, _N_FIELDS)

    # Title length byte: distinct query terms among the title's chunks.
    title = np.flatnonzero(field == 0)
    n_query = tables["query_count"][stream[title]]
    chosen = np.repeat(title, n_query)
    query = tables["query_term"][tables["query_start"][stream[chosen]] + np.arange(len(chosen))
                                 - np.repeat(_exclusive_cumsum(n_query), n_query)]
    span = len(tables["query_term"]) + 1  # > every query term id
    pairs = np.sort(doc_of_chunk[chosen] * span + query)
    distinct = pairs[np.flatnonzero(np.diff(pairs, prepend=-1))] // span
    title_length = np.minimum(255, np.bincount(distinct, minlength=n_docs))

    # One row per term occurrence: the k-th term of every chunk that has one, k = 0, 1, ...
    emit_start = tables["emit_start"][stream]
    chosen = np.flatnonzero(count)
    parts: list[list[np.ndarray]] = [[], [], [], []]
    k = 0
    while chosen.size:
        emit = emit_start[chosen] + k
        for part, values in zip(parts, (tables["emit_term"][emit], doc_of_chunk[chosen], field[chosen],
                                        position[chosen] + tables["emit_offset"][emit])):
            part.append(values)
        chosen = chosen[count[chosen] > k + 1]
        k += 1
    del stream, doc_of_chunk, position, field, count, emit_start
    term, doc, field, position = _sorted_rows(*(np.concatenate(p) if p else np.zeros(0, np.int64) for p in parts),
                                              n_terms, n_docs)
    n_rows = len(term)
    if not n_rows:
        empty, offsets = np.zeros(0, np.uint16), np.zeros(1, np.uint32)
        return Pieces(n_docs, np.zeros(0, np.int32), empty, empty, empty, b"", offsets, b"", offsets)

    # Postings are runs of equal (term, doc); inside one, runs of equal field.
    new_posting = np.empty(n_rows, dtype=bool)
    new_posting[:1] = True
    np.not_equal(term[1:], term[:-1], out=new_posting[1:])
    new_posting[1:] |= doc[1:] != doc[:-1]
    new_run = new_posting.copy()
    new_run[1:] |= field[1:] != field[:-1]
    starts = np.flatnonzero(new_posting)
    n_postings = len(starts)
    p_term, p_doc = term[starts], doc[starts]
    run_starts = np.flatnonzero(new_run)
    run_field = field[run_starts]
    first_run = np.flatnonzero(new_posting[run_starts])
    runs_per_posting = np.diff(first_run, append=len(run_starts))

    # Impacts: the same float operations, in the same order, as impact() (fields in order,
    # starting from 0.0), so the bytes match a plain per-term loop.
    k1_plus = K1 + 1.0
    norms = np.empty((n_docs, _N_FIELDS))
    weights = np.empty(_N_FIELDS)
    for f, (weight, typical, b) in enumerate(FIELDS.values()):
        norms[:, f] = K1 * ((1.0 - b) + b * lengths[:, f] / typical)
        weights[f] = weight
    tf = np.diff(run_starts, append=n_rows).astype(np.float64)
    run_doc = np.repeat(p_doc, runs_per_posting)
    contribution = weights[run_field] * tf * k1_plus / (tf + norms[run_doc, run_field])
    score = contribution[first_run]
    chosen = np.flatnonzero(runs_per_posting > 1)
    k = 1
    while chosen.size:
        score[chosen] += contribution[first_run[chosen] + k]
        chosen = chosen[runs_per_posting[chosen] > k + 1]
        k += 1
    quantised = np.clip(np.rint(score * (255 / IMPACT_SCALE)), 1, 255).astype(np.uint8)
    in_title = (run_field[first_run] == 0).astype(np.uint8)

    # Postings rows: doc gap, impact, flags, title length, then the document's tail. A term's
    # first posting in the batch gets its gap when the batches are joined.
    first_of_term = np.flatnonzero(np.diff(p_term, prepend=-1))
    gap = np.empty(n_postings, dtype=np.int64)
    gap[1:] = p_doc[1:] - p_doc[:-1]
    gap[first_of_term] = 0
    gap_width = _varint_width(gap)
    tail_width = batch.tails.shape[1]
    rows = np.empty((n_postings, gap_width + 3 + tail_width), dtype=np.uint8)
    valid = np.ones(rows.shape, dtype=bool)
    gap_sizes = _varint_columns(gap, rows[:, :gap_width], valid[:, :gap_width])
    valid[first_of_term, :gap_width] = False
    gap_sizes[first_of_term] = 0
    rows[:, gap_width] = quantised
    rows[:, gap_width + 1] = batch.flags[p_doc] | in_title
    rows[:, gap_width + 2] = title_length[p_doc]
    rows[:, gap_width + 3:] = batch.tails[p_doc]
    valid[:, gap_width + 3:] = np.arange(tail_width) < batch.tail_sizes[p_doc][:, None]
    block = rows[valid]
    block_at = _exclusive_cumsum(gap_sizes + 3 + batch.tail_sizes[p_doc])
    del rows, valid

    # Positions: per posting, the count, then the gaps between positions.
    values = np.empty(n_rows + n_postings, dtype=np.int64)
    count_at = starts + np.arange(n_postings)
    values[count_at] = np.diff(starts, append=n_rows)
    gaps = position.copy()
    gaps[1:] -= position[:-1]
    gaps[starts] = position[starts]
    values[np.arange(n_rows) + np.cumsum(new_posting)] = gaps
    positions, positions_at = _varints(values)
    positions_at = positions_at[count_at]

    # Each term's slice of both.
    cuts = np.append(first_of_term, n_postings)
    ends = cuts[1:]
    # Compact types: the memo keeps these for every batch (a batch is under 2**16 documents).
    return Pieces(n_docs, p_term[first_of_term].astype(np.int32), (ends - first_of_term).astype(np.uint16),
                  p_doc[first_of_term].astype(np.uint16), p_doc[ends - 1].astype(np.uint16),
                  block.tobytes(), np.append(block_at, len(block))[cuts].astype(np.uint32),
                  positions.tobytes(), np.append(positions_at, len(positions))[cuts].astype(np.uint32))


_SMALL_VARINTS = [bytes([n]) if n < 0x80 else bytes([(n & 0x7F) | 0x80, n >> 7]) for n in range(1 << 14)]


def _varint(value: int) -> bytes:
    """VALUE (>= 0) as a LEB128 varint."""
    if value < 1 << 14:
        return _SMALL_VARINTS[value]
    out = bytearray()
    encode_varint(value, out)
    return bytes(out)


def _term_head(term: str, count: int) -> bytes:
    """The start of a term's entry in a postings or positions file: the term and its posting count."""
    raw = term.encode()
    return _varint(len(raw)) + raw + _varint(count)


def _cut_after(term: str, size: int, minimum: int, maximum: int, divisor: int) -> bool:
    """Content-defined boundary: stable under edits elsewhere in the term list."""
    if size >= maximum:
        return True
    return size >= minimum and zlib.crc32(term.encode()) % divisor == 0


def _split_ranges(sizes: Sequence[int], terms: Sequence[str], minimum: int, maximum: int,
                  divisor: int) -> list[tuple[int, int]]:
    """Cut a run of terms (with their sizes) into groups; return each group's (start, stop)."""
    groups: list[tuple[int, int]] = []
    start = size = 0
    for i, (term, term_size) in enumerate(zip(terms, sizes)):
        # A term that would overflow the group starts a new one: a small term must not drag
        # a big neighbour's postings into every query that needs it.
        if i > start and size + term_size > maximum:
            groups.append((start, i))
            start, size = i, 0
        size += term_size
        if _cut_after(term, size, minimum, maximum, divisor):
            groups.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(terms):
        groups.append((start, len(terms)))
    return groups


def _shared_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    i = 0
    while a[i] == b[i]:
        i += 1
    return i


@dataclass(frozen=True, eq=False)
class SegmentMemo:
    """What update_index remembers of one segment: its encoded batches and shard names.

    Compared by identity: a segment whose files are unchanged keeps its memo object, so
    the build cache can tell it need not be saved again.
    """

    terms: tuple[str, ...]
    """The segment's vocabulary, sorted: Pieces.terms index it."""
    batches: dict[bytes, Pieces]
    """Batch key (hash of its documents' keys) -> the batch encoded."""
    signatures: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.uint64))
    """Per term, a 64-bit hash of what its postings and positions blocks are made of."""
    vocab_shards: dict[str, tuple[str, int, str, tuple[str, ...]]] = dataclasses.field(default_factory=dict)
    """First term of a vocabulary shard -> (last term, number of terms, hash, first term of each postings file)."""
    groups: dict[str, tuple[str, int, str, str]] = dataclasses.field(default_factory=dict)
    """First term of a postings file -> (last term, number of terms, postings hash, positions hash)."""
    order: tuple[bytes, ...] = ()
    """The key of each batch, in order: batches of the same content make the same files."""
    vocab: tuple[tuple[str, str], ...] = ()
    """The manifest's (first term, hash) of each vocabulary shard."""
    files: tuple[str, ...] = ()
    """Destinations of the segment's vocabulary, postings and positions files."""


_NO_SEGMENT = SegmentMemo((), {})


class SegmentOnDisk:
    """A SegmentMemo known by its order, vocab and files, the rest read when first asked for.

    update_index tells an unchanged segment by those three alone, so after a digest the base
    segment's memo (~90% of the index memo at 100k papers) is never unpickled. `load()`
    returns the whole SegmentMemo, or None when the file is gone or is another build's: the
    segment then counts as unknown (empty order, files and vocab), which is always right.
    """

    def __init__(self, order: tuple[bytes, ...], vocab: tuple, files: tuple[str, ...],
                 load: Callable[[], SegmentMemo | None]) -> None:
        self.order, self.vocab, self.files, self._load = order, vocab, files, load

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "_load":
            raise AttributeError(name)
        memo = self.__dict__.get("_memo")
        if memo is None:
            memo = self._load()
            if not isinstance(memo, SegmentMemo) or (memo.order, memo.vocab, memo.files) != (
                    self.order, self.vocab, self.files):
                memo = _NO_SEGMENT
                self.order, self.vocab, self.files = (), (), ()
            self._memo = memo
        return getattr(memo, name)


@dataclass(frozen=True, eq=False)
class IndexMemo:
    """What update_index remembers from one build for the next: per segment, encoded batches
    and shard names; metadata and comment chunk names.

    Picklable and compact: arrays and bytes (about the size of the uncompressed postings
    and positions files), no per-token Python objects.
    """

    settings: str
    """Hash of what every shard depends on besides the documents (format, topics, data_dir)."""
    segments: dict[str, SegmentMemo]
    """Segment level (SEGMENT_LEVELS) -> what its last build made."""
    meta: dict[bytes, str]
    """Metadata chunk key (its documents' keys) -> the chunk's shard hash."""
    aliases: dict[bytes, bytes] = dataclasses.field(default_factory=dict)
    """Batch key -> the key a segment's memo knows a batch of the same content by (a batch
    made again with the same postings, in a segment otherwise unchanged)."""
    text_keys: dict[bytes, bytes] = dataclasses.field(default_factory=dict)
    """Document key -> its text key (document_key without the comment count, which only the
    metadata and comment files hold): batches are keyed by text keys, so a paper listed again
    with new comments leaves its batch, and its segment's memo file, as they are."""


MEMO_VERSION = 4
"""Bump when the memo's layout or meaning changes (older memos are then ignored)."""


def _settings_key(topics: Sequence[SearchTopic], data_dir: str) -> str:
    material = repr((MEMO_VERSION, FORMAT_VERSION, FIELDS, K1, IMPACT_SCALE, FIELD_GAP, META_CHUNK, META_DIR,
                     ABSTRACT_LIMIT, AUTHOR_LIMIT, BATCH_MIN, BATCH_MAX, BATCH_DIV, SEGMENT_STEPS,
                     COMMENT_CHUNK, data_dir,
                     [(t.id, t.name, t.parent, t.url) for t in topics]))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def document_key(doc: SearchDocument) -> bytes:
    """Return a 16-byte hash of everything the index takes from one document."""
    fields = (doc.url, doc.title, doc.abstract, tuple(doc.authors), doc.arxiv_id, tuple(doc.topics),
              doc.date.toordinal() if doc.date else None, doc.comments, doc.has_code, doc.slug)
    try:
        data = marshal.dumps(fields)
    except ValueError:  # an unusual value (a str subclass, ...): its repr still says it all
        data = repr(fields).encode("utf-8", "surrogatepass")
    return hashlib.sha1(data).digest()[:16]  # SHA-1 runs on the CPU's SHA instructions here


def text_key(doc: SearchDocument) -> bytes:
    """document_key without the comment count: what a batch's postings and positions depend on
    (a document's id comes from its place among the batches, not from this key)."""
    if not isinstance(doc, SearchDocument):  # (a stand-in that makes its document when read)
        doc = doc.document()
    return document_key(dataclasses.replace(doc, comments=None))


def keys_of_batches(keys: Sequence[bytes], bounds: list[int]) -> list[bytes]:
    """Key of each batch: a hash of its documents' (text) keys, in order."""
    ends = bounds[1:] + [len(keys)]
    return [hashlib.blake2b(b"".join(keys[start:stop]), digest_size=16).digest()
            for start, stop in zip(bounds, ends)]


def batch_bounds(ordered: Sequence[SearchDocument]) -> list[int]:
    """Return where each batch of documents starts (content-defined cuts, see BATCH_DIV)."""
    bounds = [0]
    size = 0
    for i, doc in enumerate(ordered):
        size += 1
        if size >= BATCH_MAX or (size >= BATCH_MIN
                                 and zlib.crc32((doc.slug or doc.url).encode("utf-8", "surrogatepass"))
                                 % BATCH_DIV == 0):
            bounds.append(i + 1)
            size = 0
    if bounds[-1] != len(ordered):
        bounds.append(len(ordered))
    return bounds[:-1] if len(bounds) > 1 else []


def segment_ranges(n_batches: int) -> list[tuple[str, int, int]]:
    """Return (level, first batch, end batch) of each non-empty segment (see SEGMENT_STEPS)."""
    if n_batches <= 0:
        return []
    settled = n_batches - 2  # the last two batches stay in the tail
    ranges = []
    lo = 0
    for level, step in zip(SEGMENT_LEVELS, SEGMENT_STEPS):
        cut = max(0, settled // step * step)
        if cut > lo:
            ranges.append((level, lo, cut))
            lo = cut
    ranges.append((SEGMENT_LEVELS[-1], lo, n_batches))
    return ranges


def build_index(documents: Iterable[SearchDocument], topics: Sequence[SearchTopic] = (),
                data_dir: str = DATA_DIR) -> dict[str, bytes]:
    """Return every index file, keyed by its destination relative to the site root."""
    files, _ = update_index(documents, topics, data_dir=data_dir, remember=False)
    return files  # type: ignore[return-value]  # nothing is 'existing', so every value is bytes


def update_index(documents: Iterable[SearchDocument], topics: Sequence[SearchTopic] = (),
                 memo: IndexMemo | None = None, *, existing: Container[str] = frozenset(),
                 data_dir: str = DATA_DIR, remember: bool = True,
                 keys: Mapping[str, bytes] | None = None) -> tuple[dict[str, bytes | None], IndexMemo | None]:
    """Return (every index file, the memo for the next build), reusing what `memo` remembers.

    The files are the same as build_index's, except that a content-hashed shard whose
    destination is in `existing` (what the previous build wrote) maps to None: its bytes
    are unchanged, the caller keeps the file. Only batches of documents that changed are
    tokenized again, and only new shards are compressed. remember=False returns no memo.
    `keys` (slug -> 16 bytes that change whenever the document does) replace
    document_key for the documents they name: hashing 100k documents' text costs ~0.7 s.
    """
    ordered = order_documents(documents)
    topic_index = {t.id: i for i, t in enumerate(topics)}
    topic_names = {t.id: t.name for t in topics}
    settings = _settings_key(topics, data_dir)
    if memo is None or not isinstance(memo, IndexMemo) or memo.settings != settings:
        memo = IndexMemo(settings, {}, {})
    outputs: dict[str, bytes | None] = {}

    def emit(kind: str, raw: bytes) -> str:
        name = shard_name(kind, raw)
        dest = f"{data_dir}/{name}"
        outputs[dest] = None if dest in existing else compress(raw)
        return name[2:2 + HASH_LENGTH]

    with collector_paused():
        # Looked up with map() and filled in only where missing: these run over every
        # document, and a Python loop each cost ~0.1 CPU-s at 100k documents.
        keys = list(map((keys or {}).get, [doc.slug for doc in ordered]))
        if not all(keys):
            keys = [key or document_key(doc) for key, doc in zip(keys, ordered)]
        text_keys = list(map(memo.text_keys.get, keys))
        if not all(text_keys):
            text_keys = [known or text_key(doc) for known, doc in zip(text_keys, ordered)]
        bounds = batch_bounds(ordered)
        segments = []
        segment_memos: dict[str, SegmentMemo] = {}
        aliases: dict[bytes, bytes] = {}
        for level, b_lo, b_hi in segment_ranges(len(bounds)):
            lo = bounds[b_lo]
            hi = bounds[b_hi] if b_hi < len(bounds) else len(ordered)
            vocab, made, known_as = _segment_files(
                ordered[lo:hi], text_keys[lo:hi], [b - lo for b in bounds[b_lo:b_hi]], topic_names, topic_index,
                memo.segments.get(level, _NO_SEGMENT), memo.aliases, emit, outputs, existing, data_dir)
            aliases.update(known_as)
            segments.append({"start": lo, "docs": hi - lo, "vocab": vocab})
            segment_memos[level] = made
        new_memo = IndexMemo(settings, segment_memos, {}, aliases, dict(zip(keys, text_keys))) if remember else None
        del segment_memos, text_keys

        chunk_hashes = []
        known_meta = memo.meta
        meta_memo: dict[bytes, str] = {}
        for start in range(0, len(ordered), META_CHUNK):
            key = b"".join(keys[start:start + META_CHUNK])
            name = known_meta.get(key)
            if name is None or f"{data_dir}/m-{name}.bin" not in existing:
                chunk = ",".join([_meta_json(doc, topic_index) for doc in ordered[start:start + META_CHUNK]])
                name = emit("m", f"[{chunk}]".encode())
            else:
                outputs[f"{data_dir}/m-{name}.bin"] = None
            meta_memo[key] = name
            chunk_hashes.append(name)
        if new_memo is not None:
            new_memo.meta.update(meta_memo)
        directories = [emit("d", "".join(chunk_hashes[i:i + META_DIR]).encode())
                       for i in range(0, len(chunk_hashes), META_DIR)]
        comments = np.maximum(np.array([doc.comments or 0 for doc in ordered], dtype=np.int64), 0)
        comment_files = []
        for start in range(0, len(ordered), COMMENT_CHUNK):
            values, _ = _varints(comments[start:start + COMMENT_CHUNK])
            comment_files.append(emit("c", values.tobytes()))

    depth = data_dir.strip("/").count("/") + 1
    manifest = {
        "format": FORMAT_VERSION,
        "docs": len(ordered),
        "root": "../" * depth,
        "metaChunk": META_CHUNK,
        "metaDir": META_DIR,
        "commentChunk": COMMENT_CHUNK,
        "hashLength": HASH_LENGTH,
        "impactScale": IMPACT_SCALE,
        "years": _year_starts(ordered),
        "topics": [{"id": t.id, "name": t.name, "url": t.url,
                    "parent": topic_index.get(t.parent) if t.parent else None} for t in topics],
        "segments": segments,
        "dirs": directories,
        "comments": comment_files,
    }
    outputs[f"{data_dir}/manifest.json"] = (
        json.dumps(manifest, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    return outputs, new_memo


def _segment_files(ordered: Sequence[SearchDocument], keys: Sequence[bytes], bounds: list[int],
                   topic_names: dict[str, str], topic_index: dict[str, int], memo: SegmentMemo,
                   aliases: Mapping[bytes, bytes], emit, outputs: dict[str, bytes | None],
                   existing: Container[str], data_dir: str,
                   ) -> tuple[list[list[str]], SegmentMemo, dict[bytes, bytes]]:
    """Make one segment's vocabulary shards, postings and positions files (documents numbered
    from the segment's first): return the manifest's [[first term, shard hash], ...], the
    segment's memo and the batch aliases it needs. `emit(kind, raw)` names and records a new file."""
    keyed = keys_of_batches(keys, bounds)
    if (memo.order and len(keyed) == len(memo.order) and all(dest in existing for dest in memo.files)
            and all(key == old or aliases.get(key) == old for key, old in zip(keyed, memo.order))):
        # The same batches in the same order (the base and mid segments after a digest): the
        # same files and the same memo, told from the batch keys alone (see SegmentOnDisk).
        outputs.update(dict.fromkeys(memo.files))
        return [list(v) for v in memo.vocab], memo, {key: old for key, old in zip(keyed, memo.order) if key != old}
    batches, fresh, batch_keys, found = _batches(ordered, keys, bounds, topic_names, topic_index, memo, aliases)
    known_as = _same_batches(batches, fresh, batch_keys, found, memo, aliases)
    if known_as is not None and all(dest in existing for dest in memo.files):
        # Batches with the same content in the same order (the base and mid segments after a
        # digest, unless a paper in them changed its text): the same files, nothing to join,
        # and the same memo (a batch made again is known by its old key: an alias).
        outputs.update(dict.fromkeys(memo.files))
        return [list(v) for v in memo.vocab], memo, known_as
    terms, batches, was = _common_terms(batches, fresh, memo.terms, found)
    joined = _Joined(batches, batch_keys, len(terms), was)
    batches = dict(zip(batch_keys, batches))
    # A term whose blocks are made of the same pieces with the same gaps as last time has
    # the same bytes; a shard whose terms are the same ones, all unchanged, is unchanged.
    # (A term only fresh batches hold has new pieces: it counts as changed.)
    was = joined.was
    same = (was >= 0) & (memo.signatures[np.maximum(was, 0)] == joined.signatures
                         if len(memo.signatures) == len(memo.terms) > 0 else np.zeros(len(terms), bool))
    changed_before = np.concatenate([[0], np.cumsum(~same)]).tolist()
    del was

    def unchanged(lo: int, hi: int, known: tuple | None) -> bool:
        return (known is not None and known[0] == terms[hi - 1] and known[1] == hi - lo
                and changed_before[hi] == changed_before[lo])

    post_len, counts = joined.post_len.tolist(), joined.counts.tolist()
    vocab_sizes = [len(t.encode()) + 4 for t in terms]
    vocab: list[list[str]] = []
    vocab_shards: dict[str, tuple[str, int, str, tuple[str, ...]]] = {}
    groups_memo: dict[str, tuple[str, int, str, str]] = {}
    for lo, hi in _split_ranges(vocab_sizes, terms, VOCAB_MIN, VOCAB_MAX, VOCAB_DIV):
        known = memo.vocab_shards.get(terms[lo])
        if unchanged(lo, hi, known):
            # Same terms with the same sizes: the same postings files inside.
            inside = {first: memo.groups.get(first) for first in known[3]}
            kept = [f"{data_dir}/v-{known[2]}.bin"] + [
                f"{data_dir}/{kind}-{group[at]}.bin" for group in inside.values() if group is not None
                for kind, at in (("p", 2), ("q", 3))]
            if None not in inside.values() and all(dest in existing for dest in kept):
                outputs.update(dict.fromkeys(kept))
                vocab.append([terms[lo], known[2]])
                vocab_shards[terms[lo]] = known
                groups_memo.update(inside)
                continue
        posting_sizes = [post_len[i] + len(terms[i]) + 6 for i in range(lo, hi)]
        files = bytearray()
        file_of: dict[int, int] = {}
        groups = _split_ranges(posting_sizes, terms[lo:hi], POSTINGS_MIN, POSTINGS_MAX, POSTINGS_DIV)
        files += _varint(len(groups))
        for file_number, (g_lo, g_hi) in enumerate(groups):
            g_lo, g_hi = lo + g_lo, lo + g_hi
            for i in range(g_lo, g_hi):
                file_of[i] = file_number
            group = memo.groups.get(terms[g_lo])
            if (unchanged(g_lo, g_hi, group) and f"{data_dir}/p-{group[2]}.bin" in existing
                    and f"{data_dir}/q-{group[3]}.bin" in existing):
                outputs[f"{data_dir}/p-{group[2]}.bin"] = None
                outputs[f"{data_dir}/q-{group[3]}.bin"] = None
                p_hash, q_hash = group[2], group[3]
            else:
                p_raw, q_raw = [_varint(g_hi - g_lo)], [_varint(g_hi - g_lo)]
                for i in range(g_lo, g_hi):
                    block, held = joined.blocks(i)
                    head = _term_head(terms[i], counts[i])
                    p_raw += (head, _varint(len(block)), block)
                    q_raw += (head, _varint(len(held)), held)
                p_hash = emit("p", b"".join(p_raw))
                q_hash = emit("q", b"".join(q_raw))
            groups_memo[terms[g_lo]] = (terms[g_hi - 1], g_hi - g_lo, p_hash, q_hash)
            files += p_hash.encode()
            files += q_hash.encode()
        raw = [bytes(files), _varint(hi - lo)]
        previous = b""
        for i in range(lo, hi):
            current = terms[i].encode()
            shared = _shared_prefix(previous, current)
            raw += (_varint(shared), _varint(len(current) - shared), current[shared:],
                    _varint(counts[i]), _varint(file_of[i]))
            previous = current
        v_hash = emit("v", b"".join(raw))
        vocab_shards[terms[lo]] = (terms[hi - 1], hi - lo, v_hash, tuple(terms[lo + g] for g, _ in groups))
        vocab.append([terms[lo], v_hash])
    files = tuple([f"{data_dir}/v-{v_hash}.bin" for _, v_hash in vocab]
                  + [f"{data_dir}/{kind}-{group[at]}.bin" for group in groups_memo.values()
                     for kind, at in (("p", 2), ("q", 3))])
    return vocab, SegmentMemo(tuple(terms), batches, joined.signatures, vocab_shards, groups_memo,
                              tuple(batch_keys), tuple(map(tuple, vocab)), files), {}


def _same_batches(batches: list[Pieces], fresh: list[bool], batch_keys: list[bytes], found: Sequence[str],
                  memo: SegmentMemo, aliases: Mapping[bytes, bytes]) -> dict[bytes, bytes] | None:
    """If the batches are those of the memo's segment, in its order, by key or by content,
    return {key: the memo's key} for those it knows by another key; else None."""
    if not memo.order or len(batch_keys) != len(memo.order):
        return None
    known_as = {}
    for pieces, is_fresh, key, old in zip(batches, fresh, batch_keys, memo.order):
        if key == old:
            continue
        if aliases.get(key) == old or (is_fresh and _same_content(pieces, found, memo.batches[old], memo.terms)):
            known_as[key] = old
        else:
            return None
    return known_as


def _same_content(a: Pieces, a_terms: Sequence[str], b: Pieces, b_terms: Sequence[str]) -> bool:
    """Whether two encoded batches hold the same postings and positions (their terms may be
    numbered, and so ordered, differently)."""
    if (a.n_docs, len(a.terms), len(a.postings), len(a.positions)) != \
            (b.n_docs, len(b.terms), len(b.postings), len(b.positions)):
        return False
    names_a = np.array([a_terms[i] for i in a.terms.tolist()])
    names_b = np.array([b_terms[i] for i in b.terms.tolist()])
    order_a, order_b = np.argsort(names_a, kind="stable"), np.argsort(names_b, kind="stable")
    if not np.array_equal(names_a[order_a], names_b[order_b]):
        return False
    if not all(np.array_equal(x[order_a], y[order_b]) for x, y in
               ((a.count, b.count), (a.first, b.first), (a.last, b.last))):
        return False

    def in_order(data: bytes, at: np.ndarray, order: np.ndarray) -> np.ndarray:
        starts, lengths = at[:-1].astype(np.int64)[order], np.diff(at.astype(np.int64))[order]
        index = np.repeat(starts - _exclusive_cumsum(lengths), lengths) + np.arange(int(lengths.sum()))
        return np.frombuffer(data, dtype=np.uint8)[index]

    return (np.array_equal(in_order(a.postings, a.postings_at, order_a), in_order(b.postings, b.postings_at, order_b))
            and np.array_equal(in_order(a.positions, a.positions_at, order_a),
                               in_order(b.positions, b.positions_at, order_b)))


def _postings(ordered: Sequence[SearchDocument], keys: Sequence[bytes], bounds: list[int],
              topic_names: dict[str, str], topic_index: dict[str, int], memo: SegmentMemo,
              ) -> tuple[list[str], _Joined]:
    """Return (the sorted terms, their postings and positions) of documents in batches."""
    batches, fresh, batch_keys, found = _batches(ordered, keys, bounds, topic_names, topic_index, memo, {})
    terms, batches, was = _common_terms(batches, fresh, memo.terms, found)
    return terms, _Joined(batches, batch_keys, len(terms), was)


def _batches(ordered: Sequence[SearchDocument], keys: Sequence[bytes], bounds: list[int],
             topic_names: dict[str, str], topic_index: dict[str, int], memo: SegmentMemo,
             aliases: Mapping[bytes, bytes]) -> tuple[list[Pieces], list[bool], list[bytes], list[str]]:
    """Return the batches (encoded), whether each is fresh, their keys, and the terms fresh
    batches number theirs in.

    Batches the memo holds (by their key or an alias of it) are reused; the others are
    tokenized and encoded.
    """
    chunks = _Chunks()
    batches: list[Pieces] = []
    fresh: list[bool] = []
    batch_keys: list[bytes] = []
    for start, stop in zip(bounds, bounds[1:] + [len(ordered)]):
        key = hashlib.blake2b(b"".join(keys[start:stop]), digest_size=16).digest()
        known = memo.batches.get(key)
        if known is None and key in aliases:
            known = memo.batches.get(aliases[key])
        batch_keys.append(key)
        fresh.append(known is None)
        batches.append(known if known is not None else
                       _encode_documents(ordered[start:stop], chunks, topic_names, topic_index))
    found = list(chunks.terms)
    del chunks
    return batches, fresh, batch_keys, found


def _common_terms(batches: list[Pieces], fresh: list[bool], known: Sequence[str],
                  found: list[str]) -> tuple[list[str], list[Pieces], np.ndarray]:
    """Number every batch's terms in one sorted vocabulary.

    Remembered batches number theirs in `known` (the memo's sorted vocabulary), fresh ones
    in `found` (this build's). Returns the vocabulary, the batches renumbered, and per
    term its number in `known` if a remembered batch has it (else -1).
    """
    used_mask = np.zeros(len(known), dtype=bool)
    for batch, is_fresh in zip(batches, fresh):
        if not is_fresh:
            used_mask[batch.terms] = True
    used = np.flatnonzero(used_mask)
    old_terms = [known[i] for i in used.tolist()]  # sorted, as `known` is
    # Few terms are new: find them by bisection and merge two sorted runs.
    where = [bisect.bisect_left(old_terms, t) for t in found]
    n_old = len(old_terms)
    added = sorted({t for t, at in zip(found, where) if at == n_old or old_terms[at] != t})
    terms = sorted(old_terms + added) if added else old_terms
    is_added = np.zeros(len(terms), dtype=bool)
    is_added[[bisect.bisect_left(terms, t) for t in added]] = True
    old_position = np.flatnonzero(~is_added)  # where each of old_terms went
    old_map = np.zeros(len(known), dtype=np.int32)
    old_map[used] = old_position
    new_map = np.array([old_position[at] if at < n_old and old_terms[at] == t else bisect.bisect_left(terms, t)
                        for t, at in zip(found, where)], dtype=np.int32)
    renumbered = [dataclasses.replace(b, terms=(new_map if f else old_map)[b.terms]) for b, f in zip(batches, fresh)]
    was = np.full(len(terms), -1, dtype=np.int64)
    was[old_position] = used
    return terms, renumbered, was


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(values: np.ndarray) -> np.ndarray:
    """Scramble uint64 values (splitmix64's finaliser): nearby inputs give unrelated outputs."""
    values = values ^ (values >> np.uint64(30))
    values *= _M1
    values ^= values >> np.uint64(27)
    values *= _M2
    return values ^ (values >> np.uint64(31))


def _varint_sizes(values: np.ndarray) -> np.ndarray:
    """Bytes of each value (>= 0) as a LEB128 varint."""
    sizes = np.ones(len(values), dtype=np.int64)
    for bits in range(7, 64, 7):
        more = values >= (1 << bits)
        if not more.any():
            break
        sizes += more
    return sizes


class _Joined:
    """The batches joined into every term's postings and positions blocks (built on demand).

    The gap of a term's first posting in a batch is its distance from the term's last
    posting in the batches before (from 0 in the first one). Counts, block lengths and
    signatures come from arrays; the bytes of a term's blocks only when asked for.
    """

    def __init__(self, batches: list[Pieces], batch_keys: list[bytes], n_terms: int, was: np.ndarray) -> None:
        self.was = was
        """Per term, its number in the memo's vocabulary, or -1."""
        if not batches:
            empty = np.zeros(0, np.int64)
            self.counts = self.post_len = self.pos_len = empty
            self.signatures = np.zeros(0, np.uint64)
            self._bounds: list[int] = [0]
            return
        doc_start = np.cumsum([0] + [b.n_docs for b in batches[:-1]])
        lengths = [len(b.terms) for b in batches]
        batch_of = np.repeat(np.arange(len(batches)), lengths)
        term = np.concatenate([b.terms for b in batches]).astype(np.int64)
        order = np.argsort(term * len(batches) + batch_of, kind="stable")
        term, batch_of = term[order], batch_of[order]
        shift = np.repeat(doc_start, lengths)
        first = (np.concatenate([b.first for b in batches]).astype(np.int64) + shift)[order]
        last = (np.concatenate([b.last for b in batches]).astype(np.int64) + shift)[order]
        count = np.concatenate([b.count for b in batches])[order].astype(np.int64)
        # Where each piece's bytes are in its batch.
        post_start = np.concatenate([b.postings_at[:-1] for b in batches]).astype(np.int64)[order]
        post_end = np.concatenate([b.postings_at[1:] for b in batches]).astype(np.int64)[order]
        pos_start = np.concatenate([b.positions_at[:-1] for b in batches]).astype(np.int64)[order]
        pos_end = np.concatenate([b.positions_at[1:] for b in batches]).astype(np.int64)[order]
        post_len, pos_len = post_end - post_start, pos_end - pos_start
        starts = np.flatnonzero(np.diff(term, prepend=-1))
        assert len(starts) == n_terms, "a term of the vocabulary is in no batch"
        previous = np.empty_like(last)
        previous[1:] = last[:-1]
        previous[starts] = 0
        gaps = first - previous
        self.counts = np.add.reduceat(count, starts)
        self.post_len = np.add.reduceat(post_len + _varint_sizes(gaps), starts)
        self.pos_len = np.add.reduceat(pos_len, starts)
        # A term's blocks are fixed by the batches its pieces come from (a batch key fixes
        # its bytes) and their gaps, in order: hash that (64 bits; the shard names trust 48).
        batch_hash = np.array([int.from_bytes(k[:8], "little") for k in batch_keys], dtype=np.uint64)
        rank = np.arange(len(term)) - np.repeat(starts, np.diff(np.append(starts, len(term))))
        piece = _mix(batch_hash[batch_of] ^ _mix(gaps.astype(np.uint64) ^ (rank.astype(np.uint64) << np.uint64(40))))
        self.signatures = np.add.reduceat(piece, starts)
        self._bounds = np.append(starts, len(term)).tolist()
        self._batch = batch_of.tolist()
        self._gaps = gaps.tolist()
        self._post_at = (post_start.tolist(), post_end.tolist())
        self._pos_at = (pos_start.tolist(), pos_end.tolist())
        self._post = [b.postings for b in batches]
        self._pos = [b.positions for b in batches]

    def blocks(self, i: int) -> tuple[bytes, bytes]:
        """Return term i's postings block and positions block."""
        lo, hi = self._bounds[i], self._bounds[i + 1]
        (post_start, post_end), (pos_start, pos_end) = self._post_at, self._pos_at
        if hi - lo == 1:  # most terms are in one batch only
            b = self._batch[lo]
            return (_varint(self._gaps[lo]) + self._post[b][post_start[lo]:post_end[lo]],
                    self._pos[b][pos_start[lo]:pos_end[lo]])
        # A common term has a piece in every batch (hundreds): slice and join them with
        # map(), which loops in C, rather than a Python loop per piece.
        batch = self._batch[lo:hi]
        parts: list = [b""] * (2 * (hi - lo))
        parts[0::2] = list(map(_varint, self._gaps[lo:hi]))
        parts[1::2] = list(map(getitem, map(self._post.__getitem__, batch),
                               map(slice, post_start[lo:hi], post_end[lo:hi])))
        positions = b"".join(map(getitem, map(self._pos.__getitem__, batch),
                                 map(slice, pos_start[lo:hi], pos_end[lo:hi])))
        return b"".join(parts), positions


def _year_starts(ordered: list[SearchDocument]) -> list[list[int | None]]:
    """[[year, first document id], ...] in id order; year None for undated papers."""
    starts: list[list[int | None]] = []
    for doc_id, doc in enumerate(ordered):
        year = doc.date.year if doc.date else None
        if not starts or starts[-1][0] != year:
            starts.append([year, doc_id])
    return starts


_json_string = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses


def _json_number(value: int) -> str:
    return str(value) if type(value) is int else json.dumps(value)


def _meta_json(doc: SearchDocument, topic_index: dict[str, int]) -> str:
    """What a result shows for DOC, as compact JSON: the same text as json.dumps of the dict.

    Keys: u URL, t title, d date, a authors (the first AUTHOR_LIMIT), p topic indexes,
    c comments, s abstract (first ABSTRACT_LIMIT characters), n author count when longer,
    x arXiv id, g has code.
    """
    authors = ",".join(map(_json_string, doc.authors[:AUTHOR_LIMIT]))
    topics = ",".join([str(topic_index[t]) for t in doc.topics if t in topic_index])
    date = doc.date.isoformat() if doc.date else ""
    text = (f'{{"u":{_json_string(doc.url)},"t":{_json_string(doc.title)},"d":"{date}","a":[{authors}],'
            f'"p":[{topics}],"c":{_json_number(doc.comments or 0)},"s":{_json_string(doc.abstract[:ABSTRACT_LIMIT])}')
    if len(doc.authors) > AUTHOR_LIMIT:
        text += f',"n":{len(doc.authors)}'
    if doc.arxiv_id:
        text += f',"x":{_json_string(doc.arxiv_id)}'
    if doc.has_code:
        text += ',"g":1'
    return text + "}"


def idf(df: int, n: int) -> float:
    """BM25 inverse document frequency (the browser computes the same at query time)."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))
