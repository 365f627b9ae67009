"""The topic tree (content/taxonomy.yaml) and the automatic sorting of papers into it.

Loading validates the whole file and names file, line and topic for every
mistake. Assignment is a pure function of the papers and the taxonomy, so
editing the taxonomy re-sorts the whole corpus at the next build.

Assignment rules, in order:

1. A paper whose front matter sets ``topics:`` gets exactly those topics
   (the curator wins); automatic assignment is not consulted.
2. Otherwise each topic scores the paper by its match phrases: a phrase found
   in the title counts ``TITLE_WEIGHT``, in the abstract ``ABSTRACT_WEIGHT``
   (each phrase counted once per field); a near-match of a multi-word phrase
   (rapidfuzz) counts ``FUZZY_FACTOR`` of that. A topic whose score reaches
   ``THRESHOLD`` is given, unless one of its exclude phrases occurs.
3. The most specific topic wins: a topic that earned the paper steps back
   when one of its own subtopics earned it too.
4. ``topics_exclude:`` removes topics from either result.

A paper inherits nothing it did not earn: a parent topic is never given
because a child matched. Pages that want a parent's whole subtree ask for
``Taxonomy.descendants``.
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from itertools import chain
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Literal, Mapping, Sequence

import yaml
from rapidfuzz import fuzz, process

from site_src.model import Paper, Problem, pickled_as_tuples

TITLE_WEIGHT = 3.0
"""Score of a phrase found in the title: a title names what the paper is about."""
ABSTRACT_WEIGHT = 1.0
"""Score of a phrase found in the abstract."""
FUZZY_FACTOR = 0.8
"""Share of the full weight that a near-match (not an exact one) earns."""
FUZZY_CUTOFF = 90.0
"""rapidfuzz ratio (0-100) a whole window must reach to count as a near-match."""
FUZZY_WORD_CUTOFF = 80.0
"""rapidfuzz ratio each word of the window must reach against the phrase's word."""
THRESHOLD = 1.8
"""Score a topic needs: a title hit, or two different phrases in the abstract (one of
them may be a near-match, 1 + 0.8)."""

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class TaxonomyError(Exception):
    """The taxonomy file is broken; the message names file, line and topic."""

    def __init__(self, source: str, line: int | None, message: str, topic: str | None = None):
        self.source = source
        self.line = line
        self.topic = topic
        self.reason = message
        where = f"{source}:{line}" if line is not None else source
        about = f" (topic '{topic}')" if topic else ""
        super().__init__(f"{where}: {message}{about}")


@dataclass(frozen=True, slots=True)
class Topic:
    """One node of the topic tree."""

    id: str
    """URL-safe key: lowercase letters, digits and single hyphens."""
    name: str
    description: str = ""
    """One paragraph a researcher would write: what belongs here and what does not."""
    parent: str | None = None
    children: tuple[str, ...] = ()
    """Child topic ids in display order."""
    order: int = 0
    """Sort key among siblings; ties keep file order."""
    match: tuple[str, ...] = ()
    """Phrases that earn a paper this topic (normalized before matching)."""
    exclude: tuple[str, ...] = ()
    """Phrases that veto this topic for a paper even when a match phrase occurs."""
    line: int | None = None
    """Line of the topic's entry in the taxonomy file."""
    depth: int = 0
    """0 for a root topic."""


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The whole tree; ``topics`` are in display order (depth-first, siblings by order)."""

    topics: tuple[Topic, ...]
    source: str = "taxonomy.yaml"
    _by_id: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    _position: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {t.id: t for t in self.topics})
        object.__setattr__(self, "_position", {t.id: i for i, t in enumerate(self.topics)})
        object.__setattr__(self, "_hash", hash((self.topics, self.source)))

    def __hash__(self) -> int:
        # Computed once: assignment looks the taxonomy up in a cache for every paper.
        return self._hash

    @property
    def position(self) -> Mapping[str, int]:
        """Topic id -> index in display order (for sorting)."""
        return self._position

    @property
    def roots(self) -> tuple[Topic, ...]:
        """Top-level topics in display order."""
        return tuple(t for t in self.topics if t.parent is None)

    @property
    def ids(self) -> tuple[str, ...]:
        """Every topic id in display order."""
        return tuple(t.id for t in self.topics)

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self._by_id

    def get(self, topic_id: str) -> Topic:
        """Return the topic with this id (KeyError if there is none)."""
        return self._by_id[topic_id]

    def children_of(self, topic_id: str) -> tuple[Topic, ...]:
        """Return the direct children of a topic in display order."""
        return tuple(self._by_id[c] for c in self.get(topic_id).children)

    def descendants(self, topic_id: str) -> tuple[Topic, ...]:
        """Return every topic below this one, depth-first in display order."""
        out: list[Topic] = []
        for child in self.children_of(topic_id):
            out.append(child)
            out.extend(self.descendants(child.id))
        return tuple(out)

    def ancestors(self, topic_id: str) -> tuple[Topic, ...]:
        """Return the parents of a topic, nearest first."""
        out: list[Topic] = []
        parent = self.get(topic_id).parent
        while parent is not None:
            out.append(self._by_id[parent])
            parent = self._by_id[parent].parent
        return tuple(out)


# ---------------------------------------------------------------------------
# Loading and validation

_TOPIC_KEYS = {"id", "name", "description", "parent", "order", "match", "exclude"}


def load_taxonomy(path: Path | str) -> Taxonomy:
    """Read and validate a taxonomy file (raises TaxonomyError)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TaxonomyError(str(path), None, f"cannot read the taxonomy: {error.strerror}") from None
    except UnicodeDecodeError:
        raise TaxonomyError(str(path), None, "the taxonomy is not UTF-8 text") from None
    return parse_taxonomy(text, str(path))


