"""Related papers: TF-IDF cosine similarity over title and abstract, with the terms that explain it.

The weights are made to stay put while the corpus grows a little, so that a new digest
changes related lists only where its papers matter, and an update can reuse most of
the last build's work (see RelatedMemo) with exactly the result of a build from scratch:

* a term's inverse document frequency uses, for the corpus size, the corpus size rounded
  down to a power of two (the epoch), and for its document frequency the number of the
  epoch's *reference* papers holding it (the first `epoch` papers by the date first seen:
  new digests do not change them) unless half its whole count is larger, rounded down to
  a power of two (its bucket). A term that spreads with the corpus keeps its weight until
  the corpus doubles; a digest moves the weight of the few terms it makes much more
  common (a new subject) and of rare terms it shares with a paper for the first time;
* weights are whole numbers and vectors fixed-point, so a similarity is an exact integer
  sum, the same whichever way (and in whichever order) it is computed; ties are broken
  by a hash of the term's text and by slug, never by a position that an update shifts;
* each paper keeps its KEEP_TERMS heaviest terms; terms in too many papers are dropped
  (a long tail of weak terms and common words would make the similarity product dense);
* each paper remembers its best candidates (more than k), so after an update only papers
  whose vector changed, and papers that lost too many candidates, are compared with all.

Words are split from the lowered bytes of each text (`bytes.translate` + `split`) and
numbered through one dict; the taxonomy's normalization (plurals, spellings) is applied
once per distinct word. Unigrams and bigrams are counted as integer ids with NumPy and
SciPy (no string per bigram, no per-paper Python loop).
"""
from __future__ import annotations

import hashlib
import itertools
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse

from site_src.gcpause import collector_paused
from site_src.model import Paper
from site_src.taxonomy import normalize_tokens

TOP_K = 5
"""Related papers kept per paper."""
MIN_SCORE = 0.04
"""Cosine below which two papers are not called related (shared boilerplate words only)."""
RELATIVE_FLOOR = 0.4
"""A related paper must reach this share of the paper's best match."""
TITLE_REPEAT = 2
"""The title is counted this many times: it names what the paper is about."""
KEEP_TERMS = 40
"""Heaviest terms kept per paper for the comparison."""
DF_CAP_SHARE = 0.02
DF_CAP_MIN = 200
"""Terms found in more than max(DF_CAP_MIN, DF_CAP_SHARE x epoch) papers (their frequency
bucket above that number's) are too common to relate two papers; at 100k papers ~1,300."""
MIN_DF_TWO_FROM = 1024
"""From this epoch on, terms of a single paper are left out (they cannot relate two papers)."""
BUCKETS_PER_OCTAVE = 1
"""Document frequency buckets per doubling: the weight of a term moves only when its
frequency crosses a bucket boundary, a power of two. Coarse on purpose, as a crossing
changes the vectors of all papers holding the term; yet not coarser: with powers of
four, IDF hardly tells rare from common terms in a small survey (the shipped one)."""
WEIGHT_SCALE = 2 ** 16
"""Term weights are whole numbers: tf x idf x this, rounded."""
VECTOR_SCALE = 2 ** 20
"""Vector components are whole numbers of 1/VECTOR_SCALE: a dot product of two vectors
(at most KEEP_TERMS products below 2^41) is exact in float64."""
TICKS = 10_000
"""Scores are whole numbers of ten-thousandths (rounded to 4 places; kept as int16)."""
SPARE = 10
"""Candidates remembered per paper beyond k, so an update seldom compares it with all again."""
N_TERMS = 3
"""Shared terms shown to explain each match."""
TERM_FLOOR = 0.25
"""A shared term is shown only if it adds at least this share of the strongest one."""
PRODUCT_ROWS = 64
"""Rows whose similarities with all are computed at once (bounds the product's size: at 100k
papers a row has up to ~10k nonzero similarities, 36 bytes each while they are ranked)."""
THRESHOLD_STEP = 16
"""Score steps of the histogram that finds where each row's best candidates end."""
EXPLAIN_CHUNK = 50_000
"""Pairs explained at once: bounds the gathered rows (2 x chunk x KEEP_TERMS values)."""
COUNT_MAX = 65_535
"""Occurrences of a term in one text are counted up to this (kept as uint16)."""
TOKEN_CHUNK = 4096
"""Texts split at once: bounds the short-lived per-word objects."""
TOPN_FROM = 4096
"""From this many rows compared with all, sparse_dot_topn keeps each row's best candidates
while multiplying (a full product would not fit in memory); fewer use SciPy."""

# Words that carry no subject in any English text (function words), written for this site.
_ENGLISH_STOP = frozenset("""
    a about above after again against all almost along already also although always am among
    an and another any anyone anything are around as at be became because become becomes been
    before being below between both but by can cannot could did do does doing done down during
    each either else enough etc even ever every few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just least less many may
    me might mine more most mostly much must my myself neither never nevertheless no nobody none
    nor not nothing now of off often on once one only onto or other others otherwise our ours
    ourselves out over own per perhaps rather same several she should since so some something
    sometimes somewhere still such than that the their theirs them themselves then there
    thereby therefore these they this those though three through throughout thus to together
    too toward towards two under until up upon us very was we were what whatever when whenever
    where whereas whether which while who whoever whole whom whose why will with within without
    would you your yours yourself yourselves
""".split())

# Words that say nothing about a paper's subject in this field, on top of the English
# stop words: they would make every abstract related.
_DOMAIN_STOP = frozenset("""
    propose proposed proposes approach method methods result results show shows shown paper
    work novel new existing state art sota performance perform performs improve improves improved
    improvement achieve achieves use uses using used based demonstrate demonstrates experiment
    experiments experimental extensive significantly significant different various specific
    problem task tasks model models study studies introduce introduces present presents first
    prior recent recently furthermore moreover however also well large small high low better
    best including include given make makes provide provides code available github com https http
    effective effectively efficient efficiently framework key evaluate evaluation datasets dataset
    data training train trained learning learn deep neural network networks algorithm algorithms
    yet while across via thus less important address paradigm way real world non allow allows
    fine tuned tuning change changes number set sets type types lead leads remain remains
    time related application applications issue issues able additionally question total
    develop developed technique techniques establish reveal reveals offer offers strategy
    strategies require requires running core explicit impact understanding need needs
    named open effectiveness scenario scenarios defined function capability capabilities
    pre post end good simple simply potential consider considered specifically respectively
    obtain lack current currently tested mechanism mechanisms control baseline baselines widely
    gain gains fixed build challenge challenges sample samples accurate accuracy level levels
    human point points
""".split())

# Bytes -> themselves for [a-z0-9], lower case for [A-Z], a space for everything else:
# the same words as taxonomy.normalize_tokens' regex, found by one C-level pass.
_WORD_BYTES = bytes(
    b if (48 <= b <= 57 or 97 <= b <= 122) else b + 32 if 65 <= b <= 90 else 32 for b in range(256))
_ENGLISH, _DOMAIN, _RARE = np.uint8(1), np.uint8(2), np.uint8(4)
"""Word flags: an English stop word (or the break between texts), a domain stop word, too rare."""
_BREAK = b"\x01"
"""Token between two texts: translated text never contains it, and split() keeps it."""


@dataclass(frozen=True, slots=True)
class Related:
    """One related paper and why."""

    slug: str
    score: float
    """Cosine similarity of the two papers' weighted term vectors, rounded to 4 places."""
    terms: tuple[str, ...]
    """Terms both papers weigh heavily, strongest first ('label noise', 'sample reweighting')."""


@dataclass(frozen=True, eq=False)
class Terms:
    """A papers x terms count matrix and what its columns mean."""

    counts: sparse.csr_matrix
    """Occurrences of each term (column) in each paper (row), float32."""
    words: tuple[str, ...]
    """The normalized words, by word id."""
    first: np.ndarray
    """Per column, the id of its (first) word."""
    second: np.ndarray
    """Per column, the id of its second word, or -1 for a single word."""

    def name(self, column: int) -> str:
        """Return a column's term as text ('label noise')."""
        second = int(self.second[column])
        word = self.words[int(self.first[column])]
        return word if second < 0 else f"{word} {self.words[second]}"


def document(paper: Paper) -> str:
    """Return the text a paper is compared by: its title (weighted) and abstract."""
    return " ".join([paper.title] * TITLE_REPEAT + [paper.summary])


def _word_bytes(text: str) -> bytes:
    """Return the text lowered to ASCII words separated by spaces (apostrophes join words)."""
    if text.isascii():
        data = text.encode()
    else:
        # As taxonomy.normalize_tokens: NFKC, casefold, apostrophes out; what is still not
        # ASCII cannot be part of a word and becomes '?', a separator below.
        data = (unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "")
                .encode("ascii", "replace"))
    return data.translate(_WORD_BYTES, b"'")


def _stop_words() -> tuple[frozenset[str], frozenset[str]]:
    """Return (English, domain) stop words in normalized form."""
    return (frozenset(normalize_tokens(" ".join(_ENGLISH_STOP))),
            frozenset(normalize_tokens(" ".join(_DOMAIN_STOP))))


