"""The floor of a Python site generator: a plain two-process Jinja2 + markdown-it-py loop.

For every paper file of a project's content/papers/: read it, parse its YAML front matter
(libyaml when present), render its Markdown body with markdown-it-py and a paper page with
one Jinja2 template, and write papers/<slug>/index.html under OUT. Two processes share the
files. No topics, lists, feeds, search, cache or related papers: what is left is the cost
every Python build of these pages pays, the reference the benchmark prints beside Hugo.

    python bench/plain_loop.py PROJECT OUT
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import jinja2
from markupsafe import Markup
import yaml
from markdown_it import MarkdownIt

PAGE = jinja2.Template("""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ meta.title }}</title></head>
<body>
<main>
<h1>{{ meta.title }}</h1>
<p class="authors">{{ meta.authors | join(", ") }}</p>
{% if meta.published_at %}<p><time>{{ meta.published_at }}</time></p>{% endif %}
<section class="abstract">{{ body }}</section>
{% if meta.github_repo %}<p><a href="{{ meta.github_repo }}">Code</a></p>{% endif %}
</main>
</body>
</html>
""", autoescape=True)

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MARKDOWN = MarkdownIt("commonmark", {"html": False})


def render_file(job: tuple[str, str]) -> int:
    """Render one paper file into its page; returns the bytes written."""
    source, out = job
    text = Path(source).read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = yaml.load(front, Loader=LOADER) or {}
    html = PAGE.render(meta=meta, body=Markup(MARKDOWN.render(body)))
    page = Path(out) / "papers" / Path(source).stem / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    data = html.encode("utf-8")
    page.write_bytes(data)
    return len(data)


def main(argv: list[str]) -> int:
    project, out = Path(argv[0]), Path(argv[1])
    papers = project / "content" / "papers"
    jobs = [(str(papers / name), str(out)) for name in sorted(os.listdir(papers)) if name.endswith(".md")]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        written = sum(pool.imap_unordered(render_file, jobs, chunksize=max(1, len(jobs) // 64)))
    print(f"{len(jobs)} pages, {written} bytes into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
