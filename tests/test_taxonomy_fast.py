"""The fast topic matcher gives exactly what the plain definition of the rules gives.

The plain definition below is the straightforward form of the rules (every phrase's
windows compared word by word, near-matches by rapidfuzz on each window); the matcher in
site_src.taxonomy skips work it can prove useless. Random texts over a vocabulary full
of near-misses ('training'/'pretraining', 'that'/'threat', 'of'/'off') and random
taxonomies must score identically: same topics, scores and reasons, in the same order.
"""
from __future__ import annotations

import re
import unicodedata
from unittest import mock

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from site_src import taxonomy as tx
from site_src.model import Paper

# -- the plain definition ---------------------------------------------------------------


def plain_tokens(text: str) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKC", text).casefold().replace("'", "").replace("\u2019", "")
    return tuple(tx._stem(t) for t in re.findall(r"[a-z0-9]+", text))


def plain_index(tokens):
    positions: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        positions.setdefault(token, []).append(i)
    return positions


def plain_exact(tokens, positions, phrase):
    n = len(phrase)
    return [(s, s + n) for s in positions.get(phrase[0], ()) if tokens[s:s + n] == phrase]


def plain_near(tokens, positions, phrase):
    # Every window of the phrase's length, in text order: no skipping, no anchor word.
    n = len(phrase)
    if n < 2:
        return []
    target = " ".join(phrase)
    spans = []
    for start in range(len(tokens) - n + 1):
        window = tokens[start:start + n]
        odd = [(a, b) for a, b in zip(phrase, window) if a != b]
        if len(odd) == 1 and fuzz.ratio(*odd[0]) >= tx.FUZZY_WORD_CUTOFF \
                and fuzz.ratio(target, " ".join(window)) >= tx.FUZZY_CUTOFF:
            spans.append((start, start + n))
    return spans


def plain_score(title, abstract, taxonomy):
    rules = [(t.id, p, plain_tokens(p)) for t in taxonomy.topics for p in t.match]
    rules = [r for r in rules if r[2]]
    needs, by_word = [], {}
    for i, (_, _, tokens) in enumerate(rules):
        words = [w for w in dict.fromkeys(tokens) if w not in tx._FUNCTION_WORDS] or list(tokens[:1])
        needs.append(len(words))
        for word in words:
            by_word.setdefault(word, []).append(i)
    excludes = [(t.id, plain_tokens(p)) for t in taxonomy.topics for p in t.exclude]
    fields = [("title", plain_tokens(title), tx.TITLE_WEIGHT),
              ("abstract", plain_tokens(abstract), tx.ABSTRACT_WEIGHT)]
    indexed = [(name, tokens, plain_index(tokens), weight) for name, tokens, weight in fields]
    vetoed = {topic for topic, phrase in excludes if phrase
              and any(plain_exact(tokens, positions, phrase) for _, tokens, positions, _ in indexed)}
    scores: dict[str, float] = {}
    reasons: dict[str, list] = {}
    for name, tokens, positions, weight in indexed:
        hits: dict[int, int] = {}
        for word in positions:
            for i in by_word.get(word, ()):
                hits[i] = hits.get(i, 0) + 1
        by_topic: dict[str, list] = {}
        for i in sorted(hits):
            topic, _, phrase_tokens = rules[i]
            missing = needs[i] - hits[i]
            if topic not in vetoed and (missing == 0 or (missing == 1 and len(phrase_tokens) > 1)):
                by_topic.setdefault(topic, []).append((rules[i], missing == 0))
        for topic, candidates in by_topic.items():
            used, done = [], set()
            for exact in (True, False):
                find = plain_exact if exact else plain_near
                for (_, phrase, phrase_tokens), complete in candidates:
                    if phrase in done or (exact and not complete):
                        continue
                    span = next((sp for sp in find(tokens, positions, phrase_tokens)
                                 if not any(sp[0] < u[1] and u[0] < sp[1] for u in used)), None)
                    if span is None:
                        continue
                    used.append(span)
                    done.add(phrase)
                    gained = weight if exact else weight * tx.FUZZY_FACTOR
                    scores[topic] = scores.get(topic, 0.0) + gained
                    reasons.setdefault(topic, []).append(
                        tx.Reason(topic, phrase, name, " ".join(tokens[span[0]:span[1]]), gained))
    return {t: (s, tuple(reasons[t])) for t, s in scores.items()}


# -- random texts and taxonomies ---------------------------------------------------------

VOCABULARY = (
    "training trainings pretraining ranking trainin model models modal multimodal noise noisy "
    "label labels lable labelled the then them of off a an in we web that threat robust "
    "robustness robustly robustify certified verified certifiable distribution distributional "
    "distributionally shift shifted data adversarial adversarially attack efficient efficiency "
    "trade accuracy optimisation optimization cost x xx 3d"
).split()

phrase = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=4).map(" ".join)
# Separators that normalization treats as word breaks, joins or ignores.
separator = st.sampled_from([" ", " ", " ", "-", ", ", ". ", "'", " (", "\u2019", "\u00a0"])