def parse_taxonomy(text: str, source: str = "taxonomy.yaml") -> Taxonomy:
    """Build a validated Taxonomy from YAML text (raises TaxonomyError)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise TaxonomyError(source, line, f"invalid YAML: {problem}") from None
    if root is None:
        raise TaxonomyError(source, None, "the taxonomy is empty: expected a 'topics:' list")
    items = _topic_nodes(root, source)
    raw: list[Topic] = []
    seen: dict[str, int] = {}
    for node in items:
        topic = _read_topic(node, source)
        if topic.id in seen:
            raise TaxonomyError(
                source, topic.line,
                f"duplicate topic id (first defined on line {seen[topic.id]})", topic.id)
        seen[topic.id] = topic.line or 0
        raw.append(topic)
    by_id = {t.id: t for t in raw}
    for topic in raw:
        if topic.parent is not None and topic.parent not in by_id:
            raise TaxonomyError(source, topic.line, f"unknown parent '{topic.parent}'", topic.id)
        if topic.parent == topic.id:
            raise TaxonomyError(source, topic.line, "topic is its own parent", topic.id)
    for topic in raw:
        _check_cycle(topic, by_id, source)
    return Taxonomy(_order_tree(raw), source)


def _topic_nodes(root: yaml.Node, source: str) -> list[yaml.Node]:
    """Return the sequence of topic nodes under the top-level 'topics:' key."""
    line = root.start_mark.line + 1
    if not isinstance(root, yaml.MappingNode):
        raise TaxonomyError(source, line, "expected a mapping with a 'topics:' list at the top")
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "topics":
            if isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null"):
                return []
            if not isinstance(value, yaml.SequenceNode):
                raise TaxonomyError(source, value.start_mark.line + 1,
                                    "'topics' must be a list of topics")
            return list(value.value)
        raise TaxonomyError(source, key.start_mark.line + 1,
                            f"unknown top-level key '{getattr(key, 'value', key)}'")
    raise TaxonomyError(source, line, "missing 'topics:' list")


def _scalar(node: yaml.Node, source: str, what: str, topic: str | None) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise TaxonomyError(source, node.start_mark.line + 1, f"'{what}' must be text", topic)
    return node.value


def _phrases(node: yaml.Node, source: str, what: str, topic: str) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode):
        return (node.value.strip(),) if node.value.strip() else ()
    if not isinstance(node, yaml.SequenceNode):
        raise TaxonomyError(source, node.start_mark.line + 1,
                            f"'{what}' must be a list of phrases", topic)
    out = []
    for item in node.value:
        phrase = _scalar(item, source, what, topic).strip()
        if not phrase or not normalize_tokens(phrase):
            raise TaxonomyError(source, item.start_mark.line + 1, f"empty phrase in '{what}'", topic)
        out.append(phrase)
    return tuple(out)


def _read_topic(node: yaml.Node, source: str) -> Topic:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise TaxonomyError(source, line, "each topic must be a mapping with 'id' and 'name'")
    fields: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = _scalar(key, source, "key", None)
        fields[name] = value
    topic_id = None
    if "id" in fields:
        topic_id = _scalar(fields["id"], source, "id", None).strip()
    if not topic_id:
        raise TaxonomyError(source, line, "topic without an 'id'")
    if not _ID_RE.match(topic_id):
        raise TaxonomyError(
            source, line,
            "invalid id: use lowercase letters, digits and single hyphens", topic_id)
    unknown = sorted(set(fields) - _TOPIC_KEYS)
    if unknown:
        key_line = next(k.start_mark.line + 1 for k, _ in node.value if k.value == unknown[0])
        raise TaxonomyError(source, key_line, f"unknown key '{unknown[0]}'", topic_id)
    name = _scalar(fields["name"], source, "name", topic_id).strip() if "name" in fields else ""
    if not name:
        raise TaxonomyError(source, line, "empty name", topic_id)
    description = ""
    if "description" in fields:
        description = " ".join(_scalar(fields["description"], source, "description", topic_id).split())
    parent = None
    if "parent" in fields:
        parent = _scalar(fields["parent"], source, "parent", topic_id).strip() or None
        if fields["parent"].tag.endswith(":null"):
            parent = None
    order = 0
    if "order" in fields:
        raw_order = _scalar(fields["order"], source, "order", topic_id)
        try:
            order = int(raw_order)
        except ValueError:
            raise TaxonomyError(source, fields["order"].start_mark.line + 1,
                                f"'order' must be a whole number, not '{raw_order}'", topic_id) from None
    match = _phrases(fields["match"], source, "match", topic_id) if "match" in fields else ()
    exclude = _phrases(fields["exclude"], source, "exclude", topic_id) if "exclude" in fields else ()
    return Topic(id=topic_id, name=name, description=description, parent=parent,
                 order=order, match=match, exclude=exclude, line=line)


def _check_cycle(topic: Topic, by_id: Mapping[str, Topic], source: str) -> None:
    path = [topic.id]
    current = topic.parent
    while current is not None:
        if current in path:
            loop = " -> ".join(path[path.index(current):] + [current])
            raise TaxonomyError(source, topic.line, f"parent cycle: {loop}", topic.id)
        path.append(current)
        current = by_id[current].parent


def _order_tree(raw: Sequence[Topic]) -> tuple[Topic, ...]:
    """Order topics depth-first, siblings by (order, file position); fill children and depth."""
    position = {t.id: i for i, t in enumerate(raw)}
    kids: dict[str | None, list[Topic]] = {}
    for topic in raw:
        kids.setdefault(topic.parent, []).append(topic)
    for siblings in kids.values():
        siblings.sort(key=lambda t: (t.order, position[t.id]))
    out: list[Topic] = []

    def visit(parent: str | None, depth: int) -> None:
        for topic in kids.get(parent, []):
            children = tuple(c.id for c in kids.get(topic.id, []))
            out.append(Topic(id=topic.id, name=topic.name, description=topic.description,
                             parent=topic.parent, children=children, order=topic.order,
                             match=topic.match, exclude=topic.exclude, line=topic.line,
                             depth=depth))
            visit(topic.id, depth + 1)

    visit(None, 0)
    return tuple(out)


# ---------------------------------------------------------------------------
# Normalization

# British -> American endings and a few word-level variants seen in ML abstracts.
_SPELLING = {
    "optimisation": "optimization", "optimise": "optimize", "optimised": "optimized",
    "optimiser": "optimizer", "regularisation": "regularization", "regularise": "regularize",
    "generalisation": "generalization", "generalise": "generalize", "normalisation": "normalization",
    "normalise": "normalize", "quantisation": "quantization", "quantise": "quantize",
    "quantised": "quantized", "robustify": "robustify", "behaviour": "behavior",
    "modelling": "modeling", "labelled": "labeled", "labelling": "labeling",
    "randomised": "randomized", "randomisation": "randomization", "analyse": "analyze",
    "minimisation": "minimization", "minimise": "minimize", "characterise": "characterize",
    "defence": "defense", "colour": "color", "biases": "bias", "utilise": "utilize", "utilisation": "utilization",
}
_KEEP_S = ("ss", "us", "is", "ics", "sis")
_INVARIANT = frozenset({"bias", "data", "series", "species", "lens", "gaussian"})
_FUNCTION_WORDS = frozenset(
    "a an and are as at be by for from in into is it of on or that the their this to via with".split())
_TOKEN_RE = re.compile(r"[a-z0-9]+")


def _stem(token: str) -> str:
    """Fold a word to a singular, American-spelled form (deliberately small and predictable)."""
    token = _SPELLING.get(token, token)
    if len(token) <= 3 or token.isdigit() or token in _INVARIANT:
        return token
    if token.endswith("ies") and len(token) > 4:
        token = token[:-3] + "y"
    elif token.endswith(("ches", "shes", "xes", "sses")):
        token = token[:-2]
    elif token.endswith("s") and not token.endswith(_KEEP_S):
        token = token[:-1]
    return _SPELLING.get(token, token)


class _StemCache(dict):
    """Raw word -> _stem(word), filled on first sight and emptied when it grows too big.

    A dict looked up by map() costs a fraction of a Python call per word. ``log`` lists
    the stems in the order they were made since the cache was last emptied (a count
    of which is ``generation``): every token normalize_tokens returns is in it, so the
    matcher learns new words from the log instead of comparing every text's words
    with the words it knows.
    """

    __slots__ = ("log", "generation")
    limit = 1 << 18

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.generation = 0

    def __missing__(self, token: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        stem = self[token] = _stem(token)
        self.log.append(stem)
        return stem

    def clear(self) -> None:
        """Forget every word (and start a new log)."""
        super().clear()
        self.log = []
        self.generation += 1


_STEMS = _StemCache()
# ASCII bytes -> themselves for [a-z0-9], lower case for [A-Z], a space for the rest:
# on ASCII text, translate + split finds exactly the words _TOKEN_RE finds after casefold.
_ASCII_WORDS = bytes(
    b if (48 <= b <= 57 or 97 <= b <= 122) else b + 32 if 65 <= b <= 90 else 32 for b in range(256))


def normalize_tokens(text: str) -> tuple[str, ...]:
    """Split text into lowercase, singular, American-spelled word tokens."""
    # Hyphens, slashes and apostrophes join words: 'label-noise' == 'label noise'.
    if text.isascii():
        # NFKC leaves ASCII alone and casefold is lower(): one C-level pass instead.
        words = text.encode().translate(_ASCII_WORDS, b"'").decode().split()
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        words = _TOKEN_RE.findall(text.replace("'", "").replace("\u2019", ""))
    return tuple(map(_STEMS.__getitem__, words))


def normalize(text: str) -> str:
    """Return the normalized form of a text as one space-separated string."""
    return " ".join(normalize_tokens(text))


# ---------------------------------------------------------------------------
# Assignment

Field = Literal["title", "abstract"]


@pickled_as_tuples  # (the topic memo holds ~300k of these at 100k papers: a faster unpickling)
@dataclass(frozen=True, slots=True)
class Reason:
    """Why a paper got a topic."""

    topic: str
    phrase: str
    """The taxonomy phrase that matched, as written in the taxonomy ('' for curator choices)."""
    field: Literal["title", "abstract", "curator"]
    matched: str = ""
    """The normalized words of the paper that matched (differs from the phrase for near-matches)."""
    score: float = 0.0

    def __str__(self) -> str:
        if self.field == "curator":
            return "set by the curator"
        near = f" (near-match '{self.matched}')" if self.matched and self.matched != normalize(self.phrase) else ""
        return f"'{self.phrase}' in the {self.field}{near}"


@pickled_as_tuples
@dataclass(frozen=True, slots=True)
class Assignment:
    """The topics of one paper and why."""

    slug: str
    topics: tuple[str, ...]
    """Topic ids in taxonomy display order; empty means the paper is unsorted."""
    reasons: tuple[Reason, ...] = ()
    curated: bool = False
    """True when the front matter's 'topics:' decided."""
    excluded: tuple[str, ...] = ()
    """Topics the automatic rules found but the curator's 'topics_exclude:' removed."""

    @property
    def unsorted(self) -> bool:
        """True when the paper has no topic and belongs on the Unsorted page."""
        return not self.topics

    def reasons_for(self, topic_id: str) -> tuple[Reason, ...]:
        """Return the reasons recorded for one topic."""
        return tuple(r for r in self.reasons if r.topic == topic_id)


