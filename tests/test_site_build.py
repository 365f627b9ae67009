"""The whole site, built from the shipped content once per session, parsed and checked.

One page per paper; every internal link and #anchor resolves; topic, year and
digest pages list exactly the right papers; feeds carry RFC 4287's required
elements; the sitemap lists every page; a second build is byte-identical; a
failed build leaves the previous site in place.
"""
from __future__ import annotations

import datetime as dt
import html.parser
import posixpath
import re
import shutil
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from site_fixtures import (ROOT, TEST_SITE, BuildFailed, build_site, make_digest, make_project,
                           world_readable_dir)

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class PageParser(html.parser.HTMLParser):
    """Links, ids, listed papers and a few head elements of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.listed: list[str] = []
        self.metas: list[dict[str, str]] = []
        self.alternates: list[str] = []
        self.scripts: list[dict[str, str]] = []
        self.mains = 0
        self.h1s = 0

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src", "action"):
            if key in a and tag in ("a", "link", "script", "form", "img", "iframe"):
                self.links.append(a[key])
        if tag == "li" and "data-slug" in a and "card" in a.get("class", "").split():
            self.listed.append(a["data-slug"])
        if tag == "meta":
            self.metas.append(a)
        if tag == "link" and a.get("rel") == "alternate":
            self.alternates.append(a.get("href", ""))
        if tag == "script":
            self.scripts.append(a)
        self.mains += tag == "main"
        self.h1s += tag == "h1"


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


@pytest.fixture(scope="session")
def pages(built_site) -> dict[str, PageParser]:
    """Every HTML file of the built site, parsed, by relative path."""
    return {p.relative_to(built_site).as_posix(): parse_page(p) for p in sorted(built_site.rglob("*.html"))}


@pytest.fixture(scope="session")
def model():
    """What the shipped content says, computed without the site code's page planner."""
    from site_src import store, taxonomy

    corpus = store.load_store(ROOT / "content")
    tax = taxonomy.load_taxonomy(ROOT / "content" / "taxonomy.yaml")
    assigned = taxonomy.assign_topics(corpus.papers, tax)
    return corpus, tax, {slug: set(a.topics) for slug, a in assigned.items()}


def newest_first(papers) -> list[str]:
    def key(p):
        date = p.published_at or p.first_seen or dt.date.min
        return (-date.toordinal(), p.title.casefold(), p.slug)
    return [p.slug for p in sorted(papers, key=key)]


def list_pages(pages: dict, first: str) -> list[str]:
    """The pages of a list in reading order: a newest-first list's front page and its archive
    pages from the newest (page N) to the oldest (page 1); a numbered list's pages 1, 2, 3…"""
    base = first.removesuffix("index.html")
    if f"{base}page/1/index.html" in pages:
        archive = 1
        while f"{base}page/{archive + 1}/index.html" in pages:
            archive += 1
        return [first] + [f"{base}page/{n}/index.html" for n in range(archive, 0, -1)]
    found, n = [first], 2
    while f"{base}page/{n}/index.html" in pages:
        found.append(f"{base}page/{n}/index.html")
        n += 1
    return found


def listed_across_pages(pages: dict[str, PageParser], first: str) -> list[str]:
    """Slugs listed on a paginated list, across its pages in reading order."""
    return [slug for page in list_pages(pages, first) for slug in pages[page].listed]


# --- one page per paper, every link resolves ------------------------------------------

def test_every_paper_has_exactly_one_page(built_site, model):
    corpus, _, _ = model
    on_disk = sorted(p.parent.name for p in (built_site / "papers").glob("*/index.html"))
    assert on_disk == sorted(p.slug for p in corpus.papers)
    assert len(on_disk) >= 40


def test_every_internal_link_and_anchor_resolves(built_site, pages):
    broken: list[str] = []
    for source, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # external links are not requested by the site
            target = source if not parts.path else posixpath.normpath(
                posixpath.join(posixpath.dirname(source), unquote(parts.path)))
            if source == "404.html" and parts.path.startswith("/"):
                target = parts.path.removeprefix("/paper-atlas/")  # rooted links, base_url's path
            if target.startswith("../") or not (built_site / target).is_file():
                broken.append(f"{source}: {link} (no file {target})")
                continue
            if parts.fragment and target.endswith(".html") and parts.fragment not in pages[target].ids:
                broken.append(f"{source}: {link} (no #{parts.fragment} in {target})")
    assert not broken, "\n".join(broken[:30])


