"""The related-papers memo on disk: a header pickle, an array file checked block by block, a delta.

- `related.pickle`: the base's header (save_blob): its small parts, a token and the
  layout of `related.arrays` with a SHA-1 of every block of every array;
- `related.arrays`: the arrays one after the other, beginning with the token, each
  block checked as it is read (an update reads the term counts of a few rows only);
- `related.delta.pickle`: related.MemoDelta against that base, the rows that differ.

The memo is a pure cache (the value never depends on it): anything that does not fit
is not used, and a block found corrupt while reading raises CorruptCache.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from site_src.cachefiles import code_version, load_blob, save_blob


_ARRAY_BLOCK = 1 << 14
"""Bytes per checked block of an array file: a row read from it costs reading and hashing its blocks."""
_ARRAY_ALIGN = 64


class CorruptCache(ValueError):
    """A cache file's bytes do not match the digests recorded when it was written."""


class _ArrayFile:
    """NumPy arrays one after the other in a file, each block of each array checked against
    its SHA-1 as it is read; the layout (and the digests) live in a save_blob header.

    The related-papers memo keeps its term counts here (70 MB at 100k papers), so an
    update reads the rows it changes, not the whole matrix. The file is held open: a
    newer one written over it later does not change what this one reads.
    """

    def __init__(self, path: Path, layout: Mapping) -> None:
        self.layout = layout
        self.block = int(layout["block"])
        self._last: dict[str, tuple[int, bytes]] = {}
        self._checked: dict[str, set[int]] = {}
        self.handle = open(path, "rb")
        try:
            size = os.fstat(self.handle.fileno()).st_size
            head = os.pread(self.handle.fileno(), _ARRAY_ALIGN, 0)
            if size != layout["size"] or head.rstrip(b"\0") != f"{layout['token']}\n".encode():
                raise CorruptCache(f"{path} is not the file its header describes")
        except BaseException:
            self.handle.close()
            raise

    def _check(self, name: str, first_block: int, data) -> None:
        digests, block = self.layout["arrays"][name][4], self.block
        checked = self._checked.setdefault(name, set())
        view = memoryview(data).cast("B")
        for i, at in enumerate(range(0, len(view), block), first_block):
            if i in checked:
                continue  # (the open file's blocks do not change: builds replace files, never edit them)
            if hashlib.sha1(view[at:at + block]).digest() != digests[20 * i:20 * i + 20]:
                raise CorruptCache(f"block {i} of {name} does not match its digest")
            checked.add(i)

    def read(self, name: str):
        """Return a whole array, checked."""
        import numpy as np

        dtype, shape, offset, nbytes, _ = self.layout["arrays"][name]
        array = np.empty(shape, dtype=np.dtype(dtype))
        view = memoryview(array).cast("B") if nbytes else memoryview(b"")
        done = 0
        while done < nbytes:
            got = os.preadv(self.handle.fileno(), [view[done:]], offset + done)
            if got <= 0:
                raise CorruptCache(f"{name} is cut short")
            done += got
        self._check(name, 0, array)
        return array

    def read_blocks(self, name: str, first: int, stop: int) -> bytes:
        """Return the bytes of blocks first..stop-1 of an array, checked."""
        nbytes, offset = self.layout["arrays"][name][3], self.layout["arrays"][name][2]
        lo, hi = first * self.block, min(nbytes, stop * self.block)
        if hi <= lo:
            return b""
        data = os.pread(self.handle.fileno(), hi - lo, offset + lo)
        if len(data) != hi - lo:
            raise CorruptCache(f"{name} is cut short")
        self._check(name, first, data)
        return data

    def read_range(self, name: str, lo: int, hi: int):
        """Return items lo..hi-1 of an array, checked; the last block read is kept, as the
        next range (rows read in ascending runs) often starts in it."""
        import numpy as np

        dtype = np.dtype(self.layout["arrays"][name][0])
        if hi <= lo:
            return np.zeros(0, dtype)
        first, last = lo * dtype.itemsize // self.block, (hi * dtype.itemsize - 1) // self.block
        cached = self._last.get(name)
        if cached is not None and cached[0] == first:
            data = cached[1] + self.read_blocks(name, first + 1, last + 1)
        else:
            data = self.read_blocks(name, first, last + 1)
        tail = (last - first) * self.block
        self._last[name] = (last, data[tail:])
        start = lo * dtype.itemsize - first * self.block
        return np.frombuffer(data, dtype=np.uint8)[start:start + (hi - lo) * dtype.itemsize].view(dtype)

    def chunks(self, name: str, blocks_at_once: int = 256):
        """Yield (first item, items) over a whole array, checked, a few blocks at a time."""
        import numpy as np

        dtype, _, _, nbytes, _ = self.layout["arrays"][name]
        dtype = np.dtype(dtype)
        n_blocks = -(-nbytes // self.block)
        for first in range(0, n_blocks, blocks_at_once):
            data = self.read_blocks(name, first, min(n_blocks, first + blocks_at_once))
            yield first * self.block // dtype.itemsize, np.frombuffer(data, dtype=dtype)

    def close(self) -> None:
        self.handle.close()


def _write_arrays(path: Path, token: str, arrays: Mapping[str, Any]) -> dict:
    """Write arrays into an _ArrayFile at path (atomically); return its layout.

    A value is an array, or (dtype, length, chunks): an iterable of (first item, items)
    written in place (the term counts of a memo whose rows come from the old file).
    """
    import numpy as np

    entries, offset = {}, _ARRAY_ALIGN
    for name, value in arrays.items():
        dtype, shape = (value.dtype, value.shape) if isinstance(value, np.ndarray) else (np.dtype(value[0]), (value[1],))
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        entries[name] = [dtype.str, tuple(shape), offset, nbytes, b""]
        offset += -(-nbytes // _ARRAY_ALIGN) * _ARRAY_ALIGN
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        os.pwrite(fd, f"{token}\n".encode().ljust(_ARRAY_ALIGN, b"\0"), 0)
        os.ftruncate(fd, offset)
        for name, value in arrays.items():
            _, _, at, nbytes, _ = entries[name]
            pieces = [(0, value)] if isinstance(value, np.ndarray) else value[2]
            itemsize = np.dtype(entries[name][0]).itemsize
            for first, items in pieces:
                data = memoryview(np.ascontiguousarray(items)).cast("B")
                done = 0
                while done < len(data):
                    done += os.pwrite(fd, data[done:], at + first * itemsize + done)
        for name, entry in entries.items():  # digests of what the file holds
            _, _, at, nbytes, _ = entry
            hashes = []
            for lo in range(0, nbytes, 1 << 24):
                data = memoryview(os.pread(fd, min(1 << 24, nbytes - lo), at + lo))
                hashes.extend(hashlib.sha1(data[i:i + _ARRAY_BLOCK]).digest() for i in range(0, len(data), _ARRAY_BLOCK))
            entry[4] = b"".join(hashes)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"token": token, "size": offset, "block": _ARRAY_BLOCK,
            "arrays": {name: tuple(entry) for name, entry in entries.items()}}


class _StoredRows:
    """Rows of a sparse matrix of the related memo (term counts, vectors) in an _ArrayFile:
    the base of related.LayeredRows, read a run of rows at a time.

    For the term counts it also keeps each column's count over all rows and over the
    marked rows (the base's reference papers), so counting columns over almost the same
    rows reads only the rows that differ.
    """

    def __init__(self, arrays: _ArrayFile, name: str, n_cols: int, *, sums: bool = False) -> None:
        import numpy as np

        self.arrays, self.name = arrays, name
        self.indptr = arrays.read(f"{name}.indptr")
        self.shape = (len(self.indptr) - 1, n_cols)
        self.dtype = np.dtype(arrays.layout["arrays"][f"{name}.data"][0])
        if not (len(self.indptr) and self.indptr[0] == 0 and (np.diff(self.indptr) >= 0).all()
                and self.indptr[-1] == arrays.layout["arrays"][f"{name}.data"][1][0]
                == arrays.layout["arrays"][f"{name}.indices"][1][0]):
            raise CorruptCache(f"the stored {name} do not fit together")
        if sums:
            self.all_counts = arrays.read(f"{name}.all")
            self.marked = arrays.read(f"{name}.marked")
            self.marked_counts = arrays.read(f"{name}.marked_all")
            if not (len(self.marked) == self.shape[0] and len(self.all_counts) == len(self.marked_counts) == n_cols):
                raise CorruptCache(f"the stored {name} sums do not fit together")

    def lengths(self):
        import numpy as np

        return np.diff(self.indptr)

    def copy_rows(self, lo: int, hi: int, data, indices) -> None:
        """Copy the values of rows lo..hi-1 into data and indices (exactly their size)."""
        a, b = int(self.indptr[lo]), int(self.indptr[hi])
        found = self.arrays.read_range(f"{self.name}.indices", a, b)
        if len(found) and (found.min() < 0 or found.max() >= self.shape[1]):
            raise CorruptCache(f"a stored row of {self.name} names no column")
        indices[:] = found
        data[:] = self.arrays.read_range(f"{self.name}.data", a, b)

    def take(self, rows):
        """Return these rows (in this order) as a CSR matrix."""
        import numpy as np
        from scipy import sparse

        from site_src.related import LayeredRows

        held = sparse.csr_matrix((0, self.shape[1]), dtype=self.dtype)
        return LayeredRows(self, np.asarray(rows, dtype=np.int64), held, self.shape[1]).tocsr()

    def holding(self, columns):
        """Return the rows (ascending) with a value in one of the flagged columns."""
        import numpy as np

        found = []
        for first, indices in self.arrays.chunks(f"{self.name}.indices"):
            hits = np.flatnonzero(columns[indices])  # (checked blocks: the columns written, all < n_cols)
            if len(hits):
                found.append(np.searchsorted(self.indptr, hits + first, side="right") - 1)
        return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)

    def column_counts(self, rows):
        """Return per column the number of the flagged rows holding it."""
        import numpy as np

        def counted(flags):
            return np.bincount(self.take(np.flatnonzero(flags)).indices, minlength=self.shape[1])

        if int((rows != self.marked).sum()) <= int((~rows).sum()):
            return self.marked_counts + counted(rows & ~self.marked) - counted(self.marked & ~rows)
        return self.all_counts - counted(~rows)


