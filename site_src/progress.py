"""Progress for long work: a bar on a terminal, plain lines otherwise, nothing with --quiet.

Usage::

    with Progress("render", total=len(pages), quiet=args.quiet) as bar:
        for page in pages:
            ...
            bar.advance()

The stream defaults to stderr so stdout stays clean for summaries and --json.
"""
from __future__ import annotations

import sys
import time
from typing import Literal, TextIO

Mode = Literal["bar", "lines", "quiet"]

BAR_WIDTH = 28
"""Characters of the bar itself; the whole line stays under 80 columns."""
BAR_INTERVAL = 0.1
"""Seconds between two redraws of the bar: drawing costs more than a page render."""
LINE_STEPS = 4
"""A non-TTY stream gets a line at 25 %, 50 %, 75 % and the end: enough for a CI log."""


def choose_mode(stream: TextIO, quiet: bool = False) -> Mode:
    """Pick how to show progress on a stream: 'bar' on a TTY, 'lines' elsewhere, 'quiet' if asked."""
    if quiet:
        return "quiet"
    isatty = getattr(stream, "isatty", None)
    try:
        return "bar" if isatty is not None and isatty() else "lines"
    except (ValueError, OSError):  # closed or detached stream
        return "lines"


def format_bar(label: str, done: int, total: int, elapsed: float) -> str:
    """Render one bar line, e.g. 'render  [#######.....]  60%  600/1000  1.2s'."""
    fraction = 1.0 if total <= 0 else min(done / total, 1.0)
    filled = int(round(fraction * BAR_WIDTH))
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"{label:<10.10} [{bar}] {fraction:4.0%} {done}/{total} {elapsed:.1f}s"


def format_line(label: str, done: int, total: int, elapsed: float) -> str:
    """Render one plain progress line, e.g. 'render: 600/1000 (60%) 1.2s'."""
    fraction = 1.0 if total <= 0 else min(done / total, 1.0)
    return f"{label}: {done}/{total} ({fraction:.0%}) {elapsed:.1f}s"


class Progress:
    """Count work done out of a known total and show it on a stream."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        quiet: bool = False,
        mode: Mode | None = None,
        clock=time.monotonic,
    ) -> None:
        self.label = label
        self.total = max(int(total), 0)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.mode: Mode = mode or choose_mode(self.stream, quiet)
        self._clock = clock
        self._start = clock()
        self._last_draw = float("-inf")
        self._next_step = 1
        self._closed = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, n: int = 1) -> None:
        """Record n more units of work done and redraw when it is worth it."""
        self.done += n
        if self.mode == "bar":
            now = self._clock()
            if now - self._last_draw >= BAR_INTERVAL or self.done >= self.total:
                self._last_draw = now
                self._write("\r" + format_bar(self.label, self.done, self.total, now - self._start))
        elif self.mode == "lines" and self.total > 0:
            while self._next_step < LINE_STEPS and self.done * LINE_STEPS >= self._next_step * self.total:
                self._next_step += 1
                self._write(format_line(self.label, self.done, self.total, self._clock() - self._start) + "\n")

    def close(self) -> None:
        """Finish the display: the bar gets its final state and a newline, lines a last line."""
        if self._closed:
            return
        self._closed = True
        elapsed = self._clock() - self._start
        if self.mode == "bar":
            self._write("\r" + format_bar(self.label, self.done, self.total, elapsed) + "\n")
        elif self.mode == "lines":
            self._write(format_line(self.label, self.done, self.total, elapsed) + "\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
