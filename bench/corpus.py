"""Deterministic synthetic corpora for benchmarks and incremental-build tests.

`write_corpus(root, n_papers)` lays out a project folder the real store loads:
content/papers/*.md (written with site_src.store.dumps), content/digests/*.yaml
with their archived raw digests (hf-text listings), content/site.yaml and
content/taxonomy.yaml (the project's own when it has one, else a small
built-in tree), and a copy of templates/. Papers carry abstracts of about
1-1.5 KB in the vocabulary of robust and efficient training, titles with a
topic phrase, authors, dates across years, and 50-paper digests.

`write_update_digest(path, root)` writes the next 50-paper digest (mostly new
papers, a few seen before) for `build.py update`.

Same arguments, same bytes: every choice comes from random.Random(seed).

    python bench/corpus.py --papers 10000 --out bench/out/c10k
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from site_src.model import Appearance, DigestRecord, Paper  # noqa: E402

DIGEST_SIZE = 50
FIRST_DAY = dt.date(2019, 1, 7)
LAST_DAY = dt.date(2026, 10, 30)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# A small taxonomy in the project's format, used only when the project has none yet,
# so that corpora always exercise topic pages. Phrases double as the generator's vocabulary.
FALLBACK_TOPICS: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("robustness", "Robustness", None, ("robustness", "robust training")),
    ("adversarial-training", "Adversarial training", "robustness",
     ("adversarial training", "adversarial examples", "adversarial perturbations")),
    ("certified-robustness", "Certified robustness", "robustness",
     ("certified robustness", "randomized smoothing", "provable guarantees")),
    ("distribution-shift", "Distribution shift", "robustness",
     ("distribution shift", "out-of-distribution generalization", "common corruptions")),
    ("label-noise", "Label noise and data quality", None,
     ("label noise", "noisy labels", "data quality", "sample reweighting")),
    ("robust-rl", "Robust reinforcement learning", None,
     ("robust reinforcement learning", "reward hacking", "policy robustness")),
    ("llm-safety", "LLM safety and alignment", None,
     ("safety alignment", "jailbreak attacks", "machine unlearning", "red teaming")),
    ("efficient-training", "Efficient training", None, ("efficient training", "training efficiency")),
    ("optimizers", "Optimizers", "efficient-training",
     ("optimizer", "learning rate schedule", "second-order methods", "gradient descent")),
    ("low-precision", "Low-precision and sparse training", "efficient-training",
     ("low-precision training", "quantization", "sparse training", "pruning")),
    ("architecture-search", "Architecture search", "efficient-training",
     ("neural architecture search", "architecture search")),
    ("evaluation", "Evaluation and benchmarks", None,
     ("benchmark", "evaluation protocol", "leaderboard")),
    ("explainability", "Explainability", None,
     ("explainability", "feature attribution", "saliency maps", "interpretability")),
)

ADJECTIVES = (
    "Scalable", "Efficient", "Provable", "Practical", "Unified", "Adaptive", "Simple", "Fast",
    "Principled", "Lightweight", "Stable", "Data-Efficient", "Memory-Efficient", "Robust",
    "Generalizable", "Compositional", "Hierarchical", "Sparse", "Calibrated", "Federated",
)
GERUNDS = (
    "Rethinking", "Revisiting", "Understanding", "Improving", "Scaling", "Towards", "Learning",
    "Benchmarking", "Accelerating", "Stabilizing", "Measuring", "Taming", "Unifying", "Closing",
)
SETTINGS = (
    "vision transformers", "large language models", "diffusion models", "graph neural networks",
    "speech recognition", "image classification", "object detection", "semantic segmentation",
    "tabular data", "time series forecasting", "multimodal models", "code generation",
    "recommendation systems", "medical imaging", "autonomous driving", "robot manipulation",
    "federated learning", "continual learning", "few-shot learning", "self-supervised learning",
    "mixture-of-experts models", "small language models", "retrieval-augmented generation",
    "point clouds", "video understanding", "protein structure prediction", "edge devices",
)
CONDITIONS = (
    "under distribution shift", "at scale", "with limited data", "without labels",
    "on a budget", "in the wild", "with theoretical guarantees", "across domains",
    "with noisy supervision", "on commodity hardware", "in one pass", "under attack",
    "with minimal overhead", "for long contexts", "at inference time", "during pretraining",
)
NOUNS = (
    "model", "method", "framework", "objective", "regularizer", "estimator", "baseline",
    "architecture", "training recipe", "loss function", "dataset", "representation",
    "encoder", "decoder", "policy", "classifier", "teacher model", "student model",
    "gradient estimator", "sampling scheme", "curriculum", "memory bank", "attention mechanism",
)
VERBS = (
    "improves", "outperforms", "matches", "reduces", "stabilizes", "accelerates", "generalizes",
    "preserves", "recovers", "bounds", "controls", "amplifies", "mitigates", "exposes",
)
DATASETS = (
    "CIFAR-10", "CIFAR-100", "ImageNet", "ImageNet-C", "Tiny-ImageNet", "SVHN", "MNIST",
    "GLUE", "SuperGLUE", "MMLU", "GSM8K", "HumanEval", "WILDS", "COCO", "ADE20K", "LibriSpeech",
    "Atari", "MuJoCo", "D4RL", "OpenWebText", "The Pile", "C4", "WebVision", "Clothing1M",
)
METRICS = (
    "accuracy", "robust accuracy", "calibration error", "perplexity", "throughput",
    "wall-clock time", "memory footprint", "sample efficiency", "F1 score", "mean average precision",
)
FIRST_NAMES = (
    "Wei", "Jing", "Anna", "Luca", "Maria", "David", "Sofia", "Hiroshi", "Priya", "Omar",
    "Elena", "Jonas", "Chen", "Yuki", "Amir", "Fatima", "Lukas", "Noah", "Mei", "Carlos",
    "Ines", "Tomas", "Aisha", "Ravi", "Olga", "Pierre", "Sara", "Kenji", "Lea", "Mateo",
)
LAST_NAMES = (
    "Zhang", "Wang", "Li", "Schmidt", "Rossi", "Garcia", "Kim", "Nguyen", "Tanaka", "Patel",
    "Kowalski", "Dubois", "Silva", "Ivanova", "Haddad", "Johansson", "Murphy", "Okafor",
    "Yamamoto", "Fischer", "Moreau", "Novak", "Costa", "Singh", "Chowdhury", "Berg", "Lopez",
)
ORGS = ("Microsoft", "Google", "ByteDance Seed", "Idiap Research Institute", "Meta", "NVIDIA")
SYLLABLES = (
    "ka", "ro", "ti", "ne", "mo", "la", "zu", "fe", "qi", "so", "va", "de", "xi", "pa", "lu",
    "ge", "to", "ri", "na", "be", "co", "mi", "da", "ye", "fo", "ha", "ju", "ke", "wo", "si",
)
SUFFIXES = ("", "Net", "Former", "GAN", "RL", "Opt", "Bench", "Prune", "Mix", "Shift", "Guard")

SENTENCES = (
    "{Adj} {phrase} remains an open problem for {setting}, where existing approaches trade {metric} for cost.",
    "Prior work on {phrase} relies on heuristics that fail {condition}.",
    "We study {phrase} in the context of {setting} and identify why current {noun}s break down.",
    "To bridge this gap, we present {name}, a {adj} {noun} that couples {phrase} with {phrase2}.",
    "Our key insight is that the {noun} {verb} the effect of {phrase2} when it is trained {condition}.",
    "Specifically, we decompose the {noun} into a {noun2} and a {noun3}, and we optimize them jointly.",
    "We prove that {name} {verb} the error of the best {noun} by a factor that depends only on the margin.",
    "Extensive experiments on {dataset}, {dataset2} and {dataset3} show that {name} {verb} strong baselines in {metric}.",
    "On {dataset}, it improves {metric} by {pct}% while using {x}x less compute.",
    "An ablation study shows that {phrase} accounts for most of the gain, and that the {noun2} matters {condition}.",
    "We further show that the approach transfers to {setting2} with no change to the {noun}.",
    "Finally, we release code and a {adj} benchmark so that future work on {phrase2} can be compared fairly.",
    "Our analysis reveals a trade-off between {metric} and {metric2} that prior evaluations of {setting} missed.",
    "Unlike previous {noun}s, {name} needs no extra labels and adds only {pct}% overhead.",
    "These results suggest that {phrase} and {phrase2} should be studied together rather than in isolation.",
)


@dataclass(frozen=True)
class Vocabulary:
    """Topic phrases the generator plants so the taxonomy sorts the papers."""

    topic_phrases: tuple[tuple[str, tuple[str, ...]], ...]
    """(topic id, match phrases) for every topic that has phrases."""


def fallback_taxonomy_yaml() -> str:
    """Return the built-in taxonomy as YAML in the project's taxonomy format."""
    lines = ["topics:"]
    for topic_id, name, parent, phrases in FALLBACK_TOPICS:
        lines.append(f"  - id: {topic_id}")
        lines.append(f"    name: {name}")
        lines.append(f"    description: Synthetic benchmark topic about {name.lower()}.")
        if parent:
            lines.append(f"    parent: {parent}")
        lines.append("    match:")
        lines.extend(f"      - {phrase}" for phrase in phrases)
    return "\n".join(lines) + "\n"


