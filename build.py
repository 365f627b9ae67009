#!/usr/bin/env python3
"""Paper Atlas command line: `python build.py --help`."""
import os
import sys

from site_src import quicknoop


def _exit_now(code: int) -> None:
    """Exit without freeing the heap object by object.

    A build or update of 100k papers ends with ~2 GB of objects alive; interpreter teardown
    spends ~1.3 s freeing them one by one, memory the operating system reclaims at once.
    Every pool and thread of a command has finished when main returns, and no code here
    registers exit handlers, so only the output buffers need flushing first.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":
    # A plain `build` with nothing to do is told from the last build's no-op record,
    # before the command line's modules are imported (site_src/quicknoop.py).
    code = quicknoop.answer(sys.argv[1:])
    if code is None:
        from site_src.cli import main

        code = main()
    _exit_now(code)
