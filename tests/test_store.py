"""The content store: paper files round-trip, bad files become problems, never crashes."""
from __future__ import annotations

import datetime as dt
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_src import store
from site_src.model import Appearance, Paper

SAMPLE = Paper(
    slug="scicode",
    title="SciCode: A Research Coding Benchmark Curated by Scientists",
    summary="Since language models (LMs) now outperform average humans...\n\nSecond paragraph.",
    id="2407.13168",
    authors=("Minyang Tian", "Luyu Gao"),
    n_authors=2,
    published_at=dt.date(2024, 7, 18),
    date_precision="day",
    comments=3,
    github_repo="https://github.com/scicode-bench/SciCode",
    digests=(Appearance(digest="2025-12-12-sample", line=12, position=0, comments=3),),
    first_seen=dt.date(2025, 12, 12),
    topics=("benchmarks",),
    notes="Read this one.\n\n- point one",
    ingested=(("title", "abc123"), ("summary", "def456")),
)


def front_matter(text: str) -> dict:
    front, _, _ = store.split_front_matter(text)
    return yaml.safe_load(front)


def test_a_paper_survives_dumps_then_loads():
    assert store.loads(store.dumps(SAMPLE), slug="scicode", source="x.md") == SAMPLE


def test_the_body_holds_the_abstract_then_the_notes_section():
    text = store.dumps(SAMPLE)
    _, body, _ = store.split_front_matter(text)
    assert body.startswith(SAMPLE.summary + "\n\n## Notes\n\nRead this one.")
    assert "summary" not in front_matter(text)


def test_ids_are_written_quoted_and_read_back_as_strings():
    for arxiv_id in ("2101.10000", "1706.03762", "0704.0001", "hep-th/9901001"):
        text = store.dumps(Paper(slug="p", title="T", id=arxiv_id))
        assert f'id: "{arxiv_id}"' in text
        assert front_matter(text)["id"] == arxiv_id


@pytest.mark.parametrize("value", ["NO", "yes", "0123", "1.10", "null", "~", "2025-12-12",
                                   "true", "1e5", "- item", "key: value", "#hash", "'quoted"])
def test_strings_yaml_would_mangle_keep_their_text(value):
    paper = Paper(slug="p", title=value, organization=value, authors=(value,))
    assert store.loads(store.dumps(paper), slug="p", source="x") == paper


def test_one_date_object_in_two_fields_is_written_twice_without_yaml_anchors():
    day = dt.date(2025, 12, 12)
    paper = Paper(slug="p", title="T", published_at=day, first_seen=day, submitted_at=day)
    text = store.dumps(paper)
    assert "&" not in text and "*" not in text
    assert front_matter(text)["first_seen"] == day


def test_front_matter_keys_come_in_a_fixed_readable_order():
    keys = list(front_matter(store.dumps(SAMPLE)))
    assert keys == [k for k in store.FRONT_MATTER_ORDER if k in keys]
    assert keys[:2] == ["id", "title"]


def test_an_unquoted_numeric_id_is_a_schema_problem_with_its_line():
    text = "---\ntitle: T\nid: 2101.10000\n---\nAbstract\n"
    paper, problems = store.parse_paper(text, slug="p", source="papers/p.md")
    assert paper is not None and paper.id is None
    assert [(p.line, p.severity) for p in problems] == [(3, "error")]
    assert "quoted" in problems[0].reason
    with pytest.raises(store.StoreError):
        store.loads(text, slug="p", source="papers/p.md")


@pytest.mark.parametrize("text, line", [
    ("no front matter\n", 1),
    ("---\ntitle: [unclosed\n---\n", 3),
    ("---\ntitle: T\n", 1),
    ("---\n- a list\n---\n", 2),
    ("---\nauthors: [A]\n---\n", 2),
    ("---\ntitle: T\nupvotes: many\n---\n", 3),
    ("---\ntitle: T\npublished_at: 12/12/2025\n---\n", 3),
    ("---\ntitle: T\ndate_precision: roughly\n---\n", 3),
    ("---\ntitle: T\ncolour: red\n---\n", 3),
    ("---\ntitle: T\ndigests: [{line: 3}]\n---\n", 3),
])
def test_front_matter_that_does_not_fit_the_schema_is_reported_with_its_line(text, line):
    _, problems = store.parse_paper(text, slug="p", source="papers/p.md")
    assert problems and problems[0].line == line and problems[0].severity == "error"
    assert problems[0].source == "papers/p.md"


@pytest.mark.parametrize("front, line", [
    ("title: T\npublished_at: 2023-02-30\n", 3),
    ("title: T\ndigests:\n- {digest: 2025-13-01}\n", 4),
    ("title: T\nfirst_seen: 2025-01-01 25:00:00\n", 3),
])
def test_an_impossible_date_is_a_problem_with_its_line_not_a_crash(front, line):
    paper, problems = store.parse_paper(f"---\n{front}---\n", slug="p", source="papers/p.md")
    assert paper is None
    assert [(p.line, p.severity) for p in problems] == [(line, "error")]
    assert problems[0].reason.startswith("front matter is not valid YAML: ")


def test_a_digest_record_with_an_impossible_date_is_a_problem_not_a_crash():
    record, problems = store.parse_digest("id: x\ndate: 2025-02-30\n", source="d.yaml")
    assert record is None and [(p.line, p.severity) for p in problems] == [(2, "error")]