def vocabulary_from_taxonomy(text: str) -> Vocabulary:
    """Take the match phrases of every topic from taxonomy YAML."""
    import yaml

    data = yaml.safe_load(text) or {}
    pairs = []
    for topic in data.get("topics") or ():
        phrases = tuple(str(p) for p in (topic.get("match") or ()) if str(p).strip())
        if phrases:
            pairs.append((str(topic["id"]), phrases))
    return Vocabulary(tuple(pairs))


def method_name(index: int, rng: random.Random) -> str:
    """A pronounceable method name unique to index (a bijective base-30 spelling)."""
    parts = []
    n = index
    while True:
        parts.append(SYLLABLES[n % len(SYLLABLES)])
        n //= len(SYLLABLES)
        if n == 0:
            break
    while len(parts) < 3:
        parts.append(SYLLABLES[(index * 7 + len(parts)) % len(SYLLABLES)])
    return "".join(parts).capitalize() + rng.choice(SUFFIXES)


def make_title(name: str, phrase: str, rng: random.Random) -> str:
    """A title naming the method, carrying a topic phrase and a setting."""
    setting = rng.choice(SETTINGS)
    shape = rng.randrange(4)
    if shape == 0:
        return f"{name}: {rng.choice(ADJECTIVES)} {phrase.title()} for {setting.title()} {rng.choice(CONDITIONS)}"
    if shape == 1:
        return f"{rng.choice(GERUNDS)} {phrase.title()} in {setting.title()} with {name}"
    if shape == 2:
        return f"{name}: {rng.choice(GERUNDS)} {rng.choice(ADJECTIVES)} {phrase.title()} {rng.choice(CONDITIONS)}"
    return f"{rng.choice(ADJECTIVES)} {phrase.title()} {rng.choice(CONDITIONS)}: {name} for {setting.title()}"


