"""The taxonomy file: loading, validation errors, tree queries, and phrase assignment."""
from __future__ import annotations

import textwrap

import pytest

from site_src.model import Paper
from site_src.taxonomy import (
    TaxonomyError, assign_paper, assign_topics, check_curated_topics, load_taxonomy,
    normalize, normalize_tokens, papers_by_topic, parse_taxonomy, score_paper, unsorted_papers,
)
from conftest import ROOT

SMALL = textwrap.dedent("""\
    topics:
      - id: robustness
        name: Robustness
        description: Models that hold up.
      - id: label-noise
        parent: robustness
        name: Label noise
        match: [label noise, noisy labels]
      - id: adversarial
        parent: robustness
        name: Adversarial training
        order: -1
        match: [adversarial training]
        exclude: [reinforcement learning]
      - id: fast-at
        parent: adversarial
        name: Fast adversarial training
        match: [fast adversarial training]
      - id: optimizers
        name: Optimizers
        match: [optimizer, learning rate schedule]
    """)


def parse_error(text: str) -> TaxonomyError:
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy(textwrap.dedent(text), "tax.yaml")
    return caught.value


def paper(slug: str, title: str, summary: str = "", **kw) -> Paper:
    return Paper(slug=slug, title=title, summary=summary, **kw)


# --- loading and the tree ---------------------------------------------------

def test_topics_come_in_depth_first_display_order_with_siblings_sorted_by_order():
    tax = parse_taxonomy(SMALL)
    assert tax.ids == ("robustness", "adversarial", "fast-at", "label-noise", "optimizers")
    assert [t.id for t in tax.roots] == ["robustness", "optimizers"]
    assert tax.get("robustness").children == ("adversarial", "label-noise")
    assert tax.get("fast-at").depth == 2


def test_descendants_and_ancestors_walk_the_tree():
    tax = parse_taxonomy(SMALL)
    assert [t.id for t in tax.descendants("robustness")] == ["adversarial", "fast-at", "label-noise"]
    assert tax.descendants("optimizers") == ()
    assert [t.id for t in tax.ancestors("fast-at")] == ["adversarial", "robustness"]


def test_topic_records_its_line_and_folded_description():
    tax = parse_taxonomy(SMALL)
    assert tax.get("label-noise").line == 5
    assert tax.get("robustness").description == "Models that hold up."


def test_shipped_taxonomy_loads_and_is_two_or_three_levels_deep():
    tax = load_taxonomy(ROOT / "content" / "taxonomy.yaml")
    depths = {t.depth for t in tax.topics}
    assert max(depths) in (1, 2)
    assert len(tax.roots) >= 10
    for topic in tax.topics:
        assert len(topic.description.split()) >= 12, f"{topic.id} needs a real description"


# --- validation errors --------------------------------------------------------

def test_duplicate_id_is_reported_with_both_lines():
    error = parse_error("""\
        topics:
          - id: a
            name: A
          - id: a
            name: Again
        """)
    assert (error.source, error.line, error.topic) == ("tax.yaml", 4, "a")
    assert "duplicate" in str(error) and "line 2" in str(error)
    assert str(error).startswith("tax.yaml:4:")


def test_unknown_parent_is_reported_at_the_child():
    error = parse_error("""\
        topics:
          - id: a
            name: A
          - id: b
            name: B
            parent: nowhere
        """)
    assert (error.line, error.topic) == (4, "b")
    assert "unknown parent 'nowhere'" in str(error)


def test_parent_cycle_is_reported_with_the_loop():
    error = parse_error("""\
        topics:
          - id: a
            name: A
            parent: c
          - id: b
            name: B
            parent: a
          - id: c
            name: C
            parent: b
        """)
    assert error.topic == "a" and error.line == 2
    assert "cycle" in str(error) and "a -> c -> b -> a" in str(error)


def test_topic_that_is_its_own_parent_is_refused():
    error = parse_error("""\
        topics:
          - id: a
            name: A
            parent: a
        """)
    assert error.topic == "a" and "own parent" in str(error)


