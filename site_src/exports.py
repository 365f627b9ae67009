"""Exports for writing the survey: BibTeX of all papers or one topic, a Markdown outline of the taxonomy.

Pure functions returning text. BibTeX entries come from site_src.cite (which
escapes BibTeX specials); the outline escapes Markdown so a title can never
become a link, an image, HTML or a heading.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from site_src.cite import bibtex_for
from site_src.model import Paper

# Characters that are markup anywhere in a line; the rest only matter at its start.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MARKDOWN_LINE_START = re.compile(r"^([#+=-]|\d+(?=[.)]))")


def escape_markdown(text: str) -> str:
    """Escape what Markdown (CommonMark) would read as markup in one line; fold whitespace.

    Inline markup (emphasis, code, links, HTML, entities, tables) is escaped
    everywhere; headings, list and rule markers only where a line starts, so
    ordinary hyphens and full stops stay readable in the exported file.
    """
    flat = _MARKDOWN_INLINE.sub(r"\\\1", " ".join(text.split()))
    match = _MARKDOWN_LINE_START.match(flat)
    if match and match.group(1).isdigit():
        end = match.end()
        return flat[:end] + "\\" + flat[end:]
    return _MARKDOWN_LINE_START.sub(r"\\\1", flat)


def survey_order(paper: Paper) -> tuple:
    """Sort key of the exports: oldest first by date, then title (the order a survey discusses them)."""
    return (paper.published_at is None, paper.published_at or 0, paper.title.casefold(), paper.slug)


def _sorted_papers(papers: Iterable[Paper]) -> list[Paper]:
    """Oldest first by date, then title: the order a survey discusses them."""
    return sorted(papers, key=survey_order)


def bibtex_text(heading: str, entries: Iterable[str]) -> str:
    """Return a .bib text: the heading as % comments, then the entries (already in order)."""
    lines = [f"% {line}" for line in heading.splitlines() if line.strip()]
    return "\n".join(lines + ([""] if lines else []) + list(entries))


def bibtex_file(papers: Iterable[Paper], *, url_for: Callable[[str], str] | None = None,
                heading: str = "", entries: Mapping[str, str] | None = None) -> str:
    """Return one .bib text with an entry per paper (keys are slugs, so unique).

    `entries` (slug -> entry, from bibtex_entries) saves making a paper's entry again for
    every topic file it is in.
    """
    return bibtex_text(heading, [entries[p.slug] if entries is not None
                                 else bibtex_for(p, url=url_for(p.slug) if url_for else None)
                                 for p in _sorted_papers(papers)])


def bibtex_entries(papers: Iterable[Paper], *, url_for: Callable[[str], str] | None = None) -> dict[str, str]:
    """Slug -> the paper's BibTeX entry, as bibtex_file writes it."""
    return {p.slug: bibtex_for(p, url=url_for(p.slug) if url_for else None) for p in papers}


def topic_chains(topics: Sequence[Any]) -> dict[str, tuple[str, ...]]:
    """Topic id -> the topic and its ancestors, nearest first (cycle-safe: a cycle ends the chain)."""
    parents = {t.id: t.parent for t in topics}
    chains: dict[str, tuple[str, ...]] = {}
    for topic_id in parents:
        chain, current = [], topic_id
        while current in parents and current not in chain:
            chain.append(current)
            current = parents[current]
        chains[topic_id] = tuple(chain)
    return chains


