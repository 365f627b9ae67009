"""plan_site: every page of the site with a plain view, computed from values only."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from site_src.config import SiteConfig
from site_src.model import Appearance, DigestRecord, Paper
from site_src.plan import (PAGE_KINDS, PageKind, PlanError, Site, TopicInfo, authors_line,
                           display_date, index_site, plan_site)

CONFIG = SiteConfig(title="Test Atlas", base_url="https://example.org/atlas/", per_page=50,
                    feed_id="tag:example.org,2025:test")


def paper(n: int, *, year: int = 2024, digest: str = "d1", position: int = 0, **fields) -> Paper:
    return Paper(slug=f"p{n:03d}", title=f"Paper {n:03d}", summary=f"Abstract {n}.",
                 published_at=dt.date(year, 1, 1) + dt.timedelta(days=n), date_precision="day",
                 first_seen=dt.date(2025, 12, 12), n_authors=3,
                 digests=(Appearance(digest=digest, position=position),), **fields)


TOPICS = (
    TopicInfo("robustness", "Robustness", "Models that hold up.", None, ("adversarial",)),
    TopicInfo("adversarial", "Adversarial training", "Min-max training.", "robustness"),
    TopicInfo("efficiency", "Efficiency", "Cheaper training."),
)


def make_site(n_papers: int = 5, **overrides) -> Site:
    papers = tuple(paper(i, position=i) for i in range(n_papers))
    digest = DigestRecord(id="d1", date=dt.date(2025, 12, 12), format="hf-text", source_name="d1.txt",
                          raw_file="d1.txt", sha256="0" * 64, papers=tuple(p.slug for p in papers),
                          new_papers=tuple(p.slug for p in papers[1:]))
    fields = dict(papers=papers, digests=(digest,), topics=TOPICS,
                  paper_topics={"p000": ("adversarial",), "p001": ("robustness",),
                                "p002": ("efficiency", "adversarial")},
                  about="About **this**.")
    fields.update(overrides)
    return Site(**fields)


def pages_by_url(site: Site, config: SiteConfig = CONFIG):
    return {page.url: page for page in plan_site(site, config)}


def test_every_paper_gets_exactly_one_page():
    pages = plan_site(make_site(5), CONFIG)
    assert sorted(p.url for p in pages if p.kind == "paper") == [f"papers/p{i:03d}/" for i in range(5)]


def test_every_view_survives_a_json_round_trip():
    for page in plan_site(make_site(5), CONFIG):
        assert json.loads(json.dumps(page.view)) == page.view, page.url


def test_destinations_are_index_files_under_the_url():
    pages = pages_by_url(make_site(1))
    assert pages[""].dest == "index.html"
    assert pages["papers/p000/"].dest == "papers/p000/index.html"
    assert pages["404.html"].dest == "404.html" and not pages["404.html"].in_sitemap


def test_a_topic_lists_its_own_and_its_subtopics_papers_newest_first():
    pages = pages_by_url(make_site(5))
    listed = [card["slug"] for card in pages["topics/robustness/"].view["papers"]]
    assert listed == ["p002", "p001", "p000"]
    assert [c["slug"] for c in pages["topics/adversarial/"].view["papers"]] == ["p002", "p000"]
    assert [c["slug"] for c in pages["topics/efficiency/"].view["papers"]] == ["p002"]


def test_a_paper_in_a_topic_and_its_subtopic_is_listed_once_in_each():
    site = make_site(5, paper_topics={"p000": ("adversarial", "robustness"), "p001": ("robustness",),
                                      "p003": ("robustness", "adversarial", "efficiency")})
    pages = pages_by_url(site)
    assert [c["slug"] for c in pages["topics/robustness/"].view["papers"]] == ["p003", "p001", "p000"]
    assert [c["slug"] for c in pages["topics/adversarial/"].view["papers"]] == ["p003", "p000"]


def test_long_topics_have_a_front_page_and_archive_pages_numbered_from_the_oldest():
    site = make_site(120, paper_topics={f"p{i:03d}": ("efficiency",) for i in range(120)})
    pages = pages_by_url(site)
    front, oldest = pages["topics/efficiency/"], pages["topics/efficiency/page/1/"]
    # 120 = 2 full chunks of 50 + 20: the newest chunk and the 20 newer papers are on the front.
    assert [c["slug"] for c in front.view["papers"]] == [f"p{i:03d}" for i in range(119, 49, -1)]
    assert [c["slug"] for c in oldest.view["papers"]] == [f"p{i:03d}" for i in range(49, -1, -1)]
    assert not [url for url in pages if url.startswith("topics/efficiency/page/") and url != oldest.url]
    assert front.view["pagination"]["older"] == oldest.url
    assert [link["url"] for link in front.view["pagination"]["links"]] == [oldest.url]
    archive = oldest.view["archive"]
    assert archive["label"] == "Jan 1 – Feb 19, 2024" and archive["positions"] == "1–50"
    assert oldest.view["pagination"] == {"front": False, "page": 1, "front_url": "topics/efficiency/",
                                         "newer": "topics/efficiency/", "newer_is_front": True,
                                         "older": None}
    # Nothing on an archive page that grows with the list: no count, no sub-topics.
    assert "count" not in oldest.view["topic"] and "subtopics" not in oldest.view
    assert oldest.view["title"] == "Efficiency: Jan 1 – Feb 19, 2024"
    assert [c["label"] for c in oldest.view["breadcrumbs"]] == ["Home", "Topics", "Efficiency",
                                                                 "Jan 1 – Feb 19, 2024"]


def test_a_short_list_is_one_front_page_without_a_pager():
    site = make_site(99, paper_topics={f"p{i:03d}": ("efficiency",) for i in range(99)})
    pages = pages_by_url(site)
    assert len(pages["topics/efficiency/"].view["papers"]) == 99
    assert pages["topics/efficiency/"].view["pagination"]["links"] == []
    assert not any(url.startswith("topics/efficiency/page/") for url in pages)


def test_archive_pages_link_one_step_each_way_and_the_front_links_a_few_by_date():
    site = make_site(600, paper_topics={f"p{i:03d}": ("efficiency",) for i in range(600)})
    pages = pages_by_url(site, replace(CONFIG, per_page=10))
    base = "topics/efficiency/"
    archive = sorted(int(url.split("/")[-2]) for url in pages if url.startswith(base + "page/"))
    assert archive == list(range(1, 60))
    middle = pages[base + "page/30/"].view["pagination"]
    assert (middle["newer"], middle["older"]) == (base + "page/31/", base + "page/29/")
    assert pages[base + "page/59/"].view["pagination"]["newer"] == base
    front = pages[base].view["pagination"]
    assert [link and link["n"] for link in front["links"]] == [59, 58, 57, None, 1]
    assert front["links"][0]["label"] == pages[base + "page/59/"].view["archive"]["label"]


def test_a_numbered_list_links_its_ends_and_a_few_pages_around_the_current_one():
    from site_src.plan import _pagination
    pager = _pagination("digests/d1/", 10, 20)
    assert [link and link["n"] for link in pager["links"]] == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert pager["links"][0]["url"] == "digests/d1/" and pager["links"][-1]["url"] == "digests/d1/page/20/"
    assert (pager["prev"], pager["next"]) == ("digests/d1/page/9/", "digests/d1/page/11/")
    assert [link and link["n"] for link in _pagination("authors/", 2, 4)["links"]] == [1, 2, 3, 4]


@pytest.mark.parametrize("oldest, newest, expected", [
    (dt.date(2021, 3, 3), dt.date(2021, 3, 3), "Mar 3, 2021"),
    (dt.date(2021, 3, 3), dt.date(2021, 3, 12), "Mar 3–12, 2021"),
    (dt.date(2021, 3, 3), dt.date(2021, 6, 12), "Mar 3 – Jun 12, 2021"),
    (dt.date(2020, 12, 28), dt.date(2021, 1, 4), "Dec 28, 2020 – Jan 4, 2021"),
])
def test_archive_pages_are_named_by_the_dates_they_span(oldest, newest, expected):
    from site_src.plan import date_span
    first = Paper(slug="a", title="A", published_at=oldest, date_precision="day")
    last = Paper(slug="b", title="B", published_at=newest, date_precision="day")
    assert date_span(last, first) == expected


def test_a_span_keeps_each_end_to_its_precision_and_undated_ends_give_none():
    from site_src.plan import date_span
    month = Paper(slug="a", title="A", published_at=dt.date(2020, 5, 1), date_precision="month")
    day = Paper(slug="b", title="B", published_at=dt.date(2021, 1, 4), date_precision="day")
    assert date_span(day, month) == "May 2020 – Jan 4, 2021"
    assert date_span(day, Paper(slug="c", title="C")) == ""


def test_an_archive_of_undated_papers_is_named_by_its_positions():
    papers = tuple(Paper(slug=f"u{i:02d}", title=f"Undated {i:02d}", first_seen=dt.date(2025, 1, 1) +
                         dt.timedelta(days=i)) for i in range(12))
    pages = pages_by_url(make_site(paper_topics={}, papers=papers, digests=()), replace(CONFIG, per_page=5))
    archive = pages["years/undated/page/1/"].view["archive"]
    assert archive["label"] == "Papers 1–5" and archive["dates"] == ""
    oldest = [c["slug"] for c in pages["years/undated/page/1/"].view["papers"]]
    assert oldest == [f"u{i:02d}" for i in range(4, -1, -1)]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 300), st.integers(1, 20), st.integers(1, 45))
def test_newer_items_change_the_front_and_at_most_the_newest_archive_pages(n, per_page, added):
    from site_src.plan import split_from_oldest
    items = list(range(n, 0, -1))  # newest first
    front, archives = split_from_oldest(items, per_page)
    # Every item exactly once, in order: the front, then the archive from its newest page.
    assert front + [i for chunk in reversed(archives) for i in chunk] == items
    assert all(len(chunk) == per_page for chunk in archives)
    assert len(front) == n if n < 2 * per_page else per_page <= len(front) < 2 * per_page
    before = archives
    for extra in range(n + 1, n + added + 1):
        items.insert(0, extra)
        front, archives = split_from_oldest(items, per_page)
        # Archive pages keep their items; one new page at most per new item, at the newest end.
        assert archives[:len(before)] == before and len(archives) - len(before) in (0, 1)
        before = archives


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 40))
def test_a_new_paper_re_makes_the_front_page_and_at_most_two_archive_pages(n):
    config = replace(CONFIG, per_page=5)

    def lists(count: int) -> dict[str, dict]:
        papers = tuple(paper(i, position=i, authors=("Ann Lee",)) for i in range(count))
        site = make_site(papers=papers, paper_topics={p.slug: ("efficiency",) for p in papers})
        return {page.url: page.view for page in plan_site(site, config)
                if page.url.startswith(("topics/efficiency/", "years/2024/", "authors/ann-lee/"))}

    before, after = lists(n), lists(n + 1)  # paper n is the newest
    for base in ("topics/efficiency/", "years/2024/", "authors/ann-lee/"):
        old = {url: view for url, view in before.items() if url.startswith(base + "page/")}
        new = {url: view for url, view in after.items() if url.startswith(base + "page/")}
        added = new.keys() - old.keys()
        changed = {url for url in old if new.get(url) != old[url]}
        assert old.keys() <= new.keys() and len(added) <= 1 and len(changed) <= 1, (base, added, changed)
        if added:  # a chunk filled up: the page before the new one now links it as newer
            n_new = int(added.pop().split("/")[-2])
            assert n_new == len(new) and changed <= {f"{base}page/{n_new - 1}/"}
        else:
            assert not changed, (base, changed)
        assert after[base] != before.get(base), base


def test_year_pages_split_papers_by_publication_year_and_keep_undated_ones():
    papers = (paper(1, year=2023), paper(2, year=2024), Paper(slug="nodate", title="No date"))
    pages = pages_by_url(make_site(paper_topics={}, papers=papers))
    assert [c["slug"] for c in pages["years/2023/"].view["papers"]] == ["p001"]
    assert [c["slug"] for c in pages["years/undated/"].view["papers"]] == ["nodate"]
    assert [y["year"] for y in pages["years/"].view["years"]] == ["2024", "2023", "Undated"]


def test_a_digest_page_keeps_digest_order_and_marks_new_papers():
    view = pages_by_url(make_site(3))["digests/d1/"].view
    assert [(e["slug"], e["new"]) for e in view["papers"]] == [("p000", False), ("p001", True), ("p002", True)]


def test_paper_pages_link_to_their_neighbours_in_the_digest():
    pages = pages_by_url(make_site(3))
    middle = pages["papers/p001/"].view["neighbours"]
    assert middle["prev"]["url"] == "papers/p000/" and middle["next"]["url"] == "papers/p002/"
    assert pages["papers/p000/"].view["neighbours"]["prev"] is None


def test_two_pages_claiming_one_url_fail_naming_both_sources():
    topics = (TopicInfo("Label Noise", "Label noise"), TopicInfo("label-noise", "Label noise again"))
    with pytest.raises(PlanError) as caught:
        plan_site(make_site(1, topics=topics, paper_topics={}), CONFIG)
    assert "topic Label Noise" in str(caught.value) and "topic label-noise" in str(caught.value)


def test_a_paper_in_an_unknown_topic_fails_the_plan():
    with pytest.raises(PlanError, match="unknown topic"):
        plan_site(make_site(1, paper_topics={"p000": ("nope",)}), CONFIG)


def test_a_new_page_kind_is_one_row():
    def plan_reading_room(ix):
        yield "reading-room/", {"kind": "reading-room", "url": "reading-room/", "papers": []}, "room"

    kinds = PAGE_KINDS + (PageKind("reading-room", "room.html", plan_reading_room, in_sitemap=False),)
    pages = {p.url: p for p in plan_site(make_site(1), CONFIG, kinds)}
    assert pages["reading-room/"].view["noindex"] and not pages["reading-room/"].in_sitemap


def test_no_about_page_without_about_md_and_no_nav_link_to_it():
    pages = pages_by_url(make_site(1, about=None))
    assert "about/" not in pages
    assert "about/" not in [item["url"] for item in pages[""].view["common"]["nav"]]


def test_the_footer_date_comes_from_the_latest_digest_not_the_clock():
    assert pages_by_url(make_site(1))[""].view["updated"]["label"] == "Dec 12, 2025"


def test_a_page_is_dated_by_the_digests_of_the_papers_it_shows():
    site = make_site(3)
    later = DigestRecord(id="d2", date=dt.date(2026, 1, 5), format="hf-text", source_name="d2.txt",
                         raw_file="d2.txt", sha256="1" * 64, papers=("p001",), new_papers=())
    p001 = next(p for p in site.papers if p.slug == "p001")
    seen_again = replace(p001, digests=p001.digests + (Appearance(digest="d2", position=0),))
    site = replace(site, digests=site.digests + (later,),
                   papers=tuple(seen_again if p.slug == "p001" else p for p in site.papers))
    pages = pages_by_url(site)
    assert pages["papers/p001/"].view["updated"]["label"] == "Jan 5, 2026"
    assert pages["papers/p000/"].view["updated"]["label"] == "Dec 12, 2025"
    assert pages[""].view["updated"]["label"] == "Jan 5, 2026"
    assert pages["topics/robustness/"].view["updated"]["label"] == "Jan 5, 2026"
    assert pages["topics/efficiency/"].view["updated"]["label"] == "Dec 12, 2025"


def test_shared_chrome_holds_no_corpus_wide_value():
    a, b = pages_by_url(make_site(2)), pages_by_url(make_site(3))
    assert a["papers/p000/"].view["common"] == b["papers/p000/"].view["common"]


@pytest.mark.parametrize("precision, expected", [
    ("day", "Sep 23, 2025"), ("year-inferred", "Sep 23, 2025 (year inferred)"),
    ("month", "Sep 2025"), ("year", "2025"), (None, "Sep 23, 2025"),
])
def test_dates_are_shown_with_honest_precision(precision, expected):
    assert display_date(dt.date(2025, 9, 23), precision) == expected


def test_authors_are_names_else_a_count_else_the_organization():
    assert authors_line(Paper(slug="a", title="t", authors=("A", "B", "C", "D", "E"))) == "A, B, C and 2 more"
    assert authors_line(Paper(slug="a", title="t", n_authors=1)) == "1 author"
    assert authors_line(Paper(slug="a", title="t", organization="Google")) == "Google"


def test_scholar_tags_only_when_the_site_opts_in():
    site = make_site(1)
    off = pages_by_url(site)["papers/p000/"].view["citation"]
    on = pages_by_url(site, SiteConfig(**{**_fields(CONFIG), "citation_meta": True}))["papers/p000/"]
    assert off == [] and ["citation_title", "Paper 000"] in on.view["citation"]


def _fields(config: SiteConfig) -> dict:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


def test_json_ld_describes_a_scholarly_article_with_an_absolute_url():
    view = pages_by_url(make_site(1, papers=(paper(0, id="2407.13168", authors=("Ann Lee",)),)))[
        "papers/p000/"].view
    assert view["jsonld"]["@type"] == "ScholarlyArticle"
    assert view["jsonld"]["url"] == "https://example.org/atlas/papers/p000/"
    assert view["jsonld"]["author"] == [{"@type": "Person", "name": "Ann Lee"}]


def test_the_authors_link_appears_only_when_papers_name_their_authors():
    unnamed = pages_by_url(make_site(1))[""].view["common"]["nav"]
    named = pages_by_url(make_site(1, papers=(paper(0, authors=("Ann Lee",)),)))[""].view["common"]["nav"]
    assert "authors/" not in [i["url"] for i in unnamed]
    assert "authors/" in [i["url"] for i in named]


def test_a_large_digest_is_paginated_in_digest_order():
    site = make_site(120, paper_topics={})
    pages = pages_by_url(site)
    listed = [c["slug"] for url in ("digests/d1/", "digests/d1/page/2/", "digests/d1/page/3/")
              for c in pages[url].view["papers"]]
    assert listed == [f"p{i:03d}" for i in range(120)]
    assert pages["digests/d1/page/3/"].view["papers"][0]["position"] == 101


# --- paper pages keyed by their inputs --------------------------------------------------------

def _shipped_site() -> Site:
    from pathlib import Path

    from site_src import pipeline
    from site_src.config import load_config

    site, _ = pipeline.load_site(load_config(Path(__file__).resolve().parent.parent))
    return site


def _site_changes(site: Site) -> list[tuple[str, Site]]:
    """Edits anywhere in a site, each of which may or may not reach a given paper's page."""
    papers = list(site.papers)
    first, second = papers[0], papers[1]
    topic = site.topics[0]
    record = site.digests[0]
    renamed = tuple(replace(t, name=t.name + " (renamed)") if t.id == topic.id else t for t in site.topics)
    related_of = next(slug for slug, rows in site.related.items() if rows)
    namesake = replace(first, slug="zz-namesake", title="Another paper", id=None,
                       authors=first.authors or ("Ann Example",), digests=())
    return [
        ("another paper's title", replace(site, papers=(replace(first, title=first.title + " v2"), *papers[1:]))),
        ("a paper's abstract", replace(site, papers=(first, replace(second, summary="Changed abstract."),
                                                     *papers[2:]))),
        ("a topic's name", replace(site, topics=renamed)),
        ("a digest's title and date", replace(site, digests=(replace(record, title="Renamed digest",
                                                                     date=dt.date(2025, 12, 13)),
                                                             *site.digests[1:]))),
        ("a deleted paper", replace(site, papers=tuple(papers[1:]))),
        ("an author's namesake", replace(site, papers=(*papers, namesake))),
        ("related papers", replace(site, related={**site.related, related_of: site.related[related_of][1:]})),
        ("topic reasons", replace(site, topic_reasons={**site.topic_reasons, first.slug: ()})),
        ("a paper's topics", replace(site, paper_topics={**site.paper_topics, second.slug: (topic.id,)})),
        ("no about page", replace(site, about=None)),
        ("a digest's new papers", replace(site, digests=(replace(record, new_papers=record.new_papers[1:]),
                                                         *site.digests[1:]))),
    ]


