"""plan_site: every page of the site with a plain view, computed from values only."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from site_src.config import SiteConfig
from site_src.model import Appearance, DigestRecord, Paper
from site_src.plan import (PAGE_KINDS, PageKind, PlanError, Site, TopicInfo, authors_line,
                           display_date, plan_site)

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


def test_long_topics_are_paginated_at_stable_urls():
    site = make_site(120, paper_topics={f"p{i:03d}": ("efficiency",) for i in range(120)})
    pages = pages_by_url(site)
    first, second, third = (pages["topics/efficiency/"], pages["topics/efficiency/page/2/"],
                            pages["topics/efficiency/page/3/"])
    assert [len(p.view["papers"]) for p in (first, second, third)] == [50, 50, 20]
    assert first.view["papers"][0]["slug"] == "p119" and third.view["papers"][-1]["slug"] == "p000"
    assert first.view["pagination"]["next"] == "topics/efficiency/page/2/"
    assert third.view["pagination"]["prev"] == "topics/efficiency/page/2/"
    assert "topics/efficiency/page/4/" not in pages


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
    planted = {**memo, "papers": {**memo["papers"], first: ("planted", *memo["papers"][first][1:]),
                                  second: ("planted", *memo["papers"][second][1:])}}
    got, _ = papers_page_inputs(_indexed(site, config), planted, extras_key=key)
    assert got[first] == got[second] == "planted"  # nothing changed: the memo's value is taken
    retitled = replace(site, papers=(replace(site.papers[0], title="Retitled"), *site.papers[1:]))
    ix = _indexed(retitled, config)
    got, _ = papers_page_inputs(ix, planted, extras_key=key)
    assert got[first] == paper_page_inputs(ix, ix.papers[first])  # its key changed: made again
    for stale in ({**planted, "context": "another context"}, {**planted, "extras": "other related papers"},
                  {**planted, "papers": "garbage"}, None, {}):
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
