"""Benchmark: our client-side search against Pagefind on the same synthetic sites.

For each size (default 1k, 10k, 100k papers) it makes a site from bench/corpus.py's
synthetic papers, indexes it with both engines and measures in headless Chromium
(Debian's, through Playwright), each query in a fresh browser context (cold cache):

  build      seconds to build the index (ours: documents -> files, in process;
             Pagefind: the `pagefind` CLI over the paper pages)
  disk       size of the index on disk and number of files
  bytes      bytes transferred for a cold one-word and a cold three-word query:
             every request after the blank bench page (the engine's JavaScript and
             WebAssembly, its index, and the data of the first 10 results)
  cold       ms from starting the query (module import included) to the first 10
             results' data being in hand
  warm       ms for the same query once its data has arrived: ours re-decodes the
             fetched bytes from scratch; Pagefind reuses its loaded chunks
  keystroke  (ours) ms from the last keystroke in the real search page to the rendered
             results, with the data loaded; includes the page's 60 ms debounce

Sites: sizes up to --real-max (default 10k) are built by the real pipeline
(`build.py build`, search index included); larger ones by a minimal writer (one
plain page per paper, plus the real search page and static files copied from the
smallest real build), because the full site build of 100k papers takes long.

    .venv/bin/python bench/search_bench.py                     # 1k, 10k, 100k
    .venv/bin/python bench/search_bench.py --sizes 1000 --runs 3

Pagefind comes from PyPI (`pip install 'pagefind[bin]'`, works offline once installed).
Outputs go to bench/out/search/ (not committed).
"""
from __future__ import annotations

import argparse
import functools
import html
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ONE_WORD = "adversarial"
THREE_WORDS = "adversarial training robustness"

BENCH_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title>
<script type="module" src="bench.js"></script></head><body><main><h1>bench</h1></main></body></html>
"""
# Both engines are driven the same way: import the module, run the query, load the
# data of the first ten results. Warm runs repeat the query with the data at hand.
BENCH_JS = """
const TOP = 10;
window.runOurs = async (q) => {
  const t0 = performance.now();
  const m = await import("../static/search.js");
  const base = new URL("../search/data/", location.href);
  const fetched = new Map();
  const get = async (path) => {
    const r = await fetch(new URL(path, base));
    const bytes = new Uint8Array(await r.arrayBuffer());
    fetched.set(path, bytes);
    return bytes;
  };
  const text = (b) => new TextDecoder().decode(b);
  const cold = new m.SearchIndex(async (p) => m.gunzipIfNeeded(await get(p)), async (p) => JSON.parse(text(await get(p))));
  const r = await cold.search(q);
  const metas = await Promise.all(r.ids.slice(0, TOP).map((d) => cold.meta(d)));
  const t1 = performance.now();
  const warm = new m.SearchIndex(async (p) => m.gunzipIfNeeded(fetched.get(p)), async (p) => JSON.parse(text(fetched.get(p))));
  const t2 = performance.now();
  const r2 = await warm.search(q);
  await Promise.all(r2.ids.slice(0, TOP).map((d) => warm.meta(d)));
  const t3 = performance.now();
  return { cold: t1 - t0, warm: t3 - t2, total: r.total, titles: metas.map((x) => x.t) };
};
window.runPagefind = async (q) => {
  const t0 = performance.now();
  const pagefind = await import("../pagefind/pagefind.js");
  await pagefind.init();
  const s = await pagefind.search(q);
  const data = await Promise.all(s.results.slice(0, TOP).map((x) => x.data()));
  const t1 = performance.now();
  const s2 = await pagefind.search(q);
  await Promise.all(s2.results.slice(0, TOP).map((x) => x.data()));
  const t2 = performance.now();
  return { cold: t1 - t0, warm: t2 - t1, total: s.results.length, titles: data.map((x) => x.meta.title) };
};
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path):
    """Serve a folder on 127.0.0.1; return (base URL, stop function)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server.shutdown


def folder_size(path: Path) -> tuple[int, int]:
    """(bytes, files) under path."""
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


# ---- sites

class Timings:
    """Seconds of slow steps, kept beside the sites so --reuse can report them again."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.is_file() else {}

    def get(self, key):
        return self.data.get(key)

    def set(self, key, seconds: float) -> float:
        self.data[key] = seconds
        self.path.write_text(json.dumps(self.data, indent=1))
        return seconds


def real_site(n: int, work: Path, timings: Timings, reuse: bool) -> tuple[Path, float]:
    """Write the corpus as a project and build it with build.py; return (site, build seconds)."""
    project = work / f"project-{n}"
    site = work / f"site-{n}"
    if reuse and (site / "search" / "index.html").is_file() and timings.get(f"site-{n}"):
        return site, timings.get(f"site-{n}")
    if not (project / "content").is_dir():
        corpus.write_corpus(project, n)
    # Templates change while the project evolves; build with the current ones.
    shutil.rmtree(project / "templates", ignore_errors=True)
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.rmtree(site, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "build", "--out", str(site),
                    "--quiet"], check=True)
    return site, timings.set(f"site-{n}", time.perf_counter() - started)