def test_paper_pages_with_equal_inputs_have_equal_views_whatever_else_changed():
    from site_src.config import load_config
    from site_src.plan import _paper_view, index_site, paper_page_inputs

    from pathlib import Path

    config = load_config(Path(__file__).resolve().parent.parent)
    site = _shipped_site()
    base = index_site(site, config)
    for name, changed_site in _site_changes(site):
        changed = index_site(changed_site, config)
        moved = 0
        for slug in set(base.papers) & set(changed.papers):
            before, after = base.papers[slug], changed.papers[slug]
            same_inputs = paper_page_inputs(base, before) == paper_page_inputs(changed, after)
            same_view = _paper_view(base, before) == _paper_view(changed, after)
            assert same_view or not same_inputs, f"{name}: {slug}'s view changed but its inputs did not"
            moved += not same_inputs
        assert moved, f"{name} changed no paper page's inputs: the change is not a test"


# --- list pages keyed by their inputs ---------------------------------------------------------

def _card_keys(site: Site) -> dict[str, str]:
    from site_src.buildcache import paper_hashes

    return {paper.slug: paper_hashes(paper)[1] for paper in site.papers}


def _keyed_pages(site: Site, config) -> dict[str, object]:
    from site_src.plan import iter_pages

    return {page.url: page for page in iter_pages(site, config, card_keys=_card_keys(site))}


