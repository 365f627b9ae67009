"""Related papers: TF-IDF cosine similarity over title and abstract, with the terms that explain it.

Every corpus-wide step is a few array operations, so 100k papers take seconds:

* words are split from the lowered bytes of each text (`bytes.translate` + `split`) and
  numbered through one dict; the taxonomy's normalization (plurals, spellings) is applied
  once per distinct word, not per occurrence;
* unigrams and bigrams are counted as integer ids with NumPy and SciPy (no string per
  bigram, no per-paper Python loop), then weighted with scikit-learn's TfidfTransformer;
* each paper keeps its 40 heaviest terms, and sparse_dot_topn multiplies the matrix by its
  transpose keeping only each row's best candidates, so the similarity matrix is never
  held whole: memory grows with n x k, not n x n;
* the explaining terms are computed only for the pairs that are kept.

The output is deterministic: ties are broken by slug, scores are rounded.
"""
from __future__ import annotations

import hashlib
import itertools
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

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
CHUNK_ROWS = 20_000
"""Rows whose similarities are computed in one call (bounds the candidate buffers)."""
KEEP_TERMS = 40
"""Heaviest terms kept per paper for the comparison."""
DF_CAP_SHARE = 0.02
DF_CAP_MIN = 200
"""Terms found in more than max(DF_CAP_MIN, DF_CAP_SHARE x papers) papers are too common to
relate two papers; at 100k papers that is 2,000."""
N_TERMS = 3
"""Shared terms shown to explain each match."""
TERM_FLOOR = 0.25
"""A shared term is shown only if it adds at least this share of the strongest one."""
SPARE_CANDIDATES = 6
"""Candidates fetched per row beyond k (and the row itself), so ties at the cut can be seen."""
EXPLAIN_CHUNK = 50_000
"""Pairs explained at once: bounds the gathered rows (2 x chunk x KEEP_TERMS values)."""
TOKEN_CHUNK = 4096
"""Texts split at once: bounds the short-lived per-word objects."""

# Words that say nothing about a paper's subject in this field, on top of
# scikit-learn's English stop words: they would make every abstract related.
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
    """Cosine similarity of the two papers' TF-IDF vectors, rounded to 4 places."""
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
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return (frozenset(normalize_tokens(" ".join(ENGLISH_STOP_WORDS))),
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


def keep_columns(terms: Terms, keep: np.ndarray) -> Terms:
    """Return the terms with only the columns where `keep` is true."""
    new_column = np.cumsum(keep) - 1
    counts = terms.counts
    mask = keep[counts.indices]
    # Kept values per row as differences of one running count (reduceat fails on a last empty row).
    indptr = np.concatenate([[0], np.cumsum(mask)])[counts.indptr]
    kept = sparse.csr_matrix((counts.data[mask], new_column[counts.indices[mask]], indptr),
                             shape=(counts.shape[0], int(keep.sum())))
    return Terms(kept, terms.words, terms.first[keep], terms.second[keep])


def weigh(terms: Terms, frequent: np.ndarray | None = None) -> tuple[sparse.csr_matrix, Terms]:
    """Return (TF-IDF matrix with rows L2-normalized, the terms it keeps).

    `frequent` (a column mask) drops further columns: the ones seen too rarely in all.
    """
    from sklearn.feature_extraction.text import TfidfTransformer

    n = terms.counts.shape[0]
    df = np.bincount(terms.counts.indices, minlength=terms.counts.shape[1])
    min_df = 2 if n >= 1000 else 1  # one-off words cannot relate two papers
    max_df = 0.5 * n if n >= 20 else n
    keep = (df >= min_df) & (df <= max_df)
    if frequent is not None:
        keep &= frequent
    terms = keep_columns(terms, keep)
    if not terms.counts.shape[1]:  # no term left (stop words only): nothing to weigh
        return sparse.csr_matrix((n, 0), dtype=np.float32), terms
    matrix = TfidfTransformer(sublinear_tf=True).fit_transform(terms.counts)
    return matrix.astype(np.float32).tocsr(), terms


def _row_order(matrix: sparse.csr_matrix) -> np.ndarray:
    """Return the order of the stored values: by row, heaviest first, ties by column."""
    # Non-negative float32 values order like their bit patterns, so one integer key
    # sorts by row and weight; the stable sort keeps the (sorted) columns for ties.
    key = np.repeat(np.arange(matrix.shape[0], dtype=np.uint64), np.diff(matrix.indptr))
    key <<= np.uint64(32)
    key |= np.uint64(0xFFFFFFFF) - matrix.data.astype(np.float32).view(np.uint32)
    return np.argsort(key, kind="stable")


def prune(matrix, keep: int = KEEP_TERMS, df_cap: int | None = None):
    """Keep each row's `keep` heaviest terms, drop terms in more than df_cap rows, re-normalize.

    A paper is characterised by its strongest terms; the long tail of weak
    ones and the words half the corpus shares only add near-zero products,
    yet they are what makes the similarity product dense (quadratic).
    """
    from sklearn.preprocessing import normalize as l2_normalize

    matrix = sparse.csr_matrix(matrix, dtype=np.float32, copy=True)
    matrix.sum_duplicates()
    n = matrix.shape[0]
    if df_cap is None:
        df_cap = max(DF_CAP_MIN, int(n * DF_CAP_SHARE))
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    matrix.data[df[matrix.indices] > df_cap] = 0.0
    matrix.eliminate_zeros()
    order = _row_order(matrix)
    lengths = np.diff(matrix.indptr)
    rank = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], lengths)
    matrix.data[order[rank >= keep]] = 0.0
    matrix.eliminate_zeros()
    return l2_normalize(matrix, copy=False)


