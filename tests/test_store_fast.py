"""The fast front-matter reader returns exactly what YAML returns, or declines."""
from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_src import store
from site_src.model import Appearance, Paper
from tests.test_store import SAMPLE, papers


def typed(value):
    """A value with every type spelled out, so True != 1, 1 != 1.0 and a datetime != a date."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    return (type(value).__name__, value)


def yaml_outcome(front: str):
    """What the YAML reader makes of a front matter, or the error it raises."""
    try:
        return typed(yaml.load(front, Loader=store._Loader))
    except Exception as error:  # noqa: BLE001 - a crash is an outcome too
        return ("error", type(error).__name__)


def assert_fast_agrees(front: str) -> bool:
    """The fast reader declines or matches YAML; return whether it accepted."""
    fast = store._fast_front_matter(front)
    if fast is None:
        return False
    assert typed(fast) == yaml_outcome(front), front
    return True


def parse_with_yaml_only(text: str, **kwargs):
    with mock.patch.object(store, "_fast_front_matter", lambda front: None):
        return outcome(lambda: store.parse_paper(text, **kwargs))


def outcome(call):
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - both readers must fail alike
        return ("raised", type(error).__name__, str(error))


def assert_same_paper_both_ways(text: str) -> None:
    """parse_paper gives the same Paper and Problems with and without the fast reader."""
    fast = outcome(lambda: store.parse_paper(text, slug="p", source="papers/p.md"))
    assert fast == parse_with_yaml_only(text, slug="p", source="papers/p.md")


# ------------------------------------------------------------------ what dumps writes

def test_the_fast_reader_reads_a_dumped_paper_without_yaml():
    front, _, _ = store.split_front_matter(store.dumps(SAMPLE))
    assert store._fast_front_matter(front) is not None
    assert assert_fast_agrees(front)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(papers)
def test_any_dumped_paper_reads_the_same_with_the_fast_reader(paper):
    front, _, _ = store.split_front_matter(store.dumps(paper))
    assert_fast_agrees(front)


_plain_word = st.from_regex(r"\A[A-Za-z0-9é][A-Za-z0-9 .,'()&é-]{0,30}\Z").map(str.strip)
_slug = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,29}\Z")
_count = st.none() | st.integers(0, 10**6)
typical_papers = st.builds(
    Paper,
    slug=st.just("p"),
    title=_plain_word,
    summary=_plain_word,
    id=st.none() | st.from_regex(r"\A\d{4}\.\d{4,5}\Z"),
    authors=st.lists(_plain_word, max_size=6).map(tuple),
    n_authors=_count,
    organization=st.none() | _plain_word,
    published_at=st.none() | st.dates(),
    date_precision=st.sampled_from([None, "day", "year-inferred", "month", "year"]),
    upvotes=_count, comments=_count,
    github_repo=st.none() | st.just("https://github.com/a/b"),
    categories=st.lists(st.sampled_from(["cs.CL", "cs.LG", "stat.ML"]), max_size=3).map(tuple),
    digests=st.lists(st.builds(Appearance, digest=_slug, line=st.none() | st.integers(1, 10**5),
                               position=st.integers(0, 1000), comments=_count, upvotes=_count),
                     max_size=3).map(tuple),
    first_seen=st.none() | st.dates(),
    topics=st.none() | st.lists(_slug, max_size=3).map(tuple),
    ingested=st.dictionaries(st.sampled_from(["title", "summary", "n_authors"]),
                             st.text(alphabet="0123456789abcdef", min_size=10, max_size=10),
                             max_size=3).map(lambda d: tuple(d.items())),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(typical_papers)
def test_a_typical_dumped_paper_never_needs_yaml(paper):
    text = store.dumps(paper)
    front, _, _ = store.split_front_matter(text)
    accepted = assert_fast_agrees(front)
    # Digest ids or hashes that look like dates or numbers are quoted or resolved; either
    # way the common shapes must not fall back to YAML.
    assert accepted, front
    assert store.loads(text, slug="p", source="x") == paper


# ------------------------------------------------------------------ hand-edited files

_tricky_scalars = [
    "plain", "two words", "a:b", "a: b", "a:", "a #b", "a#b", "'single'", "'it''s'", "'open",
    '"double"', '"esc \\x41 \\u00e9 \\U0001F600 \\n \\t \\\\ \\" \\_ \\N \\L \\e \\0"',
    '"bad \\q"', '"\\ud800"', '"slash \\/"', "yes", "No", "ON", "off", "y", "n", "null", "Null",
    "~", "true", "False", "0", "7", "0123", "0o17", "0x1F", "1_000", "-3", "+3", "1.5", ".inf",
    ".NaN", "1e5", "1:30", "190:20:30", "2023-01-17", "2023-02-30", "2023-1-7",
    "2023-01-17 10:00:00", "2023-01-17T10:00:00Z", "[a, b]", "[]", "[a,b]", "[ a ]", "[a, [b]]",
    "[yes, 3, null, 2023-01-01]", "['x, y', \"z\"]", "{}", "{digest: d}", "{digest: 2023-01-01}",
    "{digest: d, line: 3, position: 0}", "{digest: d, digest: e}", "{a: 1, b: [c]}",
    "&anchor value", "*alias", "!!str 3", "!tag x", "|", ">", "|-", "- x", "-x", "?x", "? x",
    ":x", ",x", "%x", "@x", "`x", "#comment", "x ", " x", "é", "日本語", "\U0001F600", "a\\",
    "--- x", "...", "a --- b", "<<", "=", "a, b", "a [b]", "a {b}", "'a' b", '"a" b', "''", '""',
    "'a\nb'", "x\u2028y", "x\x85y", "x\ufeffy", "x\x7fy", "x\ty", "x\u00a0y", "\u00a0x",
]
_keys = sorted(store._FAST_KEYS)
_odd_keys = ["colour", "Title", "on", "title ", "title\t", "- title", "? title", "'title'"]
_chars = " abzAZé日:#'\"-,[]{}\\!&*?|>%@`~.0129_\U0001F600\t\u00a0"
_good_pieces = ["a", " ", "  ", "é", "'", "''", '\\"', "\\\\", "\\n", "\\x41", "\\xe9", "\\u00e9",
                "\\U0001F600", "\\ ", "\\_", "\\0", "\\e", "\\N", "#", ": ", "\U0001F600"]
_bad_pieces = ["\\ud800", "\\q", "\\/", "\\t", "\\U00110000", "\\x4", '"', "\\"]
_good_scalars = st.one_of(
    st.from_regex(r"\A[A-Za-zé日][A-Za-z0-9é日 .,'()/#:-]{0,12}\Z").map(str.rstrip),
    st.text(alphabet="ab é:#'\"-[]{},\\\U0001F600", max_size=10).map(
        lambda t: "'" + t.replace("'", "''") + "'"),
    st.lists(st.sampled_from(_good_pieces), max_size=6).map(lambda p: '"' + "".join(p) + '"'),
    st.integers(0, 10**20).map(str),
    st.dates().map(str),
    st.sampled_from(["yes", "No", "null", "~", "true", "OFF", "day", "0", "00", "07", "1.0",
                     "2023-02-30", "1_0", "0x1f"]),
)
_tricky_values = st.one_of(
    st.sampled_from(_tricky_scalars),
    st.text(alphabet=_chars, min_size=1, max_size=12),
    st.text(alphabet=_chars, max_size=12).map(lambda t: "'" + t.replace("'", "''") + "'"),
    st.lists(st.sampled_from(_good_pieces + _bad_pieces), max_size=6).map(
        lambda p: '"' + "".join(p) + '"'),
    st.from_regex(r"\A[0-9]{1,4}(-[0-9]{1,2}){0,2}\Z"),
)


@st.composite
def _values(draw, tricky: bool, depth: int = 0):
    """A value as it may follow 'key: ' — a scalar or a small flow collection."""
    scalars = st.one_of(_good_scalars, _tricky_values) if tricky else _good_scalars
    kind = draw(st.integers(0, 5 if depth == 0 or tricky else 3))
    if kind == 4:
        items = draw(st.lists(_values(tricky, depth + 1), max_size=3))
        sep = draw(st.sampled_from([", ", ",", " , ", ",  "] if tricky else [", "]))
        return "[" + sep.join(items) + "]"
    if kind == 5:
        keys = draw(st.lists(st.sampled_from(["digest", "line", "position", "comments", "upvotes",
                                              "other", "yes", "null", "2023-01-01"]),
                             max_size=4, unique=not tricky))
        entries = [f"{key}: {draw(_values(tricky, depth + 1))}" for key in keys]
        return "{" + draw(st.sampled_from([", ", ","] if tricky else [", "])).join(entries) + "}"
    return draw(scalars)


def _wrap(draw, tricky: bool, prefix: str, value: str) -> str:
    """Break a value over lines the way the emitter (or a curator) might."""
    if " " not in value or not draw(st.booleans()):
        return prefix + value
    indent = draw(st.sampled_from(["  ", " ", "   ", "\t", ""] if tricky else ["  "]))
    cut = draw(st.integers(0, value.count(" ") - 1))
    head, _, tail = value.replace(" ", "\0", cut).partition(" ")
    return prefix + head.replace("\0", " ") + "\n" + indent + tail


@st.composite
def front_matters(draw, tricky: bool) -> str:
    """A front matter in the shapes dumps() writes, with odd keys, values and noise if tricky."""
    keys = draw(st.lists(st.sampled_from(_keys + _odd_keys if tricky else _keys), min_size=1,
                         max_size=6, unique=True))
    values = _values(tricky)
    lines = []
    for key in keys:
        form = draw(st.integers(0, 4))
        if form <= 1:
            lines.append(_wrap(draw, tricky, f"{key}: ", draw(values)))
        elif form == 2:
            lines.append(f"{key}:")
            lines += [_wrap(draw, tricky, "- ", draw(values))
                      for _ in range(draw(st.integers(1, 3)))]
        elif form == 3:
            lines.append(f"{key}:")
            names = ["title", "summary", "a_b", "x"] + (["yes", "null", "1"] if tricky else [])
            for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3,
                                      unique=not tricky)):
                lines.append(f"  {name}: {draw(_good_scalars | _tricky_values if tricky else _good_scalars)}")
        else:
            lines.append(f"{key}:")
    if tricky and draw(st.integers(0, 3)) == 0:
        noise = draw(st.sampled_from(["", " ", "# comment", "---", "...", "-", "- ", "  ",
                                      "title:title", "title: again", "  - x", "\t", "? x"]))
        lines.insert(draw(st.integers(0, len(lines))), noise)
    return "\n".join(lines) + "\n"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(front_matters(tricky=False))
def test_a_front_matter_in_the_shapes_dumps_writes_reads_as_yaml_reads_it(front):
    assert_fast_agrees(front)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(front_matters(tricky=True))
def test_a_front_matter_of_tricky_values_reads_as_yaml_reads_it_or_goes_to_yaml(front):
    assert_fast_agrees(front)


_mutations = [
    lambda text, at, s: text[:at] + s + text[at:],                  # insert
    lambda text, at, s: text[:at] + text[at + len(s):],             # delete
    lambda text, at, s: text[:at] + s + text[at + 1:],              # replace one character
    lambda text, at, s: text.replace("\n", "\r\n"),
    lambda text, at, s: "\ufeff" + text,
    lambda text, at, s: text[:at] + "\n" + s + "\n" + text[at:],      # a new line
]
_inserts = st.sampled_from([
    "#", " # note", "\t", " ", "  ", "'", '"', "''", "\\", ":", ": ", "-", "- ", "---", "\n---\n",
    "...", "&a ", "*a", "!!str ", "[", "]", "{", "}", ",", "é", "\U0001F600", "\u2028", "\x85",
    "\r", "yes", "null", "0", "2023-02-30", "title: again", "authors: [A, B]", "\n  - x",
    "topics: [a, b]", "digests: [{digest: d}]", "ingested: {a: b}", "\n\n", "\x00", "\ufeff",
])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(paper=typical_papers | papers, edits=st.lists(st.tuples(st.sampled_from(range(len(_mutations))),
                                              st.integers(0, 10**4), _inserts),
                                    min_size=1, max_size=3))
def test_a_hand_edited_paper_file_reads_the_same_with_or_without_the_fast_reader(
        paper, edits):
    text = store.dumps(paper)
    for mutation, at, insert in edits:
        front_length = text.find("\n---", 3) + 4
        text = _mutations[mutation](text, at % max(front_length, 1), insert)
    try:
        front, _, _ = store.split_front_matter(text)
    except ValueError:
        front = None
    if front is not None:
        assert_fast_agrees(front)
    assert_same_paper_both_ways(text)


@pytest.mark.parametrize("front", [
    "title: T\ntitle: U\n",                            # duplicated key: YAML keeps the last
    "title: T # a comment\n",
    "# a comment\ntitle: T\n",
    "title: &t T\norganization: *t\n",
    "title: T\n\nid: '1'\n",
    "title:\tT\n",
    "authors:\n  - A\n",
    "title: T\n...\n",
    "title: 1.10\n",
    "published_at: 2023-01-17 10:00:00\n",
    "published_at: 2023-02-30\n",
    "title: 'multi\n\n  line'\n",
    'title: "ends with \\\n  continuation"\n',
    "digests:\n- {digest: d, p\n  - osition: 0}\n",   # a flow mapping key must stay on one line
    "topics: {'a,\n  b': 1}\n",
    "ingested:\n  " + "k" * 1100 + ": v\n",            # an implicit key ends within 1024 chars
    "topics: {" + "k" * 1100 + ": v}\n",
])
def test_yaml_decides_what_the_fast_reader_is_not_sure_of(front):
    assert store._fast_front_matter(front) is None


@pytest.mark.parametrize("front, expected", [
    ("title: 'AccelAT: A Framework for\n  Accuracy Gradient'\n",
     {"title": "AccelAT: A Framework for Accuracy Gradient"}),
    ("title: Plain words\n  go on\n", {"title": "Plain words go on"}),
    ('id: "2407.13168"\nupvotes: 12\ntopics: null\n',
     {"id": "2407.13168", "upvotes": 12, "topics": None}),
    ("ingested:\n  title: 0123456789\n  summary: 'a1'\n",
     {"ingested": {"title": "0123456789", "summary": "a1"}}),
    ("digests:\n- {digest: 2025-12-12, line: 3}\n",
     {"digests": [{"digest": dt.date(2025, 12, 12), "line": 3}]}),
    ("withdrawn: yes\ntruncated: Off\n", {"withdrawn": True, "truncated": False}),
    ("authors: [A,\n  B]\n", {"authors": ["A", "B"]}),
    ("digests:\n- {digest: d, line: 3,\n  position: 4}\n",
     {"digests": [{"digest": "d", "line": 3, "position": 4}]}),
    ("topics: {digest: a\n  b}\n", {"topics": {"digest": "a b"}}),
])
def test_the_fast_reader_reads_folded_lines_quotes_and_yaml_words_like_yaml(front, expected):
    fast = store._fast_front_matter(front)
    assert fast is not None and typed(fast) == typed(expected)
    assert_fast_agrees(front)


def test_an_impossible_date_is_left_to_yaml():
    assert store._fast_front_matter("title: T\npublished_at: 2023-02-30\n") is None
    assert_same_paper_both_ways("---\ntitle: T\npublished_at: 2023-02-30\n---\n")


def test_every_problem_keeps_its_message_and_line_with_the_fast_reader():
    text = ('---\nid: "2101.10000"\ntitle: T\nslug: other\nnotes: mine\nupvotes: many\n'
            "published_at: '12/12/2025'\ndate_precision: roughly\ndigests:\n- {line: 3}\n"
            "authors: [A, 3]\ningested:\n  title: 12\nwithdrawn: null\n---\nAbstract\n")
    front, _, _ = store.split_front_matter(text)
    assert store._fast_front_matter(front) is not None
    _, problems = store.parse_paper(text, slug="p", source="papers/p.md")
    assert [problem.line for problem in problems] == [4, 5, 6, 7, 8, 9, 11, 12, 14]
    for variant in (text, text.replace('"2101.10000"', "2101.10000"),
                    text.replace("title: T\n", "title: T\ncolour: red\n")):
        assert_same_paper_both_ways(variant)


def split_line_by_line(text: str) -> tuple[str, str, int]:
    """The reference reading: split the file into lines and look for the closing one."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        raise ValueError("the file must start with a '---' line opening the front matter")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            return "\n".join(lines[1:index]) + "\n", "\n".join(lines[index + 1:]), index + 2
    raise ValueError("the front matter has no closing '---' line")


