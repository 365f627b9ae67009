"""Writing the site: every output checked, then swapped in atomically.

write_site() builds the new tree in a temp folder beside the output folder and
swaps it in with two renames, so readers (and a dev server) never see half a
site, and a failed build leaves the previous one in place. Files whose bytes
did not change are hard-linked from the previous build, so they keep their
inode and mtime: nothing that watches the folder sees them change.
write_in_place() is the incremental variant: each changed file is replaced
atomically on its own, stale files are removed. remove_tree_later() deletes a
replaced tree in a detached process: on some disks that takes far longer than
writing the new one, and the new site is already in place.
"""
from __future__ import annotations

import bisect
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from site_src import urls


class WriteError(RuntimeError):
    """Outputs cannot be written: a collision, an unsafe path, a dangerous output folder."""


@dataclass(frozen=True, slots=True)
class Output:
    """One file of the site: where it goes, its bytes, and what made it."""

    dest: str
    """Relative POSIX path under the output folder."""
    data: bytes
    source: str = ""
    """What produced it ('content/papers/x.md', 'feeds', 'static/site.css'), for error messages."""


@dataclass(frozen=True, slots=True)
class StagedFile:
    """An output's bytes already written to a temp file beside its destination, renamed into
    place when the build writes (an Output's data, for files too large to hold in memory)."""

    path: str
    digest: str
    """SHA-1 (hex) of the bytes, as buildcache.digest gives it."""

    def discard(self) -> None:
        """Remove the temp file (the output is not written after all)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What a write changed."""

    written: tuple[str, ...]
    """Destinations whose bytes are new or changed."""
    unchanged: int
    removed: tuple[str, ...]
    """Destinations of the previous build that no longer exist."""
    old_tree: Path | None = None
    """The previous build, moved aside, when write_site(remove_old=False) left it for the caller."""


def check_outputs(outputs: Iterable[Output]) -> dict[str, Output]:
    """Return outputs by destination; raise WriteError on unsafe paths or two outputs claiming one."""
    by_dest: dict[str, Output] = {}
    for output in outputs:
        if output.dest in by_dest:
            raise WriteError(f"two outputs claim {output.dest!r}: {by_dest[output.dest].source or '?'} "
                             f"and {output.source or '?'}")
        by_dest[output.dest] = output
    check_dests(by_dest, sources={dest: output.source for dest, output in by_dest.items()})
    return by_dest


def check_dests(dests: Collection[str], checked: Collection[str] = frozenset(), *,
                sources: Mapping[str, str] | None = None) -> None:
    """Raise WriteError when a destination is unsafe or two of them collide: one file on a
    case-insensitive disk, or a file where another output needs a folder.

    `checked` are destinations known to pass together (the last build's, checked by it): only
    the others are checked for safety, and only collisions involving one of them are looked for,
    so an update of a 150k-file site checks its few thousand new files, not every file.
    """
    def source(dest: str) -> str:
        return (sources or {}).get(dest) or "?"

    new = [dest for dest in dests if dest not in checked] if checked else list(dests)
    for dest in new:
        if not urls.is_safe_dest(dest):
            raise WriteError(f"{source(dest)}: unsafe output path {dest!r}")
    if not new:
        return  # (a part of a set that passed)
    by_folded: dict[str, str] = {}
    for dest in dests:
        folded = dest.casefold()  # one file on case-insensitive disks
        other = by_folded.setdefault(folded, dest)
        if other != dest:
            raise WriteError(f"two outputs claim {dest!r}: {source(other)} and {source(dest)}")
    # A file and a folder of the same name cannot both exist ('a' and 'a/index.html'): a new
    # file inside a path that is a file, or a new file that is a folder of another output.
    ordered = sorted(by_folded)
    for dest in new:
        folded = dest.casefold()
        cut = folded.find("/")
        while cut != -1:
            if folded[:cut] in by_folded:
                other = by_folded[folded[:cut]]
                raise WriteError(f"{source(other)}: output {other!r} is also a folder of another output")
            cut = folded.find("/", cut + 1)
        inside = folded + "/"
        at = bisect.bisect_left(ordered, inside)
        if at < len(ordered) and ordered[at].startswith(inside):
            raise WriteError(f"{source(dest)}: output {dest!r} is also a folder of another output")


def check_out_dir(out_dir: Path, protected: Iterable[Path] = ()) -> Path:
    """Return out_dir resolved; refuse folders a build must never replace (a project, a non-site)."""
    target = Path(out_dir).resolve()
    for path in protected:
        path = Path(path).resolve()
        if target == path or path.is_relative_to(target):
            raise WriteError(f"refusing to use {out_dir} as the output folder: it holds {path}")
    if target.exists():
        if not target.is_dir():
            raise WriteError(f"output {out_dir} exists and is not a folder")
        if any(target.iterdir()) and not (target / "index.html").exists():
            raise WriteError(f"refusing to replace {out_dir}: it is not empty and holds no "
                             "index.html, so it does not look like a built site")
    return target


