"""The floor of a Python site generator: a plain two-process Jinja2 + markdown-it-py loop
that builds the same site as the benchmark's Hugo twin, from the twin's own files.

Pass 1 (two processes): every file of TWIN/content/papers/ is read, its JSON front matter
parsed, its abstract and notes rendered from Markdown. Pass 2 (two processes, forked with
every paper in memory): a page per paper (authors, date, arXiv links, abstract, notes,
topics, previous and next), a paginated list per topic (50 a page), the topics index and
the home page, each from a Jinja2 template and written under OUT. Like the twin's layouts:
no search, feeds, exports, author or year pages, related papers or cache. What it costs is
what Python costs for Hugo's work, the reference the benchmark prints beside Hugo.

    python bench/plain_loop.py TWIN OUT
"""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import re
import sys
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

PER_PAGE = 50
"""Papers per topic list page (the twin's pagerSize)."""

TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ site_title }}</title>
<link rel="stylesheet" href="{{ root }}style.css">
</head>
<body>
<header><a href="{{ root }}">{{ site_title }}</a>
<nav>{% for topic in nav %}<a href="{{ root }}{{ topic.url }}">{{ topic.name }}</a> {% endfor %}</nav></header>
<main>{% block main %}{% endblock %}</main>
<footer>Built from content.</footer>
</body>
</html>
""",
    "paper.html": """{% extends "base.html" %}{% block main %}
<article>
<h1>{{ paper.title }}</h1>
<p class="authors">{% if paper.authors %}{{ paper.authors|join(", ") }}{% else %}{{ paper.n_authors }} authors{% endif %}</p>
<p><time datetime="{{ paper.date }}">{{ paper.shown_date }}</time></p>
{% if paper.arxiv %}<p><a href="https://arxiv.org/abs/{{ paper.arxiv }}">arXiv {{ paper.arxiv }}</a> · <a href="https://arxiv.org/pdf/{{ paper.arxiv }}">PDF</a></p>{% endif %}
<section class="abstract">{{ paper.content }}</section>
{% if paper.notes_html %}<section class="notes"><h2>Notes</h2>{{ paper.notes_html }}</section>{% endif %}
<ul class="topics">{% for topic in paper.topic_links %}<li><a href="{{ root }}{{ topic.url }}">{{ topic.name }}</a></li>{% endfor %}</ul>
{% if prev %}<a rel="prev" href="{{ root }}{{ prev.url }}">{{ prev.title }}</a>{% endif %}
{% if next %}<a rel="next" href="{{ root }}{{ next.url }}">{{ next.title }}</a>{% endif %}
</article>
{% endblock %}""",
    "list.html": """{% extends "base.html" %}{% block main %}
<h1>{{ title }}</h1>
{% if count is not none %}<p>{{ count }} papers</p>{% endif %}
<ol>{% for paper in papers %}<li><a href="{{ root }}{{ paper.url }}">{{ paper.title }}</a> <time>{{ paper.date }}</time></li>{% endfor %}</ol>
{% if pages > 1 %}<nav class="pagination">{% for number in range(1, pages + 1) %}<a href="{{ root }}{{ base }}{% if number > 1 %}page/{{ number }}/{% endif %}"{% if number == page %} aria-current="page"{% endif %}>{{ number }}</a> {% endfor %}</nav>{% endif %}
{% endblock %}""",
    "topics.html": """{% extends "base.html" %}{% block main %}
<h1>{{ title }}</h1>
<ul>{% for topic in topics %}<li><a href="{{ root }}{{ topic.url }}">{{ topic.name }}</a> ({{ topic.count }})</li>{% endfor %}</ul>
{% endblock %}""",
}

MARKDOWN = MarkdownIt("commonmark", {"html": False})
ENV = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)
SITE: dict = {}
"""Every paper and topic once pass 1 is done; pass 2's forked workers read it."""


def topic_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def read_paper(path: str) -> dict:
    """Pass 1: one file's front matter and rendered Markdown."""
    text = Path(path).read_text(encoding="utf-8")
    front, _, body = text.partition("\n")
    paper = json.loads(front)
    paper["slug"] = Path(path).stem
    paper["url"] = f"papers/{paper['slug']}/"
    paper["content"] = MARKDOWN.render(body)
    paper["notes_html"] = MARKDOWN.render(paper["notes"]) if paper.get("notes") else ""
    return paper


