"""The search index builder: shards, postings, hashing and stability across rebuilds."""
from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import json
import pickle
import random
import sys

import pytest
from hypothesis import given, settings, strategies as st

from conftest import ROOT
from site_src.search import index as search_index
from site_src.search.index import SearchDocument, SearchTopic, build_index
from site_src.search.tokenize import query_terms

sys.path.insert(0, str(ROOT / "tests" / "js"))
from build_fixture_index import fixture_corpus  # noqa: E402

DATA = search_index.DATA_DIR


# ---- a reader for the byte formats, written from docs/search.md

def read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def read_vocab(data: bytes) -> tuple[list[tuple[str, str]], list[tuple[str, int, int]]]:
    """Files [(postings hash, positions hash)] and terms [(term, df, file)] of a vocabulary shard."""
    n_files, at = read_varint(data, 0)
    h = search_index.HASH_LENGTH
    files = []
    for _ in range(n_files):
        files.append((data[at:at + h].decode(), data[at + h:at + 2 * h].decode()))
        at += 2 * h
    n, at = read_varint(data, at)
    terms, previous = [], b""
    for _ in range(n):
        shared, at = read_varint(data, at)
        length, at = read_varint(data, at)
        current = previous[:shared] + data[at:at + length]
        at += length
        df, at = read_varint(data, at)
        file, at = read_varint(data, at)
        terms.append((current.decode(), df, file))
        previous = current
    return files, terms


def read_postings(data: bytes) -> dict[str, list[dict]]:
    """{term: [{doc, impact, in_title, has_code, title_length, topics}]} of a postings file
    (documents numbered from its segment's first)."""
    n, at = read_varint(data, 0)
    out = {}
    for _ in range(n):
        length, at = read_varint(data, at)
        term = data[at:at + length].decode()
        at += length
        count, at = read_varint(data, at)
        size, at = read_varint(data, at)
        end = at + size
        doc, rows = 0, []
        for _ in range(count):
            delta, at = read_varint(data, at)
            doc += delta
            impact, flags, title_length = data[at], data[at + 1], data[at + 2]
            at += 3
            topics = []
            for _ in range(flags >> 2):
                t, at = read_varint(data, at)
                topics.append(t)
            rows.append({"doc": doc, "impact": impact, "in_title": flags & 1, "has_code": flags >> 1 & 1,
                         "title_length": title_length, "topics": topics})
        assert at == end
        out[term] = rows
    return out


def load(outputs: dict[str, bytes], name: str) -> bytes:
    return gzip.decompress(outputs[f"{DATA}/{name}"])


def manifest(outputs):
    return json.loads(outputs[f"{DATA}/manifest.json"])


def vocab_shards(outputs) -> list[tuple[str, str]]:
    """[(first term, hash)] of every vocabulary shard, segment after segment."""
    return [tuple(v) for segment in manifest(outputs)["segments"] for v in segment["vocab"]]


def term_parts(outputs) -> dict[str, list[tuple[int, str, int]]]:
    """{term: [(df, postings file hash, segment start)]} over every segment's vocabulary."""
    out: dict[str, list] = {}
    for segment in manifest(outputs)["segments"]:
        for _, v in segment["vocab"]:
            files, terms = read_vocab(load(outputs, f"v-{v}.bin"))
            for term, df, file in terms:
                out.setdefault(term, []).append((df, files[file][0], segment["start"]))
    return out


def all_terms(outputs) -> dict[str, int]:
    """{term: df} over every segment."""
    return {term: sum(df for df, _, _ in parts) for term, parts in term_parts(outputs).items()}


def comments_of(outputs) -> list[int]:
    """Every document's comment count, from the comment files."""
    m = manifest(outputs)
    out = []
    for name in m["comments"]:
        data, at = load(outputs, f"c-{name}.bin"), 0
        while at < len(data):
            value, at = read_varint(data, at)
            out.append(value)
    assert len(out) == m["docs"]
    return out