def _inside(root: Path, dest: str) -> Path:
    path = (root / dest).resolve()
    if not path.is_relative_to(root):
        raise WriteError(f"output {dest!r} would be written outside {root}")
    return path


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def existing_files(root: Path) -> set[str]:
    """Relative POSIX paths of every file under root (empty if root is missing)."""
    if not root.is_dir():
        return set()
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def write_site(outputs: Iterable[Output], out_dir: Path, *, protected: Iterable[Path] = (),
               remove_old: bool = True) -> WriteReport:
    """Write every output into a fresh tree beside out_dir and swap it in with two renames.

    With remove_old=False the previous tree is left beside out_dir (report.old_tree)
    for the caller to delete later: removing 100k files is slow on some disks.
    """
    by_dest = check_outputs(outputs)
    target = check_out_dir(out_dir, protected)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}{STAGING_PREFIX}", dir=target.parent)).resolve()
    written: list[str] = []
    try:
        for dest in sorted(by_dest):
            data = by_dest[dest].data
            path = _inside(staging, dest)
            path.parent.mkdir(parents=True, exist_ok=True)
            previous = target / dest
            if _same_bytes(previous, data):
                try:
                    os.link(previous, path)
                    continue
                except OSError:
                    pass  # a file system without hard links: copying is still correct
            path.write_bytes(data)
            if not previous.exists() or not _same_bytes(previous, data):
                written.append(dest)
        removed = sorted(existing_files(target) - set(by_dest))
        os.chmod(staging, 0o755)  # mkdtemp makes it 0700; a web server must read it
        aside: Path | None = None
        if target.exists():
            aside = Path(tempfile.mkdtemp(prefix=f"{target.name}.old-", dir=target.parent))
            aside.rmdir()
            os.rename(target, aside)
            os.rename(staging, target)
            if remove_old:
                shutil.rmtree(aside, ignore_errors=True)
                aside = None
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteReport(tuple(written), len(by_dest) - len(written), tuple(removed), aside)


def write_in_place(outputs: Iterable[Output], out_dir: Path, *, protected: Iterable[Path] = ()) -> WriteReport:
    """Replace only changed files (each atomically) and remove stale ones: for incremental rebuilds."""
    by_dest = check_outputs(outputs)
    target = check_out_dir(out_dir, protected)
    target.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for dest in sorted(by_dest):
        data = by_dest[dest].data
        path = _inside(target, dest)
        if _same_bytes(path, data):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(dest)
    removed = sorted(existing_files(target) - set(by_dest))
    for dest in removed:
        (target / dest).unlink(missing_ok=True)
    for folder in sorted({p for p in target.rglob("*") if p.is_dir()}, key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
    return WriteReport(tuple(written), len(by_dest) - len(written), tuple(removed))


OLD_TREE = re.compile(r"\.old-[A-Za-z0-9_]{8}")
"""What follows the output folder's name in the name of a previous build moved aside
(tempfile.mkdtemp's 8 random characters): only such folders are ever removed unasked."""

STAGING_PREFIX = ".new-"
"""What follows the output folder's name in the name of a folder a build fills beside it."""
STAGING_TREE = re.compile(re.escape(STAGING_PREFIX) + r"[A-Za-z0-9_]{8}")
"""The same for a new tree being staged (a build killed outright can leave one behind)."""

_REMOVERS: list[subprocess.Popen] = []
"""Background removals started by this process (kept so that they are reaped, not warned about)."""


def move_aside(target: Path) -> Path:
    """Rename the folder target to a fresh name beside it ('<name>.old-XXXXXXXX') and return that."""
    aside = Path(tempfile.mkdtemp(prefix=f"{target.name}.old-", dir=target.parent))
    aside.rmdir()
    os.rename(target, aside)
    return aside


def old_trees(target: Path, kind: re.Pattern = OLD_TREE) -> list[Path]:
    """Previous builds of target moved aside and not (yet) removed, e.g. by a removal cut short
    (kind=STAGING_TREE: new trees staged beside target)."""
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    prefix = target.name
    return sorted(Path(entry.path) for entry in entries
                  if entry.name.startswith(prefix) and kind.fullmatch(entry.name, len(prefix))
                  and entry.is_dir(follow_symlinks=False))


def remove_tree_later(path: Path) -> None:
    """Delete a folder tree in a detached process that the caller does not wait for.

    Deleting a 100k-page site takes ~50 s on this machine's disk (every page is a folder,
    and each rmdir waits for the disk), far longer than building it. The process outlives
    a command line build; a removal cut short leaves a folder that old_trees() finds.
    """
    rm = shutil.which("rm")
    command = ([rm, "-rf", "--", str(path)] if rm and os.name == "posix" else
               [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)",
                str(path)])
    _REMOVERS[:] = [process for process in _REMOVERS if process.poll() is None]
    _REMOVERS.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True))
