"""Hostile text in titles, abstracts, notes, authors and links renders as text: checked on parsed HTML.

(The same kind of corpus is loaded in Chromium by tests/test_site_browser.py.)
"""
from __future__ import annotations

import datetime as dt
import html.parser
import json
from pathlib import Path

import pytest

from site_fixtures import build_site, make_digest, make_project, world_readable_dir

DAY = dt.date(2025, 12, 12)
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg/onload=alert(3)>",
    "\"><b onmouseover=alert(4)>x</b>",
    "</script><script>alert(5)</script>",
    "'-alert(6)-'",
    "<a href=\"javascript:alert(7)\">a</a>",
    "{{ 7*7 }} {% raw %}",
]
TITLE = "Robust " + " ".join(PAYLOADS)
SUMMARY = "\n\n".join([
    *PAYLOADS,
    "[md](javascript:alert(8)) [md2](JAVASCRIPT:alert(9)) [d](data:text/html,<script>alert(10)</script>)",
    "Broken $\\frac{1}{$ and $\\href{javascript:alert(11)}{x}$ and $\\text{<script>alert(12)</script>}$ end.",
    "Raw ![img](https://tracker.example/p.png) and <style>body{display:none}</style>.",
    "TAIL-MARKER stays visible.",
])
NOTES = "## Notes from <script>alert(13)</script>\n\n" + "\n\n".join(PAYLOADS)


class Scan(html.parser.HTMLParser):
    """Everything that could execute or load: scripts, handlers, URLs; plus text and JSON-LD."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str]] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.jsonld: list[str] = []
        self._in_jsonld = False
        self._in_title = False
        self.title = ""

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if tag == "script":
            self.scripts.append(a)
            self._in_jsonld = a.get("type") == "application/ld+json"
        if tag == "title":
            self._in_title = True
        self.handlers += [k for k in a if k.startswith("on")]
        self.urls += [a[k] for k in ("href", "src", "action", "formaction", "data") if k in a]

    def handle_endtag(self, tag):
        self._in_jsonld = self._in_jsonld and tag != "script"
        self._in_title = self._in_title and tag != "title"

    def handle_data(self, data):
        if self._in_jsonld:
            self.jsonld.append(data)
        elif self._in_title:
            self.title += data
        else:
            self.text.append(data)


def scan(path: Path) -> Scan:
    parser = Scan()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


@pytest.fixture(scope="module")
def hostile_site():
    from site_src.model import Appearance, Paper

    with world_readable_dir("atlas-xss-parse-") as folder:
        paper = Paper(
            slug="hostile", title=TITLE, summary=SUMMARY, notes=NOTES, id="2512.00001",
            authors=tuple(PAYLOADS[:3]), n_authors=3, organization=PAYLOADS[1],
            published_at=DAY, date_precision="day", first_seen=DAY,
            digests=(Appearance(digest="d1"),), github_repo="javascript:alert(14)",
            project_page="https://ok.example/\"><script>alert(15)</script>",
            ai_summary=PAYLOADS[0], journal_ref=PAYLOADS[4], arxiv_comment=PAYLOADS[3],
        )
        site = {"title": "Atlas " + PAYLOADS[4], "description": PAYLOADS[1], "author": PAYLOADS[3],
                "base_url": "https://example.org/atlas/"}
        make_project(folder / "project", [paper], digests=[make_digest("d1", DAY, ["hostile"])], site=site,
                     about="# About " + PAYLOADS[0])
        yield build_site(folder / "project", folder / "site")


def all_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_no_page_has_an_injected_element_handler_or_script(hostile_site):
    for path in all_pages(hostile_site):
        page = scan(path)
        assert not page.handlers, path
        assert not {"img", "iframe", "style", "b", "object", "embed"} & page.tags, path
        for script in page.scripts:
            allowed = script.get("type") == "application/ld+json" or script.get("src", "").endswith(".js")
            assert allowed, (path, script)
            assert "alert" not in script.get("src", "")


def test_no_url_in_any_page_uses_a_script_scheme(hostile_site):
    for path in all_pages(hostile_site):
        for url in scan(path).urls:
            squashed = "".join(url.split()).lower()
            assert not squashed.startswith(("javascript:", "vbscript:", "data:")), (path, url)


def test_the_hostile_title_is_shown_verbatim_as_text(hostile_site):
    page = scan(hostile_site / "papers" / "hostile" / "index.html")
    assert TITLE in "".join(page.text)
    assert page.title.startswith(TITLE)


def test_json_ld_stays_one_valid_document_holding_the_exact_title(hostile_site):
    page = scan(hostile_site / "papers" / "hostile" / "index.html")
    assert len(page.jsonld) == 1
    data = json.loads(page.jsonld[0])
    assert data["name"] == TITLE and data["@type"] == "ScholarlyArticle"
    assert "</script" not in page.jsonld[0].lower()


def test_text_after_broken_latex_still_renders_and_templates_are_not_evaluated(hostile_site):
    text = "".join(scan(hostile_site / "papers" / "hostile" / "index.html").text)
    assert "TAIL-MARKER stays visible." in text
    assert "{{ 7*7 }}" in text and "49" not in text.replace("2512.00001", "")


def test_hostile_text_in_lists_feeds_and_site_settings_stays_escaped(hostile_site):
    import xml.etree.ElementTree as ET

    feed = ET.parse(hostile_site / "feed.xml").getroot()
    titles = [e.text for e in feed.iter("{http://www.w3.org/2005/Atom}title")]
    assert TITLE in titles
    home = scan(hostile_site / "index.html")
    assert "Atlas " + PAYLOADS[4] in "".join(home.text)