@pytest.mark.parametrize("name_line", ["name: ''", "name: '   '", ""])
def test_empty_or_missing_name_is_reported(name_line):
    error = parse_error(f"""\
        topics:
          - id: ok
            name: OK
          - id: nameless
            {name_line}
            description: something
        """)
    assert (error.line, error.topic) == (4, "nameless")
    assert "empty name" in str(error)


def test_invalid_yaml_is_reported_with_its_line():
    error = parse_error("""\
        topics:
          - id: a
            name: A
          - id: b
            name: [unclosed
        """)
    assert error.line is not None and error.line >= 5
    assert "invalid YAML" in str(error)


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("- id: a\n  name: A\n", "expected a mapping"),
    ("topicz: []\n", "unknown top-level key"),
    ("topics: {a: 1}\n", "must be a list"),
    ("topics:\n  - id: Bad Id\n    name: A\n", "invalid id"),
    ("topics:\n  - name: A\n", "without an 'id'"),
    ("topics:\n  - id: a\n    name: A\n    colour: red\n", "unknown key 'colour'"),
    ("topics:\n  - id: a\n    name: A\n    order: first\n", "whole number"),
    ("topics:\n  - id: a\n    name: A\n    match: ['']\n", "empty phrase"),
    ("topics:\n  - id: a\n    name: A\n    match: {x: 1}\n", "list of phrases"),
])
def test_malformed_structures_are_reported(text, words):
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy(text, "tax.yaml")
    assert words in str(caught.value)
    assert str(caught.value).startswith("tax.yaml")


def test_missing_file_is_a_taxonomy_error(tmp_path):
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(tmp_path / "none.yaml")
    assert "cannot read" in str(caught.value)


def test_load_names_the_file_it_read(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text("topics:\n  - id: a\n    name: A\n  - id: a\n    name: B\n", encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert str(caught.value).startswith(f"{path}:4:")


# --- normalization -------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("Label-Noise", "label noise"),
    ("noisy labels", "Noisy Label"),
    ("optimisers", "optimizer"),
    ("Regularisation", "regularization"),
    ("adversarial attacks", "Adversarial-Attack"),
    ("studies", "study"),
])
def test_normalization_folds_case_hyphens_plurals_and_british_spelling(a, b):
    assert normalize(a) == normalize(b)


def test_normalization_keeps_words_that_only_look_plural():
    assert normalize_tokens("robustness analysis loss") == ("robustness", "analysis", "loss")


# --- assignment -----------------------------------------------------------------

def test_title_phrase_alone_earns_the_topic_and_the_reason_says_where():
    tax = parse_taxonomy(SMALL)
    result = assign_paper(paper("p", "Fighting Label-Noise"), tax)
    assert result.topics == ("label-noise",)
    [reason] = result.reasons
    assert (reason.topic, reason.phrase, reason.field) == ("label-noise", "label noise", "title")
    assert str(reason) == "'label noise' in the title"


def test_one_abstract_mention_is_below_the_threshold_but_two_phrases_reach_it():
    tax = parse_taxonomy(SMALL)
    once = assign_paper(paper("p", "A study", "We consider an optimizer."), tax)
    assert once.topics == () and once.unsorted
    twice = assign_paper(paper("p", "A study", "An optimiser and a learning-rate schedule."), tax)
    assert twice.topics == ("optimizers",)
    assert {r.field for r in twice.reasons} == {"abstract"}


def test_near_match_of_a_multi_word_phrase_counts_and_is_labelled_near():
    tax = parse_taxonomy(SMALL)
    result = assign_paper(paper("p", "Adversarail training revisited"), tax)
    assert result.topics == ("adversarial",)
    assert "near-match" in str(result.reasons[0])
    assert result.reasons[0].score < 3.0


def test_single_word_phrases_never_match_fuzzily():
    tax = parse_taxonomy(SMALL)
    assert assign_paper(paper("p", "An optimiter"), tax).topics == ()


def test_parent_inherits_nothing_from_a_matching_child():
    tax = parse_taxonomy(SMALL)
    result = assign_paper(paper("p", "Noisy labels"), tax)
    assert result.topics == ("label-noise",)
    assert "robustness" not in result.topics


