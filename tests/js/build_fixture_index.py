"""Write the search index of tests/fixtures/search/engine_docs.json into a folder (for node tests)."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from site_src.search.index import SearchDocument, SearchTopic, build_index  # noqa: E402


def fixture_corpus() -> tuple[list[SearchDocument], list[SearchTopic]]:
    """Load the engine test corpus."""
    data = json.loads((ROOT / "tests/fixtures/search/engine_docs.json").read_text(encoding="utf-8"))
    topics = [SearchTopic(t["id"], t["name"], t.get("parent"), t.get("url", "")) for t in data["topics"]]
    docs = [SearchDocument(
        url=f"papers/{d['slug']}/", slug=d["slug"], title=d["title"], abstract=d["abstract"],
        authors=tuple(d["authors"]), arxiv_id=d.get("arxiv_id"), topics=tuple(d["topics"]),
        date=dt.date.fromisoformat(d["date"]) if d.get("date") else None,
        comments=d.get("comments"), has_code=d.get("has_code", False)) for d in data["docs"]]
    return docs, topics


def main(out: str) -> int:
    """Build and write the fixture index under OUT."""
    docs, topics = fixture_corpus()
    for dest, data in build_index(docs, topics).items():
        path = Path(out) / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
