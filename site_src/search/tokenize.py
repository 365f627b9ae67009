"""Turn text into search terms; templates/static/search.js does exactly the same.

Both sides are checked against tests/fixtures/search/token_vectors.json, so a
query typed in the browser finds the terms the build put in the index.

The rules, in order:
1. Fold: lower-case, Unicode NFKD, drop combining marks (so "Café" = "cafe"), lower-case
   again, then a few letters that do not decompose (ß, æ, ø, ł, ...) become ASCII.
2. Words are runs of letters and digits; a dot between two digits stays inside a
   word ("2407.13168", "3.5b"). An arXiv id's version suffix is dropped
   ("2407.13168v2" = "2407.13168").
3. Words joined by hyphens form a group: "pre-trained" yields "pre", "trained" and
   the compound "pretrained", so the hyphenated and the closed form find each other.
4. A short list of English stop words is not indexed; they still take a position
   so phrase queries do not jump over them. Words longer than 40 characters are
   skipped the same way (hashes, URLs).
"""
from __future__ import annotations

import re
import unicodedata

STOP_WORDS: frozenset[str] = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the their "
    "this to was were which with".split()
)
"""Words too common to help a query; phrase positions still count them."""

MAX_TERM_LENGTH = 40
"""Longer words are skipped: they are hashes or URLs, not something people type."""

_FOLD = str.maketrans({
    "ß": "ss", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "œ": "oe", "þ": "th", "ı": "i",
    "ð": "d", "ħ": "h",
})
# A word: letters and digits; a dot between digits stays inside ("2407.13168", "1.5b").
_WORD = r"[^\W_]+(?:(?<=[0-9])\.[0-9][^\W_]*)*"
_GROUP = re.compile(_WORD + r"(?:[-\u2010\u2011]" + _WORD + r")*")
GROUP_PATTERN = _GROUP.pattern
"""A word group: words joined by hyphens (what group_terms takes, once folded)."""
_HYPHEN = re.compile(r"[-\u2010\u2011]")
_ARXIV_VERSION = re.compile(r"^([0-9]{4}\.[0-9]{4,5}|[0-9]{7})v[0-9]+$")


def fold(text: str) -> str:
    """Lower-case TEXT, strip accents and fold a few letters to ASCII."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.category(c).startswith("M"))
    # Compatibility forms can decompose to capitals ("℠" -> "SM"): lower-case again.
    return text.lower().translate(_FOLD)


def _clean(part: str) -> str:
    """Drop an arXiv version suffix from one word."""
    if "v" not in part:  # the common case, checked without a regex
        return part
    match = _ARXIV_VERSION.match(part)
    return match.group(1) if match else part


def word_groups(text: str) -> list[list[str]]:
    """Split TEXT into hyphen groups of folded words: "Pre-trained LMs" -> [[pre, trained], [lms]]."""
    return [[_clean(p) for p in _HYPHEN.split(m.group())] for m in _GROUP.finditer(fold(text))]


def group_terms(group: str) -> tuple[tuple[tuple[str, int], ...], int]:
    """Return the (term, offset) pairs of one folded word group and how many positions it takes.

    A compound ("pretrained" from "pre-trained") sits at the offset of its last
    part, so a phrase that continues after it still lines up.
    """
    if _HYPHEN.search(group) is None:  # one word
        word = _clean(group)
        return (((word, 0),) if word not in STOP_WORDS and len(word) <= MAX_TERM_LENGTH else ()), 1
    parts = [_clean(p) for p in _HYPHEN.split(group)]
    out = [(part, i) for i, part in enumerate(parts) if part not in STOP_WORDS and len(part) <= MAX_TERM_LENGTH]
    compound = "".join(parts)
    if len(compound) <= MAX_TERM_LENGTH:
        out.append((compound, len(parts) - 1))
    return tuple(out), len(parts)


def group_query_term(group: str) -> str | None:
    """Return the query term one folded word group stands for, or None (a stop word, too long)."""
    parts = [_clean(p) for p in _HYPHEN.split(group)]
    term = "".join(parts)
    if (len(parts) > 1 or term not in STOP_WORDS) and len(term) <= MAX_TERM_LENGTH:
        return term
    return None


def index_terms(text: str, start: int = 0) -> tuple[list[tuple[str, int]], int]:
    """Return the (term, position) pairs TEXT puts in the index, and the next free position."""
    out: list[tuple[str, int]] = []
    pos = start
    for group in _GROUP.findall(fold(text)):
        terms, width = group_terms(group)
        out.extend((term, pos + offset) for term, offset in terms)
        pos += width
    return out, pos


def query_terms(text: str) -> list[str]:
    """Return the terms a query (or a title) stands for: one per word or hyphen group."""
    terms = (group_query_term(group) for group in _GROUP.findall(fold(text)))
    return [term for term in terms if term is not None]
