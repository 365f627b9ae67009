"""The content store: Paper <-> Markdown with YAML front matter, and loading content/.

A paper file is `content/papers/<slug>.md`:

    ---
    id: "2407.13168"
    title: ...
    ...
    ---
    <the abstract>

    ## Notes

    <the curator's notes>

The file name is the slug. `dumps`/`loads` are pure; `load_store` reads the
folder and turns every file that does not fit the schema into a Problem
instead of an exception. See docs/content-schema.md.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing
from pathlib import Path
from typing import Any, Callable

import yaml

from site_src.model import Appearance, Corpus, DatePrecision, DigestRecord, Paper, Problem

try:  # libyaml is ~7x faster at 10k files (STYLE.md); the pure-Python classes behave the same.
    _Loader: type = yaml.CSafeLoader
    _Dumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - only without libyaml
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper

PAPERS_DIR = "papers"
DIGESTS_DIR = "digests"
NOTES_HEADING = "## Notes"
_NOTES_LINE = re.compile(r"^##[ \t]+Notes[ \t]*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")

FRONT_MATTER_ORDER: tuple[str, ...] = (
    "id", "title", "authors", "n_authors", "organization",
    "published_at", "date_precision", "submitted_at", "first_seen",
    "upvotes", "comments", "github_repo", "github_stars", "project_page",
    "categories", "doi", "journal_ref", "arxiv_comment", "ai_summary", "ai_keywords",
    "withdrawn", "truncated", "topics", "topics_exclude", "summary",
    "digests", "ingested",
)
"""Front matter keys in the order they are written: identity, people, dates,
counts, links, arXiv metadata, flags, curator fields, bookkeeping."""

ALWAYS_WRITTEN: frozenset[str] = frozenset({
    "id", "title", "authors", "published_at", "first_seen", "topics", "digests",
})
"""Keys written even when empty, so a curator sees where they go; the rest
are left out while they hold their default."""


class StoreError(ValueError):
    """A paper file does not fit the schema; carries the problems found."""

    def __init__(self, problems: tuple[Problem, ...]):
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


# --------------------------------------------------------------------- dumping

class _StoreDumper(_Dumper):  # type: ignore[misc, valid-type]
    """Safe dumper with the store's styles (flow lists for short things)."""

    def ignore_aliases(self, data: Any) -> bool:
        # Two fields holding one date object must not become '&id001' / '*id001'.
        return True


class _Flow(tuple):
    """A sequence written in flow style: [a, b]."""


class _FlowMap(dict):
    """A mapping written in flow style: {a: 1, b: 2}."""


class _Quoted(str):
    """A string always written double-quoted (ids: never a float)."""


_StoreDumper.add_representer(
    _Flow, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True))
_StoreDumper.add_representer(
    _FlowMap, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                                  flow_style=True))
_StoreDumper.add_representer(
    _Quoted, lambda d, data: d.represent_scalar("tag:yaml.org,2002:str", str(data), style='"'))
_StoreDumper.add_representer(tuple, lambda d, data: d.represent_list(list(data)))


def _summary_fits_body(summary: str) -> bool:
    """Whether the abstract survives a trip through the Markdown body unchanged."""
    return (
        summary == summary.strip()
        and not _CONTROL.search(summary.replace("\t", " "))
        and not any(_NOTES_LINE.match(line) for line in summary.split("\n"))
    )


def _front_matter_value(name: str, value: Any) -> Any:
    """The YAML-ready form of one field."""
    if name == "id" and value is not None:
        return _Quoted(value)
    if name in ("ai_keywords", "categories", "topics", "topics_exclude") and value is not None:
        return _Flow(value)
    if name == "digests":
        return [_FlowMap(_appearance_dict(appearance)) for appearance in value]
    if name == "ingested":
        return {field_name: digest for field_name, digest in value}
    if isinstance(value, tuple):
        return list(value)
    return value


def _appearance_dict(appearance: Appearance) -> dict[str, Any]:
    """An Appearance as a mapping without its empty fields."""
    out: dict[str, Any] = {"digest": appearance.digest}
    for key in ("line", "position", "comments", "upvotes"):
        value = getattr(appearance, key)
        if value is not None:
            out[key] = value
    return out


