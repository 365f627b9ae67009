"""`build.py check`: the data-quality report over content/."""
from __future__ import annotations

import argparse

HELP = "report problems in content/ with file and line (exit 1 on errors)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 on warnings too (possible duplicates, inferred dates, ...)")
    parser.add_argument("--errors-only", action="store_true",
                        help="print errors only (warnings are still counted)")


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    from site_src.check import check_store
    from site_src.cli import WorkError
    from site_src.ingest import IngestError

    content_dir = args.root / "content"
    if not content_dir.is_dir():
        raise WorkError(f"no content folder at {content_dir}")
    try:
        report = check_store(content_dir)
    except IngestError as error:  # a killed ingest could not be completed
        raise WorkError(str(error)) from None
    for problem in report.problems:
        if problem.severity == "error" or not args.errors_only:
            print(problem)
    print(f"checked {report.papers} papers and {report.digests} digests: "
          f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    failed = bool(report.errors) or (args.strict and bool(report.warnings))
    return 1 if failed else 0
