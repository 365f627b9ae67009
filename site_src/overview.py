"""The survey overview: topics x years, a chart made at build time, trends, most-discussed papers.

Pure functions from papers and topic membership to plain view data and SVG
strings. Every piece of text that reaches the SVG is escaped; the SVG carries
a <title> and <desc> and the same numbers are in a table beside it, so the
chart is never the only way to read them.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from site_src.model import Paper

UNDATED = "undated"
MAX_SERIES = 6
"""Top-level topics drawn in the overview chart (the largest ones)."""
MOST_COMMENTED = 3
"""Papers listed per topic under 'most discussed'."""
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939")
"""Distinct colours for chart series (colour is never the only cue: see the table and legend)."""


@dataclass(frozen=True, slots=True)
class TopicRow:
    """One topic's line of the overview table."""

    id: str
    name: str
    depth: int
    counts: tuple[int, ...]
    """Papers per year, in the order of OverviewTable.years (the topic and its subtopics)."""
    total: int
    trend: str
    """'rising', 'falling', 'steady' or 'too few papers'."""


@dataclass(frozen=True, slots=True)
class OverviewTable:
    """Topics x years counts."""

    years: tuple[str, ...]
    """Years with at least one paper, oldest first; 'undated' last when present."""
    rows: tuple[TopicRow, ...]
    totals: tuple[int, ...]
    """All papers per year (a paper in two topics counts once here)."""


def paper_year(paper: Paper) -> str:
    """Return the year a paper is counted under ('undated' without a date)."""
    date = paper.published_at or paper.first_seen
    return str(date.year) if date else UNDATED