def _word_ids(texts: Iterable[str]) -> tuple[np.ndarray, list[str]]:
    """Return (word id per token, the normalized words sorted), id len(words) after each text.

    Each distinct raw word is normalized once; the tokens themselves stay integers.
    """
    index: defaultdict[bytes, int] = defaultdict(itertools.count().__next__)
    index[_BREAK]  # raw id 0
    parts = []
    texts = iter(texts)
    while chunk := list(itertools.islice(texts, TOKEN_CHUNK)):
        tokens = (b" " + _BREAK + b" ").join(map(_word_bytes, chunk)).split()
        tokens.append(_BREAK)
        parts.append(np.fromiter(map(index.__getitem__, tokens), dtype=np.int32, count=len(tokens)))
        del tokens
    ids = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    del parts
    raw_words = [w.decode() for w in itertools.islice(index, 1, None)]
    del index
    normalized = normalize_tokens(" ".join(raw_words))
    assert len(normalized) == len(raw_words), "a raw word normalized to more or fewer words"
    words = sorted(set(normalized))
    number = {w: i for i, w in enumerate(words)}
    raw_to_word = np.array([len(words)] + [number[w] for w in normalized], dtype=np.int32)
    return raw_to_word[ids], words


def count_terms(texts: Iterable[str], min_count: int = 1) -> Terms:
    """Count unigrams and bigrams of normalized words per text.

    Unigrams skip English and domain stop words; bigrams skip only English
    ones, so 'adversarial training' is a term although 'training' alone is not.
    Words of one letter and numbers are dropped before bigrams are formed.
    Terms seen fewer than `min_count` times in all texts are left out.
    """
    english, domain = _stop_words()
    ids, words = _word_ids(texts)
    n_words = len(words)
    # One more slot for the id between texts: it ends bigrams like an English word.
    dropped = np.array([len(w) <= 1 or w.isdigit() for w in words] + [False])
    ids = ids[~dropped[ids]]
    is_break = ids == n_words
    n_texts = int(is_break.sum())
    text_of = np.cumsum(is_break, dtype=np.int32)  # equals the text index except at breaks
    del is_break

    # One byte of flags per word, so each token needs a single look-up.
    flags = np.zeros(n_words + 1, np.uint8)
    flags[[i for i, w in enumerate(words) if w in english] + [n_words]] |= _ENGLISH
    flags[[i for i, w in enumerate(words) if w in domain]] |= _DOMAIN
    flags[np.bincount(ids, minlength=n_words + 1) < min_count] |= _RARE
    token_flags = flags[ids]
    single_at = (token_flags & (_ENGLISH | _DOMAIN | _RARE)) == 0
    before, after = token_flags[:-1], token_flags[1:]
    pair_at = ((before | after) & (_ENGLISH | _RARE)) == 0
    pair_at &= (before & after & _DOMAIN) == 0
    del token_flags, before, after
    first, second, pair_text = ids[:-1][pair_at], ids[1:][pair_at], text_of[:-1][pair_at]
    del pair_at
    unigrams = _rows_matrix(text_of[single_at], ids[single_at], n_texts, n_words)
    del ids, text_of, single_at

    # Number the distinct bigrams through a words x words sparse matrix: SciPy sorts and
    # merges duplicates row by row, much cheaper than sorting all the pairs at once.
    pairs = sparse.csr_matrix((np.ones(len(first), np.int32), (first, second)),
                              shape=(n_words, n_words))
    pairs.sum_duplicates()
    frequent = pairs.data >= min_count
    pair_first = np.repeat(np.arange(n_words, dtype=np.int32), np.diff(pairs.indptr))[frequent]
    pair_second = pairs.indices[frequent].astype(np.int32)
    pairs.data = np.where(frequent, np.cumsum(frequent, dtype=np.int32), 0)  # id + 1; 0 = rare
    bigram_of = np.asarray(pairs[first, second]).ravel() if len(first) else np.zeros(0, np.int32)
    del pairs, first, second
    seen = bigram_of > 0
    bigrams = _rows_matrix(pair_text[seen], bigram_of[seen] - 1, n_texts, len(pair_first))
    del bigram_of, pair_text, seen

    counts = sparse.hstack([unigrams, bigrams], format="csr", dtype=np.float32)
    first_of = np.concatenate([np.arange(n_words, dtype=np.int32), pair_first])
    second_of = np.concatenate([np.full(n_words, -1, np.int32), pair_second])
    return Terms(counts, tuple(words), first_of, second_of)


