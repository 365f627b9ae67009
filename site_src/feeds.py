"""Atom feeds (RFC 4287): the whole site's latest papers, and one feed per topic.

Entry ids are tag: IRIs built from config.feed_id and the paper's slug, so they
never change when the site moves or a title is corrected. Every date comes from
the content (digest dates), never from the clock, so feeds are reproducible.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping

from site_src import urls
from site_src.config import SiteConfig
from site_src.markup import plain_text
from site_src.model import Paper
from site_src.plan import Page, Site, sort_key_newest
from site_src.xmltext import xml_attribute, xml_text

ATOM = "http://www.w3.org/2005/Atom"
EPOCH = dt.date(1970, 1, 1)


def rfc3339(date: dt.date) -> str:
    """A date as an RFC 3339 timestamp at midnight UTC."""
    return f"{date.isoformat()}T00:00:00Z"


def entry_updated(paper: Paper, digest_dates: Mapping[str, dt.date | None]) -> dt.date:
    """When an entry last changed, as far as the content tells: its latest digest, else first seen."""
    dates = [digest_dates.get(a.digest) for a in paper.digests]
    known = [d for d in dates if d is not None]
    return max(known) if known else (paper.first_seen or paper.published_at or EPOCH)


def newest_papers(papers: Iterable[Paper], digest_dates: Mapping[str, dt.date | None],
                  limit: int) -> list[Paper]:
    """The latest `limit` papers: most recently seen first, then newest published."""
    def key(paper: Paper) -> tuple:
        return (-entry_updated(paper, digest_dates).toordinal(), *sort_key_newest(paper))
    return sorted(papers, key=key)[:limit]


def _line(out: list[str], indent: str, tag: str, text: str | None = None, **attrib: str) -> None:
    """One element without children, on its own line (an empty one as <tag ... />)."""
    attrs = "".join([f' {name}="{xml_attribute(value)}"' for name, value in attrib.items()])
    out.append(f"{indent}<{tag}{attrs}>{xml_text(text)}</{tag}>\n" if text else f"{indent}<{tag}{attrs} />\n")


def render_feed(*, config: SiteConfig, feed_url: str, page_url: str, feed_id: str, title: str,
                subtitle: str, papers: list[Paper], digest_dates: Mapping[str, dt.date | None],
                topic_names: Mapping[str, Mapping[str, str]] | None = None) -> bytes:
    """Serialize one Atom feed; papers are given newest first.

    Written out directly: the bytes ElementTree wrote (ET.indent with two spaces, tostring
    with an XML declaration; tests/test_feeds.py compares the two), without building a tree.
    """
    updates = [entry_updated(p, digest_dates) for p in papers]
    known_dates = [d for d in digest_dates.values() if d is not None]
    out = [f"<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns=\"{ATOM}\">\n"]
    _line(out, "  ", "id", feed_id)
    _line(out, "  ", "title", title)
    if subtitle:
        _line(out, "  ", "subtitle", subtitle)
    _line(out, "  ", "updated", rfc3339(max(updates or known_dates or [EPOCH])))
    out.append("  <author>\n")
    _line(out, "    ", "name", config.author or config.title)
    out.append("  </author>\n")
    _line(out, "  ", "link", rel="self", type="application/atom+xml", href=config.absolute(feed_url))
    _line(out, "  ", "link", rel="alternate", type="text/html", href=config.absolute(page_url))
    _line(out, "  ", "generator", "Paper Atlas")
    for paper, updated in zip(papers, updates):
        out.append("  <entry>\n")
        _line(out, "    ", "id", f"{config.feed_id}/paper/{paper.slug}")
        _line(out, "    ", "title", paper.title)
        _line(out, "    ", "updated", rfc3339(updated))
        if paper.first_seen:
            _line(out, "    ", "published", rfc3339(paper.first_seen))
        for name in paper.authors or ():
            out.append("    <author>\n")
            _line(out, "      ", "name", name)
            out.append("    </author>\n")
        _line(out, "    ", "link", rel="alternate", type="text/html",
              href=config.absolute(urls.url_for("paper", paper.slug)))
        if paper.id:
            _line(out, "    ", "link", rel="related", type="text/html", href=f"https://arxiv.org/abs/{paper.id}")
        for term, label in (topic_names or {}).get(paper.slug, {}).items():
            _line(out, "    ", "category", term=term, label=label)
        if paper.summary:
            _line(out, "    ", "summary", plain_text(paper.summary), type="text")
        out.append("  </entry>\n")
    out.append("</feed>\n")
    return "".join(out).encode("utf-8", "xmlcharrefreplace")


def newest_per_topic(site: Site, digest_dates: Mapping[str, dt.date | None],
                     limit: int) -> tuple[list[Paper], dict[str, list[Paper]]]:
    """The site's newest `limit` papers, and each topic's (papers of its subtopics included).

    The same lists as newest_papers over each topic's members, from one pass over the whole
    site in that order, sorted only as far as the feeds reach (_newest_first): each paper's
    key is made at most once, not once per feed it could be in.
    """
    topics = {t.id: t for t in site.topics}
    newest: dict[str, list[Paper]] = {t.id: [] for t in site.topics}
    open_topics = len(newest)  # topics still short of `limit` papers
    ordered: list[Paper] = []
    for paper in _newest_first(site.papers, digest_dates):
        if (not open_topics and len(ordered) >= limit) or limit <= 0:
            break
        ordered.append(paper)
        seen: set[str] = set()
        for topic_id in site.paper_topics.get(paper.slug, ()):
            current: str | None = topic_id
            while current is not None and current in topics and current not in seen:
                seen.add(current)
                current = topics[current].parent
        for topic_id in seen:
            papers = newest[topic_id]
            if len(papers) < limit:
                papers.append(paper)
                if len(papers) == limit:
                    open_topics -= 1
    return ordered[:max(limit, 0)], newest


def _newest_first(papers: Iterable[Paper], digest_dates: Mapping[str, dt.date | None]) -> Iterator[Paper]:
    """The papers in newest_papers' order, made lazily: papers are grouped by the date they
    were last updated, and only the groups a caller reaches are sorted by the rest of the key."""
    by_update: dict[int, list[Paper]] = {}
    date_of = digest_dates.get
    for paper in papers:
        # entry_updated, inlined: it ran once per paper of the site (~0.1 CPU-s at 100k).
        updated = None
        for appearance in paper.digests:
            date = date_of(appearance.digest)
            if date is not None and (updated is None or date > updated):
                updated = date
        if updated is None:
            updated = paper.first_seen or paper.published_at or EPOCH
        group = by_update.get(updated.toordinal())
        if group is None:
            by_update[updated.toordinal()] = [paper]
        else:
            group.append(paper)
    for updated in sorted(by_update, reverse=True):
        yield from sorted(by_update[updated], key=sort_key_newest)


def produce_feeds(site: Site, config: SiteConfig, pages: list[Page]) -> dict[str, bytes]:
    """Output producer: the site feed and one feed per topic (dest -> bytes)."""
    digest_dates = {d.id: d.date for d in site.digests}
    topics = {t.id: t for t in site.topics}
    latest, newest = newest_per_topic(site, digest_dates, config.feed_entries)
    shown = {p.slug for p in latest}.union(*({p.slug for p in papers} for papers in newest.values()))
    names = {slug: {t: topics[t].name for t in site.paper_topics.get(slug, ()) if t in topics}
             for slug in shown}
    outputs: dict[str, bytes] = {}
    feed_url = urls.url_for("feed")
    outputs[urls.dest_for(feed_url)] = render_feed(
        config=config, feed_url=feed_url, page_url=urls.url_for("home"),
        feed_id=f"{config.feed_id}/feed", title=config.title,
        subtitle=f"Latest papers in {config.title}", papers=latest,
        digest_dates=digest_dates, topic_names=names)
    for topic in site.topics:
        url = urls.url_for("topic_feed", topic.id)
        outputs[urls.dest_for(url)] = render_feed(
            config=config, feed_url=url, page_url=urls.url_for("topic", topic.id),
            feed_id=f"{config.feed_id}/topic/{topic.id}", title=f"{config.title}: {topic.name}",
            subtitle=topic.description, papers=newest[topic.id],
            digest_dates=digest_dates, topic_names=names)
    return outputs