def test_keyed_list_pages_have_the_views_of_a_plain_plan():
    from site_src.config import load_config

    from pathlib import Path

    config = load_config(Path(__file__).resolve().parent.parent)
    site = _shipped_site()
    plain = {page.url: page for page in plan_site(site, config)}
    keyed = _keyed_pages(site, config)
    assert list(keyed) == list(plain)
    for url, page in plain.items():
        assert keyed[url].view == page.view, url
        assert json.dumps(keyed[url].view) == json.dumps(page.view), url  # same key order too
    listed = [page for page in keyed.values() if page.kind in ("topic", "year", "digest", "home")]
    assert listed and all(page.inputs for page in listed)
    assert all("\x00card" not in json.dumps(page.view) for page in keyed.values())


SHOWN_ON_PAPER_PAGES_ONLY = {"related papers", "topic reasons"}


def test_list_pages_with_equal_inputs_have_equal_views_whatever_else_changed():
    from site_src.config import load_config

    from pathlib import Path

    config = load_config(Path(__file__).resolve().parent.parent)
    site = _shipped_site()
    base = {url: page for url, page in _keyed_pages(site, config).items() if page.kind != "paper"}
    # A paper's notes show on no list page: a notes edit must leave every list page's inputs.
    first = site.papers[0]
    noted = replace(site, papers=(replace(first, notes=first.notes + " More notes."), *site.papers[1:]))
    changes = _site_changes(site) + [
        ("a paper's comment count", replace(site, papers=(replace(first, comments=(first.comments or 0) + 7),
                                                          *site.papers[1:]))),
        ("a new digest", replace(site, digests=(*site.digests, replace(
            site.digests[0], id="2099-01-01", date=dt.date(2099, 1, 1), new_papers=())))),
    ]
    for name, changed_site in changes:
        changed = _keyed_pages(changed_site, config)
        moved = 0
        for url in set(base) & set(changed):
            same_inputs = base[url].inputs == changed[url].inputs
            assert base[url].view == changed[url].view or not same_inputs, \
                f"{name}: {url}'s view changed but its inputs did not"
            moved += not same_inputs
        if name in SHOWN_ON_PAPER_PAGES_ONLY:
            assert not moved, f"{name} shows on no list page, yet it changed {moved} list pages' inputs"
        else:
            assert moved, f"{name} changed no list page's inputs: the change is not a test"
    unmoved = _keyed_pages(noted, config)
    assert all(unmoved[url].inputs == page.inputs for url, page in base.items())