def dumps(paper: Paper) -> str:
    """Write a paper as front matter + abstract + Notes section (the slug is the file name)."""
    defaults = {f.name: f.default for f in dataclasses.fields(Paper)
                if f.default is not dataclasses.MISSING}
    front: dict[str, Any] = {}
    body_summary = _summary_fits_body(paper.summary)
    for name in FRONT_MATTER_ORDER:
        value = getattr(paper, name)
        if name == "summary" and body_summary:
            continue
        if name not in ALWAYS_WRITTEN and name in defaults and value == defaults[name]:
            continue
        front[name] = _front_matter_value(name, value)
    text = yaml.dump(front, Dumper=_StoreDumper, sort_keys=False, allow_unicode=True,
                     width=100, default_flow_style=False)
    parts = ["---\n", text, "---\n"]
    if body_summary and paper.summary:
        parts += [paper.summary, "\n\n"]
    parts += [NOTES_HEADING, "\n"]
    if paper.notes:
        parts += ["\n", paper.notes, "\n"]
    return "".join(parts)


# --------------------------------------------------------------------- loading

def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_date(value: Any) -> dt.date:
    """Accept a YAML date or an ISO date string (a curator may quote it)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip())
    raise TypeError("expected a date like 2025-12-12")


def _str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(_is_str(item) for item in value):
        raise TypeError("expected a list of strings")
    return tuple(value)


def _opt(check: Callable[[Any], bool], what: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None or check(value):
            return value
        raise TypeError(f"expected {what} or nothing")
    return convert


def _required_str(value: Any) -> str:
    if not _is_str(value) or not value.strip():
        raise TypeError("expected a non-empty string")
    return value


def _id(value: Any) -> str | None:
    if value is None:
        return None
    if not _is_str(value):
        # An unquoted 2101.10000 arrives as a float and has already lost its trailing zero.
        raise TypeError("expected a quoted string like \"2407.13168\" (unquoted ids become numbers)")
    return value.strip() or None


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


_PRECISIONS: tuple[str, ...] = typing.get_args(DatePrecision)


def _precision(value: Any) -> Any:
    if value is None or value in _PRECISIONS:
        return value
    raise TypeError(f"expected one of {', '.join(_PRECISIONS)} or nothing")


def _opt_date(value: Any) -> dt.date | None:
    return None if value is None else _to_date(value)


def _topics(value: Any) -> tuple[str, ...] | None:
    return None if value is None else _str_tuple(value)


def _str_tuple_or_empty(value: Any) -> tuple[str, ...]:
    return () if value is None else _str_tuple(value)


def _appearances(value: Any) -> tuple[Appearance, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TypeError("expected a list of {digest: ..., line: ..., position: ...}")
    out = []
    for item in value:
        if not isinstance(item, dict) or not _is_str(item.get("digest")):
            raise TypeError("each digest appearance needs a 'digest' id")
        unknown = set(item) - {"digest", "line", "position", "comments", "upvotes"}
        if unknown:
            raise TypeError(f"unknown key {sorted(unknown)[0]!r} in a digest appearance")
        for key in ("line", "comments", "upvotes"):
            if item.get(key) is not None and not _is_int(item[key]):
                raise TypeError(f"'{key}' of a digest appearance must be a whole number")
        if "position" in item and not _is_int(item["position"]):
            raise TypeError("'position' of a digest appearance must be a whole number")
        out.append(Appearance(
            digest=item["digest"], line=item.get("line"), position=item.get("position", 0),
            comments=item.get("comments"), upvotes=item.get("upvotes"),
        ))
    return tuple(out)


def _ingested(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(
            _is_str(k) and _is_str(v) for k, v in value.items()):
        raise TypeError("expected a mapping of field name to hash")
    return tuple(value.items())


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "id": _id,
    "title": _required_str,
    "summary": _opt(_is_str, "a string"),
    "authors": _str_tuple_or_empty,
    "n_authors": _opt(_is_int, "a whole number"),
    "organization": _opt(_is_str, "a string"),
    "published_at": _opt_date,
    "date_precision": _precision,
    "upvotes": _opt(_is_int, "a whole number"),
    "comments": _opt(_is_int, "a whole number"),
    "github_repo": _opt(_is_str, "a URL"),
    "github_stars": _opt(_is_int, "a whole number"),
    "project_page": _opt(_is_str, "a URL"),
    "ai_summary": _opt(_is_str, "a string"),
    "ai_keywords": _str_tuple_or_empty,
    "categories": _str_tuple_or_empty,
    "doi": _opt(_is_str, "a string"),
    "journal_ref": _opt(_is_str, "a string"),
    "arxiv_comment": _opt(_is_str, "a string"),
    "submitted_at": _opt_date,
    "withdrawn": _bool,
    "truncated": _bool,
    "digests": _appearances,
    "first_seen": _opt_date,
    "topics": _topics,
    "topics_exclude": _str_tuple_or_empty,
    "ingested": _ingested,
}
"""Per front-matter key: turn the YAML value into the Paper field value, or raise TypeError."""


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Split a paper file into (front matter, body, 1-based line where the body starts)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise ValueError("the file must start with a '---' line opening the front matter")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            return "\n".join(lines[1:index]) + "\n", "\n".join(lines[index + 1:]), index + 2
    raise ValueError("the front matter has no closing '---' line")


def split_body(body: str) -> tuple[str, str]:
    """Split the Markdown body into (abstract, notes) at the first '## Notes' heading."""
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if _NOTES_LINE.match(line):
            return "\n".join(lines[:index]).strip(), "\n".join(lines[index + 1:]).strip()
    return body.strip(), ""


def key_lines(front: str) -> dict[str, int]:
    """Map each top-level key of a front matter to its 0-based line (for problem reports)."""
    out: dict[str, int] = {}
    for number, line in enumerate(front.split("\n")):
        match = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
        if match and match.group(1) not in out:
            out[match.group(1)] = number
    return out


def parse_paper(text: str, *, slug: str, source: str) -> tuple[Paper | None, tuple[Problem, ...]]:
    """Read a paper file; a value that does not fit the schema is dropped with an error Problem."""
    problems: list[Problem] = []

    def problem(line: int | None, reason: str, severity: str = "error") -> None:
        problems.append(Problem(source, line, reason, severity))  # type: ignore[arg-type]

    try:
        front_text, body, body_line = split_front_matter(text)
    except ValueError as error:
        problem(1, str(error))
        return None, tuple(problems)
    try:
        data = yaml.load(front_text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(error, "problem", None) or str(error).split("\n")[0]
        problem(line, f"front matter is not valid YAML: {reason}")
        return None, tuple(problems)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problem(2, "front matter must be a mapping of field: value")
        return None, tuple(problems)

    lines = key_lines(front_text)
    fields: dict[str, Any] = {}
    for key, value in data.items():
        line = lines.get(str(key), -1) + 2 if str(key) in lines else 2
        if key == "slug":
            if value != slug:
                problem(line, f"slug {value!r} differs from the file name; the file name wins",
                        "warning")
            continue
        if key == "notes" or key not in _CONVERTERS:
            problem(line, f"unknown field {key!r}" + (
                " (notes belong in the body, under '## Notes')" if key == "notes" else ""))
            continue
        try:
            fields[key] = _CONVERTERS[key](value)
        except (TypeError, ValueError) as error:
            problem(line, f"field {key!r}: {error}")

    if "title" not in fields:
        if "title" not in data:
            problem(2, "field 'title' is missing")
        return None, tuple(problems)

    summary, notes = split_body(body)
    if "summary" in fields:
        if summary:
            problem(body_line, "the abstract is both in the front matter and in the body; "
                               "the front matter wins", "warning")
        summary = fields.pop("summary") or ""
    return Paper(slug=slug, summary=summary, notes=notes, **fields), tuple(problems)


def loads(text: str, *, slug: str, source: str) -> Paper:
    """Read a paper file; raise StoreError when anything in it does not fit the schema."""
    paper, problems = parse_paper(text, slug=slug, source=source)
    errors = tuple(p for p in problems if p.severity == "error")
    if paper is None or errors:
        raise StoreError(errors or problems)
    return paper


# --------------------------------------------------------------------- digest records

DIGEST_RECORD_ORDER: tuple[str, ...] = (
    "id", "date", "title", "format", "source_name", "raw_file", "sha256", "ingested_on",
    "papers", "new_papers",
)


def dumps_digest(record: DigestRecord) -> str:
    """Write a digest record as YAML."""
    data: dict[str, Any] = {}
    for name in DIGEST_RECORD_ORDER:
        value = getattr(record, name)
        if name in ("title",) and value is None:
            continue
        data[name] = list(value) if isinstance(value, tuple) else value
    return yaml.dump(data, Dumper=_StoreDumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


def parse_digest(text: str, *, source: str) -> tuple[DigestRecord | None, tuple[Problem, ...]]:
    """Read a digest record; None with error Problems when it does not fit the schema."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return None, (Problem(source, mark.line + 1 if mark else 1,
                              "digest record is not valid YAML", "error"),)
    if not isinstance(data, dict):
        return None, (Problem(source, 1, "digest record must be a mapping", "error"),)
    lines = {key: number + 1 for key, number in key_lines(text).items()}
    problems: list[Problem] = []
    fields: dict[str, Any] = {}
    converters: dict[str, Callable[[Any], Any]] = {
        "id": _required_str, "date": _opt_date, "title": _opt(_is_str, "a string"),
        "format": _required_str, "source_name": _required_str, "raw_file": _required_str,
        "sha256": _required_str, "ingested_on": _opt_date,
        "papers": _str_tuple_or_empty, "new_papers": _str_tuple_or_empty,
    }
    for key, value in data.items():
        if key not in converters:
            problems.append(Problem(source, lines.get(str(key), 1), f"unknown field {key!r}",
                                    "error"))
            continue
        try:
            fields[key] = converters[key](value)
        except (TypeError, ValueError) as error:
            problems.append(Problem(source, lines.get(key, 1), f"field {key!r}: {error}", "error"))
    missing = [key for key in ("id", "format", "source_name", "raw_file", "sha256")
               if key not in fields]
    if missing:
        if not problems:
            problems.append(Problem(source, 1, f"field {missing[0]!r} is missing", "error"))
        return None, tuple(problems)
    fields.setdefault("date", None)
    fields.setdefault("papers", ())
    return DigestRecord(**fields), tuple(problems)