@pytest.mark.parametrize("text", [
    "---\ntitle: T\n---\nbody", "---\ntitle: T\n---", "---\n---\n", "---  \ntitle: T\n--- \t\nB\n",
    "---\ntitle: T\n----\n---\n", "---\ntitle: T\n---x\n---\nB", "---\n", "---", "", "x\n---\n",
    "\ufeff---\r\ntitle: T\r\n---\r\nB\r\n", "---\rtitle: T\r---\rB", "---\ntitle: T\n ---\n",
    "---\ntitle: T", "---\ntitle: T\n---\n\n## Notes\n\nN\n", "---\n---\u2028\n", "---\n---\x0c",
])
def test_split_front_matter_finds_the_first_closing_line(text):
    assert outcome(lambda: store.split_front_matter(text)) == outcome(lambda: split_line_by_line(text))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="-\n \t\rx\ufeff\x0b\u3000", max_size=40))
def test_split_front_matter_agrees_with_a_line_by_line_reading(text):
    assert outcome(lambda: store.split_front_matter(text)) == outcome(lambda: split_line_by_line(text))


def split_body_line_by_line(body: str) -> tuple[str, str]:
    """The reference reading: the first line that is a '## Notes' heading splits the body."""
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if store._NOTES_LINE.match(line):
            return "\n".join(lines[:index]).strip(), "\n".join(lines[index + 1:]).strip()
    return body.strip(), ""


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["## Notes", "## notes ", "##\tNOTES\t", "## Notes x", " ## Notes",
                                 "### Notes", "##Notes", "text", "", " ", "\r", "## Notes\r",
                                 "\x0b", "a\u2028## Notes"]), max_size=8).map("\n".join))
def test_split_body_agrees_with_a_line_by_line_reading(body):
    assert store.split_body(body) == split_body_line_by_line(body)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="yYnNtTfFoOuUeElLsSaA~0123456789.-+_:xXbB ", min_size=1, max_size=10)
       .filter(lambda word: word[0] not in store._PLAIN_FIRST and word[-1] not in " :"
               and ": " not in word))
def test_an_unquoted_word_resolves_as_yaml_resolves_it_or_goes_to_yaml(word):
    try:
        value = store._fast_plain(word)
    except store._Decline:
        return
    assert typed({"k": value}) == yaml_outcome(f"k: {word}\n")