# --- paper pages' inputs through the memo of the last build ------------------------------------

def _extras(site: Site) -> tuple[str, tuple]:
    """(key, value) of a site's topic reasons and related papers, as a build cache names them."""
    from site_src.plan import _hash

    return _hash((sorted(site.topic_reasons.items()), sorted(site.related.items()))), \
        (site.topic_reasons, site.related)


def _indexed(site: Site, config):
    from site_src.buildcache import paper_hashes
    from site_src.plan import index_site

    ix = index_site(site, config)
    ix.paper_keys = {paper.slug: paper_hashes(paper)[0] for paper in site.papers}
    return ix


def test_paper_inputs_made_through_a_memo_equal_fresh_ones_whatever_changed():
    from site_src.config import load_config
    from site_src.plan import paper_page_inputs, papers_page_inputs

    from pathlib import Path

    config = load_config(Path(__file__).resolve().parent.parent)
    site = _shipped_site()
    key, _ = _extras(site)
    _, memo = papers_page_inputs(_indexed(site, config), extras_key=key)
    for name, changed_site in [("nothing", site), *_site_changes(site)]:
        ix = _indexed(changed_site, config)
        fresh = {slug: paper_page_inputs(ix, ix.papers[slug]) for slug in ix.shown}
        new_key, _ = _extras(changed_site)
        got, _ = papers_page_inputs(ix, memo, extras_key=new_key, previous_extras=_extras(site))
        assert got == fresh, f"{name}: {sorted(s for s in fresh if got.get(s) != fresh[s])[:3]}"


