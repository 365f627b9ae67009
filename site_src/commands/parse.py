"""`build.py parse`: show what a reader makes of a digest file, without touching content/."""
from __future__ import annotations

import argparse

from site_src.commands.options import add_digest_options

HELP = "show what a reader makes of a digest file (papers, problems) without touching content/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("file", metavar="FILE", help="digest file to read")
    add_digest_options(parser, date_help="the digest's date (default: the page date, resolved against --today)")
    parser.add_argument("--json", action="store_true",
                        help='print {"digest", "papers", "problems"} as JSON')


def run(args: argparse.Namespace) -> int:
    """Read one file and print the result as JSON or as a short summary."""
    import datetime as dt
    import json
    import os
    import sys

    from site_src.cli import WorkError
    from site_src.readers import UnknownFormat, read_file, result_as_json

    today = args.today or dt.date.today()
    try:
        result = read_file(args.file, format=args.format, digest_date=args.date, today=today)
    except UnknownFormat as error:
        raise WorkError(str(error)) from None
    except OSError as error:
        raise WorkError(f"cannot read {args.file}: {error.strerror or error}") from None

    if args.json:
        try:
            json.dump(result_as_json(result), sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # `parse --json | head` closed the pipe early: not an error of ours.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the exit-time flush
        return 0
    digest = result.digest
    date = digest.date.isoformat() if digest.date else "unknown"
    print(f"{args.file}: format {digest.format}, digest date {date}"
          + (f" (from the {digest.date_source})" if digest.date_source else ""))
    print(f"entries seen: {result.entries_seen}, papers: {len(result.papers)}, "
          f"problems: {len(result.problems)}")
    for problem in result.problems:
        line = f":{problem.line}" if problem.line is not None else ""
        print(f"  {args.file}{line}: {problem.severity}: {problem.reason}")
    return 0
