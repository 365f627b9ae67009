"""Fetch the next digest from the Hugging Face daily-papers API or the arXiv API.

The recipe (`fetch_hf` / `fetch_arxiv`, then `save_fetched`):
1. request every page (HF: p=0,1,... until a short page; arXiv: start=0,N,... with a pause
   between requests), retrying timeouts, dropped connections and 5xx answers with exponential
   backoff;
2. check each page is what the API promises (a JSON list of items / an Atom feed without
   error entries) and raise FetchError otherwise, so nothing half-fetched goes further;
3. join the pages into one digest file and save it under content/digests/fetched/ (atomic
   write); the caller then ingests it like any other digest.

Only urllib is used. Sleeping and the HTTP opener are parameters so tests run fast and offline.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.parsers.expat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from site_src import __version__
from site_src.readers import arxiv_atom

HF_BASE_URL = "https://huggingface.co"
"""Default Hugging Face host; the daily papers live at <base>/api/daily_papers."""
ARXIV_BASE_URL = "https://export.arxiv.org/api/query"
"""Default arXiv API query endpoint."""
HF_URL_ENV = "ATLAS_HF_URL"
ARXIV_URL_ENV = "ATLAS_ARXIV_URL"
FETCHED_DIR = Path("digests") / "fetched"
"""Where fetched digests are kept, relative to content/."""

ARXIV_DELAY = 3.0
"""Seconds between arXiv API requests: arXiv asks for no more than one request every 3 s."""
ARXIV_PAGE_SIZE = 100
HF_PAGE_SIZE = 50
"""The daily-papers API's default `limit`; a page shorter than this is the last one."""
MAX_PAGES = 200
"""Stop paging after this many pages, whatever the server says (a guard against loops)."""

USER_AGENT = f"paper-atlas/{__version__} (static literature-survey generator; fetch command)"


class FetchError(Exception):
    """A fetch failed or the server answered with something unexpected; nothing was saved."""


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """How patient to be with a server."""

    timeout: float = 30.0
    """Seconds to wait for a connection or for data before giving up on one attempt."""
    retries: int = 3
    """Extra attempts after a timeout, a dropped connection, a 429 or a 5xx answer."""
    backoff: float = 2.0
    """Seconds before the first retry; doubled for each further retry."""
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    """Waits between retries and between arXiv pages (tests pass a recorder)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A digest fetched in full: the file name to save it as, its bytes, and what was asked."""

    name: str
    data: bytes
    urls: tuple[str, ...]
    """Every URL requested, in order (one per page)."""
    entries: int
    digest_date: dt.date | None = None
    """The date to give the digest when its items do not say (a week's Monday, a month's 1st)."""


def base_url(option: str | None, env: str, default: str) -> str:
    """Pick a base URL: the command-line option, else the environment variable, else the default."""
    chosen = option or os.environ.get(env) or default
    parts = urllib.parse.urlsplit(chosen)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"not an http(s) base URL: {chosen!r}")
    return chosen


# --------------------------------------------------------------------- HTTP