def minimal_site(n: int, work: Path, template_site: Path, reuse: bool) -> tuple[Path, list, list]:
    """One plain page per paper plus the real search page and static files; return (site, docs, topics)."""
    from site_src import taxonomy as taxonomy_module
    from site_src.search import SearchDocument, SearchTopic

    site = work / f"site-{n}"
    write_pages = not (reuse and (site / "papers").is_dir())
    if write_pages:
        shutil.rmtree(site, ignore_errors=True)
    papers, _ = corpus.generate(n, taxonomy_text=corpus.project_taxonomy(ROOT))
    tax_path = work / "taxonomy.yaml"
    tax_path.write_text(corpus.project_taxonomy(ROOT), encoding="utf-8")
    tax = taxonomy_module.load_taxonomy(tax_path)
    assigned = taxonomy_module.assign_topics(papers, tax)
    topics = [SearchTopic(t.id, t.name, t.parent, f"topics/{t.id}/index.html") for t in tax.topics]
    docs = []
    for paper in papers:
        folder = site / "papers" / paper.slug
        folder.mkdir(parents=True, exist_ok=True)
        if write_pages:
            (folder / "index.html").write_text(
                "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(paper.title)}</title></head><body><main>"
                f"<h1>{html.escape(paper.title)}</h1><p>{html.escape(', '.join(paper.authors))}</p>"
                f"<p>arXiv:{html.escape(paper.id or '')}</p><p>{html.escape(paper.summary)}</p>"
                "</main></body></html>\n", encoding="utf-8")
        docs.append(SearchDocument(
            url=f"papers/{paper.slug}/index.html", slug=paper.slug, title=paper.title, abstract=paper.summary,
            authors=paper.authors, arxiv_id=paper.id, topics=tuple(assigned[paper.slug].topics),
            date=paper.published_at, comments=paper.comments, has_code=bool(paper.github_repo)))
    shutil.copytree(template_site / "static", site / "static", dirs_exist_ok=True)
    (site / "search").mkdir(exist_ok=True)
    shutil.copyfile(template_site / "search" / "index.html", site / "search" / "index.html")
    return site, docs, topics


def index_ours(site: Path, docs, topics) -> float:
    """Write our index into site/search/data; return seconds spent building it."""
    from site_src.search import build_index

    started = time.perf_counter()
    outputs = build_index(docs, topics)
    seconds = time.perf_counter() - started
    shutil.rmtree(site / "search" / "data", ignore_errors=True)
    for dest, data in outputs.items():
        (site / dest).parent.mkdir(parents=True, exist_ok=True)
        (site / dest).write_bytes(data)
    return seconds


def documents_of_real_site(project: Path):
    """The search documents the pipeline indexes for a project (for timing the index alone)."""
    from site_src.config import load_config
    from site_src.pipeline import load_site
    from site_src.search import documents_from_site

    site, _ = load_site(load_config(project))
    return documents_from_site(site)


def index_pagefind(site: Path, timings: Timings, reuse: bool) -> float:
    """Run the Pagefind CLI over the paper pages; return seconds."""
    key = f"pagefind-{site.name}"
    if reuse and (site / "pagefind" / "pagefind.js").is_file() and timings.get(key):
        return timings.get(key)
    shutil.rmtree(site / "pagefind", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site), "--glob", "papers/**/*.html",
                    "--root-selector", "main", "--silent"], check=True)
    return timings.set(key, time.perf_counter() - started)


# ---- browser measurements

def measure(browser, base: str, engine: str, query: str) -> dict:
    """Run one cold query in a fresh context; return timings and bytes transferred."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "_bench/index.html")
    page.wait_for_function("() => window.runOurs && window.runPagefind")
    requests = []
    page.on("requestfinished", lambda request: requests.append(request))
    result = page.evaluate(f"q => window.run{engine}(q)", query)
    page.wait_for_timeout(50)
    sizes = [r.sizes() for r in requests]
    result["bytes"] = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
    result["requests"] = len(sizes)
    context.close()
    return result


def keystroke_latency(browser, base: str, query: str) -> float:
    """ms from the last keystroke to rendered results on the real search page (data loaded)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "search/index.html?q=" + quote_plus(query))
    page.wait_for_selector("#search-app.search-ready")
    page.wait_for_function("q => (document.getElementById('search-app').dataset.rendered || '').startsWith(q + '|')",
                           arg=query)
    box = page.locator("#search-q")
    box.fill(query[:-1])
    page.wait_for_function("q => (document.getElementById('search-app').dataset.rendered || '').startsWith(q + '|')",
                           arg=query[:-1])
    page.evaluate("""() => { window.__t = 0; document.getElementById('search-q')
        .addEventListener('keydown', () => { window.__t = performance.now(); }, {once: true});
        performance.clearMarks('search-rendered'); }""")
    box.press(query[-1])
    page.wait_for_function("q => (document.getElementById('search-app').dataset.rendered || '').startsWith(q + '|')",
                           arg=query)
    ms = page.evaluate("() => performance.getEntriesByName('search-rendered').pop().startTime - window.__t")
    context.close()
    return ms


