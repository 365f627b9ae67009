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

Front matter in the shapes `dumps` writes is read by a small exact reader
(`_fast_front_matter`, ~4x faster than PyYAML); anything it is not sure of,
such as a hand-edited file with comments, goes to PyYAML.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import sys
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


def _shared(value: str) -> str:
    """One string object for values many papers repeat (author names, categories, digest
    ids): the parse memo then holds and pickles each once (~50 MB less at 100k papers)."""
    return sys.intern(value) if type(value) is str else value


def _str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(map(str.__instancecheck__, value)):
        raise TypeError("expected a list of strings")
    return tuple(map(_shared, value))


def _opt_str(what: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        raise TypeError(f"expected {what} or nothing")
    return convert


def _opt_int(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise TypeError("expected a whole number or nothing")


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


_PRECISION_OF: dict[str, str] = {name: name for name in _PRECISIONS}


def _precision(value: Any) -> Any:
    if value is None:
        return value
    if value in _PRECISIONS:
        return _PRECISION_OF[value]  # (the one object: see _shared)
    raise TypeError(f"expected one of {', '.join(_PRECISIONS)} or nothing")


_DATES: dict[dt.date, dt.date] = {}
"""One object per date the store's papers name (see _shared); a few thousand at 100k papers."""
_MANY_DATES = 100_000


def _opt_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    date = value if type(value) is dt.date else _to_date(value)
    if len(_DATES) > _MANY_DATES:
        _DATES.clear()  # (a long-lived process never holds more than that)
    return _DATES.setdefault(date, date)


def _topics(value: Any) -> tuple[str, ...] | None:
    return None if value is None else _str_tuple(value)


def _str_tuple_or_empty(value: Any) -> tuple[str, ...]:
    return () if value is None else _str_tuple(value)


_APPEARANCE_KEYS = frozenset({"digest", "line", "position", "comments", "upvotes"})


def _appearances(value: Any) -> tuple[Appearance, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TypeError("expected a list of {digest: ..., line: ..., position: ...}")
    out = []
    for item in value:
        if not isinstance(item, dict) or not _is_str(item.get("digest")):
            raise TypeError("each digest appearance needs a 'digest' id")
        unknown = () if item.keys() <= _APPEARANCE_KEYS else set(item) - _APPEARANCE_KEYS
        if unknown:
            raise TypeError(f"unknown key {sorted(unknown)[0]!r} in a digest appearance")
        line, comments, upvotes = item.get("line"), item.get("comments"), item.get("upvotes")
        for key, number in (("line", line), ("comments", comments), ("upvotes", upvotes)):
            if number is not None and not _is_int(number):
                raise TypeError(f"'{key}' of a digest appearance must be a whole number")
        position = item.get("position", 0)
        if not _is_int(position):
            raise TypeError("'position' of a digest appearance must be a whole number")
        out.append(Appearance(_shared(item["digest"]), line, position, comments, upvotes))
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
    "summary": _opt_str("a string"),
    "authors": _str_tuple_or_empty,
    "n_authors": _opt_int,
    "organization": _opt_str("a string"),
    "published_at": _opt_date,
    "date_precision": _precision,
    "upvotes": _opt_int,
    "comments": _opt_int,
    "github_repo": _opt_str("a URL"),
    "github_stars": _opt_int,
    "project_page": _opt_str("a URL"),
    "ai_summary": _opt_str("a string"),
    "ai_keywords": _str_tuple_or_empty,
    "categories": _str_tuple_or_empty,
    "doi": _opt_str("a string"),
    "journal_ref": _opt_str("a string"),
    "arxiv_comment": _opt_str("a string"),
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


# --------------------------------------------------------------------- fast path

# Reading a front matter with YAML costs ~100 µs (constructing and resolving every node in
# Python); a corpus of 10k papers pays that on every cold build. What dumps() writes is a tiny
# subset of YAML, so a strict line parser reads that subset and DECLINES (raises _Decline) on
# anything it is not sure of: comments, anchors, tags, tabs, blank or oddly indented lines,
# duplicated keys, floats, unknown escapes. Declined files go to YAML, so a hand-edited file
# reads exactly as before. tests/test_store_fast.py holds both readers to the same values.

class _Decline(Exception):
    """The fast reader is not sure what YAML would make of a front matter."""


# Characters YAML reads specially or refuses anywhere (tab, CR, C0/C1 controls, NEL, the
# Unicode line/paragraph separators, BOM, surrogates, non-characters).
_FAST_UNSAFE = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_FAST_KEYS = frozenset(_CONVERTERS) | {"slug", "notes"}
_SINGLE_QUOTED = re.compile(r"'([^']*(?:''[^']*)*)'")
_DOUBLE_QUOTED = re.compile(
    r'"([^"\\]*(?:\\(?:[0abtnvfre "\\N_LP]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})'
    r'[^"\\]*)*)"')
_ESCAPE = re.compile(r"\\(?:([0abtnvfre \"\\N_LP])|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})"
                     r"|U([0-9A-Fa-f]{8}))")
_ESCAPES = {"0": "\0", "a": "\x07", "b": "\x08", "t": "\t", "n": "\n", "v": "\x0b",
            "f": "\x0c", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "\\": "\\",
            "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
# A plain scalar in a flow collection: no indicator, quote or space at either end.
_FLOW_PLAIN = re.compile(r"[^,\[\]{}:#?'\" ]+(?: [^,\[\]{}:#?'\" ]+)*")
# Characters that make a plain scalar start mean something else (or something we skip).
_PLAIN_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_KEY_MAX = 500  # YAML reads an implicit key only if it ends within 1024 characters
_APPEARANCE_NUMBERS = ("line", "position", "comments", "upvotes")
_FAST_APPEARANCE = re.compile(
    r"\{digest: ([A-Za-z0-9][A-Za-z0-9._-]*)"
    + "".join(f"(?:, {name}: (0|[1-9][0-9]{{0,17}}))?" for name in _APPEARANCE_NUMBERS)
    + r"\}\Z")
_PLAIN_NUMBER = re.compile(r"(?:(0|[1-9][0-9]{0,17})|[0-9]{4}-[0-9]{2}-[0-9]{2})\Z")
_RESOLVERS: dict = _Loader.yaml_implicit_resolvers
_RESOLVED_FIRST = frozenset(_RESOLVERS)
_NOT_STR_FIRST = _PLAIN_FIRST | _RESOLVED_FIRST  # includes "" (YAML's resolver for empty)
# The words YAML turns into null or a boolean, each with the value YAML gives it.
_PLAIN_WORDS: dict[str, Any] = {
    word: yaml.load(word, Loader=_Loader)
    for stem in ("null", "true", "false", "yes", "no", "on", "off")
    for word in (stem, stem.capitalize(), stem.upper())
}
_PLAIN_WORDS["~"] = None
# First characters (letters) for which YAML resolves only the words above (bool and null).
_WORDS_ONLY_FIRST = frozenset(
    first for first, resolvers in _RESOLVERS.items()
    if {tag for tag, _ in resolvers} <= {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}
    and first not in ("", "~"))


def _fast_plain(text: str) -> Any:
    """The value YAML resolves an unquoted scalar to (str, None, bool, int or date)."""
    first = text[0]
    if first not in _RESOLVED_FIRST:
        return text
    if text in _PLAIN_WORDS:
        return _PLAIN_WORDS[text]
    if first in _WORDS_ONLY_FIRST:
        return text
    match = _PLAIN_NUMBER.match(text)
    if match:
        if match[1]:
            return int(text)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise _Decline from None  # YAML raises too (an uncaught ValueError)
    if _resolves_to_str(text):
        return text
    # Anything else YAML would resolve (floats, octal, sexagesimal, timestamps with a time,
    # merge keys) is left to YAML.
    raise _Decline


@functools.lru_cache(maxsize=4096)
def _resolves_to_str(text: str) -> bool:
    """Whether none of YAML's implicit resolvers claims text (digest ids repeat: remembered)."""
    return not any(regexp.match(text) for _tag, regexp in _RESOLVERS[text[0]])


def _fast_unescape(match: re.Match) -> str:
    simple, *codes = match.groups()
    if simple is not None:
        return _ESCAPES[simple]
    code = int(next(c for c in codes if c is not None), 16)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise _Decline
    return chr(code)


def _fast_quoted(text: str, pos: int) -> tuple[str, int]:
    """Read the quoted scalar starting at text[pos]; return it and the position after it."""
    if text[pos] == "'":
        match = _SINGLE_QUOTED.match(text, pos)
        if match is None:
            raise _Decline
        return match[1].replace("''", "'"), match.end()
    match = _DOUBLE_QUOTED.match(text, pos)
    if match is None:
        raise _Decline
    value = match[1]
    if "\\" in value:
        value = _ESCAPE.sub(_fast_unescape, value)
    return value, match.end()


def _fast_flow_node(text: str, pos: int) -> tuple[Any, int]:
    """Read one scalar inside [...] or {...}."""
    if text[pos:pos + 1] in ("'", '"'):
        return _fast_quoted(text, pos)
    match = _FLOW_PLAIN.match(text, pos)
    if match is None or text[pos] in _PLAIN_FIRST:
        raise _Decline
    return _fast_plain(match[0]), match.end()


def _fast_flow(text: str, breaks: tuple[int, ...] = ()) -> Any:
    """Read a one-level flow sequence [a, b] or mapping {k: v, ...} filling all of text.

    `breaks` are the places where text was folded from several lines: YAML wants every
    key of a mapping on one line (and not longer than 1024 characters).
    """
    closing = "]" if text[0] == "[" else "}"
    out: Any = [] if closing == "]" else {}
    pos = 1
    if text[pos:pos + 1] != closing:
        while True:
            if closing == "}":
                start = pos
                key, pos = _fast_flow_node(text, pos)
                if (type(key) is not str or key in out or text[pos:pos + 2] != ": "
                        or pos - start > _KEY_MAX or any(start <= at < pos for at in breaks)):
                    raise _Decline
                value, pos = _fast_flow_node(text, pos + 2)
                out[key] = value
            else:
                value, pos = _fast_flow_node(text, pos)
                out.append(value)
            if text[pos:pos + 2] != ", ":
                break
            pos += 2
    if text[pos:] != closing:
        raise _Decline
    return out


def _fast_value(text: str, breaks: tuple[int, ...] = ()) -> Any:
    """Read the quoted scalar or flow collection that fills text; decline anything else."""
    first = text[0]
    if first in ("'", '"'):
        value, end = _fast_quoted(text, 0)
        if end != len(text):
            raise _Decline
        return value
    if first in ("[", "{"):
        return _fast_flow(text, breaks)
    raise _Decline  # an indicator (anchor, alias, tag, block scalar, comment...) or a space


def _fast_fold(first: str, more: list[str]) -> tuple[str, tuple[int, ...]]:
    """Join a value's continuation lines ('  more') to its first line, as YAML folds them.

    Returns the text and where its line breaks were (the spaces that replaced them).
    """
    parts = [first]
    breaks = []
    at = len(first)
    for line in more:
        if line[:2] != "  " or line[2:3] in ("", " ") or parts[-1][-1:] in (" ", "\\"):
            # Odd indentation, a blank line, trailing spaces before the break or a backslash
            # (perhaps an escaped line break in a double-quoted scalar): YAML decides.
            raise _Decline
        breaks.append(at)
        parts.append(line[2:])
        at += len(line) - 1
    if parts[-1][-1:] == " ":
        raise _Decline
    return " ".join(parts), tuple(breaks)


def _fast_scalar(text: str, breaks: tuple[int, ...] = ()) -> Any:
    """Read one logical line's value: a plain scalar here, the rest by _fast_value."""
    if not text:
        raise _Decline
    first = text[0]
    if first in _PLAIN_FIRST:
        return _fast_value(text, breaks)
    if text[-1] in " :" or ": " in text or " #" in text:
        raise _Decline
    return _fast_plain(text) if first in _RESOLVED_FIRST else text


def _fast_appearance(text: str, breaks: tuple[int, ...] = ()) -> Any:
    """Read a digests entry as dumps() writes it: {digest: id, line: 3, position: 0, ...}."""
    match = None if breaks else _FAST_APPEARANCE.match(text)
    if match is None:
        return _fast_scalar(text, breaks)
    digest, line, position, comments, upvotes = match.groups()
    out: dict[str, Any] = {"digest": _fast_plain(digest)}
    if line is not None:
        out["line"] = int(line)
    if position is not None:
        out["position"] = int(position)
    if comments is not None:
        out["comments"] = int(comments)
    if upvotes is not None:
        out["upvotes"] = int(upvotes)
    return out


def _fast_items(block: str, read: Callable[[str], Any]) -> list[Any]:
    """Read a block list ('\\n- a\\n- b'), items perhaps going on over indented lines."""
    if block.count("\n") == block.count("\n- "):
        texts = block[3:].split("\n- ")
        if (read is _fast_scalar and ": " not in block and " #" not in block
                and ":\n" not in block and " \n" not in block and block[-1] not in " :"):
            # No item holds ': ' or ' #' or ends in ' ' or ':', so an item whose first
            # character is neither an indicator nor one YAML resolves is a plain string.
            return [text if text[:1] not in _NOT_STR_FIRST else read(text) for text in texts]
        return [read(text) for text in texts]
    items: list[Any] = []
    lines = block[1:].split("\n")
    index = 0
    while index < len(lines):
        if lines[index][:2] != "- ":
            raise _Decline
        end = index + 1
        while end < len(lines) and lines[end][:1] == " ":
            end += 1
        items.append(read(*_fast_fold(lines[index][2:], lines[index + 1:end])))
        index = end
    return items


def _fast_mapping(block: str) -> dict[str, Any]:
    """Read a nested block mapping ('\\n  name: value' lines, one line each)."""
    if block.count("\n") != block.count("\n  "):
        raise _Decline
    mapping: dict[str, Any] = {}
    for entry in block[3:].split("\n  "):
        name, colon, value = entry.partition(": ")
        if (not colon or not _FAST_NAME.match(name) or name in mapping or len(name) > _KEY_MAX
                or type(_fast_plain(name)) is not str):
            raise _Decline
        mapping[name] = _fast_scalar(value)
    return mapping


# One top-level entry: its key line and the indented or '- ' lines under it, each line
# preceded by its '\\n' (findall runs over '\\n' + front and so finds only whole lines).
_FAST_ENTRY = re.compile(r"\n([a-z_]+):( [^\n]*)?((?:\n[- ][^\n]*)*)(?=\n|\Z)")
_FAST_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _fast_front_matter(front: str) -> dict[str, Any] | None:
    """Read a front matter written like dumps() writes it; None when YAML must decide."""
    if front[-1:] != "\n" or front[0] in " -":
        return None
    if front.isascii():
        # For ASCII, 'printable' is exactly ' '..'~' (what YAML allows, less tab and CR).
        if not front.replace("\n", " ").isprintable():
            return None
    elif _FAST_UNSAFE.search(front):
        return None
    entries = _FAST_ENTRY.findall("\n" + front[:-1])
    # Every line is a key line or under one: findall skipped none of the top-level lines.
    if len(entries) != front.count("\n") - front.count("\n ") - front.count("\n-"):
        return None
    data: dict[str, Any] = {}
    try:
        for key, rest, block in entries:
            if key in data or key not in _FAST_KEYS:
                return None
            if rest:
                value = rest[1:]
                breaks: tuple[int, ...] = ()
                if block:
                    value, breaks = _fast_fold(value, block[1:].split("\n"))
                if not value:
                    return None
                first = value[0]
                if first in _PLAIN_FIRST:
                    data[key] = _fast_value(value, breaks)
                elif value[-1] in " :" or ": " in value or " #" in value:
                    return None
                else:
                    data[key] = _fast_plain(value) if first in _RESOLVED_FIRST else value
            elif not block:
                data[key] = None
            elif block[1] == "-":
                data[key] = _fast_items(block, _fast_appearance if key == "digests"
                                        else _fast_scalar)
            else:
                data[key] = _fast_mapping(block)
    except _Decline:
        return None
    return data


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Split a paper file into (front matter, body, 1-based line where the body starts)."""
    if text[:1] == "\ufeff":
        text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    first_end = text.find("\n")
    if (text if first_end < 0 else text[:first_end]).rstrip() != "---":
        raise ValueError("the file must start with a '---' line opening the front matter")
    # The closing line is the first later line that is '---' plus trailing whitespace;
    # found with str.find instead of a Python loop over every line.
    found = first_end - 1 if first_end >= 0 else len(text)
    while True:
        found = text.find("\n---", found + 1)
        if found < 0:
            raise ValueError("the front matter has no closing '---' line")
        line_end = text.find("\n", found + 4)
        tail = text[found + 4:] if line_end < 0 else text[found + 4:line_end]
        if not tail or tail.isspace():
            break
    index = text.count("\n", 0, found + 1)
    front = text[first_end + 1:found + 1] if index > 1 else "\n"
    return front, ("" if line_end < 0 else text[line_end + 1:]), index + 2


def split_body(body: str) -> tuple[str, str]:
    """Split the Markdown body into (abstract, notes) at the first '## Notes' heading."""
    start = 0
    # Only lines starting with '##' can be the heading: jump between them with str.find.
    while body.startswith("##", start) or (start := body.find("\n##", start) + 1):
        end = body.find("\n", start)
        if _NOTES_LINE.match(body[start:] if end < 0 else body[start:end]):
            return body[:start].strip(), "" if end < 0 else body[end + 1:].strip()
        if end < 0:
            break
        start = end + 1
    return body.strip(), ""


def key_lines(front: str) -> dict[str, int]:
    """Map each top-level key of a front matter to its 0-based line (for problem reports)."""
    out: dict[str, int] = {}
    for number, line in enumerate(front.split("\n")):
        match = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
        if match and match.group(1) not in out:
            out[match.group(1)] = number
    return out


def _line_of_impossible_value(text: str) -> int:
    """The 1-based line of text whose value alone makes YAML raise ValueError (1 if none)."""
    for number, line in enumerate(text.split("\n"), start=1):
        try:
            yaml.load(line.lstrip("- "), Loader=_Loader)
        except ValueError:
            return number
        except yaml.YAMLError:
            continue
    return 1


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
    data = _fast_front_matter(front_text)
    if data is None:
        try:
            data = yaml.load(front_text, Loader=_Loader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1
            reason = getattr(error, "problem", None) or str(error).split("\n")[0]
            problem(line, f"front matter is not valid YAML: {reason}")
            return None, tuple(problems)
        except ValueError as error:
            # YAML's constructor raises a bare ValueError for a date that does not exist
            # (2025-02-30): one such file must be a problem, not the end of the whole load.
            problem(_line_of_impossible_value(front_text) + 1,
                    f"front matter is not valid YAML: {error}")
            return None, tuple(problems)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problem(2, "front matter must be a mapping of field: value")
            return None, tuple(problems)

    lines: dict[str, int] = {}

    def line_of(key: Any) -> int:
        if not lines:  # only a file with problems needs them
            lines.update(key_lines(front_text))
        return lines[str(key)] + 2 if str(key) in lines else 2

    fields: dict[str, Any] = {}
    for key, value in data.items():
        convert = _CONVERTERS.get(key)  # None for 'slug', 'notes' and unknown keys
        if convert is None:
            if key == "slug":
                if value != slug:
                    problem(line_of(key), f"slug {value!r} differs from the file name; "
                                          "the file name wins", "warning")
                continue
            problem(line_of(key), f"unknown field {key!r}" + (
                " (notes belong in the body, under '## Notes')" if key == "notes" else ""))
            continue
        try:
            fields[key] = convert(value)
        except (TypeError, ValueError) as error:
            problem(line_of(key), f"field {key!r}: {error}")

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
    except ValueError:  # a date that does not exist, as in parse_paper
        return None, (Problem(source, _line_of_impossible_value(text),
                              "digest record is not valid YAML", "error"),)
    if not isinstance(data, dict):
        return None, (Problem(source, 1, "digest record must be a mapping", "error"),)
    lines = {key: number + 1 for key, number in key_lines(text).items()}
    problems: list[Problem] = []
    fields: dict[str, Any] = {}
    converters: dict[str, Callable[[Any], Any]] = {
        "id": _required_str, "date": _opt_date, "title": _opt_str("a string"),
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
    # Sorted by name: the same order as sorting the Paths (one folder), ~10x cheaper at 10k.
    for path in sorted(directory.glob(pattern), key=lambda path: path.name):
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