def postings_of(outputs, term):
    """A term's postings over every segment (documents numbered over the whole index), with comments."""
    rows = []
    comments = comments_of(outputs)
    for df, file, start in term_parts(outputs)[term]:
        part = read_postings(load(outputs, f"p-{file}.bin"))[term]
        assert len(part) == df
        for row in part:
            row["doc"] += start
            row["comments"] = comments[row["doc"]]
        rows += part
    return rows


def meta_of(outputs, doc_id):
    m = manifest(outputs)
    chunk = doc_id // m["metaChunk"]
    directory = load(outputs, f"d-{m['dirs'][chunk // m['metaDir']]}.bin").decode()
    h = m["hashLength"]
    name = directory[(chunk % m["metaDir"]) * h:(chunk % m["metaDir"] + 1) * h]
    return json.loads(load(outputs, f"m-{name}.bin"))[doc_id % m["metaChunk"]]


@pytest.fixture(scope="module")
def fixture_index():
    docs, topics = fixture_corpus()
    return docs, topics, build_index(docs, topics)


# ---- synthetic corpora for scale-dependent behaviour

WORDS = [f"w{i:04d}" for i in range(3000)]


def synthetic(n: int, seed: int = 7) -> list[SearchDocument]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        words = rng.choices(WORDS, weights=[1 / (k + 1) for k in range(len(WORDS))], k=120)
        docs.append(SearchDocument(
            url=f"papers/p{i}/", slug=f"p{i:05d}", title=" ".join(rng.sample(WORDS[:400], 6)),
            abstract=" ".join(words), date=dt.date(2018 + i % 8, 1 + i % 12, 1 + i % 28),
            comments=i % 5, has_code=i % 3 == 0))
    return docs


# ---- tests

def test_every_shard_is_named_by_the_hash_of_its_content(fixture_index):
    *_, outputs = fixture_index
    for dest, data in outputs.items():
        name = dest.rsplit("/", 1)[1]
        if name == "manifest.json":
            continue
        raw = gzip.decompress(data)
        assert name == f"{name[0]}-{hashlib.sha256(raw).hexdigest()[:search_index.HASH_LENGTH]}.bin"


def test_the_same_documents_give_the_same_bytes(fixture_index):
    docs, topics, outputs = fixture_index
    assert build_index(list(reversed(docs)), topics) == outputs


def test_the_manifest_lists_every_vocabulary_shard_and_directory(fixture_index):
    docs, topics, outputs = fixture_index
    m = manifest(outputs)
    assert m["docs"] == len(docs)
    assert m["root"] == "../../"
    listed = ({f"{DATA}/v-{h}.bin" for _, h in vocab_shards(outputs)} | {f"{DATA}/d-{h}.bin" for h in m["dirs"]}
              | {f"{DATA}/c-{h}.bin" for h in m["comments"]})
    assert listed <= outputs.keys()
    assert [t["id"] for t in m["topics"]] == [t.id for t in topics]
    assert m["topics"][1]["parent"] == 0


def test_documents_are_numbered_oldest_first_with_year_ranges(fixture_index):
    docs, _, outputs = fixture_index
    m = manifest(outputs)
    assert m["years"][0] == [None, 0]
    years = [y for y, _ in m["years"]]
    assert years[1:] == sorted(years[1:])
    dates = [meta_of(outputs, i)["d"] for i in range(len(docs))]
    assert dates == sorted(dates)


def test_postings_carry_documents_impacts_and_filter_facts(fixture_index):
    docs, topics, outputs = fixture_index
    rows = postings_of(outputs, "adversarial")
    by_slug = {meta_of(outputs, r["doc"])["u"]: r for r in rows}
    free = by_slug["papers/free-adversarial-training/"]
    assert free["in_title"] == 1 and free["has_code"] == 1 and free["comments"] == 30
    assert [topics[t].id for t in free["topics"]] == ["adversarial-training", "efficiency"]
    assert free["title_length"] == 3  # adversarial, training, free
    smoothing = by_slug["papers/randomized-smoothing/"]
    assert smoothing["in_title"] == 0
    assert free["impact"] > smoothing["impact"], "a title match outweighs one abstract mention"


