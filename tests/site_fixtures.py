"""Build a site into a temporary folder, from content/ or from a made-up content folder.

`built_site` builds the shipped content once per session; `make_project` and
`build_site` let a test write its own papers and build them. Importing this
module from conftest.py makes the fixtures available to every test.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

TEST_SITE = {
    "title": "Test Atlas",
    "description": "A made-up survey used by the tests.",
    "author": "Test Curator",
    "base_url": "https://example.org/atlas/",
}
"""site.yaml of a made-up project, unless a test passes its own."""


class BuildFailed(AssertionError):
    """`build.py build` exited non-zero; the message carries its output."""


@contextlib.contextmanager
def world_readable_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder any user can read (LinkChecker drops root to `nobody`), removed after."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def build_site(root: Path, out: Path, *, base_url: str | None = None,
               extra: Iterable[str] = ()) -> Path:
    """Run `build.py --root ROOT build --out OUT` as a user would; return OUT or raise BuildFailed."""
    command = [sys.executable, str(ROOT / "build.py"), "--root", str(root), "build",
               "--out", str(out), *extra]
    if base_url is not None:
        command += ["--base-url", base_url]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise BuildFailed(
            f"{' '.join(command)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-5000:]}")
    if not (out / "index.html").is_file():
        raise BuildFailed(f"build of {root} succeeded but wrote no {out}/index.html")
    return out


def make_project(folder: Path, papers: Iterable, *, digests: Iterable = (),
                 site: dict | None = None, taxonomy: dict | str | None = None,
                 about: str | None = None) -> Path:
    """Write a project folder (content/ from Paper and DigestRecord values, templates/ copied)."""
    from site_src import store  # imported late: collecting tests must not need the store

    content = folder / "content"
    (content / store.PAPERS_DIR).mkdir(parents=True, exist_ok=True)
    (content / store.DIGESTS_DIR).mkdir(parents=True, exist_ok=True)
    for paper in papers:
        store.paper_path(content, paper.slug).write_text(store.dumps(paper), encoding="utf-8")
    for record in digests:
        (content / store.DIGESTS_DIR / f"{record.id}.yaml").write_text(
            store.dumps_digest(record), encoding="utf-8")
    (content / "site.yaml").write_text(
        yaml.safe_dump(site if site is not None else TEST_SITE, allow_unicode=True),
        encoding="utf-8")
    if isinstance(taxonomy, dict):
        taxonomy = yaml.safe_dump(taxonomy, allow_unicode=True, sort_keys=False)
    if taxonomy is None and (ROOT / "content" / "taxonomy.yaml").exists():
        taxonomy = (ROOT / "content" / "taxonomy.yaml").read_text(encoding="utf-8")
    if taxonomy is not None:
        (content / "taxonomy.yaml").write_text(taxonomy, encoding="utf-8")
    if about is not None:
        (content / "about.md").write_text(about, encoding="utf-8")
    # A copy, not a symlink: the writer may refuse files that resolve outside the project.
    if not (folder / "templates").exists():
        shutil.copytree(ROOT / "templates", folder / "templates")
    return folder


def make_digest(digest_id: str, date: dt.date, slugs: list[str], new: list[str] | None = None):
    """A DigestRecord listing slugs in order (all of them new unless told otherwise)."""
    from site_src.model import DigestRecord

    return DigestRecord(
        id=digest_id, date=date, format="hf-text", source_name=f"{digest_id}.txt",
        raw_file=f"{digest_id}.txt", sha256="0" * 64, papers=tuple(slugs),
        new_papers=tuple(slugs if new is None else new), ingested_on=date,
    )


PAGE_KINDS = ("home", "paper", "topic", "year", "digest", "search")
"""The page kinds every checker visits (issue 3's list)."""


def sample_pages(site: Path) -> dict[str, str]:
    """One page of each kind in a built site (the fullest one), as site-relative file paths."""
    def fullest(section: str) -> str | None:
        # Direct children only: .../page/2/ pages are pagination, not another topic.
        found = sorted((site / section).glob("*/index.html"),
                       key=lambda path: (-path.stat().st_size, path.as_posix()))
        return found[0].relative_to(site).as_posix() if found else None

    pages = {"home": "index.html", "paper": fullest("papers"), "topic": fullest("topics"),
             "year": fullest("years"), "digest": fullest("digests"),
             "search": "search/index.html" if (site / "search" / "index.html").exists() else None}
    return {kind: path for kind, path in pages.items() if path is not None}


def type_query(page, text: str) -> None:
    """Type into the search page's box (else the header's) key by key, and let the results render."""
    box = page.locator("main input[type=search]")
    if not box.count():
        box = page.locator("input[type=search]")
    box.first.press_sequentially(text, delay=20)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)


@pytest.fixture(scope="session")
def built_site():
    """The shipped content/ built once per session into a world-readable temp folder."""
    with world_readable_dir("atlas-site-") as folder:
        yield build_site(ROOT, folder / "site")


@pytest.fixture(scope="session")
def site_url(built_site):
    """The session's built site served over HTTP on 127.0.0.1 (search needs fetch())."""
    from conftest import serve_directory

    with serve_directory(built_site) as url:
        yield url
