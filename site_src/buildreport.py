"""What a build reports, and how it fails: kept apart from the pipeline so that a build with
nothing to do (buildcache's no-op path) never imports the page machinery (Jinja, markdown-it,
NumPy: ~0.2 s of the ~0.6 s such a build takes)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from site_src.model import Problem


class BuildError(RuntimeError):
    """The build failed; the previous site is left in place."""


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build made."""

    pages: int
    outputs: int
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]
    problems: tuple[Problem, ...]
    seconds: float
    started: dt.datetime | None = None