def make_abstract(name: str, phrases: list[str], rng: random.Random, target: int) -> str:
    """An abstract of about target characters that mentions every phrase at least twice."""
    out: list[str] = []
    mentions = {p: 0 for p in phrases}
    order = list(range(len(SENTENCES)))
    rng.shuffle(order)
    i = 0
    while sum(len(s) + 1 for s in out) < target or min(mentions.values()) < 2:
        template = SENTENCES[order[i % len(order)]]
        i += 1
        want = sorted(phrases, key=lambda p: mentions[p])
        phrase, phrase2 = want[0], want[-1] if len(want) > 1 else rng.choice(want)
        sentence = template.format(
            Adj=rng.choice(ADJECTIVES), adj=rng.choice(ADJECTIVES).lower(), phrase=phrase,
            phrase2=phrase2, setting=rng.choice(SETTINGS), setting2=rng.choice(SETTINGS),
            metric=rng.choice(METRICS), metric2=rng.choice(METRICS), condition=rng.choice(CONDITIONS),
            noun=rng.choice(NOUNS), noun2=rng.choice(NOUNS), noun3=rng.choice(NOUNS),
            verb=rng.choice(VERBS), name=name, dataset=rng.choice(DATASETS),
            dataset2=rng.choice(DATASETS), dataset3=rng.choice(DATASETS),
            pct=rng.randrange(2, 40), x=rng.randrange(2, 9),
        )
        for p in phrases:
            if p in sentence:
                mentions[p] += 1
        out.append(sentence)
        if i > 40:
            break
    return " ".join(out)