def test_every_page_has_one_main_one_h1_a_skip_link_and_a_csp(pages):
    for path, parsed in pages.items():
        assert parsed.mains == 1 and parsed.h1s == 1, path
        assert "#main" in parsed.links and "main" in parsed.ids, path
        csp = [m["content"] for m in parsed.metas if m.get("http-equiv") == "Content-Security-Policy"]
        assert csp and "default-src 'none'" in csp[0], path


def test_no_page_loads_anything_from_another_origin(pages):
    for path, parsed in pages.items():
        for script in parsed.scripts:
            assert not urlsplit(script.get("src", "")).scheme, (path, script)
        csp = next(m["content"] for m in parsed.metas if m.get("http-equiv") == "Content-Security-Policy")
        assert "http" not in csp and "*" not in csp, path


# --- lists show exactly the right papers ---------------------------------------------

def test_each_topic_page_lists_its_papers_and_its_subtopics_papers_newest_first(pages, model):
    corpus, tax, assigned = model
    by_slug = {p.slug: p for p in corpus.papers}
    for topic in tax.topics:
        ids = {topic.id, *(t.id for t in tax.descendants(topic.id))}
        expected = newest_first(by_slug[s] for s, t in assigned.items() if t & ids)
        assert listed_across_pages(pages, f"topics/{topic.id}/index.html") == expected, topic.id


def test_each_year_page_lists_the_papers_published_that_year(pages, model):
    corpus, _, _ = model
    years = defaultdict(list)
    for paper in corpus.papers:
        years[str(paper.published_at.year) if paper.published_at else "undated"].append(paper)
    for year, papers in years.items():
        assert listed_across_pages(pages, f"years/{year}/index.html") == newest_first(papers), year
    assert {p.split("/")[1] for p in pages if re.fullmatch(r"years/[^/]+/index.html", p)} == set(years)


def test_each_digest_page_lists_its_papers_in_digest_order(pages, model):
    corpus, _, _ = model
    assert corpus.digests
    for record in corpus.digests:
        assert listed_across_pages(pages, f"digests/{record.id}/index.html") == list(record.papers)


def test_the_home_page_shows_the_latest_digests_first_new_papers_and_links_the_rest(pages, model):
    from site_src.plan import HOME_NEW_PAPERS

    corpus, _, _ = model
    latest = max(corpus.digests, key=lambda d: (d.date, d.id))
    assert pages["index.html"].listed == list(latest.new_papers[:HOME_NEW_PAPERS])
    assert f"digests/{latest.id}/index.html" in pages["index.html"].links


# --- feeds and sitemap ------------------------------------------------------------------

def check_atom(path: Path, base_url: str) -> ET.Element:
    feed = ET.parse(path).getroot()
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, (path, name)
    assert RFC3339.match(feed.findtext(f"{ATOM}updated"))
    self_links = [l for l in feed.findall(f"{ATOM}link") if l.get("rel") == "self"]
    assert len(self_links) == 1 and self_links[0].get("href").startswith(base_url)
    feed_has_author = feed.find(f"{ATOM}author/{ATOM}name") is not None
    ids = []
    for entry in feed.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, (path, name)
        assert RFC3339.match(entry.findtext(f"{ATOM}updated"))
        assert feed_has_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
        alternates = [l for l in entry.findall(f"{ATOM}link") if l.get("rel", "alternate") == "alternate"]
        assert entry.find(f"{ATOM}content") is not None or alternates
        ids.append(entry.findtext(f"{ATOM}id"))
    assert len(ids) == len(set(ids)), path
    return feed


def test_the_site_feed_carries_the_required_atom_elements(built_site):
    feed = check_atom(built_site / "feed.xml", "https://example.org/paper-atlas/")
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        assert entry.findtext(f"{ATOM}id").startswith("tag:")
        link = next(l for l in entry.findall(f"{ATOM}link") if l.get("rel") == "alternate")
        slug = link.get("href").rstrip("/").rsplit("/", 1)[1]
        assert (built_site / "papers" / slug / "index.html").is_file()


