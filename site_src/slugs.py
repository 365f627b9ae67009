"""Paper slugs: the file name in content/papers/ and the paper's URL key.

A slug is ASCII `[a-z0-9-]`, readable (from the title), at most MAX_LENGTH
characters, never empty, never a path. It is chosen once, when ingest first
creates the paper; later title edits never change it.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Container

MAX_LENGTH = 80
"""Longest slug, suffixes included (file names stay well under any filesystem limit)."""

_SAFE = re.compile(r"\A[a-z0-9]+(?:-[a-z0-9]+)*\Z")
# Letters NFKD does not decompose into ASCII, spelled the way readers expect.
_TRANSLITERATE = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o", "đ": "d",
    "Đ": "d", "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ð": "d", "ı": "i",
})


def _cut(slug: str, limit: int) -> str:
    """Shorten a slug to at most `limit` characters, at a word boundary when one is near."""
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    boundary = cut.rfind("-")
    if boundary >= limit // 2:
        cut = cut[:boundary]
    return cut.strip("-")


def slugify(title: str, *, max_length: int = MAX_LENGTH) -> str:
    """Turn a title into lowercase ASCII words joined by '-'; '' when nothing Latin is left."""
    text = unicodedata.normalize("NFKD", title.translate(_TRANSLITERATE))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("'", "")  # "don't" -> "dont", not "don-t"
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return _cut(slug, max_length)


def is_safe_slug(slug: str) -> bool:
    """Whether a string is a well-formed slug (and so a plain file name, never a path)."""
    return len(slug) <= MAX_LENGTH and bool(_SAFE.match(slug))


def fallback_slug(title: str, arxiv_id: str | None) -> str:
    """A slug for a title with nothing sluggable: from the arXiv id, else a short title hash."""
    if arxiv_id:
        from_id = slugify(arxiv_id)
        if from_id:
            return f"arxiv-{from_id}"
    digest = hashlib.sha256(title.encode("utf-8")).hexdigest()[:10]
    return f"paper-{digest}"


def unique_slug(title: str, taken: Container[str], *, arxiv_id: str | None = None) -> str:
    """Choose a new paper's slug: the title's, made unique against `taken` deterministically.

    On a collision the arXiv id is appended when there is one, then -2, -3, ...
    """
    base = slugify(title) or fallback_slug(title, arxiv_id)
    if base not in taken:
        return base
    candidates = []
    if arxiv_id and slugify(arxiv_id):
        suffix = slugify(arxiv_id)
        candidates.append(f"{_cut(base, MAX_LENGTH - len(suffix) - 1)}-{suffix}")
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while True:
        suffix = str(number)
        candidate = f"{_cut(base, MAX_LENGTH - len(suffix) - 1)}-{suffix}"
        if candidate not in taken:
            return candidate
        number += 1