def make_paper(index: int, vocab: Vocabulary, rng: random.Random, published: dt.date) -> Paper:
    """One synthetic paper (no slug, digests or first_seen yet)."""
    n_topics = rng.choice((1, 1, 2, 2, 2, 3))
    topics = rng.sample(vocab.topic_phrases, min(n_topics, len(vocab.topic_phrases)))
    phrases = [rng.choice(ps) for _, ps in topics]
    name = method_name(index, rng)
    title = make_title(name, phrases[0], rng)
    summary = make_abstract(name, phrases, rng, rng.randrange(1000, 1450))
    n_authors = rng.choice((1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 12, 25))
    authors = tuple(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(min(n_authors, 12)))
    organization = rng.choice(ORGS) if rng.random() < 0.05 else None
    arxiv = f"{published:%y%m}.{10000 + index % 89999:05d}"
    github = f"https://github.com/{name.lower()}-lab/{name.lower()}" if rng.random() < 0.3 else None
    notes = ""
    if rng.random() < 0.1:
        notes = (f"Read for the survey. The {phrases[0]} part is the interesting one; "
                 f"compare with *{rng.choice(DATASETS)}* results.")
    return Paper(
        slug="", title=title, summary=summary, id=arxiv, authors=authors,
        n_authors=n_authors, organization=organization, published_at=published,
        date_precision="day", upvotes=rng.randrange(0, 300), comments=rng.choice((None, 1, 2, 5)),
        github_repo=github, notes=notes,
    )


def slug_for(paper: Paper, taken: set[str]) -> str:
    """A unique, readable slug from the title (the store's ingest may choose differently)."""
    from site_src.urls import slugify

    base = slugify(paper.title, max_length=60)
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def render_hf_text(day: dt.date, papers: list[Paper]) -> str:
    """Write papers as a Hugging Face Daily Papers text listing (the sample's shape)."""
    parts = ["new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
             f"byAK and the research community\n\n{MONTHS[day.month - 1]} {day.day}\n\n"]
    for paper in papers:
        byline = paper.organization or f"  • {paper.n_authors} authors"
        when = paper.published_at or day
        dateline = f"{MONTHS[when.month - 1]} {when.day}, {when.year}"
        if paper.comments:
            dateline += f" {paper.comments}"
        parts.append(f"{paper.title}\n\n{paper.summary}\n\n{byline}\n·\n{dateline}\n\n")
    return "".join(parts)


def project_taxonomy(project: Path) -> str:
    """The project's content/taxonomy.yaml when it exists, else the built-in one."""
    path = project / "content" / "taxonomy.yaml"
    return path.read_text(encoding="utf-8") if path.is_file() else fallback_taxonomy_yaml()


