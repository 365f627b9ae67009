"""Feeds: the newest papers of the site and of each topic, in the order newest_papers defines."""
from __future__ import annotations

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
