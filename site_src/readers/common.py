"""Helpers every reader shares: arXiv ids, text cleaning, links in abstracts, month names.

Pure functions, no I/O. See docs/formats.md and FORMATS.md §4 for the id patterns.
"""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import unquote, urlsplit

# --- arXiv identifiers -----------------------------------------------------------------------

_NEW_ID = re.compile(r"(?P<id>(?P<yymm>\d{4})\.(?P<num>\d{4,5}))(?P<v>v\d+)?")
_OLD_ID = re.compile(
    r"(?P<id>(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.(?P<subj>[A-Za-z]{2}))?/(?P<yymm>\d{4})\d{3})"
    r"(?P<v>v\d+)?"
)
# arXiv has no two-letter archives; a 'subject class' must follow a real archive name.
_ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org", "alphaxiv.org", "www.alphaxiv.org"}
_HF_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
_WRAPPER = re.compile(r"^\s*(?:arxiv\s*:\s*)", re.IGNORECASE)


def _valid_new_style(yymm: str, num: str) -> bool:
    month = int(yymm[2:])
    if not 1 <= month <= 12:
        return False
    # 4-digit numbers ran from 0704 to 1412, 5-digit ones from 1501 on.
    if int(yymm) < 704:
        return False
    return len(num) == (4 if int(yymm) <= 1412 else 5)


def _canonical_id(candidate: str) -> str | None:
    match = _NEW_ID.fullmatch(candidate)
    if match:
        return match["id"] if _valid_new_style(match["yymm"], match["num"]) else None
    match = _OLD_ID.fullmatch(candidate)
    if match and 1 <= int(match["yymm"][2:]) <= 12:
        subj = f".{match['subj'].upper()}" if match["subj"] else ""
        return f"{match['archive']}{subj}/{candidate[candidate.index('/') + 1:][:7]}"
    return None


def arxiv_id_from_url(url: str) -> str | None:
    """Return the arXiv id (no version) an arXiv or Hugging Face paper URL points to, else None."""
    url = url.strip().strip("<>")
    if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
        if re.match(r"^(?:www\.|export\.)?(?:arxiv\.org|huggingface\.co|hf\.co)/", url, re.IGNORECASE):
            url = "https://" + url
        else:
            return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = unquote(parts.path)
    if host in _ARXIV_HOSTS:
        match = re.match(r"^/(?:abs|pdf|html|format)/(.+?)/?$", path)
        if not match:
            return None
        candidate = match.group(1)
        if candidate.lower().endswith(".pdf"):
            candidate = candidate[:-4]
        return _strip_version(candidate)
    if host in _HF_HOSTS:
        if path.rstrip("/") == "/login":
            query = unquote(parts.query)
            match = re.search(r"(?:^|&)next=/papers/([^&#?]+)", query)
            return _strip_version(match.group(1).rstrip("/")) if match else None
        match = re.match(r"^/papers/([^/]+(?:/\d{7})?)/?$", path)
        return _strip_version(match.group(1)) if match else None
    return None


def _strip_version(candidate: str) -> str | None:
    candidate = candidate.strip()
    match = _NEW_ID.fullmatch(candidate) or _OLD_ID.fullmatch(candidate)
    if not match:
        return None
    bare = candidate[: match.start("v")] if match["v"] else candidate
    return _canonical_id(bare)


def normalize_arxiv_id(text: str) -> str | None:
    """Return the canonical arXiv id (no version) in an id-like string or URL, else None.

    Accepts '2301.12345v2', 'arXiv:2301.12345', 'hep-th/9901001v1', arXiv abs/pdf URLs
    (with '.pdf'), Hugging Face paper and login?next= URLs, URL-encoded forms.
    """
    if not isinstance(text, str):
        return None
    text = clean_text(text)
    if not text:
        return None
    if re.match(r"^https?%3A%2F%2F", text, re.IGNORECASE):
        text = unquote(text)  # a whole URL that was URL-encoded once more
    if "://" in text or re.match(r"^(?:www\.|export\.)?(?:arxiv\.org|huggingface\.co|hf\.co)/", text, re.I):
        return arxiv_id_from_url(text)
    text = unquote(text)
    text = _WRAPPER.sub("", text).strip()
    if text.lower().endswith(".pdf"):
        text = text[:-4]
    return _strip_version(text)


_ID_IN_TEXT = re.compile(
    r"(?<![\w./-])(?:arxiv\s*:\s*)?"
    r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)(?![\w/])",
    re.IGNORECASE,
)


def find_arxiv_id(text: str) -> str | None:
    """Return the first valid arXiv id mentioned anywhere in a line of text, else None."""
    for url in find_urls(text):
        found = arxiv_id_from_url(url)
        if found:
            return found
    for match in _ID_IN_TEXT.finditer(text):
        found = _strip_version(match.group(1))
        if found:
            return found
    return None


