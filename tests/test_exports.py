"""Exports: BibTeX of the survey or one topic, a Markdown outline of the taxonomy."""
from __future__ import annotations

import datetime as dt
from html import escape
from types import SimpleNamespace

import bibtexparser
import pytest
from markdown_it import MarkdownIt

from site_src.exports import (bibtex_entries, bibtex_file, escape_markdown, markdown_outline, topic_members,
                              topic_papers)
from site_src.model import Paper


def topic(id_, name, parent=None, description=""):
    return SimpleNamespace(id=id_, name=name, parent=parent, description=description)


TOPICS = [topic("robust", "Robustness", description="Models that *hold* up."),
          topic("at", "Adversarial training", "robust"), topic("opt", "Optimizers")]
PAPERS = [
    Paper(slug="evil", title="50% of {models} & $x_1$ ~ #1 \\cite", authors=("Ann O'Neil", "Bo_Li"),
          published_at=dt.date(2023, 2, 1), id="2302.00001"),
    Paper(slug="plain", title="Plain <script>alert(1)</script> [link](javascript:x) ![i](y)",
          published_at=dt.date(2021, 1, 1)),
    Paper(slug="lost", title="# Not a heading"),
]
ASSIGNED = {"evil": ("at",), "plain": ("opt",), "lost": ()}


def test_bibtex_file_parses_back_with_escaped_fields_and_unique_keys():
    text = bibtex_file(PAPERS, url_for=lambda s: f"https://example.org/papers/{s}/",
                       heading="Robust training survey\nall papers")
    assert text.startswith("% Robust training survey\n% all papers\n")
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    keys = [e.key for e in library.entries]
    assert keys == ["plain", "evil", "lost"]  # dated oldest first, undated last
    evil = library.entries[1]
    assert evil["title"] == r"{50\% of \{models\} \& \$x\_1\$ \textasciitilde{} \#1 \textbackslash{}cite}"
    assert evil["eprint"] == "2302.00001"


def test_topic_papers_include_the_subtopics():
    assert topic_papers("robust", TOPICS, ASSIGNED) == {"evil"}
    assert topic_papers("opt", TOPICS, ASSIGNED) == {"plain"}


def test_topic_members_finds_every_topics_papers_at_once_as_topic_papers_does():
    looped = TOPICS + [topic("loop-a", "A", "loop-b"), topic("loop-b", "B", "loop-a")]  # a broken taxonomy
    assigned = {**ASSIGNED, "cyclic": ("loop-a",), "ghost": ("not-a-topic", "opt")}
    members = topic_members(looped, assigned)
    assert members == {t.id: topic_papers(t.id, looped, assigned) for t in looped}
    assert members["robust"] == {"evil"} and members["loop-b"] == {"cyclic"}


def test_a_bibtex_file_from_shared_entries_equals_one_made_paper_by_paper():
    url_for = lambda s: f"https://example.org/papers/{s}/"  # noqa: E731
    entries = bibtex_entries(PAPERS, url_for=url_for)
    assert bibtex_file(PAPERS[:2], entries=entries, heading="h") == bibtex_file(PAPERS[:2], url_for=url_for, heading="h")


def test_outlines_sharing_their_work_equal_outlines_made_alone():
    url_for = lambda s: f"papers/{s}/"  # noqa: E731
    shared: dict = {}
    for root in (None, "robust", "at", "opt", None):
        assert markdown_outline("S", TOPICS, PAPERS, ASSIGNED, url_for=url_for, root=root, _shared=shared) \
            == markdown_outline("S", TOPICS, PAPERS, ASSIGNED, url_for=url_for, root=root)


