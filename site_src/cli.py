"""The command line: the only module that reads argv.

Each command lives in site_src/commands/<name>.py and exposes
`HELP` (one line), `add_arguments(parser)` and `run(args) -> int`.
Command modules import their heavy dependencies inside `run`, so
`--help` stays instant.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
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


class Terminated(BaseException):
    """SIGTERM arrived (exit code 143). A BaseException, like KeyboardInterrupt, so that it
    unwinds through every `except Exception` to the cleanup a build does on the way out
    (a full build's half-written staging tree is removed; the live site is never touched)."""


def _terminate_by_unwinding(main_pid: int):
    """A SIGTERM handler: raise Terminated in this process; forked workers die at once."""
    def handler(signum, frame):
        if os.getpid() != main_pid:  # a worker or child forked by a build: the parent cleans up
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated()
    return handler


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
    # Python's default for SIGTERM (what `kill`, `timeout` and service managers send) is to
    # die on the spot, which would leave a full build's staging tree beside the site.
    try:
        previous = signal.signal(signal.SIGTERM, _terminate_by_unwinding(os.getpid()))
    except ValueError:  # (called from a thread other than the main one: leave signals alone)
        previous = None
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
    except Terminated:
        print(f"build.py {args.command}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