def generate(n_papers: int, *, seed: int = 1, taxonomy_text: str | None = None):
    """Make the papers and digest records of a corpus: (papers, [(record, raw_text)])."""
    rng = random.Random(seed)
    vocab = vocabulary_from_taxonomy(taxonomy_text or fallback_taxonomy_yaml())
    n_digests = max(1, -(-n_papers // DIGEST_SIZE))
    span = (LAST_DAY - FIRST_DAY).days
    taken: set[str] = set()
    papers: dict[str, Paper] = {}
    digests = []
    for d in range(n_digests):
        day = FIRST_DAY + dt.timedelta(days=(d * span) // max(n_digests, 1))
        digest_id = f"{day.isoformat()}-daily-{d:05d}"
        batch: list[Paper] = []
        for k in range(d * DIGEST_SIZE, min((d + 1) * DIGEST_SIZE, n_papers)):
            published = day - dt.timedelta(days=rng.randrange(0, 20))
            paper = make_paper(k, vocab, rng, published)
            batch.append(replace(paper, slug=slug_for(paper, taken)))
        # A few papers come back in a later digest, as real ones do.
        earlier = list(papers.values())
        for old in rng.sample(earlier, min(len(earlier), 2)) if d % 3 == 2 else ():
            batch.append(old)
        raw_name = f"daily-{d:05d}.txt"
        positions = []
        for position, paper in enumerate(batch):
            appearance = Appearance(digest=digest_id, position=position, comments=paper.comments)
            digs = paper.digests + (appearance,)
            updated = replace(paper, digests=digs, first_seen=paper.first_seen or day,
                              submitted_at=paper.submitted_at or day)
            papers[paper.slug] = updated
            positions.append(updated)
        raw = render_hf_text(day, positions)
        record = DigestRecord(
            id=digest_id, date=day, format="hf-text", source_name=raw_name,
            raw_file=f"{digest_id}.txt", sha256=hashlib.sha256(raw.encode()).hexdigest(),
            papers=tuple(p.slug for p in positions),
            new_papers=tuple(p.slug for p in positions if p.first_seen == day and len(p.digests) == 1),
            ingested_on=day, title="Daily Papers",
        )
        digests.append((record, raw))
    return list(papers.values()), digests


def write_corpus(out: Path, n_papers: int, *, seed: int = 1, project: Path = ROOT) -> dict:
    """Write a whole project folder (content/ + templates/) with n_papers papers; return stats."""
    from site_src import store

    out = Path(out)
    started = time.perf_counter()
    taxonomy_text = project_taxonomy(project)
    papers, digests = generate(n_papers, seed=seed, taxonomy_text=taxonomy_text)
    content = out / "content"
    if content.exists():
        shutil.rmtree(content)
    (content / "papers").mkdir(parents=True)
    (content / "digests").mkdir(parents=True)
    for paper in papers:
        (content / "papers" / f"{paper.slug}.md").write_text(store.dumps(paper), encoding="utf-8")
    for record, raw in digests:
        (content / "digests" / f"{record.id}.yaml").write_text(store.dumps_digest(record), encoding="utf-8")
        (content / "digests" / record.raw_file).write_text(raw, encoding="utf-8")
    (content / "taxonomy.yaml").write_text(taxonomy_text, encoding="utf-8")
    site = project / "content" / "site.yaml"
    if site.is_file():
        shutil.copyfile(site, content / "site.yaml")
    else:
        (content / "site.yaml").write_text(
            "title: Synthetic Atlas\ndescription: A generated corpus for benchmarks.\n"
            "author: Bench\nbase_url: https://example.org/atlas/\n", encoding="utf-8")
    about = project / "content" / "about.md"
    if about.is_file():
        shutil.copyfile(about, content / "about.md")
    templates = out / "templates"
    if templates.exists():
        shutil.rmtree(templates)
    if (project / "templates").is_dir():
        shutil.copytree(project / "templates", templates)
    return {"papers": len(papers), "digests": len(digests),
            "seconds": round(time.perf_counter() - started, 2)}


def write_update_digest(path: Path, corpus_root: Path, *, n_new: int = 48, n_seen: int = 2,
                        seed: int = 2, serial: int = 0) -> dt.date:
    """Write the next hf-text digest (n_new new papers, n_seen seen before); return its date.

    serial makes successive update digests differ (new method names and titles).
    """
    from site_src import store

    rng = random.Random(seed * 1_000_003 + serial)
    content = Path(corpus_root) / "content"
    taxonomy_text = (content / "taxonomy.yaml").read_text(encoding="utf-8")
    vocab = vocabulary_from_taxonomy(taxonomy_text)
    records = sorted((content / "digests").glob("*.yaml"))
    last = max(store.parse_digest(p.read_text(encoding="utf-8"), source=p.name)[0].date for p in records)
    day = last + dt.timedelta(days=1 + serial)
    papers = []
    base = 50_000_000 + serial * 1000  # method names beyond any corpus index: titles stay new
    for k in range(n_new):
        papers.append(make_paper(base + k, vocab, rng, day - dt.timedelta(days=rng.randrange(0, 5))))
    seen_files = sorted((content / "papers").glob("*.md"))
    for p in rng.sample(seen_files, min(n_seen, len(seen_files))):
        old = store.loads(p.read_text(encoding="utf-8"), slug=p.stem, source=p.name)
        papers.insert(rng.randrange(len(papers) + 1),
                      replace(old, comments=(old.comments or 0) + 3))
    Path(path).write_text(render_hf_text(day, papers), encoding="utf-8")
    return day


def main(argv: list[str] | None = None) -> int:
    """Write a corpus (and optionally an update digest) from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--update-digest", type=Path, help="also write the next 50-paper digest here")
    args = parser.parse_args(argv)
    stats = write_corpus(args.out, args.papers, seed=args.seed)
    print(f"wrote {stats['papers']} papers in {stats['digests']} digests to {args.out} "
          f"in {stats['seconds']} s")
    if args.update_digest:
        day = write_update_digest(args.update_digest, args.out)
        print(f"wrote the next digest ({day}) to {args.update_digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
