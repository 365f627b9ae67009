"""The taxonomy in the built site: overview, Unsorted page, related papers, reasons, exports.

Builds once per session (the shared built_site fixture) and parses what it checks.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import bibtexparser

from conftest import ROOT
from site_fixtures import build_site, make_project
from site_src.model import Paper


class Outline(HTMLParser):
    """Collect elements by a few selectors: enough to check structure without regexes."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.links: list[tuple[str, str, tuple[str, ...]]] = []  # (href, text, enclosing classes)
        self.text_by_class: dict[str, list[str]] = {}
        self.cards: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._link: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "li" and "card" in (attrs.get("class") or "").split():
            self.cards.append(attrs.get("data-slug"))
        if tag == "a":
            self._link = [attrs.get("href"), ""]
        self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, attrs = self.stack.pop()
            if open_tag == "a" and self._link is not None:
                classes = tuple(c for _, a in self.stack for c in (a.get("class") or "").split())
                self.links.append((self._link[0], self._link[1].strip(), classes))
                self._link = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data
        for _, attrs in self.stack:
            for cls in (attrs.get("class") or "").split():
                self.text_by_class.setdefault(cls, []).append(data)


def parse(path) -> Outline:
    outline = Outline()
    outline.feed(path.read_text(encoding="utf-8"))
    return outline


def text_of(outline: Outline, cls: str) -> str:
    return " ".join("".join(outline.text_by_class.get(cls, [])).split())


def test_paper_page_lists_related_papers_with_the_terms_that_explain_them(built_site):
    page = parse(built_site / "papers" / "how-explainable-are-adversarially-robust-cnns" / "index.html")
    related = [(href, text) for href, text, classes in page.links if "related" in classes]
    assert related[0] == ("../the-shape-and-simplicity-biases-of-adversarially-robust-imagenet-trained-cnns/"
                          "index.html", "The shape and simplicity biases of adversarially robust "
                                        "ImageNet-trained CNNs")
    first = text_of(page, "related").split("related through: ")[1]
    assert "adversarially robust" in [term.strip() for term in first.split(",")]


def test_paper_page_tells_the_curator_why_it_has_its_topics(built_site):
    page = parse(built_site / "papers" / "learning-from-noisy-labels-via-self-taught-on-the-fly-meta-loss-rescaling"
                 / "index.html")
    assert ("details", {"class": "topic-reasons"}) in page.tags
    reasons = text_of(page, "reason-list")
    assert reasons.startswith("Learning with noisy labels: 'noisy label' in the title")
    reading = [attrs for tag, attrs in page.tags if "reading-state" in (attrs.get("class") or "")]
    assert reading and reading[0]["data-slug"] == "learning-from-noisy-labels-via-self-taught-on-the-fly-meta-loss-rescaling"


def test_overview_page_has_a_row_per_topic_and_a_chart_with_title_and_desc(built_site):
    html = (built_site / "overview" / "index.html").read_text(encoding="utf-8")
    page = parse(built_site / "overview" / "index.html")
    rows = [href for href, _, classes in page.links if "overview-table" in classes]
    from site_src.taxonomy import load_taxonomy
    taxonomy = load_taxonomy(ROOT / "content" / "taxonomy.yaml")
    assert rows == [f"../topics/{t.id}/index.html" for t in taxonomy.topics]
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" role="img"')
    svg = ET.fromstring(html[start:html.index("</svg>", start) + len("</svg>")])
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.find(f"{ns}title").text == "Papers per year by topic"
    assert "Adversarial robustness" in svg.find(f"{ns}desc").text
    exports = {href for href, text, _ in page.links if text.startswith(("BibTeX", "Markdown"))}
    assert exports == {"../exports/survey.bib", "../exports/survey.md"}


def test_topic_pages_link_their_exports_and_the_files_parse(built_site):
    page = parse(built_site / "topics" / "adversarial-robustness" / "index.html")
    links = {text: href for href, text, _ in page.links}
    assert links["BibTeX"] == "papers.bib" and links["Markdown outline"] == "outline.md"
    library = bibtexparser.parse_string(
        (built_site / "topics" / "adversarial-robustness" / "papers.bib").read_text(encoding="utf-8"))
    assert not library.failed_blocks
    listed = {e.key for e in library.entries}
    # The topic page lists the topic's whole subtree; the .bib has the same papers.
    assert listed == set(page.cards)
    outline = (built_site / "topics" / "adversarial-robustness" / "outline.md").read_text(encoding="utf-8")
    assert outline.splitlines()[2] == "## Adversarial robustness"
    survey = bibtexparser.parse_string((built_site / "exports" / "survey.bib").read_text(encoding="utf-8"))
    assert len(survey.entries) == len(list((ROOT / "content" / "papers").glob("*.md")))


def test_unsorted_page_lists_exactly_the_papers_without_a_topic(tmp_path):
    papers = [Paper(slug="sorted-one", title="Label noise in the wild", summary="Label noise.",
                    published_at=dt.date(2024, 1, 1)),
              Paper(slug="lost-one", title="Graph coarsening", summary="Nothing the taxonomy knows.",
                    published_at=dt.date(2023, 1, 1))]
    root = make_project(tmp_path / "project", papers)
    site = build_site(root, tmp_path / "site")
    page = parse(site / "unsorted" / "index.html")
    assert page.cards == ["lost-one"]
    overview = (site / "overview" / "index.html").read_text(encoding="utf-8")
    assert "1 unsorted paper" in overview


def test_broken_taxonomy_stops_the_build_before_anything_is_written(tmp_path):
    root = make_project(tmp_path / "project", [Paper(slug="a", title="A")],
                        taxonomy="topics:\n  - id: a\n    name: A\n    parent: nowhere\n")
    out = tmp_path / "site"
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(root), "build",
                             "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "taxonomy.yaml:2: unknown parent 'nowhere'" in result.stderr
    assert not out.exists()


def test_reasons_for_the_curator_cover_automatic_curated_and_excluded_topics():
    from site_src.survey_pages import topic_reasons
    from site_src.taxonomy import assign_topics, parse_taxonomy

    taxonomy = parse_taxonomy("topics:\n  - id: noise\n    name: Noise\n    match: [label noise]\n"
                              "  - id: sparse\n    name: Sparse\n    match: [sparse training]\n")
    papers = [Paper(slug="auto", title="Label noise"),
              Paper(slug="hand", title="Label noise", topics=("sparse",)),
              Paper(slug="cut", title="Label noise and sparse training", topics_exclude=("noise",))]
    reasons = topic_reasons(assign_topics(papers, taxonomy))
    assert reasons["auto"] == (("noise", ("'label noise' in the title",)),)
    assert reasons["hand"] == (("sparse", ("set by the curator in the paper's front matter",)),)
    assert reasons["cut"] == (("sparse", ("'sparse training' in the title",)),
                              ("noise", ("matched, but removed by topics_exclude",)))
