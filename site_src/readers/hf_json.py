"""Reader for the Hugging Face papers API JSON ('hf-json'); see docs/sources.md and FORMATS.md §2.

Accepts the three shapes the API returns: a list of daily-paper items (`/api/daily_papers`,
`/api/papers/search`), a single paper object (`/api/papers/{id}`), and the page's
`{"dailyPapers": [...]}` props. Only `paper.id` is required; every other field is optional
and a field of the wrong type is dropped with a warning. Pure: no I/O.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace

from site_src.model import Appearance, DigestMeta, Paper, Problem, ReadResult
from site_src.readers.common import (
    clean_text,
    date_in_filename,
    join_hard_wraps,
    normalize_arxiv_id,
    parse_iso_date,
    web_url,
)

FORMAT = "hf-json"

PAPER_KEYS = frozenset({"id", "authors", "publishedAt", "title", "summary", "upvotes"})
"""Keys of a paper object (FORMATS.md §2.2); sniffing looks for them."""


@dataclass(frozen=True, slots=True)
class _Item:
    """One list element with where it starts in the file."""

    value: object
    line: int


def looks_like(text: str) -> bool:
    """Tell whether a text is HF papers API JSON: an item list, a paper object or page props."""
    head = text.lstrip("\ufeff \t\r\n")[:4000]
    if head[:1] not in ("[", "{"):
        return False
    return any(f'"{key}"' in head for key in ("paper", "dailyPapers", "upvotes", "publishedAt"))


def parse(
    text: str,
    *,
    source: str,
    digest_date: dt.date | None = None,
    today: dt.date,
) -> ReadResult:
    """Read an HF papers API response into papers and problems; never raises on bad input."""
    del today  # every date in the API is a full ISO date
    problems: list[Problem] = []
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(Problem(source, error.lineno, f"not valid JSON: {error.msg} "
                                f"(column {error.colno}); is the file complete?", "error"))
        return ReadResult(_meta(None, digest_date, source), (), tuple(problems))
    except RecursionError:
        problems.append(Problem(source, None, "the JSON is nested too deeply to read", "error"))
        return ReadResult(_meta(None, digest_date, source), (), tuple(problems))

    items, title = _items(document, text, source, problems)
    papers: list[Paper] = []
    seen: set[str] = set()
    listed_days: list[dt.date | None] = []
    for index, item in enumerate(items):
        paper, day = _read_item(item, index, source, problems)
        listed_days.append(day)
        if paper is None:
            continue
        if paper.id in seen:
            problems.append(Problem(source, item.line, f"item {index}: arXiv {paper.id} is listed "
                                    "again; the first listing is kept", "warning"))
            continue
        seen.add(paper.id)
        appearance = Appearance(digest="", line=item.line, position=len(papers),
                                comments=paper.comments, upvotes=paper.upvotes)
        papers.append(replace(paper, digests=(appearance,)))
    meta = _meta(_agreed_day(listed_days), digest_date, source, title)
    return ReadResult(meta, tuple(papers), tuple(problems), entries_seen=len(items))


def _meta(items_day: dt.date | None, option: dt.date | None, source: str,
          title: str | None = None) -> DigestMeta:
    """Date the digest: the day its items went onto Daily Papers, else --date, else the file name."""
    if items_day is not None:
        return DigestMeta(FORMAT, items_day, "items", title)
    if option is not None:
        return DigestMeta(FORMAT, option, "option", title)
    named = date_in_filename(source)
    if named is not None:
        return DigestMeta(FORMAT, named, "file-name", title)
    return DigestMeta(FORMAT, None, None, title)


def _agreed_day(days: list[dt.date | None]) -> dt.date | None:
    known = {day for day in days if day is not None}
    return known.pop() if len(known) == 1 else None


def _items(document: object, text: str, source: str,
           problems: list[Problem]) -> tuple[list[_Item], str | None]:
    """Find the list of items in any accepted shape, each with its starting line."""
    if isinstance(document, list):
        return list(_with_lines(document, text)), None
    if isinstance(document, dict):
        if isinstance(document.get("dailyPapers"), list):
            return [_Item(value, 1) for value in document["dailyPapers"]], "Daily Papers"
        if "paper" in document or "id" in document:
            return [_Item(document, 1)], None
    kind = type(document).__name__
    problems.append(Problem(source, 1, f"expected a list of papers or a paper object, found a JSON "
                            f"{kind}", "error"))
    return [], None


def _with_lines(values: list, text: str) -> Iterator[_Item]:
    """Pair each top-level array element with the 1-based line where it starts in the text."""
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    for value in values:
        while text[position] in " \t\r\n,":
            position += 1
        line = text.count("\n", 0, position) + 1
        _, position = decoder.raw_decode(text, position)
        yield _Item(value, line)


def _read_item(item: _Item, index: int, source: str,
               problems: list[Problem]) -> tuple[Paper | None, dt.date | None]:
    """Turn one daily-paper item or bare paper object into a Paper and its Daily Papers day."""
    where = f"item {index}"

    def warn(reason: str) -> None:
        problems.append(Problem(source, item.line, f"{where}: {reason}", "warning"))

    value = item.value
    if not isinstance(value, dict):
        problems.append(Problem(source, item.line, f"{where} is a JSON {type(value).__name__}, "
                                "not an object; skipped", "error"))
        return None, None
    if "paper" in value:
        wrapper, paper = value, value["paper"]
        if not isinstance(paper, dict):
            problems.append(Problem(source, item.line, f"{where}: 'paper' is not an object; "
                                    "skipped", "error"))
            return None, None
    else:
        wrapper, paper = {}, value

    raw_id = paper.get("id")
    arxiv_id = normalize_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    if arxiv_id is None:
        shown = "no paper.id" if raw_id is None else f"paper.id {raw_id!r} is not an arXiv id"
        problems.append(Problem(source, item.line, f"{where}: {shown}; skipped", "error"))
        return None, None
    where = f"{where} (arXiv {arxiv_id})"

    def text_field(obj: dict, key: str) -> str | None:
        raw = obj.get(key)
        if raw is None:
            return None
        if not isinstance(raw, str):
            warn(f"'{key}' is not a string; ignored")
            return None
        return raw

    def int_field(obj: dict, key: str) -> int | None:
        raw = obj.get(key)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            warn(f"'{key}' is not a count ({raw!r}); ignored")
            return None
        return raw

    def date_field(obj: dict, key: str) -> dt.date | None:
        raw = obj.get(key)
        if raw is None:
            return None
        day = parse_iso_date(raw)
        if day is None:
            warn(f"'{key}' is not an ISO date ({raw!r}); ignored")
        return day

    def url_field(obj: dict, key: str) -> str | None:
        raw = text_field(obj, key)
        if raw is None or not raw.strip():
            return None
        url = web_url(raw)
        if url is None:
            warn(f"'{key}' is not an http(s) URL; ignored")
        return url

    # PaperInfo reads the title from the item first (FORMATS.md §2.1).
    title = clean_text(text_field(wrapper, "title") or "") or clean_text(
        text_field(paper, "title") or "")
    if not title:
        warn("no title; the arXiv id stands in for it")
        title = f"arXiv:{arxiv_id}"
    summary = join_hard_wraps(text_field(paper, "summary") or text_field(wrapper, "summary") or "")

    names, count = _authors(paper.get("authors"), warn)
    keywords = _keywords(paper.get("ai_keywords"), warn)
    published = date_field(paper, "publishedAt")
    listed = date_field(wrapper, "publishedAt")
    submitted = listed or date_field(paper, "submittedOnDailyAt")
    ai_summary = clean_text(text_field(paper, "ai_summary") or "") or None
    comments = int_field(wrapper, "numComments")
    withdrawn = paper.get("withdrawnAt") not in (None, "", False)

    result = Paper(
        slug="",
        title=title,
        summary=summary,
        id=arxiv_id,
        authors=names,
        n_authors=count,
        organization=_organization(paper.get("organization"), warn)
        or _organization(wrapper.get("organization"), warn),
        published_at=published,
        date_precision="day" if published else None,
        upvotes=int_field(paper, "upvotes"),
        comments=comments,
        github_repo=url_field(paper, "githubRepo"),
        github_stars=int_field(paper, "githubStars"),
        project_page=url_field(paper, "projectPage"),
        ai_summary=ai_summary,
        ai_keywords=keywords,
        submitted_at=submitted,
        withdrawn=withdrawn,
    )
    return result, listed


def _authors(raw: object, warn) -> tuple[tuple[str, ...], int | None]:
    """Return (names of visible authors in order, count of all authors).

    Hidden authors count (HF's 'N authors' is len(authors)) but are never named: the
    person asked Hugging Face not to show their name on the paper.
    """
    if raw is None:
        return (), None
    if not isinstance(raw, list):
        warn("'authors' is not a list; ignored")
        return (), None
    names = []
    for position, author in enumerate(raw):
        if not isinstance(author, dict):
            warn(f"author {position} is not an object; counted but not named")
            continue
        if author.get("hidden") is True:
            continue
        name = author.get("name")
        name = clean_text(name) if isinstance(name, str) else ""
        if name:
            names.append(name)
        else:
            warn(f"author {position} has no name; counted but not named")
    return tuple(names), len(raw)


def _keywords(raw: object, warn) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        warn("'ai_keywords' is not a list; ignored")
        return ()
    keywords: list[str] = []
    for keyword in raw:
        cleaned = clean_text(keyword) if isinstance(keyword, str) else ""
        if cleaned and cleaned not in keywords:
            keywords.append(cleaned)
    return tuple(keywords)


def _organization(raw: object, warn) -> str | None:
    """Return an organization's display name (fullname, else name)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        warn("'organization' is not an object; ignored")
        return None
    for key in ("fullname", "name"):
        value = raw.get(key)
        if isinstance(value, str) and clean_text(value):
            return clean_text(value)
    return None
