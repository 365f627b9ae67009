"""A no-op `build` told from the last build's record, before the build's imports (site_src/quicknoop.py).

Every test builds its own project into the default output folder (`_site`), the only one
that keeps a record, and asks the answer what it makes of the project after one change.
"""
from __future__ import annotations

import datetime as dt
import marshal
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from site_src import buildcache, codeversion, fsclock, quicknoop
from site_src.config import load_config
from test_incremental import (ROOT, add_digest, age_everything, change_note, corpus_tools, delete_paper,
                              edit_config, edit_template, first_paper)


def build(project: Path, *, record: bool = True, **options):
    """A build as `build.py build` runs it (with its no-op record unless told otherwise)."""
    return buildcache.build(load_config(project, base_url=options.pop("base_url", None)),
                            noop_record=record, **options)


def record_path(project: Path) -> Path:
    return project / quicknoop.DEFAULT_CACHE_DIR / quicknoop.RECORD


@pytest.fixture
def project(tmp_path) -> Path:
    """A 12-paper project built once, its files made minutes ago (out of the racy tick)."""
    if codeversion.source_keys() is None:  # (a source saved just before the tests began)
        time.sleep(2.1)
        codeversion._CODE_VERSION = None  # (the same sources: the same version, now settled)
        assert codeversion.source_keys() is not None
    folder = tmp_path / "project"
    corpus_tools.write_corpus(folder, 12, project=ROOT)
    age_everything(folder)
    report = build(folder)
    assert report.incremental.mode == "full"
    assert record_path(folder).exists()
    return folder


