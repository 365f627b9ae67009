"""Related papers: TF-IDF neighbours with the shared terms that explain them."""
from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import sparse

from conftest import SAMPLE_TEXT_DIGEST
from site_src.model import Paper
from site_src.readers import read_file
import site_src.related as related_module
from site_src.related import (_word_ids, count_terms, epoch_size, related_papers, term_status, update_related,
                               vectors)
from site_src.taxonomy import normalize_tokens
from site_src.slugs import slugify


def paper(slug: str, title: str, summary: str) -> Paper:
    return Paper(slug=slug, title=title, summary=summary)


SMALL = [
    paper("noisy-a", "Learning with label noise by sample reweighting",
          "We reweight samples to resist label noise in web-crawled datasets."),
    paper("noisy-b", "Sample reweighting against noisy labels",
          "Label noise hurts classifiers; sample reweighting by a meta network helps."),
    paper("sparse-a", "Dynamic sparse training for continual learning",
          "Sparse training grows and prunes connections during continual learning."),
    paper("sparse-b", "Energy-efficient sparse training of autoencoders",
          "Sparse training with sparse evolutionary connectivity for feature selection."),
    paper("lonely", "Satisfiability of natural language rule reasoning",
          "Propositional SAT instances written as English sentences."),
]


def test_papers_on_the_same_subject_are_each_others_first_neighbour():
    result = related_papers(SMALL)
    assert result["noisy-a"][0].slug == "noisy-b"
    assert result["noisy-b"][0].slug == "noisy-a"
    assert result["sparse-a"][0].slug == "sparse-b"


def test_shared_terms_explain_the_match_with_phrases_first():
    first = related_papers(SMALL)["noisy-a"][0]
    assert set(first.terms) & {"label noise", "sample reweighting"}
    # A phrase replaces the single words it is made of.
    assert "label" not in first.terms and "reweighting" not in first.terms


def test_a_paper_sharing_no_subject_has_no_related_papers():
    assert related_papers(SMALL)["lonely"] == ()
    assert all(r.slug != "lonely" for rs in related_papers(SMALL).values() for r in rs)


def test_a_paper_is_never_related_to_itself_and_k_is_respected():
    result = related_papers(SMALL, k=1)
    for slug, related in result.items():
        assert len(related) <= 1
        assert all(r.slug != slug for r in related)


def test_output_does_not_depend_on_input_order():
    assert related_papers(SMALL) == related_papers(list(reversed(SMALL)))


def test_ties_are_broken_by_slug():
    twins = [paper(s, "Label noise", "Label noise and sample reweighting.") for s in ("c", "b", "a", "d")]
    result = related_papers(twins, k=2)
    assert [r.slug for r in result["a"]] == ["b", "c"]
    assert [r.slug for r in result["d"]] == ["a", "b"]


def test_ties_beyond_the_fetched_candidates_are_still_broken_by_slug():
    # Twelve identical papers: every candidate ties, more than are fetched per row.
    twins = [paper(f"t{i:02d}", "Label noise", "Label noise and sample reweighting.")
             for i in range(12)]
    result = related_papers(list(reversed(twins)), k=2)
    assert [r.slug for r in result["t00"]] == ["t01", "t02"]
    assert [r.slug for r in result["t11"]] == ["t00", "t01"]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_words_are_split_and_normalized_exactly_like_the_taxonomy(text):
    ids, words = _word_ids([text])
    assert [words[i] for i in ids[:-1]] == list(normalize_tokens(text))
    assert ids[-1] == len(words)  # the break after each text


def occurring(terms) -> set[str]:
    return {terms.name(c) for c in np.flatnonzero(terms.counts.sum(axis=0))}


def test_terms_are_unigrams_without_stop_words_and_bigrams_that_do_not_cross_texts():
    terms = count_terms(["Label noise in web data", "Noise models"])
    names = occurring(terms)
    # 'data' is a domain stop word alone but part of a bigram; 'in' breaks 'noise web'.
    assert names == {"label", "noise", "web", "label noise", "web data", "noise model"}
    row = terms.counts.toarray()[1]
    assert {terms.name(c) for c in np.flatnonzero(row)} == {"noise", "noise model"}


def test_terms_rarer_than_min_count_are_left_out():
    terms = count_terms(["label noise", "label noise", "sparse training"], min_count=2)
    assert occurring(terms) == {"label", "noise", "label noise"}


