"""`build.py serve`: build, serve on loopback, rebuild on change, reload the browser."""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = "build, serve the site on 127.0.0.1, and rebuild and reload the browser on every change"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port to listen on (default: 8000; 0 picks a free one)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="output folder (default: _site under --root)")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="absolute URL for feeds and the sitemap (default: from site.yaml)")
    parser.add_argument("--quiet", action="store_true", help="print only errors")


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    import sys

    from site_src import buildcache, serve
    from site_src.cli import UsageError
    from site_src.config import load_config

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    root = Path(args.root)
    session: dict = {}

    def build():
        # The config is read again on every build: editing site.yaml is a change like any other.
        config = load_config(root, out_dir=args.out, base_url=args.base_url)
        # The first build walks every step even when nothing changed, so memos are in memory
        # and modules imported before the curator's first save.
        first = "memos" not in session
        return buildcache.build(config, session=session, allow_noop=not first)

    def log(*parts, file=None, flush=False):
        if args.quiet and file is not sys.stderr:
            return
        print(*parts, file=file or sys.stdout, flush=True)

    first = load_config(root, out_dir=args.out, base_url=args.base_url)
    watched = [first.content_dir, first.templates_dir] + ([first.theme_dir] if first.theme_dir else [])
    try:
        return serve.serve(build, out_dir=first.out_dir, watched=watched, host=args.host,
                           port=args.port, log=log)
    except OSError as error:
        from site_src.cli import WorkError

        raise WorkError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
