"""Cache files: a payload behind a format line, the code version and a digest (site_src/cachefiles.py)."""
from __future__ import annotations

from site_src import cachefiles


def test_a_cache_file_of_another_format_is_not_loaded(tmp_path):
    cachefiles.save_blob(tmp_path / "blob.pickle", {"a": 1})
    assert cachefiles.load_blob(tmp_path / "blob.pickle") == {"a": 1}
    data = (tmp_path / "blob.pickle").read_bytes()
    (tmp_path / "blob.pickle").write_bytes(data.replace(cachefiles.CACHE_FORMAT.encode(), b"paper-atlas-cache 0", 1))
    assert cachefiles.load_blob(tmp_path / "blob.pickle") is None


def test_a_cache_file_written_by_other_code_is_not_loaded(tmp_path, monkeypatch):
    cachefiles.save_blob(tmp_path / "blob.pickle", {"a": 1})
    monkeypatch.setattr(cachefiles, "_CODE_VERSION", "other code")
    assert cachefiles.load_blob(tmp_path / "blob.pickle") is None
    assert cachefiles.load_blob(tmp_path / "blob.pickle", any_code=True) == {"a": 1}
