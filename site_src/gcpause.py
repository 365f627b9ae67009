"""Pausing Python's cyclic garbage collector around allocation-heavy, cycle-free work."""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, restoring its previous state afterwards.

    Building the search index or the related papers allocates millions of short-lived
    objects but no reference cycles (reference counting frees them all the same); with the
    collector on, every full collection would also walk the whole site model the caller holds.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
