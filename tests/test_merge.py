"""Identity and merging: which records are one paper, and what a merge may change."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from site_src import merge
from site_src.model import Appearance, Paper

DAY1, DAY2 = dt.date(2025, 12, 12), dt.date(2025, 12, 19)
A1 = Appearance(digest="2025-12-12-one", line=5, position=0, comments=2)
A2 = Appearance(digest="2025-12-19-two", line=9, position=3, comments=7)


def record(title: str, **fields) -> Paper:
    return Paper(slug="", title=title, **fields)


def stored(title: str, slug: str = "stored", **fields) -> Paper:
    return merge.new_paper(record(title, **fields), slug=slug, appearance=A1, digest_date=DAY1)


@pytest.mark.parametrize("a, b", [
    ("Self-Supervised Learning of Visual Features", "self supervised learning of visual features"),
    ("Training Compute-Optimal Large Language Models", "Training Compute Optimal Large Language Models"),
    ("Deep Residual Learning for Image Recognition", "Deep  Residual Learning for Image Recognition."),
    ("ROOT: Robust Orthogonalized Optimizer", "ROOT - Robust Orthogonalized Optimizer"),
    ("Robust Optimi- zation for Neural Network Training", "Robust Optimization for Neural Network Training"),
    ("Schrödinger Bridges for Generative Modelling", "Schrodinger Bridges for Generative Modelling"),
    ("Robust Optimisation for Neural Network Training", "Robust Optimization for Neural Network Training"),
])
def test_case_punctuation_whitespace_and_hyphenation_variants_are_one_paper(a, b):
    index = merge.PaperIndex([stored(a)])
    assert index.match(record(b)).slug == "stored"
    assert merge.same_title(a, b) and merge.same_title(b, a)


@pytest.mark.parametrize("a, b", [
    ("Graph Attention Networks", "How Attentive are Graph Attention Networks?"),
    ("Graph Attention Networks", "Graph Attention Networks v2"),
    ("GAT", "GATv2"),
    ("Segment Anything", "Segment Anything 2"),
    ("Llama 2: Open Foundation and Fine-Tuned Chat Models",
     "Llama 3: Open Foundation and Fine-Tuned Chat Models"),
    ("Attention Is All You Need", "Attention Is Not All You Need"),
    ("Scaling Laws for Large Language Models in Low-Resource Settings",
     "Scaling Laws for Small Language Models in Low-Resource Settings"),
    ("Language Models are Few-Shot Learners", "Language Models are Zero-Shot Learners"),
    ("Denoising Diffusion Probabilistic Models", "Improved Denoising Diffusion Probabilistic Models"),
])
def test_near_miss_titles_of_different_papers_never_merge(a, b):
    for first, second in ((a, b), (b, a)):
        assert merge.PaperIndex([stored(first)]).match(record(second)).slug is None
        assert not merge.same_title(first, second)


@pytest.mark.parametrize("a, b", [
    ("Graph Attention Networks", "Graph Attention Networks v2"),
    ("Segment Anything", "Segment Anything 2"),
    ("Attention Is All You Need", "Attention Is Not All You Need"),
    ("Language Models are Few-Shot Learners", "Language Models are Zero-Shot Learners"),
])
def test_near_misses_between_the_thresholds_are_reported_as_possible_duplicates(a, b):
    for first, second in ((a, b), (b, a)):
        match = merge.PaperIndex([stored(first)]).match(record(second))
        assert match.slug is None and [slug for slug, _ in match.possible] == ["stored"]


def test_unrelated_titles_are_not_even_possible_duplicates():
    match = merge.PaperIndex([stored("Graph Attention Networks")]).match(
        record("How Attentive are Graph Attention Networks?"))
    assert match == merge.Match(None)


def test_the_arxiv_id_decides_before_the_title():
    index = merge.PaperIndex([stored("Old Title", id="2407.13168")])
    assert index.match(record("A Completely New Title", id="2407.13168")) == \
        merge.Match("stored", "id", 100.0)


def test_same_titles_with_different_arxiv_ids_are_different_papers():
    index = merge.PaperIndex([stored("Attention", id="1706.03762")])
    match = index.match(record("Attention", id="2501.00001"))
    assert match.slug is None


def test_a_record_without_id_matches_a_paper_with_one_by_title_and_vice_versa():
    assert merge.PaperIndex([stored("Mamba", id="2312.00752")]).match(record("MAMBA")).slug == "stored"
    assert merge.PaperIndex([stored("Mamba")]).match(record("Mamba", id="2312.00752")).slug == "stored"


def test_merging_the_same_record_again_changes_nothing():
    paper = stored("Mamba", summary="S", n_authors=3, comments=2)
    again = merge.merge_paper(paper, record("Mamba", summary="S", n_authors=3, comments=2),
                              appearance=A1, digest_date=DAY1)
    assert again == paper


def test_a_later_digest_refreshes_counts_appends_history_and_keeps_first_seen():
    paper = stored("Mamba", comments=2, upvotes=10)
    merged = merge.merge_paper(paper, record("Mamba", comments=7), appearance=A2, digest_date=DAY2)
    assert merged.comments == 7 and merged.upvotes == 10
    assert merged.digests == (A1, A2) and merged.first_seen == DAY1
    assert merge.hand_edited_fields(merged) == ()


def test_an_older_digest_only_fills_gaps_and_moves_first_seen_back():
    paper = merge.new_paper(record("Mamba", comments=7), slug="stored", appearance=A2,
                            digest_date=DAY2)
    merged = merge.merge_paper(paper, record("Mamba", comments=2, n_authors=4), appearance=A1,
                               digest_date=DAY1)
    assert (merged.comments, merged.n_authors) == (7, 4)
    assert merged.digests == (A1, A2) and merged.first_seen == DAY1


def test_a_digest_seen_twice_keeps_one_appearance():
    paper = stored("Mamba")
    moved = dataclasses.replace(A1, position=4, line=40)
    merged = merge.merge_paper(paper, record("Mamba"), appearance=moved, digest_date=DAY1)
    assert merged.digests == (moved,)


def test_curator_fields_are_never_touched():
    paper = dataclasses.replace(stored("Mamba"), topics=("ssm",), topics_exclude=("vision",),
                                notes="My notes.")
    merged = merge.merge_paper(paper, record("Mamba", comments=9), appearance=A2, digest_date=DAY2)
    assert (merged.topics, merged.topics_exclude, merged.notes) == (("ssm",), ("vision",), "My notes.")


def test_a_hand_corrected_title_and_abstract_survive_later_digests():
    paper = stored("Mamba: Linear Time Sequence Modelling", summary="Typo'd abstract")
    edited = dataclasses.replace(paper, title="Mamba: Linear-Time Sequence Modeling",
                                 summary="Fixed abstract")
    assert merge.hand_edited_fields(edited) == ("title", "summary")
    merged = merge.merge_paper(edited, record("Mamba: Linear Time Sequence Modelling",
                                              summary="Typo'd abstract", comments=5),
                               appearance=A2, digest_date=DAY2)
    assert merged.title == "Mamba: Linear-Time Sequence Modeling"
    assert merged.summary == "Fixed abstract" and merged.comments == 5
    assert merge.hand_edited_fields(merged) == ("title", "summary")


def test_a_record_matches_a_paper_whose_title_the_curator_corrected():
    paper = stored("Mamba Linear Time Sequence Modelling")
    edited = dataclasses.replace(paper, title="Mamba: Selective State Spaces")
    index = merge.PaperIndex([edited])
    assert index.match(record("Mamba Linear Time Sequence Modelling")) == \
        merge.Match("stored", "ingested-title", 100.0)


def test_a_field_the_curator_deleted_stays_deleted():
    paper = stored("Mamba", organization="Acme")
    cleared = dataclasses.replace(paper, organization=None)
    merged = merge.merge_paper(cleared, record("Mamba", organization="Acme"), appearance=A2,
                               digest_date=DAY2)
    assert merged.organization is None


def test_a_paper_without_id_gains_the_id_and_keeps_its_slug():
    paper = stored("Mamba", slug="mamba")
    merged = merge.merge_paper(paper, record("Mamba", id="2312.00752"), appearance=A2,
                               digest_date=DAY2)
    assert merged.id == "2312.00752" and merged.slug == "mamba"
    assert merge.hand_edited_fields(merged) == ()


def test_an_empty_value_in_a_later_digest_does_not_erase_known_data():
    paper = stored("Mamba", authors=("A. Gu", "T. Dao"), n_authors=2)
    merged = merge.merge_paper(paper, record("Mamba"), appearance=A2, digest_date=DAY2)
    assert merged.authors == ("A. Gu", "T. Dao") and merged.n_authors == 2


def test_a_coarser_publication_date_never_replaces_a_finer_one():
    paper = stored("Mamba", published_at=dt.date(2023, 12, 1), date_precision="day")
    merged = merge.merge_paper(paper, record("Mamba", published_at=dt.date(2023, 1, 1),
                                             date_precision="year"),
                               appearance=A2, digest_date=DAY2)
    assert (merged.published_at, merged.date_precision) == (dt.date(2023, 12, 1), "day")
    inferred = stored("Mamba", published_at=dt.date(2025, 12, 1), date_precision="year-inferred")
    merged = merge.merge_paper(inferred, record("Mamba", published_at=dt.date(2024, 12, 1),
                                                date_precision="day"),
                               appearance=A2, digest_date=DAY2)
    assert (merged.published_at, merged.date_precision) == (dt.date(2024, 12, 1), "day")


def test_a_spelling_variant_of_a_short_title_is_only_a_possible_duplicate():
    match = merge.PaperIndex([stored("Robust Optimisation for Training")]).match(
        record("Robust Optimization for Training"))
    assert match.slug is None and match.possible == (("stored", 96.6),)


def test_a_finer_publication_date_from_an_older_digest_fills_in_a_coarser_one():
    paper = merge.new_paper(record("Mamba", published_at=dt.date(2023, 1, 1),
                                   date_precision="year", comments=7),
                            slug="stored", appearance=A2, digest_date=DAY2)
    merged = merge.merge_paper(paper, record("Mamba", published_at=dt.date(2023, 12, 1),
                                             date_precision="day", comments=2),
                               appearance=A1, digest_date=DAY1)
    assert (merged.published_at, merged.date_precision) == (dt.date(2023, 12, 1), "day")
    assert merged.comments == 7
    assert merge.hand_edited_fields(merged) == ()


def _title_key_by_definition(title: str) -> str:
    import unicodedata

    return "".join(ch for ch in unicodedata.normalize("NFKD", title).casefold() if ch.isalnum())


@pytest.mark.parametrize("title", [
    "Graph Attention Networks v2", "LLaMA-2: Open_Foundation (16x16) — Models", "Ça va? Œuvre ﬁne Straße",
    "李 Wei 第二 ２５", "Ⅻ roman ½ fractions", "tab\tand\nnewline_under", "", "___", "ǅ Dz title",
    "".join(map(chr, range(32, 127))),
])
def test_title_key_keeps_exactly_the_alphanumeric_characters_of_the_casefolded_nfkd_form(title):
    assert merge.title_key(title) == _title_key_by_definition(title)


def test_title_key_agrees_with_its_definition_on_every_code_point():
    import sys

    for start in range(0, sys.maxunicode + 1, 4096):
        chunk = "".join(chr(c) for c in range(start, min(start + 4096, sys.maxunicode + 1))
                        if not 0xD800 <= c <= 0xDFFF)
        assert merge.title_key(chunk) == _title_key_by_definition(chunk), hex(start)
        ascii_part = "".join(ch for ch in chunk if ch.isascii())
        assert merge.title_key(ascii_part) == _title_key_by_definition(ascii_part)


def test_the_character_count_filter_keeps_every_title_that_can_score_the_review_score():
    import random

    from rapidfuzz import fuzz, process

    rng = random.Random(6)
    words = ["learning", "graph", "neural", "attention", "diffusion", "robust", "model", "in",
             "with", "for", "3d", "v2", "transformers", "é", "learnings", "grap"]
    titles = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    index = merge.PaperIndex([stored(title, slug=f"p{n:04d}") for n, title in enumerate(titles)])
    keys = [merge.title_key(title) for title in titles]
    for title in titles[:300] + ["graph neural attention", "robust diffusion model in 3d"]:
        key = merge.title_key(title)
        expected = [(f"p{at:04d}", score) for _, score, at in process.extract(
            key, keys, scorer=fuzz.ratio, score_cutoff=merge.REVIEW_SCORE, limit=10)]
        assert index._closest(key) == expected
        assert len(index._histograms.candidates(key, merge.REVIEW_SCORE)) < len(keys)
