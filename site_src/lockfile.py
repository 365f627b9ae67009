"""Exclusive lock files (flock) that belong to one folder, even in a hard-linked copy.

flock locks an inode, not a path. A project copied with `cp -al` shares every file with
the original, its lock files included, so builds or ingests of the two copies would wait
for each other. The lock file's name therefore carries a hash of where its folder is:
a copy elsewhere locks a file of its own, while every process working in one folder
(whatever path, symlinks included, it was reached by) locks the same file.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import time
from pathlib import Path
from typing import Callable, Iterator

POLL_SECONDS = 0.05


def lock_path(folder: Path, name: str = "lock") -> Path:
    """The lock file `name` of `folder`, named for the folder's resolved location."""
    folder = Path(folder).resolve()
    where = hashlib.sha1(str(folder).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return folder / f"{name}-{where}"


def _flock(handle, deadline: float | None) -> None:
    """Take the exclusive lock, waiting; TimeoutError once past `deadline` (None: wait on)."""
    if deadline is None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        return
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"lock {handle.name} held for too long") from None
            time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def locked(folder: Path, name: str = "lock", *, timeout: float | None = None,
           on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold `folder`'s exclusive lock `name` (made with the folder if missing) in the block.

    Waits for a holder (forever, or `timeout` seconds and then TimeoutError); `on_wait` is
    called once, when it has to wait. The system drops the lock if the process dies.
    """
    Path(folder).mkdir(parents=True, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    with open(lock_path(folder, name), "a+b") as handle:  # (closing it releases the lock)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            _flock(handle, deadline)
        yield