def top_k_similar(matrix, k: int = TOP_K, min_score: float = MIN_SCORE,
                  chunk: int = CHUNK_ROWS) -> list[list[tuple[int, float]]]:
    """Return, per row, up to k (row, cosine) pairs of the most similar other rows.

    sparse_dot_topn computes each row's products and keeps only its best
    candidates, `chunk` rows per call. Order: rounded cosine, then row; a row
    whose fetched candidates end in a tie at the cut is recomputed whole.
    """
    from sparse_dot_topn import sp_matmul_topn

    matrix = sparse.csr_matrix(matrix, dtype=np.float32)
    n = matrix.shape[0]
    transposed = matrix.T.tocsr()
    fetch = min(n, k + 1 + SPARE_CANDIDATES)
    floor = np.float32(min_score)
    out: list[list[tuple[int, float]]] = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        block = sp_matmul_topn(matrix[start:stop], transposed, top_n=fetch,
                               threshold=float(np.nextafter(floor, np.float32(-1))))
        picked, last = _pick(block, start, k, floor)
        # Candidates tied with the k-th may have been cut where a full row's weakest
        # fetched value rounds to the k-th value: look at all of that row's products.
        lengths = np.diff(block.indptr)
        full = lengths == fetch
        weakest = np.full(len(lengths), np.inf)
        if full.any():
            weakest[full] = np.minimum.reduceat(block.data, block.indptr[:-1][full])
        for offset in np.flatnonzero(full & (np.round(weakest, 4) == last)).tolist():
            row = (matrix[start + offset] @ transposed).tocsr()
            picked[offset] = _pick(row, start + offset, k, floor)[0][0]
        out.extend(picked)
    return out


def _pick(block: sparse.csr_matrix, first_row: int, k: int,
          floor: np.float32) -> tuple[list[list[tuple[int, float]]], np.ndarray]:
    """Return each block row's best k (column, rounded value), ties by column, without itself.

    Also returns, per row, its k-th rounded value before the relative floor (NaN if fewer).
    """
    n_rows = block.shape[0]
    rows = np.repeat(np.arange(n_rows), np.diff(block.indptr))
    cols, vals = block.indices, block.data
    keep = (cols != rows + first_row) & (vals >= floor)
    rows, cols = rows[keep].astype(np.int64), cols[keep].astype(np.int64)
    # Scores are rounded to 4 places, so a score is a whole number of ten-thousandths
    # and one integer key orders by row, then score (descending), then column.
    ticks = np.clip(np.rint(vals[keep].astype(np.float64) * 10_000), 0, 20_000).astype(np.int64)
    order = np.argsort((rows * 20_001 + (20_000 - ticks)) * block.shape[1] + cols)
    rows, cols, vals = rows[order], cols[order], ticks[order] / 10_000
    starts = np.searchsorted(rows, np.arange(n_rows + 1))
    rank = np.arange(len(rows)) - starts[rows]
    last = np.full(n_rows, np.nan)
    at_k = rank == k - 1
    last[rows[at_k]] = vals[at_k]
    # A neighbour far weaker than the best one shares only incidental words.
    best = vals[starts[rows]] if len(rows) else vals
    chosen = (rank < k) & (vals >= RELATIVE_FLOOR * best)
    rows, cols, vals = rows[chosen], cols[chosen], vals[chosen]
    pairs = list(zip(cols.tolist(), vals.tolist()))
    bounds = np.searchsorted(rows, np.arange(n_rows + 1)).tolist()
    return [pairs[lo:hi] for lo, hi in zip(bounds, bounds[1:])], last