def test_every_topic_has_a_valid_feed_linked_from_its_page(built_site, pages, model):
    _, tax, _ = model
    for topic in tax.topics:
        check_atom(built_site / "topics" / topic.id / "feed.xml", "https://example.org/paper-atlas/")
        assert "feed.xml" in pages[f"topics/{topic.id}/index.html"].alternates


def test_feed_entry_ids_do_not_depend_on_titles():
    from site_src.config import SiteConfig
    from site_src.feeds import render_feed
    from site_src.model import Paper

    config = SiteConfig(base_url="https://a.example/", feed_id="tag:a.example,2025:x")
    ids = []
    for title in ("First title", "Corrected title"):
        data = render_feed(config=config, feed_url="feed.xml", page_url="", feed_id="tag:x",
                           title="t", subtitle="", papers=[Paper(slug="p", title=title)], digest_dates={})
        ids.append(ET.fromstring(data).find(f"{ATOM}entry/{ATOM}id").text)
    assert ids[0] == ids[1] == "tag:a.example,2025:x/paper/p"


def test_the_sitemap_lists_every_page_once_with_absolute_urls(built_site, pages):
    root = ET.parse(built_site / "sitemap.xml").getroot()
    locs = [loc.text for loc in root.iter(f"{SITEMAP}loc")]
    assert len(locs) == len(set(locs))
    base = "https://example.org/paper-atlas/"
    noindex = {path for path, parsed in pages.items()
               if {"name": "robots", "content": "noindex"} in parsed.metas}
    assert "404.html" in noindex
    expected = {base + path.removesuffix("index.html") for path in pages if path not in noindex}
    assert set(locs) == expected
    robots = (built_site / "robots.txt").read_text()
    assert f"Sitemap: {base}sitemap.xml" in robots


# --- reproducible, atomic, sub-path -------------------------------------------------------

def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_second_build_is_byte_identical_and_changes_no_file(built_site, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(built_site, copy, copy_function=shutil.copy2)
    before = {p: p.stat().st_mtime_ns for p in copy.rglob("*") if p.is_file()}
    build_site(ROOT, copy)
    assert tree_bytes(copy) == tree_bytes(built_site)
    after = {p: p.stat().st_mtime_ns for p in copy.rglob("*") if p.is_file()}
    assert before == after


def test_a_site_built_for_a_sub_path_uses_it_for_absolute_urls_only(tmp_path):
    out = build_site(ROOT, tmp_path / "site", base_url="https://user.github.io/survey/")
    home = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="https://user.github.io/survey/"' in home  # canonical
    assert 'href="topics/index.html"' in home               # navigation stays relative
    not_found = parse_page(out / "404.html")
    assert "/survey/topics/index.html" in not_found.links
    assert "https://user.github.io/survey/sitemap.xml" in (out / "robots.txt").read_text()


def _tiny_project(folder: Path) -> Path:
    from site_src.model import Appearance, Paper

    day = dt.date(2025, 12, 12)
    paper = Paper(slug="only", title="Only paper", summary="Text.", published_at=day,
                  date_precision="day", first_seen=day, digests=(Appearance("d1"),))
    return make_project(folder, [paper], digests=[make_digest("d1", day, ["only"])], taxonomy="topics: []\n")


def test_a_broken_template_fails_the_build_and_keeps_the_previous_site(tmp_path):
    project = _tiny_project(tmp_path / "project")
    out = build_site(project, tmp_path / "site")
    before = tree_bytes(out)
    template = project / "templates" / "paper.html"
    template.write_text(template.read_text().replace("{{ p.title }}", "{{ p.no_such_field }}", 1))
    with pytest.raises(BuildFailed) as failure:
        build_site(project, out)
    message = str(failure.value)
    assert "exited 1" in message and "paper.html" in message and "no_such_field" in message
    assert tree_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "site"]


def test_the_build_refuses_an_output_folder_that_is_not_a_site(tmp_path):
    project = _tiny_project(tmp_path / "project")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.csv").write_text("keep me")
    with pytest.raises(BuildFailed, match="refusing"):
        build_site(project, precious)
    assert (precious / "data.csv").read_text() == "keep me"


