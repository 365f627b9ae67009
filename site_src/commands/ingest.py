"""`build.py ingest FILE...`: fold digests into content/ (all or nothing)."""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time

from site_src.commands.options import add_digest_options, check_format

HELP = "add digest files to content/ (new papers, merged updates, digest records)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="digest files to ingest")
    add_digest_options(parser, date_help="the digest's date (default: from the digest, else its file name)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would change without writing anything")
    parser.add_argument("--strict", action="store_true",
                        help="fail, writing nothing, if any entry has a problem")
    parser.add_argument("--lock-timeout", type=float, default=60.0, metavar="SECONDS",
                        help=argparse.SUPPRESS)


def print_report(report, seconds: float, out=sys.stdout) -> None:
    """Print the summary a curator reads after an ingest."""
    verb = "would write" if report.dry_run else "wrote"
    print(f"digests: {', '.join(report.digests) or '-'}", file=out)
    print(f"entries seen: {report.entries_seen}  new: {len(report.new)}  "
          f"updated: {len(report.updated)}  unchanged: {len(report.unchanged)}  "
          f"skipped: {report.skipped}  possible duplicates: {len(report.possible_duplicates)}  "
          f"problems: {len(report.problems)}", file=out)
    if report.dry_run:
        for label, slugs in (("new", report.new), ("updated", report.updated)):
            for slug in slugs:
                print(f"  {label}: {slug}", file=out)
    for duplicate in report.possible_duplicates:
        print(f"  {duplicate}", file=out)
    for problem in report.problems:
        print(f"  {problem}", file=out)
    print(f"{verb} {len(report.written)} file(s) in {seconds:.2f} s", file=out)


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    from site_src.cli import WorkError
    from site_src.ingest import IngestError, StrictFailure, ingest

    check_format(args.format)
    started = time.perf_counter()
    try:
        report = ingest(args.files, args.root / "content", today=args.today or dt.date.today(),
                        digest_date=args.date, format=args.format, dry_run=args.dry_run,
                        strict=args.strict, lock_timeout=args.lock_timeout)
    except StrictFailure as failure:
        # A refused ingest reads like a dry run: nothing was written.
        print_report(dataclasses.replace(failure.report, dry_run=True),
                     time.perf_counter() - started)
        raise WorkError(str(failure)) from None
    except IngestError as error:
        raise WorkError(str(error)) from None
    print_report(report, time.perf_counter() - started)
    return 0