def test_the_memo_is_used_for_unchanged_papers_only_and_not_at_all_when_it_cannot_be_vouched_for():
    from site_src.config import load_config
    from site_src.plan import paper_page_inputs, papers_page_inputs

    from pathlib import Path

    config = load_config(Path(__file__).resolve().parent.parent)
    site = _shipped_site()
    key, _ = _extras(site)
    _, memo = papers_page_inputs(_indexed(site, config), extras_key=key)
    first, second = site.papers[0].slug, site.papers[1].slug
    def plant(entry: str) -> str:  # an entry's inputs come last, after its last NUL
        return entry[:entry.rindex("\x00") + 1] + "planted"

    planted = {**memo, "papers": {**memo["papers"], first: plant(memo["papers"][first]),
                                  second: plant(memo["papers"][second])}}
    got, _ = papers_page_inputs(_indexed(site, config), planted, extras_key=key)
    assert got[first] == got[second] == "planted"  # nothing changed: the memo's value is taken
    retitled = replace(site, papers=(replace(site.papers[0], title="Retitled"), *site.papers[1:]))
    ix = _indexed(retitled, config)
    got, _ = papers_page_inputs(ix, planted, extras_key=key)
    assert got[first] == paper_page_inputs(ix, ix.papers[first])  # its key changed: made again
    for stale in ({**planted, "context": "another context"}, {**planted, "extras": "other related papers"},
                  {**planted, "papers": "garbage"}, {**planted, "version": 1}, None, {}):
        got, _ = papers_page_inputs(_indexed(site, config), stale, extras_key=key)
        assert got[first] != "planted" and got[second] != "planted"


