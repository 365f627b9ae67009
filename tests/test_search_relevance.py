"""Relevance over the shipped corpus: for each query, the paper a reader wants is in the top 3.

Ranking runs in the browser's own engine (templates/static/search.js under node) over the
index the build writes for content/, so this checks exactly what readers get.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import ROOT
from site_src.config import load_config
from site_src.pipeline import load_site
from site_src.search import build_index, documents_from_site

# (query as typed, slug of the paper it is looking for). Title words, abstract-only words,
# typos, prefixes while typing, hyphen and split forms.
QUERIES: list[tuple[str, str]] = [
    ("label noise", "an-accurate-detection-is-not-all-you-need-to-combat-label-noise-in-web-noisy"),
    ("noisy labels meta loss", "learning-from-noisy-labels-via-self-taught-on-the-fly-meta-loss-rescaling"),
    ("certified", "fast-certified-robust-training-with-short-warmup"),
    ("adversrial training llm", "efficient-adversarial-training-in-llms-with-continuous-attacks"),
    ("accelerating adversarial training", "accelat-a-framework-for-accelerating-the-adversarial-training-of-deep-neural"),
    ("neural ranking", "are-neural-ranking-models-robust"),
    ("data curation fine-tuning", "automated-data-curation-for-robust-language-model-fine-tuning"),
    ("backpropagation energy", "beyond-backpropagation-exploring-innovative-algorithms-for-energy-efficient"),
    ("test-time training", "centaur-robust-end-to-end-autonomous-driving-with-test-time-training"),
    ("autonomous drivin", "centaur-robust-end-to-end-autonomous-driving-with-test-time-training"),
    ("continual learning sparse", "continual-learning-with-dynamic-sparse-training-exploring-algorithms-for"),
    ("document layout", "doclayout-yolo-enhancing-document-layout-analysis-through-diverse-synthetic"),
    ("relu quadratic time", "efficient-global-optimization-of-two-layer-relu-networks-quadratic-time"),
    ("robustify pretrained", "efficiently-robustify-pre-trained-models"),
    ("pre trained robustify", "efficiently-robustify-pre-trained-models"),
    ("explainable cnns", "how-explainable-are-adversarially-robust-cnns"),
    ("imagenet attribute editing", "imagenet-e-benchmarking-neural-network-robustness-via-attribute-editing"),
    ("accuracy-robustness tradeoff", "improving-the-accuracy-robustness-trade-off-of-classifiers-via-adaptive"),
    ("generated datasets", "leaving-reality-to-imagination-robust-classification-via-generated-datasets"),
    ("low precision llm", "low-precision-training-of-large-language-models-methods-challenges-and"),
    ("conformal prediction", "provably-robust-conformal-prediction-with-improved-efficiency"),
    ("multimodal robustness", "quantifying-and-enhancing-multi-modal-robustness-with-modality-preference"),
    ("data lakes", "robust-table-integration-in-data-lakes"),
    ("orthogonalized optimizer", "root-robust-orthogonalized-optimizer-for-neural-network-training"),
    ("shape bias", "the-shape-and-simplicity-biases-of-adversarially-robust-imagenet-trained-cnns"),
    ("unlearning relearning", "towards-llm-unlearning-resilient-to-relearning-attacks-a-sharpness-aware"),
    ("bound propagation", "fast-certified-robust-training-with-short-warmup"),
    ("importance weights adversarial", "doubly-robust-instance-reweighted-adversarial-training"),
    ("linear attention", "scaling-transnormer-to-175-billion-parameters"),
    ('"natural image corruptions"', "robust-weight-signatures-gaining-robustness-as-easy-as-patching-weights"),
    ("Robust Training Using Natural Transformation", "robust-training-using-natural-transformation"),
]


@pytest.fixture(scope="module")
def shipped_index(tmp_path_factory):
    """The search index of the shipped content/, written to a temporary folder."""
    site, _ = load_site(load_config(ROOT))
    docs, topics = documents_from_site(site)
    out = tmp_path_factory.mktemp("relevance")
    for dest, data in build_index(docs, topics).items():
        (out / dest).parent.mkdir(parents=True, exist_ok=True)
        (out / dest).write_bytes(data)
    return out / "search" / "data", {d.slug for d in docs}


def run_queries(data_dir, queries, tmp_path) -> list[dict]:
    """Rank queries with the browser engine (node); return [{q, total, top: [{url, title, score}]}].

    A query is its text, or (text, options) with options as SearchIndex.search takes them."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: relevance is measured with the browser's engine")
    path = tmp_path / "queries.json"
    path.write_text(json.dumps([{"q": q} if isinstance(q, str) else {"q": q[0], "options": q[1]}
                                for q in queries]), encoding="utf-8")
    result = subprocess.run([node, str(ROOT / "tests/js/run_queries.mjs"), str(data_dir), str(path)],
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)


