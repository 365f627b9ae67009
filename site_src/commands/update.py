"""`build.py update DIGEST...`: ingest digests, then rebuild only what they changed."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from site_src.commands.options import add_digest_options, add_timings_option, check_format, timings_line

HELP = "ingest digest files and rebuild the site incrementally, with a summary of what changed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("files", nargs="+", metavar="DIGEST", help="digest files to ingest")
    add_digest_options(parser, date_help="the digest's date (default: from the digest, else its file name)")
    parser.add_argument("--strict", action="store_true",
                        help="fail, writing nothing, if any entry has a problem")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="output folder (default: _site under --root)")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="absolute URL the site is served from (default: from site.yaml)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    add_timings_option(parser)


def summary_lines(ingested, built, ingest_seconds: float, build_seconds: float) -> list[str]:
    """The curator's summary: what the digests brought and what the site changed."""
    removed = len(built.removed)
    return [
        f"digests: {', '.join(ingested.digests) or '-'}",
        f"papers: {len(ingested.new)} new, {len(ingested.updated)} updated, "
        f"{len(ingested.unchanged)} unchanged, {ingested.skipped} skipped",
        f"pages: {len(built.written)} written, {removed} removed, {built.unchanged} unchanged "
        f"({built.incremental.rendered} of {built.pages} pages rendered)",
        f"took {ingest_seconds + build_seconds:.2f} s (ingest {ingest_seconds:.2f} s, "
        f"build {build_seconds:.2f} s)",
    ]


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    from site_src import buildcache
    from site_src.cli import WorkError
    from site_src.config import ConfigError, load_config
    from site_src.ingest import IngestError, StrictFailure, ingest
    from site_src.memory import release_freed_memory
    from site_src.buildreport import BuildError

    check_format(args.format)
    try:
        config = load_config(args.root, out_dir=args.out, base_url=args.base_url)
    except ConfigError as error:
        raise WorkError(str(error)) from error
    started = time.perf_counter()
    memo: dict = {}

    def load(content_dir: Path):
        # The build cache's parse memo: only files changed since the last build are parsed,
        # and the build below reuses what this load parsed. The store is listed (a stat per
        # file) in a child process while the memo is unpickled here.
        from site_src.parallel import run_beside

        lister = run_beside(lambda: buildcache.list_content(content_dir))
        memo["previous"] = buildcache.load_corpus_memo(buildcache.cache_dir_for(config.root, config.out_dir))
        try:
            listings = lister.result()
        except RuntimeError:  # (the child process died: list here)
            listings = None
        corpus, memo["corpus"] = buildcache.load_corpus(content_dir, memo["previous"], recover=False,
                                                        listings=listings)
        return corpus

    try:
        ingested = ingest(args.files, config.content_dir, today=args.today or dt.date.today(),
                          digest_date=args.date, format=args.format, strict=args.strict, load=load)
    except StrictFailure as failure:
        raise WorkError(f"{failure}; the site was not rebuilt") from None
    except IngestError as error:
        raise WorkError(f"{error}; the site was not rebuilt") from None
    ingest_seconds = time.perf_counter() - started
    # Ingest's transient tables (the fuzzy-match index, the listing) are garbage now: hand
    # the heap's free memory back before the build loads its memos.
    release_freed_memory()
    for problem in ingested.problems:
        print(f"  {problem}", file=sys.stderr)
    for duplicate in ingested.possible_duplicates:
        print(f"  {duplicate}", file=sys.stderr)
    try:
        built = buildcache.build(config, dt.datetime.now(dt.timezone.utc), corpus_memo=memo.get("corpus"),
                                 previous_corpus_memo=memo.get("previous"), written=ingested.written,
                                 noop_record=args.out is None and args.base_url is None)
    except BuildError as error:
        raise WorkError(f"the digests were ingested, but the build failed (the previous site "
                        f"is left in place): {error}") from error
    build_seconds = time.perf_counter() - started - ingest_seconds
    for problem in built.problems:
        print(problem, file=sys.stderr)
    if args.timings:
        print(timings_line(built), file=sys.stderr)
    if not args.quiet:
        print("\n".join(summary_lines(ingested, built, ingest_seconds, build_seconds)))
    return 0
