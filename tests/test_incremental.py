"""Incremental builds give exactly the site a clean full build gives, after every kind of change.

One small synthetic project (bench/corpus.py) is built incrementally into one folder
after each change, and from scratch (pipeline.build, no cache) into another; the two
trees must be byte-identical every time.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from site_src import buildcache, codeversion, fsclock, parallel, pipeline, relatedmemo, store
from site_src.config import load_config

ROOT = Path(__file__).resolve().parent.parent
N_PAPERS = 30


def _load_bench_corpus():
    spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "bench" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_corpus"] = module  # dataclasses look their module up while loading
    spec.loader.exec_module(module)
    return module


corpus_tools = _load_bench_corpus()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under folder: relative path -> bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_tree(got: Path, want: Path) -> None:
    a, b = tree(got), tree(want)
    missing, extra = sorted(set(b) - set(a)), sorted(set(a) - set(b))
    differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    assert not (missing or extra or differ), (
        f"incremental vs full build: missing {missing[:5]}, extra {extra[:5]}, differ {differ[:5]}")


def full_build(project: Path, out: Path) -> None:
    """A clean build with the pipeline alone: no cache, fresh output folder."""
    if out.exists():
        shutil.rmtree(out)
    pipeline.build(load_config(project, out_dir=out))


def assert_like_a_clean_build(project: Path, live: Path, clean: Path) -> None:
    """The incrementally built tree `live` equals a clean build of project into `clean`."""
    full_build(project, clean)
    assert_same_tree(live, clean)


def incremental_build(project: Path, out: Path, **kwargs):
    return buildcache.build(load_config(project, out_dir=out), **kwargs)


def age_everything(folder: Path) -> None:
    """Pretend every file was written minutes ago, so the 'racy clean' guard stays out of the way."""
    past = (dt.datetime.now() - dt.timedelta(minutes=5)).timestamp()
    for path in folder.rglob("*"):
        os.utime(path, (past, past))


def corrupt(folder: Path, names: tuple[str, ...], *, only_existing: bool = False) -> None:
    """Cut each of these cache files in half and add garbage (a missing one fails the test,
    unless only_existing)."""
    for name in names:
        if only_existing and not (folder / name).exists():
            continue
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2] + b"garbage")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("incremental") / "project"
    corpus_tools.write_corpus(folder, N_PAPERS, project=ROOT)
    age_everything(folder)
    return folder


def first_paper(project: Path) -> Path:
    return sorted((project / "content" / "papers").glob("*.md"))[0]


def edit_paper(path: Path, **changes) -> None:
    paper = store.loads(path.read_text(encoding="utf-8"), slug=path.stem, source=path.name)
    import dataclasses

    path.write_text(store.dumps(dataclasses.replace(paper, **changes)), encoding="utf-8")


EDITS = iter(range(1, 1_000_000))


def change_note(project: Path) -> None:
    path = first_paper(project)
    edit_paper(path, notes=f"Edited note {next(EDITS)}: **compare** with the baseline.")


def change_title(project: Path) -> None:
    path = sorted((project / "content" / "papers").glob("*.md"))[3]
    edit_paper(path, title=f"A Corrected Title About Label Noise, Take {next(EDITS)}")


def add_digest(project: Path) -> None:
    from site_src import ingest

    digest = project / "next-digest.txt"
    day = corpus_tools.write_update_digest(digest, project, n_new=5, n_seen=1)
    ingest.ingest([digest], project / "content", today=day + dt.timedelta(days=1), digest_date=day)


def add_topic(project: Path) -> None:
    path = project / "content" / "taxonomy.yaml"
    path.write_text(path.read_text(encoding="utf-8") + (
        "\n  - id: synthetic-new-topic\n    name: A new topic\n"
        "    description: Added by the incremental test.\n    match: [ablation study]\n"),
        encoding="utf-8")


def delete_paper(project: Path) -> None:
    sorted((project / "content" / "papers").glob("*.md"))[5].unlink()


def edit_template(project: Path) -> None:
    path = project / "templates" / "paper.html"
    text = path.read_text(encoding="utf-8")
    assert "</article>" in text or "{% endblock" in text
    marker = "</article>" if "</article>" in text else "{% endblock"
    path.write_text(text.replace(marker, "<p>Template edited.</p>" + marker, 1), encoding="utf-8")


def edit_config(project: Path) -> None:
    path = project / "content" / "site.yaml"
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("title:")]
    path.write_text("title: Renamed Atlas\n" + "\n".join(lines) + "\n", encoding="utf-8")


CHANGES = [
    ("nothing", lambda project: None),
    ("edited note", change_note),
    ("edited title", change_title),
    ("new digest", add_digest),
    ("new topic", add_topic),
    ("deleted paper", delete_paper),
    ("template edit", edit_template),
    ("config edit", edit_config),
]


def test_every_kind_of_change_builds_the_same_site_as_a_clean_build(project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    first = incremental_build(project, live)
    assert first.incremental.mode == "full"
    assert_like_a_clean_build(project, live, clean)
    for name, change in CHANGES:
        change(project)
        report = incremental_build(project, live)
        assert_like_a_clean_build(project, live, clean)
        assert report.incremental.mode in ("incremental", "no-op"), name
        if name == "nothing":
            assert report.written == () and report.removed == ()
        if name == "edited note":
            assert report.incremental.rendered < report.pages / 2, "an edited note re-rendered most pages"
        if name == "deleted paper":
            assert report.removed, "the deleted paper's page was not removed"


def test_a_small_change_saves_the_memos_as_deltas_that_the_next_build_reads(project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    age_everything(project)  # files the tests before wrote would keep the notes-only path away
    incremental_build(project, live)
    folder = buildcache.cache_dir_for(project, live)
    base = (folder / "corpus.pickle").read_bytes()
    change_title(project)
    incremental_build(project, live)
    assert (folder / "corpus.pickle").read_bytes() == base, "the whole parse memo was saved again"
    assert (folder / "corpus.delta.pickle").exists()
    change_note(project)
    report = incremental_build(project, live)
    assert report.incremental.why == "only notes changed", report.incremental.why
    assert_like_a_clean_build(project, live, clean)


def test_the_related_papers_memo_is_saved_as_a_delta_and_a_bad_delta_is_not_used(own_project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    base = (folder / "related.pickle").read_bytes()
    change_title(own_project)
    incremental_build(own_project, live)
    add_digest(own_project)
    incremental_build(own_project, live)
    assert (folder / "related.pickle").read_bytes() == base, "the whole related memo was saved again"
    memo, layers = relatedmemo.load_related_memo(folder)
    papers = sorted(path.stem for path in (own_project / "content" / "papers").glob("*.md"))
    assert memo.slugs == tuple(papers) and layers["touched"]
    assert_like_a_clean_build(own_project, live, clean)
    # A delta that does not load, or belongs to another base, leaves the base alone in use.
    corrupt(folder, ("related.delta.pickle",))
    assert relatedmemo.load_related_memo(folder)[0].slugs != tuple(papers)
    change_title(own_project)
    incremental_build(own_project, live)
    assert_like_a_clean_build(own_project, live, clean)
    stored = buildcache.load_blob(folder / "related.delta.pickle")
    buildcache.save_blob(folder / "related.delta.pickle", {**stored, "base": "another base"})
    assert relatedmemo.load_related_memo(folder)[1]["touched"] == frozenset()
    change_title(own_project)
    incremental_build(own_project, live)
    assert_like_a_clean_build(own_project, live, clean)


def test_a_related_memo_whose_arrays_are_damaged_or_foreign_is_not_trusted(own_project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    stored = buildcache.load_blob(folder / "related.pickle")
    arrays = (folder / "related.arrays").read_bytes()
    # One byte changed in the term counts, which an update reads block by block.
    _, _, offset, nbytes, _ = stored["layout"]["arrays"]["counts.indices"]
    damaged = bytearray(arrays)
    damaged[offset + nbytes // 2] ^= 0x55
    (folder / "related.arrays").unlink()
    (folder / "related.arrays").write_bytes(bytes(damaged))
    memo, _ = relatedmemo.load_related_memo(folder)  # (the counts are read later, when used)
    with pytest.raises(relatedmemo.CorruptCache):
        memo.counts.base.holding(np.ones(memo.counts.shape[1], dtype=bool))
    change_title(own_project)
    incremental_build(own_project, live)
    assert_like_a_clean_build(own_project, live, clean)
    assert (folder / "related.arrays").read_bytes() != bytes(damaged), "the damaged memo was kept"
    # A header and an array file of two different saves do not go together.
    stored = buildcache.load_blob(folder / "related.pickle")
    buildcache.save_blob(folder / "related.pickle", {**stored, "token": "f" * 24,
                                                     "layout": {**stored["layout"], "token": "f" * 24}})
    assert relatedmemo.load_related_memo(folder) == (None, None)
    (folder / "related.arrays").unlink()
    (folder / "related.arrays").write_bytes(arrays[: len(arrays) // 2])
    buildcache.save_blob(folder / "related.pickle", stored)
    assert relatedmemo.load_related_memo(folder) == (None, None)
    change_title(own_project)
    incremental_build(own_project, live)
    assert_like_a_clean_build(own_project, live, clean)


def test_the_manifest_is_saved_as_a_delta_and_never_trusted_without_it(project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(project, live)
    folder = buildcache.cache_dir_for(project, live)
    base = (folder / "manifest.pickle").read_bytes()
    change_title(project)
    report = incremental_build(project, live)
    assert report.incremental.mode == "incremental" and report.written
    assert (folder / "manifest.pickle").read_bytes() == base, "the whole manifest was saved again"
    delta = buildcache.load_blob(folder / "manifest.delta.pickle")
    assert 0 < len(delta["sections"]["outputs"][0]) < report.pages / 2
    assert_like_a_clean_build(project, live, clean)
    # A build that starts writing drops the delta first: the base alone is an older manifest.
    buildcache.forget(folder)
    assert buildcache.read_manifest(folder)[0] is None
    change_title(project)
    assert incremental_build(project, live).incremental.mode == "full"
    assert_like_a_clean_build(project, live, clean)


def test_a_corrupted_cache_is_ignored_and_the_build_is_full(project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(project, live)
    first_paper(project).touch()
    incremental_build(project, live)  # a delta beside each memo
    folder = buildcache.cache_dir_for(project, live)
    corrupt(folder, ("manifest.pickle", "corpus.pickle", "topics.pickle", "corpus.delta.pickle",
                     "topics.delta.pickle"))
    report = incremental_build(project, live)
    assert report.incremental.mode == "full"
    assert_like_a_clean_build(project, live, clean)


def test_an_output_edited_behind_the_builds_back_is_restored(project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(project, live)
    (live / "index.html").write_text("vandalised")
    (live / "extra.html").write_text("not ours")
    report = incremental_build(project, live)
    assert report.incremental.mode == "full"
    assert_like_a_clean_build(project, live, clean)


def age_folders(folder: Path) -> None:
    """Pretend every folder of an output tree was last changed minutes ago (its files keep
    their times, which the manifest recorded), so check_tree may trust the folders' keys."""
    past = (dt.datetime.now() - dt.timedelta(minutes=5)).timestamp()
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            os.utime(path, (past, past))


