"""`build.py fetch hf|arxiv`: download the next digest, keep it under content/digests/fetched/, ingest it."""
from __future__ import annotations

import argparse

from site_src.commands.options import iso_date
import sys

HELP = "download a digest from the Hugging Face or arXiv API, keep the raw file, and ingest it"


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {value!r}")
    return int(value)


def _at_most(limit: int):
    def check(value: str) -> int:
        number = _positive(value)
        if number > limit:
            raise argparse.ArgumentTypeError(f"at most {limit}, not {number}")
        return number
    return check


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 3600:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    sources = parser.add_subparsers(dest="source", metavar="SOURCE")
    sources.required = True

    hf = sources.add_parser("hf", help="Hugging Face daily papers (all pages of one period)",
                            description="Fetch Hugging Face daily papers for one day, week or month.")
    period = hf.add_mutually_exclusive_group(required=True)
    period.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD", help="one day's papers")
    period.add_argument("--week", metavar="YYYY-Www", help="one ISO week's papers, e.g. 2026-W22")
    period.add_argument("--month", metavar="YYYY-MM", help="one month's papers, e.g. 2026-05")
    hf.add_argument("--hf-url", metavar="URL",
                    help="Hugging Face base URL (default: $ATLAS_HF_URL, else https://huggingface.co)")
    # A server that caps the page below --limit would look like a last page and end the fetch
    # early, so --limit stays within what the API serves.
    hf.add_argument("--limit", type=_at_most(100), default=50, metavar="N",
                    help="papers per page to ask for, at most 100 (default: 50, the API's page size)")

    arxiv = sources.add_parser("arxiv", help="an arXiv API search, a page at a time",
                               description="Fetch the newest papers matching an arXiv API query.")
    arxiv.add_argument("--query", required=True, metavar="QUERY",
                       help="arXiv search_query, e.g. 'cat:cs.LG AND abs:\"robust training\"'")
    arxiv.add_argument("--max", type=_positive, default=100, metavar="N",
                       help="at most this many papers (default: 100)")
    arxiv.add_argument("--page-size", type=_at_most(2000), default=100, metavar="N",
                       help="entries per request, at most 2000 (default: 100)")
    arxiv.add_argument("--delay", type=_seconds, default=3.0, metavar="SECONDS",
                       help="pause between requests (default: 3, arXiv's published limit)")
    arxiv.add_argument("--arxiv-url", metavar="URL",
                       help="arXiv API query URL (default: $ATLAS_ARXIV_URL, else "
                            "https://export.arxiv.org/api/query)")

    for command in (hf, arxiv):
        command.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                             help="give up on one attempt after this long (default: 30)")
        command.add_argument("--retries", type=int, default=3, choices=range(0, 11), metavar="N",
                             help="retries after timeouts and 5xx answers (default: 3)")
        command.add_argument("--backoff", type=_seconds, default=2.0, metavar="SECONDS",
                             help="wait before the first retry, doubled each time (default: 2)")
        command.add_argument("--no-ingest", action="store_true",
                             help="only save the fetched file under content/digests/fetched/")
        command.add_argument("--today", type=iso_date, metavar="YYYY-MM-DD",
                             help="the day to date an arXiv fetch and resolve dates against "
                                  "(default: today)")


def run(args: argparse.Namespace) -> int:
    """Fetch, save the raw digest, then ingest it; nothing reaches content/papers/ on failure."""
    import datetime as dt
    import time

    from site_src import fetch
    from site_src.cli import UsageError, WorkError

    today = args.today or dt.date.today()
    content_dir = args.root / "content"
    settings = fetch.HttpSettings(timeout=args.timeout, retries=args.retries,
                                  backoff=args.backoff)
    try:
        if args.source == "hf":
            base = fetch.base_url(args.hf_url, fetch.HF_URL_ENV, fetch.HF_BASE_URL)
            fetched = fetch.fetch_hf(base, date=args.date, week=args.week, month=args.month,
                                     limit=args.limit, settings=settings)
        else:
            base = fetch.base_url(args.arxiv_url, fetch.ARXIV_URL_ENV, fetch.ARXIV_BASE_URL)
            fetched = fetch.fetch_arxiv(base, args.query, max_results=args.max, today=today,
                                        page_size=args.page_size, delay=args.delay,
                                        settings=settings)
    except ValueError as error:
        raise UsageError(str(error)) from None
    except fetch.FetchError as error:
        raise WorkError(f"{error}; nothing was saved") from None

    print(f"fetched {fetched.entries} paper(s) in {len(fetched.urls)} request(s)")
    if fetched.entries == 0:
        print("nothing to save: the source lists no papers for that request")
        return 0
    try:
        saved = fetch.save_fetched(fetched, content_dir)
    except OSError as error:
        raise WorkError(f"cannot save the fetched digest: {error}") from None
    print(f"saved {saved.relative_to(args.root) if saved.is_relative_to(args.root) else saved}")
    if args.no_ingest:
        return 0

    from site_src.commands.ingest import print_report
    from site_src.ingest import IngestError, ingest

    started = time.perf_counter()
    try:
        report = ingest([saved], content_dir, today=today, digest_date=fetched.digest_date)
    except IngestError as error:
        raise WorkError(f"{error} (the fetched file is kept: {saved})") from None
    print_report(report, time.perf_counter() - started, out=sys.stdout)
    return 0
