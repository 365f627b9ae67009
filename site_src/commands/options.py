"""Options several commands share: dates and the digest-reading options."""
from __future__ import annotations

import argparse
import datetime as dt
import re


def iso_date(value: str) -> dt.date:
    """Parse a YYYY-MM-DD option value (argparse turns the error into exit code 2)."""
    # fromisoformat alone also takes '20251212' and '2025-W50-5'.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"not a date as YYYY-MM-DD: {value!r}")


def add_digest_options(parser: argparse.ArgumentParser, *, date_help: str) -> None:
    """Declare --date, --format and --today, the options of every command that reads digests."""
    parser.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD", help=date_help)
    parser.add_argument("--format", metavar="F", help="reader to use (default: detected from each file)")
    parser.add_argument("--today", type=iso_date, metavar="YYYY-MM-DD",
                        help="the day to resolve yearless dates against (default: today)")


def check_format(name: str | None) -> None:
    """Refuse an unknown --format before any work starts (a usage error)."""
    from site_src.cli import UsageError
    from site_src.readers import READERS

    if name is not None and name not in READERS:
        raise UsageError(f"unknown format {name!r}; known formats: {', '.join(sorted(READERS))}")


def add_timings_option(parser: argparse.ArgumentParser) -> None:
    """Declare --timings (where a build's time went, on standard error)."""
    parser.add_argument("--timings", action="store_true",
                        help="print the seconds each build stage took (on standard error)")


def timings_line(report) -> str:
    """'build stages: check 0.12 s, load 0.30 s, …' from a build report (buildcache)."""
    incremental = getattr(report, "incremental", None)
    stages = getattr(incremental, "timings", None) or {}
    parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in stages.items())
    return f"build stages ({getattr(incremental, 'mode', 'full')}): {parts or '-'}"