def trusted_folders(project: Path, live: Path) -> dict:
    manifest, _ = buildcache.read_manifest(buildcache.cache_dir_for(project, live))
    return manifest.folders


@pytest.mark.parametrize("change", ["new file", "edit in place", "file in a new empty folder"])
def test_a_folder_whose_key_is_trusted_still_reveals_changes(project, tmp_path, change):
    live, clean = tmp_path / "live", tmp_path / "clean"
    age_everything(project)  # (files the tests before wrote moments ago would be re-read: not a no-op)
    incremental_build(project, live)
    page = sorted((live / "papers").glob("*/index.html"))[0]
    if change == "file in a new empty folder":
        (page.parent / "empty").mkdir()
    age_folders(live)
    report = incremental_build(project, live)
    assert report.incremental.mode == "no-op", report.incremental.why
    # The no-op build listed every folder and recorded their keys: the next one lists none
    # (but the folder with a folder of its own in it).
    folders = trusted_folders(project, live)
    assert "" in folders and "papers" in folders
    assert (page.parent.relative_to(live).as_posix() in folders) == (change != "file in a new empty folder")
    if change == "new file":
        (page.parent / "extra.html").write_text("not ours")
    elif change == "edit in place":
        with open(page, "r+b") as handle:
            handle.write(b"<!-- vandalised -->")
    else:
        ((page.parent / "empty") / "late.html").write_text("not ours")
    report = incremental_build(project, live)
    assert report.incremental.mode == "full"
    assert_like_a_clean_build(project, live, clean)


def test_a_full_build_records_its_folders_so_the_next_check_lists_none(project, tmp_path, monkeypatch):
    live = tmp_path / "live"
    age_everything(project)
    # The folders the build wrote last share the file system's present tick when it records
    # their keys (untrusted, see fsclock): here it records them once that tick has passed.
    clock = fsclock.trusted_before

    def a_tick_later(folder, like):
        newest = max(p.stat().st_mtime_ns for p in [like, *like.rglob("*")] if p.is_dir())
        while fsclock.file_system_now(folder, like) <= newest:
            time.sleep(0.005)
        return clock(folder, like)

    monkeypatch.setattr(fsclock, "trusted_before", a_tick_later)
    incremental_build(project, live, full=True)
    folders = trusted_folders(project, live)
    assert "" in folders and "papers" in folders
    assert set(folders) == {p.relative_to(live).as_posix() if p != live else ""
                            for p in [live, *live.rglob("*")] if p.is_dir()}
    listed = []
    real = buildcache._folder_listed
    monkeypatch.setattr(buildcache, "_folder_listed", lambda *a: listed.append(a[1]) or real(*a))
    assert incremental_build(project, live).incremental.mode == "no-op"
    assert listed == []