@dataclass(frozen=True, slots=True)
class _Rule:
    topic: str
    phrase: str
    tokens: tuple[str, ...]


class _NearWords:
    """Which text words nearly spell a phrase word (rapidfuzz ratio >= FUZZY_WORD_CUTOFF).

    A near-match swaps one phrase word for a close word of the text, so a rule none of
    whose words is close to a word of the field cannot be nearly matched there. Each
    distinct text word is compared with the phrase words once per process (most are
    close to none); the window comparison itself stays in _near_spans.
    """

    __slots__ = ("vocabulary", "near_rules", "content", "phrases", "cutoff", "near", "hot", "short_of",
                 "_choices", "_generation", "_read")
    limit = 1 << 18
    """Words remembered before starting over (bounds the memory of a long-running process)."""

    def __init__(self, near_rules: Mapping[str, tuple[int, ...]], content: Sequence[frozenset[str]],
                 phrases: Sequence[tuple[str, ...]]):
        self.vocabulary = tuple(near_rules)
        self.near_rules = near_rules
        """Phrase word -> the rules of several words whose phrase contains it."""
        self.content = content
        self.phrases = phrases
        """Per rule, its content words and its phrase's words."""
        self.cutoff: float | None = None
        self.near: dict[str, frozenset[str]] = {}
        """Every text word looked at so far -> the phrase words close to it (mostly none)."""
        self.hot: set[str] = set()
        """The text words that are close to some phrase word."""
        self.short_of: dict[str, tuple[tuple[str, frozenset[str], tuple], ...]] = {}
        """Hot word -> per close phrase word w: (w, the content words of all its entries but
        w, entries); an entry is (rule, the rule's content words but w, the rule's _needle
        with the hot word in place of w) for each rule with w once in its phrase and one or
        more other content words. Such a rule short of w in a field may be nearly matched
        there only if its other content words occur and an entry's needle is found."""
        self._choices: dict[int, tuple[str, ...]] = {}
        self._generation: int | None = None
        self._read = 0
        """How much of the _STEMS log of that generation is learnt."""

    def learn(self, *texts: Sequence[str]) -> None:
        """Compare every word normalize_tokens has made since the last call with the phrase words.

        texts are the tokens about to be matched: they are learnt directly when the log
        cannot vouch for them (it was restarted since the last call).
        """
        stems = _STEMS
        if self.cutoff != FUZZY_WORD_CUTOFF or len(self.near) >= self.limit:
            self.cutoff = FUZZY_WORD_CUTOFF
            for memo in (self.near, self.hot, self.short_of, self._choices):
                memo.clear()
            self._generation = None
        if self._generation != stems.generation:
            # The log restarted (or this is the first call): the words of these texts may
            # have been made before, so learn them; the new log has every word made since,
            # and all the cache holds.
            self._learn(set().union(*texts).difference(self.near))
            self._generation, self._read = stems.generation, 0
        log = stems.log
        end = len(log)
        if self._read < end:
            self._learn([word for word in log[self._read:end] if word not in self.near])
            self._read = end

    def _learn(self, new: Iterable[str]) -> None:
        loose = self._loose()
        for word in new:
            if word in self.near:
                continue
            # One C-level pass with a looser cutoff picks the few candidate pairs; each
            # is then decided by the very comparison _near_spans makes.
            close = frozenset(phrase_word for phrase_word, _, _ in process.extract(
                word, self._choices_for(len(word)), scorer=fuzz.ratio, score_cutoff=loose, limit=None)
                if phrase_word != word and fuzz.ratio(phrase_word, word) >= FUZZY_WORD_CUTOFF)
            if close:
                self.short_of[word] = self._short_of(word, close)
                self.hot.add(word)
            # Last: a word is only taken as learnt once everything about it is in place.
            self.near[word] = close

    def _short_of(self, word: str, close: frozenset[str]) -> tuple:
        """Return short_of[word] (see __init__)."""
        out = []
        for w in sorted(close):
            group = tuple(
                (i, self.content[i] - {w}, _needle(tuple(word if p == w else p for p in self.phrases[i])))
                for i in self.near_rules[w]
                if w in self.content[i] and len(self.content[i]) > 1 and self.phrases[i].count(w) == 1)
            if group:
                out.append((w, frozenset().union(*(rest for _, rest, _ in group)), group))
        return tuple(out)

    @staticmethod
    def _loose() -> float:
        return max(0.0, FUZZY_WORD_CUTOFF - 5.0)

    def _choices_for(self, length: int) -> tuple[str, ...]:
        """Return the phrase words long or short enough to come close to a word of this length."""
        if length not in self._choices:
            # ratio = 200 * common / (sum of lengths), and common <= the shorter length
            # (the margin only guards against rounding).
            self._choices[length] = tuple(
                w for w in self.vocabulary
                if 200.0 * min(len(w), length) / (len(w) + length) >= FUZZY_WORD_CUTOFF - 1e-6)
        return self._choices[length]

    def spellers(self, phrase_word: str, hot: Iterable[str]) -> list[str]:
        """Return those of the (learnt, hot) text words that are close to a phrase word."""
        return [word for word in hot if phrase_word in self.near[word]]