def http_get(url: str, settings: HttpSettings) -> bytes:
    """GET a URL and return the whole body; retry transient failures, raise FetchError on others."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    attempts = settings.retries + 1
    last = ""
    for attempt in range(attempts):
        if attempt:
            settings.sleep(settings.backoff * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code} {error.reason}"
            if error.code != 429 and not 500 <= error.code < 600:
                raise FetchError(f"{url}: the server answered {last}") from None
        except http.client.IncompleteRead as error:
            last = (f"the response was cut off after {len(error.partial)} bytes "
                    f"({error.expected} more were announced)")
        except (TimeoutError, socket.timeout):
            last = f"no answer within {settings.timeout:g} s"
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                last = f"no answer within {settings.timeout:g} s"
            else:
                last = f"cannot connect: {reason}"
        except (ConnectionError, http.client.HTTPException) as error:
            last = f"the connection failed: {error or type(error).__name__}"
    raise FetchError(f"{url}: {last} (gave up after {attempts} attempt(s))")


def _with_query(url: str, params: dict[str, str | int]) -> str:
    """Add query parameters to a URL that may already have some."""
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + joiner + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


# --------------------------------------------------------------------- Hugging Face

def hf_period(*, date: dt.date | None = None, week: str | None = None,
              month: str | None = None) -> tuple[str, str, dt.date]:
    """Return (API parameter, value, first day) for exactly one of --date / --week / --month."""
    chosen = [name for name, value in (("date", date), ("week", week), ("month", month)) if value]
    if len(chosen) != 1:
        raise ValueError("give exactly one of --date, --week or --month")
    if date is not None:
        return "date", date.isoformat(), date
    if week is not None:
        match = re.fullmatch(r"(\d{4})-W(\d{2})", week)
        try:
            monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1) if match else None
        except ValueError:
            monday = None
        if monday is None:
            raise ValueError(f"not an ISO week like 2026-W22: {week!r}")
        return "week", week, monday
    match = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"not a month like 2026-05: {month!r}")
    return "month", month, dt.date(int(match[1]), int(match[2]), 1)


def check_hf_page(data: bytes, url: str) -> list:
    """Return the items of one daily-papers page, or raise FetchError if it is not such a page."""
    try:
        items = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise FetchError(f"{url}: the response is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        cut = error.msg.startswith("Unterminated") or error.pos >= len(data.rstrip()) - 1
        hint = " (the response looks cut off)" if cut else ""
        raise FetchError(f"{url}: the response is not valid JSON{hint}: {error.msg} (line "
                         f"{error.lineno}, column {error.colno})") from None
    if not isinstance(items, list):
        raise FetchError(f"{url}: expected a JSON list of daily papers, got a JSON "
                         f"{type(items).__name__}")
    for index, item in enumerate(items):
        if not (isinstance(item, dict) and isinstance(item.get("paper"), dict)
                and item["paper"].get("id")):
            raise FetchError(f"{url}: item {index} is not a daily-paper item with paper.id")
    return items


def fetch_hf(base: str, *, date: dt.date | None = None, week: str | None = None,
             month: str | None = None, limit: int = HF_PAGE_SIZE,
             settings: HttpSettings = HttpSettings()) -> Fetched:
    """Fetch every page of Hugging Face daily papers for one day, ISO week or month."""
    param, value, first_day = hf_period(date=date, week=week, month=month)
    endpoint = base.rstrip("/") + "/api/daily_papers"
    items: list = []
    urls: list[str] = []
    seen: set[str] = set()
    for page in range(MAX_PAGES):
        url = _with_query(endpoint, {param: value, "p": page, "limit": limit})
        urls.append(url)
        page_items = check_hf_page(http_get(url, settings), url)
        ids = {item["paper"]["id"] for item in page_items}
        if page_items and ids <= seen:
            break  # the server ignored 'p' and sent a page we already have
        seen |= ids
        items.extend(page_items)
        if len(page_items) < limit:
            break
    else:
        raise FetchError(f"{endpoint}: still more pages after {MAX_PAGES}; giving up")
    name = f"hf-{'daily' if param == 'date' else param}-{value}.json"
    data = (json.dumps(items, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return Fetched(name, data, tuple(urls), len(items),
                   digest_date=None if param == "date" else first_day)


# --------------------------------------------------------------------- arXiv

def check_arxiv_page(data: bytes, url: str, *, today: dt.date) -> arxiv_atom.FeedInfo:
    """Check one arXiv API page is a safe, whole Atom feed without error entries."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FetchError(f"{url}: the response is not UTF-8 text") from None
    try:
        info = arxiv_atom.scan(text)
    except arxiv_atom.UnsafeXML as error:
        raise FetchError(f"{url}: {error}") from None
    except xml.parsers.expat.ExpatError as error:
        raise FetchError(f"{url}: the response is not well-formed XML (cut off?): {error}") from None
    if info.total_results is None or "<feed" not in text[:2000]:
        raise FetchError(f"{url}: the response is not an arXiv API Atom feed")
    result = arxiv_atom.parse(text, source=url, today=today)
    errors = [p.reason for p in result.problems if p.reason.startswith("arXiv returned an error")]
    if errors:
        raise FetchError(f"{url}: {errors[0]}")
    return info


_ENTRY = re.compile(r"<entry[\s>].*?</entry>", re.DOTALL)


def join_atom_pages(pages: list[str]) -> str:
    """Join arXiv API pages into one feed: the first page with every later page's entries added."""
    first = pages[0]
    extra = [entry for page in pages[1:] for entry in _ENTRY.findall(page)]
    if not extra:
        return first
    end = first.rindex("</feed>")
    return first[:end] + "".join(f"  {entry}\n" for entry in extra) + first[end:]


def query_slug(query: str) -> str:
    """A short file-name-safe form of a search query ('cat:cs.LG AND ti:robust' -> 'cat-cs-lg-and-ti-robust')."""
    slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")
    return slug[:60].rstrip("-") or "query"


def fetch_arxiv(base: str, query: str, *, max_results: int = 100, today: dt.date,
                page_size: int = ARXIV_PAGE_SIZE, delay: float = ARXIV_DELAY,
                sort_by: str = "submittedDate",
                settings: HttpSettings = HttpSettings()) -> Fetched:
    """Fetch up to max_results entries for an arXiv API search query, a page at a time."""
    if not query.strip():
        raise ValueError("the query is empty")
    if max_results < 1:
        raise ValueError("--max must be at least 1")
    pages: list[str] = []
    urls: list[str] = []
    start = entries = 0
    while entries < max_results and len(pages) < MAX_PAGES:
        size = min(page_size, max_results - entries)
        url = _with_query(base, {"search_query": query, "start": start, "max_results": size,
                                 "sortBy": sort_by, "sortOrder": "descending"})
        for attempt in range(settings.retries + 1):
            if urls:
                settings.sleep(delay)  # arXiv's rate limit holds for retries too
            urls.append(url)
            data = http_get(url, settings)
            info = check_arxiv_page(data, url, today=today)
            total = info.total_results or 0
            # arXiv sometimes answers a page inside the results with no entries: ask again.
            if info.entry_lines or start >= total:
                break
        else:
            raise FetchError(f"{url}: arXiv reports {total} results but sent no entries from "
                             f"index {start}, {settings.retries + 1} time(s); try again later")
        pages.append(data.decode("utf-8"))
        got = len(info.entry_lines)
        entries += got
        start += got
        if got < size or start >= total:
            break
    name = f"arxiv-{query_slug(query)}-{today.isoformat()}.atom"
    return Fetched(name, join_atom_pages(pages).encode("utf-8"), tuple(urls), entries,
                   digest_date=today)


# --------------------------------------------------------------------- saving (I/O)

def save_fetched(fetched: Fetched, content_dir: Path) -> Path:
    """Write a fetched digest to content/digests/fetched/<name> atomically; return its path."""
    folder = Path(content_dir) / FETCHED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / fetched.name
    temporary = folder / f".{fetched.name}.part"
    with open(temporary, "wb") as handle:
        handle.write(fetched.data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    return target
