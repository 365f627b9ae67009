"""Reader for arXiv API Atom responses ('arxiv-atom'); see docs/sources.md and FORMATS.md §3.

The XML is parsed safely: a document with a DOCTYPE is refused before parsing, so there are no
entity declarations to expand (no "billion laughs") and no external entities or DTDs to fetch.
Error entries and empty pages become Problems, never papers. Pure: no I/O.
"""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass, replace

from site_src.model import Appearance, DigestMeta, Paper, Problem, ReadResult
from site_src.readers.common import (
    clean_text,
    date_in_filename,
    extract_links,
    join_hard_wraps,
    normalize_arxiv_id,
    parse_iso_date,
    web_url,
)

FORMAT = "arxiv-atom"

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
_NS = {"a": ATOM, "arxiv": ARXIV, "os": OPENSEARCH}
_ERROR_ID = re.compile(r"^https?://(?:export\.)?arxiv\.org/api/errors", re.IGNORECASE)
_OAI_PREFIX = re.compile(r"^oai:arXiv\.org:", re.IGNORECASE)


class UnsafeXML(ValueError):
    """The document declares a DOCTYPE (and so could declare entities); it is not parsed."""


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What the feed says about itself and where its entries start."""

    entry_lines: tuple[int, ...]
    total_results: int | None
    start_index: int | None


def looks_like(text: str) -> bool:
    """Tell whether a text is an Atom feed that uses the arXiv or OpenSearch namespace."""
    head = text.lstrip("\ufeff \t\r\n")[:4000]
    return "<feed" in head and ATOM in head and (ARXIV in text[:20000] or OPENSEARCH in head)


def scan(text: str) -> FeedInfo:
    """Check the XML is well formed and has no DOCTYPE; find entry lines and the paging counts.

    Raises UnsafeXML for a DOCTYPE and xml.parsers.expat.ExpatError for malformed XML.
    """
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    lines: list[int] = []
    counts: dict[str, str] = {}
    current: list[str] = []

    def refuse_doctype(*_args) -> None:
        raise UnsafeXML("the document declares a DOCTYPE; refusing it (entities are not expanded)")

    def start(name: str, _attrs) -> None:
        current.append(name)
        if name == f"{ATOM} entry":
            lines.append(parser.CurrentLineNumber)

    def end(_name: str) -> None:
        current.pop()

    def data(chunk: str) -> None:
        if len(current) == 2 and current[-1] in (f"{OPENSEARCH} totalResults",
                                                 f"{OPENSEARCH} startIndex"):
            key = current[-1].split(" ")[1]
            counts[key] = counts.get(key, "") + chunk

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.ExternalEntityRefHandler = lambda *_args: 0
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.Parse(_without_declaration(text), True)
    return FeedInfo(tuple(lines), _count(counts.get("totalResults")),
                    _count(counts.get("startIndex")))


def _count(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


def _without_declaration(text: str) -> bytes:
    """UTF-8 bytes of the document with the encoding declaration made true."""
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text.lstrip("\ufeff"), count=1)
    return text.encode("utf-8", "replace")  # a lone surrogate must not crash the reader


def parse(
    text: str,
    *,
    source: str,
    digest_date: dt.date | None = None,
    today: dt.date,
) -> ReadResult:
    """Read an arXiv API Atom page into papers and problems; never raises on bad input."""
    del today  # arXiv dates are full ISO timestamps
    problems: list[Problem] = []
    try:
        info = scan(text)
        root = ET.fromstring(_without_declaration(text))
    except UnsafeXML as error:
        problems.append(Problem(source, None, str(error), "error"))
        return ReadResult(_meta(None, None, digest_date, source), (), tuple(problems))
    except (xml.parsers.expat.ExpatError, ET.ParseError) as error:
        line = getattr(error, "lineno", None) or (getattr(error, "position", (None,))[0])
        reason = xml.parsers.expat.ErrorString(error.code) if hasattr(error, "code") else str(error)
        problems.append(Problem(source, line, f"not well-formed XML ({reason}); is the file "
                                "complete?", "error"))
        return ReadResult(_meta(None, None, digest_date, source), (), tuple(problems))

    if root.tag != f"{{{ATOM}}}feed":
        problems.append(Problem(source, 1, "the document is not an Atom <feed>", "error"))
        return ReadResult(_meta(None, None, digest_date, source), (), tuple(problems))

    entries = root.findall("a:entry", _NS)
    papers: list[Paper] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        line = info.entry_lines[index] if index < len(info.entry_lines) else None
        paper = _read_entry(entry, index, line, source, problems)
        if paper is None:
            continue
        if paper.id in seen:
            problems.append(Problem(source, line, f"entry {index}: arXiv {paper.id} is listed "
                                    "again; the first listing is kept", "warning"))
            continue
        seen.add(paper.id)
        appearance = Appearance(digest="", line=line, position=len(papers))
        papers.append(replace(paper, digests=(appearance,)))

    if not entries and info.total_results:
        start = info.start_index or 0
        if start < info.total_results:
            problems.append(Problem(
                source, None, f"the page has no entries although arXiv reports "
                f"{info.total_results} results from index {start}: arXiv sometimes returns empty "
                "pages; fetch this page again", "error"))

    updated = parse_iso_date(root.findtext("a:updated", default="", namespaces=_NS))
    title = clean_text(root.findtext("a:title", default="", namespaces=_NS)) or None
    meta = _meta(updated, title, digest_date, source)
    return ReadResult(meta, tuple(papers), tuple(problems), entries_seen=len(entries))


def _meta(updated: dt.date | None, title: str | None, option: dt.date | None,
          source: str) -> DigestMeta:
    """Date the digest: the feed's <updated> day (when the query ran), else --date, else the file name."""
    if updated is not None:
        return DigestMeta(FORMAT, updated, "feed", title)
    if option is not None:
        return DigestMeta(FORMAT, option, "option", title)
    named = date_in_filename(source)
    return DigestMeta(FORMAT, named, "file-name" if named else None, title)


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path, _NS)
    return "".join(found.itertext()) if found is not None else ""


