"""The code version: a hash of everything that turns inputs into outputs.

Our package's sources, the versions of the libraries that render (Jinja2, markdown-it-py…),
Python's version and the cache layout. Every cache file carries it (cachefiles), so a cache
made by other code is never used. Nothing here is imported beyond the standard library's
built-in modules: the no-op answer (quicknoop) runs before the build's imports.
"""
from __future__ import annotations

import os
import sys
import time

CACHE_FORMAT = "paper-atlas-cache 8"
"""Bumped whenever the layout of the cache files changes."""

LIBRARIES = ("jinja2", "markdown-it-py", "pyyaml", "markupsafe", "latex2mathml")
"""The libraries whose versions are part of the code version: they turn inputs into outputs."""

PACKAGE = os.path.dirname(os.path.abspath(__file__))

_CODE_VERSION: str | None = None
_SOURCE_KEYS: dict[str, tuple] | None = None
_LIBRARY_VERSIONS: dict[str, str] = {}


def _normal(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def library_versions(names: tuple[str, ...] = LIBRARIES, path: list[str] | None = None) -> dict[str, str]:
    """name -> installed version ("?" when not installed), as importlib.metadata.version gives it.

    Read from the names of the packages' metadata folders on sys.path (`jinja2-3.1.6.dist-info`),
    first found first, as importlib.metadata looks: importing it and asking it took 17-34 ms,
    5-8% of a no-op build of 10k papers, against ~0.5 ms. A name not found that way is asked of it.
    """
    wanted = {_normal(name): name for name in names}
    found: dict[str, str] = {}
    for entry in sys.path if path is None else path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in listing:
            stem, dot, kind = folder.rpartition(".")
            if kind not in ("dist-info", "egg-info") or not dot:
                continue
            project, dash, version = stem.partition("-")
            name = wanted.get(_normal(project))
            if name is not None and dash and name not in found:
                found[name] = version.partition("-")[0]  # (an egg-info's "-py3.11" suffix)
        if len(found) == len(wanted):
            break
    missing = [name for name in names if name not in found]
    if missing:
        import importlib.metadata

        for name in missing:
            try:
                found[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                found[name] = "?"
    return {name: found[name] for name in names}


def source_files(package: str | None = None, keys: dict[str, tuple] | None = None) -> list[str]:
    """The .py files of the package (PACKAGE unless given; paths relative to it, sorted),
    __pycache__ left out.

    `keys`, when given, receives the stat key of every folder (mtime ns, inode) taken before
    it is listed, and of every file (mtime ns, size, inode), under their absolute paths: a
    file added, removed or edited since changes one of them.
    """
    package = PACKAGE if package is None else package
    found: list[str] = []
    stack = [("", package)]
    while stack:
        prefix, folder = stack.pop()
        if keys is not None:
            st = os.stat(folder)
            keys[folder] = (st.st_mtime_ns, st.st_ino)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append((prefix + entry.name + "/", entry.path))
                elif entry.name.endswith(".py"):
                    found.append(prefix + entry.name)
    found.sort()
    if keys is not None:
        for rel in found:
            st = os.stat(os.path.join(package, rel))
            keys[os.path.join(package, rel)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


def _hash(libraries: dict[str, str], keys: dict[str, tuple]) -> str:
    """The code version of the sources as they are now; `keys` receives their stat keys,
    each taken before the file is read (source_files)."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    h.update(CACHE_FORMAT.encode())
    h.update(sys.version.encode())
    for name, version in libraries.items():
        h.update(f"{name}={version}".encode())
    for rel in source_files(keys=keys):
        h.update(rel.encode())
        with open(os.path.join(PACKAGE, rel), "rb") as handle:
            h.update(handle.read())
    return h.hexdigest()


def code_version() -> str:
    """Hash of everything that turns inputs into outputs: our code and the libraries' versions."""
    global _CODE_VERSION, _SOURCE_KEYS, _LIBRARY_VERSIONS
    if _CODE_VERSION is None:
        from site_src.fsclock import MARGIN_NS

        settled_before = time.time_ns() - MARGIN_NS
        keys: dict[str, tuple] = {}
        _LIBRARY_VERSIONS = library_versions()
        _CODE_VERSION = _hash(_LIBRARY_VERSIONS, keys)
        # The keys stand for these sources only if none changed in the last moments: a change
        # within the tick of the last one could leave a file's key as it was (fsclock).
        _SOURCE_KEYS = keys if all(key[0] < settled_before for key in keys.values()) else None
    return _CODE_VERSION


def source_keys(stamp_ns: int | None = None) -> dict[str, tuple] | None:
    """The stat keys of the sources code_version() hashed (see source_files), or None when
    a source had changed too recently for its key to be trusted.

    With `stamp_ns`, the file system's now (fsclock.file_system_now, on the sources' file
    system) taken just before this call, keys too recent by our clock's margin are taken
    again: trusted when every one is below the stamp and the sources still hash to the code
    version. (`make` compiles the package just before the first build: the __pycache__
    folders it makes change the package's folders moments before the build looks.)
    """
    global _SOURCE_KEYS
    code_version()
    if _SOURCE_KEYS is None and stamp_ns is not None:
        keys: dict[str, tuple] = {}
        if _hash(_LIBRARY_VERSIONS, keys) == _CODE_VERSION and all(key[0] < stamp_ns for key in keys.values()):
            _SOURCE_KEYS = keys
    return _SOURCE_KEYS


def hashed_library_versions() -> dict[str, str]:
    """The libraries' versions as code_version() found them (a library upgraded since
    does not change a version already made)."""
    code_version()
    return dict(_LIBRARY_VERSIONS)
