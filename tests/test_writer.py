"""The writer: atomic swaps, collisions named, unchanged files left alone, nothing outside the folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from site_src.writer import (Output, WriteError, check_dests, check_outputs, move_aside, old_trees, remove_tree_later,
                             write_in_place, write_site)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_first_write_creates_every_file(tmp_path):
    report = write_site([Output("index.html", b"home"), Output("papers/a/index.html", b"a")], tmp_path / "site")
    assert tree(tmp_path / "site") == {"index.html": b"home", "papers/a/index.html": b"a"}
    assert sorted(report.written) == ["index.html", "papers/a/index.html"]


def test_unchanged_files_keep_their_inode_and_stale_files_go(tmp_path):
    site = tmp_path / "site"
    write_site([Output("index.html", b"home"), Output("old.html", b"old")], site)
    before = (site / "index.html").stat()
    report = write_site([Output("index.html", b"home"), Output("new.html", b"new")], site)
    after = (site / "index.html").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert report.written == ("new.html",) and report.removed == ("old.html",) and report.unchanged == 1
    assert tree(site) == {"index.html": b"home", "new.html": b"new"}


def test_two_outputs_claiming_one_path_fail_naming_both_sources(tmp_path):
    with pytest.raises(WriteError) as caught:
        write_site([Output("papers/x/index.html", b"1", "content/papers/x.md"),
                    Output("papers/x/index.html", b"2", "search index")], tmp_path / "site")
    assert "content/papers/x.md" in str(caught.value) and "search index" in str(caught.value)
    assert not (tmp_path / "site").exists()


def test_paths_that_differ_only_in_case_collide():
    with pytest.raises(WriteError):
        check_outputs([Output("A.html", b"", "one"), Output("a.html", b"", "two")])


def test_a_file_and_a_folder_of_one_name_collide():
    with pytest.raises(WriteError):
        check_outputs([Output("papers", b"", "one"), Output("papers/index.html", b"", "two")])


CHECKED = ("index.html", "papers/a/index.html", "papers/b/index.html", "search/data/x.bin")


@pytest.mark.parametrize("new", [
    "INDEX.html",                    # one file with a checked one on a case-insensitive disk
    "papers/a/index.html/more.html",  # inside a checked file
    "papers/A",                       # a file where checked files need a folder
    "search",
    "../escape.html",                 # unsafe
])
def test_a_new_destination_is_checked_against_the_checked_ones(new):
    check_dests(CHECKED, CHECKED)  # (known to pass: nothing to look at)
    with pytest.raises(WriteError):
        check_dests((*CHECKED, new), CHECKED)
    with pytest.raises(WriteError):
        check_dests((*CHECKED, new))


def test_new_destinations_beside_checked_ones_pass():
    check_dests((*CHECKED[1:], "papers/c/index.html", "search/data/y.bin", "papers/index.html"), CHECKED)


def test_two_new_destinations_that_collide_are_found_among_checked_ones():
    with pytest.raises(WriteError):
        check_dests((*CHECKED, "new/Page.html", "new/page.html"), CHECKED)
    with pytest.raises(WriteError):
        check_dests((*CHECKED, "new", "new/page.html"), CHECKED)


@pytest.mark.parametrize("dest", ["../escape.html", "/abs.html", "a/../../b", "", "a//b", "a\\b"])
def test_paths_leaving_the_output_folder_are_refused(tmp_path, dest):
    with pytest.raises(WriteError):
        write_site([Output(dest, b"x")], tmp_path / "site")
    assert not (tmp_path / "escape.html").exists()


def test_a_symlinked_folder_cannot_redirect_a_write_outside(tmp_path):
    site = tmp_path / "site"
    write_site([Output("index.html", b"home")], site)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, site / "papers")
    with pytest.raises(WriteError):
        write_in_place([Output("index.html", b"home"), Output("papers/x.html", b"x")], site)
    assert list(outside.iterdir()) == []


def test_a_failed_write_leaves_the_previous_site_and_no_temp_folder(tmp_path):
    site = tmp_path / "site"
    write_site([Output("index.html", b"v1")], site)
    with pytest.raises(WriteError):
        write_site([Output("index.html", b"v2"), Output("../x", b"bad")], site)
    assert tree(site) == {"index.html": b"v1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_refuses_to_replace_a_folder_that_is_not_a_built_site(tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(WriteError):
        write_site([Output("index.html", b"x")], precious)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_refuses_an_output_folder_that_holds_the_project(tmp_path):
    with pytest.raises(WriteError):
        write_site([Output("index.html", b"x")], tmp_path, protected=[tmp_path / "content"])


def test_in_place_writes_only_changes_and_removes_stale_files_and_empty_folders(tmp_path):
    site = tmp_path / "site"
    write_in_place([Output("index.html", b"a"), Output("papers/x/index.html", b"x")], site)
    before = (site / "index.html").stat().st_mtime_ns
    report = write_in_place([Output("index.html", b"a"), Output("feed.xml", b"f")], site)
    assert (site / "index.html").stat().st_mtime_ns == before
    assert report.written == ("feed.xml",) and report.removed == ("papers/x/index.html",)
    assert not (site / "papers").exists()


def test_the_old_tree_can_be_left_for_the_caller_to_remove(tmp_path):
    site = tmp_path / "site"
    write_site([Output("index.html", b"v1")], site)
    report = write_site([Output("index.html", b"v2")], site, remove_old=False)
    assert report.old_tree is not None and (report.old_tree / "index.html").read_bytes() == b"v1"
    assert (site / "index.html").read_bytes() == b"v2"


def _wait_until_gone(path: Path, seconds: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def test_old_trees_are_only_the_output_folders_moved_aside(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    aside = move_aside(site)
    assert not site.exists() and aside.parent == tmp_path and aside.name.startswith("site.old-")
    for name in ("site.old-backup", "site.old-12345678x", "other.old-abcdefgh", "site.new-abcdefgh"):
        (tmp_path / name).mkdir()
    (tmp_path / "site.old-abcdefgh").write_text("a file, not a tree")
    assert old_trees(site) == [aside]


def test_a_tree_removed_later_goes_while_the_caller_carries_on(tmp_path):
    doomed = tmp_path / "site.old-abcdefgh"
    (doomed / "papers" / "a").mkdir(parents=True)
    (doomed / "papers" / "a" / "index.html").write_bytes(b"a")
    keep = tmp_path / "site"
    keep.mkdir()
    remove_tree_later(doomed)
    assert _wait_until_gone(doomed)
    assert keep.is_dir()


@pytest.mark.parametrize("count", [3, 80])  # (one thread, and the writer threads)
def test_write_changed_replaces_files_removes_stale_ones_and_the_folders_they_empty(tmp_path, count):
    from site_src.buildcache import write_changed

    site = tmp_path / "site"
    old = {f"papers/p{n}/index.html": b"old" for n in range(count)}
    old.update({"papers/index.html": b"list", "search/data/a.bin": b"a", "search/data/b.bin": b"b"})
    write_changed(site, old, ())
    assert tree(site) == old
    changed = {f"papers/p{n}/index.html": b"new" for n in range(0, count, 2)}
    stale = [f"papers/p{n}/index.html" for n in range(1, count, 2)] + ["search/data/a.bin"]
    write_changed(site, changed, stale)
    want = {**{k: v for k, v in old.items() if k not in stale}, **changed}
    assert tree(site) == want
    folders = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_dir()}
    assert folders == {"papers", "search", "search/data"} | {f"papers/p{n}" for n in range(0, count, 2)}
    with pytest.raises(ValueError):
        write_changed(site, {"../outside.html": b"x"}, ())