def test_the_expected_paper_is_in_the_top_three_for_every_query(shipped_index, tmp_path):
    data_dir, slugs = shipped_index
    assert len(QUERIES) >= 20
    missing = {slug for _, slug in QUERIES} - slugs
    assert not missing, f"queries expect papers the corpus lacks: {missing}"
    results = run_queries(data_dir, [q for q, _ in QUERIES], tmp_path)
    ranks, failures = [], []
    for (query, slug), result in zip(QUERIES, results):
        found = [r["url"].split("/")[1] for r in result["top"]]
        rank = found.index(slug) + 1 if slug in found else None
        ranks.append(rank)
        if rank is None or rank > 3:
            failures.append(f"{query!r}: expected {slug} in the top 3, got {found[:3]}")
    top1 = sum(1 for r in ranks if r == 1)
    top3 = sum(1 for r in ranks if r and r <= 3)
    mrr = sum(1 / r for r in ranks if r) / len(ranks)
    print(f"\nsearch relevance: {top3}/{len(QUERIES)} in the top 3, {top1}/{len(QUERIES)} first, MRR {mrr:.3f}")
    assert not failures, "\n".join(failures)


def test_an_index_in_many_segments_answers_as_one_segment(tmp_path, monkeypatch):
    """The engine joins a term's postings over segments: the same results, scores and counts."""
    from site_src.search import index as search_index

    site, _ = load_site(load_config(ROOT))
    docs, topics = documents_from_site(site)
    queries = [q for q, _ in QUERIES] + [
        ("robust", {"sort": "discussed"}), ("robust", {"sort": "newest"}), ("training", {"year": "2024"}),
        ("adversarial", {"topic": topics[0].id}), ("adversarial", {"code": True, "sort": "discussed"}),
        ("robus", {}), ("trainin", {"sort": "discussed"}), ('"adversarial training"', {}), ("pre trained", {})]
    answers = []
    for tiny in (False, True):
        if tiny:  # batches of two or three papers, segments of a few batches, comments in files of 7
            monkeypatch.setattr(search_index, "BATCH_MIN", 1)
            monkeypatch.setattr(search_index, "BATCH_DIV", 2)
            monkeypatch.setattr(search_index, "BATCH_MAX", 3)
            monkeypatch.setattr(search_index, "SEGMENT_STEPS", (8, 2))
            monkeypatch.setattr(search_index, "COMMENT_CHUNK", 7)
        files = build_index(docs, topics)
        segments = json.loads(files["search/data/manifest.json"])["segments"]
        assert len(segments) == (3 if tiny else 1)
        out = tmp_path / str(tiny)
        for dest, data in files.items():
            (out / dest).parent.mkdir(parents=True, exist_ok=True)
            (out / dest).write_bytes(data)
        answers.append(run_queries(out / "search" / "data", queries, tmp_path))
    assert all(a["total"] for a in answers[0][:len(QUERIES)])
    assert answers[1] == answers[0]