_ROWS_AT_ONCE = 8192
"""Rows of term counts copied at once into a new related memo base."""


def _related_arrays(memo) -> tuple[dict, dict]:
    """The arrays and the small parts (meta) of a related memo, as save_related_memo writes them."""
    import numpy as np

    from site_src import related

    n, n_cols = len(memo.slugs), len(memo.table.first)
    counts, vectors = related.layered(memo.counts), related.layered(memo.vectors)
    marked = np.zeros(n, dtype=bool) if memo.reference is None else np.asarray(memo.reference, dtype=bool)

    def rows_of(matrix, name: str) -> dict:
        # Written a few thousand rows at a time: a memo whose rows are mostly the old
        # file's is never held whole.
        indptr = np.concatenate([[0], np.cumsum(matrix.lengths())]).astype(np.int64)

        def part(field: str):
            for lo in range(0, n, _ROWS_AT_ONCE):
                block = matrix.take(np.arange(lo, min(n, lo + _ROWS_AT_ONCE)))
                yield int(indptr[lo]), getattr(block, field)

        return {f"{name}.indptr": indptr, f"{name}.indices": (np.int32, int(indptr[-1]), part("indices")),
                f"{name}.data": (matrix.dtype, int(indptr[-1]), part("data"))}

    table, lists = memo.table, memo.candidates
    arrays = {
        "keys": memo.keys, "status": memo.status,
        "table.word_hash": table.word_hash, "table.first": table.first, "table.second": table.second,
        **dict(zip(("table.sorted_codes", "table.sorted_terms"), table.index())),
        **rows_of(vectors, "vectors"),
        "lists.indptr": lists.indptr, "lists.rows": lists.rows.astype(np.int32), "lists.ticks": lists.ticks,
        "lists.complete": lists.complete,
        "counts.marked": marked, "counts.all": counts.column_counts().astype(np.int32),
        "counts.marked_all": counts.column_counts(marked).astype(np.int32),
        **rows_of(counts, "counts"),
    }
    meta = {"settings": memo.settings, "slugs": memo.slugs, "epoch": memo.epoch, "made_for": memo.made_for,
            "fingerprints": memo.fingerprints, "words": table.words, "columns": n_cols,
            "vector_columns": vectors.shape[1], "reference": memo.reference is not None}
    return arrays, meta