def test_fewer_than_two_papers_have_nothing_related():
    assert related_papers([]) == {}
    assert related_papers(SMALL[:1]) == {"noisy-a": ()}


def unit_rows(rng, n_rows: int, n_cols: int, density: float) -> sparse.csr_matrix:
    """Random fixed-point unit vectors, as related.vectors makes them."""
    dense = rng.random((n_rows, n_cols)) * (rng.random((n_rows, n_cols)) < density)
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
    return sparse.csr_matrix(np.rint(dense * related_module.VECTOR_SCALE))


@pytest.mark.parametrize("topn_from", [1, 10_000])  # sparse_dot_topn, then SciPy
def test_candidate_lists_are_the_best_of_the_full_similarity_matrix(monkeypatch, topn_from):
    monkeypatch.setattr(related_module, "TOPN_FROM", topn_from)
    monkeypatch.setattr(related_module, "PRODUCT_ROWS", 4)
    rng = np.random.default_rng(3)
    matrix = unit_rows(rng, 37, 60, 0.15)
    dense = matrix.toarray()
    ticks = np.rint(dense @ dense.T * (related_module.TICKS / float(related_module.VECTOR_SCALE) ** 2))
    lists = related_module._candidates_of(matrix, matrix.T.tocsr(), np.arange(37), 100, 4)
    for i in range(37):
        ranking = sorted(((int(ticks[i, j]), j) for j in range(37) if j != i and ticks[i, j] >= 100),
                         key=lambda p: (-p[0], p[1]))
        mine = list(zip(lists.ticks[lists.indptr[i]:lists.indptr[i + 1]].tolist(),
                        lists.rows[lists.indptr[i]:lists.indptr[i + 1]].tolist()))
        assert mine == ranking[:len(mine)]  # a prefix of the true ranking, ties by row
        assert len(mine) >= min(len(ranking), 4 - related_module.SPARE) or len(mine) == min(len(ranking), 4)
        assert lists.complete[i] == (len(mine) == len(ranking))


def test_vectors_keep_the_heaviest_terms_as_whole_unit_vectors(monkeypatch):
    monkeypatch.setattr(related_module, "KEEP_TERMS", 2)
    counts = sparse.csr_matrix(np.array([[1, 3, 1, 5], [2, 0, 0, 1]], dtype=np.float32))
    status = np.array([0, 0, 0, 0], dtype=np.int32)
    words = np.arange(4, dtype=np.uint64)
    found = vectors(counts, status, 1024, np.zeros(4, np.int32), np.arange(4, dtype=np.int32) - 1, words)
    rows = found.toarray()
    assert np.flatnonzero(rows[0]).tolist() == [1, 3]  # the two most frequent terms
    assert np.all(rows == np.rint(rows))
    assert np.allclose(np.linalg.norm(rows, axis=1), related_module.VECTOR_SCALE, rtol=1e-6)


def test_a_term_is_weighed_by_its_frequency_bucket_and_the_epoch():
    assert [epoch_size(n) for n in (1, 2, 3, 1023, 1024, 1500)] == [1, 2, 2, 512, 1024, 1024]
    status = term_status(np.array([1, 2, 3, 4, 15, 16, 100, 1000]), 4096)
    # Single-paper terms are left out from 1,024 papers on, and terms in over ~200 papers.
    assert status[0] == -1 and status[-1] == -1
    # Frequencies move a weight only when they cross a power of two.
    assert status[1] == status[2] < status[3] < status[4] < status[5] < status[6]


@pytest.fixture(scope="module")
def shipped_related():
    result = read_file(SAMPLE_TEXT_DIGEST, today=dt.date(2025, 12, 31))
    papers = [dataclasses.replace(p, slug=slugify(p.title)) for p in result.papers]
    return related_papers(papers)


