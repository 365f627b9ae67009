"""Authors of the survey: one entry per distinct name, with a deliberately conservative identity.

Two spellings are one author only when they differ in nothing but case, accents, punctuation and
spacing ('Jörg Müller' = 'Jorg Muller', 'C.-P. Yuan' = 'C. P. Yuan'). Initials are never expanded
and surnames never matched on their own, so 'J. Smith', 'John Smith' and 'Jane Smith' stay three
authors: wrongly splitting one person is a small, visible flaw; wrongly merging two people puts
one person's papers on another's page. Papers that give only an author count are not listed.
Pure: no I/O.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from site_src.model import Paper
from site_src.urls import slugify

_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


@dataclass(frozen=True, slots=True)
class Author:
    """One author as the site shows them."""

    slug: str
    """URL segment of the author's page; stable while the name's key is unchanged."""
    name: str
    """Display name: the spelling the most papers use."""
    key: str
    """The identity key (see author_key); equal keys are one author."""
    papers: tuple[str, ...]
    """Slugs of their papers, in the order given."""
    spellings: tuple[str, ...] = ()
    """Other spellings seen for this author, most used first."""


def author_key(name: str) -> str:
    """Return the identity key of a name: case, accents, punctuation and spacing ignored; '' if none."""
    if name.isascii():
        text = name.lower()
    else:
        text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name))
        text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    # Letters and digits of any script survive; everything else separates words.
    return " ".join(re.findall(r"[^\W_]+", text))


def sort_key(name: str) -> tuple[str, str]:
    """Order names by surname (the last word that is not Jr./III), then by the whole name."""
    words = author_key(name).split()
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return (words[-1] if words else "", author_key(name))


def _display(spellings: Counter) -> str:
    """The most used spelling; ties go to the one with more non-ASCII letters (kept accents), then A-Z."""
    return min(spellings, key=lambda s: (-spellings[s], -sum(ord(c) > 127 for c in s), s))


def author_slug(key: str) -> str:
    """URL segment for an identity key; depends on the key alone, so pages never move.

    An ASCII key maps to its words joined by '-', which no other key shares. A key that
    slugify cannot spell in full (other scripts, very long names) gets a short hash of
    the key as well, so '李 wei' and '王 wei' do not both become 'wei'.
    """
    base = slugify(key, fallback="author", max_length=60)
    if base != key.replace(" ", "-"):
        base = f"{base}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"
    return base


def group_authors(papers: Iterable[Paper]) -> tuple[Author, ...]:
    """Collect the named authors of papers into Authors, sorted by surname; each paper listed once."""
    # Each name as written is seen once per paper (~800k times for 100k papers): only its
    # papers are collected there, and each distinct name is keyed and counted afterwards.
    slugs_of: dict[str, list[str]] = {}
    order: list[str] = []
    for paper in papers:
        slug = paper.slug
        order.append(slug)
        for name in paper.authors:
            found = slugs_of.get(name)
            if found is None:
                slugs_of[name] = [slug]
            else:
                found.append(slug)
    spellings: dict[str, Counter] = defaultdict(Counter)
    names_of: dict[str, list[str]] = defaultdict(list)
    for name, slugs in slugs_of.items():  # (in order of first use, as Counter ties need)
        key = author_key(name)
        if key:
            spellings[key][" ".join(name.split())] += len(slugs)
            names_of[key].append(name)
    rank: dict[str, int] | None = None
    authors = []
    for key, counts in spellings.items():
        names = names_of[key]
        if len(names) == 1:
            papers_of = tuple(dict.fromkeys(slugs_of[names[0]]))
        else:  # several spellings: their papers in the order given, each once
            if rank is None:
                rank = {}
                for i, slug in enumerate(order):
                    rank.setdefault(slug, i)
            papers_of = tuple(sorted({s for name in names for s in slugs_of[name]}, key=rank.__getitem__))
        name = _display(counts)
        others = tuple(s for s, _ in counts.most_common() if s != name)
        authors.append(Author(author_slug(key), name, key, papers_of, others))
    return tuple(sorted(authors, key=lambda a: (sort_key(a.name), a.slug)))


def author_urls(authors: Iterable[Author], url_for) -> dict[str, str]:
    """Map every spelling of every author (as papers write it, spacing collapsed) to their page URL."""
    urls: dict[str, str] = {}
    for author in authors:
        url = url_for(author.slug)
        for spelling in (author.name, *author.spellings):
            urls[spelling] = url
    return urls
