"""The benchmark measures every run on a fresh copy of a corpus that never changes.

Its Hugo twin is written once from the corpus, so a digest ingested by one run must not
reach the corpus: else each run (and each later benchmark) would build more papers than
Hugo does, and the ratios would compare unlike sites.
"""
from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while loading
    spec.loader.exec_module(module)
    return module


def _fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".ingest" not in p.parts}


def test_a_run_changes_its_copy_and_never_the_corpus(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        bench = _load("bench_run", ROOT / "bench" / "run.py")
    finally:
        sys.path.remove(str(ROOT / "bench"))
    corpus = tmp_path / "c30"
    bench.corpus_tools.write_corpus(corpus, 30, project=ROOT)
    before = _fingerprint(corpus / "content")
    papers_before = bench.count_files(corpus / "content" / "papers")

    work = bench.working_copy(corpus, tmp_path)
    digest = work / "next.txt"
    day = bench.corpus_tools.write_update_digest(digest, work)
    subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(work), "update",
                    str(digest), "--quiet", "--today", str(day)], check=True, timeout=300)
    bench.edit_note(work, 0)

    assert bench.count_files(work / "content" / "papers") == papers_before + 48
    changed = _fingerprint(work / "content")
    assert any(changed.get(name) != sha for name, sha in before.items())  # (the two seen papers, the note)
    assert _fingerprint(corpus / "content") == before
    assert bench.count_files(corpus / "content" / "papers") == papers_before

    # The next run starts again from the corpus, and the last run's copy is set aside.
    again = bench.working_copy(corpus, tmp_path)
    assert again == work
    assert _fingerprint(again / "content") == before


def test_the_plain_loop_builds_the_hugo_twins_pages_with_their_text_escaped(tmp_path):
    """bench/plain_loop.py, the benchmark's floor for a Python build, makes the twin's site."""
    import json
    from html.parser import HTMLParser

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        corpus_tools = _load("bench_corpus", ROOT / "bench" / "corpus.py")
        hugo_site = _load("bench_hugo_site", ROOT / "bench" / "hugo_site.py")
    finally:
        sys.path.remove(str(ROOT / "bench"))
    corpus, twin, out = tmp_path / "c60", tmp_path / "c60-hugo", tmp_path / "out"
    corpus_tools.write_corpus(corpus, 60, project=ROOT)
    hugo_site.write_hugo_site(corpus, twin)
    files = sorted(p for p in (twin / "content" / "papers").glob("*.md") if not p.name.startswith("_"))
    first = files[0]
    front, _, body = first.read_text(encoding="utf-8").partition("\n")
    meta = json.loads(front)
    meta["title"] = "<b>Bold</b> & Brave"
    first.write_text(json.dumps(meta) + "\n" + body, encoding="utf-8")
    subprocess.run([sys.executable, str(ROOT / "bench" / "plain_loop.py"), str(twin), str(out)],
                   check=True, timeout=120)
    assert sorted(p.parent.name for p in out.glob("papers/*/index.html")) == [p.stem for p in files]
    topics = {name for p in files for name in json.loads(p.read_text(encoding="utf-8").partition("\n")[0])["topics"]}
    assert topics and len(list(out.glob("topics/*/index.html"))) == len(topics)

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.inside, self.h1, self.tags, self.links = False, "", [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.inside = self.inside or tag == "h1"
            self.links += [value for name, value in attrs if tag == "a" and name == "href"]

        def handle_endtag(self, tag):
            self.inside = self.inside and tag != "h1"

        def handle_data(self, data):
            if self.inside:
                self.h1 += data

    page = Page()
    page.feed((out / "papers" / first.stem / "index.html").read_text(encoding="utf-8"))
    assert page.h1 == "<b>Bold</b> & Brave"  # (shown as text: no <b> element)
    assert "b" not in page.tags and "p" in page.tags  # (the abstract went through Markdown)
    for link in page.links:  # (its topics, neighbours and navigation are pages of the site)
        if link.startswith("/atlas/"):
            assert (out / link[len("/atlas/"):] / "index.html").is_file(), link
