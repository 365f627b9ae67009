"""Cache files: a payload behind a format line, the code version and a digest (site_src/cachefiles.py)."""
from __future__ import annotations

from site_src import cachefiles, codeversion


def test_a_cache_file_of_another_format_is_not_loaded(tmp_path):
    cachefiles.save_blob(tmp_path / "blob.pickle", {"a": 1})
    assert cachefiles.load_blob(tmp_path / "blob.pickle") == {"a": 1}
    data = (tmp_path / "blob.pickle").read_bytes()
    (tmp_path / "blob.pickle").write_bytes(data.replace(cachefiles.CACHE_FORMAT.encode(), b"paper-atlas-cache 0", 1))
    assert cachefiles.load_blob(tmp_path / "blob.pickle") is None


def test_a_cache_file_written_by_other_code_is_not_loaded(tmp_path, monkeypatch):
    cachefiles.save_blob(tmp_path / "blob.pickle", {"a": 1})
    monkeypatch.setattr(codeversion, "_CODE_VERSION", "other code")
    assert cachefiles.load_blob(tmp_path / "blob.pickle") is None
    assert cachefiles.load_blob(tmp_path / "blob.pickle", any_code=True) == {"a": 1}


def test_library_versions_are_the_ones_importlib_metadata_gives():
    import importlib.metadata

    assert codeversion.library_versions() == {name: importlib.metadata.version(name)
                                             for name in codeversion.LIBRARIES}


def test_library_versions_come_from_the_first_metadata_folder_on_the_path(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in ("Jinja2-3.1.6.dist-info", "markdown_it_py-4.3.0.dist-info", "PyYAML-6.0.1-py3.11.egg-info",
                   "jinja2-docs", "notes.txt"):
        (first / folder).mkdir(parents=True)
    (second / "jinja2-2.0.0.dist-info").mkdir(parents=True)
    (second / "markupsafe-3.0.4.dist-info").mkdir(parents=True)
    versions = codeversion.library_versions(
        ("jinja2", "markdown-it-py", "pyyaml", "markupsafe", "surely-not-installed-here"),
        path=[str(tmp_path / "missing"), str(first), str(second)])
    assert versions == {"jinja2": "3.1.6", "markdown-it-py": "4.3.0", "pyyaml": "6.0.1",
                        "markupsafe": "3.0.4", "surely-not-installed-here": "?"}