# --- text cleaning ---------------------------------------------------------------------------

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def normalize_newlines(text: str) -> str:
    """Turn CRLF and lone CR into LF and drop byte-order marks."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")


def clean_text(text: str) -> str:
    """Make one tidy line: drop BOM/zero-width characters, NBSP to space, collapse whitespace."""
    # str.split() with no argument splits on every Unicode space, NBSP included.
    return " ".join(text.translate(_ZERO_WIDTH).split())


# --- links inside abstracts ------------------------------------------------------------------

# 'https: //github.com/x' and 'https:// github.com' are real (FORMATS.md §1.2.12): the optional
# spaces repair them; a scheme-less 'github.com/owner/repo' is also a link in an abstract.
_URL = re.compile(
    r"(?:https?\s?:\s?//\s?|(?<![\w@.-])(?=(?:www\.)?github\.com/))[^\s<>\"'`{}|\\^]+",
    re.IGNORECASE,
)
_GITHUB = re.compile(
    r"^(?:www\.)?github\.com/(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9._-]+)",
    re.IGNORECASE,
)
_GITHUB_NOT_OWNERS = {
    "about", "apps", "collections", "contact", "enterprise", "events", "explore", "features",
    "login", "marketplace", "orgs", "pricing", "search", "settings", "site", "sponsors",
    "topics", "trending",
}
_NOT_PROJECT_HOSTS = (
    "arxiv.org", "doi.org", "dx.doi.org", "huggingface.co", "hf.co", "github.com",
    "creativecommons.org", "twitter.com", "x.com", "youtube.com", "youtu.be",
)
_TRAILING = ".,;:!?'\"*_"


def _trim_url(url: str) -> str:
    """Strip sentence punctuation and unbalanced closing brackets from the end of a URL."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in ")]" and url.count(last) > url.count("(" if last == ")" else "["):
            url = url[:-1]
        else:
            break
    return url


def find_urls(text: str) -> list[str]:
    """Return the URLs in a text, repaired ('https: //x' -> 'https://x') and trimmed."""
    found = []
    for raw in _URL.findall(text):
        url = re.sub(r"\s", "", raw)
        if not re.match(r"^https?://", url, re.IGNORECASE):
            url = "https://" + url
        url = _trim_url(url)
        host = urlsplit(url).hostname if _safe_split(url) else None
        if host and "." in host:
            found.append(url)
    return found


def _safe_split(url: str) -> bool:
    try:
        urlsplit(url).hostname
    except ValueError:
        return False
    return True


def github_repo_from_url(url: str) -> str | None:
    """Return 'https://github.com/<owner>/<repo>' for a GitHub repository URL, else None."""
    bare = re.sub(r"^https?://", "", url.strip(), flags=re.IGNORECASE)
    match = _GITHUB.match(bare)
    if not match or match["owner"].lower() in _GITHUB_NOT_OWNERS:
        return None
    repo = match["repo"]
    if repo.lower().endswith(".git"):
        repo = repo[:-4]
    repo = repo.rstrip(".")
    if not repo or repo in {".", ".."}:
        return None
    return f"https://github.com/{match['owner']}/{repo}"


def extract_links(summary: str) -> tuple[str | None, str | None]:
    """Find (github_repo, project_page) URLs inside an abstract; None where there is none.

    The GitHub link is the first repository URL; the project page is the first other web
    URL that is not arXiv, DOI, Hugging Face, GitHub itself or social media (github.io
    pages count as project pages).
    """
    github = project = None
    for url in find_urls(summary):
        repo = github_repo_from_url(url)
        if repo:
            github = github or repo
            continue
        host = (urlsplit(url).hostname or "").lower()
        if any(host == h or host.endswith("." + h) for h in _NOT_PROJECT_HOSTS):
            continue
        project = project or url
    return github, project


# --- dates -----------------------------------------------------------------------------------

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")),
        start=1,
    )
    for name in names
}
"""Lower-case English month names and abbreviations -> month number."""

MONTH_PATTERN = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
"""Regex alternation matching a month name or abbreviation (case as printed)."""


def month_number(name: str) -> int | None:
    """Return 1..12 for an English month name or abbreviation ('Dec', 'december'), else None."""
    return MONTHS.get(name.strip().rstrip(".").lower())


def make_date(year: int, month: int, day: int) -> dt.date | None:
    """Return the date, or None when it does not exist (Feb 30)."""
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError):
        return None


def latest_on_or_before(month: int, day: int, today: dt.date) -> dt.date | None:
    """Resolve a yearless 'Mon D' to the latest such date on or before today.

    Feb 29 walks back to the last leap year; an impossible day (Apr 31) gives None.
    """
    for year in range(today.year, today.year - 9, -1):
        candidate = make_date(year, month, day)
        if candidate is not None and candidate <= today:
            return candidate
    return None


# --- structured sources (JSON, Atom, BibTeX) --------------------------------------------------

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n\s*")


def join_hard_wraps(text: str) -> str:
    """Join hard-wrapped lines into one line per paragraph; paragraphs stay apart by a blank line.

    A line ending in a hyphen after a letter joins the next without a space: arXiv authors wrap
    at spaces, so such a hyphen belongs to a compound ('positron-' + 'proton').
    """
    paragraphs = []
    for block in _PARAGRAPH_BREAK.split(normalize_newlines(text).strip()):
        joined = ""
        for line in block.split("\n"):
            line = clean_text(line)
            if not line:
                continue
            if joined and not (joined.endswith("-") and joined[-2:-1].isalpha()):
                joined += " "
            joined += line
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)


_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")


def parse_iso_date(value: object) -> dt.date | None:
    """Return the calendar date of an ISO-8601 date or timestamp ('2024-07-18T05:15:24.000Z'), else None.

    The date is taken as written (UTC for the APIs we read), not converted to local time.
    """
    if not isinstance(value, str):
        return None
    match = _ISO_DATE.match(value)
    return make_date(int(match[1]), int(match[2]), int(match[3])) if match else None


def web_url(value: object) -> str | None:
    """Return a cleaned http(s) URL with a host, else None (no javascript:, data: or relative URLs)."""
    if not isinstance(value, str):
        return None
    url = clean_text(value)
    if not re.match(r"^https?://", url, re.IGNORECASE) or any(c in url for c in " <>\"'`"):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return url if host and "." in host else None


_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def date_in_filename(name: str) -> dt.date | None:
    """Return the first valid YYYY-MM-DD date in a file name ('hf-daily-2026-05-29.json'), else None."""
    for match in _DATE_IN_NAME.finditer(name):
        found = make_date(int(match[1]), int(match[2]), int(match[3]))
        if found:
            return found
    return None