def test_an_update_keeps_the_keys_of_folders_it_did_not_touch(project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    age_everything(project)
    incremental_build(project, live)
    age_folders(live)
    incremental_build(project, live)
    before = trusted_folders(project, live)
    paper = first_paper(project)
    paper.write_text(paper.read_text(encoding="utf-8").replace("title: ", "title: Retitled ", 1), encoding="utf-8")
    report = incremental_build(project, live)
    assert report.incremental.mode == "incremental"
    after = trusted_folders(project, live)
    written = {dest.rpartition("/")[0] for dest in report.written}
    assert written and not written & set(after)  # (their listings changed: listed next time)
    # A page replaced in its folder leaves the folders above it as they were.
    assert set(after) <= set(before) and "papers" in after
    assert_like_a_clean_build(project, live, clean)


def test_a_cache_from_other_code_is_not_trusted(project, tmp_path, monkeypatch):
    live = tmp_path / "live"
    incremental_build(project, live)
    monkeypatch.setattr(codeversion, "_CODE_VERSION", "something-else")
    report = incremental_build(project, live)
    assert report.incremental.mode == "full" and "code" in report.incremental.why


def test_parallel_build_is_byte_identical_to_a_single_process_build(project, tmp_path, monkeypatch):
    monkeypatch.setattr(buildcache, "RENDER_IN_PARALLEL", 1)
    monkeypatch.setattr(buildcache, "ASSIGN_IN_PARALLEL", 1)
    monkeypatch.setattr(buildcache, "EXTRAS_BESIDE_PAPERS", 1)
    real_stage_extras = buildcache._stage_extras
    extras_pids = tmp_path / "extras-pids"
    extras_pids.mkdir()

    def stage_extras(*args, **kwargs):
        (extras_pids / str(os.getpid())).touch()  # (a child process cannot append to a list here)
        return real_stage_extras(*args, **kwargs)

    monkeypatch.setattr(buildcache, "_stage_extras", stage_extras)
    incremental_build(project, tmp_path / "one", full=True, jobs=1)
    incremental_build(project, tmp_path / "two", full=True, jobs=2)
    assert_same_tree(tmp_path / "two", tmp_path / "one")
    # The search index, exports and feeds of the parallel build were made (and written) by a child process.
    pids = {p.name for p in extras_pids.iterdir()}
    assert pids and str(os.getpid()) not in pids
    assert any((tmp_path / "two" / "search" / "data").glob("*.bin")) and (tmp_path / "two" / "feed.xml").exists()
    # Again over the last tree: the workers hard-link every page whose bytes are unchanged.
    inodes = {path: path.stat().st_ino for path in (tmp_path / "two").rglob("*.html")}
    report = incremental_build(project, tmp_path / "two", full=True, jobs=2)
    assert_same_tree(tmp_path / "two", tmp_path / "one")
    assert len(inodes) > 20 and {path: path.stat().st_ino for path in inodes} == inodes
    assert report.written == () and report.removed == ()


def test_a_failure_in_the_extras_child_fails_the_build_and_keeps_the_previous_site(project, tmp_path,
                                                                                   monkeypatch):
    from site_src.buildreport import BuildError

    out = tmp_path / "site"
    incremental_build(project, out, full=True, jobs=1)
    before = tree(out)
    monkeypatch.setattr(buildcache, "RENDER_IN_PARALLEL", 1)
    monkeypatch.setattr(buildcache, "EXTRAS_BESIDE_PAPERS", 1)

    def broken(*args, **kwargs):
        raise ValueError("no index today")

    monkeypatch.setattr(buildcache, "_stage_extras", broken)
    with pytest.raises(BuildError, match="no index today"):
        incremental_build(project, out, full=True, jobs=2)
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging tree left behind


@pytest.mark.parametrize("read_ahead", [None, "page cache", "threads", "page cache, then threads"])
def test_the_memoised_corpus_equals_the_stores(project, monkeypatch, read_ahead):
    monkeypatch.setattr(buildcache, "READ_AHEAD_FILES", 1 if read_ahead else 10**9)
    monkeypatch.setattr(buildcache, "READ_AHEAD_BATCH", 3)  # several batches, and a short last one
    monkeypatch.setattr(buildcache, "READ_AHEAD_MISSES", 2)
    cached_reads, threaded = [], []
    read_cached, read_in_threads = buildcache._read_cached, buildcache._read_in_threads

    def not_cached_after_five(path, size):  # files "not in the page cache" from the sixth on
        cached_reads.append(path)
        return read_cached(path, size) if len(cached_reads) <= 5 else None

    def in_threads(paths):
        threaded.extend(paths)
        return read_in_threads(paths)

    monkeypatch.setattr(buildcache, "_read_in_threads", in_threads)
    if read_ahead == "threads":
        monkeypatch.setattr(buildcache, "_read_cached", lambda path, size: None)
    elif read_ahead == "page cache, then threads":
        monkeypatch.setattr(buildcache, "_read_cached", not_cached_after_five)
    content = project / "content"
    cold, memo = buildcache.load_corpus(content)
    warm, _ = buildcache.load_corpus(content, memo)
    assert cold == store.load_store(content) == warm and len(cold.papers) > 10
    files = sorted(content.glob("papers/*.md"))
    if read_ahead == "page cache, then threads":  # 5 cached, 1 miss read here, then threads
        assert 0 < len(threaded) == len(files) - 6
    elif read_ahead == "threads":  # 1 miss read here, then threads
        assert 0 < len(threaded) == len(files) - 1
    elif read_ahead == "page cache" and buildcache._read_cached(str(files[0]), files[0].stat().st_size) is not None:
        assert not threaded  # (where the file system tells what is cached)


@pytest.mark.parametrize("child", ["parses half", "dies"])
def test_a_corpus_parsed_in_two_processes_is_the_one_parsed_in_one(own_project, tmp_path, monkeypatch, child):
    content = own_project / "content"
    papers = sorted(content.glob("papers/*.md"))
    papers[3].write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")  # skipped, with its problem
    papers[-2].write_text(papers[-2].read_text(encoding="utf-8").replace("---\n", "---\nshade: x\n", 1),
                          encoding="utf-8")  # kept without the field, with its problem
    alone, alone_memo = buildcache.load_corpus(content, jobs=1)

    monkeypatch.setattr(buildcache, "PARALLEL_PARSE_FILES", 2)
    log = tmp_path / "parsed-by.txt"
    parse = buildcache._parse_papers

    def logged(todo, folder, prefix):  # (appends from whichever process parses)
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {len(todo)}\n")
        return parse(todo, folder, prefix)

    monkeypatch.setattr(buildcache, "_parse_papers", logged)
    if child == "dies":
        real_beside = parallel.run_beside
        monkeypatch.setattr(parallel, "run_beside", lambda fn, jobs=None: real_beside(lambda: os._exit(3), jobs=jobs))
    both, both_memo = buildcache.load_corpus(content, jobs=2)

    assert both == alone == store.load_store(content)
    assert len(both.papers) == len(papers) - 1
    assert {p.source.rpartition("/")[2] for p in both.problems} == {papers[3].name, papers[-2].name}
    assert both_memo["papers"] == alone_memo["papers"]  # (stat keys, papers, problems, hashes)
    assert list(both_memo["papers"]) == list(alone_memo["papers"])
    calls = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    first_half = len(papers) // 2
    assert sorted(n for _, n in calls) == sorted([first_half, len(papers) - first_half])
    pids = {pid for pid, _ in calls}
    if child == "parses half":
        assert len(pids) == 2 and os.getpid() in pids
    else:  # its half parsed here after all
        assert pids == {os.getpid()}


def test_parallel_map_keeps_order_and_falls_back_for_small_inputs():
    items = list(range(1000))
    assert parallel.parallel_map(lambda x: x * x, items, min_items=10, jobs=2) == [x * x for x in items]
    assert parallel.parallel_map(str, [1, 2], min_items=10, jobs=2) == ["1", "2"]
    assert parallel.chunk_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]