@dataclass(frozen=True, slots=True)
class _Matcher:
    rules: tuple[_Rule, ...]
    """Match rules grouped by topic, topics in display order."""
    content: tuple[frozenset[str], ...]
    """Per rule, its phrase's content words (its first word if it has none)."""
    owned: Mapping[str, tuple[int, ...]]
    """Content word -> the rules whose greatest content word it is: a rule can match
    exactly only when all its content words occur, so only the rules owned by a word of
    the field need a look."""
    content_words: frozenset[str]
    exclude: tuple[_Rule, ...]
    needles: tuple[str, ...]
    """Per rule, ' word word ': found in a field's _joined tokens exactly where the phrase occurs."""
    exclude_needles: tuple[str, ...]
    descendants: Mapping[str, frozenset[str]]
    """Topic id -> the ids of every topic below it."""
    near_words: _NearWords
    exact_reasons: Mapping[str, dict[int, Reason]]
    """Field -> rule -> the Reason of an exact match (it depends on nothing else: made once)."""


def _needle(tokens: tuple[str, ...]) -> str:
    """Return the tokens with a space before each and after the last (see _found_spans)."""
    return f" {' '.join(tokens)} "


@functools.lru_cache(maxsize=8)
def _compile(taxonomy: Taxonomy) -> _Matcher:
    # Cached because assign_paper is called once per paper with the same taxonomy.
    rules = tuple(_Rule(t.id, p, normalize_tokens(p)) for t in taxonomy.topics for p in t.match)
    rules = tuple(r for r in rules if r.tokens)
    # Function words occur in every abstract: requiring them would make every phrase
    # containing 'the' a candidate everywhere.
    content = tuple(frozenset(w for w in r.tokens if w not in _FUNCTION_WORDS) or frozenset(r.tokens[:1])
                    for r in rules)
    owned: dict[str, list[int]] = {w: [] for words in content for w in words}
    # A word in many phrases ('training', 'model') is common in abstracts too: a rule is
    # owned by its content word in the fewest phrases, so that fewer owners occur.
    phrases_with = Counter(w for words in content for w in words)
    near_rules: dict[str, list[int]] = {}
    for i, (rule, words) in enumerate(zip(rules, content)):
        owned[min(words, key=lambda w: (phrases_with[w], w))].append(i)
        if len(rule.tokens) > 1:
            # Only a phrase of several words can be nearly matched.
            for word in dict.fromkeys(rule.tokens):
                near_rules.setdefault(word, []).append(i)
    exclude = tuple(_Rule(t.id, p, normalize_tokens(p)) for t in taxonomy.topics for p in t.exclude)
    exclude = tuple(r for r in exclude if r.tokens)
    return _Matcher(
        rules=rules, content=content,
        owned={w: tuple(ix) for w, ix in owned.items()},
        content_words=frozenset(owned),
        exclude=exclude,
        needles=tuple(_needle(r.tokens) for r in rules),
        exclude_needles=tuple(_needle(r.tokens) for r in exclude),
        descendants={t.id: frozenset(d.id for d in taxonomy.descendants(t.id)) for t in taxonomy.topics},
        near_words=_NearWords({w: tuple(ix) for w, ix in near_rules.items()}, content,
                              tuple(r.tokens for r in rules)),
        exact_reasons={"title": {}, "abstract": {}})