def test_hyphenated_words_are_indexed_as_parts_and_compound(fixture_index):
    *_, outputs = fixture_index
    terms = all_terms(outputs)
    assert terms["pretrained"] == 2  # "Pre-trained ..." and "Pretrained ..."
    assert terms["pre"] == 1 and terms["trained"] == 1


def test_authors_ids_and_topic_names_are_searchable_terms(fixture_index):
    *_, outputs = fixture_index
    terms = all_terms(outputs)
    assert {"zoe", "muller", "2407.13168", "certified", "defenses"} <= terms.keys()


def test_terms_are_sorted_across_shards_and_files_hold_only_their_terms(monkeypatch):
    small_batches(monkeypatch)  # several segments
    outputs = build_index(synthetic(400))
    segments = manifest(outputs)["segments"]
    assert len(segments) == 3 and len(segments[0]["vocab"]) > 1, "a corpus this size needs several shards"
    for segment in segments:
        seen = []
        for first, h in segment["vocab"]:
            files, terms = read_vocab(load(outputs, f"v-{h}.bin"))
            assert terms[0][0] == first
            seen += [t for t, _, _ in terms]
            for file_number, (postings, positions) in enumerate(files):
                held = read_postings(load(outputs, f"p-{postings}.bin"))
                assert sorted(held) == [t for t, _, f in terms if f == file_number]
                assert all(row["doc"] < segment["docs"] for rows in held.values() for row in rows)
                assert f"{DATA}/q-{positions}.bin" in outputs
        assert seen == sorted(seen) and len(seen) == len(set(seen))


def test_no_postings_file_grows_past_its_cap_unless_one_term_fills_it():
    outputs = build_index(synthetic(600))
    for dest, data in outputs.items():
        if "/p-" in dest:
            raw = gzip.decompress(data)
            held = read_postings(raw)
            assert len(raw) <= search_index.POSTINGS_MAX * 2 or len(held) <= 2, dest


def test_changing_one_paper_changes_only_the_shards_it_touches():
    docs = synthetic(600)
    before = build_index(docs)
    victim = 321
    changed = dataclasses.replace(docs[victim], abstract=docs[victim].abstract + " zyzzyva quokka")
    after = build_index(docs[:victim] + [changed] + docs[victim + 1:])
    new_files = set(after) - set(before)
    gone = set(before) - set(after)
    kinds = {}
    for dest in new_files:
        kinds.setdefault(dest.rsplit("/", 1)[1][0], []).append(dest)
    # Postings change only where the paper's terms live: the new words and the ones whose
    # impact moved with the longer abstract; everything else keeps its name and bytes.
    postings_total = sum(1 for d in after if "/p-" in d)
    assert len(kinds.get("p", [])) < postings_total / 2
    assert len(kinds["m"]) == 1 and len(kinds["d"]) == 1
    assert f"{DATA}/manifest.json" not in new_files and len(gone) == len(new_files)
    touched_terms = {t for t, _ in search_index.index_terms(changed.abstract)[0]} | {"zyzzyva", "quokka"}
    terms_after = all_terms(after)
    for dest in kinds["p"]:
        held = read_postings(gzip.decompress(after[dest]))
        assert set(held) & touched_terms, f"{dest} changed without holding a term of the paper"
    unchanged = sum(1 for d in after if "/p-" in d and d in before)
    assert unchanged > 0 and terms_after["quokka"] == 1


def test_adding_a_newest_paper_keeps_older_metadata_chunks():
    docs = synthetic(200)
    before = build_index(docs)
    newest = SearchDocument(url="papers/new/", slug="zz-new", title="Brand new", abstract="w0001 w0002",
                            date=dt.date(2030, 1, 1))
    after = build_index(docs + [newest])
    old_chunks = {d for d in before if "/m-" in d}
    new_chunks = {d for d in after if "/m-" in d}
    assert len(new_chunks - old_chunks) == 1  # only the last chunk (where the new paper lands)