def explain(matrix: sparse.csr_matrix, terms: Terms, pairs_i: np.ndarray, pairs_j: np.ndarray,
            n: int = N_TERMS) -> list[tuple[str, ...]]:
    """Return, per pair (i, j), the terms that contribute most to the rows' similarity.

    A term is shown if it adds at least TERM_FLOOR of the strongest term's
    product; a phrase replaces its own words ('label noise' hides 'label').
    """
    names = np.empty(matrix.shape[1], dtype=object)
    out: list[tuple[str, ...]] = []
    for start in range(0, len(pairs_i), EXPLAIN_CHUNK):
        i, j = pairs_i[start:start + EXPLAIN_CHUNK], pairs_j[start:start + EXPLAIN_CHUNK]
        shared = matrix[i].multiply(matrix[j]).tocsr()
        shared.sum_duplicates()
        lengths = np.diff(shared.indptr)
        rows = np.repeat(np.arange(len(i)), lengths)
        best = np.zeros(len(i), np.float32)
        filled = lengths > 0
        best[filled] = np.maximum.reduceat(shared.data, shared.indptr[:-1][filled])
        strong = shared.data.astype(np.float64) >= TERM_FLOOR * best[rows].astype(np.float64)
        shared.data[~strong] = 0.0
        shared.eliminate_zeros()
        order = _row_order(shared)  # strongest first, ties by column
        rows = np.repeat(np.arange(len(i)), np.diff(shared.indptr))
        cols = shared.indices[order]
        # Words of a strong phrase of the same pair are not shown on their own.
        second = terms.second[cols]
        phrase = second >= 0
        scale = np.int64(len(terms.words))
        covered = np.concatenate([rows[phrase] * scale + terms.first[cols[phrase]],
                                  rows[phrase] * scale + second[phrase]])
        shown = phrase | ~_contains(np.sort(covered), rows * scale + terms.first[cols])
        rows, cols = rows[shown], cols[shown]
        starts = np.searchsorted(rows, np.arange(len(i) + 1))
        first_n = np.arange(len(rows)) - starts[rows] < n
        rows, cols = rows[first_n], cols[first_n]
        missing = np.flatnonzero(np.bincount(cols, minlength=len(names)))
        missing = missing[names[missing] == None]  # noqa: E711 (element-wise test)
        names[missing] = [terms.name(c) for c in missing.tolist()]
        flat = names[cols].tolist()
        bounds = np.searchsorted(rows, np.arange(len(i) + 1)).tolist()
        out.extend(tuple(flat[lo:hi]) for lo, hi in zip(bounds, bounds[1:]))
    return out


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Return, per key, whether it is in sorted_keys (np.isin without its hashing pass)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


MEMO_VERSION = 1
"""Bump when TermsMemo's layout or meaning changes (older memos are then ignored)."""
COMPACT_SLACK = 10_000
"""The memo drops terms no text has any more once they outnumber the used ones by this much."""


@dataclass(frozen=True, eq=False)
class TermsMemo:
    """Each paper's term counts, kept from one build for the next (picklable arrays).

    Terms are numbered in the order count_terms gives its columns: single words by word,
    then word pairs by (first, second) word; words are numbered in sorted order. So the
    columns of a count matrix put together from the memo come in count_terms' order, and
    every float sum runs in the same order as in a build from scratch.
    """

    settings: str
    """Hash of what counting depends on besides the texts (stop words, title weight)."""
    words: tuple[str, ...]
    """Normalized words, sorted."""
    first: np.ndarray
    """Per term, its (first) word id (int32)."""
    second: np.ndarray
    """Per term, its second word id, or -1 for a single word (int32)."""
    keys: tuple[bytes, ...]
    """Per row of `counts`, the hash of the paper's text."""
    counts: sparse.csr_matrix
    """Occurrences of each term (column) in each text (row), float32."""


def text_key(text: str) -> bytes:
    """Return a 16-byte hash of the text a paper is compared by."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _memo_settings() -> str:
    english, domain = _stop_words()
    material = repr((MEMO_VERSION, TITLE_REPEAT, sorted(english), sorted(domain)))
    return hashlib.sha256(material.encode()).hexdigest()


def _term_codes(first: np.ndarray, second: np.ndarray, n_words: int) -> np.ndarray:
    """One int64 per term that sorts like count_terms' columns: single words, then pairs."""
    first, second = first.astype(np.int64), second.astype(np.int64)
    return np.where(second < 0, first, n_words + first * n_words + second)