@pytest.mark.parametrize("title, expected", [
    # Checked by hand: both study what adversarially robust ImageNet CNNs learn.
    ("How explainable are adversarially-robust CNNs?",
     "The shape and simplicity biases of adversarially robust ImageNet-trained CNNs"),
    # Both make adversarial training cheaper.
    ("AccelAT: A Framework for Accelerating the Adversarial Training of Deep Neural Networks "
     "through Accuracy Gradient",
     "Efficient Adversarial Training in LLMs with Continuous Attacks"),
    # Both train classifiers on noisy labels (web noise; meta loss rescaling).
    ("An accurate detection is not all you need to combat label noise in web-noisy datasets",
     "Learning from Noisy Labels via Self-Taught On-the-Fly Meta Loss Rescaling"),
    # Both are sparse-training papers.
    ("Continual Learning with Dynamic Sparse Training: Exploring Algorithms for Effective "
     "Model Updates",
     "Quick and Robust Feature Selection: the Strength of Energy-efficient Sparse Training for "
     "Autoencoders"),
    # Both study robust classifiers and their accuracy-robustness trade-off.
    ("Improving the Accuracy-Robustness Trade-Off of Classifiers via Adaptive Smoothing",
     "Shedding More Light on Robust Classifiers under the lens of Energy-based Models"),
])
def test_hand_checked_shipped_papers_have_the_expected_top_neighbour(shipped_related, title, expected):
    related = shipped_related[slugify(title)]
    assert related, f"{title} has no related papers"
    assert related[0].slug == slugify(expected)


# ---- the memo: an update counts only new texts, with the same result

def zipf_papers(n: int, seed: int = 3, start: int = 0) -> list[Paper]:
    """N papers of Zipf-chosen words from a vocabulary with subjects, so neighbours exist."""
    import random

    rng = random.Random(seed)
    vocab = [f"w{i}x" for i in range(3000)]
    subjects = [vocab[100 + 20 * s:120 + 20 * s] for s in range(100)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    out = []
    for i in range(start, start + n):
        subject = subjects[rng.randrange(len(subjects))]
        words = rng.choices(vocab, weights=weights, k=40) + rng.choices(subject, k=12)
        rng.shuffle(words)
        out.append(paper(f"p{i:05d}", " ".join(rng.sample(subject, 3)), " ".join(words) + "."))
    return out


def updated(old, new, memo=None):
    """Related papers of `new`, computed with the memo of `old` (pickled, as the build cache keeps it)."""
    import pickle

    before, memo = update_related(old, memo)
    found, next_memo = update_related(new, pickle.loads(pickle.dumps(memo)), previous=before)
    return found, next_memo


def test_an_update_with_the_memo_finds_what_a_fresh_computation_finds():
    papers = zipf_papers(1100)  # over 1,024: terms seen once in all texts are left out
    old = papers[:1060]
    new = [dataclasses.replace(p, summary=p.summary + " label noise w7x") if i == 10 else p
           for i, p in enumerate(papers) if i != 20]
    # A word seen once before (so not a term) is seen twice after the update.
    new.append(paper("zz-rare", old[5].title, "w2999x " + old[5].summary))
    found, memo = updated(old, new)
    assert found == related_papers(new)
    assert memo.counts.shape[0] == len(new)


WORDS = ["label", "noise", "sparse", "training", "the", "a", "model", "graph", "robust", "x1",
         "y2", "-", "labels", "noisy", "reweighting", "sample", "pruning", "attack", "shift"]


@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
                min_size=0, max_size=30),
       st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), min_size=1, max_size=4),
       st.integers(1, 3), st.integers(0, 3))
