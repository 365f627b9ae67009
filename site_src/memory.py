"""The process's heap: large blocks mapped apart, freed memory handed back (glibc; elsewhere nothing)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

_LIBC: list = []
_M_MMAP_THRESHOLD = -3
"""mallopt's parameter: allocations from this size on get their own mapping, unmapped when freed."""
LARGE_BLOCK = 1 << 20
"""While related papers are updated, blocks from this size on are mapped apart (see map_large_blocks)."""
HEAP_BLOCK_MAX = 32 << 20
"""Afterwards blocks below this size come from the heap again (glibc's own upper limit)."""


def _libc():
    """glibc's functions through ctypes, or None elsewhere."""
    if not _LIBC:
        try:
            import ctypes
            import ctypes.util

            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.append(libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None)
        except (OSError, AttributeError):
            _LIBC.append(None)
    return _LIBC[0]


def release_freed_memory() -> None:
    """Hand the heap's free memory back to the system (glibc's malloc_trim; elsewhere nothing).

    The related-papers memo and the arrays an update makes from it are freed once its
    value is taken, but glibc keeps most of that in the heap (its mmap threshold rises
    with the first large frees): the rest of the build would carry it.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@contextlib.contextmanager
def map_large_blocks() -> Iterator[None]:
    """Within: blocks of LARGE_BLOCK bytes and more are mapped apart and unmapped when freed.

    Updating related papers makes and frees arrays of 1-20 MB one after the other; from
    the heap (where glibc puts blocks up to the largest one freed so far, up to 32 MB)
    their gaps add ~20 MB to the peak at 100k papers. Afterwards the heap takes blocks
    below HEAP_BLOCK_MAX again (the threshold is then fixed there).
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK)
    try:
        yield
    finally:
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, HEAP_BLOCK_MAX)
