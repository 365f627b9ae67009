"""Feeds: the newest papers of the site and of each topic, in the order newest_papers defines."""
from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from site_src.feeds import newest_papers, newest_per_topic
from site_src.model import Appearance, Paper
from site_src.plan import Site, TopicInfo

TOPICS = (TopicInfo("a", "A"), TopicInfo("a1", "A one", parent="a"), TopicInfo("a2", "A two", parent="a"),
          TopicInfo("b", "B"), TopicInfo("rare", "Rare"))


def random_site(seed: int, n: int) -> tuple[Site, dict[str, dt.date | None]]:
    rng = random.Random(seed)
    digest_dates = {f"d{i}": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(30)) for i in range(12)}
    digest_dates["undated"] = None
    papers, paper_topics = [], {}
    for i in range(n):
        seen = rng.sample(sorted(digest_dates), rng.randrange(3))
        papers.append(Paper(
            slug=f"p{i:04d}", title=rng.choice(["Robust", "robust", "Noise", "A study"]) + f" {i % 7}",
            published_at=rng.choice([None, dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(400))]),
            first_seen=rng.choice([None, dt.date(2024, 2, 1)]), digests=tuple(Appearance(d) for d in seen)))
        paper_topics[f"p{i:04d}"] = tuple(rng.sample(["a", "a1", "a2", "b"], rng.randrange(3))) + \
            (("rare",) if i % 97 == 0 else ())
    return Site(papers=tuple(papers), topics=TOPICS, paper_topics=paper_topics), digest_dates


@pytest.mark.parametrize("seed, n, limit", [(1, 400, 10), (2, 400, 50), (3, 30, 50), (4, 200, 0), (5, 0, 5)])
def test_newest_per_topic_lists_what_newest_papers_lists_for_each_topic(seed, n, limit):
    site, digest_dates = random_site(seed, n)
    latest, newest = newest_per_topic(site, digest_dates, limit)
    assert latest == newest_papers(site.papers, digest_dates, max(limit, 0))
    subtree = {"a": {"a", "a1", "a2"}, "a1": {"a1"}, "a2": {"a2"}, "b": {"b"}, "rare": {"rare"}}
    for topic in TOPICS:
        members = [p for p in site.papers if subtree[topic.id] & set(site.paper_topics[p.slug])]
        assert newest[topic.id] == newest_papers(members, digest_dates, max(limit, 0)), topic.id


def _feed_with_element_tree(*, config, feed_url, page_url, feed_id, title, subtitle, papers, digest_dates,
                            topic_names=None) -> bytes:
    """The feed as ElementTree wrote it before render_feed wrote the text itself."""
    import xml.etree.ElementTree as ET

    from site_src import urls
    from site_src.feeds import ATOM, EPOCH, entry_updated, rfc3339
    from site_src.markup import plain_text

    def add(parent, tag, text=None, **attrib):
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrib)
        if text is not None:
            element.text = text
        return element

    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    add(feed, "id", feed_id)
    add(feed, "title", title)
    if subtitle:
        add(feed, "subtitle", subtitle)
    updates = [entry_updated(p, digest_dates) for p in papers]
    known = [d for d in digest_dates.values() if d is not None]
    add(feed, "updated", rfc3339(max(updates or known or [EPOCH])))
    add(add(feed, "author"), "name", config.author or config.title)
    add(feed, "link", rel="self", type="application/atom+xml", href=config.absolute(feed_url))
    add(feed, "link", rel="alternate", type="text/html", href=config.absolute(page_url))
    add(feed, "generator", "Paper Atlas")
    for paper, updated in zip(papers, updates):
        entry = add(feed, "entry")
        add(entry, "id", f"{config.feed_id}/paper/{paper.slug}")
        add(entry, "title", paper.title)
        add(entry, "updated", rfc3339(updated))
        if paper.first_seen:
            add(entry, "published", rfc3339(paper.first_seen))
        for name in paper.authors or ():
            add(add(entry, "author"), "name", name)
        add(entry, "link", rel="alternate", type="text/html", href=config.absolute(urls.url_for("paper", paper.slug)))
        if paper.id:
            add(entry, "link", rel="related", type="text/html", href=f"https://arxiv.org/abs/{paper.id}")
        for term, label in (topic_names or {}).get(paper.slug, {}).items():
            add(entry, "category", term=term, label=label)
        if paper.summary:
            add(entry, "summary", plain_text(paper.summary), type="text")
    ET.indent(feed, space="  ")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


ODD = ["", "plain", "a & b < c > d", 'quote " and \' apostrophe', "tab\there\r\nline", "é ß 東京 💡",
       "\ud800 lone surrogate", "<script>alert(1)</script>", "&amp; already"]


@pytest.mark.parametrize("seed", range(6))
def test_a_feed_has_the_bytes_element_tree_wrote(seed):
    from types import SimpleNamespace

    from site_src.feeds import render_feed

    rng = random.Random(seed)
    site, digest_dates = random_site(seed, 40)
    papers = [dataclasses.replace(p, title=rng.choice(ODD), authors=tuple(rng.sample(ODD, rng.randrange(3))),
                                  summary=rng.choice(ODD), id=rng.choice([None, "2407.13168", "x&y"]))
              for p in site.papers[:rng.randrange(0, 12)]]
    config = SimpleNamespace(author=rng.choice(["", "Curator & co"]), title=rng.choice(ODD[1:]),
                             feed_id="tag:example.org,2026:atlas", absolute=lambda url: f"https://a.example/{url}")
    names = {p.slug: {"t1": rng.choice(ODD), 'q"2': "Label\tnoise"} for p in papers[::2]}
    kwargs = dict(config=config, feed_url="feed.xml", page_url="", feed_id="tag:x/feed", title=rng.choice(ODD),
                  subtitle=rng.choice(ODD), papers=papers, digest_dates=digest_dates, topic_names=names)
    assert render_feed(**kwargs) == _feed_with_element_tree(**kwargs)