def test_impacts_saturate_and_stay_in_a_byte():
    assert list(search_index.FIELDS) == ["title", "topics", "authors", "id", "abstract"]
    lengths = [10, 0, 0, 0, 180]
    one = search_index.impact([0, 0, 0, 0, 1], lengths)
    many = search_index.impact([0, 0, 0, 0, 50], lengths)
    title = search_index.impact([1, 0, 0, 0, 0], lengths)
    assert 1 <= one < many <= 255 and title > one


def test_a_rare_word_does_not_share_a_file_with_a_huge_neighbour():
    docs = [SearchDocument(url=f"papers/d{i}/", slug=f"d{i:05d}", title="x", abstract="commonword",
                           comments=i) for i in range(9000)]
    # (in the middle: the segment where the common word's postings are huge)
    docs.append(SearchDocument(url="papers/rare/", slug="d04499x", title="x", abstract="commonwo"))
    outputs = build_index(docs)
    parts = term_parts(outputs)
    [(_, rare, start)] = parts["commonwo"]
    assert rare not in [file for _, file, _ in parts["commonword"]]
    rare_file = gzip.decompress(outputs[f"{DATA}/p-{rare}.bin"])
    assert len(rare_file) < 1000


# ---- the array builder against a plain per-token reference

def encode(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def reference_postings(docs, topics) -> dict[str, tuple[int, bytes, bytes]]:
    """{term: (posting count, postings block, positions block)}, one term occurrence at a time."""
    names = {t.id: t.name for t in topics}
    numbers = {t.id: i for i, t in enumerate(topics)}
    out: dict[str, list] = {}
    for doc_id, doc in enumerate(search_index.order_documents(docs)):
        texts = [[doc.title], [names[t] for t in doc.topics if t in names], list(doc.authors),
                 [doc.arxiv_id] if doc.arxiv_id else [], [doc.abstract]]
        positions: dict[str, list[int]] = {}
        tfs, lengths, pos = [], [], 0
        for field in texts:
            counts, length = {}, 0
            for text in field:
                terms, pos = search_index.index_terms(text, pos)
                pos += search_index.FIELD_GAP
                length += len(terms)
                for term, at in terms:
                    counts[term] = counts.get(term, 0) + 1
                    positions.setdefault(term, []).append(at)
            tfs.append(counts)
            lengths.append(length)
        doc_topics = [numbers[t] for t in doc.topics if t in numbers][:63]
        tail = bytearray([min(255, len(set(query_terms(doc.title))))])
        for t in doc_topics:
            encode(t, tail)
        flags = int(doc.has_code) << 1 | len(doc_topics) << 2
        for term, at in positions.items():
            entry = out.setdefault(term, [0, bytearray(), bytearray(), 0])
            encode(doc_id - entry[3], entry[1])
            entry[1].append(search_index.impact([c.get(term, 0) for c in tfs], lengths))
            entry[1].append(flags | (term in tfs[0]))
            entry[1] += tail
            encode(len(at), entry[2])
            previous = 0
            for p in at:
                encode(p - previous, entry[2])
                previous = p
            entry[0] += 1
            entry[3] = doc_id
    return {term: (n, bytes(block), bytes(held)) for term, (n, block, held, _) in out.items()}


def built_postings(docs, topics) -> dict[str, tuple[int, bytes, bytes]]:
    ordered = search_index.order_documents(docs)
    keys = [search_index.document_key(doc) for doc in ordered]
    memo = search_index.SegmentMemo((), {})
    terms, joined = search_index._postings(ordered, keys, search_index.batch_bounds(ordered),
                                               {t.id: t.name for t in topics},
                                               {t.id: i for i, t in enumerate(topics)}, memo)
    return {term: (int(joined.counts[i]), *joined.blocks(i)) for i, term in enumerate(terms)}


FRAGMENTS = ["pre-trained", "Pre‐Trained", "2407.13168v2", "hep-th/9901001v3", "1.5B", "x.5", "v1.2.3",
             "the", "of", "to-do", "Café", "ÉCOLE", "straße", "ΣΊΣΥΦΟΣ", "İstanbul", "ﬁne", "①", "東京",
             "a" * 41, "b" * 40 + "-c", "--", "-", ".", "_", "\x01", "\x02", " \x01 ", "word\x02word", "\n",
             "robust", "Robustness", "training", "9901001v2", "e-mail", "a-b-c-d", "3.14-2.71", "💡"]
TEXT = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=25).map(
    lambda parts: "".join(p if random.Random(len(p)).random() < 0.3 else p + " " for p in parts))