def test_a_retitled_paper_remakes_the_inputs_of_the_papers_that_list_it_as_related():
    from site_src.config import load_config
    from site_src.plan import paper_page_inputs, papers_page_inputs

    from pathlib import Path

    config = load_config(Path(__file__).resolve().parent.parent)
    site = replace(_shipped_site(), digests=())  # no digest neighbours: only related lists link papers
    lister = next(slug for slug, rows in site.related.items() if rows)
    listed = site.related[lister][0][0]
    key, _ = _extras(site)
    _, memo = papers_page_inputs(_indexed(site, config), extras_key=key)
    retitled = replace(site, papers=tuple(replace(p, title="Retitled") if p.slug == listed else p
                                          for p in site.papers))
    ix = _indexed(retitled, config)
    got, _ = papers_page_inputs(ix, memo, extras_key=key)  # (related lists themselves unchanged)
    assert got[lister] == paper_page_inputs(ix, ix.papers[lister]) != memo["papers"][lister][0]


# --- list pages' inputs through the memo of the last build ------------------------------------

def _small_pages_config():
    """The shipped site's config with pages of 5 papers, so its lists have archive pages."""
    from pathlib import Path

    from site_src.config import load_config

    return replace(load_config(Path(__file__).resolve().parent.parent), per_page=5)