@st.composite
def typo(draw, word: str) -> str:
    """Return the word with one letter dropped, doubled or changed (often a near-match)."""
    if len(word) < 2:
        return word + draw(st.sampled_from("aes"))
    k = draw(st.integers(0, len(word) - 1))
    how = draw(st.sampled_from(["drop", "double", "change"]))
    if how == "drop":
        return word[:k] + word[k + 1:]
    if how == "double":
        return word[:k] + word[k] + word[k:]
    return word[:k] + draw(st.sampled_from("aeiost")) + word[k + 1:]


@st.composite
def text_from(draw, phrases: list[str]) -> str:
    """A text of random words, the taxonomy's phrases, and phrases with one word off."""
    out = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["word", "word", "phrase", "off", "typo"]))
        if kind == "word" or not phrases:
            out.extend(draw(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3)))
            continue
        chosen = draw(st.sampled_from(phrases)).split()
        if kind != "phrase":
            k = draw(st.integers(0, len(chosen) - 1))
            chosen[k] = draw(typo(chosen[k])) if kind == "typo" else draw(st.sampled_from(VOCABULARY))
        out.extend(chosen)
    text = []
    for word in out:
        if draw(st.integers(0, 3)) == 0:
            word = word.upper() if draw(st.booleans()) else word.capitalize()
        text.append(word)
        text.append(draw(separator))
    return "".join(text)


@st.composite
def cases(draw) -> tuple[tx.Taxonomy, str, str]:
    """A random taxonomy, and a title and abstract written from its phrases."""
    n = draw(st.integers(1, 6))
    topics, phrases = [], []
    for k in range(n):
        topic = {"id": f"t{k}", "name": f"Topic {k}",
                 "match": draw(st.lists(phrase, min_size=1, max_size=5))}
        phrases.extend(topic["match"])
        if k and draw(st.booleans()):
            topic["parent"] = f"t{draw(st.integers(0, k - 1))}"
        if draw(st.integers(0, 4)) == 0:
            topic["exclude"] = [draw(phrase)]
        topics.append(topic)
    taxonomy = tx.parse_taxonomy(yaml.safe_dump({"topics": topics}))
    return taxonomy, draw(text_from(phrases)), draw(text_from(phrases))


fast = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(cases())
def test_scores_and_reasons_equal_the_plain_definition(case):
    taxonomy, title, abstract = case
    expected = plain_score(title, abstract, taxonomy)
    got = tx.score_paper(title, abstract, taxonomy)
    assert list(got.items()) == list(expected.items())


@fast
@given(cases())
def test_assigned_topics_equal_the_plain_definition(case):
    taxonomy, title, abstract = case
    paper = Paper(slug="p", id=None, title=title, summary=abstract)
    scored = plain_score(title, abstract, taxonomy)
    reached = {t for t, (s, _) in scored.items() if s >= tx.THRESHOLD}
    earned = sorted((t for t in reached if not any(d.id in reached for d in taxonomy.descendants(t))),
                    key=taxonomy.position.__getitem__)
    got = tx.assign_paper(paper, taxonomy)
    assert got.topics == tuple(earned)
    assert got.reasons == tuple(r for t in earned for r in scored[t][1])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_results_stay_equal_when_the_word_caches_start_over_often(case):
    taxonomy, title, abstract = case
    # Small limits make the stem cache (and its log of new words) and the matcher's
    # memory of words restart in the middle of texts, the rare paths of a long run.
    with mock.patch.object(tx._StemCache, "limit", 7), mock.patch.object(tx._NearWords, "limit", 11):
        got = tx.score_paper(title, abstract, taxonomy)
        again = tx.score_paper(abstract, title, taxonomy)
    assert list(got.items()) == list(plain_score(title, abstract, taxonomy).items())
    assert list(again.items()) == list(plain_score(abstract, title, taxonomy).items())


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalized_tokens_equal_the_plain_definition_for_any_text(text):
    assert tx.normalize_tokens(text) == plain_tokens(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_normalized_tokens_equal_the_plain_definition_for_paper_like_text(case):
    _, title, abstract = case
    assert tx.normalize_tokens(title) == plain_tokens(title)
    assert tx.normalize_tokens(abstract) == plain_tokens(abstract)


def test_typos_and_close_words_are_near_matches_the_plain_definition_also_finds():
    taxonomy = tx.parse_taxonomy(yaml.safe_dump({"topics": [
        {"id": "threat", "name": "Threat models", "match": ["threat model", "certified training"]}]}))
    title, abstract = "Certified trainng under a threat modal", "We study that model, not that data."
    got = tx.score_paper(title, abstract, taxonomy)
    assert [(r.field, r.matched) for r in got["threat"][1]] == [
        ("title", "threat modal"), ("title", "certified trainng"), ("abstract", "that model")]
    assert got == plain_score(title, abstract, taxonomy)