def test_an_invalid_site_yaml_names_every_problem(tmp_path):
    project = _tiny_project(tmp_path / "project")
    (project / "content" / "site.yaml").write_text("title: ''\nbase_url: ftp://x\nper_page: 0\ncolour: red\n")
    with pytest.raises(BuildFailed) as failure:
        build_site(project, tmp_path / "site")
    message = str(failure.value)
    for word in ("'title'", "base_url", "per_page", "colour"):
        assert word in message
    assert not (tmp_path / "site").exists()


def test_a_project_without_digests_or_topics_still_builds(tmp_path):
    with world_readable_dir("atlas-empty-") as folder:
        project = make_project(folder / "project", [], taxonomy="topics: []\n")
        out = build_site(project, folder / "site")
        assert parse_page(out / "index.html").listed == []
        check_atom(out / "feed.xml", "https://example.org/atlas/")


def test_a_theme_folder_overrides_templates_and_static_files(tmp_path):
    project = _tiny_project(tmp_path / "project")
    site_yaml = project / "content" / "site.yaml"
    site_yaml.write_text(site_yaml.read_text() + "theme_dir: theme\n")
    (project / "theme" / "static").mkdir(parents=True)
    (project / "theme" / "static" / "site.css").write_text("body { color: teal; }\n")
    (project / "theme" / "years.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1 id="themed">Themed years</h1>{% endblock %}\n')
    out = build_site(project, tmp_path / "site")
    assert (out / "static" / "site.css").read_text() == "body { color: teal; }\n"
    assert (out / "static" / "site.js").is_file()  # files the theme does not override still ship
    assert "themed" in parse_page(out / "years" / "index.html").ids
    assert "themed" not in parse_page(out / "topics" / "index.html").ids


def test_a_sitemap_over_the_url_limit_becomes_an_index_of_parts():
    from site_src.config import SiteConfig
    from site_src.sitemap import render_sitemaps

    config = SiteConfig(base_url="https://a.example/s/")
    outputs = render_sitemaps([f"https://a.example/s/p{i}/" for i in range(5)], config, max_urls=2)
    assert sorted(outputs) == ["sitemap-1.xml", "sitemap-2.xml", "sitemap-3.xml", "sitemap.xml"]
    index = ET.fromstring(outputs["sitemap.xml"])
    assert index.tag == f"{SITEMAP}sitemapindex"
    assert [loc.text for loc in index.iter(f"{SITEMAP}loc")] == [
        f"https://a.example/s/sitemap-{n}.xml" for n in (1, 2, 3)]
    parts = [[loc.text for loc in ET.fromstring(outputs[f"sitemap-{n}.xml"]).iter(f"{SITEMAP}loc")]
             for n in (1, 2, 3)]
    assert sum(parts, []) == [f"https://a.example/s/p{i}/" for i in range(5)]


def test_a_base_url_that_is_not_http_is_a_usage_error(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(ROOT), "build",
                             "--out", str(tmp_path / "site"), "--base-url", "ftp://example.org/"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "base_url" in result.stderr
    assert not (tmp_path / "site").exists()


def test_every_view_of_the_shipped_site_is_plain_json():
    import json

    from site_src.config import load_config
    from site_src.pipeline import load_site
    from site_src.plan import plan_site

    config = load_config(ROOT)
    site, _ = load_site(config)
    for page in plan_site(site, config):
        assert json.loads(json.dumps(page.view, allow_nan=False)) == page.view, page.url


# --- long lists: a front page and archive pages that stay put ------------------------------

class _ListPage(PageParser):
    """A PageParser that also keeps the h1's text, the page's text and its rel=prev/next links."""

    def __init__(self):
        super().__init__()
        self.h1 = ""
        self.text: list[str] = []
        self.rel: dict[str, str] = {}
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        a = dict(attrs)
        self._in_h1 = self._in_h1 or tag == "h1"
        if tag == "a" and a.get("rel") in ("prev", "next"):
            self.rel[a["rel"]] = a["href"]

    def handle_endtag(self, tag):
        self._in_h1 = self._in_h1 and tag != "h1"

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h1:
            self.h1 += data


def _long_list_project(folder: Path, n: int) -> Path:
    """n papers on pruning by one author, one a day from 2024-01-01; five per list page."""
    from site_src.model import Appearance, Paper

    papers = [Paper(slug=f"p{i:02d}", title=f"Pruning study {i:02d}", summary="Pruning.",
                    published_at=dt.date(2024, 1, 1) + dt.timedelta(days=i), date_precision="day",
                    first_seen=dt.date(2024, 6, 1), authors=("Ann Lee",), digests=(Appearance("d1", i),))
                for i in range(n)]
    taxonomy = {"topics": [{"id": "pruning", "name": "Pruning", "description": "Smaller nets.",
                            "match": ["pruning"]}]}
    return make_project(folder, papers, digests=[make_digest("d1", dt.date(2024, 6, 1), [p.slug for p in papers])],
                        site={**TEST_SITE, "per_page": 5}, taxonomy=taxonomy)


def _parse_list(path: Path) -> _ListPage:
    parser = _ListPage()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_long_lists_have_a_front_page_and_archive_pages_named_by_their_dates(tmp_path):
    out = build_site(_long_list_project(tmp_path / "project", 23), tmp_path / "site")
    for base in ("topics/pruning/", "years/2024/", "authors/ann-lee/"):
        pages = {p.relative_to(out).as_posix(): _parse_list(p) for p in sorted((out / base).rglob("index.html"))}
        order = list_pages(pages, f"{base}index.html")
        # 23 = 4 chunks of 5 counted from the oldest + 3: the front shows the newest 5 + 3.
        assert order == [f"{base}index.html"] + [f"{base}page/{n}/index.html" for n in (3, 2, 1)], base
        listed = [slug for page in order for slug in pages[page].listed]
        assert listed == [f"p{i:02d}" for i in range(22, -1, -1)], base
        assert [len(pages[page].listed) for page in order] == [8, 5, 5, 5], base
        front, newest, middle, oldest = (pages[page] for page in order)
        assert "23 papers" in "".join(front.text)
        assert [link for link in front.links if "page/" in link] == [
            "page/3/index.html", "page/2/index.html", "page/1/index.html", "page/3/index.html"]
        # Archive pages: named by their dates, one step each way, never a count of the list.
        assert " ".join(oldest.h1.split()).endswith("Jan 1–5, 2024"), oldest.h1
        assert " ".join(middle.h1.split()).endswith("Jan 6–10, 2024"), middle.h1
        assert middle.rel == {"prev": "../3/index.html", "next": "../1/index.html"}
        assert newest.rel == {"prev": "../../index.html", "next": "../2/index.html"}
        assert oldest.rel == {"prev": "../2/index.html"}
        for archive in (newest, middle, oldest):
            text = " ".join("".join(archive.text).split())
            assert "23" not in text.replace("2023", "") and "of 4" not in text, base
    sitemap = (out / "sitemap.xml").read_text()
    assert "https://example.org/atlas/topics/pruning/page/1/" in sitemap
    assert "https://example.org/atlas/topics/pruning/page/3/" in sitemap


def test_a_newer_paper_leaves_the_older_archive_pages_untouched(tmp_path):
    project = _long_list_project(tmp_path / "project", 24)
    out = build_site(project, tmp_path / "site")
    before = tree_bytes(out)
    bigger = _long_list_project(tmp_path / "bigger", 25)  # one more chunk: a new archive page 4
    shutil.rmtree(project / "content")
    shutil.copytree(bigger / "content", project / "content")
    build_site(project, out)
    after = tree_bytes(out)
    for base in ("topics/pruning/", "years/2024/", "authors/ann-lee/"):
        assert after[f"{base}index.html"] != before[f"{base}index.html"]
        assert f"{base}page/4/index.html" not in before and f"{base}page/4/index.html" in after
        assert after[f"{base}page/3/index.html"] != before[f"{base}page/3/index.html"]  # its newer link
        for n in (1, 2):
            assert after[f"{base}page/{n}/index.html"] == before[f"{base}page/{n}/index.html"], (base, n)
