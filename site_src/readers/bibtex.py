"""Reader for BibTeX/BibLaTeX files ('bibtex'), built on bibtexparser 2; see docs/sources.md.

Each entry (any type: @article, @inproceedings, @misc, ...) becomes a paper: title and authors
with braces and TeX accents decoded, a year-or-month-precision date, the arXiv id from `eprint`,
`arxiv`, an arXiv DOI/URL or a 'CoRR abs/...'/'arXiv preprint arXiv:...' venue, the DOI, the URL,
the venue as journal reference, and the abstract. Pure: no I/O.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import replace

import bibtexparser
from bibtexparser import middlewares
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock

from site_src.model import Appearance, DigestMeta, Paper, Problem, ReadResult
from site_src.readers.common import (
    arxiv_id_from_url,
    clean_text,
    date_in_filename,
    extract_links,
    find_arxiv_id,
    github_repo_from_url,
    join_hard_wraps,
    make_date,
    month_number,
    normalize_arxiv_id,
    parse_iso_date,
    web_url,
)

FORMAT = "bibtex"

# bibtexparser logs every block it cannot parse; each one is already a Problem with its line,
# so its log lines would only repeat them on stderr (Python's last-resort handler prints them).
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())

_ENTRY_START = re.compile(r"^\s*@(?!comment|string|preamble)[A-Za-z]+\s*[{(]", re.IGNORECASE | re.MULTILINE)
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_OTHERS = {"others", "et al", "et al."}


def looks_like(text: str) -> bool:
    """Tell whether a text holds at least one BibTeX entry ('@article{key, ...')."""
    return bool(_ENTRY_START.search(text[:20000]))


def parse(
    text: str,
    *,
    source: str,
    digest_date: dt.date | None = None,
    today: dt.date,
) -> ReadResult:
    """Read a .bib file into papers and problems; never raises on bad input."""
    del today  # BibTeX years are absolute
    problems: list[Problem] = []
    library = bibtexparser.parse_string(text, append_middleware=[
        middlewares.NormalizeFieldKeys(),  # 'AUTHOR' and 'Title' are the same fields
        # Braced groups are kept through decoding so '{van der Berg}' stays one surname;
        # the braces are removed after names are split.
        middlewares.LatexDecodingMiddleware(keep_braced_groups=True, keep_math_mode=True),
        middlewares.SeparateCoAuthors(),
        middlewares.SplitNameParts(),
    ])
    for block in library.failed_blocks:
        line = block.start_line + 1
        if isinstance(block, DuplicateBlockKeyBlock):
            problems.append(Problem(source, line, f"the entry key {block.key!r} is used again; "
                                    "this later entry is skipped", "error"))
        elif isinstance(block, ParsingFailedBlock):
            reason = clean_text(getattr(block.error, "abort_reason", "") or str(block.error))
            problems.append(Problem(source, line, f"cannot parse this BibTeX block "
                                    f"({reason or 'syntax error'}); skipped", "error"))

    papers: list[Paper] = []
    seen: dict[str, int] = {}
    for entry in library.entries:
        paper = _read_entry(entry, source, problems)
        if paper is None:
            continue
        key = paper.id or (paper.doi or "").lower() or None
        line = entry.start_line + 1
        if key and key in seen:
            problems.append(Problem(source, line, f"entry {entry.key!r} is the same paper as the "
                                    f"entry on line {seen[key]}; the first is kept", "warning"))
            continue
        if key:
            seen[key] = line
        papers.append(replace(paper, digests=(Appearance(digest="", line=line,
                                                         position=len(papers)),)))
    if not library.entries and not library.failed_blocks:
        problems.append(Problem(source, None, "no BibTeX entries found", "warning"))
    problems.sort(key=lambda problem: problem.line or 0)
    return ReadResult(_meta(digest_date, source), tuple(papers), tuple(problems),
                      entries_seen=len(library.entries) + len(library.failed_blocks))


def _meta(option: dt.date | None, source: str) -> DigestMeta:
    """Date the digest from --date, else from a YYYY-MM-DD in the file name."""
    if option is not None:
        return DigestMeta(FORMAT, option, "option")
    named = date_in_filename(source)
    return DigestMeta(FORMAT, named, "file-name" if named else None)


def strip_braces(text: str) -> str:
    """Remove TeX grouping braces and collapse whitespace ('{BERT}: {P}re-training' -> 'BERT: Pre-training')."""
    text = re.sub(r"(?<!\\)[{}]", "", text)
    return clean_text(text.replace("\\{", "{").replace("\\}", "}"))


def _fields(entry: Entry) -> dict[str, object]:
    """Field values by lower-case key (BibTeX keys are case-insensitive)."""
    return {field.key.lower(): field.value for field in entry.fields}


def _string(values: dict[str, object], key: str) -> str:
    value = values.get(key)
    return strip_braces(value) if isinstance(value, str) else ""


def _read_entry(entry: Entry, source: str, problems: list[Problem]) -> Paper | None:
    """Turn one entry into a Paper; an entry with neither title nor arXiv id is a Problem."""
    line = entry.start_line + 1
    values = _fields(entry)
    title = _string(values, "title")
    doi = _doi(values)
    arxiv_id = _arxiv_id(values, doi)
    if not title:
        if arxiv_id is None:
            problems.append(Problem(source, line, f"entry {entry.key!r} has no title and no arXiv "
                                    "id; skipped", "error"))
            return None
        problems.append(Problem(source, line, f"entry {entry.key!r} has no title; the arXiv id "
                                "stands in for it", "warning"))
        title = f"arXiv:{arxiv_id}"
    authors, complete = _authors(values.get("author"))
    published, precision = _date(values)
    if values.get("year") and published is None:
        problems.append(Problem(source, line, f"entry {entry.key!r}: year "
                                f"{_string(values, 'year')!r} is not a year; ignored", "warning"))
    github = project = None
    url = web_url(_string(values, "url"))
    if url:
        github = github_repo_from_url(url)
        if github is None and arxiv_id_from_url(url) is None and not _DOI.match(url):
            project = url
    summary = join_hard_wraps(re.sub(r"(?<!\\)[{}]", "", _raw(values, "abstract")))
    in_summary = extract_links(summary)
    github = github or in_summary[0]
    project = project or in_summary[1]
    primary = _string(values, "primaryclass")
    return Paper(
        slug="",
        title=title,
        summary=summary,
        id=arxiv_id,
        authors=authors,
        n_authors=len(authors) if complete and authors else None,
        published_at=published,
        date_precision=precision,
        github_repo=github,
        project_page=project,
        categories=(primary,) if primary else (),
        doi=None if doi and _ARXIV_DOI.match(doi) else doi,
        journal_ref=_journal_ref(values),
    )


def _raw(values: dict[str, object], key: str) -> str:
    value = values.get(key)
    return value if isinstance(value, str) else ""


def _doi(values: dict[str, object]) -> str | None:
    for candidate in (_string(values, "doi"), _string(values, "url")):
        match = _DOI.match(candidate)
        if match:
            return match[1]
    return None


def _arxiv_id(values: dict[str, object], doi: str | None) -> str | None:
    """Find the arXiv id in the fields arXiv, Google Scholar, DBLP and Zotero exports use."""
    prefix = _string(values, "archiveprefix") or _string(values, "eprinttype")
    eprint = _string(values, "eprint")
    if eprint and (not prefix or prefix.lower() == "arxiv"):
        found = normalize_arxiv_id(eprint)
        if found:
            return found
    for key in ("arxiv", "arxivid"):
        found = normalize_arxiv_id(_string(values, key))
        if found:
            return found
    if doi and _ARXIV_DOI.match(doi):
        found = normalize_arxiv_id(_ARXIV_DOI.match(doi)[1])
        if found:
            return found
    url = _string(values, "url")
    if url and arxiv_id_from_url(url):
        return arxiv_id_from_url(url)
    venue = " ".join(_string(values, key) for key in ("journal", "volume", "note", "howpublished"))
    if re.search(r"\barxiv\b|\bcorr\b", venue, re.IGNORECASE):
        return find_arxiv_id(venue.replace("abs/", "arXiv:"))
    return None


def _authors(raw: object) -> tuple[tuple[str, ...], bool]:
    """Return (names as 'First von Last, Jr', whether the list is complete: no 'and others')."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return (), False
    names: list[str] = []
    complete = True
    for person in raw:
        if isinstance(person, middlewares.NameParts):
            name = " ".join(strip_braces(part) for part in (*person.first, *person.von, *person.last))
            jr = " ".join(strip_braces(part) for part in person.jr)
            name = clean_text(f"{name}, {jr}" if jr else name)
        else:
            name = strip_braces(str(person))
        if name.lower() in _OTHERS:
            complete = False
        elif name:
            names.append(name)
    return tuple(names), complete