def _read_related_base(folder: Path, stored: Mapping):
    """The related memo a base header (related.pickle) and its array file describe; raises
    CorruptCache (or KeyError, ValueError…) when they do not fit."""
    from site_src import related

    meta = stored["meta"]
    arrays = _ArrayFile(folder / "related.arrays", stored["layout"])
    try:
        read = arrays.read
        n, n_cols = len(meta["slugs"]), int(meta["columns"])
        table = related.TermTable(list(meta["words"]), read("table.word_hash"), read("table.first"),
                                  read("table.second"), read("table.sorted_codes"), read("table.sorted_terms"))
        vectors = related.layered(_StoredRows(arrays, "vectors", int(meta["vector_columns"])))
        lists = related.Candidates(read("lists.indptr"), read("lists.rows"), read("lists.ticks"),
                                   read("lists.complete"))
        rows = _StoredRows(arrays, "counts", n_cols, sums=True)
        keys, status = read("keys"), read("status")
        if not (len(keys) == n == len(lists.complete) == rows.shape[0] == vectors.shape[0] and len(lists.indptr) == n + 1
                and len(status) == n_cols == len(table.first) and (meta["fingerprints"] is None or len(meta["fingerprints"]) == n)):
            raise CorruptCache("the related memo's parts do not fit together")
        counts = related.layered(rows)
    except BaseException:
        arrays.close()
        raise
    return related.RelatedMemo(meta["settings"], tuple(meta["slugs"]), keys, table, counts, status, meta["epoch"],
                               vectors, lists, meta["fingerprints"], meta["made_for"],
                               rows.marked if meta["reference"] else None)


