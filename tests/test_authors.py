"""Author pages: conservative name identity, the author index and one page per author."""
from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from site_src import urls
from site_src.authors import author_key, author_slug, group_authors
from site_src.config import SiteConfig
from site_src.model import Paper
from site_src.plan import Site, plan_site
from tests.site_fixtures import build_site, make_project


def paper(slug, *authors, year=2025, n_authors=None):
    return Paper(slug=slug, title=f"Paper {slug.upper()}", authors=tuple(authors),
                 n_authors=n_authors or len(authors) or None,
                 published_at=dt.date(year, 1, 1), date_precision="day")


@pytest.mark.parametrize("a, b", [
    ("Jörg Müller", "Jorg Muller"),
    ("C.-P. Yuan", "C. P. Yuan"),
    ("Ashish  Vaswani", "ashish vaswani"),
    ("Jean-Luc Picard", "Jean Luc Picard"),
])
def test_spellings_that_differ_only_in_case_accents_or_punctuation_are_one_author(a, b):
    assert author_key(a) == author_key(b)


@pytest.mark.parametrize("a, b", [
    ("J. Smith", "John Smith"),
    ("John Smith", "Jane Smith"),
    ("John Smith", "John Smith, Jr."),
    ("Wei Zhang", "Zhang Wei"),
    ("李 Wei", "王 Wei"),
])
def test_initials_shared_surnames_and_reordered_names_stay_different_people(a, b):
    assert author_key(a) != author_key(b)
    assert author_slug(author_key(a)) != author_slug(author_key(b))


def test_slugs_are_url_safe_and_depend_only_on_the_name():
    for name in ("Jörg Müller", "李 Wei", "A. " + "Very " * 30 + "Long"):
        slug = author_slug(author_key(name))
        assert urls.segment(slug) == slug
        assert slug == author_slug(author_key(name))
    assert author_slug(author_key("Jörg Müller")) == "jorg-muller"


def test_authors_collect_their_papers_and_show_the_most_used_spelling():
    people = {a.key: a for a in group_authors([
        paper("a", "Jörg Müller", "John Smith"),
        paper("b", "Jorg Muller", "J. Smith"),
        paper("c", "Jörg Müller"),
    ])}
    muller = people["jorg muller"]
    assert (muller.name, muller.papers, muller.spellings) == ("Jörg Müller", ("a", "b", "c"),
                                                               ("Jorg Muller",))
    assert people["john smith"].papers == ("a",) and people["j smith"].papers == ("b",)


def test_an_author_spelled_several_ways_lists_each_paper_once_in_the_order_given():
    people = {a.key: a for a in group_authors([
        paper("z", "Jorg Muller"),
        paper("y", "Jörg Müller", "JORG MULLER"),
        paper("x", "Jorg  Muller"),
        paper("w", "Jörg Müller"),
    ])}
    muller = people["jorg muller"]
    assert muller.papers == ("z", "y", "x", "w")
    # 'Jorg Muller' (spacing collapsed) and 'Jörg Müller' are used twice each: the tie goes to
    # the accents; the other spellings follow by use, then by first use.
    assert (muller.name, muller.spellings) == ("Jörg Müller", ("Jorg Muller", "JORG MULLER"))


def test_the_index_is_ordered_by_surname():
    names = [a.name for a in group_authors([paper("a", "Zoe Adams", "Al Zimmer", "Bo Young, Jr.")])]
    assert names == ["Zoe Adams", "Bo Young, Jr.", "Al Zimmer"]


def test_papers_with_only_an_author_count_add_no_authors():
    assert group_authors([paper("a", n_authors=6)]) == ()


SITE = Site(papers=(
    paper("old", "Jörg Müller", "Ann Lee", year=2023),
    paper("new", "Jorg Muller", "Bob Stone", year=2025),
    paper("counted", n_authors=4, year=2024),
))


def pages_of(kind):
    return [p for p in plan_site(SITE, SiteConfig()) if p.kind == kind]


def test_the_plan_has_one_index_and_one_page_per_author_with_their_papers_newest_first():
    (index,) = pages_of("authors")
    assert index.url == "authors/" and index.view["count"] == 3 and index.view["unnamed"] == 1
    listed = [(a["name"], a["count"]) for g in index.view["groups"] for a in g["authors"]]
    assert listed == [("Ann Lee", 1), ("Jörg Müller", 2), ("Bob Stone", 1)]
    pages = {p.url: p.view for p in pages_of("author")}
    assert set(pages) == {"authors/ann-lee/", "authors/jorg-muller/", "authors/bob-stone/"}
    assert [c["slug"] for c in pages["authors/jorg-muller/"]["papers"]] == ["new", "old"]


def test_paper_views_link_each_named_author_to_their_page():
    views = {p.view["paper"]["slug"]: p.view["paper"] for p in pages_of("paper")}
    assert views["old"]["author_links"] == [
        {"name": "Jörg Müller", "url": "authors/jorg-muller/", "last": False},
        {"name": "Ann Lee", "url": "authors/ann-lee/", "last": True}]
    assert views["counted"]["author_links"] == []


class _Links(HTMLParser):
    """Collect (href, text) of links inside <main>."""

    def __init__(self):
        super().__init__()
        self.links: list[list[str]] = []
        self._main = 0
        self._in_link = False

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self._main += 1
        elif tag == "a" and self._main:
            self.links.append([dict(attrs).get("href", ""), ""])
            self._in_link = True

    def handle_endtag(self, tag):
        if tag == "main":
            self._main -= 1
        elif tag == "a":
            self._in_link = False

    def handle_data(self, data):
        if self._in_link:
            self.links[-1][1] += data


def main_links(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return [(href, text.strip()) for href, text in parser.links]


def test_the_built_site_links_papers_to_authors_and_authors_to_exactly_their_papers(tmp_path):
    evil = Paper(slug="evil", title="Evil", authors=('<script>alert("x")</script> Mallory',),
                 n_authors=1, published_at=dt.date(2025, 1, 2), date_precision="day")
    project = make_project(tmp_path / "project", [*SITE.papers, evil])
    out = build_site(project, tmp_path / "out")
    index = main_links(out / "authors" / "index.html")
    assert ("jorg-muller/index.html", "Jörg Müller") in index
    assert ("script-alert-x-script-mallory/index.html", '<script>alert("x")</script> Mallory') in index
    muller = main_links(out / "authors" / "jorg-muller" / "index.html")
    assert [text for href, text in muller if href.startswith("../../papers/")] == [
        "Paper NEW", "Paper OLD"]
    paper_links = main_links(out / "papers" / "old" / "index.html")
    assert ("../../authors/jorg-muller/index.html", "Jörg Müller") in paper_links
    assert "<script>alert" not in (out / "authors" / "index.html").read_text(encoding="utf-8")
