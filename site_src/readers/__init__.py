"""Digest readers: one module per input format, chosen by name or by sniffing.

Every reader is a plain function
`parse(text: str, *, source: str, digest_date: date | None = None, today: date) -> ReadResult`
that never raises on bad input: what it cannot use becomes a Problem.
`read_file` is the only function here that touches the disk.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from site_src.model import Paper, Problem, ReadResult
from site_src.readers import arxiv_atom, bibtex, hf_json, hf_text

Reader = Callable[..., ReadResult]

READERS: dict[str, Reader] = {
    "hf-text": hf_text.parse,
    "hf-json": hf_json.parse,
    "arxiv-atom": arxiv_atom.parse,
    "bibtex": bibtex.parse,
}
"""Format name -> parse function. Names are what `--format` accepts."""


class UnknownFormat(ValueError):
    """A format name no reader has, or a file whose format could not be detected."""


def _looks_like_json(text: str, suffix: str) -> bool:
    return suffix == ".json" or hf_json.looks_like(text)


def _looks_like_atom(text: str, suffix: str) -> bool:
    return suffix in (".atom", ".xml") or arxiv_atom.looks_like(text)


def _looks_like_bibtex(text: str, suffix: str) -> bool:
    return suffix == ".bib" or bibtex.looks_like(text)


def _looks_like_hf_text(text: str, suffix: str) -> bool:
    return suffix in (".txt", ".md", ".markdown", "") or hf_text.looks_like(text)


SNIFF_RULES: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("hf-json", _looks_like_json),
    ("arxiv-atom", _looks_like_atom),
    ("bibtex", _looks_like_bibtex),
    ("hf-text", _looks_like_hf_text),
)
"""(format, test(text, lower-case suffix)) in order; the first registered format that matches wins."""


def sniff(text: str, filename: str = "") -> str | None:
    """Guess a registered format name from a file's text and name; None when nothing fits."""
    suffix = Path(filename).suffix.lower()
    for name, test in SNIFF_RULES:
        if name in READERS and test(text, suffix):
            return name
    return None


def get_reader(name: str) -> Reader:
    """Return the parse function registered under a format name, or raise UnknownFormat."""
    try:
        return READERS[name]
    except KeyError:
        known = ", ".join(sorted(READERS))
        raise UnknownFormat(f"unknown format {name!r}; known formats: {known}") from None


def _json_value(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: _json_value(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) not in (None, "")}
    return value


def paper_as_json(paper: Paper) -> dict:
    """Return a paper as JSON-ready data: Paper field names, ISO dates, None/empty fields left out."""
    return {
        f.name: _json_value(getattr(paper, f.name)) for f in dataclasses.fields(paper)
        if not _is_empty(getattr(paper, f.name))
    }


def _is_empty(value: object) -> bool:
    # Identity checks: 0 upvotes is a value, not an empty default (0 == False in Python).
    return value is None or value is False or (isinstance(value, (str, tuple)) and not value)


def result_as_json(result: ReadResult) -> dict:
    """Return what a reader made of a file as `{"digest", "papers", "problems", "entries_seen"}`."""
    digest = result.digest
    return {
        "digest": {f.name: _json_value(getattr(digest, f.name)) for f in dataclasses.fields(digest)},
        "entries_seen": result.entries_seen,
        "papers": [paper_as_json(p) for p in result.papers],
        "problems": [
            {"source": p.source, "line": p.line, "severity": p.severity, "reason": p.reason}
            for p in result.problems
        ],
    }


def decode(data: bytes) -> tuple[str, int]:
    """Decode UTF-8 (dropping a BOM); return the text and how many bad bytes were replaced."""
    try:
        return data.decode("utf-8-sig"), 0
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", errors="replace")
        return text, text.count("\ufffd") - data.decode("utf-8", "ignore").count("\ufffd")


def read_file(
    path: str | Path,
    *,
    format: str | None = None,  # noqa: A002 - the user-facing option is called --format
    digest_date: dt.date | None = None,
    today: dt.date,
) -> ReadResult:
    """Read a digest file with the named (or sniffed) reader.

    Raises OSError when the file cannot be read and UnknownFormat when the format is
    unknown or cannot be detected. Problems carry the file name as their source.
    """
    path = Path(path)
    if format is not None:
        reader = get_reader(format)
    data = path.read_bytes()
    text, replaced = decode(data)
    if format is None:
        format = sniff(text, path.name)
        if format is None:
            known = ", ".join(sorted(READERS))
            raise UnknownFormat(
                f"cannot tell the format of {path.name}; pass --format (known formats: {known})")
        reader = READERS[format]
    result = reader(text, source=path.name, digest_date=digest_date, today=today)
    if replaced:
        problem = Problem(path.name, None, f"the file is not valid UTF-8: {replaced} bad byte(s) "
                          "were replaced with U+FFFD", "warning")
        result = dataclasses.replace(result, problems=(problem, *result.problems))
    return result