def _lists_site() -> Site:
    """The shipped site with named authors (a few papers each), so author lists have archive pages too."""
    site = _shipped_site()
    names = ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    return replace(site, papers=tuple(p if p.authors else replace(p, authors=(names[i % 3], names[(i + 1) % 3]))
                                      for i, p in enumerate(site.papers)))


def _lists_through(site: Site, config, memo=None, unchanged=None) -> tuple[dict[str, object], dict]:
    from site_src.plan import iter_pages

    made: dict = {}
    pages = {page.url: page for page in iter_pages(site, config, card_keys=_card_keys(site), unchanged=unchanged,
                                                   lists_memo=memo, lists_made=made)}
    return pages, made


def _list_changes(site: Site) -> list[tuple[str, Site]]:
    """_site_changes, and edits that move lists: a new paper at the newest end, a comment count."""
    first = site.papers[0]
    newest = max((p for p in site.papers if site.paper_topics.get(p.slug)), key=lambda p: p.published_at or dt.date.min)
    arrival = replace(newest, slug="zz-arrival", title="A new arrival", id=None,
                      published_at=(newest.published_at or dt.date(2025, 1, 1)) + dt.timedelta(days=1))
    arrivals = [replace(arrival, slug=f"zz-arrival-{n}", title=f"Arrival {n}") for n in range(5)]
    members = index_site(site, _small_pages_config()).topic_members
    biggest = max(members, key=lambda t: len(members[t]))  # (it has archive pages: one more now)
    return _site_changes(site) + [
        ("a paper's comment count", replace(site, papers=(replace(first, comments=(first.comments or 0) + 7),
                                                          *site.papers[1:]))),
        ("a new paper", replace(site, papers=(*site.papers, arrival),
                                paper_topics={**site.paper_topics, arrival.slug: site.paper_topics.get(newest.slug, ())})),
        ("a new digest", replace(site, digests=(*site.digests, replace(
            site.digests[0], id="2099-01-01", date=dt.date(2099, 1, 1), new_papers=())))),
        ("a page's worth of new papers (an archive page more)", replace(
            site, papers=(*site.papers, *arrivals),
            paper_topics={**site.paper_topics, **{p.slug: (biggest,) for p in arrivals}})),
    ]


def test_list_pages_planned_through_a_memo_equal_a_fresh_plan_whatever_changed():
    config = _small_pages_config()
    site = _lists_site()
    before, memo = _lists_through(site, config)
    assert any("/page/" in url for url in before), "no archive pages: the test would miss them"
    assert {"topic", "year", "author", "digest"} <= {before[url].kind for url in memo["pages"]}
    for name, changed_site in [("nothing", site), *_list_changes(site)]:
        fresh = _keyed_pages(changed_site, config)
        got, made = _lists_through(changed_site, config, memo)
        assert list(got) == list(fresh), name
        for url, page in fresh.items():
            assert got[url].inputs == page.inputs, f"{name}: {url}"
            assert got[url].view == page.view, f"{name}: {url}"
        # The same with every page already built: views are not made, inputs still right.
        lazy, _ = _lists_through(changed_site, config, memo, unchanged=lambda dest, template, inputs: True)
        assert {url: page.inputs for url, page in lazy.items()} == {url: page.inputs for url, page in fresh.items()}
        assert not any(lazy[url].view for url in made["pages"]), name


def test_only_lists_a_change_reaches_are_planned_again():
    config = _small_pages_config()
    site = _lists_site()
    _, memo = _lists_through(site, config)
    newest = max((p for p in site.papers if site.paper_topics.get(p.slug)), key=lambda p: p.published_at or dt.date.min)
    arrival = replace(newest, slug="zz-arrival", title="A new arrival", id=None, authors=("Ann Newcomer",),
                      published_at=newest.published_at + dt.timedelta(days=1))
    grown = replace(site, papers=(*site.papers, arrival),
                    paper_topics={**site.paper_topics, arrival.slug: site.paper_topics.get(newest.slug, ())})
    pages, made = _lists_through(grown, config, memo)
    remade = {url for url, entry in made["pages"].items() if memo["pages"].get(url) is not entry}
    year, topics = str(arrival.published_at.year), site.paper_topics.get(newest.slug, ())
    assert f"years/{year}/" in remade
    assert "authors/ann-newcomer/" in remade
    assert all(f"topics/{t}/" in remade for t in topics)
    untouched = {url for url in made["pages"]
                 if not any(url.startswith(f"topics/{t}/") for t in topics)
                 and not url.startswith((f"years/{year}/", "authors/ann-newcomer/"))
                 and not any(url.startswith(f"topics/{t}/") for t in
                             {a.id for t in topics for a in _ancestors(site, t)})}
    assert untouched and not (untouched & remade), sorted(untouched & remade)[:5]