def remembered_terms(papers: Sequence[Paper], memo: TermsMemo | None) -> tuple[tuple[Terms, np.ndarray], TermsMemo]:
    """Return ((the papers' term counts, each term's total count), the new memo).

    Like count_terms(map(document, papers), min_count=1), with the totals kept apart so
    the caller drops rare terms itself (a term seen once in all texts, left in here, is
    not in count_terms(..., min_count=2)'s columns: its single word and its pairs with a
    rare word are counted below min_count, so the weights come out the same). Only texts
    the memo does not hold are counted again.
    """
    settings = _memo_settings()
    if not isinstance(memo, TermsMemo) or memo.settings != settings:
        memo = TermsMemo(settings, (), np.zeros(0, np.int32), np.zeros(0, np.int32), (),
                         sparse.csr_matrix((0, 0), dtype=np.float32))
    # Texts are made again where needed rather than held: 150 MB at 100k papers.
    keys = [text_key(document(p)) for p in papers]
    row_of = {key: row for row, key in enumerate(memo.keys)}
    rows = np.array([row_of.get(key, -1) for key in keys], dtype=np.int64)
    missing = np.flatnonzero(rows < 0)
    if len(missing):
        found = count_terms((document(papers[i]) for i in missing.tolist()), 1)
    else:
        found = Terms(sparse.csr_matrix((0, 0), dtype=np.float32), (), np.zeros(0, np.int32), np.zeros(0, np.int32))

    # Words: the memo's and the new texts', in one sorted list.
    known_words = set(memo.words)
    new_words = [w for w in found.words if w not in known_words]
    if new_words:
        words = tuple(sorted(memo.words + tuple(new_words)))
        number = {w: i for i, w in enumerate(words)}
        old_word = np.array([number[w] for w in memo.words] + [-1], dtype=np.int64)
    else:
        words = memo.words
        number = {w: i for i, w in enumerate(words)} if len(found.words) else {}
        old_word = np.append(np.arange(len(words), dtype=np.int64), -1)
    found_word = np.array([number[w] for w in found.words] + [-1], dtype=np.int64)
    n_words = len(words)
    # Renumbering words keeps their order, so the memo's terms stay sorted.
    old_codes = _term_codes(old_word[memo.first], old_word[memo.second], n_words)
    found_codes = _term_codes(found_word[found.first], found_word[found.second], n_words)
    at = np.searchsorted(old_codes, found_codes)
    known = at < len(old_codes)
    known[known] = old_codes[at[known]] == found_codes[known]
    added = np.unique(found_codes[~known])
    codes = np.insert(old_codes, np.searchsorted(old_codes, added), added)
    old_term = np.arange(len(old_codes)) + np.searchsorted(added, old_codes)
    found_term = np.searchsorted(codes, found_codes)
    is_pair = codes >= n_words
    first = np.where(is_pair, (codes - n_words) // max(n_words, 1), codes).astype(np.int32)
    second = np.where(is_pair, (codes - n_words) % max(n_words, 1), -1).astype(np.int32)

    # Rows: the memo's (columns renumbered) and the new texts', in the papers' order.
    n_terms = len(codes)
    old_rows = memo.counts[rows[rows >= 0]] if len(missing) < len(papers) else None
    parts = []
    if old_rows is not None:
        old_rows.indices = old_term[old_rows.indices].astype(np.int32)
        old_rows.resize((old_rows.shape[0], n_terms))
        parts.append(old_rows)
    if len(missing):
        new_rows = found.counts.tocsr()
        new_rows.indices = found_term[new_rows.indices].astype(np.int32)
        new_rows.resize((new_rows.shape[0], n_terms))
        parts.append(new_rows)
    if not parts:
        counts = sparse.csr_matrix((0, n_terms), dtype=np.float32)
    else:
        counts = sparse.vstack(parts, format="csr", dtype=np.float32) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            # vstack put the memo's rows first: put every row back at its paper.
            place = np.empty(len(papers), dtype=np.int64)
            place[rows >= 0] = np.arange(len(papers) - len(missing))
            place[missing] = np.arange(len(papers) - len(missing), len(papers))
            counts = counts[place]
    totals = np.bincount(counts.indices, weights=counts.data, minlength=n_terms)
    terms = Terms(counts, words, first, second)
    new_memo = TermsMemo(settings, words, first, second, tuple(keys), counts)
    if n_terms > 2 * np.count_nonzero(totals) + COMPACT_SLACK:
        new_memo = _compacted(new_memo, totals > 0)
    return (terms, totals), new_memo


def _compacted(memo: TermsMemo, used: np.ndarray) -> TermsMemo:
    """Return the memo without the terms no text has any more (and their words)."""
    first, second = memo.first[used], memo.second[used]
    word_used = np.zeros(len(memo.words) + 1, dtype=bool)
    word_used[first] = True
    word_used[second] = True  # -1 marks the spare last slot
    word_used = word_used[:-1]
    new_word = np.append(np.cumsum(word_used) - 1, -1).astype(np.int32)
    words = tuple(w for w, u in zip(memo.words, word_used.tolist()) if u)
    counts = memo.counts.copy()
    counts.indices = (np.cumsum(used) - 1)[counts.indices].astype(np.int32)
    counts.resize((counts.shape[0], int(used.sum())))
    return TermsMemo(memo.settings, words, new_word[first], new_word[second], memo.keys, counts)


def related_papers(papers: Sequence[Paper], k: int = TOP_K,
                   min_score: float = MIN_SCORE) -> dict[str, tuple[Related, ...]]:
    """Find each paper's k most related papers with the terms they share: slug -> Related."""
    return update_related(papers, None, k, min_score, remember=False)[0]


def update_related(papers: Sequence[Paper], memo: TermsMemo | None = None, k: int = TOP_K,
                   min_score: float = MIN_SCORE, *, remember: bool = True,
                   as_pairs: bool = False) -> tuple[dict[str, tuple], TermsMemo | None]:
    """related_papers, and the memo for the next call: only papers whose text is new are counted.

    The result is the same as related_papers(papers, k, min_score) whatever the memo holds;
    as_pairs=True gives (slug, terms) pairs instead of Related objects (the site's shape).
    """
    papers = sorted(papers, key=lambda p: p.slug)  # order-independent output
    with collector_paused():
        if memo is None and not remember:
            # Nothing to reuse or keep: count with the real min_count, so rare terms (most
            # pairs) never become columns (less memory and time than the memo's way).
            min_count = 2 if len(papers) >= 1000 else 1
            counted, new_memo = (count_terms(map(document, papers), min_count), None), None
        else:
            counted, new_memo = remembered_terms(papers, memo)
            if not remember:
                new_memo = None  # and the counts can go once weighed
        if len(papers) < 2:
            return {p.slug: () for p in papers}, new_memo
        holder = [counted]
        del counted
        return _related(papers, holder, k, min_score, as_pairs), new_memo


def _related(papers: Sequence[Paper], holder: list[tuple[Terms, np.ndarray | None]], k: int,
             min_score: float, as_pairs: bool = False) -> dict[str, tuple]:
    """related_papers for two or more papers sorted by slug, their terms counted (in `holder`).

    The counts (with each term's total, or None when rare terms are already left out) come
    in a list this function empties, so that (unless a memo keeps them) they are freed once
    weighed, before the similarity product: ~120 MB at 100k papers.
    """
    min_count = 2 if len(papers) >= 1000 else 1  # one-off words cannot relate two papers
    all_terms, totals = holder.pop()
    matrix, terms = weigh(all_terms, None if totals is None else totals >= min_count)
    del all_terms, totals
    if not matrix.shape[1]:
        return {p.slug: () for p in papers}
    matrix = prune(matrix)
    neighbours = top_k_similar(matrix, k, min_score)
    pairs_i = np.array([i for i, found in enumerate(neighbours) for _ in found], dtype=np.int64)
    pairs_j = np.array([j for found in neighbours for j, _ in found], dtype=np.int64)
    explained = explain(matrix, terms, pairs_i, pairs_j)
    slugs = [p.slug for p in papers]
    others = [slugs[j] for j in pairs_j.tolist()]
    # Half a million results at 100k papers: built by map/zip, not one generator per paper.
    if as_pairs:
        flat: list = list(zip(others, explained))
    else:
        flat = list(map(Related, others, [score for found in neighbours for _, score in found], explained))
    bounds = np.concatenate([[0], np.cumsum([len(found) for found in neighbours])]).tolist()
    return {slug: tuple(flat[lo:hi]) for slug, lo, hi in zip(slugs, bounds, bounds[1:])}