# --------------------------------------------------------------------- I/O

def paper_path(content_dir: Path, slug: str) -> Path:
    """Where a paper's file lives."""
    return content_dir / PAPERS_DIR / f"{slug}.md"


def _read_folder(content_dir: Path, folder: str, pattern: str, problems: list[Problem], parse) -> list:
    """Parse every file of content/<folder> matching pattern, in name order.

    `parse(text, path, source)` returns (record or None, problems); an unreadable file
    is a problem, never an exception, so one bad file cannot hide the others.
    """
    records = []
    directory = content_dir / folder
    if not directory.is_dir():
        return records
    for path in sorted(directory.glob(pattern)):
        source = f"{content_dir.name}/{folder}/{path.name}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(source, None, f"cannot read: {error}", "error"))
            continue
        record, found = parse(text, path, source)
        problems.extend(found)
        if record is not None:
            records.append(record)
    return records


def load_store(content_dir: Path, *, recover: bool = True) -> Corpus:
    """Read content/: papers sorted by slug, digest records by id, and every problem found."""
    content_dir = Path(content_dir)
    problems: list[Problem] = []
    if recover:
        # A journal left by a killed ingest is completed (or its staging discarded) before
        # anything is read, so a build never sees half a digest.
        from site_src import ingest as _ingest

        try:
            _ingest.recover(content_dir)
        except _ingest.IngestError as error:
            problems.append(Problem(f"{content_dir.name}/{_ingest.WORK_DIR}", None,
                                    f"an interrupted ingest could not be finished: {error}",
                                    "error"))
    papers = _read_folder(content_dir, PAPERS_DIR, "*.md", problems,
                          lambda text, path, source: parse_paper(text, slug=path.stem, source=source))
    digests = _read_folder(content_dir, DIGESTS_DIR, "*.yaml", problems,
                           lambda text, path, source: parse_digest(text, source=source))
    papers.sort(key=lambda p: p.slug)
    digests.sort(key=lambda d: d.id)
    return Corpus(papers=tuple(papers), digests=tuple(digests), problems=tuple(problems))
