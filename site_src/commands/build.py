"""`build.py build`: turn content/ into the static site."""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = "build the static site from content/ (into _site/ unless --out is given)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="output folder (default: _site under --root)")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="absolute URL the site is served from, e.g. https://user.github.io/survey/ "
                             "(default: base_url in content/site.yaml)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    import datetime as dt
    import sys

    from site_src.cli import UsageError, WorkError
    from site_src.config import ConfigError, load_config
    from site_src.pipeline import BuildError, build

    try:
        config = load_config(args.root, out_dir=args.out, base_url=args.base_url)
    except ConfigError as error:
        if args.base_url is not None and "base_url" in str(error) and "site.yaml" not in str(error):
            raise UsageError(str(error)) from error
        raise WorkError(str(error)) from error
    try:
        report = build(config, dt.datetime.now(dt.timezone.utc))
    except BuildError as error:
        raise WorkError(f"build failed, the previous site is left in place: {error}") from error
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if not args.quiet:
        print(f"built {report.pages} pages ({report.outputs} files) into {config.out_dir} "
              f"in {report.seconds:.2f} s: {len(report.written)} written, {report.unchanged} unchanged, "
              f"{len(report.removed)} removed")
    return 0