TOPICS = [SearchTopic("t0", "Adversarial training"), SearchTopic("t1", "Pre-training", "t0"),
          SearchTopic("t2", "Label noise")]
DOCUMENT = st.builds(
    SearchDocument, url=st.just("papers/x/"), title=TEXT, abstract=TEXT,
    authors=st.lists(TEXT, max_size=4).map(tuple), arxiv_id=st.none() | st.sampled_from(["2407.13168", "x\x01y"]),
    topics=st.lists(st.sampled_from(["t0", "t1", "t2", "gone"]), max_size=3, unique=True).map(tuple),
    date=st.none() | st.dates(dt.date(2018, 1, 1), dt.date(2026, 12, 31)),
    comments=st.none() | st.integers(0, 300_000), has_code=st.booleans(),
    slug=st.text("abcdefghij", min_size=1, max_size=6))


@given(st.lists(DOCUMENT, max_size=12))
@settings(max_examples=150, deadline=None)
def test_the_array_builder_writes_the_postings_of_a_plain_per_token_loop(docs):
    assert built_postings(docs, TOPICS) == reference_postings(docs, TOPICS)


def test_batches_and_the_wide_key_fallback_change_no_byte(monkeypatch):
    docs = synthetic(300)
    whole = build_index(docs)
    monkeypatch.setattr(search_index, "BATCH_MIN", 1)
    monkeypatch.setattr(search_index, "BATCH_DIV", 5)
    monkeypatch.setattr(search_index, "BATCH_MAX", 9)  # 300 papers: about 60 batches
    monkeypatch.setattr(search_index, "SEGMENT_STEPS", (10**6, 10**6))  # (in one segment, as `whole`)
    assert len(search_index.batch_bounds(search_index.order_documents(docs))) > 40
    assert build_index(docs) == whole, "a term's documents gap correctly across batches"
    monkeypatch.setattr(search_index, "_KEY_BITS", 8)
    assert build_index(docs) == whole, "too many bits for one sort key: a lexsort gives the same order"


def test_postings_agree_with_the_reference_on_the_fixture_corpus(fixture_index):
    docs, topics, _ = fixture_index
    assert built_postings(docs, topics) == reference_postings(docs, topics)


@given(DOCUMENT, st.lists(TEXT, max_size=15).map(tuple))
@settings(max_examples=100, deadline=None)
def test_metadata_json_is_what_json_dumps_writes(doc, authors):
    doc = dataclasses.replace(doc, authors=authors, abstract=doc.abstract * 200)
    numbers = {t.id: i for i, t in enumerate(TOPICS)}
    expected = {"u": doc.url, "t": doc.title, "d": doc.date.isoformat() if doc.date else "",
                "a": list(authors[:search_index.AUTHOR_LIMIT]),
                "p": [numbers[t] for t in doc.topics if t in numbers], "c": doc.comments or 0,
                "s": doc.abstract[:search_index.ABSTRACT_LIMIT]}
    if len(authors) > search_index.AUTHOR_LIMIT:
        expected["n"] = len(authors)
    if doc.arxiv_id:
        expected["x"] = doc.arxiv_id
    if doc.has_code:
        expected["g"] = 1
    assert search_index._meta_json(doc, numbers) == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))