def topic_members(topics: Sequence[Any], paper_topics: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Topic id -> slugs of papers in it or any of its subtopics (topic_papers for every topic at once)."""
    chains = topic_chains(topics)
    members: dict[str, set[str]] = {topic_id: set() for topic_id in chains}
    for slug, ids in paper_topics.items():
        for topic_id in ids:
            for member_of in chains.get(topic_id, ()):
                members[member_of].add(slug)
    return members


def topic_papers(topic_id: str, topics: Sequence[Any],
                 paper_topics: Mapping[str, Iterable[str]]) -> set[str]:
    """Return the slugs of papers in a topic or any of its subtopics."""
    children: dict[str | None, list[str]] = {}
    for topic in topics:
        children.setdefault(topic.parent, []).append(topic.id)
    subtree, stack = set(), [topic_id]
    while stack:
        current = stack.pop()
        if current not in subtree:
            subtree.add(current)
            stack.extend(children.get(current, []))
    return {slug for slug, ids in paper_topics.items() if subtree & set(ids)}


def markdown_outline(title: str, topics: Sequence[Any], papers: Sequence[Paper],
                     paper_topics: Mapping[str, Iterable[str]], *,
                     url_for: Callable[[str], str] | None = None,
                     root: str | None = None, _shared: dict | None = None) -> str:
    """Return the taxonomy as a Markdown outline with each topic's own papers (a survey skeleton).

    Headings follow the tree (## roots, ### children, …); each paper is listed
    under the topics it was given, with its citation key for the .bib file.
    With `root`, only that topic's subtree is outlined. Callers outlining the same
    taxonomy, papers and url_for many times (once per topic) pass one dict as `_shared`: who is in which
    topic is then worked out once, not per outline.
    """
    shared = _shared if _shared is not None else {}
    if "own" not in shared:
        by_slug = {p.slug: p for p in papers}
        own: dict[str, list[Paper]] = {t.id: [] for t in topics}
        for slug, ids in paper_topics.items():
            for topic_id in ids:
                if topic_id in own and slug in by_slug:
                    own[topic_id].append(by_slug[slug])
        shared.update(own=own)
    own = shared["own"]
    listed_lines: dict[str, list[str]] = shared.setdefault("listed", {})

    def listing(topic_id: str) -> list[str]:
        if topic_id not in listed_lines:  # the same lines under whichever root
            listed_lines[topic_id] = [outline_line(paper, url_for(paper.slug) if url_for else None)
                                      for paper in _sorted_papers(own[topic_id])]
        return listed_lines[topic_id]

    unsorted = [] if root else [unsorted_line(p) for p in _sorted_papers(
        p for p in papers if not any(True for _ in paper_topics.get(p.slug, ())))]
    return outline_text(title, topics, listing, root=root, unsorted=unsorted, _shared=shared)


def outline_line(paper: Paper, url: str | None) -> str:
    """A paper's line under its topic in the Markdown outline (linked when url is given)."""
    year = f" ({paper.published_at.year})" if paper.published_at else ""
    name = escape_markdown(paper.title)
    link = f"[{name}](<{url}>)" if url else name
    return f"- {link}{year} \\[{escape_markdown(paper.slug)}\\]"


def unsorted_line(paper: Paper) -> str:
    """A paper's line under 'Unsorted' in the Markdown outline."""
    return f"- {escape_markdown(paper.title)} \\[{escape_markdown(paper.slug)}\\]"


def outline_text(title: str, topics: Sequence[Any], listing: Callable[[str], Sequence[str]], *,
                 root: str | None = None, unsorted: Sequence[str] = (), _shared: dict | None = None) -> str:
    """Return the Markdown outline from each topic's lines (listing(topic id), in order).

    The headings follow the tree from `root` (or every root topic); `unsorted` lines
    (unsorted_line) end the outline under '## Unsorted'. markdown_outline calls this;
    the exports producer passes lines it kept from the last build.
    """
    shared = _shared if _shared is not None else {}
    if "children" not in shared:
        children: dict[str | None, list[Any]] = {}
        for topic in topics:
            children.setdefault(topic.parent, []).append(topic)
        shared["children"] = children
    children = shared["children"]
    lines = [f"# {escape_markdown(title)}", ""]

    def emit(topic: Any, level: int) -> None:
        lines.append(f"{'#' * min(level, 6)} {escape_markdown(topic.name)}")
        lines.append("")
        if getattr(topic, "description", ""):
            lines.extend([escape_markdown(topic.description), ""])
        listed = listing(topic.id)
        if listed:
            lines.extend(listed)
            lines.append("")
        for child in children.get(topic.id, []):
            emit(child, level + 1)

    starts = [t for t in topics if t.id == root] if root else children.get(None, [])
    for topic in starts:
        emit(topic, 2)
    if unsorted and root is None:
        lines += ["## Unsorted", ""]
        lines += unsorted
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