Span = tuple[int, int]


def _found_spans(text: str, needle: str, n: int) -> Iterator[Span]:
    """Yield (start, end) token spans where the phrase occurs, in order.

    text is the _needle of the field's tokens, needle that of the phrase's tokens, n
    their number.
    """
    at = text.find(needle)
    while at >= 0:
        # Each token has exactly one space before it: counting them gives its index.
        start = text.count(" ", 0, at)
        yield (start, start + n)
        at = text.find(needle, at + 1)


def _near_spans(tokens: tuple[str, ...], positions: Mapping[str, list[int]],
                phrase: tuple[str, ...]) -> list[Span]:
    """Return windows that spell a multi-word phrase with exactly one word slightly off.

    The odd word must be close to the phrase's word (rapidfuzz ratio >= FUZZY_WORD_CUTOFF:
    'certifiable' for 'certified', a typo), and the whole window close to the phrase; a
    different word ('an' for 'fast') never is. Phrases with fewer than n-1 of their words
    in the text are skipped at once, so most rules cost a set lookup.
    """
    n = len(phrase)
    distinct = set(phrase)
    present = sum(word in positions for word in distinct)
    if n < 2 or present == 0 or present < len(distinct) - 1:
        return []
    target = " ".join(phrase)
    # A window that nearly matches has every word in place but one, so the windows to
    # compare are those where an anchor word is in place. The swapped word may be the
    # anchor itself: with every word present, two anchors are needed (the two rarest),
    # and one swapped word cannot be at both; a word absent from the text is the swapped
    # one, so any present word then anchors alone.
    present_at = sorted((i for i, word in enumerate(phrase) if word in positions),
                        key=lambda i: len(positions[phrase[i]]))
    anchors = present_at[:1] if len(present_at) < n else present_at[:2]
    starts = sorted({pos - i for i in anchors for pos in positions[phrase[i]]})
    spans = []
    for start in starts:
        if start < 0 or start + n > len(tokens):
            continue
        window = tokens[start:start + n]
        odd = [(a, b) for a, b in zip(phrase, window) if a != b]
        if len(odd) == 1 and fuzz.ratio(*odd[0]) >= FUZZY_WORD_CUTOFF \
                and fuzz.ratio(target, " ".join(window)) >= FUZZY_CUTOFF:
            spans.append((start, start + n))
    return spans