# ---- incremental rebuilds (update_index and its memo)

def small_batches(monkeypatch) -> None:
    """Batches of a few documents, so a few hundred papers make many batches to reuse, in three segments."""
    monkeypatch.setattr(search_index, "BATCH_MIN", 4)
    monkeypatch.setattr(search_index, "BATCH_DIV", 16)
    monkeypatch.setattr(search_index, "BATCH_MAX", 64)
    monkeypatch.setattr(search_index, "SEGMENT_STEPS", (8, 2))  # and several segments


def rebuilt(old_docs, new_docs, topics=(), new_topics=None):
    """Build old_docs, then new_docs with the memo: return (files as a clean build sees them, kept, fresh)."""
    before, memo = search_index.update_index(old_docs, topics)
    memo = pickle.loads(pickle.dumps(memo))  # the build cache keeps it on disk
    after, _ = search_index.update_index(new_docs, topics if new_topics is None else new_topics, memo,
                                         existing=set(before))
    kept = {dest for dest, data in after.items() if data is None}
    return {dest: before[dest] if data is None else data for dest, data in after.items()}, kept


@pytest.mark.parametrize("change", ["new digest", "edited paper", "deleted paper", "new undated paper",
                                    "nothing"])
def test_an_update_with_the_memo_writes_the_bytes_of_a_clean_build(monkeypatch, change):
    small_batches(monkeypatch)
    docs = synthetic(400)
    old = [d for d in docs if d.date.year < 2025]
    if change == "new digest":
        new = docs
    elif change == "edited paper":
        new = [dataclasses.replace(d, comments=d.comments + 3, title=d.title + " robustness") if i == 50 else d
               for i, d in enumerate(old)]
    elif change == "deleted paper":
        new = old[:30] + old[31:]
    elif change == "new undated paper":
        new = old + [dataclasses.replace(old[0], slug="zz", url="papers/zz/", date=None)]
    else:
        new = old
    files, kept = rebuilt(old, new)
    assert files == build_index(new)
    assert kept, "unchanged shards are kept, not compressed again"
    if change == "nothing":
        assert kept == {d for d in files if d.endswith(".bin")}


def test_a_memo_from_other_topics_is_not_trusted(monkeypatch):
    small_batches(monkeypatch)
    docs = [dataclasses.replace(d, topics=("t0",) if i % 2 else ("t1",)) for i, d in enumerate(synthetic(200))]
    topics = [SearchTopic("t0", "Adversarial training"), SearchTopic("t1", "Label noise")]
    renamed = [SearchTopic("t0", "Adversarial robustness"), SearchTopic("t1", "Label noise")]
    files, _ = rebuilt(docs, docs, topics, renamed)
    assert files == build_index(docs, renamed)


def test_only_files_the_caller_has_are_left_out():
    docs = synthetic(120)
    _, memo = search_index.update_index(docs)
    files, _ = search_index.update_index(docs, (), memo, existing=set())
    assert files == build_index(docs), "without existing files every shard comes with its bytes"


def test_the_memo_holds_arrays_and_bytes_not_a_python_object_per_token():
    docs = synthetic(400)
    _, memo = search_index.update_index(docs)
    raw = sum(len(p.postings) + len(p.positions) for s in memo.segments.values() for p in s.batches.values())
    assert len(pickle.dumps(memo)) < 1.5 * raw + 200_000


@given(st.lists(st.integers(0, 249), max_size=30), st.lists(st.integers(0, 249), max_size=30),
       st.lists(st.integers(0, 249), max_size=5))