def cli(project: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess:
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run([sys.executable, *flags, str(ROOT / "build.py"), "--root", str(project), *args],
                          capture_output=True, text=True, timeout=300)


def imported(stderr: str) -> set[str]:
    """The modules `-X importtime` reports."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_the_answer_reads_the_cache_folder_of_the_default_output_folder(tmp_path):
    assert buildcache.cache_dir_for(tmp_path, tmp_path / "_site") == tmp_path / quicknoop.DEFAULT_CACHE_DIR


def test_a_build_with_nothing_to_do_is_told_without_the_builds_modules_and_says_what_the_check_says(project):
    quick = cli(project, "build", importtime=True)
    assert quick.returncode == 0, quick.stderr
    modules = imported(quick.stderr)
    assert "site_src.quicknoop" in modules and "site_src.cli" not in modules and "site_src.buildcache" not in modules
    record_path(project).unlink()
    checked = cli(project, "build", importtime=True)
    assert checked.returncode == 0, checked.stderr
    assert "site_src.buildcache" in imported(checked.stderr)
    def without_seconds(text: str) -> str:
        return re.sub(r" in \d+\.\d\d s:", " in N s:", text)

    assert without_seconds(quick.stdout) == without_seconds(checked.stdout)
    assert "nothing changed" in quick.stdout and "0 written" in quick.stdout
    assert record_path(project).exists()  # (the full check left a new one)
    assert cli(project, "build", "--quiet").stdout == ""


def test_the_content_problems_of_the_last_build_are_reported_again(project):
    broken = project / "content" / "papers" / "zz-broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    age_everything(project)
    build(project)
    build(project)  # (the build that wrote pages left folders to list; this one keys them)
    assert quicknoop.nothing_changed(str(project)) is not None
    result = cli(project, "build", "--quiet")
    assert result.returncode == 0 and "zz-broken.md" in result.stderr, result.stderr


def edit_output_in_place(project: Path) -> None:
    page = sorted((project / "_site" / "papers").glob("*/index.html"))[0]
    with open(page, "r+b") as handle:
        handle.write(b"<!-- vandalised -->")


def add_paper_file(project: Path) -> None:
    source = first_paper(project)
    shutil.copy(source, source.with_name("zz-copy.md"))


CHANGES = {
    "edited note": change_note,
    "new paper file": add_paper_file,
    "deleted paper": delete_paper,
    "new digest": add_digest,
    "template edit": edit_template,
    "config edit": edit_config,
    "output edited in place": edit_output_in_place,
    "output added": lambda project: (project / "_site" / "papers" / "extra.html").write_text("not ours"),
    "output removed": lambda project: (project / "_site" / "sitemap.xml").unlink(),
    "manifest removed": lambda project: (project / quicknoop.DEFAULT_CACHE_DIR / "manifest.delta.pickle").unlink(),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_kind_of_change_sends_the_build_the_usual_way(project, change):
    assert quicknoop.nothing_changed(str(project)) is not None
    CHANGES[change](project)
    assert quicknoop.nothing_changed(str(project)) is None
    assert quicknoop.answer(["--root", str(project), "build"]) is None
    assert build(project).incremental.mode != "no-op"


@pytest.mark.parametrize("change", ["edit", "new module", "library"])
def test_a_change_to_the_code_or_its_libraries_sends_the_build_the_usual_way(project, tmp_path, monkeypatch, change):
    # The code is a copy of site_src, so that one of its files can be edited.
    package = tmp_path / "code" / "site_src"
    shutil.copytree(codeversion.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    age_everything(package.parent)
    monkeypatch.setattr(codeversion, "PACKAGE", str(package))
    monkeypatch.setattr(codeversion, "_CODE_VERSION", None)
    monkeypatch.setattr(codeversion, "_SOURCE_KEYS", None)
    monkeypatch.setattr(codeversion, "_LIBRARY_VERSIONS", {})
    build(project)  # (the same code version: a no-op, which leaves the copy's record)
    assert quicknoop.nothing_changed(str(project)) is not None
    if change == "edit":
        with open(package / "render.py", "a", encoding="utf-8") as handle:
            handle.write("\n# edited\n")
    elif change == "new module":
        (package / "search" / "extra.py").write_text("X = 1\n", encoding="utf-8")
    else:
        other = tmp_path / "other-path"
        (other / "jinja2-99.0.dist-info").mkdir(parents=True)
        monkeypatch.setattr(sys, "path", [str(other), *sys.path])
    assert quicknoop.nothing_changed(str(project)) is None


def test_sources_changed_moments_before_the_build_are_vouched_for_by_the_file_systems_clock(
        project, tmp_path, monkeypatch):
    # As after `make`, which compiles the package just before the first build.
    package = tmp_path / "code" / "site_src"
    shutil.copytree(codeversion.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [package, *package.rglob("*")]:
        os.utime(path)  # (changed now)
    monkeypatch.setattr(codeversion, "PACKAGE", str(package))
    monkeypatch.setattr(codeversion, "_CODE_VERSION", None)
    monkeypatch.setattr(codeversion, "_SOURCE_KEYS", None)
    monkeypatch.setattr(codeversion, "_LIBRARY_VERSIONS", {})
    assert codeversion.source_keys() is None  # (too recent for our clock's margin)
    build(project)
    assert quicknoop.nothing_changed(str(project)) is not None
    with open(package / "render.py", "a", encoding="utf-8") as handle:
        handle.write("\n# edited\n")
    assert quicknoop.nothing_changed(str(project)) is None


def test_a_build_with_other_settings_removes_the_record(project):
    build(project, record=False, base_url="https://example.org/elsewhere/")
    assert not record_path(project).exists()
    assert quicknoop.nothing_changed(str(project)) is None
    assert build(project).incremental.mode != "no-op"  # (the settings of content/site.yaml again)


def test_no_record_is_left_while_an_input_is_in_the_tick_of_the_check(project):
    path = first_paper(project)
    path.write_text(path.read_text(encoding="utf-8") + "\nLater.\n", encoding="utf-8")
    future = (dt.datetime.now() + dt.timedelta(minutes=5)).timestamp()
    os.utime(path, (future, future))  # (after the file system's now: racy, whatever the tick)
    build(project)
    assert not record_path(project).exists()
    assert build(project).incremental.mode != "no-op"  # (read again, as the record would not be)


@pytest.mark.parametrize("settle", [True, False])
def test_a_build_that_wrote_pages_keys_their_folders_and_leaves_a_record(project, monkeypatch, settle):
    if not settle:  # (as on a file system whose clock ticks slower than the build waits)
        monkeypatch.setattr(buildcache, "settle_folder_keys", lambda out_dir, tree, folders, clock_dir: dict(folders))
    change_note(project)
    age_everything(project / "content")
    report = build(project)
    assert report.incremental.mode == "incremental" and report.written
    assert record_path(project).exists() == settle
    if not settle:  # the folders written into are listed by the next check, which leaves it
        assert build(project).incremental.mode == "no-op"
    assert quicknoop.nothing_changed(str(project)) is not None
    manifest, _ = buildcache.read_manifest(project / quicknoop.DEFAULT_CACHE_DIR)
    assert set(manifest.folders) == buildcache.tree_folders(manifest.tree)


@pytest.mark.parametrize("damage", ["garbage", "cut short", "another shape", "another root spelling"])
def test_a_damaged_or_foreign_record_is_not_trusted(project, damage):
    path = record_path(project)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00garbage" * 10)
    elif damage == "cut short":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "another shape":
        record = marshal.loads(data)
        record["files"] = {path: [1] for path in record["files"]}
        path.write_bytes(marshal.dumps(record))
    else:
        assert quicknoop.nothing_changed(str(project) + "/") is None
        return
    assert quicknoop.nothing_changed(str(project)) is None
    assert build(project).incremental.mode == "no-op"
    assert quicknoop.nothing_changed(str(project)) is not None  # (the check wrote a good one)


@pytest.mark.parametrize("argv, expected", [
    (["build"], (".", False)),
    (["--root", "site", "build", "--quiet"], ("site", True)),
    (["--root=site", "build", "--jobs", "2", "--quiet"], ("site", True)),
    (["build", "--jobs=1"], (".", False)),
    (["build", "--out", "elsewhere"], None),
    (["build", "--base-url", "https://example.org/"], None),
    (["build", "--full"], None),
    (["build", "--timings"], None),
    (["build", "--jobs", "many"], None),
    (["build", "--jobs"], None),
    (["update", "digest.txt"], None),
    (["--root", "site"], None),
    (["--version"], None),
    ([], None),
])
def test_only_a_plain_build_is_answered(argv, expected):
    assert quicknoop.plain_build(argv) == expected


def test_after_an_update_a_paper_file_added_by_hand_is_still_seen(project, tmp_path):
    # (update's build of a big site takes content/papers/ from ingest's listing; a small one lists it)
    digest = tmp_path / "next-digest.txt"
    day = corpus_tools.write_update_digest(digest, project, n_new=3, n_seen=1)
    result = cli(project, "update", str(digest), "--today", str(day + dt.timedelta(days=1)), "--quiet")
    assert result.returncode == 0, result.stderr
    assert quicknoop.nothing_changed(str(project)) is not None  # (the update's build left a record)
    add_paper_file(project)
    assert quicknoop.nothing_changed(str(project)) is None
    assert build(project).incremental.mode != "no-op"


def test_python_starts_without_an_import_hook_from_the_editable_install():
    # The default editable install's hook imports pathlib and importlib.util at every start,
    # ~15-20 ms of each command; `make` installs the project with a plain path (Makefile).
    started = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True,
                             text=True, timeout=60)
    hooks = sorted(name for name in imported(started.stderr) if "editable" in name)
    assert not hooks, f"{hooks}: reinstall with `make` (pip install -e . --config-settings editable_mode=strict)"


def test_no_record_vouches_for_a_folder_of_inputs_it_did_not_list(project):
    # (update's build of a big site takes content/papers/ from ingest's listing, unlisted)
    folder = project / quicknoop.DEFAULT_CACHE_DIR
    config = load_config(project)
    manifest, _ = buildcache.read_manifest(folder)
    input_folders: dict = {}
    assert buildcache.snapshot_inputs(config, folder_keys=input_folders) == manifest.inputs
    record_path(project).unlink()
    unlisted = {name: key for name, key in input_folders.items() if name != "content/papers/"}
    limit = buildcache.racy_from(manifest.inputs_stamp_ns, manifest.scanned_ns)
    buildcache.leave_noop_record(config, folder, manifest, unlisted, limit)
    assert not record_path(project).exists()
    buildcache.leave_noop_record(config, folder, manifest, input_folders, limit)
    assert quicknoop.nothing_changed(str(project)) is not None


def test_a_folder_of_inputs_changed_after_the_last_build_gets_a_record_from_the_next_check(project):
    # update leaves its work folder (content/.ingest, not an input) changed after its build
    (project / "content" / ".ingest").mkdir()
    changed = (project / "content").stat().st_mtime_ns
    while fsclock.file_system_now(project / quicknoop.DEFAULT_CACHE_DIR, project) <= changed:
        time.sleep(0.001)  # (a change in the tick of the next look stays racy: fsclock)
    assert quicknoop.nothing_changed(str(project)) is None  # (content/ has another key)
    assert build(project).incremental.mode == "no-op"
    assert quicknoop.nothing_changed(str(project)) is not None
