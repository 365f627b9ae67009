"""The shared records: they pickle (parse memos, worker processes) to equal records."""
from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

from site_src.model import Appearance, DigestRecord, Paper, Problem


def test_records_pickle_as_their_fields_in_order_and_load_equal():
    paper = Paper(slug="a", title="T", authors=("Ann", "Bo"), published_at=dt.date(2024, 1, 2),
                  digests=(Appearance(digest="d1", line=3, position=1, upvotes=7),), notes="n")
    record = DigestRecord(id="d1", date=dt.date(2025, 12, 12), format="hf-text", source_name="d1.txt",
                          raw_file="d1.txt", sha256="0" * 64, papers=("a",), new_papers=("a",))
    for value in (paper, record, Problem("content/papers/a.md", 3, "bad", "warning"), paper.digests[0]):
        assert value.__getstate__() == tuple(getattr(value, f.name) for f in dataclasses.fields(value))
        for protocol in (2, pickle.HIGHEST_PROTOCOL):
            loaded = pickle.loads(pickle.dumps(value, protocol=protocol))
            assert loaded == value and type(loaded) is type(value)