def _date(values: dict[str, object]) -> tuple[dt.date | None, str | None]:
    """Return the publication date and its precision ('day', 'month' or 'year')."""
    full = _string(values, "date")
    if full:
        day = parse_iso_date(full)
        if day:
            return day, "day"
        match = re.match(r"^(\d{4})(?:-(\d{2}))?$", full)
        if match and match[2]:
            month_first = make_date(int(match[1]), int(match[2]), 1)
            if month_first:
                return month_first, "month"
        if match:
            return dt.date(int(match[1]), 1, 1), "year"
    year_match = _YEAR.match(_string(values, "year"))
    if not year_match or int(year_match[1]) < 1000:
        return None, None
    year = int(year_match[1])
    month_text = _string(values, "month")
    month = int(month_text) if month_text.isdigit() else month_number(month_text or "-")
    if month and 1 <= month <= 12:
        return dt.date(year, month, 1), "month"
    return dt.date(year, 1, 1), "year"


def _journal_ref(values: dict[str, object]) -> str | None:
    """Compose 'Venue Volume, Pages (Year)' from journal/booktitle, unless the venue is arXiv itself."""
    venue = _string(values, "journal") or _string(values, "booktitle")
    if not venue or re.search(r"\barxiv\b|^corr$", venue, re.IGNORECASE):
        return None
    text = venue
    volume = _string(values, "volume")
    if volume:
        text += f" {volume}"
    pages = _string(values, "pages").replace("--", "–")
    if pages:
        text += f", {pages}"
    year = _string(values, "year")
    if _YEAR.match(year):
        text += f" ({year.strip()})"
    return text
