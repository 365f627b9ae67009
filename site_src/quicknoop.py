"""A no-op `build`, told before the build's own modules are imported.

A build of a small site that has nothing to do spends most of its time starting: Python
and the build's imports took ~0.13 s of a 0.17 s no-op at 1k papers, the check itself
~0.04 s. So a build that leaves its cache trusted, with every folder of its output tree
keyed (buildcache.check_tree), also leaves a *no-op record* beside the manifest: the stat
keys of the code, of every input file and folder, of every output file and folder and of
the manifest's own files, each from an earlier tick of the file system's clock than the
look that took it (fsclock). `build.py` reads it with nothing but built-in modules; when
every key is still the same, the full check would find the same code, the same inputs and
the same output tree, so the answer is the no-op's own line. Anything else (no record,
options other than --root, --quiet and --jobs, one key different) goes the usual way.

Whatever changes the manifest removes the record first (buildcache.save_manifest, forget).
"""
from __future__ import annotations

import marshal
import os
import sys
import time

from site_src import codeversion

RECORD = "noop.marshal"
FORMAT = "paper-atlas-noop 1"
DEFAULT_CACHE_DIR = os.path.join(".cache", "build-1fe50ddc80e6")
"""buildcache.cache_dir_for(root, root / "_site") (asserted by the tests): the cache folder of
the default output folder, whose key is a hash the answer does not import hashlib for."""
MAX_OUTPUTS = 40_000
"""Sites with more output files keep no record: stat'ing their trees is most of a full
check anyway (a 10k-paper site has ~15k files), and the record would be rewritten (MBs)."""

FileKey = tuple[int, int, int]
FolderKey = tuple[int, int]


def make_record(*, root: str, out_dir: str, pages: int, outputs: int, problems: list[str],
                files: dict[str, FileKey], folders: dict[str, FolderKey],
                followed: dict[str, FolderKey], sources_stamp: int | None = None) -> dict | None:
    """The record of a build that found or left its site complete, or None when the code's
    sources changed too recently to be vouched for by their keys.

    files and folders: keys by lstat (mtime ns, size, inode; a folder's mtime ns and
    inode) of inputs and outputs below their roots; followed: (mtime ns, inode) by stat
    of the roots (content/, templates/, the output folder) and of the manifest's files.
    The code's sources are added to followed (sources_stamp: see codeversion.source_keys).
    """
    sources = codeversion.source_keys(sources_stamp)
    if sources is None:
        return None
    return {
        "format": FORMAT, "python": sys.version, "package": codeversion.PACKAGE,
        "libraries": codeversion.hashed_library_versions(), "root": root,
        "report": (pages, outputs, out_dir, problems), "files": files, "folders": folders,
        "followed": {**followed, **{path: (key[0], key[-1]) for path, key in sources.items()}},
    }


def save(folder: str | os.PathLike, record: dict) -> None:
    """Write the record into the cache folder atomically (a temp file, then a rename)."""
    path = os.path.join(folder, RECORD)
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temp, "wb") as handle:
            marshal.dump(record, handle)
        os.replace(temp, path)
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass


def remove(folder: str | os.PathLike) -> None:
    """Drop the record (before the manifest or the output tree changes)."""
    try:
        os.unlink(os.path.join(folder, RECORD))
    except FileNotFoundError:
        pass


def plain_build(argv: list[str]) -> tuple[str, bool] | None:
    """(root, quiet) when argv is `[--root R] build [--quiet] [--jobs N]`, else None.

    Only these: other options change what a build makes (--out, --base-url, --full) or
    what it prints (--timings), and anything unusual is for argparse to judge."""
    args = list(argv)
    root = "."
    if args[:1] == ["--root"] and len(args) >= 2:
        root, args = args[1], args[2:]
    elif args[:1] and args[0].startswith("--root="):
        root, args = args[0][len("--root="):], args[1:]
    if args[:1] != ["build"] or not root:
        return None
    quiet = False
    rest = args[1:]
    while rest:
        option, rest = rest[0], rest[1:]
        if option == "--quiet":
            quiet = True
            continue
        if option == "--jobs" and rest:
            value, rest = rest[0], rest[1:]
        elif option.startswith("--jobs="):
            value = option[len("--jobs="):]
        else:
            return None
        try:
            int(value)  # (argparse's type=int; a bad value is its error to report)
        except ValueError:
            return None
    return root, quiet


def _files_same(keys: dict[str, FileKey]) -> bool:
    lstat = os.lstat
    try:
        for path, key in keys.items():
            st = lstat(path)
            if st.st_mtime_ns != key[0] or st.st_size != key[1] or st.st_ino != key[2]:
                return False
    except OSError:
        return False
    return True


def _folders_same(keys: dict[str, FolderKey], stat=os.lstat) -> bool:
    try:
        for path, key in keys.items():
            st = stat(path)
            if st.st_mtime_ns != key[0] or st.st_ino != key[1]:
                return False
    except OSError:
        return False
    return True


def nothing_changed(root: str) -> tuple | None:
    """The record's report (pages, files, output folder, problems) when the project at root
    is exactly as its last build left it, by the record's keys; else None."""
    try:
        with open(os.path.join(root, DEFAULT_CACHE_DIR, RECORD), "rb") as handle:
            record = marshal.loads(handle.read())  # (marshal.load reads object by object)
        if not (isinstance(record, dict) and record.get("format") == FORMAT and record["root"] == root
                and record["python"] == sys.version and record["package"] == codeversion.PACKAGE):
            return None
        files, folders, followed, report = record["files"], record["folders"], record["followed"], record["report"]
    except (OSError, ValueError, EOFError, TypeError, KeyError):
        return None
    if not (isinstance(files, dict) and isinstance(folders, dict) and isinstance(followed, dict)):
        return None
    try:
        same = (_folders_same(followed, os.stat) and _folders_same(folders) and _files_same(files)
                and record["libraries"] == codeversion.library_versions())
    except (TypeError, IndexError):  # (keys of another shape: not ours)
        return None
    return report if same else None


def answer(argv: list[str]) -> int | None:
    """Answer a plain `build` that has nothing to do (its exit code), or None when the
    build must run (see the module's docstring)."""
    started = time.perf_counter()
    plain = plain_build(argv)
    if plain is None:
        return None
    report = nothing_changed(plain[0])
    if report is None:
        return None
    pages, outputs, out_dir, problems = report
    for problem in problems:
        print(problem, file=sys.stderr)
    if not plain[1]:
        print(no_op_line(pages, outputs, out_dir, time.perf_counter() - started))
    return 0


def no_op_line(pages: int, outputs: int, out_dir: str, seconds: float) -> str:
    """What `build` prints when nothing changed."""
    return (f"built {pages} pages ({outputs} files) into {out_dir} in {seconds:.2f} s: 0 written, "
            f"{outputs} unchanged, 0 removed (nothing changed ({outputs} files up to date))")