def write_page(out: str, url: str, html: str) -> int:
    path = Path(out) / url / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = html.encode("utf-8")
    path.write_bytes(data)
    return len(data)


def render_job(job: tuple[str, int, int]) -> int:
    """Pass 2: render and write one slice of the pages (kind, start, stop); returns bytes written."""
    kind, start, stop = job
    out, papers, common = SITE["out"], SITE["papers"], SITE["common"]
    written = 0
    if kind == "papers":
        template = ENV.get_template("paper.html")
        for at in range(start, stop):
            paper = papers[at]
            html = template.render(common, title=paper["title"], paper=dict(paper, content=Markup(paper["content"]),
                                                                          notes_html=Markup(paper["notes_html"])),
                                   prev=papers[at - 1] if at > 0 else None,
                                   next=papers[at + 1] if at + 1 < len(papers) else None)
            written += write_page(out, paper["url"], html)
    else:
        template = ENV.get_template("list.html")
        for base, title, members, count in SITE["lists"][start:stop]:
            pages = max(1, -(-len(members) // PER_PAGE))
            for page in range(1, pages + 1):
                shown = [papers[at] for at in members[(page - 1) * PER_PAGE:page * PER_PAGE]]
                html = template.render(common, title=title, papers=shown, count=count, page=page,
                                       pages=pages, base=base)
                written += write_page(out, base + (f"page/{page}/" if page > 1 else ""), html)
    return written


def build(twin: Path, out: Path) -> tuple[int, int]:
    """Build the site; returns (pages, bytes written)."""
    folder = twin / "content" / "papers"
    files = [str(folder / name) for name in sorted(os.listdir(folder))
             if name.endswith(".md") and not name.startswith("_")]  # (not the section's _index.md)
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        papers = pool.map(read_paper, files, chunksize=max(1, len(files) // 64))
    # Newest first, as the twin's sections are ordered (date, then title).
    papers.sort(key=lambda p: (p["date"], p["title"]), reverse=True)
    members: dict[str, list[int]] = {}
    for at, paper in enumerate(papers):
        paper["shown_date"] = dt.date.fromisoformat(paper["date"]).strftime("%b %-d, %Y")
        paper["topic_links"] = [{"name": name, "url": f"topics/{topic_slug(name)}/"} for name in paper.get("topics") or ()]
        for name in paper.get("topics") or ():
            members.setdefault(name, []).append(at)
    topics = sorted(({"name": name, "url": f"topics/{topic_slug(name)}/", "count": len(ats)}
                     for name, ats in members.items()), key=lambda t: (-t["count"], t["name"]))
    common = {"root": "/atlas/", "site_title": "Synthetic Atlas", "nav": topics[:8]}
    lists = [(topic["url"], topic["name"], members[topic["name"]], topic["count"]) for topic in topics]
    SITE.update(out=str(out), papers=papers, common=common, lists=lists)
    step = max(1, len(papers) // 64)
    jobs = [("lists", at, min(at + 4, len(lists))) for at in range(0, len(lists), 4)]
    jobs += [("papers", at, min(at + step, len(papers))) for at in range(0, len(papers), step)]
    with context.Pool(2) as pool:  # (forked now: the workers have every paper)
        written = sum(pool.imap_unordered(render_job, jobs))
    home = ENV.get_template("list.html").render(common, title="Synthetic Atlas", papers=papers[:PER_PAGE],
                                                count=len(papers), page=1, pages=1, base="")
    written += write_page(str(out), "", home)
    index = ENV.get_template("topics.html").render(common, title="Topics", topics=topics)
    written += write_page(str(out), "topics/", index)
    list_pages = sum(max(1, -(-len(ats) // PER_PAGE)) for _, _, ats, _ in lists)
    return len(papers) + list_pages + 2, written


def main(argv: list[str]) -> int:
    pages, written = build(Path(argv[0]), Path(argv[1]))
    print(f"{pages} pages, {written} bytes into {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
