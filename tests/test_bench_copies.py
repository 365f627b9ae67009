"""The benchmark measures every run on a fresh copy of a corpus that never changes.

Its Hugo twin is written once from the corpus, so a digest ingested by one run must not
reach the corpus: else each run (and each later benchmark) would build more papers than
Hugo does, and the ratios would compare unlike sites.
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
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


def test_the_plain_loop_writes_each_paper_page_with_its_text_escaped(tmp_path):
    """bench/plain_loop.py, the benchmark's floor for a Python build, renders real pages."""
    from html.parser import HTMLParser

    import yaml

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        corpus_tools = _load("bench_corpus", ROOT / "bench" / "corpus.py")
    finally:
        sys.path.remove(str(ROOT / "bench"))
    corpus = tmp_path / "c12"
    corpus_tools.write_corpus(corpus, 12, project=ROOT)
    first = sorted((corpus / "content" / "papers").glob("*.md"))[0]
    first.write_text(re.sub(r"^title: .*$", "title: '<b>Bold</b> & Brave'", first.read_text(encoding="utf-8"),
                            count=1, flags=re.M), encoding="utf-8")
    meta = yaml.safe_load(first.read_text(encoding="utf-8").split("---\n", 2)[1])
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(ROOT / "bench" / "plain_loop.py"), str(corpus), str(out)],
                   check=True, timeout=120)
    pages = sorted(out.glob("papers/*/index.html"))
    assert [p.parent.name for p in pages] == sorted(p.stem for p in (corpus / "content" / "papers").glob("*.md"))

    class Headings(HTMLParser):
        def __init__(self):
            super().__init__()
            self.inside, self.h1, self.tags = False, "", []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.inside = self.inside or tag == "h1"

        def handle_endtag(self, tag):
            self.inside = self.inside and tag != "h1"

        def handle_data(self, data):
            if self.inside:
                self.h1 += data

    page = Headings()
    page.feed((out / "papers" / first.stem / "index.html").read_text(encoding="utf-8"))
    assert meta["title"] == "<b>Bold</b> & Brave"
    assert page.h1 == meta["title"]  # (shown as text: no <b> element)
    assert "b" not in page.tags and "p" in page.tags  # (the abstract went through Markdown)