def test_outline_follows_the_tree_and_lists_unsorted_papers():
    text = markdown_outline("My survey", TOPICS, PAPERS, ASSIGNED, url_for=lambda s: f"papers/{s}/")
    tokens = MarkdownIt("commonmark").parse(text)
    headings = [(t.tag, tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [("h1", "My survey"), ("h2", "Robustness"), ("h3", "Adversarial training"),
                        ("h2", "Optimizers"), ("h2", "Unsorted")]


def test_outline_escapes_titles_so_nothing_becomes_markup():
    text = markdown_outline("S", TOPICS, PAPERS, ASSIGNED, url_for=lambda s: f"papers/{s}/")
    html = MarkdownIt("commonmark").render(text)
    assert "<script>" not in html and "<img" not in html
    links = [chunk.split('"')[0] for chunk in html.split('href="')[1:]]
    assert links == ["papers/evil/", "papers/plain/"]
    assert "<h1># Not a heading" not in html and "# Not a heading" in html
    assert "Models that *hold* up." in html  # the description's stars stay literal


def test_outline_of_one_topic_has_only_its_subtree():
    text = markdown_outline("S", TOPICS, PAPERS, ASSIGNED, root="opt")
    assert "Optimizers" in text and "Robustness" not in text and "Unsorted" not in text


def test_escape_markdown_escapes_inline_markup_everywhere_and_block_markup_at_the_start():
    assert escape_markdown("a*b_c[d](e)<f>#g & `h`") == r"a\*b\_c\[d\](e)\<f\>#g \& \`h\`"
    assert escape_markdown("# Title") == r"\# Title"
    assert escape_markdown("- item") == r"\- item"
    assert escape_markdown("2021. A year") == r"2021\. A year"
    assert escape_markdown("Trade-Off v2.1") == "Trade-Off v2.1"


@pytest.mark.parametrize("title", [
    "# heading", "- list", "+ list", "1. ordered", "3) ordered", "= setext", "***", "___",
    "<b>bold</b>", "&amp; entity", "`code`", "[link](x)", "![img](y)", "a | table | row",
    "*emph*", "_emph_", "~~strike~~", "\\backslash", "line  \n  break",
])
def test_escaped_text_renders_as_exactly_that_text(title):
    html = MarkdownIt("commonmark").render(escape_markdown(title))
    assert html == f"<p>{escape(' '.join(title.split()), quote=False)}</p>\n"


# --- the exports producer with its memo (survey_pages.update_exports) ------------------------

def _export_site(papers, assigned):
    from site_src.plan import Site, TopicInfo

    topics = (TopicInfo("robust", "Robustness", "Models that *hold* up.", None, ("at",)),
              TopicInfo("at", "Adversarial training", "", "robust"), TopicInfo("opt", "Optimizers", ""))
    return Site(papers=tuple(papers), topics=topics, paper_topics=dict(assigned))


EXPORT_CONFIG = SimpleNamespace(title="Survey", absolute=lambda url: f"https://example.org/{url}")


def _keys(papers):
    return {p.slug: repr(p) for p in papers}


def _hashes(files):
    import hashlib

    return {dest: hashlib.sha1(data).hexdigest() for dest, data in files.items()}


def test_the_exports_memo_keeps_only_files_of_topics_no_changed_paper_is_in():
    from site_src.survey_pages import produce_exports, update_exports

    before = _export_site(PAPERS, ASSIGNED)
    files, memo = update_exports(before, EXPORT_CONFIG, [], paper_keys=_keys(PAPERS))
    assert files == produce_exports(before, EXPORT_CONFIG, [])
    new = Paper(slug="sgd", title="Faster SGD", published_at=dt.date(2024, 5, 1))
    after = _export_site(PAPERS + [new], {**ASSIGNED, "sgd": ("opt",)})
    update, _ = update_exports(after, EXPORT_CONFIG, [], memo, paper_keys=_keys(PAPERS + [new]),
                               existing=_hashes(files))
    kept = sorted(dest for dest, data in update.items() if data is None)
    assert kept == ["topics/at/outline.md", "topics/at/papers.bib", "topics/robust/outline.md",
                    "topics/robust/papers.bib"]
    assert {dest: data if data is not None else files[dest] for dest, data in update.items()} == \
        produce_exports(after, EXPORT_CONFIG, [])


def test_an_edited_or_moved_paper_remakes_its_topics_files_and_their_parents():
    import dataclasses

    from site_src.survey_pages import produce_exports, update_exports

    before = _export_site(PAPERS, ASSIGNED)
    files, memo = update_exports(before, EXPORT_CONFIG, [], paper_keys=_keys(PAPERS))
    edited = [dataclasses.replace(PAPERS[0], title="A new title")] + PAPERS[1:]
    for papers, assigned in ((edited, ASSIGNED), (PAPERS, {**ASSIGNED, "plain": ("at",)})):
        after = _export_site(papers, assigned)
        update, _ = update_exports(after, EXPORT_CONFIG, [], memo, paper_keys=_keys(papers),
                                   existing=_hashes(files))
        assert "topics/at/papers.bib" in update and update["topics/at/papers.bib"] is not None
        assert update["topics/robust/outline.md"] is not None  # the parent lists its subtree
        assert {dest: data if data is not None else files[dest] for dest, data in update.items()} == \
            produce_exports(after, EXPORT_CONFIG, [])


def test_a_file_on_disk_that_is_not_what_the_memo_made_is_made_again():
    from site_src.survey_pages import update_exports

    site = _export_site(PAPERS, ASSIGNED)
    files, memo = update_exports(site, EXPORT_CONFIG, [], paper_keys=_keys(PAPERS))
    on_disk = {**_hashes(files), "topics/opt/papers.bib": "0" * 40}
    update, _ = update_exports(site, EXPORT_CONFIG, [], memo, paper_keys=_keys(PAPERS), existing=on_disk)
    assert update["topics/opt/papers.bib"] == files["topics/opt/papers.bib"]
    assert update["topics/opt/outline.md"] is None


def _apply(out, files):
    """Put the files an update made where a build would (a StagedFile is renamed into place)."""
    import hashlib
    import os

    from site_src.writer import StagedFile

    for dest, data in files.items():
        path = out / dest
        if isinstance(data, StagedFile):
            os.replace(data.path, path)
            assert hashlib.sha1(path.read_bytes()).hexdigest() == data.digest
        elif data is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return {dest: hashlib.sha1((out / dest).read_bytes()).hexdigest() for dest in files}


def test_updates_written_beside_their_files_read_unchanged_text_back_and_match_a_clean_run(tmp_path):
    import dataclasses

    from site_src.survey_pages import produce_exports, update_exports

    papers, assigned = list(PAPERS), dict(ASSIGNED)
    site = _export_site(papers, assigned)
    files, memo = update_exports(site, EXPORT_CONFIG, [], paper_keys=_keys(papers), out_dir=tmp_path)
    on_disk = _apply(tmp_path, files)
    steps = [
        ("add", lambda: (papers.append(Paper(slug="sgd", title="Faster SGD", published_at=dt.date(2024, 5, 1))),
                         assigned.update(sgd=("opt", "at")))),
        ("edit", lambda: papers.__setitem__(0, dataclasses.replace(papers[0], title="Edited title"))),
        ("move", lambda: assigned.update(plain=("at",), lost=("opt",))),
        ("unsort", lambda: assigned.update(sgd=())),
        ("remove", lambda: (papers.pop(1), assigned.pop("plain"))),
    ]
    for name, change in steps:
        change()
        site = _export_site(papers, assigned)
        files, memo = update_exports(site, EXPORT_CONFIG, [], memo, paper_keys=_keys(papers), existing=on_disk,
                                     out_dir=tmp_path)
        on_disk = _apply(tmp_path, files)
        clean = produce_exports(site, EXPORT_CONFIG, [])
        assert set(files) == set(clean), name
        assert {dest: (tmp_path / dest).read_bytes() for dest in clean} == clean, name
        assert not list(tmp_path.rglob(".tmp-*")), name


def test_a_survey_file_that_is_not_what_the_memo_made_is_not_read(tmp_path, monkeypatch):
    import hashlib

    from site_src.survey_pages import produce_exports, update_exports

    site = _export_site(PAPERS, ASSIGNED)
    files, memo = update_exports(site, EXPORT_CONFIG, [], paper_keys=_keys(PAPERS), out_dir=tmp_path)
    on_disk = _apply(tmp_path, files)
    survey = tmp_path / "exports" / "survey.bib"
    survey.write_bytes(survey.read_bytes().replace(b"Plain", b"Forged"))
    on_disk["exports/survey.bib"] = hashlib.sha1(survey.read_bytes()).hexdigest()
    new = Paper(slug="sgd", title="Faster SGD", published_at=dt.date(2024, 5, 1))
    after = _export_site(PAPERS + [new], {**ASSIGNED, "sgd": ("opt",)})
    files, _ = update_exports(after, EXPORT_CONFIG, [], memo, paper_keys=_keys(PAPERS + [new]),
                              existing=on_disk, out_dir=tmp_path)
    _apply(tmp_path, files)
    clean = produce_exports(after, EXPORT_CONFIG, [])
    assert b"Forged" not in survey.read_bytes()
    assert {dest: (tmp_path / dest).read_bytes() for dest in clean} == clean