def subtree_members(topics: Sequence[Any], paper_topics: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Return topic id -> slugs of papers in the topic or any of its subtopics."""
    parent = {t.id: t.parent for t in topics}
    members: dict[str, set[str]] = {t.id: set() for t in topics}
    for slug, topic_ids in paper_topics.items():
        for topic_id in topic_ids:
            current, seen = topic_id, set()
            while current is not None and current in members and current not in seen:
                seen.add(current)
                members[current].add(slug)
                current = parent.get(current)
    return members


def trend(counts: Sequence[int]) -> str:
    """Classify a yearly count series by the sign of its least-squares slope."""
    points = [(i, c) for i, c in enumerate(counts)]
    if sum(counts) < 3 or len(points) < 2:
        return "too few papers"
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    # Relative to the mean, so one paper more in a big topic is not a trend.
    relative = slope / mean_y if mean_y else 0.0
    if relative > 0.15:
        return "rising"
    if relative < -0.15:
        return "falling"
    return "steady"


def topic_year_table(papers: Sequence[Paper], topics: Sequence[Any],
                     paper_topics: Mapping[str, Iterable[str]], *,
                     members: Mapping[str, Collection[str]] | None = None) -> OverviewTable:
    """Count papers per topic (subtopics included) and year.

    `members` is subtree_members of these papers when the caller has it (a site's index).
    """
    year_names: dict[int, str] = {}
    year_of: dict[str, str] = {}
    undated = False
    for paper in papers:  # (paper_year, inlined: one call per paper cost ~0.1 s at 100k)
        date = paper.published_at or paper.first_seen
        if date is None:
            year_of[paper.slug], undated = UNDATED, True
        else:
            name = year_names.get(date.year)
            year_of[paper.slug] = name if name is not None else year_names.setdefault(date.year, str(date.year))
    dated = sorted(year_names.values())
    if dated:
        dated = [str(y) for y in range(int(dated[0]), int(dated[-1]) + 1)]  # no gaps in a trend
    years = tuple(dated + ([UNDATED] if undated else []))
    if members is None:
        members = subtree_members(topics, {s: t for s, t in paper_topics.items() if s in year_of})
    depth: dict[str, int] = {}
    for topic in topics:  # parents come before children
        depth[topic.id] = depth.get(topic.parent, -1) + 1 if topic.parent in depth else 0
    rows = []
    year_of_slug = year_of.__getitem__
    for topic in topics:
        per_year = Counter(map(year_of_slug, members[topic.id]))  # (counted in C: ~250k slugs at 100k papers)
        counts = [per_year.get(year, 0) for year in years]
        dated_counts = counts[:len(dated)]
        rows.append(TopicRow(topic.id, topic.name, depth[topic.id], tuple(counts), sum(counts),
                             trend(dated_counts)))
    all_years = Counter(year_of.values())
    totals = [all_years.get(year, 0) for year in years]
    return OverviewTable(years, tuple(rows), tuple(totals))


def most_commented(papers: Sequence[Paper], members: Mapping[str, Collection[str]],
                   n: int = MOST_COMMENTED) -> dict[str, list[str]]:
    """Return topic id -> slugs of its n most-commented papers (papers with comments only)."""
    comments = {p.slug: p.comments for p in papers if p.comments}
    # Every commented paper ranked once; each topic then takes its n best ranks (sorted in C).
    ranked = sorted(sorted(comments), key=comments.__getitem__, reverse=True)  # (a stable sort: ties by slug)
    rank = {slug: i for i, slug in enumerate(ranked)}
    return {topic_id: [ranked[i] for i in sorted(map(rank.__getitem__, filter(rank.__contains__, slugs)))[:n]]
            for topic_id, slugs in members.items()}


def _short(name: str, limit: int = 30) -> str:
    """Shorten a legend label at a word boundary (the full name is in the table and the desc)."""
    if len(name) <= limit:
        return name
    return name[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "\u2026"


def _polyline(values: Sequence[int], x0: float, width: float, y0: float, height: float,
              top: int) -> str:
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{x0 + i * step:.1f},{y0 + height - (v / top) * height:.1f}"
                    for i, v in enumerate(values))


def chart_svg(table: OverviewTable, *, topic_ids: Sequence[str] | None = None,
              width: int = 640, height: int = 260) -> str:
    """Return an accessible SVG line chart of papers per year for the given (default: root) topics."""
    dated = [y for y in table.years if y != UNDATED]
    rows = [r for r in table.rows if (r.id in topic_ids if topic_ids is not None else r.depth == 0)]
    rows = [r for r in rows if r.total]
    if topic_ids is None and len(rows) > MAX_SERIES:
        # More lines than that are unreadable; the table has every topic.
        biggest = {r.id for r in sorted(rows, key=lambda r: (-r.total, r.name))[:MAX_SERIES]}
        rows = [r for r in rows if r.id in biggest]
    title = "Papers per year by topic"
    if not dated or not rows:
        desc = "No dated papers to chart."
        return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} 40" '
                f'aria-labelledby="overview-chart-title overview-chart-desc" class="overview-chart">'
                f'<title id="overview-chart-title">{escape(title)}</title>'
                f'<desc id="overview-chart-desc">{escape(desc)}</desc></svg>')
    top = max(1, max(r.counts[i] for r in rows for i in range(len(dated))))
    left, right, upper, lower = 40, 220, 16, 34
    plot_w, plot_h = width - left - right, height - upper - lower
    summary = "; ".join(
        f"{r.name}: " + ", ".join(f"{y} {c}" for y, c in zip(dated, r.counts) if c) for r in rows)
    desc = f"Line chart of papers per year from {dated[0]} to {dated[-1]}. {summary}."
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" '
        f'aria-labelledby="overview-chart-title overview-chart-desc" class="overview-chart">',
        f'<title id="overview-chart-title">{escape(title)}</title>',
        f'<desc id="overview-chart-desc">{escape(desc)}</desc>',
        f'<g class="axis" stroke="currentColor" stroke-width="1">'
        f'<line x1="{left}" y1="{upper + plot_h}" x2="{left + plot_w}" y2="{upper + plot_h}"/>'
        f'<line x1="{left}" y1="{upper}" x2="{left}" y2="{upper + plot_h}"/></g>',
        f'<g class="labels" font-size="11" fill="currentColor">'
        f'<text x="{left - 6}" y="{upper + 4}" text-anchor="end">{top}</text>'
        f'<text x="{left - 6}" y="{upper + plot_h}" text-anchor="end">0</text>',
    ]
    step = plot_w / max(len(dated) - 1, 1)
    label_every = max(1, len(dated) // 8)
    for i, year in enumerate(dated):
        if i % label_every == 0 or i == len(dated) - 1:
            parts.append(f'<text x="{left + i * step:.1f}" y="{upper + plot_h + 16}" '
                         f'text-anchor="middle">{escape(year)}</text>')
    parts.append("</g>")
    for k, row in enumerate(rows):
        colour = PALETTE[k % len(PALETTE)]
        dash = "" if k < len(PALETTE) else ' stroke-dasharray="4 3"'
        points = _polyline(row.counts[:len(dated)], left, plot_w, upper, plot_h, top)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} '
                     f'points="{points}"><title>{escape(row.name)}</title></polyline>')
        y = upper + 10 + k * 16
        if y < height - 4:
            parts.append(f'<rect x="{left + plot_w + 12}" y="{y - 8}" width="10" height="10" '
                         f'fill="{colour}"/><text x="{left + plot_w + 26}" y="{y + 1}" font-size="11" '
                         f'fill="currentColor">{escape(_short(row.name))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def sparkline_svg(row: TopicRow, years: Sequence[str], *, width: int = 90, height: int = 22) -> str:
    """Return a tiny accessible SVG line of one topic's papers per year."""
    dated = [c for c, y in zip(row.counts, years) if y != UNDATED]
    label = f"{row.name}: {row.trend}; " + ", ".join(
        f"{y} {c}" for y, c in zip(years, row.counts) if y != UNDATED and c)
    if len(dated) < 2:
        points = f"0,{height / 2:.1f} {width},{height / 2:.1f}"
    else:
        points = _polyline(dated, 1, width - 2, 2, height - 4, max(1, max(dated)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="sparkline" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f'<title>{escape(label)}</title>'
            f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{points}"/></svg>')


def overview_view(papers: Sequence[Paper], topics: Sequence[Any],
                  paper_topics: Mapping[str, Iterable[str]],
                  paper_url=lambda slug: f"papers/{slug}/",
                  topic_url=lambda topic_id: f"topics/{topic_id}/", *,
                  members: Mapping[str, Collection[str]] | None = None,
                  by_slug: Mapping[str, Paper] | None = None) -> dict[str, Any]:
    """Return the overview page's view data: table, chart, sparklines, most-commented papers.

    `members` (topic id -> slugs of these papers in the topic or a subtopic) and `by_slug`
    (slug -> each of these papers) save working them out when the caller has them.
    """
    if by_slug is None:
        by_slug = {p.slug: p for p in papers}
    if members is None:
        members = subtree_members(topics, {s: t for s, t in paper_topics.items() if s in by_slug})
    table = topic_year_table(papers, topics, paper_topics, members=members)
    top = most_commented(papers, members)
    sorted_papers = sum(1 for slug in by_slug if paper_topics.get(slug))  # (topic ids: a tuple per paper)
    return {
        "years": list(table.years),
        "totals": list(table.totals),
        "paper_count": len(papers),
        "unsorted_count": len(papers) - sorted_papers,
        "chart_svg": chart_svg(table),
        "rows": [{
            "id": row.id, "name": row.name, "depth": row.depth, "url": topic_url(row.id),
            "counts": list(row.counts), "total": row.total, "trend": row.trend,
            "sparkline_svg": sparkline_svg(row, table.years),
            "most_commented": [{"slug": s, "title": by_slug[s].title, "url": paper_url(s),
                                "comments": by_slug[s].comments} for s in top.get(row.id, [])],
        } for row in table.rows],
    }