def run_size(n: int, work: Path, args, browser, template_site: Path | None, timings: Timings) -> dict:
    row: dict = {"papers": n}
    if n <= args.real_max:
        site, seconds = real_site(n, work, timings, args.reuse)
        row["site"] = f"real pipeline ({seconds:.0f} s)"
        docs, topics = documents_of_real_site(work / f"project-{n}")
    else:
        site, docs, topics = minimal_site(n, work, template_site, args.reuse)
        row["site"] = "minimal pages"
    # The engine under test is the working tree's, whatever the site was built with.
    shutil.copyfile(ROOT / "templates" / "static" / "search.js", site / "static" / "search.js")
    row["ours_build"] = index_ours(site, docs, topics)
    row["ours_disk"] = folder_size(site / "search" / "data")
    row["pf_build"] = index_pagefind(site, timings, args.reuse)
    row["pf_disk"] = folder_size(site / "pagefind")
    (site / "_bench").mkdir(exist_ok=True)
    (site / "_bench" / "index.html").write_text(BENCH_HTML, encoding="utf-8")
    (site / "_bench" / "bench.js").write_text(BENCH_JS, encoding="utf-8")
    base, stop = serve(site)
    try:
        for label, query in (("one", args.one_word), ("three", args.three_words)):
            for engine in ("Ours", "Pagefind"):
                runs = [measure(browser, base, engine, query) for _ in range(args.runs)]
                row[f"{engine}_{label}"] = {
                    "bytes": runs[0]["bytes"], "requests": runs[0]["requests"], "total": runs[0]["total"],
                    "cold": statistics.median(r["cold"] for r in runs),
                    "warm": statistics.median(r["warm"] for r in runs),
                    "top": runs[0]["titles"][:3],
                }
        row["keystroke"] = statistics.median(keystroke_latency(browser, base, args.one_word)
                                             for _ in range(args.runs))
    finally:
        stop()
    return row, site


def fmt_bytes(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 10 * 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def table(rows: list[dict], args) -> str:
    lines = [
        f"one-word query: `{args.one_word}`; three-word query: `{args.three_words}`; "
        f"medians of {args.runs} cold runs; bytes include the engine's JS/WASM.",
        "",
        "| papers | engine | index build | index on disk | 1-word: bytes (req) | 1-word: cold / warm ms | "
        "3-word: bytes (req) | 3-word: cold / warm ms | matches (1w / 3w) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for engine, key in (("ours", "Ours"), ("Pagefind", "Pagefind")):
            build = row["ours_build"] if key == "Ours" else row["pf_build"]
            disk, files = row["ours_disk"] if key == "Ours" else row["pf_disk"]
            one, three = row[f"{key}_one"], row[f"{key}_three"]
            lines.append(
                f"| {row['papers']:,} | {engine} | {build:.1f} s | {fmt_bytes(disk)} in {files:,} files | "
                f"{fmt_bytes(one['bytes'])} ({one['requests']}) | {one['cold']:.0f} / {one['warm']:.1f} | "
                f"{fmt_bytes(three['bytes'])} ({three['requests']}) | {three['cold']:.0f} / {three['warm']:.1f} | "
                f"{one['total']:,} / {three['total']:,} |")
    lines.append("")
    lines.append("Keystroke to rendered results on our search page (data loaded, 60 ms debounce included): " +
                 ", ".join(f"{r['papers']:,}: {r['keystroke']:.0f} ms" for r in rows) + ".")
    lines.append("Sites: " + ", ".join(f"{r['papers']:,}: {r['site']}" for r in rows) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--real-max", type=int, default=10000,
                        help="largest size built with the real pipeline (default 10000)")
    parser.add_argument("--one-word", default=ONE_WORD)
    parser.add_argument("--three-words", default=THREE_WORDS)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "search")
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    parser.add_argument("--reuse", action="store_true",
                        help="keep sites and Pagefind indexes from an earlier run (and their timings)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.work.mkdir(parents=True, exist_ok=True)
    timings = Timings(args.work / "timings.json")
    rows = []
    template_site = None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for n in sorted(args.sizes):
            if n > args.real_max and template_site is None:
                # The minimal writer borrows the real search page and static files.
                template_site, _ = real_site(min(args.sizes + [1000]), args.work, timings, args.reuse)
            row, site = run_size(n, args.work, args, browser, template_site, timings)
            if n <= args.real_max and template_site is None:
                template_site = site
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        browser.close()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(table(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
