"""The tokenizer: Python and the browser produce identical terms (shared vectors)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

from conftest import FIXTURES, ROOT
from site_src.search.tokenize import STOP_WORDS, fold, index_terms, query_terms

VECTORS = json.loads((FIXTURES / "search" / "token_vectors.json").read_text(encoding="utf-8"))["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["text"][:30] for v in VECTORS])
def test_python_tokens_match_the_shared_vectors(vector):
    terms, end = index_terms(vector["text"])
    assert [list(t) for t in terms] == vector["index"]
    assert end == vector["end"]
    assert query_terms(vector["text"]) == vector["query"]


def test_hyphenated_and_closed_forms_share_a_term():
    hyphenated = {t for t, _ in index_terms("pre-trained")[0]}
    assert {"pre", "trained", "pretrained"} <= hyphenated
    assert query_terms("Pre-Trained") == query_terms("pretrained") == ["pretrained"]


def test_accents_and_case_fold_away():
    assert query_terms("CAFÉ Ørsted Łódź") == ["cafe", "orsted", "lodz"]


def test_arxiv_ids_stay_whole_without_their_version():
    assert query_terms("arXiv:2407.13168v3 hep-th/9901001v2") == ["arxiv", "2407.13168", "hepth", "9901001"]


def test_stop_words_are_skipped_but_keep_their_position():
    terms, end = index_terms("learning to rank")
    assert terms == [("learning", 0), ("rank", 2)]
    assert end == 3


def test_every_stop_word_is_in_the_vectors_so_both_lists_agree():
    listed = next(v for v in VECTORS if v["text"].startswith("a an and"))
    assert set(listed["text"].split()) == STOP_WORDS


@given(st.text(max_size=200))
def test_tokenizing_never_fails_and_terms_are_folded(text):
    terms, end = index_terms(text)
    positions = [p for _, p in terms]
    assert positions == sorted(positions)
    for term, position in terms:
        assert term and fold(term) == term and 0 <= position < end


def test_node_tests_pass_on_the_same_vectors_and_a_built_index():
    """Run `node --test tests/js/` (tokenizer vectors, engine over a Python-built index)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the browser half of search is tested with node --test")
    result = subprocess.run([node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable}, timeout=120)
    summary = [line for line in result.stdout.splitlines() if line.startswith(("# pass", "# fail", "not ok"))]
    assert result.returncode == 0, "\n".join(summary) + "\n" + result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in summary