def test_a_quoted_iso_date_is_accepted_as_a_date():
    paper = store.loads("---\ntitle: T\npublished_at: '2024-02-29'\n---\n", slug="p", source="x")
    assert paper.published_at == dt.date(2024, 2, 29)


def test_a_crlf_file_with_a_bom_reads_like_a_plain_one():
    text = store.dumps(SAMPLE)
    crlf = "\ufeff" + text.replace("\n", "\r\n")
    assert store.loads(crlf, slug="scicode", source="x") == SAMPLE


def test_an_abstract_that_would_not_survive_the_body_moves_to_the_front_matter():
    for summary in ("Intro\n## Notes\nnot notes", "  leading spaces", "bell\x07"):
        paper = Paper(slug="p", title="T", summary=summary, notes="mine")
        text = store.dumps(paper)
        assert front_matter(text)["summary"] == summary
        assert store.loads(text, slug="p", source="x") == paper


def test_load_store_sorts_papers_and_keeps_going_past_a_bad_file(tmp_path):
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "b.md").write_text(store.dumps(Paper(slug="b", title="B")), encoding="utf-8")
    (papers / "a.md").write_text(store.dumps(Paper(slug="a", title="A")), encoding="utf-8")
    (papers / "broken.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    (papers / "latin1.md").write_bytes(b"---\ntitle: caf\xe9\n---\n")
    corpus = store.load_store(tmp_path)
    assert [p.slug for p in corpus.papers] == ["a", "b"]
    assert sorted(p.source.rsplit("/", 1)[1] for p in corpus.problems) == ["broken.md", "latin1.md"]


def test_digest_records_round_trip_and_load(tmp_path):
    from site_src.model import DigestRecord

    record = DigestRecord(id="2025-12-12-x", date=dt.date(2025, 12, 12), format="hf-text",
                          source_name="x.txt", raw_file="2025-12-12-x.txt", sha256="ab" * 32,
                          papers=("a", "b"), new_papers=("a",), ingested_on=dt.date(2025, 12, 13))
    (tmp_path / "digests").mkdir()
    (tmp_path / "digests" / "2025-12-12-x.yaml").write_text(store.dumps_digest(record))
    (tmp_path / "digests" / "bad.yaml").write_text("id: 3\n")
    corpus = store.load_store(tmp_path)
    assert corpus.digests == (record,)
    assert [p.source for p in corpus.problems] == [f"{tmp_path.name}/digests/bad.yaml"]


# ------------------------------------------------------------------ property

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
_line_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                            blacklist_characters="\r"), max_size=80)
_word = st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=12)
_opt_int = st.none() | st.integers(min_value=0, max_value=10**6)
_opt_text = st.none() | _text
_dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1))
_appearance = st.builds(Appearance, digest=_word, line=st.none() | st.integers(1, 10**5),
                        position=st.integers(0, 1000), comments=_opt_int, upvotes=_opt_int)
_ingested = st.dictionaries(_word, st.text(alphabet="0123456789abcdef", min_size=1,
                                           max_size=12), max_size=4).map(lambda d: tuple(d.items()))

papers = st.builds(
    Paper,
    slug=st.just("p"),
    title=_text.filter(lambda s: s.strip() != ""),
    summary=_text,
    id=st.none() | st.from_regex(r"\A\d{4}\.\d{4,5}\Z") | _text.filter(lambda s: s.strip() == s != ""),
    authors=st.lists(_text, max_size=4).map(tuple),
    n_authors=_opt_int,
    organization=_opt_text,
    published_at=st.none() | _dates,
    date_precision=st.sampled_from([None, "day", "year-inferred", "month", "year"]),
    upvotes=_opt_int, comments=_opt_int,
    github_repo=_opt_text, github_stars=_opt_int, project_page=_opt_text,
    ai_summary=_opt_text, ai_keywords=st.lists(_text, max_size=3).map(tuple),
    categories=st.lists(_word, max_size=3).map(tuple),
    doi=_opt_text, journal_ref=_opt_text, arxiv_comment=_opt_text,
    submitted_at=st.none() | _dates, withdrawn=st.booleans(), truncated=st.booleans(),
    digests=st.lists(_appearance, max_size=3).map(tuple),
    first_seen=st.none() | _dates,
    topics=st.none() | st.lists(_word, max_size=3).map(tuple),
    topics_exclude=st.lists(_word, max_size=2).map(tuple),
    notes=_line_text.map(str.strip),
    ingested=_ingested,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(papers)
def test_loads_inverts_dumps_for_any_paper(paper):
    assert store.loads(store.dumps(paper), slug="p", source="x") == paper


def test_a_hand_written_paper_file_loads_with_everything_the_curator_wrote(root):
    path = root / "tests" / "fixtures" / "store" / "hand-written.md"
    paper = store.loads(path.read_text(encoding="utf-8"), slug="mamba", source=path.name)
    assert paper.id == "2312.00752"
    assert paper.title == "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"
    assert paper.authors == ("Albert Gu", "Tri Dao")
    assert paper.published_at == dt.date(2023, 12, 1)
    assert paper.topics == ("sequence-models",) and paper.ingested == ()
    assert paper.summary.startswith("Foundation models, now powering")
    assert paper.notes == ('Read section 3 first.\n\n## Notes\n\n'
                           '(A second "Notes" heading is just part of the notes.)')
    assert store.loads(store.dumps(paper), slug="mamba", source="x") == paper