def test_the_most_specific_matching_topic_wins_over_its_matching_parent():
    tax = parse_taxonomy(SMALL)
    parent_only = assign_paper(paper("p", "Adversarial training at scale"), tax)
    assert parent_only.topics == ("adversarial",)
    both = assign_paper(paper("p", "Fast adversarial training"), tax)
    assert both.topics == ("fast-at",)
    assert {r.topic for r in both.reasons} == {"fast-at"}


def test_a_phrase_and_its_near_variant_on_the_same_words_count_once():
    tax = parse_taxonomy(SMALL.replace("[adversarial training]", "[adversarial training, adversarial trainer]"))
    score, reasons = score_paper("A study", "We revisit adversarial training.", tax)["adversarial"]
    assert score == 1.0
    assert [r.phrase for r in reasons] == ["adversarial training"]


def test_exclude_phrase_vetoes_the_topic():
    tax = parse_taxonomy(SMALL)
    result = assign_paper(paper("p", "Adversarial training", "For reinforcement learning."), tax)
    assert "adversarial" not in result.topics


def test_curator_topics_replace_automatic_assignment():
    tax = parse_taxonomy(SMALL)
    result = assign_paper(paper("p", "Label noise", topics=("optimizers", "robustness")), tax)
    assert result.topics == ("robustness", "optimizers")
    assert result.curated and all(r.field == "curator" for r in result.reasons)


def test_empty_curator_topics_make_a_paper_unsorted_on_purpose():
    tax = parse_taxonomy(SMALL)
    result = assign_paper(paper("p", "Label noise", topics=()), tax)
    assert result.unsorted and result.curated


def test_topics_exclude_removes_one_automatic_topic_and_remembers_it():
    tax = parse_taxonomy(SMALL)
    result = assign_paper(
        paper("p", "Fast adversarial training with noisy labels", topics_exclude=("label-noise",)), tax)
    assert result.topics == ("fast-at",)
    assert result.excluded == ("label-noise",)
    assert all(r.topic != "label-noise" for r in result.reasons)


def test_unknown_curator_topic_ids_are_dropped_and_reported():
    tax = parse_taxonomy(SMALL)
    bad = paper("p", "x", topics=("nope", "optimizers"), topics_exclude=("gone",))
    assert assign_paper(bad, tax).topics == ("optimizers",)
    problems = check_curated_topics([bad], tax)
    assert [p.reason for p in problems] == [
        "'topics' names unknown topic 'nope'", "'topics_exclude' names unknown topic 'gone'"]


def test_grouping_lists_every_topic_and_the_unsorted_papers():
    tax = parse_taxonomy(SMALL)
    result = assign_topics([paper("a", "Label noise"), paper("b", "Nothing here"),
                            paper("c", "Noisy labels")], tax)
    groups = papers_by_topic(result, tax)
    assert groups["label-noise"] == ("a", "c")
    assert groups["robustness"] == ()
    assert unsorted_papers(result) == ("b",)


def test_editing_the_taxonomy_resorts_the_papers():
    papers = [paper("a", "Label noise")]
    before = assign_topics(papers, parse_taxonomy(SMALL))
    after = assign_topics(papers, parse_taxonomy(SMALL.replace("label noise, ", "")))
    assert before["a"].topics == ("label-noise",)
    assert after["a"].topics == ()


def test_an_abstract_phrase_and_a_near_match_of_another_reach_the_threshold():
    tax = parse_taxonomy(SMALL)
    result = assign_paper(paper("p", "A study", "An optimizer and a learning rate shedule."), tax)
    assert result.topics == ("optimizers",)
    assert [r.score for r in result.reasons] == [1.0, 0.8]


# --- properties -------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=1500))
def test_assignment_never_fails_and_only_gives_known_topics_with_reasons(title, summary):
    tax = load_taxonomy(ROOT / "content" / "taxonomy.yaml")
    result = assign_paper(paper("p", title, summary), tax)
    assert set(result.topics) <= set(tax.ids)
    assert {r.topic for r in result.reasons} == set(result.topics)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_normalizing_twice_changes_nothing(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_as_a_taxonomy_is_parsed_or_refused_with_a_taxonomy_error(text):
    try:
        parse_taxonomy(text, "fuzz.yaml")
    except TaxonomyError as error:
        assert str(error).startswith("fuzz.yaml")
