"""The file system's own clock, for deciding which stat keys a later build may trust: the
output tree's folders (check_tree) and the inputs (a no-op build).

A key (mtime, size, inode; a folder's mtime and inode) reveals a change made after it was
recorded only if that change gives another mtime. Two changes within one tick of the file
system's timestamps (a jiffy on ext4 and tmpfs, a second on ext3, two on FAT) share an mtime,
so a key recorded in the tick of the file's or folder's last change cannot be trusted (git's
"racy clean"). The tick is not known, and a network file system stamps files by its
server's clock, not ours; so instead of a margin on our clock, we ask the file system for
its time: a file made before the stat calls carries it. What has an mtime strictly below
that stamp was last changed in an earlier tick, and any change after its stat gets a stamp
at least as late: a different key.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

MARGIN_NS = 2_000_000_000
"""Without the file system's stamp (its folder not writable, or not the file system of the
files), what changed this close to our clock's now is not trusted: wider than FAT's
two-second tick and a little clock skew."""


def file_system_now(folder: Path, like: Path, *more: Path) -> int | None:
    """The mtime (ns) that a file made now in `folder` gets, if `folder` is on the file
    system of `like` (and of each of `more`); None when that cannot be told. The file is
    removed at once."""
    try:
        os.makedirs(folder, exist_ok=True)
        handle, path = tempfile.mkstemp(prefix=".clock-", dir=folder)
        try:
            stamp = os.fstat(handle)
        finally:
            os.close(handle)
            os.unlink(path)
        if any(stamp.st_dev != os.stat(path).st_dev for path in (like, *more)):
            return None
    except OSError:
        return None
    return stamp.st_mtime_ns


def trusted_before(folder: Path | None, like: Path) -> int:
    """The mtime (ns) below which a folder of `like`'s tree stat'ed from now on may be trusted
    by its key: the file system's now (file_system_now, through `folder`), or our clock's
    now less MARGIN_NS when that is unknown or `folder` is None."""
    stamp = file_system_now(folder, like) if folder is not None else None
    return stamp if stamp is not None else time.time_ns() - MARGIN_NS