@pytest.mark.parametrize("map_with", ["parallel_map", "parallel_map_meanwhile"])
def test_worker_pools_end_gracefully_and_are_terminated_only_when_a_map_fails(map_with, monkeypatch):
    import multiprocessing.pool

    terminated = []
    terminate = multiprocessing.pool.Pool.terminate
    monkeypatch.setattr(multiprocessing.pool.Pool, "terminate",
                        lambda pool: (terminated.append(pool), terminate(pool))[1])

    def run(fn):
        if map_with == "parallel_map":
            return parallel.parallel_map(fn, list(range(600)), min_items=10, jobs=2)
        return parallel.parallel_map_meanwhile(fn, list(range(600)), lambda: None, min_items=10, jobs=2)[0]

    assert run(abs) == list(range(600))
    assert terminated == []  # (terminate() can hang: CPython gh-78178)
    with pytest.raises(ZeroDivisionError):
        run(lambda x: 1 // (x - 599))
    assert len(terminated) == 1 and not multiprocessing.active_children()


def test_run_beside_returns_the_childs_value_and_reports_its_failure():
    parent = os.getpid()
    assert parallel.run_beside(lambda: (os.getpid(), [1, 2]), jobs=2).result()[0] != parent
    assert parallel.run_beside(lambda: os.getpid(), jobs=1).result() == parent  # one process: inline
    failing = parallel.run_beside(lambda: {}["missing"], jobs=2)
    with pytest.raises(RuntimeError, match="KeyError"):
        failing.result()
    sleeping = parallel.run_beside(lambda: __import__("time").sleep(60), jobs=2)
    sleeping.cancel()  # killed and reaped at once, not after a minute
    with pytest.raises(RuntimeError, match="stopped"):
        sleeping.result()


def test_parallel_map_meanwhile_returns_both_and_keeps_nested_maps_in_process():
    import os

    items = list(range(1000))
    parent = os.getpid()
    done = []
    squares, pids = parallel.parallel_map_meanwhile(
        lambda x: (x * x, os.getpid()), items,
        lambda: set(parallel.parallel_map(lambda x: os.getpid(), items, min_items=10, jobs=2)),
        min_items=10, jobs=2, done=done.append)
    assert [s for s, _ in squares] == [x * x for x in items] and sum(done) == len(items)
    assert pids == {parent} and {pid for _, pid in squares} - {parent}  # workers mapped, the parent meanwhile
    assert parallel.parallel_map_meanwhile(str, [1, 2], lambda: "x", min_items=10, jobs=2) == (["1", "2"], "x")


@pytest.mark.parametrize("together", [0, 1, 300, 1000])
def test_items_mapped_together_go_to_one_worker_and_keep_their_order(together):
    import os

    items = list(range(1000))
    mapped, _ = parallel.parallel_map_meanwhile(lambda x: (x * x, os.getpid()), items, lambda: None,
                                                min_items=10, jobs=2, together=together)
    assert [square for square, _ in mapped] == [x * x for x in items]
    assert len({pid for _, pid in mapped[:together]}) == (1 if together else 0)
    assert os.getpid() not in {pid for _, pid in mapped}


def test_update_ingests_rebuilds_and_reports_what_changed(project, tmp_path, capsys):
    from site_src.cli import main

    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(project, live)
    age_everything(project / "content")
    digest = tmp_path / "update-digest.txt"
    day = corpus_tools.write_update_digest(digest, project, n_new=4, n_seen=1, serial=7)
    capsys.readouterr()
    code = main(["--root", str(project), "update", str(digest), "--out", str(live),
                 "--today", (day + dt.timedelta(days=1)).isoformat()])
    out = capsys.readouterr().out
    assert code == 0
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert lines["papers"].startswith("4 new, 1 updated")
    written = int(lines["pages"].split(" written")[0])
    unchanged = int(lines["pages"].split(" removed, ")[1].split(" unchanged")[0])
    assert written > 0 and unchanged > 0
    assert re.fullmatch(r"took \d+\.\d\d s \(ingest \d+\.\d\d s, build \d+\.\d\d s\)", out.splitlines()[-1])
    assert_like_a_clean_build(project, live, clean)


def test_a_serve_session_keeps_memos_in_memory_and_still_builds_the_same_site(project, tmp_path,
                                                                              monkeypatch):
    from site_src import survey_pages, taxonomy

    live, clean = tmp_path / "live", tmp_path / "clean"
    session: dict = {}
    incremental_build(project, live, session=session)
    assert set(session["memos"]) == {"corpus", "topics"}
    calls = []
    for module, name in ((survey_pages, "update_site_extras"), (taxonomy, "assign_topics")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **kw:
                            calls.append(_name) or _real(*a, **kw))
    for change in (change_note, edit_template):
        change(project)
        report = incremental_build(project, live, session=session)
        assert report.incremental.mode == "incremental"
        assert calls == [], "the session's memos were not used"
        full_build(project, clean)
        calls.clear()
        assert_same_tree(live, clean)
    delete_paper(project)
    incremental_build(project, live, session=session)
    assert_like_a_clean_build(project, live, clean)


def test_related_papers_are_recomputed_only_when_papers_text_changes(project, tmp_path, monkeypatch):
    from site_src import survey_pages

    live = tmp_path / "live"
    incremental_build(project, live)
    calls = []
    real = survey_pages.update_site_extras
    monkeypatch.setattr(survey_pages, "update_site_extras", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    change_note(project)
    edit_template(project)
    incremental_build(project, live)
    assert calls == []
    change_title(project)
    incremental_build(project, live)
    assert calls == [1]


@pytest.mark.parametrize("change", ["title", "note"])
def test_an_incremental_build_saves_its_memos_before_it_plans_pages(own_project, tmp_path, monkeypatch,
                                                                    change):
    """The parse and topic memos are final once the site is made; saved then, a memo due a
    new base is pickled before planning holds the pages, not at the build's peak."""
    from site_src import plan

    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    edited = sorted((own_project / "content" / "papers").glob("*.md"))[3 if change == "title" else 0]
    if change == "title":
        change_title(own_project)
    else:
        change_note(own_project)
    now = store.loads(edited.read_text(encoding="utf-8"), slug=edited.stem, source=edited.name)
    seen_when_planning = []
    planner = "plan_paper_pages" if change == "note" else "index_site"
    real = getattr(plan, planner)

    def planning(*args, **kwargs):
        on_disk = buildcache.load_corpus_memo(folder)["papers"][edited.name][1]
        seen_when_planning.append((on_disk.title, on_disk.notes))
        return real(*args, **kwargs)

    monkeypatch.setattr(plan, planner, planning)
    report = incremental_build(own_project, live)
    assert report.incremental.mode == "incremental"
    assert seen_when_planning == [(now.title, now.notes)]
    monkeypatch.undo()
    assert_like_a_clean_build(own_project, live, clean)


@pytest.mark.parametrize("case", ["child makes them", "child raises", "child dies", "build fails"])
def test_an_update_makes_its_search_index_and_exports_in_a_child_process(own_project, tmp_path, monkeypatch,
                                                                         case):
    from site_src.buildreport import BuildError

    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    before = tree(live)
    monkeypatch.setattr(buildcache, "EXTRAS_BESIDE_PAPERS", 1)
    parent, log = os.getpid(), tmp_path / "made-by.log"
    real = buildcache._memoised_outputs

    def logged(name, *args, **kwargs):
        beside = os.getpid() != parent
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{name} {'child' if beside else 'parent'}\n")
        if beside and case == "child raises":
            raise ValueError("no index in the child")
        if beside and case == "child dies":
            os._exit(1)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(buildcache, "_memoised_outputs", logged)
    if case == "build fails":
        def broken(page):
            raise ValueError("no page today")

        monkeypatch.setattr(buildcache, "_render_stashed", broken)
    add_digest(own_project)
    if case == "build fails":
        with pytest.raises(BuildError, match="no page today"):
            incremental_build(own_project, live, jobs=2)
        assert tree(live) == before  # (no file the child made is left beside its destination)
        return
    report = incremental_build(own_project, live, jobs=2)
    assert report.incremental.mode == "incremental"
    made_by = log.read_text(encoding="utf-8").split("\n")[:-1]
    if case == "child makes them":
        assert made_by == ["search child", "exports child"]
    else:  # (made here instead, in OUTPUT_PRODUCERS' order)
        assert made_by == ["search child", "exports parent", "search parent"]
    assert not [path for path in live.rglob("*") if path.name.startswith(".tmp-")]
    assert_like_a_clean_build(own_project, live, clean)


@pytest.fixture()
def own_project(tmp_path) -> Path:
    folder = tmp_path / "project"
    corpus_tools.write_corpus(folder, N_PAPERS, project=ROOT)
    age_everything(folder)
    return folder


def test_a_note_edit_plans_and_renders_only_that_papers_page(own_project, tmp_path, monkeypatch):
    from site_src import plan

    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    planned_everything = []
    real = plan.iter_pages
    monkeypatch.setattr(plan, "iter_pages", lambda *a, **k: planned_everything.append(1) or real(*a, **k))
    for _ in range(2):  # the second edit hits a file the last build saw as just modified
        change_note(own_project)
        report = incremental_build(own_project, live)
        assert (report.incremental.why, report.incremental.rendered) == ("only notes changed", 1)
        assert report.written == (f"papers/{first_paper(own_project).stem}/index.html",)
        assert planned_everything == []
        full_build(own_project, clean)
        planned_everything.clear()
        assert_same_tree(live, clean)


def test_a_note_edit_beside_any_other_change_plans_the_whole_site(own_project, tmp_path, monkeypatch):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    for other in (change_title, add_topic, edit_template, delete_paper):
        change_note(own_project)
        other(own_project)
        report = incremental_build(own_project, live)
        assert report.incremental.why != "only notes changed", other.__name__
        assert_like_a_clean_build(own_project, live, clean)


def test_a_build_after_a_serve_session_does_not_trust_the_older_memos_on_disk(own_project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    session: dict = {}
    incremental_build(own_project, live, session=session, allow_noop=False)
    path = first_paper(own_project)
    original = path.read_text(encoding="utf-8")
    change_title(own_project)
    edit_paper(path, title="A title the pages showed for a while")
    report = incremental_build(own_project, live, session=session)  # memos stay in memory only
    assert report.incremental.mode == "incremental"
    # Back to the title the memos on disk know, with a new note: only the note differs from
    # them, but the pages show the session's title, so everything must be planned again.
    paper = store.loads(original, slug=path.stem, source=path.name)
    import dataclasses

    path.write_text(store.dumps(dataclasses.replace(paper, notes="A note after the session.")), encoding="utf-8")
    report = incremental_build(own_project, live)
    assert report.incremental.why != "only notes changed"
    assert_like_a_clean_build(own_project, live, clean)


def test_build_timings_name_each_stage_with_its_seconds(own_project, tmp_path, capsys):
    from site_src import cli

    assert cli.main(["--root", str(own_project), "build", "--out", str(tmp_path / "out"), "--quiet",
                     "--timings", "--jobs", "1"]) == 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    mode, stages = re.fullmatch(r"build stages \((\w+)\): (.*)", line).groups()
    seconds = {name: float(value) for name, value in re.findall(r"(\w+) (\d+\.\d\d) s", stages)}
    assert mode == "full" and {"load", "plan", "render", "write"} <= set(seconds)
    assert all(value >= 0 for value in seconds.values())


def test_a_full_build_removes_the_tree_it_replaced_and_any_left_over_in_the_background(project, tmp_path,
                                                                                        monkeypatch):
    import time

    from site_src import writer

    monkeypatch.setattr(buildcache, "REMOVE_INLINE_FILES", 0)  # every replaced tree goes in the background
    age_everything(project)  # (files a test before wrote moments ago would be re-read: not a no-op)
    live = tmp_path / "live"
    incremental_build(project, live, full=True)
    leftover = tmp_path / "live.old-abcdefgh"  # a removal cut short by an earlier build's end
    (leftover / "papers").mkdir(parents=True)
    (leftover / "papers" / "x.html").write_text("x")
    report = incremental_build(project, live, full=True)
    assert report.incremental.mode == "full" and report.written == ()
    assert_like_a_clean_build(project, live, tmp_path / "clean")
    deadline = time.monotonic() + 30
    while writer.old_trees(live) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert writer.old_trees(live) == [] and not leftover.exists()
    assert incremental_build(project, live).incremental.mode == "no-op"


def test_a_no_op_build_reports_the_pages_and_files_of_the_build_it_keeps(project, tmp_path):
    live = tmp_path / "live"
    built = incremental_build(project, live, full=True)
    kept = incremental_build(project, live)
    assert kept.incremental.mode == "no-op"
    assert (kept.pages, kept.outputs) == (built.pages, built.outputs)
    assert kept.pages < kept.outputs  # (feeds, sitemap, search files are outputs, not pages)


def test_the_same_project_named_by_a_relative_root_rebuilds_nothing(project, tmp_path, monkeypatch):
    live = tmp_path / "live"
    incremental_build(project, live)
    monkeypatch.chdir(project.parent)
    config = load_config(Path(project.name), out_dir=Path(os.path.relpath(live, project.parent)))
    (project / "templates" / "unused-partial.html").write_text("unused\n", encoding="utf-8")
    try:
        report = buildcache.build(config)
    finally:
        (project / "templates" / "unused-partial.html").unlink()
    assert report.incremental.mode == "incremental", report.incremental.why
    assert report.incremental.rendered == 0, "a relative --root re-keyed pages"


def test_a_project_copied_with_its_cache_builds_nothing_again(own_project, tmp_path):
    built = incremental_build(own_project, own_project / "_site")
    copy = tmp_path / "copy"
    shutil.copytree(own_project, copy, copy_function=os.link)  # (files keep inode and mtime, as `cp -al`)
    report = incremental_build(copy, copy / "_site")
    assert report.incremental.mode == "no-op", report.incremental.why
    assert report.pages == built.pages
    add_digest(copy)
    report = incremental_build(copy, copy / "_site")
    assert report.incremental.mode == "incremental", report.incremental.why
    assert 0 < report.incremental.rendered < built.pages
    assert_like_a_clean_build(copy, copy / "_site", tmp_path / "clean")


def test_a_full_build_stopped_by_sigterm_removes_its_staging_tree_and_keeps_the_site(tmp_path):
    project = tmp_path / "project"
    corpus_tools.write_corpus(project, 1000, project=ROOT)
    live = project / "_site"
    incremental_build(project, live, full=True)
    before = tree(live)
    build = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "--root", str(project), "build", "--full", "--quiet"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, parallel.JOBS_VARIABLE: "2"})
    deadline = time.monotonic() + 120
    while not list(project.glob("_site.new-*")):  # (the new tree is staged while pages render)
        assert build.poll() is None, "the build ended before its staging tree was seen"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    build.terminate()  # SIGTERM, as `kill`, `timeout` and service managers send
    _, stderr = build.communicate(timeout=120)
    assert build.returncode == 143, stderr
    assert stderr.strip().endswith("build.py build: terminated")
    assert sorted(p.name for p in project.iterdir() if p.name.startswith("_site")) == ["_site"]
    assert tree(live) == before


def test_a_stop_while_the_staging_tree_is_being_made_leaves_no_tree(project, tmp_path, monkeypatch):
    live = tmp_path / "live"
    incremental_build(project, live)
    make_folder = tempfile.mkdtemp

    def made_then_stopped(*args, **kwargs):  # the signal lands just after the folder exists
        folder = make_folder(*args, **kwargs)
        if ".new-" in kwargs.get("prefix", ""):
            raise KeyboardInterrupt
        return folder

    monkeypatch.setattr(tempfile, "mkdtemp", made_then_stopped)
    with pytest.raises(KeyboardInterrupt):
        incremental_build(project, live, full=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live"]


def test_two_builds_of_one_output_folder_take_turns(project, tmp_path, capfd):
    live = tmp_path / "live"
    incremental_build(project, live)
    done = []
    with buildcache.build_lock(buildcache.cache_dir_for(project, live), live):
        second = threading.Thread(target=lambda: done.append(incremental_build(project, live)))
        second.start()
        second.join(1.0)
        assert second.is_alive() and not done, "a build ran while another one held the lock"
    second.join(60)
    assert done[0].incremental.mode == "no-op"
    assert "waiting for another build of" in capfd.readouterr().err


def test_a_staging_tree_left_by_a_killed_build_is_removed_by_the_next_build(project, tmp_path):
    live = tmp_path / "live"
    incremental_build(project, live)
    leftover = tmp_path / "live.new-k1lled0_"  # (tempfile.mkdtemp's shape: 8 characters)
    (leftover / "papers" / "half").mkdir(parents=True)
    (leftover / "papers" / "half" / "index.html").write_text("half a page", encoding="utf-8")
    not_ours = [tmp_path / "live.new-mine", tmp_path / "other.new-k1lled0_"]
    for folder in not_ours:
        folder.mkdir()
    assert incremental_build(project, live).incremental.mode == "no-op"
    deadline = time.monotonic() + 30  # (removed by a detached process, as old trees are)
    while leftover.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leftover.exists()
    assert all(folder.exists() for folder in not_ours)


def test_a_stale_or_corrupted_memo_of_paper_pages_inputs_is_not_trusted(own_project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    older = (folder / "pages.pickle").read_bytes()
    add_digest(own_project)
    incremental_build(own_project, live)
    change_title(own_project)
    (folder / "pages.pickle").write_bytes(older)  # a memo two builds old, with no delta
    (folder / "pages.delta.pickle").unlink(missing_ok=True)
    report = incremental_build(own_project, live)
    assert report.incremental.mode == "incremental"
    assert_like_a_clean_build(own_project, live, clean)
    corrupt(folder, ("pages.pickle", "pages.delta.pickle"), only_existing=True)
    delete_paper(own_project)
    report = incremental_build(own_project, live)
    assert report.incremental.mode == "incremental"
    assert_like_a_clean_build(own_project, live, clean)


def test_exports_reuse_the_survey_files_only_as_their_memo_made_them(own_project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    older = (folder / "exports.pickle").read_bytes()
    change_title(own_project)
    incremental_build(own_project, live)
    assert_like_a_clean_build(own_project, live, clean)
    assert not list(live.rglob(".tmp-*")), "an export's temp file was left behind"
    # A memo two builds old: the survey files on disk are not the ones it made, so no text
    # is read from them.
    (folder / "exports.pickle").write_bytes(older)
    add_digest(own_project)
    assert incremental_build(own_project, live).incremental.mode == "incremental"
    assert_like_a_clean_build(own_project, live, clean)
    corrupt(folder, ("exports.pickle",))
    delete_paper(own_project)
    assert incremental_build(own_project, live).incremental.mode == "incremental"
    assert_like_a_clean_build(own_project, live, clean)


def test_a_failed_update_leaves_no_export_file_half_made(own_project, tmp_path, monkeypatch):
    from site_src import writer

    live = tmp_path / "live"
    incremental_build(own_project, live)
    before = {path: path.read_bytes() for path in live.rglob("*") if path.is_file()}
    add_digest(own_project)

    def fail(*args, **kwargs):
        raise buildcache.BuildError("the disk is full")

    monkeypatch.setattr(writer, "check_dests", fail)  # (after the extras, before the write)
    with pytest.raises(buildcache.BuildError):
        incremental_build(own_project, live)
    assert {path: path.read_bytes() for path in live.rglob("*") if path.is_file()} == before


def test_the_exports_digests_the_build_reuses_are_those_of_their_bytes(own_project, tmp_path):
    live = tmp_path / "live"
    incremental_build(own_project, live)
    add_digest(own_project)
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    hashes = buildcache._load_exports_memo(folder).hashes
    manifest, _ = buildcache.read_manifest(folder)
    assert hashes
    for dest, content in hashes.items():
        assert buildcache.digest((live / dest).read_bytes()) == content == manifest.outputs[dest][1], dest


def test_an_edit_made_while_an_update_ingests_is_built_by_the_next_build(own_project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    age_everything(own_project / "content")
    folder = buildcache.cache_dir_for(own_project, live)
    _, listed = buildcache.load_corpus(own_project / "content", buildcache.load_corpus_memo(folder), recover=False)
    change_title(own_project)  # someone else's save, after ingest listed the store
    incremental_build(own_project, live, corpus_memo=listed, written=())
    report = incremental_build(own_project, live)
    assert report.incremental.mode == "incremental", "the edit was taken for built"
    assert_like_a_clean_build(own_project, live, clean)


def test_a_paper_added_or_removed_while_an_update_ingests_is_built_by_the_next_build(own_project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    age_everything(own_project / "content")
    folder = buildcache.cache_dir_for(own_project, live)
    papers = own_project / "content" / "papers"
    _, listed = buildcache.load_corpus(own_project / "content", buildcache.load_corpus_memo(folder), recover=False)
    assert listed[buildcache.PAPERS_LISTED_WHOLE] is True  # (so the build takes papers/ from it)
    # Someone else's changes after ingest listed the store: one paper added, one removed.
    first, second = sorted(papers.glob("*.md"))[:2]
    (papers / "a-paper-added-meanwhile.md").write_text(
        first.read_text(encoding="utf-8").replace("title:", "title: Added Meanwhile,", 1), encoding="utf-8")
    second.unlink()
    report = incremental_build(own_project, live, corpus_memo=listed, written=())
    assert "papers/a-paper-added-meanwhile/index.html" not in report.written  # (as listed)
    report = incremental_build(own_project, live)
    assert report.incremental.mode == "incremental", "the changes were taken for built"
    assert "papers/a-paper-added-meanwhile/index.html" in report.written
    assert_like_a_clean_build(own_project, live, clean)


def test_a_papers_folder_holding_other_entries_is_not_taken_from_the_parse_memo(own_project):
    papers = own_project / "content" / "papers"
    _, memo = buildcache.load_corpus(own_project / "content")
    assert memo[buildcache.PAPERS_LISTED_WHOLE] is True
    for odd in ("notes.txt", ".hidden.md", "sub/x.md"):
        path = papers / odd
        path.parent.mkdir(exist_ok=True)
        path.write_text("---\ntitle: x\n---\n", encoding="utf-8")
        _, memo = buildcache.load_corpus(own_project / "content")
        assert memo[buildcache.PAPERS_LISTED_WHOLE] is False, odd
        path.unlink()
        _, memo = buildcache.load_corpus(own_project / "content")
        assert memo[buildcache.PAPERS_LISTED_WHOLE] is (odd != "sub/x.md"), odd  # (the folder stays)


def test_a_corpus_loaded_through_the_snapshots_listing_is_the_one_a_listing_finds(own_project):
    papers = own_project / "content" / "papers"
    first, second = sorted(papers.glob("*.md"))[:2]
    (papers / "linked.md").symlink_to(first)  # a paper file reached through a symlink
    (papers / ".hidden.md").write_text(second.read_text(encoding="utf-8"), encoding="utf-8")
    os.symlink(papers / "missing.md", papers / "dangling.md")
    config = load_config(own_project)
    odd: set[str] = set()
    scanned_ns = time.time_ns()
    known = buildcache.snapshot_inputs(config, odd=odd)
    assert {"content/papers/linked.md", "content/papers/.hidden.md", "content/papers/dangling.md"} <= odd
    listed, listed_memo = buildcache.load_corpus(own_project / "content")
    snapped, snapped_memo = buildcache.load_corpus(own_project / "content", known=known, known_ns=scanned_ns,
                                                   odd=odd)
    assert snapped == listed
    assert {name: entry[0] for name, entry in snapped_memo["papers"].items()} == \
        {name: entry[0] for name, entry in listed_memo["papers"].items()}
    assert "linked.md" in snapped_memo["papers"] and ".hidden.md" in snapped_memo["papers"]
    # (update's: listed beforehand, in a child process)
    listings = buildcache.list_content(own_project / "content")
    given, given_memo = buildcache.load_corpus(own_project / "content", listings=listings)
    assert given == listed and given_memo["papers"] == listed_memo["papers"]
    assert given_memo["scanned_ns"] == listings["scanned_ns"]  # (the listing's time: before its stats)
    assert given_memo[buildcache.PAPERS_LISTED_WHOLE] is False  # (a symlink and a hidden file in there)


def test_a_check_and_a_snapshot_keep_the_last_builds_objects_where_nothing_changed(own_project, tmp_path):
    live = tmp_path / "live"
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    manifest, _ = buildcache.read_manifest(folder)
    paths = {id(dest) for dest in manifest.outputs}  # (a new base: each path is pickled once)
    assert manifest.tree and all(id(dest) in paths for dest in manifest.tree)
    past = time.time() - 300
    for path in [live, *live.rglob("*")]:
        if path.is_dir():
            os.utime(path, (past, past))  # (the folders only: their files stay as built)
    assert incremental_build(own_project, live).incremental.mode == "no-op"  # (records the folders' keys)
    manifest, _ = buildcache.read_manifest(folder)
    ok, keys = buildcache.check_tree(manifest, live)
    assert ok and keys == manifest.folders
    assert all(key is manifest.folders[name] for name, key in keys.items())
    assert all(any(name is recorded for recorded in manifest.folders) for name in list(keys)[:20])
    change_title(own_project)
    inputs = buildcache.snapshot_inputs(load_config(own_project, out_dir=live), previous=manifest.inputs)
    changed = {name for name, key in inputs.items() if manifest.inputs.get(name) != key}
    assert len(changed) == 1
    assert all(key is manifest.inputs[name] for name, key in inputs.items() if name not in changed)


def test_the_tree_checked_in_a_child_process_answers_as_check_tree(own_project, tmp_path, monkeypatch):
    monkeypatch.setattr(buildcache, "TREE_CHECK_BESIDE", 1)  # (any tree: in a child process)
    live = tmp_path / "live"
    incremental_build(own_project, live, jobs=2)
    folder = buildcache.cache_dir_for(own_project, live)
    manifest, _ = buildcache.read_manifest(folder)
    check = buildcache._TreeCheck(manifest, live, 2)
    assert check._beside is not None
    assert check.result() == buildcache.check_tree(manifest, live)
    assert check.result()[0]
    assert incremental_build(own_project, live, jobs=2).incremental.mode == "no-op"
    page = next(live.rglob("index.html"))
    page.write_bytes(page.read_bytes() + b"<!-- edited behind the build's back -->")
    check = buildcache._TreeCheck(manifest, live, 2)
    assert check.result() == (False, {})
    report = incremental_build(own_project, live, jobs=2)
    assert (report.incremental.mode, report.incremental.why) == ("full", buildcache.TREE_CHANGED)


def test_the_build_after_an_update_plans_nothing_when_nothing_changed_since(own_project, tmp_path, monkeypatch):
    from site_src.cli import main

    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    age_everything(own_project / "content")
    # Without the file system's stamp (fsclock), the files ingest wrote are racy for 2 s;
    # with it they are racy only if written in the tick the build's snapshot began.
    monkeypatch.setattr(fsclock, "file_system_now", lambda folder, *likes: None)
    digest = tmp_path / "update-digest.txt"
    day = corpus_tools.write_update_digest(digest, own_project, n_new=3, n_seen=1, serial=11)
    assert main(["--root", str(own_project), "update", str(digest), "--out", str(live), "--quiet",
                 "--today", (day + dt.timedelta(days=1)).isoformat()]) == 0
    # The papers and the digest record ingest wrote were just modified when that build looked:
    # read again by content, they are what it built, so the next build re-plans nothing.
    report = incremental_build(own_project, live)
    assert (report.incremental.why, report.incremental.rendered) == ("only notes changed", 0)
    assert report.written == () and report.removed == ()
    record = sorted((own_project / "content" / "digests").glob("*.yaml"))[-1]
    record.write_text(record.read_text(encoding="utf-8").replace("\n", "\n# a comment\n", 1), encoding="utf-8")
    assert incremental_build(own_project, live).incremental.why == "only notes changed"  # same record
    assert_like_a_clean_build(own_project, live, clean)


def test_no_build_leaves_objects_frozen_for_the_next_one_in_the_same_process(own_project, tmp_path):
    import gc

    live = tmp_path / "live"
    for kind in ("full", "incremental", "no-op"):
        if kind == "incremental":
            change_title(own_project)
            age_everything(own_project)  # (a file saved just now would keep the next build from a no-op)
        report = incremental_build(own_project, live)
        assert report.incremental.mode == kind
        assert gc.get_freeze_count() == 0, f"a {kind} build left objects frozen"


def test_list_pages_through_the_lists_memo_equal_a_clean_build_and_a_bad_memo_is_not_trusted(own_project,
                                                                                              tmp_path):
    site_yaml = own_project / "content" / "site.yaml"
    text = site_yaml.read_text(encoding="utf-8")
    site_yaml.write_text("\n".join(line for line in text.splitlines() if not line.startswith("per_page:"))
                         + "\nper_page: 5\n", encoding="utf-8")  # lists with archive pages
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    assert any("/page/" in dest for dest in tree(live)), "no archive pages: the test would miss them"
    older = (folder / "lists.pickle").read_bytes()
    for change in (add_digest, change_title, "stale memo", delete_paper, "corrupted memo", add_digest):
        if change == "stale memo":
            (folder / "lists.pickle").write_bytes(older)  # a memo two builds old
            change = add_digest
        elif change == "corrupted memo":
            corrupt(folder, ("lists.pickle",))
            change = change_title
        change(own_project)
        report = incremental_build(own_project, live)
        assert report.incremental.mode == "incremental"
        assert_like_a_clean_build(own_project, live, clean)


def test_template_keys_through_remembered_references_equal_fresh_ones_and_parse_nothing_again(own_project):
    project = own_project
    from site_src.render import make_environment

    env = make_environment(load_config(project))
    names = sorted(env.loader.list_templates())
    references: dict = {}
    assert buildcache.template_keys(env, names, references=references) == buildcache.template_keys(env, names)
    assert references and all(isinstance(found, frozenset) for found in references.values())

    def no_parsing(*args, **kwargs):
        raise AssertionError("a template seen before was parsed again")

    env.parse = no_parsing
    assert buildcache.template_keys(env, names, references=dict(references)) == \
        buildcache.template_keys(make_environment(load_config(project)), names)
    before = buildcache.template_keys(env, ["paper.html"], references=references)
    edit_template(project)  # a new source is parsed (and keyed) as it is
    env = make_environment(load_config(project))
    after = buildcache.template_keys(env, ["paper.html"], references=references)
    assert after != before and after == buildcache.template_keys(env, ["paper.html"])


def test_a_corrupted_or_foreign_memo_of_template_references_is_not_used(own_project, tmp_path):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    folder = buildcache.cache_dir_for(own_project, live)
    assert isinstance(buildcache.load_blob(folder / "templates.pickle"), dict)
    buildcache.save_blob(folder / "templates.pickle", {"planted": frozenset({"404.html"}), "x": "garbage"})
    add_digest(own_project)
    edit_template(own_project)
    incremental_build(own_project, live)
    assert_like_a_clean_build(own_project, live, clean)
    corrupt(folder, ("templates.pickle",))
    edit_template(own_project)
    report = incremental_build(own_project, live)
    assert report.incremental.mode == "incremental"
    assert_like_a_clean_build(own_project, live, clean)


def _stashes_beside(out: Path) -> list[Path]:
    from site_src.writer import STAGING_TREE, old_trees

    return old_trees(out, STAGING_TREE)


def test_pages_an_incremental_build_changes_come_from_its_workers_stash(own_project, tmp_path, monkeypatch):
    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    edit_template(own_project)  # every paper page changes
    monkeypatch.setattr(buildcache, "RENDER_IN_PARALLEL", 1)  # (workers, even for a small site)
    received: dict[str, type] = {}
    replace = buildcache._replace_file

    def recorded(path, data):
        received[Path(path).relative_to(live).as_posix()] = type(data)
        return replace(path, data)

    monkeypatch.setattr(buildcache, "_replace_file", recorded)
    report = incremental_build(own_project, live, jobs=2)
    paper_pages = {dest for dest in report.written if dest.startswith("papers/")}
    assert len(paper_pages) == len(list((own_project / "content" / "papers").glob("*.md")))
    assert {received[dest] for dest in paper_pages} == {buildcache.StagedFile}  # (no HTML came back)
    assert _stashes_beside(live) == []
    assert_like_a_clean_build(own_project, live, clean)


def test_a_render_that_fails_half_way_leaves_the_site_as_it_was_and_no_stash(own_project, tmp_path, monkeypatch):
    live = tmp_path / "live"
    incremental_build(own_project, live)
    before = tree(live)
    last = sorted((own_project / "content" / "papers").glob("*.md"))[-1].stem
    path = own_project / "templates" / "paper.html"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("</article>", "<p>Changed.</p>{% if p.slug == '" + last
                                 + "' %}{{ p.title // 0 }}{% endif %}</article>", 1), encoding="utf-8")
    monkeypatch.setattr(buildcache, "RENDER_IN_PARALLEL", 1)
    with pytest.raises(buildcache.BuildError):
        incremental_build(own_project, live, jobs=2)
    assert tree(live) == before
    assert _stashes_beside(live) == []


@pytest.mark.parametrize("defer_from", [1, 10**9])
def test_a_template_edit_makes_paper_views_where_it_renders_them_when_they_are_many(own_project, tmp_path,
                                                                                   monkeypatch, defer_from):
    from site_src import plan

    live, clean = tmp_path / "live", tmp_path / "clean"
    incremental_build(own_project, live)
    edit_template(own_project)
    monkeypatch.setattr(buildcache, "DEFER_VIEWS_PAGES", defer_from)
    made_where_rendered = []
    real = plan.paper_view
    monkeypatch.setattr(plan, "paper_view", lambda ix, slug: made_where_rendered.append(slug) or real(ix, slug))
    report = incremental_build(own_project, live, jobs=1)  # (in this process: the calls are seen)
    papers = sorted(path.stem for path in (own_project / "content" / "papers").glob("*.md"))
    assert sum(dest.startswith("papers/") for dest in report.written) == len(papers)
    assert sorted(made_where_rendered) == (papers if defer_from == 1 else [])
    assert _stashes_beside(live) == []
    assert_like_a_clean_build(own_project, live, clean)


def wait_for_the_next_tick(project: Path, live: Path, path: Path) -> None:
    """Wait until a file made now in the build's cache folder is stamped later than `path`:
    the file system's clock (fsclock) has left the tick of path's last change."""
    folder = buildcache.cache_dir_for(project, live)
    while fsclock.file_system_now(folder, path) <= path.stat().st_mtime_ns:
        time.sleep(0.005)


def test_the_build_after_an_edit_is_a_no_op_once_the_file_systems_clock_has_moved_on(project, tmp_path):
    live = tmp_path / "live"
    age_everything(project)
    incremental_build(project, live)
    paper = first_paper(project)
    edit_paper(paper, notes="Read this one again.")  # (written moments before the next build)
    wait_for_the_next_tick(project, live, paper)
    assert incremental_build(project, live).incremental.mode == "incremental"
    # Its snapshot took the note's key in a later tick than the note's change: any change
    # since would show in the key, so nothing is re-read (with a margin on our clock, the
    # note stayed suspect for two seconds and this build planned again).
    assert incremental_build(project, live).incremental.mode == "no-op"


def test_an_input_changed_in_the_tick_of_the_snapshot_is_read_again(project, tmp_path, monkeypatch):
    live, clean = tmp_path / "live", tmp_path / "clean"
    age_everything(project)
    incremental_build(project, live)
    paper = first_paper(project)
    edit_paper(paper, notes="First version.")
    changed_ns = paper.stat().st_mtime_ns
    # The build's stamp falls in the tick of the note's change...
    monkeypatch.setattr(fsclock, "file_system_now", lambda folder, *likes: changed_ns)
    assert incremental_build(project, live).incremental.mode == "incremental"
    # ...and the note changes again within that tick: same size, same mtime, same inode.
    edit_paper(paper, notes="Other version.")
    os.utime(paper, ns=(changed_ns, changed_ns))
    monkeypatch.undo()
    report = incremental_build(project, live)
    assert report.incremental.mode != "no-op"
    assert_like_a_clean_build(project, live, clean)
    assert "Other version." in (live / "papers" / paper.stem / "index.html").read_text(encoding="utf-8")
