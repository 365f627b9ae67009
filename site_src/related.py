"""Related papers: TF-IDF cosine similarity over title and abstract, with the terms that explain it.

The similarity matrix is never held whole: rows are compared in chunks and
only each row's best k survive, so memory grows with n x chunk, not n x n.
The output is deterministic: ties are broken by slug, scores are rounded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

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
CHUNK_ROWS = 500
"""Rows whose similarities are computed at once (the product block stays sparse)."""
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


@dataclass(frozen=True, slots=True)
class Related:
    """One related paper and why."""

    slug: str
    score: float
    """Cosine similarity of the two papers' TF-IDF vectors, rounded to 4 places."""
    terms: tuple[str, ...]
    """Terms both papers weigh heavily, strongest first ('label noise', 'sample reweighting')."""


def _analyzer(english: frozenset[str], domain: frozenset[str]):
    """Return a function text -> unigrams and bigrams of normalized words.

    Unigrams skip English and domain stop words; bigrams skip only English
    ones, so 'adversarial training' is a term although 'training' alone is not.
    """

    def analyze(text: str) -> list[str]:
        words = [w for w in normalize_tokens(text) if len(w) > 1 and not w.isdigit()]
        grams = [w for w in words if w not in english and w not in domain]
        grams.extend(f"{a} {b}" for a, b in zip(words, words[1:])
                     if a not in english and b not in english and not (a in domain and b in domain))
        return grams

    return analyze


def document(paper: Paper) -> str:
    """Return the text a paper is compared by: its title (weighted) and abstract."""
    return " ".join([paper.title] * TITLE_REPEAT + [paper.summary])


def vectorize(papers: Sequence[Paper]):
    """Return (TF-IDF matrix, term names) for the papers, rows L2-normalized."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    english = frozenset(normalize_tokens(" ".join(ENGLISH_STOP_WORDS)))
    domain = frozenset(normalize_tokens(" ".join(_DOMAIN_STOP)))
    vectorizer = TfidfVectorizer(
        analyzer=_analyzer(english, domain), sublinear_tf=True, dtype=np.float32,
        min_df=2 if len(papers) >= 1000 else 1,  # one-off words cannot relate two papers
        max_df=0.5 if len(papers) >= 20 else 1.0,
    )
    matrix = vectorizer.fit_transform([document(p) for p in papers])
    return matrix.tocsr(), vectorizer.get_feature_names_out()


def prune(matrix, keep: int = KEEP_TERMS, df_cap: int | None = None):
    """Keep each row's `keep` heaviest terms, drop terms in more than df_cap rows, re-normalize.

    A paper is characterised by its strongest terms; the long tail of weak
    ones and the words half the corpus shares only add near-zero products,
    yet they are what makes the similarity product dense (quadratic).
    """
    from sklearn.preprocessing import normalize as l2_normalize

    matrix = matrix.tocsr(copy=True)
    n = matrix.shape[0]
    if df_cap is None:
        df_cap = max(DF_CAP_MIN, int(n * DF_CAP_SHARE))
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    matrix.data[df[matrix.indices] > df_cap] = 0.0
    for row in range(n):
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        if hi - lo > keep:
            weights = matrix.data[lo:hi]
            # Stable order so ties at the cut are decided by column, not by chance.
            order = np.lexsort((matrix.indices[lo:hi], -weights))
            weights[order[keep:]] = 0.0
    matrix.eliminate_zeros()
    return l2_normalize(matrix, copy=False)


def top_k_similar(matrix, k: int = TOP_K, min_score: float = MIN_SCORE,
                  chunk: int = CHUNK_ROWS) -> list[list[tuple[int, float]]]:
    """Return, per row, up to k (row, cosine) pairs of the most similar other rows.

    The product is computed `chunk` rows at a time and stays sparse: only pairs
    that share a term are ever stored, and each row keeps only its best k.
    """
    n = matrix.shape[0]
    transposed = matrix.T.tocsr()
    out: list[list[tuple[int, float]]] = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        block = (matrix[start:stop] @ transposed).tocsr()
        block.sort_indices()
        for offset in range(stop - start):
            lo, hi = block.indptr[offset], block.indptr[offset + 1]
            cols, vals = block.indices[lo:hi], block.data[lo:hi]
            keep = (cols != start + offset) & (vals >= min_score)
            cols, vals = cols[keep], np.round(vals[keep].astype(np.float64), 4)
            if len(vals) > k:
                # Everything tied with the k-th best stays a candidate, so ties
                # are broken by row (slug) order below, not by the partition.
                kth = vals[np.argpartition(-vals, k - 1)[k - 1]]
                chosen = vals >= kth
                cols, vals = cols[chosen], vals[chosen]
            picked = sorted(zip(vals.tolist(), cols.tolist()), key=lambda p: (-p[0], p[1]))[:k]
            # A neighbour far weaker than the best one shares only incidental words.
            picked = [(v, j) for v, j in picked if v >= RELATIVE_FLOOR * picked[0][0]]
            out.append([(int(j), float(v)) for v, j in picked])
    return out


def shared_terms(matrix, names, i: int, j: int, n: int = N_TERMS) -> tuple[str, ...]:
    """Return the terms that contribute most to the similarity of rows i and j."""
    # Raw CSR slices: building scipy row objects per pair costs 50x more.
    lo_i, hi_i = matrix.indptr[i], matrix.indptr[i + 1]
    lo_j, hi_j = matrix.indptr[j], matrix.indptr[j + 1]
    cols, at_i, at_j = np.intersect1d(matrix.indices[lo_i:hi_i], matrix.indices[lo_j:hi_j],
                                      assume_unique=True, return_indices=True)
    weights = matrix.data[lo_i:hi_i][at_i] * matrix.data[lo_j:hi_j][at_j]
    ranked = sorted(zip(weights.tolist(), cols.tolist()), key=lambda t: (-t[0], t[1]))
    if not ranked:
        return ()
    # Terms that add a real share of the match; a word that adds little explains nothing.
    strong = [str(names[col]) for weight, col in ranked if weight >= TERM_FLOOR * ranked[0][0]]
    # A phrase explains better than its words: 'label noise' replaces 'label' and 'noise'.
    covered = {word for term in strong if " " in term for word in term.split()}
    return tuple([t for t in strong if " " in t or t not in covered][:n])


def related_papers(papers: Sequence[Paper], k: int = TOP_K,
                   min_score: float = MIN_SCORE) -> dict[str, tuple[Related, ...]]:
    """Find each paper's k most related papers with the terms they share: slug -> Related."""
    papers = sorted(papers, key=lambda p: p.slug)  # order-independent output
    if len(papers) < 2:
        return {p.slug: () for p in papers}
    matrix, names = vectorize(papers)
    matrix = prune(matrix)
    neighbours = top_k_similar(matrix, k, min_score)
    return {
        papers[i].slug: tuple(
            Related(papers[j].slug, score, shared_terms(matrix, names, i, j)) for j, score in pairs)
        for i, pairs in enumerate(neighbours)
    }