def load_related_memo(folder: Path, known: Iterable[str] = ()) -> tuple[Any, dict | None]:
    """The related-papers memo on disk and what saving the next one as a delta needs, or (None, None).

    It is a base (related.pickle: a header with the small parts, a token and the layout
    of related.arrays, which holds the arrays, each block checked as it is read: an
    update reads the term counts of a few rows only) and a delta against it
    (related.delta.pickle: related.MemoDelta, the rows that differ); a delta of another
    base or one that does not fit is left out, the base alone being an older memo (always
    right to use: the value does not depend on the memo). A base whose files disagree is
    not used; a block found corrupt later raises CorruptCache (see buildcache._related_through_memo).
    Slugs and fingerprints equal to one of `known` (the papers' own) are that very string.
    """
    from site_src import related

    stored = load_blob(folder / "related.pickle")
    if not (isinstance(stored, dict) and stored.get("code") == code_version()
            and isinstance(stored.get("token"), str) and isinstance(stored.get("layout"), dict)
            and stored["layout"].get("token") == stored["token"]):
        return None, None
    if known:
        # (100k slugs and 100k fingerprints as separate strings would be 20 MB more)
        same = {value: value for value in known}
        meta = stored["meta"]
        meta["slugs"] = tuple(map(same.get, meta["slugs"], meta["slugs"]))
        if meta["fingerprints"] is not None:
            meta["fingerprints"] = tuple(map(same.get, meta["fingerprints"], meta["fingerprints"]))
        del same
    try:
        base = _read_related_base(folder, stored)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None, None
    token = stored["token"]
    layers = {"token": token, "sizes": (len(base.slugs), len(base.table.first), len(base.table.words)),
              "touched": frozenset(), "removed": frozenset(), "matrices": (base.counts.base, base.vectors.base)}
    delta = load_blob(folder / "related.delta.pickle")
    if isinstance(delta, dict) and delta.get("code") == code_version() and delta.get("base") == token:
        try:
            merged = related.with_delta(base, delta.get("delta"))
        except (ValueError, IndexError, TypeError, AttributeError):
            merged = None
        if merged is not None:
            layers.update(touched=frozenset(delta["delta"].slugs), removed=delta["delta"].removed)
            return merged, layers
    return base, layers


def save_related_memo(folder: Path, memo, previous, layers: dict | None) -> None:
    """Save the related-papers memo as a delta against the base on disk (previous: the memo
    load_related_memo gave with layers), or as a new base when one is due."""
    from site_src import related

    delta = None
    if layers is not None and isinstance(previous, related.RelatedMemo):
        delta = related.memo_delta(previous, memo, layers["sizes"], layers["touched"], layers["removed"],
                                   base_matrices=layers["matrices"])
    if delta is None:
        token = os.urandom(12).hex()
        arrays, meta = _related_arrays(memo)
        # The arrays first: a header left from before names another token, so it is refused.
        layout = _write_arrays(folder / "related.arrays", token, arrays)
        del arrays
        save_blob(folder / "related.pickle", {"code": code_version(), "token": token, "layout": layout, "meta": meta})
        (folder / "related.delta.pickle").unlink(missing_ok=True)  # (it names the old base's token)
    else:
        save_blob(folder / "related.delta.pickle", {"code": code_version(), "base": layers["token"], "delta": delta})


def forget_related_memo(folder: Path) -> None:
    """Remove the related memo's files (one of them was found corrupt)."""
    for name in ("related.pickle", "related.delta.pickle", "related.arrays"):
        (folder / name).unlink(missing_ok=True)