def _ancestors(site: Site, topic_id: str) -> list[TopicInfo]:
    by_id = {t.id: t for t in site.topics}
    chain = []
    while topic_id in by_id and by_id[topic_id] not in chain:
        chain.append(by_id[topic_id])
        topic_id = by_id[topic_id].parent
    return chain


def test_a_lists_memo_it_cannot_vouch_for_is_not_used():
    config = _small_pages_config()
    site = _lists_site()
    _, memo = _lists_through(site, config)
    planted = {**memo, "pages": {url: (key, "planted") for url, (key, _) in memo["pages"].items()}}
    got, _ = _lists_through(site, config, planted)
    assert {got[url].inputs for url in planted["pages"]} == {"planted"}  # nothing changed: taken as it is
    import os
    from pathlib import Path

    relative = replace(config, root=Path(os.path.relpath(config.root)))  # the same project
    got, _ = _lists_through(site, relative, planted)
    assert {got[url].inputs for url in planted["pages"]} == {"planted"}
    renamed = tuple(replace(t, name=t.name + " (renamed)") for t in site.topics)
    others = [
        ("other config", site, replace(config, title="Another atlas")),
        ("other topic table", replace(site, topics=renamed), config),
    ]
    for name, other_site, other_config in others:
        got, _ = _lists_through(other_site, other_config, planted)
        assert not any(got[url].inputs == "planted" for url in planted["pages"] if url in got), name
    for stale in ({**planted, "context": "another context"}, {**planted, "pages": "garbage"}, "garbage", {}):
        got, _ = _lists_through(site, config, stale)
        assert not any(got[url].inputs == "planted" for url in planted["pages"]), stale if stale != planted else ""


def test_kept_paper_pages_come_as_their_slugs_in_their_places_and_the_rest_as_planned():
    from site_src.plan import PlannedPages, iter_pages, paper_dests

    site = make_site(6)
    plain = plan_site(site, CONFIG)
    ix = index_site(site, CONFIG)
    dests = paper_dests(ix)
    assert dests == {page.url.split("/")[1]: page.dest for page in plain if page.kind == "paper"}
    kept = {slug: dests[slug] for slug in ("p001", "p004")}
    items = list(iter_pages(site, CONFIG, kept=kept))
    assert [item if type(item) is str else item.url for item in items] == \
        [page.url.split("/")[1] if page.dest in kept.values() else page.url for page in plain]
    assert [item.view for item in items if type(item) is not str] == \
        [page.view for page in plain if page.dest not in kept.values()]
    # Producers read the kept pages back as pages without views, in plan order.
    read = list(PlannedPages(items, kept, "paper.html"))
    assert len(PlannedPages(items, kept, "paper.html")) == len(plain)
    assert [(p.kind, p.url, p.dest, p.template, p.source, p.in_sitemap) for p in read] == \
        [(p.kind, p.url, p.dest, p.template, p.source, p.in_sitemap) for p in plain]
    assert all(p.view == {} for p in read if p.dest in kept.values())


def test_a_kept_paper_page_still_claims_its_destination():
    from site_src.plan import iter_pages

    site = make_site(3)
    kept = {"p001": "topics/index.html"}  # (a stand-in path: the topic index claims it too)
    with pytest.raises(PlanError) as caught:
        list(iter_pages(site, CONFIG, kept=kept))
    assert "topics/index.html" in str(caught.value) and "content/papers/p001.md" in str(caught.value)
    kept = {"p001": "Topics/index.html"}  # (a name that differs in case alone collides too)
    with pytest.raises(PlanError) as caught:
        list(iter_pages(site, CONFIG, kept=kept))
    assert "content/papers/p001.md" in str(caught.value) and "topics" in str(caught.value)


def test_kept_paper_pages_make_the_paths_of_the_pages_kept_and_know_them_again():
    from site_src.plan import KeptPaperPages, kept_paper_pages, paper_dests

    site = make_site(6)
    ix = index_site(site, CONFIG)
    dests = paper_dests(ix)
    kept = kept_paper_pages(ix, lambda slug, dest: slug in ("p001", "p004") and dests[slug] == dest, chunk=2)
    assert dict(kept) == {"p001": dests["p001"], "p004": dests["p004"]}
    assert list(kept) == [slug for slug in ix.shown if slug in ("p001", "p004")]  # plan order
    assert {dest for dest in dests.values() if kept.holds(dest)} == {dests["p001"], dests["p004"]}
    assert not kept.holds("papers/p001/other.html") and not kept.holds("papers//index.html")
    with pytest.raises(KeyError):
        kept["p002"]
    # A slug the paths spell another way keeps its own path; its plain spelling is no kept page.
    odd = KeptPaperPages(["A b", "p001"], {"A b": "papers/a-b/index.html"})
    assert odd["A b"] == "papers/a-b/index.html" and odd["p001"] == "papers/p001/index.html"
    assert odd.holds("papers/a-b/index.html") and not odd.holds("papers/A b/index.html")
