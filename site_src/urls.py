"""The only place that decides paths: page URLs, output destinations, links between pages.

A URL here is site-relative with no leading slash and ends in '/' for pages
('papers/robust-training/', '' for home) or in a file name for files
('feed.xml'). A destination is the relative POSIX path written under the
output folder ('papers/robust-training/index.html'). Links between pages are
relative, so the site works under any sub-path and from disk.
"""
from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_SAFE_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)*")


def slugify(text: str, *, fallback: str = "item", max_length: int = 80) -> str:
    """Make a lowercase ASCII URL segment from text; never empty, never '.' or '..'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")
    return slug or fallback


def segment(key: str) -> str:
    """Return key if it is already a safe URL segment, else its slug (so odd ids never escape a folder)."""
    key = str(key)
    return key if _SAFE_SEGMENT.fullmatch(key) and len(key) <= 120 else slugify(key)


def paged(url: str, page: int) -> str:
    """URL of page `page` (1-based) of a list numbered from its first item (a digest, the
    author index), whose first page is url."""
    return url if page <= 1 else f"{url}page/{page}/"


def archive_page(url: str, page: int) -> str:
    """URL of archive page `page` of a newest-first list whose front page is url: page 1 holds
    its oldest papers, so a page's URL and papers stay put as newer papers arrive."""
    if page < 1:
        raise ValueError(f"archive pages are numbered from 1, got {page}")
    return f"{url}page/{page}/"


def url_for(kind: str, key: str | int | None = None) -> str:
    """Site-relative URL of a page kind ('home', 'paper', 'topic', …) and its key."""
    if kind == "home":
        return ""
    if kind in _LISTS:
        return _LISTS[kind]
    if kind in _KEYED:
        if key is None:
            raise ValueError(f"url_for({kind!r}) needs a key")
        return f"{_KEYED[kind]}{segment(str(key))}/"
    if kind in _FILES:
        return _FILES[kind] if key is None else f"{_KEYED[kind.split('_')[0]]}{segment(str(key))}/{_FILES[kind]}"
    raise ValueError(f"unknown page kind {kind!r}")


_LISTS = {
    "topics": "topics/", "years": "years/", "digests": "digests/", "search": "search/",
    "about": "about/", "papers": "papers/", "404": "404.html", "authors": "authors/",
    "overview": "overview/", "unsorted": "unsorted/",
    "survey_bibtex": "exports/survey.bib", "survey_outline": "exports/survey.md",
}
_KEYED = {"paper": "papers/", "topic": "topics/", "year": "years/", "digest": "digests/",
          "author": "authors/"}
_FILES = {"feed": "feed.xml", "topic_feed": "feed.xml", "sitemap": "sitemap.xml",
          "robots": "robots.txt", "topic_bibtex": "papers.bib", "topic_outline": "outline.md"}


def keyed_dests(kind: str, keys: Iterable[str]) -> dict[str, str]:
    """Key -> dest_for(url_for(kind, key)) for many keys of one keyed kind at once (100k paper
    pages: a safe key, as slugs are, is checked by one regex match and used as it is)."""
    prefix, safe = _KEYED[kind], _SAFE_SEGMENT.fullmatch
    return {key: f"{prefix}{key}/index.html" if safe(key) and len(key) <= 120 else dest_for(url_for(kind, key))
            for key in keys}


def static_url(name: str) -> str:
    """URL of a file from templates/static/."""
    return f"static/{name}"


def dest_for(url: str) -> str:
    """Output path (relative POSIX) for a site-relative URL: pages get an index.html."""
    if url == "" or url.endswith("/"):
        return f"{url}index.html"
    return url


def url_for_dest(dest: str) -> str:
    """Inverse of dest_for: the URL a reader uses for an output path."""
    if dest == "index.html":
        return ""
    if dest.endswith("/index.html"):
        return dest[: -len("index.html")]
    return dest


def relative(from_url: str, to_url: str, *, directory_links: bool = False) -> str:
    """Link from the page at from_url to to_url, relative, keeping any '#fragment'.

    Without directory_links, links to pages end in 'index.html' so they open
    from disk, where a folder link shows a file listing.
    """
    if to_url.startswith("#"):
        return to_url
    target, hash_mark, fragment = to_url.partition("#")
    if not directory_links and (target == "" or target.endswith("/")):
        target += "index.html"
    if from_url == "" or from_url.endswith("/"):
        from_dir = from_url
    else:
        from_dir = posixpath.dirname(from_url) + "/" if "/" in from_url else ""
    link = _relative_path(from_dir, target) or "./"
    return link + (hash_mark + fragment if hash_mark else "")


@lru_cache(maxsize=1 << 16)
def _relative_path(from_dir: str, target: str) -> str:
    """Path from folder from_dir ('papers/a/', '' for the root) to target, by string work only.

    posixpath.relpath would call os.getcwd() twice per link; a site has millions of links.
    """
    if not from_dir:
        return target
    if not target.startswith(from_dir[: from_dir.index("/") + 1]):
        return "../" * from_dir.count("/") + target  # nothing in common: climb to the root
    from_parts = [part for part in from_dir.split("/") if part]
    to_parts = target.split("/")
    common = 0
    while (common < len(from_parts) and common < len(to_parts) - 1
           and from_parts[common] == to_parts[common]):
        common += 1
    return "../" * (len(from_parts) - common) + "/".join(to_parts[common:])


def rooted(base_path: str, to_url: str, *, directory_links: bool = False) -> str:
    """Link that starts at the site root ('/survey/topics/'): for pages served at any depth, like 404."""
    target, hash_mark, fragment = to_url.partition("#")
    if not directory_links and (target == "" or target.endswith("/")):
        target += "index.html"
    return base_path + target + (hash_mark + fragment if hash_mark else "")


def is_safe_dest(dest: str) -> bool:
    """Whether dest is a relative POSIX path that stays inside the output folder."""
    if not dest or dest.startswith("/") or "\\" in dest or "\x00" in dest:
        return False
    parts = dest.split("/")
    return all(part not in ("", ".", "..") for part in parts)
