"""Order-preserving parallel map over worker processes, for parsing and rendering.

Workers are forked, so they inherit the function and the items (no pickling
of a Jinja environment or of 100k papers); only each chunk's results travel
back. Results come back in input order, so a parallel build is byte-identical
to a single-process one. Small inputs stay in-process: starting workers costs
more than it saves below a few hundred items. parallel_map_meanwhile() keeps
the parent busy with other work while the workers map (a full build renders
pages in workers and makes feeds and exports in the parent); run_beside() starts one
function in a child process while the parent goes on (a full build makes the search
index while the parent works out related papers and plans the pages).

PAPER_ATLAS_JOBS=1 forces a single process (tests compare both).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
M = TypeVar("M")

JOBS_VARIABLE = "PAPER_ATLAS_JOBS"
CHUNKS_PER_WORKER = 4
"""Chunks per worker: enough to even out slow items without paying a round trip per item."""

_TASK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None
"""The function and items of the map in progress, inherited by forked workers (and, while it
is set, any map called inside a worker or beside one stays in its own process)."""


def available_jobs() -> int:
    """How many worker processes to use: PAPER_ATLAS_JOBS, else the CPUs this process may use."""
    wanted = os.environ.get(JOBS_VARIABLE, "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    assert _TASK is not None
    fn, items = _TASK
    start, stop = bounds
    return [fn(items[i]) for i in range(start, stop)]


def chunk_bounds(n: int, chunks: int) -> list[tuple[int, int]]:
    """Split range(n) into at most `chunks` contiguous, nearly equal (start, stop) pairs."""
    chunks = max(1, min(chunks, n))
    size, extra = divmod(n, chunks)
    out, start = [], 0
    for i in range(chunks):
        stop = start + size + (1 if i < extra else 0)
        if stop > start:
            out.append((start, stop))
        start = stop
    return out


@contextlib.contextmanager
def _fork_pool(jobs: int) -> Iterator[multiprocessing.pool.Pool]:
    """A pool of forked workers, closed gracefully once its work is done.

    Pool's own `with` calls terminate(), which can hang for good when a worker exits while
    another waits for a task with the task queue's lock held (CPython gh-78178, gh-96995;
    seen here once in a 10k build under load). close() + join() lets each worker take its
    sentinel and exit; terminate() is left for a map that failed.
    """
    pool = multiprocessing.get_context("fork").Pool(jobs)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


def _serial(fn: Callable[[T], R], items: Sequence[T], done: Callable[[int], None] | None) -> list[R]:
    out = []
    for item in items:
        out.append(fn(item))
        if done is not None:
            done(1)
    return out


def parallel_map(fn: Callable[[T], R], items: Sequence[T], *, min_items: int = 500,
                 jobs: int | None = None, done: Callable[[int], None] | None = None) -> list[R]:
    """Return [fn(item) for item in items], using forked workers when items are many.

    `done(n)` is called as items finish (per item in-process, per chunk with workers).
    """
    global _TASK
    jobs = available_jobs() if jobs is None else max(1, jobs)
    if jobs == 1 or len(items) < min_items or "fork" not in multiprocessing.get_all_start_methods():
        return _serial(fn, items, done)
    if _TASK is not None:  # nested call inside a worker: stay in this process
        return _serial(fn, items, done)
    _TASK = (fn, items)
    parts = []
    try:
        with _fork_pool(jobs) as pool:
            for part in pool.imap(_run_chunk, chunk_bounds(len(items), jobs * CHUNKS_PER_WORKER)):
                parts.append(part)
                if done is not None:
                    done(len(part))
    finally:
        _TASK = None
    return [result for part in parts for result in part]


MEANWHILE_CHUNKS_PER_WORKER = 16
"""Chunks per worker (at least) when the parent works beside them: the parent takes a core
for a while, so smaller chunks keep every worker busy to the end."""
MEANWHILE_CHUNK_ITEMS = 500
"""Items per chunk (at most, given enough chunks): the last chunk to finish stays short."""


def parallel_map_meanwhile(fn: Callable[[T], R], items: Sequence[T], meanwhile: Callable[[], M], *,
                           min_items: int = 500, jobs: int | None = None,
                           done: Callable[[int], None] | None = None, together: int = 0) -> tuple[list[R], M]:
    """Return ([fn(item) for item in items], meanwhile()): workers map while the parent runs meanwhile().

    In one process (few items, jobs=1, no fork) the map runs first, then meanwhile().
    meanwhile() must not start worker processes of its own (a map inside it stays in this
    process). `done(n)` is called as chunks finish, from a thread of the pool while the
    parent is busy in meanwhile(). The first `together` items go to one worker, as the
    first chunk (items whose work a process memoises for the others: list pages share the
    cards they show); keep them well under 1/jobs of the work.
    """
    global _TASK
    jobs = available_jobs() if jobs is None else max(1, jobs)
    if (jobs == 1 or len(items) < min_items or _TASK is not None
            or "fork" not in multiprocessing.get_all_start_methods()):
        results = _serial(fn, items, done)
        return results, meanwhile()
    _TASK = (fn, items)
    try:
        with _fork_pool(jobs) as pool:
            callback = None if done is None else (lambda part: done(len(part)))
            together = min(max(0, together), len(items))
            rest = len(items) - together
            bounds = [(together + start, together + stop)
                      for start, stop in chunk_bounds(rest, max(jobs * MEANWHILE_CHUNKS_PER_WORKER,
                                                                -(-rest // MEANWHILE_CHUNK_ITEMS)))] if rest else []
            pending = [pool.apply_async(_run_chunk, (chunk,), callback=callback)
                       for chunk in ([(0, together)] if together else []) + bounds]
            value = meanwhile()
            parts = [result.get() for result in pending]
    finally:
        _TASK = None
    return [result for part in parts for result in part], value


class Beside:
    """A function running in a forked child process beside the caller's own work (run_beside)."""

    def __init__(self, fn: Callable[[], Any], fork: bool) -> None:
        self._pid = 0
        self._pipe = -1
        self._value: tuple[bool, Any] | None = None
        if not fork:
            self._value = (True, fn())
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, send the value (or the error's text) back, and leave at once
            status = 0
            try:
                os.close(read_end)
                try:
                    payload = pickle.dumps((True, fn()), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException as error:  # noqa: BLE001 - reported to the parent
                    payload = pickle.dumps((False, f"{type(error).__name__}: {error}"))
                with os.fdopen(write_end, "wb") as out:
                    out.write(payload)
            except BaseException:  # noqa: BLE001 - nothing left to tell the parent with
                status = 1
            finally:
                os._exit(status)  # no atexit handlers, no flushing of the parent's buffers
        os.close(write_end)
        self._pid, self._pipe = pid, read_end

    def result(self) -> Any:
        """Wait for the child and return what the function returned; raise RuntimeError if it failed."""
        if self._value is None:
            with os.fdopen(self._pipe, "rb") as pipe:
                payload = pipe.read()
            self._pipe = -1
            os.waitpid(self._pid, 0)
            self._pid = 0
            if not payload:
                raise RuntimeError("a worker process died")
            self._value = pickle.loads(payload)
        ok, value = self._value
        if not ok:
            raise RuntimeError(value)
        return value

    def cancel(self) -> None:
        """Stop the child if it still runs (the caller gave up on the build)."""
        if self._pid:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            self._pid = 0
        if self._pipe >= 0:
            os.close(self._pipe)
            self._pipe = -1
        if self._value is None:
            self._value = (False, "the worker process was stopped")


def run_beside(fn: Callable[[], Any], *, jobs: int | None = None) -> Beside:
    """Start fn() in a forked child process and return at once; Beside.result() waits for its value.

    For work that only needs what the parent holds now (the child sees a copy) while the
    parent goes on with something else: on two cores both proceed at full speed. The value
    travels back pickled, so it should be small. In one process (jobs=1, inside a worker,
    no fork) fn() runs before run_beside returns.
    """
    jobs = available_jobs() if jobs is None else max(1, jobs)
    fork = jobs > 1 and _TASK is None and hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()
    return Beside(fn, fork)
