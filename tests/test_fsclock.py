"""The file system's clock (fsclock) and the folder keys a build trusts by it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from site_src import buildcache, fsclock


def test_the_file_system_now_is_no_earlier_than_what_was_written_before(tmp_path):
    before = tmp_path / "before"
    before.write_text("x")
    stamp = fsclock.file_system_now(tmp_path / "clock", tmp_path)
    after = tmp_path / "after"
    after.write_text("y")
    assert stamp is not None
    assert before.stat().st_mtime_ns <= stamp <= after.stat().st_mtime_ns
    assert list((tmp_path / "clock").iterdir()) == []  # (its file is gone)


def test_without_the_file_systems_stamp_our_clock_less_a_margin_is_used(tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    assert fsclock.file_system_now(blocked / "clock", tmp_path) is None  # (cannot make it)
    assert fsclock.file_system_now(tmp_path, Path("/proc")) is None  # (another file system)
    now = time.time_ns()
    limit = fsclock.trusted_before(blocked / "clock", tmp_path)
    assert now - fsclock.MARGIN_NS <= limit <= time.time_ns() - fsclock.MARGIN_NS
    assert fsclock.trusted_before(None, tmp_path) <= time.time_ns() - fsclock.MARGIN_NS


def test_a_folder_changed_in_the_file_systems_present_tick_is_not_trusted(tmp_path, monkeypatch):
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "b").mkdir()
    tree = {"a/index.html": (0, 0, 0), "b/index.html": (0, 0, 0)}
    for folder in ("a", "b"):
        (out / folder / "index.html").write_text(folder)
    past = time.time() - 60
    os.utime(out / "a", (past, past))
    os.utime(out, (past, past))
    b_changed = (out / "b").stat().st_mtime_ns
    # The stamp of a file made now shares b's tick: b may change again unseen.
    monkeypatch.setattr(fsclock, "file_system_now", lambda folder, like: b_changed)
    keys = buildcache.written_tree_keys(out, tree, tmp_path / "cache")
    assert set(keys) == {"", "a"}
    assert keys["a"] == ((out / "a").stat().st_mtime_ns, (out / "a").stat().st_ino)
    # A tick later, b's key would reveal any change since: trusted.
    monkeypatch.setattr(fsclock, "file_system_now", lambda folder, like: b_changed + 1)
    assert set(buildcache.written_tree_keys(out, tree, tmp_path / "cache")) == {"", "a", "b"}
