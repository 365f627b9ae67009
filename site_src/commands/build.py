"""`build.py build`: turn content/ into the static site."""
from __future__ import annotations

import argparse
from pathlib import Path

from site_src.commands.options import add_timings_option, timings_line

HELP = "build the static site from content/ (into _site/ unless --out is given)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="output folder (default: _site under --root)")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="absolute URL the site is served from, e.g. https://user.github.io/survey/ "
                             "(default: base_url in content/site.yaml)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    parser.add_argument("--full", action="store_true",
                        help="ignore the build cache (.cache/) and rebuild every page")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes for big builds (default: all CPUs; 1 = none)")
    add_timings_option(parser)


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    import datetime as dt
    import sys

    from site_src.cli import UsageError, WorkError
    from site_src.config import ConfigError, load_config
    from site_src.buildcache import build
    from site_src.buildreport import BuildError

    try:
        config = load_config(args.root, out_dir=args.out, base_url=args.base_url)
    except ConfigError as error:
        if args.base_url is not None and "base_url" in str(error) and "site.yaml" not in str(error):
            raise UsageError(str(error)) from error
        raise WorkError(str(error)) from error
    try:
        # Incremental: only pages whose inputs changed are rendered (see docs/performance.md).
        report = build(config, dt.datetime.now(dt.timezone.utc), full=args.full, jobs=args.jobs,
                       quiet=args.quiet, noop_record=args.out is None and args.base_url is None)
    except BuildError as error:
        raise WorkError(f"build failed, the previous site is left in place: {error}") from error
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if args.timings:
        print(timings_line(report), file=sys.stderr)
    if not args.quiet:
        print(f"built {report.pages} pages ({report.outputs} files) into {config.out_dir} "
              f"in {report.seconds:.2f} s: {len(report.written)} written, {report.unchanged} unchanged, "
              f"{len(report.removed)} removed ({report.summary()})")
    return 0