def _may_be_near(phrase: tuple[str, ...], words: set[str], text: str, hot: set[str],
                 near_words: _NearWords) -> bool:
    """Tell whether some window could spell the phrase with one word swapped for a close one.

    A necessary condition for _near_spans to find anything: the other words are in
    place, so the phrase with that word swapped occurs verbatim.
    """
    absent = [j for j, word in enumerate(phrase) if word not in words]
    if len(phrase) < 2 or len(absent) > 1:
        return False
    for j in absent or range(len(phrase)):
        for word in near_words.spellers(phrase[j], hot):
            if _needle(phrase[:j] + (word,) + phrase[j + 1:]) in text:
                return True
    return False


def _positions(text: str, wanted: Iterable[str], present: set[str]) -> dict[str, list[int]]:
    """Return wanted word -> its token positions, for the wanted words that are present.

    text is the _needle of the field's tokens.
    """
    return {word: [start for start, _ in _found_spans(text, f" {word} ", 1)]
            for word in wanted if word in present}


def score_paper(title: str, abstract: str, taxonomy: Taxonomy) -> dict[str, tuple[float, tuple[Reason, ...]]]:
    """Score every topic for one paper: topic id -> (score, reasons), excluded topics left out."""
    return _score(title, abstract, _compile(taxonomy))


