"""Benchmark related-paper computation on synthetic abstracts: time and peak memory.

Usage: .venv/bin/python bench/related_bench.py [--sizes 1000 10000 100000] [--k 5]

Each size runs in a fresh child process so its peak RSS (ru_maxrss) is its own; the
peak includes the synthetic papers themselves (about 250 MiB at 100k). Then, after the
peak is read, 'update' is update_related's CPU time once 48 papers join a memo of the
others (what `build.py update` pays for a 50-paper digest), with the memo's pickled size
and how many of the other papers' related lists the digest changed ("lists moved").
Abstracts are made from a fixed vocabulary of research phrases and filler with
a Zipf-like word choice, seeded, so runs are comparable.
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHRASES = """adversarial training, certified robustness, label noise, sample reweighting,
distribution shift, common corruptions, test-time adaptation, sparse training, low-precision
training, mixed precision, optimizer, learning rate schedule, sharpness-aware minimization,
neural architecture search, data curation, synthetic data, contrastive learning, continual
learning, reinforcement learning, policy robustness, machine unlearning, jailbreak attacks,
conformal prediction, randomized smoothing, interval bound propagation, vision transformer,
language model, instruction tuning, knowledge distillation, domain generalization,
out-of-distribution detection, energy-based model, feature attribution, shape bias,
quantization, pruning, federated learning, graph neural network, diffusion model,
self-supervised learning, meta learning, active learning, multi-armed bandit""".replace("\n", " ")
FILLER = """we propose a method that improves the results on benchmarks and shows strong
performance across tasks while reducing cost; our analysis reveals why the approach works and
experiments on image and text datasets confirm the gains over prior baselines""".split()


def make_papers(n: int, seed: int = 7):
    """Return n synthetic Papers: ~150-word abstracts about 2 of 400 topics.

    Real abstracts mix a few subject terms (shared with papers on the same
    subject), generic research prose, and rare method names. The synthetic ones
    do too: each topic owns 25 words of a 30,000-word invented vocabulary, the
    prose comes from FILLER and a Zipf-weighted background vocabulary, and the
    known research phrases appear at Zipf frequencies.
    """
    from site_src.model import Paper

    rng = random.Random(seed)
    phrases = [p.strip() for p in PHRASES.split(",")]
    phrase_cum = list(itertools.accumulate(1 / (i + 1) for i in range(len(phrases))))
    syllables = ["ro", "ba", "ten", "vi", "qua", "lex", "mor", "zu", "pen", "tra", "ki", "sol",
                 "dan", "fe", "lu", "gor", "ny", "pha", "rel", "tho"]
    vocab = sorted({"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(40000)})
    rng.shuffle(vocab)
    vocab = vocab[:30000]
    background = vocab[:10000]
    # Cumulative weights once: random.choices would rebuild them on every call.
    background_cum = list(itertools.accumulate(1 / (i + 1) for i in range(len(background))))
    topics = [rng.sample(vocab[10000:], 25) for _ in range(400)]
    papers = []
    for i in range(n):
        mine = rng.sample(range(len(topics)), 2)
        name = "".join(rng.choices(syllables, k=4)).capitalize()
        subject = topics[mine[0]] + topics[mine[1]][:10]
        phrase = rng.choices(phrases, cum_weights=phrase_cum)[0]
        title = f"{name}: {' '.join(rng.sample(subject, 3)).capitalize()} for {phrase}"
        words = []
        for _ in range(10):
            words.extend(rng.choices(FILLER, k=rng.randint(4, 7)))
            words.extend(rng.choices(subject, k=3))
            words.extend(rng.choices(background, cum_weights=background_cum, k=2))
            if rng.random() < 0.3:
                words.append(rng.choice([name, phrase]))
        # First seen in order, ~100 papers a day, as digests would bring them.
        papers.append(Paper(slug=f"paper-{i:06d}", title=title, summary=" ".join(words) + ".",
                            first_seen=dt.date(2024, 1, 1) + dt.timedelta(days=i // 100)))
    return papers


def run_one(n: int, k: int) -> dict:
    """Time related_papers on n papers in this process; report seconds and peak RSS.

    Imports (numpy, SciPy, sparse_dot_topn) are timed apart: a build
    pays them once. 'cpu' is process CPU time, which shows how much of 'seconds'
    is waiting for the cores when the machine is shared.
    """
    papers = make_papers(n)
    start = time.perf_counter()
    import scipy.sparse  # noqa: F401
    import sparse_dot_topn  # noqa: F401 (a computation from scratch uses it; an update does not)

    from site_src.related import related_papers
    imports = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    result = related_papers(papers, k=k)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with_related = sum(1 for r in result.values() if r)
    update_cpu, memo_mib, moved = update_after_digest(papers, result, k)
    return {"papers": n, "seconds": round(seconds, 2), "cpu": round(cpu, 2),
            "imports": round(imports, 2), "peak_rss_mib": round(peak_kib / 1024, 1),
            "papers_with_related": with_related, "update_cpu": round(update_cpu, 2),
            "memo_mib": round(memo_mib, 1), "lists_moved": moved}


def update_after_digest(papers, result, k: int) -> tuple[float, float, int]:
    """CPU s of update_related once 48 papers join a memo of the others, the memo's MiB, and
    how many of the other papers' related lists the digest changed.

    The update's result is checked against related_papers' (the same, whatever the memo).
    """
    import pickle

    from site_src.related import update_related

    new = {p.slug for p in papers[-48:]}  # the last digest
    before, memo = update_related([p for p in papers if p.slug not in new], k=k)
    blob = pickle.dumps(memo, protocol=pickle.HIGHEST_PROTOCOL)
    memo = pickle.loads(blob)  # as the build cache keeps it (loading it is the cache's cost)
    cpu = time.process_time()
    updated, _ = update_related(papers, memo, k=k, previous=before)
    cpu = time.process_time() - cpu
    if updated != result:
        raise SystemExit("the update found other related papers than a computation from scratch")
    def shown(rows):  # what a paper page shows: the papers and the terms, not the scores
        return [(r.slug, r.terms) for r in rows]

    moved = sum(1 for slug, rows in before.items() if shown(rows) != shown(updated[slug]))
    return cpu, len(blob) / 2**20, moved


def main() -> int:
    """Run every size in a child process and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.k)))
        return 0
    print(f"{'papers':>8} {'seconds':>8} {'cpu':>6} {'imports':>8} {'peak RSS MiB':>13} {'with related':>13}"
          f" {'update cpu':>11} {'memo MiB':>9} {'lists moved':>12}")
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--k", str(args.k)],
                             check=True, capture_output=True, text=True).stdout
        row = json.loads(out)
        print(f"{row['papers']:>8} {row['seconds']:>8} {row['cpu']:>6} {row['imports']:>8} "
              f"{row['peak_rss_mib']:>13} {row['papers_with_related']:>13} {row['update_cpu']:>11} "
              f"{row['memo_mib']:>9} {row['lists_moved']:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
