"""Slugs: readable, bounded, unique, and never a path."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from site_src.slugs import MAX_LENGTH, is_safe_slug, slugify, unique_slug


def test_a_title_becomes_lowercase_words_joined_by_hyphens():
    assert slugify("ROOT: Robust Orthogonalized Optimizer for Neural Network Training") == \
        "root-robust-orthogonalized-optimizer-for-neural-network-training"


def test_accents_and_apostrophes_fold_to_plain_ascii():
    assert slugify("Schrödinger's Cat: Æther & Straße") == "schrodingers-cat-aether-strasse"


@pytest.mark.parametrize("title", ["../../etc/passwd", "..", ".", "/", "a/../../b", "C:\\Windows",
                                   "", "   ", "\x00", "深度学习的鲁棒训练", "Обучение нейросетей",
                                   "x" * 400, "word " * 200, "~/.ssh/id_rsa", "-rf --no-preserve-root"])
def test_no_title_can_make_a_path_outside_the_papers_folder(title, tmp_path):
    slug = unique_slug(title, set(), arxiv_id=None)
    assert is_safe_slug(slug) and slug not in ("", ".", "..")
    target = (tmp_path / "papers" / f"{slug}.md").resolve()
    assert target.parent == (tmp_path / "papers").resolve()


def test_a_long_title_is_cut_at_a_word_boundary():
    slug = slugify("Scaling " * 60)
    assert len(slug) <= MAX_LENGTH and not slug.endswith("-")
    assert set(slug.split("-")) == {"scaling"}
    assert len(slugify("x" * 400)) == MAX_LENGTH


def test_a_title_with_no_latin_letters_falls_back_to_the_arxiv_id():
    assert unique_slug("深度学习", set(), arxiv_id="2407.13168") == "arxiv-2407-13168"
    assert unique_slug("深度学习", set(), arxiv_id="hep-th/9901001") == "arxiv-hep-th-9901001"


def test_a_title_with_no_latin_letters_and_no_id_gets_a_stable_hash():
    first = unique_slug("深度学习", set())
    assert first == unique_slug("深度学习", set()) and first.startswith("paper-")
    assert first != unique_slug("强化学习", set())


def test_a_collision_takes_the_arxiv_id_then_a_number():
    taken = {"attention"}
    assert unique_slug("Attention", taken, arxiv_id="1706.03762") == "attention-1706-03762"
    assert unique_slug("Attention", taken) == "attention-2"
    assert unique_slug("Attention", taken | {"attention-2"}) == "attention-3"


def test_a_suffixed_long_slug_stays_within_the_bound():
    base = slugify("word " * 100)
    slug = unique_slug("word " * 100, {base}, arxiv_id="2407.13168")
    assert len(slug) <= MAX_LENGTH and slug.endswith("-2407-13168")


@given(st.text(max_size=500), st.none() | st.text(max_size=20),
       st.sets(st.text(alphabet="abc-", max_size=5), max_size=5))
def test_every_slug_is_url_safe_bounded_fresh_and_deterministic(title, arxiv_id, taken):
    slug = unique_slug(title, taken, arxiv_id=arxiv_id)
    assert is_safe_slug(slug) and slug not in taken
    assert slug == unique_slug(title, taken, arxiv_id=arxiv_id)
    assert Path(slug).name == slug
