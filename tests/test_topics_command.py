"""`build.py topics`: counts, unsorted papers, reasons, --json for scripts, --suggest for curators."""
from __future__ import annotations

import json
import textwrap

import pytest
import yaml

from site_fixtures import make_project
from site_src.cli import main
from site_src.model import Paper
from site_src.taxonomy import parse_taxonomy

TAXONOMY = textwrap.dedent("""\
    topics:
      - id: robustness
        name: Robustness
        description: Models that hold up.
      - id: label-noise
        parent: robustness
        name: Label noise
        match: [label noise, noisy labels]
      - id: sparse
        name: Sparse training
        match: [sparse training]
    """)

PAPERS = [
    Paper(slug="noisy", title="Label noise in the wild", summary="We study label noise."),
    Paper(slug="sparse", title="Sparse training at scale", summary="Dynamic sparse training."),
    Paper(slug="other-a", title="Graph coarsening for molecules",
          summary="Graph coarsening keeps molecular structure while graph coarsening saves memory."),
    Paper(slug="other-b", title="Spectral graph coarsening",
          summary="A spectral view of graph coarsening."),
    Paper(slug="curated", title="Label noise again", summary="", topics=("sparse",)),
    Paper(slug="excluded", title="Label noise and sparse training", summary="",
          topics_exclude=("label-noise",)),
]


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path, PAPERS, taxonomy=TAXONOMY)


def run_topics(project, capsys, *args) -> tuple[int, str, str]:
    code = main(["--root", str(project), "topics", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_exactly_the_documented_shape(project, capsys):
    code, out, _ = run_topics(project, capsys, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"topics", "unsorted"}
    assert [set(t) for t in data["topics"]] == [{"id", "name", "parent", "papers"}] * 3
    assert data["topics"] == [
        {"id": "robustness", "name": "Robustness", "parent": None, "papers": []},
        {"id": "label-noise", "name": "Label noise", "parent": "robustness", "papers": ["noisy"]},
        {"id": "sparse", "name": "Sparse training", "parent": None,
         "papers": ["curated", "excluded", "sparse"]},
    ]
    assert data["unsorted"] == ["other-a", "other-b"]


def test_text_report_shows_counts_unsorted_papers_and_reasons(project, capsys):
    code, out, _ = run_topics(project, capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "3 topics, 6 papers, 2 unsorted"
    assert "Robustness [robustness]: 0 (1 with subtopics)" in lines
    assert "  Label noise [label-noise]: 1" in lines
    assert "  other-a  Graph coarsening for molecules" in lines
    noisy = lines.index("  noisy")
    assert lines[noisy + 1] == "    label-noise: 'label noise' in the title; 'label noise' in the abstract"
    assert "  curated (set by the curator)" in lines
    excluded = lines.index("  excluded")
    assert "    label-noise: removed by topics_exclude" in lines[excluded:excluded + 3]


def test_suggest_prints_pasteable_yaml_that_sorts_the_unsorted_papers(project, capsys):
    code, out, _ = run_topics(project, capsys, "--suggest")
    assert code == 0
    suggested = yaml.safe_load(out)
    first = suggested[0]
    assert first["match"][0] == "graph coarsening"
    assert first["id"] == "graph-coarsening"
    assert "# 2 papers (2 unsorted)" in out
    # Pasting the suggestion into the taxonomy gives the unsorted papers a home.
    grown = TAXONOMY + textwrap.indent(yaml.safe_dump([first], sort_keys=False), "  ")
    taxonomy = parse_taxonomy(grown)
    from site_src.taxonomy import assign_topics
    result = assign_topics(PAPERS, taxonomy)
    assert result["other-a"].topics == ("graph-coarsening",)
    assert result["other-b"].topics == ("graph-coarsening",)


def test_suggest_never_proposes_a_phrase_the_taxonomy_already_matches(project, capsys):
    _, out, _ = run_topics(project, capsys, "--suggest", "--limit", "50")
    phrases = [p for item in yaml.safe_load(out) or [] for p in item["match"]]
    assert "label noise" not in phrases and "sparse training" not in phrases


def test_suggested_names_are_escaped_yaml(tmp_path, capsys):
    tricky = [Paper(slug=f"p{i}", title=f'Zeta: "quoted" #hash {i}',
                    summary='The "zeta function" #tag: appears. The "zeta function" again.')
              for i in range(2)]
    root = make_project(tmp_path, tricky, taxonomy=TAXONOMY)
    _, out, _ = run_topics(root, capsys, "--suggest")
    suggested = yaml.safe_load(out)
    assert any("zeta function" in item["match"] for item in suggested)


def test_broken_taxonomy_fails_with_file_and_line(project, capsys):
    (project / "content" / "taxonomy.yaml").write_text(TAXONOMY + "  - id: sparse\n    name: Again\n",
                                                        encoding="utf-8")
    code, _, err = run_topics(project, capsys, "--json")
    assert code == 1
    assert "taxonomy.yaml:12:" in err and "duplicate" in err


def test_json_and_suggest_cannot_be_combined(project, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--root", str(project), "topics", "--json", "--suggest"])
    assert stop.value.code == 2


def test_curator_topics_and_excludes_win_and_survive_re_ingest(tmp_path, capsys):
    import datetime as dt
    import shutil

    from conftest import SAMPLE_TEXT_DIGEST
    from site_src.ingest import ingest

    root = make_project(tmp_path, [])  # the shipped taxonomy
    content = root / "content"
    digest = tmp_path / SAMPLE_TEXT_DIGEST.name
    shutil.copy(SAMPLE_TEXT_DIGEST, digest)
    ingest([digest], content, today=dt.date(2025, 12, 12))
    target = content / "papers" / "are-neural-ranking-models-robust.md"
    other = content / "papers" / "robust-table-integration-in-data-lakes.md"
    before = json.loads(run_topics(root, capsys, "--json")[1])
    auto = {t["id"] for t in before["topics"] if "robust-table-integration-in-data-lakes" in t["papers"]}
    assert "retrieval-and-data" in auto
    # The curator files one paper by hand and removes one automatic topic from another.
    for path, key, value in ((target, "topics: null", "topics: [uncertainty]"),
                             (other, "topics: null", "topics: null\ntopics_exclude: [retrieval-and-data]")):
        text = path.read_text(encoding="utf-8")
        assert key in text
        path.write_text(text.replace(key, value, 1), encoding="utf-8")
    ingest([digest], content, today=dt.date(2025, 12, 13))  # the same digest again
    after = json.loads(run_topics(root, capsys, "--json")[1])
    holders = {t["id"] for t in after["topics"] if "are-neural-ranking-models-robust" in t["papers"]}
    assert holders == {"uncertainty"}
    remaining = {t["id"] for t in after["topics"] if "robust-table-integration-in-data-lakes" in t["papers"]}
    assert remaining == auto - {"retrieval-and-data"}