def _score(title: str, abstract: str, matcher: _Matcher) -> dict[str, tuple[float, tuple[Reason, ...]]]:
    fields: tuple[tuple[Field, tuple[str, ...], float], ...] = (
        ("title", normalize_tokens(title), TITLE_WEIGHT),
        ("abstract", normalize_tokens(abstract), ABSTRACT_WEIGHT),
    )
    # A phrase occurs exactly where its needle is found in the needle of the field's
    # tokens: str.find does in C what comparing token slices did in Python.
    texts = [_needle(tokens) for _, tokens, _ in fields]
    vetoed = {rule.topic for rule, needle in zip(matcher.exclude, matcher.exclude_needles)
              if needle in texts[0] or needle in texts[1]}
    rules, content, owned, needles = matcher.rules, matcher.content, matcher.owned, matcher.needles
    near_words = matcher.near_words
    near_words.learn(fields[0][1], fields[1][1])
    scores: dict[str, float] = {}
    reasons: dict[str, list[Reason]] = {}
    for (name, tokens, weight), text in zip(fields, texts):
        made = matcher.exact_reasons[name]
        present = matcher.content_words.intersection(tokens)
        if not present:
            continue
        complete = [i for i in chain.from_iterable(map(owned.__getitem__, present)) if content[i] <= present]
        # A near-match needs a word of the field close to a word of the phrase ('hot'
        # words); most fields have few, and the rules without one need no comparing.
        hot = near_words.hot.intersection(tokens)
        words: set[str] | None = None
        close = None
        if hot:
            # A rule short of one content word can only be nearly matched on that word.
            # (It is missing from the field, the others are there, and a word close to it
            # stands in its place.)
            # (w is a content word: it occurs exactly when it is present.)
            nearly = {i for t in hot for w, needs, group in near_words.short_of[t]
                      if w not in present and not needs.isdisjoint(present)
                      for i, rest, swapped in group if rest <= present and swapped in text}
            candidates = sorted(complete + list(nearly)) if nearly else sorted(complete)
            exactly = set(complete) if nearly else None
        else:
            nearly = set()
            candidates = sorted(complete)
            exactly = None
        k, end = 0, len(candidates)
        while k < end:
            # Rules are grouped by topic: take one topic's run of candidates.
            topic = rules[candidates[k]].topic
            stop = k + 1
            while stop < end and rules[candidates[stop]].topic == topic:
                stop += 1
            run, k = candidates[k:stop], stop
            if topic in vetoed:
                continue
            # Each phrase counts once per field, and words already counted for
            # this topic do not count again: 'distribution shift' and
            # 'distributional shift' on the same words are one piece of evidence.
            used: list[Span] = []
            done: set[str] = set()
            for i in run:
                rule = rules[i]
                if rule.phrase in done or (exactly is not None and i not in exactly):
                    continue
                needle = needles[i]
                at = text.find(needle)
                if at < 0:
                    continue
                n = len(rule.tokens)
                start = text.count(" ", 0, at)
                while used and any(start < u[1] and u[0] < start + n for u in used):
                    at = text.find(needle, at + 1)
                    if at < 0:
                        break
                    start = text.count(" ", 0, at)
                if at < 0:
                    continue
                used.append((start, start + n))
                done.add(rule.phrase)
                scores[topic] = scores.get(topic, 0.0) + weight
                reason = made.get(i)
                if reason is None or reason.score != weight:
                    reason = made[i] = Reason(topic, rule.phrase, name, needle[1:-1], weight)
                reasons.setdefault(topic, []).append(reason)
            if not hot:
                continue
            for i in run:
                rule = rules[i]
                if rule.phrase in done:
                    continue
                if i not in nearly:
                    # All its content words occur, but not in place: one of its words must
                    # be close to a hot word.
                    if close is None:
                        close = set().union(*map(near_words.near.__getitem__, hot))
                    if close.isdisjoint(rule.tokens):
                        continue
                    if words is None:
                        words = set(tokens)
                    if not _may_be_near(rule.tokens, words, text, hot, near_words):
                        continue
                elif words is None:
                    words = set(tokens)
                found = _near_spans(tokens, _positions(text, rule.tokens, words), rule.tokens)
                span = next((sp for sp in found
                             if not any(sp[0] < u[1] and u[0] < sp[1] for u in used)), None)
                if span is None:
                    continue
                used.append(span)
                done.add(rule.phrase)
                gained = weight * FUZZY_FACTOR
                scores[topic] = scores.get(topic, 0.0) + gained
                reasons.setdefault(topic, []).append(Reason(
                    topic, rule.phrase, name, " ".join(tokens[span[0]:span[1]]), gained))
    return {t: (s, tuple(reasons[t])) for t, s in scores.items()}


def assign_paper(paper: Paper, taxonomy: Taxonomy, threshold: float = THRESHOLD) -> Assignment:
    """Give one paper its topics and the reasons (curator choices win)."""
    order = taxonomy.position
    excluded_by_curator = set(paper.topics_exclude)
    if paper.topics is not None:
        chosen = [t for t in paper.topics if t in order and t not in excluded_by_curator]
        chosen = sorted(dict.fromkeys(chosen), key=order.__getitem__)
        return Assignment(paper.slug, tuple(chosen),
                          tuple(Reason(t, "", "curator") for t in chosen), curated=True)
    matcher = _compile(taxonomy)
    scored = _score(paper.title, paper.summary, matcher)
    reached = {t for t, (s, _) in scored.items() if s >= threshold}
    # The most specific topic wins: a parent that matched on its own broad
    # phrases steps back when a subtopic also matched, so the paper is filed
    # once per area, under its closest topic.
    earned = sorted((t for t in reached if matcher.descendants[t].isdisjoint(reached)),
                    key=order.__getitem__)
    kept = tuple(t for t in earned if t not in excluded_by_curator)
    removed = tuple(t for t in earned if t in excluded_by_curator)
    reasons = tuple(r for t in kept for r in scored[t][1])
    return Assignment(paper.slug, kept, reasons, excluded=removed)


def assign_topics(papers: Iterable[Paper], taxonomy: Taxonomy,
                  threshold: float = THRESHOLD) -> dict[str, Assignment]:
    """Sort papers into topics: slug -> Assignment, in input order."""
    return {paper.slug: assign_paper(paper, taxonomy, threshold) for paper in papers}


def check_curated_topics(papers: Iterable[Paper], taxonomy: Taxonomy) -> list[Problem]:
    """Report front-matter topic ids that the taxonomy does not define."""
    problems = []
    for paper in papers:
        for key, ids in (("topics", paper.topics or ()), ("topics_exclude", paper.topics_exclude)):
            for topic_id in ids:
                if topic_id not in taxonomy:
                    problems.append(Problem(
                        f"content/papers/{paper.slug}.md", None,
                        f"'{key}' names unknown topic '{topic_id}'"))
    return problems


def papers_by_topic(assignments: Mapping[str, Assignment], taxonomy: Taxonomy) -> dict[str, tuple[str, ...]]:
    """Group slugs by topic id (every topic present, slugs in input order)."""
    out: dict[str, list[str]] = {tid: [] for tid in taxonomy.ids}
    for slug, assignment in assignments.items():
        for topic_id in assignment.topics:
            out[topic_id].append(slug)
    return {tid: tuple(slugs) for tid, slugs in out.items()}


def unsorted_papers(assignments: Mapping[str, Assignment]) -> tuple[str, ...]:
    """Return the slugs of papers with no topic, in input order."""
    return tuple(slug for slug, a in assignments.items() if a.unsorted)


