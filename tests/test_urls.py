"""urls: the only place that decides paths; links are relative so any sub-path and file:// work."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from site_src import urls


@pytest.mark.parametrize("from_url, to_url, expected", [
    ("", "topics/x/", "topics/x/index.html"),
    ("papers/a/", "topics/x/", "../../topics/x/index.html"),
    ("papers/a/", "", "../../index.html"),
    ("topics/x/page/2/", "topics/x/", "../../index.html"),
    ("papers/a/", "feed.xml", "../../feed.xml"),
    ("papers/a/", "papers/a/#cite", "index.html#cite"),
    ("papers/a/", "#cite", "#cite"),
    ("404.html", "topics/", "topics/index.html"),
])
def test_links_are_relative_and_open_from_disk(from_url, to_url, expected):
    assert urls.relative(from_url, to_url) == expected


def test_directory_links_drop_index_html():
    assert urls.relative("papers/a/", "topics/x/", directory_links=True) == "../../topics/x/"
    assert urls.relative("papers/a/", "", directory_links=True) == "../../"
    assert urls.relative("", "", directory_links=True) == "./"


def test_rooted_links_serve_the_404_page_at_any_depth():
    assert urls.rooted("/survey/", "topics/") == "/survey/topics/index.html"


def test_archive_pages_are_numbered_from_the_oldest_under_the_list():
    base = urls.url_for("topic", "label-noise")
    assert base == "topics/label-noise/"
    assert urls.archive_page(base, 1) == "topics/label-noise/page/1/"
    assert urls.archive_page(base, 3) == "topics/label-noise/page/3/"
    with pytest.raises(ValueError):
        urls.archive_page(base, 0)


def test_numbered_lists_start_at_their_base_url():
    assert urls.paged("digests/d1/", 1) == "digests/d1/"
    assert urls.paged("digests/d1/", 2) == "digests/d1/page/2/"


@given(st.text())
def test_segments_from_any_key_stay_inside_one_folder(key):
    segment = urls.segment(key)
    assert segment and "/" not in segment and segment not in (".", "..")
    assert urls.is_safe_dest(urls.dest_for(urls.url_for("topic", key)))


_SEGMENT = st.sampled_from(["papers", "topics", "a", "b", "page", "2", "x.y"])


@given(st.lists(_SEGMENT, max_size=4), st.lists(_SEGMENT, max_size=4), st.booleans(), st.booleans())
def test_relative_links_agree_with_posix_path_arithmetic(from_parts, to_parts, to_folder, directory_links):
    import posixpath

    from_url = "".join(part + "/" for part in from_parts)
    to_url = "".join(part + "/" for part in to_parts) if to_folder else "/".join(to_parts + ["feed.xml"])
    link = urls.relative(from_url, to_url, directory_links=directory_links)
    resolved = posixpath.normpath(posixpath.join(from_url or ".", link))
    expected_target = to_url + ("index.html" if to_folder and not directory_links else "")
    assert resolved == posixpath.normpath(expected_target or ".")
    assert not link.startswith("/")


def test_keyed_dests_are_the_dests_of_url_for_safe_keys_or_not():
    keys = ["robust-training", "v2.1-notes", "Label Noise", "..", "", "a" * 121, "x" * 120, "ünïcode", "a/b"]
    for kind in ("paper", "topic", "author"):
        assert urls.keyed_dests(kind, keys) == {key: urls.dest_for(urls.url_for(kind, key)) for key in keys}