@settings(max_examples=150, deadline=None)
def test_any_chain_of_updates_gives_the_result_of_a_computation_from_scratch(texts, steps, k, spare):
    """Digests that add, edit and remove papers, applied one after the other through the memo."""
    import pickle

    # First seen in arrival order, but some papers share a day and a few arrive late.
    papers = [dataclasses.replace(paper(f"p{i:02d}", t.split()[0], t),
                                  first_seen=dt.date(2025, 1, 1) + dt.timedelta(days=(i // 2) * (-1 if i % 7 == 6 else 1)))
              for i, t in enumerate(texts)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(related_module, "SPARE", spare)  # short candidate lists run out sooner
        patch.setattr(related_module, "KEEP_TERMS", 4)
        arrived = len(papers) // 2
        current = papers[:arrived]
        result, memo = update_related(current, k=k)
        for at, kind in steps:
            if kind == 0:  # a digest of new papers
                current = current + papers[arrived:arrived + 1 + at % 5]
                arrived += 1 + at % 5
            elif kind == 1 and current:  # an edited abstract
                i = at % len(current)
                current = current[:i] + [dataclasses.replace(current[i], summary=current[i].summary + " graph noise")] + current[i + 1:]
            elif kind == 2 and current:  # a removed paper
                current = current[:at % len(current)] + current[at % len(current) + 1:]
            memo = pickle.loads(pickle.dumps(memo))
            result, memo = update_related(current, memo, k=k, previous=result)
            assert result == related_papers(current, k=k)


def test_a_paper_sharing_no_term_with_the_others_changes_no_related_list():
    papers = zipf_papers(1100)
    before, memo = update_related(papers)
    stranger = paper("zz-stranger", "Quantum chromodynamics lattice", "Gluon plasma lattice quarks.")
    after, _ = update_related(papers + [stranger], memo, previous=before)
    assert after == {**before, "zz-stranger": ()}


def test_a_digest_on_known_subjects_changes_only_the_lists_that_gain_a_new_paper():
    """Terms that spread with the corpus keep their weight until it doubles, so a digest on
    known subjects moves few vectors: the lists it changes are those that now name a new
    paper, but for a subject the digest makes much more frequent (its words move)."""
    import random

    rng = random.Random(5)
    background = [f"b{i}x" for i in range(150)]
    subjects = [[f"s{s}w{i}x" for i in range(15)] for s in range(30)]
    papers = []
    for i in range(1300):
        subject = subjects[rng.randrange(len(subjects))]
        # Words apart ("the" ends a bigram): no chance pairs that a later paper may repeat.
        words = rng.choices(subject, k=10) + rng.choices(background, k=8)
        papers.append(Paper(slug=f"p{i:05d}", title=" the ".join(rng.sample(subject, 3)) + " the",
                            summary=" the ".join(words), first_seen=dt.date(2025, 1, 1) + dt.timedelta(days=i // 50)))
    before, memo = update_related(papers[:1200])
    after, _ = update_related(papers, memo, previous=before)
    new = {p.slug for p in papers[1200:]}
    moved = [s for s in before if before[s] != after[s]]
    others = [s for s in moved if not any(r.slug in new for r in after[s])]
    assert moved and len(others) <= 0.05 * len(moved), (len(moved), others)
    assert after == related_papers(papers)


def test_a_term_keeps_its_weight_while_it_spreads_with_the_corpus():
    # In the reference half it was in 40 papers; now in 70 of twice the papers: same bucket.
    assert term_status(np.array([70]), 4096, np.array([40]))[0] == term_status(np.array([40]), 4096)[0]
    # A new subject spreading faster than the corpus does move.
    assert term_status(np.array([200]), 4096, np.array([40]))[0] > term_status(np.array([40]), 4096)[0]


def test_a_memo_of_other_settings_is_ignored():
    papers = zipf_papers(50)
    _, memo = update_related(papers)
    foreign = dataclasses.replace(memo, settings="other")
    found, fresh = update_related(papers, foreign)
    assert found == related_papers(papers) and fresh.settings == memo.settings


def test_fingerprints_spare_hashing_known_papers_but_not_edited_ones():
    papers = zipf_papers(200)
    prints = {p.slug: p.slug + "-v1" for p in papers}
    before, memo = update_related(papers, fingerprints=prints)
    edited = [dataclasses.replace(p, summary="w5x w6x w7x " + p.summary) if i == 3 else p
              for i, p in enumerate(papers)]
    prints[papers[3].slug] += "-v2"
    found, _ = update_related(edited, memo, previous=before, fingerprints=prints)
    assert found == related_papers(edited)


def test_the_site_shape_holds_the_same_neighbours_and_terms():
    papers = zipf_papers(200)
    pairs, _ = update_related(papers, as_pairs=True)
    assert pairs == {slug: tuple((r.slug, r.terms) for r in rows) for slug, rows in related_papers(papers).items()}
    assert any(pairs.values())


# ---- the memo saved as a base and a delta -------------------------------------------------

def same_memo(a, b) -> bool:
    """Whether two RelatedMemos hold the same values (arrays compared by value)."""
    def value(x):
        if isinstance(x, related_module.LayeredRows):
            x = x.tocsr()
        if sparse.issparse(x):
            x = x.tocsr()
            return ("csr", x.shape, x.indptr.tolist(), x.indices.tolist(), x.data.tolist())
        if isinstance(x, np.ndarray):
            return ("array", x.dtype.kind, x.tolist())
        if dataclasses.is_dataclass(x):
            return tuple(value(getattr(x, f.name)) for f in dataclasses.fields(x))
        return x
    return value(a) == value(b)


def as_stored(memo):
    """The memo as the build cache reads a base back: counts and vectors as rows of a base."""
    whole = related_module.layered
    return dataclasses.replace(memo, counts=whole(whole(memo.counts).tocsr()), vectors=whole(whole(memo.vectors).tocsr()))


def through_delta(base, layers, previous, memo):
    """Save memo as a delta against base (as the build cache does) and load it back: (base, memo, layers)."""
    import pickle

    touched, removed = layers
    sizes = (len(base.slugs), len(base.table.first), len(base.table.words))
    delta = related_module.memo_delta(previous, memo, sizes, touched, removed, small=10 ** 9, share=1.0,
                                      base_matrices=(base.counts.base, base.vectors.base))
    if delta is None:  # (a base or a memo with no rows: a new base is due)
        assert not (base.slugs and previous.slugs)
        stored = as_stored(memo)
        return stored, stored, (frozenset(), frozenset())
    loaded = related_module.with_delta(base, pickle.loads(pickle.dumps(delta)))
    assert loaded is not None and same_memo(loaded, memo)
    return base, loaded, (frozenset(delta.slugs), delta.removed)


def test_a_memo_saved_as_base_and_deltas_loads_as_the_memo_itself():
    papers = zipf_papers(1300)
    current = papers[:1100]
    result, base = update_related(current)
    base = as_stored(base)
    memo, layers = base, (frozenset(), frozenset())
    for step in range(4):
        if step == 1:  # an edited abstract and a removed paper
            current = [dataclasses.replace(p, summary=p.summary + " w5x w9x") if i == 7 else p
                       for i, p in enumerate(current) if i != 30]
        else:
            current = current + papers[1100 + 2 * step:1102 + 2 * step]
        result, new_memo = update_related(current, memo, previous=result)
        base, memo, layers = through_delta(base, layers, memo, new_memo)
        assert update_related(current, memo, previous=result)[0] == related_papers(current)
    # Only what changed is held: fewer rows than the memo has, and of those, only the
    # counts of the texts that changed (the others name their base row).
    assert 0 < len(layers[0]) < len(memo.slugs) and layers[1]
    assert 0 < memo.counts.held.shape[0] < len(layers[0])


def test_a_delta_is_refused_by_another_base_and_a_big_one_asks_for_a_new_base():
    papers = zipf_papers(1200)
    _, base = update_related(papers[:1100])
    _, memo = update_related(papers, base)
    sizes = (len(base.slugs), len(base.table.first), len(base.table.words))
    delta = related_module.memo_delta(base, memo, sizes, small=10 ** 9, share=1.0)
    _, other = update_related(papers[:1099])
    assert related_module.with_delta(other, delta) is None
    assert related_module.memo_delta(base, memo, sizes, small=0, share=0.01) is None


@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
                min_size=0, max_size=30),
       st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), min_size=1, max_size=4))
@settings(max_examples=100, deadline=None)
def test_any_chain_of_updates_through_deltas_keeps_the_memo(texts, steps):
    papers = [dataclasses.replace(paper(f"p{i:02d}", t.split()[0], t),
                                  first_seen=dt.date(2025, 1, 1) + dt.timedelta(days=i // 2))
              for i, t in enumerate(texts)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(related_module, "KEEP_TERMS", 4)
        arrived = len(papers) // 2
        current = papers[:arrived]
        result, base = update_related(current, k=2)
        base = as_stored(base)
        memo, layers = base, (frozenset(), frozenset())
        for at, kind in steps:
            if kind in (0, 3):
                current = current + papers[arrived:arrived + 1 + at % 5]
                arrived += 1 + at % 5
            elif kind == 1 and current:
                i = at % len(current)
                current = current[:i] + [dataclasses.replace(current[i], summary=current[i].summary + " graph noise")] + current[i + 1:]
            elif kind == 2 and current:
                current = current[:at % len(current)] + current[at % len(current) + 1:]
            result, new_memo = update_related(current, memo, k=2, previous=result)
            base, memo, layers = through_delta(base, layers, memo, new_memo)
        assert update_related(current, memo, k=2, previous=result)[0] == related_papers(current, k=2)