# ---------------------------------------------------------------------------
# Growing the taxonomy: candidate topics from frequent key phrases

@dataclass(frozen=True, slots=True)
class Suggestion:
    """A candidate topic: a key phrase, its near-duplicates, and the papers it would take."""

    id: str
    name: str
    phrases: tuple[str, ...]
    """The phrase first, then the near-duplicates merged into it."""
    papers: tuple[str, ...]
    """Slugs of the papers that use any of the phrases, most-used first."""
    unsorted: tuple[str, ...]
    """Those of them that are unsorted today."""


MAX_SUGGEST_SHARE = 0.2
"""Phrases used by more than this share of all papers are too generic to suggest."""
_SUGGEST_STOP = frozenset("""
    a an and are as at be been being both but by can could do does for from had has have how
    however in into is it its of on or our over such than that the their them then there these
    they this those through to under up upon via was we were what when where which while who
    whose why will with within without would you your also only more most much many other
    some each every any all not no new novel propose proposed approach method methods result
    results show shows paper work study first existing various different recent prior based using
    use used well significant significantly extensive experiment experiments state art sota
    performance improve improved improves improvement achieve achieves demonstrate demonstrates
    introduce present further furthermore moreover thus key large small high low better best
    effective efficient two three one several across between among compared like even still often
    however e g i http https www github com org code available against toward towards
""".split())
# Words that end a phrase well ('language model') but never start one ('model robust').
_SUGGEST_NOT_FIRST = frozenset({"model", "network", "training", "data", "learning", "task", "trained"})
_URL_RE = re.compile(r"https?://\S+|www\.\S+")


def _candidate_phrases(tokens: tuple[str, ...], sizes: tuple[int, ...] = (2, 3)) -> set[str]:
    """Return the 2- and 3-word phrases of a text that neither start nor end with a stop word."""
    found: set[str] = set()
    for n in sizes:
        for i in range(len(tokens) - n + 1):
            gram = tokens[i:i + n]
            if gram[0] in _SUGGEST_STOP or gram[-1] in _SUGGEST_STOP or gram[0] in _SUGGEST_NOT_FIRST:
                continue
            if any(w in _FUNCTION_WORDS or w.isdigit() or len(w) < 2 for w in gram):
                continue
            found.add(" ".join(gram))
    return found


def suggest_topics(papers: Sequence[Paper], taxonomy: Taxonomy,
                   assignments: Mapping[str, Assignment], *, limit: int = 10,
                   min_papers: int = 2) -> tuple[Suggestion, ...]:
    """Mine candidate topics: key phrases frequent among unsorted (and all) papers.

    Phrases the taxonomy already matches are skipped; near-duplicates ('noisy
    label' / 'noisy labels' / 'label noisy') and phrases that occur only inside a
    longer candidate are merged into one suggestion.
    """
    known = {normalize(p) for t in taxonomy.topics for p in t.match}
    unsorted = {slug for slug, a in assignments.items() if a.unsorted}
    docs: dict[str, set[str]] = {}
    for paper in sorted(papers, key=lambda p: p.slug):
        tokens = (normalize_tokens(_URL_RE.sub(" ", paper.title)) + ("|",)
                  + normalize_tokens(_URL_RE.sub(" ", paper.summary)))
        for phrase in _candidate_phrases(tokens):
            if "|" in phrase.split() or phrase in known:
                continue
            docs.setdefault(phrase, set()).add(paper.slug)

    def weight(phrase: str) -> tuple:
        slugs = docs[phrase]
        # Unsorted papers count three times: the point is to give them a home.
        return (-(3 * len(slugs & unsorted) + len(slugs)), -len(phrase.split()), phrase)

    # A phrase in a large share of all papers ('neural network') names the
    # corpus, not a topic in it.
    ceiling = max(min_papers, int(MAX_SUGGEST_SHARE * len(papers)))
    ranked = sorted((p for p, s in docs.items() if min_papers <= len(s) <= ceiling), key=weight)
    chosen: list[tuple[str, list[str], set[str]]] = []
    for phrase in ranked:
        slugs = docs[phrase]
        merged = False
        for head, variants, covered in chosen:
            same_words = sorted(phrase.split()) == sorted(head.split())
            close = fuzz.ratio(phrase, head) >= 88 or same_words
            nested = (f" {phrase} " in f" {head} " or f" {head} " in f" {phrase} ") \
                and len(slugs & covered) >= 0.8 * min(len(slugs), len(covered))
            if close or nested:
                variants.append(phrase)
                covered |= slugs
                merged = True
                break
        if not merged:
            chosen.append((phrase, [], set(slugs)))
        if len(chosen) >= limit and not merged:
            # Keep scanning only to merge variants into what is chosen.
            continue
    taken = set(taxonomy.ids)
    out = []
    for head, variants, covered in chosen[:limit]:
        base = re.sub(r"[^a-z0-9]+", "-", head).strip("-")
        topic_id, n = base, 2
        while topic_id in taken:
            topic_id, n = f"{base}-{n}", n + 1
        taken.add(topic_id)
        order = sorted(covered, key=lambda s: (s not in unsorted, s))
        out.append(Suggestion(topic_id, head[:1].upper() + head[1:], (head, *variants),
                              tuple(order), tuple(s for s in order if s in unsorted)))
    return tuple(out)