@settings(max_examples=20, deadline=None)
def test_any_update_with_the_memo_equals_a_clean_build(dropped_before, dropped_after, edited):
    docs = synthetic(250)
    old = [d for i, d in enumerate(docs) if i not in set(dropped_before)]
    new = [dataclasses.replace(d, comments=d.comments + 1) if i in set(edited) else d
           for i, d in enumerate(docs) if i not in set(dropped_after)]
    with pytest.MonkeyPatch.context() as patch:
        small_batches(patch)
        files, _ = rebuilt(old, new)
        assert files == build_index(new)


def test_paper_keys_stand_for_the_papers_text_but_a_moved_paper_is_still_seen(monkeypatch):
    from types import SimpleNamespace

    from site_src.model import Paper
    from site_src.plan import Site, TopicInfo
    from site_src.search import produce_search_index, update_search_index

    small_batches(monkeypatch)
    papers = tuple(Paper(slug=f"p{i}", title=f"Paper {i} on {'noise' if i % 2 else 'robustness'}",
                         published_at=dt.date(2024, 1, 1) + dt.timedelta(days=i)) for i in range(40))
    topics = (TopicInfo("a", "Adversarial training", ""), TopicInfo("b", "Label noise", ""))
    config = SimpleNamespace(directory_links=False)
    keys = {p.slug: repr(p) for p in papers}
    before = Site(papers=papers, topics=topics, paper_topics={p.slug: ("a",) for p in papers})
    files, memo = update_search_index(before, config, [], paper_keys=keys)
    retitled = dataclasses.replace(papers[3], title="A new title")
    changes = [  # (papers, paper_topics, keys): a moved paper keeps its key; an edited one does not
        (papers, {**before.paper_topics, "p7": ("b",)}, keys),
        (papers[:3] + (retitled,) + papers[4:], before.paper_topics, {**keys, "p3": repr(retitled)}),
    ]
    for new_papers, paper_topics, new_keys in changes:
        after = Site(papers=new_papers, topics=topics, paper_topics=paper_topics)
        update, _ = update_search_index(after, config, [], pickle.loads(pickle.dumps(memo)),
                                        existing=set(files), paper_keys=new_keys)
        assert {dest: files[dest] if data is None else data for dest, data in update.items()} == \
            produce_search_index(after, config, [])


def test_a_digest_of_newest_papers_rewrites_the_tail_segment_only(monkeypatch):
    small_batches(monkeypatch)
    docs = synthetic(400)
    old_docs = [dataclasses.replace(d, comments=d.comments + 1) if i in (5, 200) else d  # seen again
                for i, d in enumerate(docs)]
    newest = [SearchDocument(url=f"papers/n{i}/", slug=f"n{i}", title=f"w0001 w{i:04d}", abstract="w0002 w0003",
                             date=dt.date(2030, 1, 1)) for i in range(3)]
    new_docs = docs + newest
    ranges = [search_index.segment_ranges(len(search_index.batch_bounds(search_index.order_documents(d))))
              for d in (old_docs, new_docs)]
    assert [r[:2] for r in ranges[0]] == [r[:2] for r in ranges[1]] and len(ranges[1]) == 3, \
        "(the test needs a digest that merges no segment)"
    before, memo = search_index.update_index(old_docs)
    memo = pickle.loads(pickle.dumps(memo))
    after, memo_after = search_index.update_index(new_docs, (), memo, existing=set(before))
    assert memo_after.segments["base"] is memo.segments["base"], "an unchanged segment keeps its memo"
    assert not memo_after.aliases, "(a new comment count leaves a batch's key: its postings are the same)"
    old_segments, new_segments = manifest(before)["segments"], manifest(after)["segments"]
    assert old_segments[:2] == new_segments[:2], "base and mid keep every shard"

    def files_of(segment):
        out = set()
        for _, v in segment["vocab"]:
            out.add(f"{DATA}/v-{v}.bin")
            for postings, positions in read_vocab(load(after, f"v-{v}.bin") if after[f"{DATA}/v-{v}.bin"]
                                                  else load(before, f"v-{v}.bin"))[0]:
                out |= {f"{DATA}/p-{postings}.bin", f"{DATA}/q-{positions}.bin"}
        return out

    written = {dest for dest, data in after.items() if data is not None}
    settled = files_of(new_segments[0]) | files_of(new_segments[1])
    assert settled and not settled & written
    assert {d for d in written if d.rsplit("/", 1)[1][0] in "vpq"} <= files_of(new_segments[2])
    assert {d.rsplit("/", 1)[1][0] for d in written} == set("vpqmdc")  # (m: metadata chunks and the manifest)
    files = {dest: before[dest] if data is None else data for dest, data in after.items()}
    assert files == build_index(new_docs)
    again = new_docs + [dataclasses.replace(newest[0], slug="n9", url="papers/n9/")]
    update, memo_again = search_index.update_index(again, (), memo_after, existing=set(files))
    assert {dest: files[dest] if data is None else data for dest, data in update.items()} == build_index(again)
    assert memo_again.segments["base"] is memo.segments["base"]


