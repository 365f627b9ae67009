"""Memos saved as a base plus a delta (site_src/memolayers.py, buildcache.save_layered)."""
from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from site_src import buildcache, memolayers


def saved(folder, memo, previous) -> dict:
    """Save memo through the cache's layered files, then load it back as a new build would."""
    buildcache.save_layered(folder, "memo", memo, previous)
    return buildcache.load_layered(folder, "memo")


def plain(memo: dict) -> dict:
    return {name: value for name, value in memo.items() if name != memolayers.LAYERS}


def a_memo(n: int) -> dict:
    return {"papers": {f"p{i}.md": (i, f"paper {i}") for i in range(n)}, "scanned_ns": 1, "code": "c"}


def test_a_memo_comes_back_from_its_base(tmp_path):
    loaded = saved(tmp_path, a_memo(10), {})
    assert plain(loaded) == a_memo(10)
    assert not (tmp_path / "memo.delta.pickle").exists()


def test_a_small_change_is_saved_as_a_delta_holding_only_that_change(tmp_path):
    first = saved(tmp_path, a_memo(2000), {})
    base_bytes = (tmp_path / "memo.pickle").read_bytes()
    second = {**a_memo(2000), "scanned_ns": 2}
    second["papers"] = {**first["papers"], "new.md": (0, "new")}
    del second["papers"]["p5.md"]
    loaded = saved(tmp_path, second, first)
    assert plain(loaded) == second
    assert (tmp_path / "memo.pickle").read_bytes() == base_bytes, "the base was rewritten"
    delta = buildcache.load_blob(tmp_path / "memo.delta.pickle")
    changed, removed = delta["sections"]["papers"]
    assert set(changed) == {"new.md"} and removed == {"p5.md"}


def test_a_delta_past_its_share_of_the_memo_makes_a_new_base(tmp_path):
    first = saved(tmp_path, a_memo(4000), {})
    bigger = {**first, "papers": {**first["papers"], **{f"q{i}.md": (i, "q") for i in range(1000)}}}
    loaded = saved(tmp_path, plain(bigger), first)
    assert plain(loaded) == plain(bigger)
    assert not (tmp_path / "memo.delta.pickle").exists()


def test_a_delta_of_another_base_is_ignored(tmp_path):
    first = saved(tmp_path, a_memo(10), {})
    second = saved(tmp_path, {**a_memo(10), "scanned_ns": 2}, first)
    assert second["scanned_ns"] == 2
    other = tmp_path / "other"
    other.mkdir()
    saved(other, a_memo(10), {})
    (tmp_path / "memo.pickle").write_bytes((other / "memo.pickle").read_bytes())
    assert buildcache.load_layered(tmp_path, "memo")["scanned_ns"] == 1


def test_a_corrupted_delta_leaves_the_base(tmp_path):
    first = saved(tmp_path, a_memo(10), {})
    saved(tmp_path, {**a_memo(10), "scanned_ns": 2}, first)
    data = (tmp_path / "memo.delta.pickle").read_bytes()
    (tmp_path / "memo.delta.pickle").write_bytes(data[:-5])
    assert plain(buildcache.load_layered(tmp_path, "memo")) == a_memo(10)


def test_a_missing_base_means_no_memo(tmp_path):
    assert buildcache.load_layered(tmp_path, "memo") == {}
    assert memolayers.merged({"papers": {}}) == {}, "a dict without a token is not a base"


keys = st.sampled_from([f"k{i}" for i in range(12)])
edits = st.lists(st.tuples(st.sampled_from(["set", "delete"]), keys, st.integers(0, 3)), max_size=8)


@settings(max_examples=80, deadline=None)
@given(st.lists(edits, min_size=1, max_size=6))
def test_any_sequence_of_saves_loads_back_the_last_memo(rounds):
    # The files as pickled bytes, without a disk: what save_layered and load_layered do.
    base, delta, rebased = None, None, 0
    previous: dict = {}
    current = {"papers": {}, "scanned_ns": 0}
    for number, round_edits in enumerate(rounds):
        papers = dict(current["papers"])
        for action, key, value in round_edits:
            if action == "set":
                papers[key] = (value, key)
            else:
                papers.pop(key, None)
        current = {"papers": papers, "scanned_ns": number}
        made = memolayers.delta_against(previous, current, small=3)  # new bases now and then
        if made is None:
            base, delta = pickle.dumps(memolayers.new_base(current)), None
        else:
            delta = pickle.dumps(made)
        previous = memolayers.merged(pickle.loads(base), delta and pickle.loads(delta))
        assert plain(previous) == current
        rebased += made is None
    assert rebased >= 1


def test_a_delta_keeps_a_removal_when_as_many_entries_were_added_or_replaced(tmp_path):
    first = saved(tmp_path, a_memo(2000), {})
    second = {**a_memo(2000), "papers": dict(first["papers"])}
    del second["papers"]["p5.md"]
    second["papers"]["renamed.md"] = (5, "paper 5")  # (same size: one out, one in)
    second["papers"]["p6.md"] = (6, "paper 6")  # (equal, not the same object: unchanged)
    delta = memolayers.delta_against(first, second)
    changed, removed = delta["sections"]["papers"]
    assert (set(changed), removed) == ({"renamed.md"}, frozenset({"p5.md"}))
    assert plain(saved(tmp_path, second, first)) == second
