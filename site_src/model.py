"""Typed records shared by every stage: what a digest says, what the store keeps.

Frozen dataclasses, no I/O. Tuples instead of lists so records are hashable
and safe to share between processes.
"""
from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass, field, fields
from typing import Literal

DatePrecision = Literal["day", "year-inferred", "month", "year"]
"""'day': the source gave a full date; 'year-inferred': the source gave a
month and day only and the year was taken from the digest; 'month' / 'year':
the source (e.g. BibTeX) gave only a month and year / only a year, and the date
is the first day of that month / year. Show such dates as 'Mar 2019' / '2019',
and let a 'day' date from another source replace them."""


def pickled_as_tuples(cls):
    """Pickle a frozen slots dataclass as the plain tuple of its fields.

    The __getstate__/__setstate__ that dataclasses generate look the fields up on every call:
    loading the parse memo of 100k papers spent seconds there. Same state, in field order.
    """
    names = tuple(f.name for f in fields(cls))
    values = operator.attrgetter(*names)
    # Each slot's own descriptor sets it: no attribute lookup by name per field (loading
    # 100k papers: ~20% less than object.__setattr__(self, name, value)).
    setters = tuple(cls.__dict__[name].__set__ for name in names)

    def __getstate__(self):
        return values(self)

    def __setstate__(self, state):
        for setter, value in zip(setters, state):
            setter(self, value)

    cls.__getstate__, cls.__setstate__ = __getstate__, __setstate__
    return cls


@pickled_as_tuples
@dataclass(frozen=True, slots=True)
class Problem:
    """Something a reader or the store skipped or doubted, with where it was."""

    source: str
    """File name (or other label) the problem was found in."""
    line: int | None
    """1-based line where the fragment starts; None when not line-based."""
    reason: str
    """One sentence a curator can act on."""
    severity: Literal["error", "warning"] = "warning"
    """'error' fragments were skipped; 'warning' ones were kept with a doubt."""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.severity}: {self.reason}"


@pickled_as_tuples
@dataclass(frozen=True, slots=True)
class Appearance:
    """One appearance of a paper in one digest."""

    digest: str
    """Digest id (see DigestRecord.id); empty while a reader has not been ingested."""
    line: int | None = None
    """Line of the digest where the entry starts (None for non-line formats)."""
    position: int = 0
    """0-based position of the entry in the digest, after deduplication."""
    comments: int | None = None
    """Discussion comment count shown in that digest."""
    upvotes: int | None = None
    """Upvote count shown in that digest, where the capture has it."""


@pickled_as_tuples
@dataclass(frozen=True, slots=True)
class Paper:
    """A paper: what digests said about it, plus what the curator added.

    Field names mirror the Hugging Face papers API where one exists.
    """

    slug: str
    """Stable, URL-safe key; the file name in content/papers/. Empty until ingest assigns it."""
    title: str
    summary: str = ""
    """The abstract, as plain text (rendered as Markdown with raw HTML off)."""
    id: str | None = None
    """arXiv id without version ('2407.13168', 'hep-th/9901001')."""
    authors: tuple[str, ...] = ()
    """Author names in order, where the source lists them."""
    n_authors: int | None = None
    """Author count ('• 6 authors', or len(authors))."""
    organization: str | None = None
    """Organization shown in place of the author count, or the API's organization."""
    published_at: dt.date | None = None
    """Date shown on the card / arXiv publication date."""
    date_precision: DatePrecision | None = None
    upvotes: int | None = None
    """Latest known upvote count."""
    comments: int | None = None
    """Latest known discussion comment count."""
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    """arXiv categories, primary first."""
    doi: str | None = None
    journal_ref: str | None = None
    arxiv_comment: str | None = None
    submitted_at: dt.date | None = None
    """Day the paper went onto Hugging Face Daily Papers."""
    withdrawn: bool = False
    truncated: bool = False
    """The digest ended inside this entry; never ingested as a paper."""
    digests: tuple[Appearance, ...] = ()
    first_seen: dt.date | None = None
    """Date of the first digest the paper appeared in."""
    # Curator-owned fields: ingest never writes them.
    topics: tuple[str, ...] | None = None
    """Hand-set topic ids; when set they replace automatic assignment."""
    topics_exclude: tuple[str, ...] = ()
    """Topic ids automatic assignment must not give this paper."""
    notes: str = ""
    """The body's '## Notes' section, Markdown, owned by the curator."""
    ingested: tuple[tuple[str, str], ...] = ()
    """(field, hash) of each digest-owned field as ingest last wrote it; a field
    whose value no longer matches its hash was edited by hand and is kept."""


DIGEST_FIELDS: tuple[str, ...] = (
    "title", "summary", "id", "authors", "n_authors", "organization", "published_at",
    "date_precision", "upvotes", "comments", "github_repo", "github_stars", "project_page",
    "ai_summary", "ai_keywords", "categories", "doi", "journal_ref", "arxiv_comment",
    "submitted_at", "withdrawn",
)
"""Fields a digest owns: ingest may update them unless the curator edited them."""

CURATOR_FIELDS: tuple[str, ...] = ("topics", "topics_exclude", "notes")
"""Fields only the curator writes."""


@dataclass(frozen=True, slots=True)
class DigestMeta:
    """What a reader learned about the digest itself."""

    format: str
    """Reader name, e.g. 'hf-text', 'hf-json', 'arxiv-atom', 'bibtex'."""
    date: dt.date | None = None
    """The digest's own date (page date line, API date), resolved to a full date."""
    date_source: str | None = None
    """How the date was found: 'page', 'option', 'items' or None."""
    title: str | None = None
    """Heading of the listing, e.g. 'Daily Papers'."""


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What a reader made of one file: the digest, its papers, and what it skipped."""

    digest: DigestMeta
    papers: tuple[Paper, ...]
    problems: tuple[Problem, ...] = ()
    entries_seen: int = 0
    """Entries the reader recognised, including skipped and duplicate ones."""


@pickled_as_tuples
@dataclass(frozen=True, slots=True)
class DigestRecord:
    """One ingested digest, as kept in content/digests/<id>.yaml."""

    id: str
    """'<date>-<source stem slug>', e.g. '2025-12-12-hf-papers-robust-training'."""
    date: dt.date | None
    format: str
    source_name: str
    """Original file name of the digest."""
    raw_file: str
    """File name of the archived raw digest beside the record."""
    sha256: str
    papers: tuple[str, ...]
    """Paper slugs in digest order."""
    new_papers: tuple[str, ...] = ()
    """Slugs first seen in this digest."""
    ingested_on: dt.date | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Corpus:
    """Everything content/ holds, loaded: the input of the site model."""

    papers: tuple[Paper, ...]
    digests: tuple[DigestRecord, ...] = ()
    problems: tuple[Problem, ...] = field(default=())
