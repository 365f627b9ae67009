"""Folder locks: one holder per folder, and a hard-linked copy of a folder locks on its own."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from site_src import lockfile

HOLD_IN_CHILD = """
import sys, time
from site_src import lockfile
with lockfile.locked(sys.argv[1]):
    print("held", flush=True)
    time.sleep(30)
"""


@pytest.fixture
def holder():
    """Start a process that holds a folder's lock; yields a function taking the folder."""
    children = []

    def hold(folder):
        child = subprocess.Popen([sys.executable, "-c", HOLD_IN_CHILD, str(folder)],
                                 stdout=subprocess.PIPE, text=True,
                                 cwd=os.path.dirname(os.path.dirname(lockfile.__file__)))
        children.append(child)
        assert child.stdout.readline().strip() == "held"
        return child

    yield hold
    for child in children:
        child.kill()
        child.wait()


def test_a_second_holder_of_one_folder_waits_then_times_out(holder, tmp_path):
    holder(tmp_path / "site")
    waits = []
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        with lockfile.locked(tmp_path / "site", timeout=0.3, on_wait=lambda: waits.append(1)):
            pytest.fail("the lock was taken while another process held it")
    assert time.monotonic() - started >= 0.3
    assert waits == [1]


def test_the_lock_is_free_again_once_its_holder_dies(holder, tmp_path):
    holder(tmp_path / "site").kill()
    with lockfile.locked(tmp_path / "site", timeout=5):
        pass


def test_a_folder_reached_through_a_symlink_shares_the_lock(holder, tmp_path):
    holder(tmp_path / "site")
    (tmp_path / "alias").symlink_to(tmp_path / "site")
    with pytest.raises(TimeoutError):
        with lockfile.locked(tmp_path / "alias", timeout=0.2):
            pass


def test_a_hard_linked_copy_of_a_folder_has_a_lock_of_its_own(holder, tmp_path):
    original = tmp_path / "site"
    holder(original)
    subprocess.run(["cp", "-al", str(original), str(tmp_path / "copy")], check=True)
    linked = tmp_path / "copy" / lockfile.lock_path(original).name
    assert linked.stat().st_nlink == 2  # the copy holds the original's lock file too
    waits = []
    with lockfile.locked(tmp_path / "copy", timeout=2, on_wait=lambda: waits.append(1)):
        assert waits == []
    assert lockfile.lock_path(tmp_path / "copy") != linked
