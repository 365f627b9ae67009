"""`build.py build`: not written yet."""
from __future__ import annotations

import argparse

HELP = "(build: not available yet)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    from site_src.cli import WorkError

    raise WorkError("'build' is not available yet")
