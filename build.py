#!/usr/bin/env python3
"""Paper Atlas command line: `python build.py --help`."""
import sys

from site_src.cli import main

if __name__ == "__main__":
    sys.exit(main())
