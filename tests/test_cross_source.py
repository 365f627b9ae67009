"""One paper met in two digest formats is one paper: it gains ids, names and links, keeps its slug."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from site_src import store, urls
from site_src.ingest import digest_id, ingest

TODAY = dt.date(2026, 5, 30)

# The same paper as each source shows it. Only the text listing lacks the arXiv id and the
# author names; titles differ the way the sources really differ (hard wrap, TeX braces).
DIGESTS = {
    "hf-text": ("hf-papers-2025-11-26.txt", """Daily Papers

Nov 26

ROOT: Robust Orthogonalized Optimizer for Neural Network Training

The optimization of large language models remains a critical challenge. Code: https://github.com/huawei-noah/noah-research

  • 3 authors
·
Nov 25, 2025 4
"""),
    "hf-json": ("hf-daily-2025-11-27.json", """[
  {
    "paper": {
      "id": "2511.20626",
      "authors": [{"name": "Wei He"}, {"name": "Kai Han"}, {"name": "Hang Zhou"}],
      "publishedAt": "2025-11-25T00:00:00.000Z",
      "title": "ROOT: Robust Orthogonalized Optimizer for Neural Network Training",
      "summary": "The optimization of large language models remains a critical challenge.",
      "upvotes": 157,
      "githubRepo": "https://github.com/huawei-noah/noah-research",
      "projectPage": "https://root-optimizer.github.io/"
    },
    "publishedAt": "2025-11-27T00:00:00.000Z",
    "title": "ROOT: Robust Orthogonalized Optimizer for Neural Network Training",
    "numComments": 4
  }
]
"""),
    "arxiv-atom": ("arxiv-root-2025-11-28.atom", """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title type="html">ArXiv Query: search_query=ti:ROOT</title>
  <id>http://arxiv.org/api/cm9vdA</id>
  <updated>2025-11-28T00:00:00-05:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/2511.20626v2</id>
    <published>2025-11-25T18:59:59Z</published>
    <title>ROOT: Robust Orthogonalized Optimizer for Neural Network
  Training</title>
    <summary>The optimization of large language models remains a critical
challenge.</summary>
    <author><name>Wei He</name></author>
    <author><name>Kai Han</name></author>
    <author><name>Hang Zhou</name></author>
    <arxiv:doi>10.1000/root.2026</arxiv:doi>
    <arxiv:comment>Project page: https://root-optimizer.github.io/</arxiv:comment>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"""),
    "bibtex": ("reading-list-2025-11-29.bib", """@misc{he2025root,
  title = {{ROOT}: Robust Orthogonalized Optimizer for Neural Network Training},
  author = {He, Wei and Han, Kai and Zhou, Hang},
  year = {2025},
  eprint = {2511.20626},
  archivePrefix = {arXiv},
  primaryClass = {cs.LG},
  url = {https://github.com/huawei-noah/noah-research}
}
"""),
}
NAMES = ("Wei He", "Kai Han", "Hang Zhou")
FORMATS = tuple(DIGESTS)


def write_digest(folder, fmt):
    name, text = DIGESTS[fmt]
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def ingest_one(project, fmt, digest_date=None):
    report = ingest([write_digest(project, fmt)], project / "content", today=TODAY,
                    digest_date=digest_date)
    assert report.problems == (), [str(p) for p in report.problems]
    return report


def only_paper(project):
    corpus = store.load_store(project / "content")
    assert corpus.problems == ()
    assert len(corpus.papers) == 1, [p.slug for p in corpus.papers]
    return corpus.papers[0]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "content" / "papers").mkdir(parents=True)
    (tmp_path / "content" / "digests").mkdir()
    return tmp_path


def test_every_digest_reads_as_the_same_paper_on_its_own(project):
    for fmt in FORMATS:
        from site_src.readers import read_file

        result = read_file(write_digest(project, fmt), today=TODAY)
        assert result.digest.format == fmt
        (paper,) = result.papers
        assert paper.title == "ROOT: Robust Orthogonalized Optimizer for Neural Network Training"
        assert paper.n_authors == 3


def test_a_text_listing_paper_gains_id_names_and_links_from_the_api_json_and_keeps_its_slug(project):
    first = ingest_one(project, "hf-text")
    (slug,) = first.new
    before = only_paper(project)
    assert (before.id, before.authors, before.n_authors) == (None, (), 3)
    url = urls.url_for("paper", slug)

    second = ingest_one(project, "hf-json")
    assert second.new == () and second.updated == (slug,)
    after = only_paper(project)
    assert after.slug == slug and urls.url_for("paper", after.slug) == url
    assert after.id == "2511.20626"
    assert after.authors == NAMES and after.n_authors == 3
    assert after.github_repo == "https://github.com/huawei-noah/noah-research"
    assert after.project_page == "https://root-optimizer.github.io/"
    assert after.upvotes == 157 and after.comments == 4
    assert [a.digest for a in after.digests] == [
        digest_id(dt.date(2025, 11, 26), DIGESTS["hf-text"][0]),
        digest_id(dt.date(2025, 11, 27), DIGESTS["hf-json"][0])]
    assert after.first_seen == dt.date(2025, 11, 26)


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(FORMATS, 2)),
                         ids=lambda fmt: fmt)
def test_a_paper_seen_in_two_formats_is_one_paper_with_the_union_of_what_they_know(
        project, first, second):
    # The second digest is the newer one, so it may refresh what the first one set.
    (slug,) = ingest_one(project, first, dt.date(2025, 11, 26)).new
    report = ingest_one(project, second, dt.date(2025, 11, 27))
    assert report.new == ()
    paper = only_paper(project)
    assert paper.slug == slug
    assert len(paper.digests) == 2
    assert paper.n_authors == 3
    assert paper.id == "2511.20626"  # every format but the text listing carries it
    assert paper.authors == NAMES
    assert paper.github_repo == "https://github.com/huawei-noah/noah-research"  # all but Atom
    if "arxiv-atom" in (first, second):
        assert paper.doi == "10.1000/root.2026" and paper.categories[0] == "cs.LG"
    if "hf-json" in (first, second) or "arxiv-atom" in (first, second):
        assert paper.published_at == dt.date(2025, 11, 25) and paper.date_precision == "day"


def test_ingesting_the_second_format_again_changes_nothing(project):
    ingest_one(project, "hf-text")
    ingest_one(project, "arxiv-atom")
    again = ingest_one(project, "arxiv-atom")
    assert again.new == () and again.updated == () and again.written == ()


def test_a_day_from_an_older_digest_still_replaces_a_bibtex_year(project):
    ingest_one(project, "bibtex", dt.date(2025, 11, 29))
    assert (only_paper(project).published_at, only_paper(project).date_precision) == (
        dt.date(2025, 1, 1), "year")
    ingest_one(project, "hf-json", dt.date(2025, 11, 27))
    paper = only_paper(project)
    assert (paper.published_at, paper.date_precision) == (dt.date(2025, 11, 25), "day")