def test_a_segment_left_on_disk_is_read_only_when_its_batches_changed(monkeypatch):
    small_batches(monkeypatch)
    docs = synthetic(400)
    newest = [SearchDocument(url=f"papers/n{i}/", slug=f"n{i}", title=f"w0001 w{i:04d}", abstract="w0002 w0003",
                             date=dt.date(2030, 1, 1)) for i in range(3)]
    before, memo = search_index.update_index(docs)
    reads = []

    def on_disk(memo, load):
        segments = {level: search_index.SegmentOnDisk(m.order, m.vocab, m.files, lambda m=m: reads.append(1) or load(m))
                    for level, m in memo.segments.items()}
        return dataclasses.replace(memo, segments=segments)

    # A digest of the newest papers (and new comment counts): base and mid are never read.
    seen_again = [dataclasses.replace(d, comments=d.comments + 1) if i in (5, 200) else d for i, d in enumerate(docs)]
    new_docs = seen_again + newest
    lazy = on_disk(memo, lambda m: m)
    after, memo_after = search_index.update_index(new_docs, (), lazy, existing=set(before))
    assert reads == [1], "only the tail segment was read"
    assert memo_after.segments["base"] is lazy.segments["base"]
    files = {dest: before[dest] if data is None else data for dest, data in after.items()}
    assert files == build_index(new_docs)
    # An edited old paper makes its segment read; a segment file that is gone or another
    # build's counts as unknown, and the files are still right.
    edited = [dataclasses.replace(d, title="A new title") if i == 5 else d for i, d in enumerate(docs)]
    for load in (lambda m: m, lambda m: None, lambda m: search_index._NO_SEGMENT):
        reads.clear()
        update, _ = search_index.update_index(edited, (), on_disk(memo, load), existing=set(before))
        assert reads, "the base segment was read"
        assert {dest: before[dest] if data is None else data for dest, data in update.items()} == build_index(edited)


def test_documents_are_ordered_by_date_then_slug_undated_first():
    """order_documents' one-string key orders as the pairs (date, slug) do, ties kept in input order."""
    rng = random.Random(7)
    dates = [None, dt.date(1, 1, 1), dt.date(1999, 12, 31), dt.date(2024, 2, 29), dt.date(9999, 12, 31)]
    slugs = ["a", "a-b", "ab", "b", "é", "z9", "Z", "a0"]
    docs = [SearchDocument(url=f"papers/{i}/", title="t", abstract="", authors=(), arxiv_id="", topics=(),
                           date=rng.choice(dates), slug=rng.choice(slugs)) for i in range(300)]
    ordered = search_index.order_documents(docs)
    assert ordered == sorted(docs, key=lambda d: (d.date or dt.date.min, d.slug))
    assert [d.url for d in ordered] == [d.url for d in sorted(docs, key=lambda d: (d.date or dt.date.min, d.slug))]
    assert ordered[0].date in (None, dt.date(1, 1, 1)) and ordered[-1].date == dt.date(9999, 12, 31)
