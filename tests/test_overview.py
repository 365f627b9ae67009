"""The survey overview: topics x years counts, trends, most-commented papers, accessible SVG."""
from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from types import SimpleNamespace

from site_src.model import Paper
from site_src.overview import (
    chart_svg, most_commented, overview_view, sparkline_svg, subtree_members, topic_year_table, trend,
)

SVG = "{http://www.w3.org/2000/svg}"


def topic(id_, name, parent=None):
    return SimpleNamespace(id=id_, name=name, parent=parent, description="")


TOPICS = [topic("robust", "Robustness"), topic("at", "Adversarial <training>", "robust"),
          topic("opt", "Optimizers")]


def paper(slug, year, comments=None):
    return Paper(slug=slug, title=f"Title {slug} & <b>", published_at=dt.date(year, 5, 1) if year else None,
                 comments=comments)


PAPERS = [paper("a", 2020, 3), paper("b", 2022, 9), paper("c", 2022), paper("d", 2023, 1),
          paper("e", None, 4)]
ASSIGNED = {"a": ("at",), "b": ("at", "opt"), "c": ("robust",), "d": ("opt",), "e": ("at",)}


def test_table_counts_topics_with_their_subtopics_per_year_without_gaps():
    table = topic_year_table(PAPERS, TOPICS, ASSIGNED)
    assert table.years == ("2020", "2021", "2022", "2023", "undated")
    rows = {r.id: r for r in table.rows}
    assert rows["robust"].counts == (1, 0, 2, 0, 1)  # a, b, c, e through its child
    assert rows["at"].counts == (1, 0, 1, 0, 1)
    assert rows["opt"].counts == (0, 0, 1, 1, 0)
    assert rows["at"].depth == 1 and rows["robust"].depth == 0
    assert table.totals == (1, 0, 2, 1, 1)


def test_trend_follows_the_slope_relative_to_the_mean():
    assert trend([0, 1, 2, 4]) == "rising"
    assert trend([5, 3, 1, 0]) == "falling"
    assert trend([3, 3, 3, 3]) == "steady"
    assert trend([0, 1, 0]) == "too few papers"


def test_most_commented_ranks_by_comments_then_slug_and_skips_papers_without():
    members = subtree_members(TOPICS, ASSIGNED)
    top = most_commented(PAPERS, members, n=2)
    assert top["robust"] == ["b", "e"]
    assert top["opt"] == ["b", "d"]


def test_chart_is_well_formed_svg_with_title_desc_and_escaped_names():
    table = topic_year_table(PAPERS, TOPICS, ASSIGNED)
    svg = chart_svg(table, topic_ids=["at", "opt"])
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "overview-chart-title overview-chart-desc"
    assert root.find(f"{SVG}title").text == "Papers per year by topic"
    desc = root.find(f"{SVG}desc").text
    assert "Adversarial <training>: 2020 1, 2022 1" in desc
    lines = root.findall(f"{SVG}polyline")
    assert [line.find(f"{SVG}title").text for line in lines] == ["Adversarial <training>", "Optimizers"]
    assert "<training>" not in svg  # escaped in the markup, readable once parsed


def test_chart_plots_one_point_per_dated_year():
    table = topic_year_table(PAPERS, TOPICS, ASSIGNED)
    line = ET.fromstring(chart_svg(table, topic_ids=["opt"])).find(f"{SVG}polyline")
    assert len(line.get("points").split()) == 4  # 2020..2023, 'undated' is not a point


def test_chart_without_dated_papers_says_so():
    table = topic_year_table([paper("x", None)], TOPICS, {"x": ("opt",)})
    root = ET.fromstring(chart_svg(table))
    assert root.find(f"{SVG}desc").text == "No dated papers to chart."


def test_sparkline_is_labelled_with_its_trend_and_counts():
    table = topic_year_table(PAPERS, TOPICS, ASSIGNED)
    row = next(r for r in table.rows if r.id == "opt")
    root = ET.fromstring(sparkline_svg(row, table.years))
    assert root.find(f"{SVG}title").text == "Optimizers: too few papers; 2022 1, 2023 1"


def test_overview_view_is_plain_data():
    import json

    view = overview_view(PAPERS, TOPICS, ASSIGNED)
    again = json.loads(json.dumps(view))
    assert again == view
    assert view["paper_count"] == 5 and view["unsorted_count"] == 0
    robust = view["rows"][0]
    assert robust["url"] == "topics/robust/"
    assert [p["slug"] for p in robust["most_commented"]] == ["b", "e", "a"]


def test_chart_draws_only_the_largest_top_level_topics():
    from site_src.overview import MAX_SERIES

    topics = [topic(f"t{i}", f"Topic {i}") for i in range(MAX_SERIES + 2)]
    papers = [paper(f"p{i}-{j}", 2020 + j % 3) for i in range(len(topics)) for j in range(i + 1)]
    assigned = {p.slug: (f"t{p.slug.split('-')[0][1:]}",) for p in papers}
    root = ET.fromstring(chart_svg(topic_year_table(papers, topics, assigned)))
    drawn = [line.find(f"{SVG}title").text for line in root.findall(f"{SVG}polyline")]
    assert drawn == [f"Topic {i}" for i in range(2, MAX_SERIES + 2)]