def _entry_id(entry: ET.Element) -> tuple[str, str | None]:
    """Return (the raw <id>, the canonical arXiv id from it or from the abs link)."""
    raw = clean_text(_text(entry, "a:id"))
    arxiv_id = normalize_arxiv_id(_OAI_PREFIX.sub("", raw)) if raw else None
    if arxiv_id is None:
        for link in entry.findall("a:link", _NS):
            if link.get("rel", "alternate") == "alternate":
                arxiv_id = normalize_arxiv_id(link.get("href", ""))
                if arxiv_id:
                    break
    return raw, arxiv_id


def _read_entry(entry: ET.Element, index: int, line: int | None, source: str,
                problems: list[Problem]) -> Paper | None:
    """Turn one <entry> into a Paper; error entries and id-less entries become Problems."""
    raw_id, arxiv_id = _entry_id(entry)
    if _ERROR_ID.match(raw_id) or (arxiv_id is None and clean_text(_text(entry, "a:title")) == "Error"):
        message = clean_text(_text(entry, "a:summary")) or "no message"
        problems.append(Problem(source, line, f"arXiv returned an error: {message}", "error"))
        return None
    if arxiv_id is None:
        shown = f"id {raw_id!r} is not an arXiv id" if raw_id else "no <id>"
        problems.append(Problem(source, line, f"entry {index} has {shown}; skipped", "error"))
        return None

    title = clean_text(_text(entry, "a:title"))
    if not title:
        problems.append(Problem(source, line, f"entry {index} (arXiv {arxiv_id}): no title; the "
                                "arXiv id stands in for it", "warning"))
        title = f"arXiv:{arxiv_id}"
    summary = join_hard_wraps(_text(entry, "a:summary"))
    authors = tuple(name for name in (clean_text(_text(author, "a:name"))
                                      for author in entry.findall("a:author", _NS)) if name)
    categories: list[str] = []
    primary = entry.find("arxiv:primary_category", _NS)
    for element in ([primary] if primary is not None else []) + entry.findall("a:category", _NS):
        term = clean_text(element.get("term", ""))
        if term and term not in categories:
            categories.append(term)
    comment = clean_text(_text(entry, "arxiv:comment")) or None
    github, project = extract_links(f"{summary} {comment or ''}")
    published = parse_iso_date(clean_text(_text(entry, "a:published")))
    doi = clean_text(_text(entry, "arxiv:doi")) or None
    return Paper(
        slug="",
        title=title,
        summary=summary,
        id=arxiv_id,
        authors=authors,
        n_authors=len(authors) or None,
        published_at=published,
        date_precision="day" if published else None,
        github_repo=github,
        project_page=web_url(project) if project else None,
        categories=tuple(categories),
        doi=doi,
        journal_ref=clean_text(_text(entry, "arxiv:journal_ref")) or None,
        arxiv_comment=comment,
    )
