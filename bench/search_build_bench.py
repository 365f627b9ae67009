"""Time the search index build alone on synthetic corpora (issue 5/6: the index is a small share of a build).

    .venv/bin/python bench/search_build_bench.py --papers 1000 10000 100000 --runs 3

Documents come from bench/corpus.py's papers with the project's taxonomy assigned (as
bench/search_bench.py's minimal sites); generating them is not timed. Prints, per size,
CPU and wall seconds of build_index in its first run (what a site build pays: one index
per process) and the best CPU seconds over the runs, the files and bytes it wrote, and a
digest of the uncompressed output (equal digests = equal index content).

Then the rebuild after a 50-paper digest, as `build.py update` makes it: the index of the
corpus without 48 of its 200 newest papers (and with 2 older papers' comment counts
different, as a digest re-listing them changes) is built with update_index, and its memo
and files are handed to update_index for the whole corpus. Prints the median CPU seconds
of that update, how many files it had to write, and the pickled memo's size; the update's
files are checked against the clean build's.
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import pickle
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402  (bench/corpus.py)

from site_src import taxonomy as taxonomy_module  # noqa: E402
from site_src.search import SearchDocument, SearchTopic, build_index  # noqa: E402
from site_src.search.index import order_documents, update_index  # noqa: E402


def documents(n: int) -> tuple[list[SearchDocument], list[SearchTopic]]:
    """N synthetic papers as search documents, with topics assigned by the project's taxonomy."""
    text = corpus.project_taxonomy(ROOT)
    papers, _ = corpus.generate(n, taxonomy_text=text)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "taxonomy.yaml"
        path.write_text(text, encoding="utf-8")
        tax = taxonomy_module.load_taxonomy(path)
    assigned = taxonomy_module.assign_topics(papers, tax)
    topics = [SearchTopic(t.id, t.name, t.parent, f"topics/{t.id}/") for t in tax.topics]
    docs = [SearchDocument(url=f"papers/{p.slug}/", slug=p.slug, title=p.title, abstract=p.summary,
                           authors=tuple(p.authors), arxiv_id=p.id, topics=tuple(assigned[p.slug].topics),
                           date=p.published_at, comments=p.comments, has_code=bool(p.github_repo))
            for p in papers]
    return docs, topics


def content_digest(outputs: dict[str, bytes]) -> str:
    """Hash of every file's name and uncompressed bytes (compression settings do not change it)."""
    h = hashlib.sha256()
    for dest in sorted(outputs):
        h.update(dest.encode())
        h.update(gzip.decompress(outputs[dest]) if dest.endswith(".bin") else outputs[dest])
    return h.hexdigest()[:16]


def before_digest(docs: list[SearchDocument], seed: int = 5) -> list[SearchDocument]:
    """The corpus as it was before a 50-paper digest: 48 of the newest missing, 2 older papers edited."""
    rng = random.Random(seed)
    ordered = order_documents(docs)
    new = {d.slug for d in rng.sample(ordered[-200:], min(48, len(ordered)))}
    edited = {d.slug for d in rng.sample(ordered[:-200], min(2, max(0, len(ordered) - 200)))}
    return [dataclasses.replace(d, comments=(d.comments or 0) + 3) if d.slug in edited else d
            for d in docs if d.slug not in new]


def update_after_digest(docs, topics, clean: dict[str, bytes], runs: int) -> tuple[float, int, float]:
    """Median CPU s of update_index after a 50-paper digest, files it wrote, memo MB; checks the bytes."""
    previous, memo = update_index(before_digest(docs), topics)
    blob = pickle.dumps(memo, protocol=pickle.HIGHEST_PROTOCOL)
    cpu = []
    for _ in range(runs):
        memo = pickle.loads(blob)  # as the build cache keeps it (loading it is the cache's cost)
        started = time.process_time()
        files, _ = update_index(docs, topics, memo, existing=set(previous))
        cpu.append(time.process_time() - started)
    resolved = {dest: previous[dest] if data is None else data for dest, data in files.items()}
    if resolved != clean:
        raise SystemExit("the update's files differ from a clean build's")
    return statistics.median(cpu), sum(data is not None for data in files.values()), len(blob) / 1e6


def main(argv: list[str] | None = None) -> int:
    """Print one table row per corpus size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print("| papers | first run: CPU s | first run: wall s | best CPU s | files | MB on disk | content digest "
          "| update after a 50-paper digest: median CPU s | files written | memo MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.papers:
        docs, topics = documents(n)
        cpu, wall = [], []
        for _ in range(args.runs):
            started, clock = time.process_time(), time.perf_counter()
            outputs = build_index(docs, topics)
            cpu.append(time.process_time() - started)
            wall.append(time.perf_counter() - clock)
        size = sum(map(len, outputs.values())) / 1e6
        update_cpu, written, memo_mb = update_after_digest(docs, topics, outputs, args.runs)
        print(f"| {n:,} | {cpu[0]:.2f} | {wall[0]:.2f} | {min(cpu):.2f} | {len(outputs):,} | {size:.1f} | "
              f"{content_digest(outputs)} | {update_cpu:.2f} | {written:,} | {memo_mb:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
