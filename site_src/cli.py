"""The command line: the only module that reads argv.

Each command lives in site_src/commands/<name>.py and exposes
`HELP` (one line), `add_arguments(parser)` and `run(args) -> int`.
Command modules import their heavy dependencies inside `run`, so
`--help` stays instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from site_src import __version__

COMMANDS: tuple[str, ...] = (
    "parse", "ingest", "check", "build", "update", "serve", "topics", "fetch",
)
"""Command names, in the order `--help` lists them."""


class UsageError(Exception):
    """A command was called wrongly (exit code 2)."""


class WorkError(Exception):
    """A command could not do its work (exit code 1)."""


def build_parser() -> argparse.ArgumentParser:
    """Make the argument parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Paper Atlas: turn paper digests into a static literature-survey site.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--root", type=Path, default=Path("."),
        help="project folder holding content/ and templates/ (default: current folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"site_src.commands.{name}")
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (0 ok, 1 failed work, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as error:
        print(f"build.py {args.command}: error: {error}", file=sys.stderr)
        return 2
    except WorkError as error:
        print(f"build.py {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"build.py {args.command}: interrupted", file=sys.stderr)
        return 130
