"""Cache files: a pickled payload behind a format line, the code version and its digest.

save_blob writes one atomically; load_blob gives it back only when all three match,
so a cache left by other code, of another layout, cut short or corrupted is simply
not used. The build cache (buildcache) and the related-papers memo (relatedmemo)
keep their files this way.
"""
from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from site_src.codeversion import CACHE_FORMAT, code_version
from site_src.gcpause import collector_paused


def digest(data: bytes) -> str:
    """A short, stable content hash (SHA-1, hardware-accelerated here: twice BLAKE2b's speed).

    It detects changes (pages, cache payloads); it does not defend against anyone.
    """
    return hashlib.sha1(data).hexdigest()


_DIGEST_HEX = 40
"""Length of digest()'s hex string: a blob's header has room for it before the payload is made."""


class _HashingWriter:
    """A file wrapper that hashes what is written through it (pickle.dump streams into it)."""

    def __init__(self, handle) -> None:
        self.handle, self.hash = handle, hashlib.sha1()

    def write(self, data) -> int:
        self.hash.update(data)
        return self.handle.write(data)


class _HashingReader:
    """A file wrapper that hashes what is read through it (pickle.load streams from it)."""

    def __init__(self, handle) -> None:
        self.handle, self.hash = handle, hashlib.sha1()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.hash.update(data)
        return data

    def readinto(self, buffer) -> int:
        count = self.handle.readinto(buffer)
        self.hash.update(memoryview(buffer)[:count])
        return count

    def readline(self, size: int = -1) -> bytes:
        data = self.handle.readline(size)
        self.hash.update(data)
        return data


def save_blob(path: Path, value: Any) -> None:
    """Pickle value to path atomically, behind a format line, the code version and a digest of the payload.

    The payload is pickled straight into the file and hashed on the way; the digest is
    written into its place in the header at the end. A memo is never held twice in memory
    (object and bytes: ~140 MB of bytes for the search memo at 100k papers).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(f"{CACHE_FORMAT}\n{code_version()}\n".encode())
            where = handle.tell()
            handle.write(b"0" * _DIGEST_HEX + b"\n")
            writer = _HashingWriter(handle)
            pickle.dump(value, writer, protocol=pickle.HIGHEST_PROTOCOL)
            handle.seek(where)
            handle.write(writer.hash.hexdigest().encode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_blob(path: Path, *, any_code: bool = False) -> Any | None:
    """Load what save_blob wrote; None when missing, of another format, truncated or corrupted,
    or written by other code (unless any_code: the caller then tells why it refuses it)."""
    # The header is checked before the payload is read: a cache left by other code
    # (hundreds of MB at 100k papers) costs one short read, not seconds of unpickling.
    try:
        with open(path, "rb") as handle:
            if handle.readline(len(CACHE_FORMAT) + 2) != CACHE_FORMAT.encode() + b"\n":
                return None
            code = handle.readline(64).rstrip(b"\n").decode("ascii", "replace")
            if not any_code and code != code_version():
                return None
            expected = handle.readline(64).rstrip(b"\n").decode("ascii", "replace")
            reader = _HashingReader(handle)
            # Unpickled as it is read and hashed (the payload is never held whole), with the
            # collector paused: 100k papers make millions of objects and no cycles, and its
            # full passes over them would cost more than the unpickling itself. What a
            # corrupted file makes is thrown away when the digest disagrees.
            with collector_paused():
                try:
                    value = pickle.load(reader)
                    reader.read()  # (anything after the pickle is part of the payload too)
                except Exception:  # noqa: BLE001 - a cache that does not load is simply not used
                    return None
                if expected != reader.hash.hexdigest():
                    return None
                # Frozen before the collector is back: the objects would sit in the youngest
                # generation, to be walked by the next collections as they are promoted (the
                # first allocation would set off a pass over all of them, ~0.4 s for the parse
                # memo at 100k papers). A memo lives as long as the build; buildcache.build()
                # unfreezes when it ends.
                gc.freeze()
    except OSError:
        return None
    return value