def _rows_matrix(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sparse.csr_matrix:
    """Return the count matrix of (row, column) occurrences, rows given in ascending order."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    matrix = sparse.csr_matrix((np.ones(len(cols), np.float32), cols, indptr), shape=(n_rows, n_cols))
    matrix.sum_duplicates()  # sorts each row's columns, adding repeats
    return matrix


def _rows_of(indptr: np.ndarray) -> np.ndarray:
    """Return the row of each stored value of a CSR matrix with this indptr."""
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))


def _indptr(rows: np.ndarray, n_rows: int) -> np.ndarray:
    """Return the CSR indptr of values whose rows (ascending) are given."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr


def _per_row_any(flags: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Return, per row, whether any of its values is flagged (empty rows: False)."""
    running = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    return running[indptr[1:]] > running[indptr[:-1]]


# ---- weights -----------------------------------------------------------------------

def epoch_size(n: int) -> int:
    """Return the corpus size the weights use: n rounded down to a power of two (0 for none)."""
    return 1 << (n.bit_length() - 1) if n > 0 else 0


def _bucket(df: np.ndarray) -> np.ndarray:
    """Return each document frequency's bucket: 0 for 1, then BUCKETS_PER_OCTAVE per doubling."""
    return np.floor(np.log2(np.maximum(df, 1)) * BUCKETS_PER_OCTAVE).astype(np.int32)


def term_status(df: np.ndarray, epoch: int, reference_df: np.ndarray | None = None) -> np.ndarray:
    """Return per term its frequency bucket, or -1 when it is left out (too rare or too common).

    `df` counts the papers holding each term, `reference_df` only the epoch's reference
    papers (see reference_rows; by default all). The bucket is that of the larger of the
    reference count and half the count: a term that spreads with the corpus keeps its
    reference count, and its weight, until the corpus doubles; one that spreads faster
    (a new subject) moves. A term's weight in a paper depends on its count there, its
    status and the epoch only.
    """
    df = np.asarray(df, dtype=np.int64)
    counted = df if reference_df is None else np.maximum(np.asarray(reference_df, dtype=np.int64), df // 2)
    bucket = _bucket(counted)
    keep = df >= (2 if epoch >= MIN_DF_TWO_FROM else 1)
    if epoch >= 16:
        cap = min(epoch // 2, max(DF_CAP_MIN, int(epoch * DF_CAP_SHARE)))
        keep &= bucket <= _bucket(np.array([cap]))[0]
    return np.where(keep, bucket, -1).astype(np.int16)


def reference_rows(papers: Sequence[Paper], epoch: int) -> np.ndarray:
    """Return which papers (a bool per paper, papers in slug order) are the epoch's reference:
    the first `epoch` by the date they were first seen (unknown first), then slug.

    New digests add papers at the end of that order, so the reference stays the same
    until the corpus doubles.
    """
    days = np.array([p.first_seen.toordinal() if p.first_seen else 0 for p in papers], dtype=np.int64)
    order = np.lexsort((np.arange(len(papers)), days))
    chosen = np.zeros(len(papers), dtype=bool)
    chosen[order[:epoch]] = True
    return chosen


def _idf(epoch: int, buckets: np.ndarray) -> np.ndarray:
    """Inverse document frequency of each bucket: from its middle frequency and the epoch."""
    middle = np.exp2((buckets + 0.5) / BUCKETS_PER_OCTAVE)
    return np.log((1.0 + epoch) / (1.0 + middle)) + 1.0


def _mix(values: np.ndarray) -> np.ndarray:
    """Scramble 64-bit integers (a finalizer in the style of splitmix64)."""
    values = values.copy()
    with np.errstate(over="ignore"):
        values ^= values >> np.uint64(30)
        values *= np.uint64(0xBF58476D1CE4E5B9)
        values ^= values >> np.uint64(27)
        values *= np.uint64(0x94D049BB133111EB)
        values ^= values >> np.uint64(31)
    return values


def word_hashes(words: Sequence[str]) -> np.ndarray:
    """Return a 64-bit hash of each word's text (uint64)."""
    data = b"".join(hashlib.blake2b(w.encode(), digest_size=8).digest() for w in words)
    return np.frombuffer(data, dtype="<u8").astype(np.uint64)


def _term_hash(first: np.ndarray, second: np.ndarray, word_hash: np.ndarray) -> np.ndarray:
    """Return a 64-bit hash of each term from its words' hashes: the tie-break between terms."""
    head = word_hash[first]
    tail = np.where(second >= 0, word_hash[np.maximum(second, 0)], np.uint64(0x5851F42D4C957F2D))
    with np.errstate(over="ignore"):
        return _mix(_mix(head) + tail)


def vectors(counts: sparse.csr_matrix, status: np.ndarray, epoch: int, first: np.ndarray,
            second: np.ndarray, word_hash: np.ndarray) -> sparse.csr_matrix:
    """Return the rows' unit vectors in whole 1/VECTOR_SCALE steps (float64).

    Each row keeps its KEEP_TERMS heaviest terms whose status is not -1, ties broken by
    the terms' hashes; weights are (1 + log count) x idf, in whole 1/WEIGHT_SCALE steps,
    so each row's norm is an exact sum and the result never depends on column order.
    """
    n_rows, n_cols = counts.shape
    rows = _rows_of(counts.indptr)
    cols = counts.indices.astype(np.int64)
    kept = status[cols]
    on = kept >= 0
    rows, cols, kept, tf = rows[on], cols[on], kept[on], counts.data[on]
    if not len(rows):
        return sparse.csr_matrix((n_rows, n_cols), dtype=np.float64)
    idf = _idf(epoch, np.arange(int(kept.max()) + 1))
    weight = np.rint((1.0 + np.log(tf.astype(np.float64))) * idf[kept] * WEIGHT_SCALE).astype(np.int64)
    heavy = _heaviest_first(rows, weight, _term_hash(first[cols], second[cols], word_hash), n_rows)
    rows, cols, weight = rows[heavy], cols[heavy], weight[heavy]
    starts = np.searchsorted(rows, np.arange(n_rows + 1))
    top = np.arange(len(rows)) - starts[rows] < KEEP_TERMS
    rows, cols, weight = rows[top], cols[top], weight[top]
    # Whole numbers below 2^53: the sum of squares is exact in any order.
    norm = np.sqrt(np.bincount(rows, weights=(weight * weight).astype(np.float64), minlength=n_rows))
    values = np.rint(weight * (VECTOR_SCALE / norm[rows]))
    order = np.lexsort((cols, rows))
    return sparse.csr_matrix((values[order], cols[order].astype(np.int32), _indptr(rows, n_rows)),
                             shape=(n_rows, n_cols))


def _heaviest_first(rows: np.ndarray, weight: np.ndarray, tie: np.ndarray, n_rows: int) -> np.ndarray:
    """Return the order of values by row, weight (descending), then tie-break key.

    Rows with at most KEEP_TERMS values need no order within (they keep all): only the
    longer rows are sorted by all three keys.
    """
    lengths = np.bincount(rows, minlength=n_rows)
    long_rows = lengths > KEEP_TERMS
    if not long_rows.any():
        return np.arange(len(rows))
    in_long = long_rows[rows]
    order = np.arange(len(rows))
    at = np.flatnonzero(in_long)
    # Rows stay contiguous: sorting the long rows' values among themselves suffices.
    order[at] = at[np.lexsort((tie[at], -weight[at], rows[at]))]
    return order


# ---- candidates: each paper's best other papers ------------------------------------

@dataclass(frozen=True, eq=False)
class Candidates:
    """Per paper, its best other papers by score (descending) then slug: a prefix of its ranking.

    A paper's list is complete when it holds every paper reaching MIN_SCORE; otherwise
    every paper not in it ranks after its last entry.
    """

    indptr: np.ndarray
    """Per row, where its entries start (int64, n + 1)."""
    rows: np.ndarray
    """The other paper's row (int32)."""
    ticks: np.ndarray
    """The score in ten-thousandths (int16: at most TICKS)."""
    complete: np.ndarray
    """Per row, whether the list holds every paper reaching the minimum score (bool)."""


def _ticks(products: np.ndarray) -> np.ndarray:
    """Return exact dot products of two vectors as scores in ten-thousandths."""
    return np.rint(products * (TICKS / float(VECTOR_SCALE) ** 2)).astype(np.int64)


def _ranked(rows: np.ndarray, cols: np.ndarray, ticks: np.ndarray, n_rows: int, fetch: int,
            complete: np.ndarray) -> Candidates:
    """Return the candidate lists of these entries: by row, ticks (descending), row of the other.

    `complete` says per row whether the entries hold all its candidates; a list cut to
    `fetch` entries is not complete any more.
    """
    order = np.lexsort((cols, -ticks, rows))
    rows, cols, ticks = rows[order], cols[order], ticks[order]
    starts = np.searchsorted(rows, np.arange(n_rows + 1))
    within = np.arange(len(rows)) - starts[rows] < fetch
    complete = complete & (np.diff(starts) <= fetch)
    rows, cols, ticks = rows[within], cols[within], ticks[within]
    return Candidates(_indptr(rows, n_rows), cols.astype(np.int32), ticks.astype(np.int16), complete)


def _row_thresholds(local: np.ndarray, ticks: np.ndarray, n_rows: int, need: int) -> np.ndarray:
    """Return per row a score such that at least `need` of its entries reach it, and few more
    (0 if it has fewer): a histogram of scores in steps of THRESHOLD_STEP ticks, not a sort."""
    width = TICKS // THRESHOLD_STEP + 2
    hist = np.bincount(local * width + np.minimum(ticks // THRESHOLD_STEP, width - 1), minlength=n_rows * width)
    at_least = np.cumsum(hist.reshape(n_rows, width)[:, ::-1], axis=1)
    enough = at_least >= need
    return np.where(enough[:, -1], (width - 1 - enough.argmax(axis=1)) * THRESHOLD_STEP, 0)


def _compare(matrix: sparse.csr_matrix, transposed: sparse.csr_matrix, which: np.ndarray,
             min_ticks: int, fetch: int, admit=None) -> tuple[Candidates, tuple[np.ndarray, ...]]:
    """Compare the rows `which` with all rows: their candidate lists (in that order), and
    the (row of `which`, other row, ticks) entries that admit(rows, others, ticks) selects.

    transposed is matrix.T as CSR, or None: the product is then made from the other side
    (all rows times the few compared: a pass over the matrix per chunk, no transposed copy).
    """
    own, extra = [], []
    for start in range(0, len(which), PRODUCT_ROWS):
        chunk = which[start:start + PRODUCT_ROWS]
        if transposed is None:
            block = (matrix @ matrix[chunk].T.tocsr()).T.tocsr()
        else:
            block = (matrix[chunk] @ transposed).tocsr()
        ticks = _ticks(block.data)
        local = _rows_of(block.indptr)
        cols = block.indices.astype(np.int64)
        keep = (ticks >= min_ticks) & (cols != chunk[local])
        local, cols, ticks = local[keep], cols[keep], ticks[keep]
        top = ticks >= _row_thresholds(local, ticks, len(chunk), fetch + 1)[local]
        own.append((local[top] + start, cols[top], ticks[top]))
        if admit is not None:
            wanted = admit(chunk[local], cols, ticks)
            extra.append((chunk[local[wanted]], cols[wanted], ticks[wanted]))
    empty = np.zeros(0, np.int64)
    rows, cols, ticks = (np.concatenate(part) for part in zip(*own)) if own else (empty, empty, empty)
    lists = _ranked(rows, cols, ticks, len(which), fetch, np.ones(len(which), dtype=bool))
    found = tuple(np.concatenate(part) for part in zip(*extra)) if extra else (empty, empty, empty)
    return lists, found


def _candidates_of(matrix: sparse.csr_matrix, transposed: sparse.csr_matrix, which: np.ndarray,
                   min_ticks: int, fetch: int) -> Candidates:
    """Return the candidate lists of the rows `which` (in that order), compared with all rows."""
    if len(which) < TOPN_FROM:
        return _compare(matrix, transposed, which, min_ticks, fetch)[0]
    from sparse_dot_topn import sp_matmul_topn

    if transposed is None:
        transposed = matrix.T.tocsr()
    threshold = (min_ticks - 1) * float(VECTOR_SCALE) ** 2 / TICKS
    parts = []
    for start in range(0, len(which), 20_000):
        chunk = which[start:start + 20_000]
        block = sp_matmul_topn(matrix[chunk], transposed, top_n=fetch + 1, threshold=threshold)
        ticks = _ticks(block.data)
        local = _rows_of(block.indptr)
        # A full row may have lost entries tied with its weakest one: it keeps the entries
        # above that score (everything not fetched scores no higher).
        full = np.diff(block.indptr) == fetch + 1
        weakest = np.full(len(chunk), -1, dtype=np.int64)
        if full.any():
            weakest[full] = np.minimum.reduceat(ticks, block.indptr[:-1][full])
        keep = (ticks >= min_ticks) & (ticks > weakest[local]) & (block.indices != chunk[local])
        parts.append(_ranked(local[keep], block.indices[keep].astype(np.int64), ticks[keep],
                             len(chunk), fetch, ~full))
    found = _joined(parts)
    # Rows left with fewer than k sure entries (many ties): compared with all exactly.
    short = np.flatnonzero(~found.complete & (np.diff(found.indptr) < fetch - SPARE))
    if len(short):
        found = _replaced(found, short, _compare(matrix, transposed, which[short], min_ticks, fetch)[0])
    return found


def _joined(parts: Sequence[Candidates]) -> Candidates:
    """Return the lists of consecutive groups of rows as one."""
    offsets = np.cumsum([0] + [len(p.rows) for p in parts])
    indptr = np.concatenate([[0]] + [p.indptr[1:] + off for p, off in zip(parts, offsets)])
    return Candidates(indptr.astype(np.int64), np.concatenate([p.rows for p in parts]),
                      np.concatenate([p.ticks for p in parts]), np.concatenate([p.complete for p in parts]))


def _entries(lists: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row, other row, ticks) of every entry."""
    return _rows_of(lists.indptr), lists.rows, lists.ticks


def _replaced(lists: Candidates, where: np.ndarray, new: Candidates) -> Candidates:
    """Return the lists with those of rows `where` (distinct) replaced by `new`'s (in that order).

    The other rows' entries are copied a run of rows at a time (an update replaces a few
    hundred lists of 100k: no per-entry index arrays are made).
    """
    where = np.asarray(where, dtype=np.int64)
    order = np.argsort(where, kind="stable")
    where = where[order]
    new_lengths = np.diff(new.indptr)[order]
    n = len(lists.complete)
    lengths = np.diff(lists.indptr)
    lengths[where] = new_lengths
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    rows = np.empty(int(indptr[-1]), dtype=np.result_type(lists.rows.dtype, new.rows.dtype))
    ticks = np.empty(int(indptr[-1]), dtype=np.result_type(lists.ticks.dtype, new.ticks.dtype))
    bounds = np.concatenate([[-1], where, [n]]).tolist()
    for lo, hi in zip(bounds, bounds[1:]):  # the rows strictly between two replaced ones
        if hi > lo + 1:
            a, b = int(lists.indptr[lo + 1]), int(lists.indptr[hi])
            c = int(indptr[lo + 1])
            rows[c:c + b - a] = lists.rows[a:b]
            ticks[c:c + b - a] = lists.ticks[a:b]
    if len(where):
        picks = _spans(new.indptr[:-1][order], new_lengths)
        spots = _spans(indptr[where], new_lengths)
        rows[spots], ticks[spots] = new.rows[picks], new.ticks[picks]
    complete = lists.complete.copy()
    complete[where] = new.complete[order]
    return Candidates(indptr, rows, ticks, complete)


def _chosen(lists: Candidates, k: int) -> Candidates:
    """Return each row's related papers: its first k candidates within RELATIVE_FLOOR of the best."""
    lengths = np.diff(lists.indptr)
    starts = lists.indptr[:-1]
    best = np.zeros(len(lengths), dtype=np.int64)
    filled = lengths > 0
    best[filled] = lists.ticks[starts[filled]]
    keep = np.zeros(len(lists.rows), dtype=bool)
    for rank in range(k):  # (k passes over the rows, no per-entry index arrays)
        has = np.flatnonzero(lengths > rank)
        at = starts[has] + rank
        keep[at] = lists.ticks[at] >= RELATIVE_FLOOR * best[has]
    counts = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    indptr = counts[lists.indptr]
    return Candidates(indptr, lists.rows[keep], lists.ticks[keep], lists.complete)


def _spans(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Return the positions start, start + 1, ... of each span, one span after the other."""
    total = int(lengths.sum())
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + (np.arange(total) - offsets)


# ---- explaining a match -------------------------------------------------------------

@dataclass(eq=False)
class TermTable:
    """The terms met so far: words, and per term its first and second word (-1: none)."""

    words: list[str] = field(default_factory=list)
    word_hash: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    first: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    second: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    sorted_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Every term's code (first word << 32 | second word + 1), sorted, for look-ups."""
    sorted_terms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    """The term of each sorted code (int32)."""
    added_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    added_terms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    """Codes (sorted) and terms added since the sorted ones were made: a small second index,
    so adding a digest's terms does not copy the whole one (9 MB at 100k papers)."""

    def name(self, term: int) -> str:
        """Return a term as text ('label noise')."""
        second = int(self.second[term])
        word = self.words[int(self.first[term])]
        return word if second < 0 else f"{word} {self.words[second]}"

    def absorb(self, found: Terms) -> np.ndarray:
        """Add counted terms not met before; return the table's term of each of found's columns."""
        number = dict(zip(self.words, range(len(self.words))))
        new_words = [w for w in found.words if w not in number]
        if new_words:
            for w in new_words:
                number[w] = len(number)
            self.words = self.words + new_words
            self.word_hash = np.concatenate([self.word_hash, word_hashes(new_words)])
        word_of = np.array([number[w] for w in found.words] + [-1], dtype=np.int64)
        first = word_of[found.first]
        second = word_of[found.second]  # -1 stays -1 (the spare last slot)
        codes = (first << 32) | (second + 1)
        terms = self._find(codes)
        known = terms >= 0
        added_codes, first_seen = np.unique(codes[~known], return_index=True)
        if len(added_codes):
            new_ids = len(self.first) + np.arange(len(added_codes))
            unknown = np.flatnonzero(~known)
            terms[unknown] = new_ids[np.searchsorted(added_codes, codes[unknown])]
            self.first = np.concatenate([self.first, first[unknown][first_seen].astype(np.int32)])
            self.second = np.concatenate([self.second, second[unknown][first_seen].astype(np.int32)])
            self.add_codes(added_codes, new_ids)
        return terms

    def _find(self, codes: np.ndarray) -> np.ndarray:
        """Return the term of each code, -1 for unknown ones."""
        terms = np.full(len(codes), -1, dtype=np.int64)
        for keys, values in ((self.sorted_codes, self.sorted_terms), (self.added_codes, self.added_terms)):
            if len(keys) and len(codes):
                at = np.minimum(np.searchsorted(keys, codes), len(keys) - 1)
                hit = keys[at] == codes
                terms[hit] = values[at[hit]]
        return terms

    def add_codes(self, codes: np.ndarray, terms: np.ndarray) -> None:
        """Index new terms by their codes (in the small second index)."""
        order = np.argsort(codes, kind="stable")
        place = np.searchsorted(self.added_codes, codes[order])
        self.added_codes = np.insert(self.added_codes, place, codes[order])
        self.added_terms = np.insert(self.added_terms, place, terms[order].astype(np.int32))

    def index(self) -> tuple[np.ndarray, np.ndarray]:
        """Return every term's code, sorted, and the term of each (both indexes as one)."""
        if not len(self.added_codes):
            return self.sorted_codes, self.sorted_terms
        place = np.searchsorted(self.sorted_codes, self.added_codes)
        return (np.insert(self.sorted_codes, place, self.added_codes),
                np.insert(self.sorted_terms, place, self.added_terms))

    def hashes(self, terms: np.ndarray) -> np.ndarray:
        """Return the tie-break hash of each term."""
        return _term_hash(self.first[terms], self.second[terms], self.word_hash)


def explain(matrix: sparse.csr_matrix, table: TermTable, pairs_i: np.ndarray, pairs_j: np.ndarray,
            n: int = N_TERMS) -> list[tuple[str, ...]]:
    """Return, per pair (i, j), the terms that contribute most to the rows' similarity.

    A term is shown if it adds at least TERM_FLOOR of the strongest term's product
    (ties: by the terms' hashes); a phrase replaces its own words ('label noise' hides 'label').
    """
    names: dict[int, str] = {}
    out: list[tuple[str, ...]] = []
    scale = np.int64(max(len(table.words), 1))
    for start in range(0, len(pairs_i), EXPLAIN_CHUNK):
        i, j = pairs_i[start:start + EXPLAIN_CHUNK], pairs_j[start:start + EXPLAIN_CHUNK]
        shared = matrix[i].multiply(matrix[j]).tocsr()
        shared.sum_duplicates()
        shared.eliminate_zeros()
        rows, cols, vals = _rows_of(shared.indptr), shared.indices.astype(np.int64), shared.data
        best = np.zeros(len(i))
        filled = np.diff(shared.indptr) > 0
        best[filled] = np.maximum.reduceat(vals, shared.indptr[:-1][filled]) if len(vals) else 0
        strong = vals >= TERM_FLOOR * best[rows]
        rows, cols, vals = rows[strong], cols[strong], vals[strong]
        order = np.lexsort((table.hashes(cols), -vals, rows))  # strongest first
        rows, cols = rows[order], cols[order]
        # Words of a strong phrase of the same pair are not shown on their own.
        second = table.second[cols].astype(np.int64)
        first = table.first[cols].astype(np.int64)
        phrase = second >= 0
        covered = np.concatenate([rows[phrase] * scale + first[phrase], rows[phrase] * scale + second[phrase]])
        shown = phrase | ~_contains(np.sort(covered), rows * scale + first)
        rows, cols = rows[shown], cols[shown]
        starts = np.searchsorted(rows, np.arange(len(i) + 1))
        first_n = np.arange(len(rows)) - starts[rows] < n
        rows, cols = rows[first_n], cols[first_n]
        for c in set(cols.tolist()) - names.keys():
            names[c] = table.name(c)
        flat = [names[c] for c in cols.tolist()]
        bounds = np.searchsorted(rows, np.arange(len(i) + 1)).tolist()
        out.extend(tuple(flat[lo:hi]) for lo, hi in zip(bounds, bounds[1:]))
    return out


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Return, per key, whether it is in sorted_keys (np.isin without its hashing pass)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


# ---- rows kept apart: term counts and vectors ----------------------------------------

class MatrixRows:
    """Rows of a CSR matrix in memory: the base of LayeredRows when nothing is on disk."""

    def __init__(self, matrix: sparse.csr_matrix) -> None:
        self.matrix = matrix
        self.shape = matrix.shape
        self.dtype = matrix.dtype

    def lengths(self) -> np.ndarray:
        """Return each row's number of stored values."""
        return np.diff(self.matrix.indptr)

    def take(self, rows: np.ndarray) -> sparse.csr_matrix:
        """Return these rows (in this order) as a CSR matrix."""
        return self.matrix[np.asarray(rows, dtype=np.int64)]

    def copy_rows(self, lo: int, hi: int, data: np.ndarray, indices: np.ndarray) -> None:
        """Copy the values of rows lo..hi-1 into data and indices (exactly their size)."""
        a, b = self.matrix.indptr[lo], self.matrix.indptr[hi]
        data[:] = self.matrix.data[a:b]
        indices[:] = self.matrix.indices[a:b]

    def holding(self, columns: np.ndarray) -> np.ndarray:
        """Return the rows (ascending) with a value in one of the flagged columns."""
        flagged = columns[self.matrix.indices]
        return np.flatnonzero(_per_row_any(flagged, self.matrix.indptr))

    def column_counts(self, rows: np.ndarray) -> np.ndarray:
        """Return per column the number of the flagged rows holding it."""
        indices = self.matrix.indices[np.repeat(rows, np.diff(self.matrix.indptr))]
        return np.bincount(indices, minlength=self.shape[1])


class LayeredRows:
    """Rows of a sparse matrix (the memo's term counts or vectors): each a row of a base
    (MatrixRows, or the build cache's rows read from disk) or a row held here.

    An update keeps most rows and redoes a few: composing keeps the base as it is (at
    100k papers 70 MB of counts and 17 MB of vectors that need not be read), so only the
    rows it changes are held in memory.
    """

    def __init__(self, base, source: np.ndarray, held: sparse.csr_matrix, n_cols: int) -> None:
        self.base = base
        self.source = source
        """Per row: its base row (>= 0), or -1 - i for held row i."""
        self.held = held
        self.shape = (len(source), n_cols)
        self.dtype = np.result_type(base.dtype, held.dtype)

    def lengths(self) -> np.ndarray:
        """Return each row's number of stored values."""
        both = np.concatenate([self.base.lengths(), np.diff(self.held.indptr)])
        return both[np.where(self.source >= 0, self.source, self.base.shape[0] - 1 - self.source)]

    def take(self, rows) -> sparse.csr_matrix:
        """Return these rows (in this order) as a CSR matrix of all columns.

        Runs of consecutive base rows are copied as one piece (a whole matrix is read once).
        """
        rows = np.asarray(rows, dtype=np.int64)
        source = self.source[rows]
        lengths = self.lengths()[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        data = np.empty(int(indptr[-1]), dtype=self.dtype)
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        at = np.flatnonzero(source >= 0)
        base_rows = source[at]
        breaks = np.flatnonzero((np.diff(at) != 1) | (np.diff(base_rows) != 1)) + 1
        for lo, hi in zip([0, *breaks.tolist()], [*breaks.tolist(), len(at)]):
            if lo < hi:
                a, b = int(indptr[at[lo]]), int(indptr[at[hi - 1] + 1])
                self.base.copy_rows(int(base_rows[lo]), int(base_rows[hi - 1]) + 1, data[a:b], indices[a:b])
        mine = np.flatnonzero(source < 0)
        if len(mine):
            held_rows = -1 - source[mine]
            picks = _spans(self.held.indptr[held_rows], lengths[mine])
            spots = _spans(indptr[mine], lengths[mine])
            data[spots], indices[spots] = self.held.data[picks], self.held.indices[picks]
        return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), self.shape[1]))

    def holding(self, columns: np.ndarray) -> np.ndarray:
        """Return the rows (ascending) with a value in one of the flagged columns."""
        columns = np.concatenate([columns, np.zeros(max(0, self.shape[1] - len(columns)), bool)])
        found = np.zeros(self.shape[0], dtype=bool)
        in_base = np.zeros(self.base.shape[0] + 1, dtype=bool)
        in_base[self.base.holding(columns[:self.base.shape[1]])] = True
        found |= in_base[np.where(self.source >= 0, self.source, -1)]
        held = self.held
        in_held = _per_row_any(columns[held.indices], held.indptr) if held.shape[0] else np.zeros(0, bool)
        mine = np.flatnonzero(self.source < 0)
        found[mine] |= in_held[-1 - self.source[mine]]
        return np.flatnonzero(found)

    def column_counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Return per column the number of rows (all, or those flagged) holding it."""
        flagged = np.ones(self.shape[0], dtype=bool) if rows is None else rows
        base_rows = np.zeros(self.base.shape[0], dtype=bool)
        base_rows[self.source[flagged & (self.source >= 0)]] = True
        counts = np.zeros(self.shape[1], dtype=np.int64)
        counts[:self.base.shape[1]] += self.base.column_counts(base_rows)
        mine = -1 - self.source[flagged & (self.source < 0)]
        if len(mine):
            every = len(mine) == self.held.shape[0] and (np.sort(mine) == np.arange(len(mine))).all()
            counts += np.bincount((self.held if every else self.held[mine]).indices, minlength=self.shape[1])
        return counts

    def tocsr(self) -> sparse.csr_matrix:
        """Return all rows as one CSR matrix."""
        return self.take(np.arange(self.shape[0]))


def layered(rows) -> LayeredRows:
    """Return a CSR matrix, a base (see MatrixRows) or LayeredRows as LayeredRows."""
    if isinstance(rows, LayeredRows):
        return rows
    base = MatrixRows(rows) if sparse.issparse(rows) else rows  # (or a base: MatrixRows' methods)
    return LayeredRows(base, np.arange(base.shape[0], dtype=np.int64),
                       sparse.csr_matrix((0, base.shape[1]), dtype=base.dtype), base.shape[1])


def rows_of(rows, which: np.ndarray) -> sparse.csr_matrix:
    """Return these rows of a CSR matrix or LayeredRows, as CSR."""
    return rows.take(which) if isinstance(rows, LayeredRows) else rows[np.asarray(which, dtype=np.int64)]


def composed(rows, old_row: np.ndarray, fresh: sparse.csr_matrix, is_fresh: np.ndarray,
             n_cols: int) -> LayeredRows:
    """Return the rows in order: where is_fresh the next row of `fresh`, elsewhere row
    old_row[i] of `rows` (LayeredRows or CSR), sharing its base."""
    rows = layered(rows)
    source = np.empty(len(is_fresh), dtype=np.int64)
    source[~is_fresh] = rows.source[old_row[~is_fresh]]
    # Held rows still used come first, renumbered; the fresh rows after them.
    from_held = np.flatnonzero(~is_fresh)[source[~is_fresh] < 0]
    used = -1 - source[from_held]
    source[from_held] = -1 - np.arange(len(used))
    source[is_fresh] = -1 - (len(used) + np.arange(int(is_fresh.sum())))
    dtype = np.result_type(rows.dtype, fresh.dtype)
    held = sparse.vstack([_with_columns(rows.held[used], n_cols), _with_columns(fresh, n_cols)],
                         format="csr", dtype=dtype)
    return LayeredRows(rows.base, source, held, n_cols)


def _differing_rows(a, b, b_row: np.ndarray) -> np.ndarray:
    """Return, per row of a, whether row b_row[i] of b (-1: none) holds other values or columns.

    Rows that both take from one base row are the same without being read.
    """
    valid = b_row >= 0
    check = valid.copy()
    if isinstance(a, LayeredRows) and isinstance(b, LayeredRows) and a.base is b.base:
        shared = a.source >= 0
        shared[valid] &= a.source[valid] == b.source[b_row[valid]]
        check &= ~(shared & valid)
    differ = ~valid
    rows = np.flatnonzero(check)
    if len(rows):
        differ[rows] = ~_same_rows(_with_columns(rows_of(a, rows), max(a.shape[1], b.shape[1])),
                                   _with_columns(rows_of(b, b_row[rows]), max(a.shape[1], b.shape[1])))
    return differ


# ---- the memo and the update ---------------------------------------------------------

MEMO_VERSION = 4
"""Bump when RelatedMemo's layout or meaning changes (older memos are then ignored)."""


@dataclass(frozen=True, eq=False)
class RelatedMemo:
    """What one computation of related papers keeps for the next (picklable arrays).

    Rows are the papers in slug order. Remembering the term counts means an update counts
    only new texts; the terms' statuses tell which weights moved; the vectors which papers
    changed; the candidate lists which papers must be compared with all again.
    """

    settings: str
    """Hash of what the result depends on besides the texts (stop words, constants, k)."""
    slugs: tuple[str, ...]
    keys: np.ndarray
    """Per row, the hash of the paper's text ('S16')."""
    table: TermTable
    counts: Any
    """Occurrences of each term (column) in each paper (row), uint16: a CSR matrix or LayeredRows."""
    status: np.ndarray
    """Per term, its status (term_status; int16)."""
    epoch: int
    vectors: Any
    """Per row, its unit vector (see vectors): a CSR matrix or LayeredRows."""
    candidates: Candidates
    fingerprints: tuple | None = None
    """Per row, the caller's fingerprint of the paper (see update_related), if given."""
    made_for: Any = None
    """A caller's label for the result this memo was made with (see update_related's previous)."""
    reference: np.ndarray | None = None
    """Per row, whether the paper was one of the epoch's reference papers (reference_rows)."""


def text_key(text: str) -> bytes:
    """Return a 16-byte hash of the text a paper is compared by."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _memo_settings(k: int, min_score: float) -> str:
    english, domain = _stop_words()
    material = repr((MEMO_VERSION, TITLE_REPEAT, sorted(english), sorted(domain), k, min_score,
                     KEEP_TERMS, DF_CAP_SHARE, DF_CAP_MIN, MIN_DF_TWO_FROM, BUCKETS_PER_OCTAVE,
                     WEIGHT_SCALE, VECTOR_SCALE, SPARE, RELATIVE_FLOOR, N_TERMS, TERM_FLOOR))
    return hashlib.sha256(material.encode()).hexdigest()


def _empty_memo(settings: str) -> RelatedMemo:
    zeros = np.zeros(0, np.int64)
    return RelatedMemo(settings, (), np.zeros(0, "S16"), TermTable(),
                       sparse.csr_matrix((0, 0), dtype=np.uint16), np.zeros(0, np.int16), 0,
                       sparse.csr_matrix((0, 0), dtype=np.float64),
                       Candidates(np.zeros(1, np.int64), zeros, zeros, np.zeros(0, bool)))


def _with_columns(matrix: sparse.csr_matrix, n_cols: int) -> sparse.csr_matrix:
    """Return the matrix widened to n_cols columns (new columns empty), sharing its arrays."""
    return sparse.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], n_cols))


def _stacked(old: sparse.csr_matrix, old_rows: np.ndarray, new: sparse.csr_matrix,
             is_new: np.ndarray) -> sparse.csr_matrix:
    """Return rows in order: where is_new the next row of `new`, elsewhere row old_rows[i] of `old`.

    Runs of consecutive old rows are copied as one slice: an update keeps long runs.
    """
    n = len(is_new)
    n_cols = max(old.shape[1], new.shape[1])
    lengths = np.zeros(n, dtype=np.int64)
    lengths[~is_new] = np.diff(old.indptr)[old_rows[~is_new]]
    lengths[is_new] = np.diff(new.indptr)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = np.empty(int(indptr[-1]), dtype=np.result_type(old.dtype, new.dtype))
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    at = np.flatnonzero(~is_new)
    source = old_rows[at]
    breaks = np.flatnonzero((np.diff(at) != 1) | (np.diff(source) != 1)) + 1
    for lo, hi in zip([0, *breaks.tolist()], [*breaks.tolist(), len(at)]):
        if lo == hi:
            continue
        a, b = indptr[at[lo]], indptr[at[hi - 1] + 1]
        c, d = old.indptr[source[lo]], old.indptr[source[hi - 1] + 1]
        data[a:b], indices[a:b] = old.data[c:d], old.indices[c:d]
    fresh = np.flatnonzero(is_new)
    if len(fresh):
        spots = _spans(indptr[fresh], lengths[fresh])
        data[spots], indices[spots] = new.data, new.indices
    return sparse.csr_matrix((data, indices, indptr), shape=(n, n_cols))


def _same_rows(a: sparse.csr_matrix, b: sparse.csr_matrix) -> np.ndarray:
    """Return, per row, whether the two matrices' rows hold the same values at the same columns."""
    same = np.diff(a.indptr) == np.diff(b.indptr)
    if same.any():
        a_part, b_part = a[same], b[same]
        differ = (a_part.indices != b_part.indices) | (a_part.data != b_part.data)
        same[np.flatnonzero(same)] = ~_per_row_any(differ, a_part.indptr)
    return same


def update_related(papers: Sequence[Paper], memo: RelatedMemo | None = None, k: int = TOP_K,
                   min_score: float = MIN_SCORE, *, remember: bool = True, as_pairs: bool = False,
                   previous: Mapping[str, tuple] | None = None,
                   fingerprints: Mapping[str, Any] | None = None) -> tuple[dict[str, tuple], RelatedMemo | None]:
    """related_papers, and the memo for the next call, which then redoes only what changed.

    The result is the same as related_papers(papers, k, min_score) whatever the memo holds;
    as_pairs=True gives (slug, terms) pairs instead of Related objects (the site's shape).
    `previous` may be the result of the call that made the memo (same k and shape): its
    unchanged lists are then reused rather than explained again. `fingerprints` may map
    slugs to hashes of whole papers: a paper with the memo's fingerprint is not hashed again.
    """
    papers = sorted(papers, key=lambda p: p.slug)  # order-independent output
    settings = _memo_settings(k, min_score)
    if not isinstance(memo, RelatedMemo) or memo.settings != settings:
        memo, previous = _empty_memo(settings), None
    with collector_paused():
        result, new_memo = _update(papers, memo, k, min_score, as_pairs, previous, fingerprints)
    return result, (new_memo if remember else None)


def related_papers(papers: Sequence[Paper], k: int = TOP_K,
                   min_score: float = MIN_SCORE) -> dict[str, tuple[Related, ...]]:
    """Find each paper's k most related papers with the terms they share: slug -> Related."""
    return update_related(papers, None, k, min_score, remember=False)[0]


def _update(papers: Sequence[Paper], memo: RelatedMemo, k: int, min_score: float, as_pairs: bool,
            previous: Mapping[str, tuple] | None,
            fingerprints: Mapping[str, Any] | None) -> tuple[dict[str, tuple], RelatedMemo]:
    slugs = [p.slug for p in papers]
    n = len(slugs)
    old_row = _row_map(memo.slugs, slugs)
    prints = None if fingerprints is None else list(map(fingerprints.get, slugs))
    if prints is not None and memo.fingerprints is not None:
        # A paper whose fingerprint is the memo's has the memo's text: no need to hash it.
        old_prints = np.array(memo.fingerprints + (None,), dtype=object)[old_row]
        known = (old_row >= 0) & (old_prints == np.array(prints, dtype=object))
        known &= np.array([f is not None for f in prints], dtype=bool)
        keys = np.empty(n, dtype="S16")
        keys[known] = memo.keys[old_row[known]]
        unknown = np.flatnonzero(~known).tolist()
        keys[unknown] = [text_key(document(papers[i])) for i in unknown]
    else:
        keys = np.array([text_key(document(p)) for p in papers], dtype="S16")
    kept = old_row >= 0
    kept[kept] = memo.keys[old_row[kept]] == keys[kept]
    old_row[~kept] = -1
    fresh = np.flatnonzero(~kept)
    new_of_old = np.full(len(memo.slugs) + 1, -1, dtype=np.int64)  # the last slot maps -1
    new_of_old[old_row[kept]] = np.flatnonzero(kept)

    # Term counts: the memo's rows for known texts, new counts for the others.
    table = TermTable(memo.table.words, memo.table.word_hash, memo.table.first, memo.table.second,
                      memo.table.sorted_codes, memo.table.sorted_terms, memo.table.added_codes,
                      memo.table.added_terms)
    if len(fresh):
        found = count_terms((document(papers[i]) for i in fresh.tolist()), 1)
        columns = table.absorb(found)
        fresh_counts = found.counts.tocsr()
        fresh_counts = sparse.csr_matrix(
            (np.minimum(fresh_counts.data, COUNT_MAX).astype(np.uint16),
             columns[fresh_counts.indices].astype(np.int32), fresh_counts.indptr),
            shape=(len(fresh), len(table.first)))
        fresh_counts.sort_indices()
    else:
        fresh_counts = sparse.csr_matrix((0, len(table.first)), dtype=np.uint16)
    n_terms = len(table.first)
    counts = composed(memo.counts, old_row, fresh_counts, ~kept, n_terms)
    df = counts.column_counts()
    epoch = epoch_size(n)
    reference = reference_rows(papers, epoch)
    reference_df = counts.column_counts(reference) if not reference.all() else df
    status = term_status(df, epoch, reference_df)
    del df, reference_df
    fetch = k + SPARE
    min_ticks = int(round(min_score * TICKS))

    def recompute(rows):
        return vectors(counts.take(rows), status, epoch, table.first, table.second, table.word_hash)

    everything = epoch != memo.epoch or not kept.any()
    if not everything:
        old_status = np.concatenate([memo.status, np.full(n_terms - len(memo.status), -1, np.int16)])
        moved = status != old_status
        touched = ~kept
        touched[counts.holding(moved)] = True
        del old_status, moved
        redo = np.flatnonzero(touched)
        redone = recompute(redo)
        was = _with_columns(rows_of(memo.vectors, old_row[redo]), n_terms)
        same = _same_rows(redone, was) & kept[redo]
        changed = np.zeros(n, dtype=bool)
        changed[redo[~same]] = True
        # Past this many changed papers, comparing all at once is cheaper.
        everything = changed.sum() > max(TOPN_FROM, n // 4)
    if everything:
        matrix = recompute(np.arange(n))
        changed = np.ones(n, dtype=bool)
        transposed = matrix.T.tocsr()
        lists = _candidates_of(matrix, transposed, np.arange(n), min_ticks, fetch)
        redone_lists = changed
    else:
        # Unchanged rows keep their vector (the memo's), changed ones take the new one.
        keep_old = kept.copy()
        keep_old[redo[~same]] = False
        new_rows = np.flatnonzero(~keep_old)
        take = np.isin(redo, new_rows)
        # The memo keeps them as layers over its base; the product needs them as one matrix.
        kept_vectors = composed(memo.vectors, old_row, redone[np.flatnonzero(take)], ~keep_old, n_terms)
        del redone
        matrix = kept_vectors.tocsr()
        transposed = None  # (few rows are compared: see _compare)
        lists, redone_lists = _updated_lists(memo, new_of_old, slugs, matrix, transposed, changed,
                                             kept, min_ticks, fetch, k)
    vectors_now = matrix if everything else kept_vectors
    del transposed, matrix  # (as big as the vectors: explaining reads only the rows it needs)
    chosen = _chosen(lists, k)
    reuse = np.zeros(n, dtype=bool)
    if previous is not None and not everything:
        old_chosen = _chosen(memo.candidates, k)
        reuse = _same_choice(old_chosen, old_row, new_of_old, chosen) & ~changed & ~redone_lists
        reuse &= ~_per_row_any(changed[chosen.rows], chosen.indptr)
        reuse &= np.fromiter(map(previous.__contains__, slugs), bool, n) if n else reuse
    result = _result(papers, slugs, vectors_now, table, chosen, reuse, previous, as_pairs)
    new_memo = RelatedMemo(memo.settings, tuple(slugs), keys, table, counts, status, epoch, vectors_now, lists,
                           None if prints is None else tuple(prints), reference=reference)
    return result, new_memo


def _updated_lists(memo: RelatedMemo, new_of_old: np.ndarray, slugs: list[str], matrix, transposed,
                   changed: np.ndarray, kept: np.ndarray, min_ticks: int, fetch: int,
                   k: int) -> tuple[Candidates, np.ndarray]:
    """Return the candidate lists after an update, and which rows were compared with all."""
    n = len(slugs)
    changed_rows = np.flatnonzero(changed)
    old = memo.candidates
    old_ticks, old_cols = old.ticks, old.rows
    # Each list's cut: its last entry (ticks, slug position) before the update.
    last = memo.candidates.indptr[1:] - 1
    has_last = np.diff(memo.candidates.indptr) > 0
    cut_ticks = np.full(n, min_ticks - 1, dtype=np.int64)
    cut_pos = np.full(n, -1, dtype=np.int64)
    complete = np.ones(n, dtype=bool)
    owner = new_of_old[:-1]
    alive = (owner >= 0) & ~changed[np.maximum(owner, 0)]
    complete[owner[alive]] = memo.candidates.complete[alive]
    open_rows = alive & ~memo.candidates.complete & has_last
    if open_rows.any():
        where = owner[open_rows]
        cut_ticks[where] = old_ticks[last[open_rows]]
        cut_pos[where] = _positions(memo.slugs, new_of_old, slugs)[old_cols[last[open_rows]]]
    # The memo's lists of unchanged rows, without the papers that changed or left. Old and
    # new rows are both in slug order, so the entries kept stay grouped by ascending new row.
    # (per old row first, then per entry as bools: no whole-size index arrays)
    stays_as = new_of_old >= 0
    stays_as[stays_as] = ~changed[new_of_old[stays_as]]
    old_lengths = np.diff(old.indptr)
    keep_entry = stays_as[old.rows]
    keep_entry &= np.repeat(alive, old_lengths)
    # (a False after the last entry: rows that start there, empty, sum to 0; so do empty rows
    # inside, which reduceat would give their next entry)
    kept_here = np.add.reduceat(np.append(keep_entry, False), old.indptr[:-1], dtype=np.int64)
    kept_here[old_lengths == 0] = 0
    lengths = np.zeros(n, dtype=np.int64)
    lengths[owner[alive]] = kept_here[alive]
    base_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=base_indptr[1:])
    base = Candidates(base_indptr, new_of_old.astype(np.int32)[old.rows[keep_entry]], old_ticks[keep_entry], complete)
    del keep_entry, kept_here
    # Pairs with a changed paper enter a list where they rank before its cut.
    def admit(other, target, ticks):
        before = (ticks > cut_ticks[target]) | ((ticks == cut_ticks[target]) & (other < cut_pos[target]))
        return ~changed[target] & (complete[target] | before)

    own, (other, target, ticks) = _compare(matrix, transposed, changed_rows, min_ticks, fetch, admit)
    # Removing entries keeps a list in order: only the lists that gain entries are sorted again.
    gaining = np.unique(target)
    mine = _spans(base.indptr[gaining], lengths[gaining])
    local = np.searchsorted(gaining, np.concatenate([np.repeat(gaining, lengths[gaining]), target]))
    merged = _ranked(local, np.concatenate([base.rows[mine], other]),
                     np.concatenate([base.ticks[mine], ticks]), len(gaining), fetch, complete[gaining])
    lists = _replaced(base, np.concatenate([changed_rows, gaining]), _joined([own, merged]))
    # Lists that lost too much to name k papers: compared with all again.
    short = np.flatnonzero(~lists.complete & (np.diff(lists.indptr) < k) & ~changed)
    if len(short):
        lists = _replaced(lists, short, _candidates_of(matrix, transposed, short, min_ticks, fetch))
    compared = changed.copy()
    compared[short] = True
    return lists, compared


def _positions(old_slugs: Sequence[str], new_of_old: np.ndarray, slugs: list[str]) -> np.ndarray:
    """Return, per old row, its slug's position in the new sorted slugs (or where it would go)."""
    import bisect

    positions = new_of_old[:-1].copy()
    for row in np.flatnonzero(positions < 0).tolist():
        positions[row] = bisect.bisect_left(slugs, old_slugs[row])
    return positions


def _same_choice(old: Candidates, old_row: np.ndarray, new_of_old: np.ndarray, new: Candidates) -> np.ndarray:
    """Return, per (new) row, whether it chose the same papers with the same scores as before."""
    n = len(new.complete)
    same = np.zeros(n, dtype=bool)
    kept_rows = np.flatnonzero(old_row >= 0)
    if not len(kept_rows):
        return same
    old_lengths = np.diff(old.indptr)[old_row[kept_rows]]
    equal_length = old_lengths == np.diff(new.indptr)[kept_rows]
    rows = kept_rows[equal_length]
    if not len(rows):
        return same
    lengths = np.diff(new.indptr)[rows]
    pick_old = _spans(old.indptr[old_row[rows]], lengths)
    pick_new = _spans(new.indptr[rows], lengths)
    differ = (new_of_old[old.rows[pick_old]] != new.rows[pick_new]) | (old.ticks[pick_old] != new.ticks[pick_new])
    same[rows] = ~_per_row_any(differ, np.concatenate([[0], np.cumsum(lengths)]))
    return same


def _result(papers, slugs: list[str], vectors, table: TermTable, chosen: Candidates, reuse: np.ndarray,
            previous, as_pairs: bool) -> dict[str, tuple]:
    """Return slug -> related tuple: reused from `previous` where marked, explained elsewhere.

    vectors: a CSR matrix, or LayeredRows of which only the rows explained are read.
    """
    rows, cols, ticks = _entries(chosen)
    fresh = ~reuse[rows]
    pairs_i, pairs_j = rows[fresh], cols[fresh]
    if isinstance(vectors, LayeredRows):
        needed = np.unique(np.concatenate([pairs_i, pairs_j]))
        vectors = vectors.take(needed)
        pairs_i, pairs_j = np.searchsorted(needed, pairs_i), np.searchsorted(needed, pairs_j)
    explained = iter(explain(vectors, table, pairs_i, pairs_j))
    others = [slugs[j] for j in cols[fresh].tolist()]
    if as_pairs:
        flat: list = list(zip(others, explained))
    else:
        flat = list(map(Related, others, (ticks[fresh] / TICKS).tolist(), explained))
    lengths = np.where(reuse, 0, np.diff(chosen.indptr))
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    # Reused lists are taken in one pass (most rows at 100k papers); the others are cut from flat.
    out = dict.fromkeys(slugs)
    reused = [slugs[i] for i in np.flatnonzero(reuse).tolist()]
    if reused:
        out.update(zip(reused, map(previous.__getitem__, reused)))
    for i in np.flatnonzero(~reuse).tolist():
        out[slugs[i]] = tuple(flat[bounds[i]:bounds[i + 1]])
    return out


# ---- the memo saved as a base and a delta ---------------------------------------------

DELTA_SHARE = 0.125
"""A delta touching more than this share of the rows is replaced by a new base."""
SMALL_DELTA = 256
"""Rows a delta may always touch."""


@dataclass(frozen=True, eq=False)
class MemoDelta:
    """What turns a base RelatedMemo into a later one: the rows that differ from the base's, by slug.

    A digest changes a few hundred rows of 100k (its papers, the vectors its terms moved,
    the candidate lists it entered); the rest of a later memo is the base's, the candidate
    lists' rows renumbered. The term table only grows, so the delta holds its new terms.
    """

    settings: str
    base_rows: int
    base_terms: int
    base_words: int
    """Sizes of the base this delta applies to (a check, beside the files' token)."""
    removed: frozenset
    """Slugs of the base that the memo no longer has."""
    slugs: tuple[str, ...]
    """Slugs of the rows held here (sorted): new rows and rows that differ from the base's."""
    keys: np.ndarray
    fingerprints: tuple | None
    counts: sparse.csr_matrix
    vectors: sparse.csr_matrix
    lists: Candidates
    """The rows' candidate lists, other papers as rows of the whole memo."""
    words: list
    word_hash: np.ndarray
    first: np.ndarray
    second: np.ndarray
    """The terms (and words) added since the base."""
    status: np.ndarray
    epoch: int
    complete: np.ndarray
    """Per row of the whole memo (small arrays: kept whole)."""
    made_for: Any = None
    reference: np.ndarray | None = None
    """Per row of the whole memo, as RelatedMemo.reference."""
    count_rows: np.ndarray | None = None
    vector_rows: np.ndarray | None = None
    """Per row held here, the base row whose counts (vector) it has, or -1 when they are in
    counts (vectors); None: all are. A row whose list alone changed keeps the base's."""


def _row_map(old_slugs: Sequence[str], slugs: Sequence[str]) -> np.ndarray:
    """Return, per slug, its row in old_slugs, or -1."""
    index = dict(zip(old_slugs, range(len(old_slugs))))
    return np.fromiter(map(index.get, slugs, itertools.repeat(-1)), dtype=np.int64, count=len(slugs))


def _lists_renumbered(lists: Candidates, new_of_old: np.ndarray, old_row: np.ndarray) -> Candidates:
    """Return, per row, the list of old row old_row[i] with its papers renumbered (empty where -1;
    a paper that left becomes -1). The old rows named must ascend (rows in slug order)."""
    valid = old_row >= 0
    source = old_row[valid]
    if len(source) > 1 and not (np.diff(source) > 0).all():
        raise ValueError("old rows out of order")
    old_lengths = np.diff(lists.indptr)
    picked = np.zeros(len(old_lengths), dtype=bool)
    picked[source] = True
    lengths = np.zeros(len(old_row), dtype=np.int64)
    lengths[valid] = old_lengths[source]
    indptr = np.zeros(len(old_row) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    entries = np.repeat(picked, old_lengths)
    complete = np.zeros(len(old_row), dtype=bool)
    complete[valid] = lists.complete[source]
    return Candidates(indptr, new_of_old.astype(np.int32)[lists.rows[entries]], lists.ticks[entries], complete)


def _same_lists(a: Candidates, b: Candidates) -> np.ndarray:
    """Return, per row, whether the two lists hold the same papers and ticks in the same order."""
    a_lengths, b_lengths = np.diff(a.indptr), np.diff(b.indptr)
    same = a_lengths == b_lengths
    in_a, in_b = np.repeat(same, a_lengths), np.repeat(same, b_lengths)
    differ = a.rows[in_a] != b.rows[in_b]
    differ |= a.ticks[in_a] != b.ticks[in_b]
    lengths = np.where(same, a_lengths, 0)
    same &= ~_per_row_any(differ, np.concatenate([[0], np.cumsum(lengths)]))
    return same


def memo_delta(previous: RelatedMemo, memo: RelatedMemo, base: tuple[int, int, int],
               touched: frozenset = frozenset(), removed: frozenset = frozenset(), *,
               share: float = DELTA_SHARE, small: int = SMALL_DELTA,
               base_matrices: tuple | None = None) -> MemoDelta | None:
    """Return the delta turning a base into memo; None when a new base is due.

    previous is the memo that base and its delta (touched: the slugs it holds; removed)
    made, or the base itself; base = its (rows, terms, words). Rows are compared by
    value with previous's rows of the same slug, so only what really differs is kept.
    base_matrices = (the base's counts, its vectors) as LayeredRows bases: a row of memo
    that takes its counts (vector) from one of their rows names that row, not its values.
    """
    base_rows, base_terms, base_words = base
    table = memo.table
    if (not base_rows or not len(previous.slugs) or memo.settings != previous.settings or len(table.first) < base_terms or len(table.words) < base_words
            or len(previous.table.first) < base_terms or (previous.fingerprints is None) != (memo.fingerprints is None)):
        return None
    n = len(memo.slugs)
    old_row = _row_map(previous.slugs, memo.slugs)
    new_of_old = np.full(len(previous.slugs) + 1, -1, dtype=np.int64)
    new_of_old[old_row[old_row >= 0]] = np.flatnonzero(old_row >= 0)
    had = old_row >= 0
    differ = ~had
    differ[had] = memo.keys[had] != previous.keys[old_row[had]]
    if memo.fingerprints is not None:
        old_prints = np.array(previous.fingerprints + (None,), dtype=object)
        differ |= np.array(memo.fingerprints, dtype=object) != old_prints[old_row]
    differ |= _differing_rows(memo.vectors, previous.vectors, old_row)
    # (a row with the same text has the same counts: the update copies them from the memo)
    differ |= ~_same_lists(memo.candidates, _lists_renumbered(previous.candidates, new_of_old, old_row))
    slugs_now = set(memo.slugs)
    rows = np.flatnonzero(differ | np.fromiter(map(touched.__contains__, memo.slugs), bool, n)
                          if touched else differ)
    if len(rows) > max(small, share * n):
        return None
    gone = (removed | (set(previous.slugs) - slugs_now)) - slugs_now
    prints = memo.fingerprints
    counts, count_rows = _delta_rows(memo.counts, rows, base_matrices and base_matrices[0])
    vectors, vector_rows = _delta_rows(memo.vectors, rows, base_matrices and base_matrices[1])
    return MemoDelta(
        memo.settings, base_rows, base_terms, base_words, frozenset(gone),
        tuple(memo.slugs[i] for i in rows.tolist()), memo.keys[rows],
        None if prints is None else tuple(prints[i] for i in rows.tolist()),
        counts, vectors, _lists_renumbered(memo.candidates, np.append(np.arange(n), -1), rows),
        list(table.words[base_words:]), table.word_hash[base_words:], table.first[base_terms:],
        table.second[base_terms:], memo.status, memo.epoch, memo.candidates.complete, memo.made_for,
        memo.reference, count_rows, vector_rows)


def _delta_rows(matrix, rows: np.ndarray, base) -> tuple[sparse.csr_matrix, np.ndarray | None]:
    """Return (the values of these rows that are not rows of `base`, per row its base row or -1)."""
    if base is None or not isinstance(matrix, LayeredRows) or matrix.base is not base:
        return rows_of(matrix, rows), None
    source = matrix.source[rows]
    return matrix.take(rows[source < 0]), np.where(source >= 0, source, -1)


def _placed(base_matrix, old_row: np.ndarray, at: np.ndarray, is_held: np.ndarray, held, from_base,
            n_base: int, n_cols: int) -> LayeredRows | None:
    """Return with_delta's rows of one matrix: the base's old_row rows, at `at` the delta's
    (from_base: per delta row, the base row it takes, or -1 for its own next row)."""
    source, fresh = old_row.copy(), is_held.copy()
    if from_base is not None:
        from_base = np.asarray(from_base)
        if len(from_base) != len(at) or (len(from_base) and from_base.max() >= n_base):
            return None
        mine = from_base >= 0
        source[at[mine]] = from_base[mine]
        fresh[at[mine]] = False
    if held.shape[0] != int(fresh.sum()):
        return None
    return composed(base_matrix, source, held, fresh, n_cols)


def with_delta(base: RelatedMemo, delta: MemoDelta) -> RelatedMemo | None:
    """Return the memo a base and its delta stand for; None when they do not fit together."""
    import bisect

    table = base.table
    if not (isinstance(base, RelatedMemo) and isinstance(delta, MemoDelta) and base.slugs
            and delta.settings == base.settings
            and (len(base.slugs), len(table.first), len(table.words))
            == (delta.base_rows, delta.base_terms, delta.base_words)
            and (base.fingerprints is None) == (delta.fingerprints is None)):
        return None
    held = set(delta.slugs)
    gone = delta.removed | held
    base_rows = [i for i, s in enumerate(base.slugs) if s not in gone]
    kept = [base.slugs[i] for i in base_rows]
    held_base = [(i, s) for i, s in enumerate(base.slugs) if s in held]
    n = len(kept) + len(delta.slugs)
    at = np.array([bisect.bisect_left(kept, s) for s in delta.slugs], dtype=np.int64) + np.arange(len(delta.slugs))
    if len(delta.complete) != n or delta.lists.indptr.shape[0] != len(at) + 1:
        return None
    is_held = np.zeros(n, dtype=bool)
    is_held[at] = True
    old_row = np.full(n, -1, dtype=np.int64)
    old_row[~is_held] = base_rows
    slug_array = np.empty(n, dtype=object)
    slug_array[~is_held] = kept
    slug_array[at] = delta.slugs
    slugs = tuple(slug_array.tolist())
    keys = base.keys[np.maximum(old_row, 0)]
    keys[at] = delta.keys
    prints = None
    if base.fingerprints is not None:
        print_array = np.array(base.fingerprints + (None,), dtype=object)[old_row]
        print_array[at] = delta.fingerprints
        prints = tuple(print_array.tolist())
    new_table = TermTable(table.words + list(delta.words), np.concatenate([table.word_hash, delta.word_hash]),
                          np.concatenate([table.first, delta.first]), np.concatenate([table.second, delta.second]),
                          table.sorted_codes, table.sorted_terms, table.added_codes, table.added_terms)
    if len(delta.first):
        codes = (delta.first.astype(np.int64) << 32) | (delta.second.astype(np.int64) + 1)
        new_table.add_codes(codes, delta.base_terms + np.arange(len(codes)))
    n_terms = len(new_table.first)
    if len(delta.status) != n_terms:
        return None
    if delta.reference is not None and len(delta.reference) != n:
        return None
    counts = _placed(base.counts, old_row, at, is_held, delta.counts, delta.count_rows, len(base.slugs), n_terms)
    vectors = _placed(base.vectors, old_row, at, is_held, delta.vectors, delta.vector_rows, len(base.slugs), n_terms)
    if counts is None or vectors is None:
        return None
    new_of_old = np.full(len(base.slugs) + 1, -1, dtype=np.int64)
    new_of_old[base_rows] = np.flatnonzero(~is_held)
    # Papers of the base whose rows the delta holds are still there: kept lists may name them.
    position = dict(zip(delta.slugs, at.tolist()))
    for i, s in held_base:
        new_of_old[i] = position[s]
    lists = _lists_renumbered(base.candidates, new_of_old, old_row)
    if (lists.rows < 0).any():
        return None  # a kept list names a paper that left: it should have been in the delta
    lists = _replaced(lists, at, delta.lists)
    lists = Candidates(lists.indptr, lists.rows, lists.ticks, delta.complete)
    return RelatedMemo(base.settings, slugs, keys, new_table, counts, delta.status, delta.epoch, vectors, lists,
                       prints, delta.made_for, delta.reference)
