"""The data-quality report: everything in content/ a curator should look at.

Errors are things that are wrong (the store cannot be trusted until they are fixed):
front matter that does not fit the schema, file names that are not slugs, two files
that are one slug on a case-insensitive disk, two papers with one arXiv id, digest
records whose archived raw file is missing or changed, links between papers and digest
records that point nowhere. Warnings are doubts a human should judge: possible duplicate
papers, inferred or missing publication dates, abstracts that are missing or look cut off.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from site_src import merge, store, taxonomy as taxonomy_module
from site_src.model import Corpus, Paper, Problem
from site_src.slugs import is_safe_slug


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The result of `check`: problems in file order, and what was looked at."""

    papers: int
    digests: int
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems that make the store wrong."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems a human should judge."""
        return tuple(p for p in self.problems if p.severity == "warning")


_LINK = re.compile(r"(?:https?://|www\.|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/)\S*", re.IGNORECASE)
"""A link as the last word ('... at github.com/a/b'): no full stop, yet the abstract is whole."""


def looks_truncated(summary: str) -> bool:
    """Whether an abstract seems cut off: an ellipsis at the end, or a dangling word or comma."""
    text = summary.rstrip()
    if text.endswith(("...", "\u2026")):
        return True
    if not text or _LINK.fullmatch(text.rsplit(None, 1)[-1]):
        return False
    # Sentences end in . ! ? or a closing bracket/quote; LaTeX debris ($, }) is common too.
    return text[-1] not in ".!?)]}\"'\u201d\u2019$*`>"


def _where(paper: Paper, sources: Mapping[str, str]) -> str:
    return sources.get(paper.slug, f"papers/{paper.slug}.md")


def check_corpus(corpus: Corpus, *, key_lines: Mapping[str, Mapping[str, int]] | None = None,
                 sources: Mapping[str, str] | None = None,
                 raw_digests: Mapping[str, bytes | None] | None = None,
                 file_names: tuple[str, ...] = (), label: str = "content",
                 taxonomy: taxonomy_module.Taxonomy | None = None) -> tuple[Problem, ...]:
    """Find every problem in a loaded store (pure: the caller passes what it read).

    `key_lines[slug][key]` is the 1-based line of a front-matter key ('body' for the
    abstract); `raw_digests[raw_file]` is the archived digest's bytes or None when missing;
    `file_names` are the paper files' names as found on disk; `label` names the content
    folder in problem sources; with a `taxonomy`, front-matter topic ids it does not
    define are reported (assignment would silently drop them).
    """
    key_lines = key_lines or {}
    sources = sources or {}
    raw_digests = raw_digests or {}
    problems: list[Problem] = list(corpus.problems)

    def line_of(paper: Paper, key: str) -> int | None:
        return key_lines.get(paper.slug, {}).get(key)

    # Slugs: well formed, and distinct even where the file system ignores case.
    folded: dict[str, list[str]] = defaultdict(list)
    for name in file_names:
        slug = name[:-3] if name.endswith(".md") else name
        folded[slug.casefold()].append(name)
        if not is_safe_slug(slug):
            problems.append(Problem(f"{label}/papers/{name}", None, "the file name is not a "
                                    "valid slug (lowercase a-z, 0-9 and '-', at most 80 "
                                    "characters)", "error"))
    for names in folded.values():
        if len(names) > 1:
            problems.append(Problem(f"{label}/papers/{names[1]}", None, "duplicate slug: "
                                    f"{' and '.join(names)} are one file on a case-insensitive "
                                    "disk", "error"))

    # Identity: one arXiv id, one paper; near-identical titles get a human look.
    by_id: dict[str, list[Paper]] = defaultdict(list)
    for paper in corpus.papers:
        if paper.id:
            by_id[paper.id].append(paper)
    for arxiv_id, papers in by_id.items():
        for paper in papers[1:]:
            problems.append(Problem(_where(paper, sources), line_of(paper, "id"),
                                    f"duplicate paper: arXiv id {arxiv_id} is also "
                                    f"{papers[0].slug}", "error"))
    problems.extend(_possible_duplicates(corpus.papers, line_of, sources))

    # Dates and abstracts.
    for paper in corpus.papers:
        where = _where(paper, sources)
        if paper.published_at is None:
            problems.append(Problem(where, line_of(paper, "published_at") or 2,
                                    "no publication date", "warning"))
        elif paper.date_precision == "year-inferred":
            problems.append(Problem(where, line_of(paper, "published_at"),
                                    f"the year of the publication date {paper.published_at} "
                                    "was inferred from the digest", "warning"))
        if paper.truncated:
            problems.append(Problem(where, line_of(paper, "truncated"),
                                    "marked truncated: a cut-off digest entry is not a paper",
                                    "error"))
        if not paper.summary.strip():
            problems.append(Problem(where, line_of(paper, "body"), "no abstract", "warning"))
        elif looks_truncated(paper.summary):
            tail = paper.summary.rstrip()[-40:]
            problems.append(Problem(where, line_of(paper, "body"),
                                    f"the abstract looks truncated (ends '…{tail}')", "warning"))

    # Digest records, their archives, and the links both ways.
    slugs = {paper.slug for paper in corpus.papers}
    records = {record.id for record in corpus.digests}
    for record in corpus.digests:
        where = f"{label}/digests/{record.id}.yaml"
        data = raw_digests.get(record.raw_file)
        if data is None:
            problems.append(Problem(where, None, f"the archived digest {record.raw_file} is "
                                    "missing", "error"))
        elif hashlib.sha256(data).hexdigest() != record.sha256:
            problems.append(Problem(where, None, f"the archived digest {record.raw_file} has "
                                    "changed since it was ingested (sha256 differs)", "error"))
        repeated = sorted({slug for slug in record.papers if record.papers.count(slug) > 1})
        if repeated:
            problems.append(Problem(where, None, f"lists paper {repeated[0]!r} more than once",
                                    "error"))
        for slug in record.papers:
            if slug not in slugs:
                problems.append(Problem(where, None, f"lists paper {slug!r}, which has no file",
                                        "error"))
    for paper in corpus.papers:
        for appearance in paper.digests:
            if appearance.digest not in records:
                problems.append(Problem(_where(paper, sources), line_of(paper, "digests"),
                                        f"appears in digest {appearance.digest!r}, which has "
                                        "no record in content/digests/", "error"))

    # Curated topics the taxonomy does not define.
    if taxonomy is not None:
        for paper in corpus.papers:
            for problem in taxonomy_module.check_curated_topics([paper], taxonomy):
                key = "topics_exclude" if problem.reason.startswith("'topics_exclude'") else "topics"
                problems.append(dataclasses.replace(problem, source=_where(paper, sources),
                                                    line=line_of(paper, key)))
    return tuple(problems)


def _possible_duplicates(papers: tuple[Paper, ...], line_of, sources) -> list[Problem]:
    """Pairs of papers whose titles the merge rules would join or flag (each pair once)."""
    import numpy as np

    order = sorted(range(len(papers)), key=lambda i: len(merge.title_key(papers[i].title)))
    keys = [merge.title_key(papers[i].title) for i in order]
    lengths = [len(key) for key in keys]
    # fuzz.ratio >= REVIEW_SCORE needs the shorter key to be at least this share of the longer.
    share = merge.REVIEW_SCORE / (200 - merge.REVIEW_SCORE)
    problems: list[Problem] = []
    # Rows in blocks against the longer keys only (each pair once), in rapidfuzz's C++ cdist:
    # 10k x 10k titles take seconds there, minutes in a Python loop over pairs.
    block = 512
    for start in range(0, len(keys), block):
        rows = keys[start:start + block]
        if not rows:
            continue
        stop = start + len(rows)
        while stop < len(keys) and lengths[stop] * share <= lengths[start + len(rows) - 1]:
            stop += 1
        scores = process.cdist(rows, keys[start:stop], scorer=fuzz.ratio,
                               score_cutoff=merge.REVIEW_SCORE, dtype=np.float32, workers=-1)
        for row, column in zip(*np.nonzero(scores)):
            a, b = start + int(row), start + int(column)
            if b <= a or not keys[a] or not keys[b]:
                continue
            score = float(scores[row, column])
            first, second = sorted((papers[order[a]], papers[order[b]]), key=lambda p: p.slug)
            if first.id and second.id and first.id != second.id and keys[a] != keys[b]:
                continue  # different arXiv ids: different papers, however alike the titles
            same = merge.same_title(first.title, second.title)
            reason = (f"possible duplicate of {first.slug}: "
                      + ("the same title" if same else f"title similarity {score:.1f}"))
            problems.append(Problem(_where(second, sources), line_of(second, "title"), reason,
                                    "warning"))
    return problems


def check_store(content_dir: Path) -> CheckReport:
    """Load content/ and check it: the I/O shell around check_corpus."""
    content_dir = Path(content_dir)
    corpus = store.load_store(content_dir)
    key_lines: dict[str, dict[str, int]] = {}
    sources: dict[str, str] = {}
    papers_dir = content_dir / store.PAPERS_DIR
    file_names = tuple(sorted(p.name for p in papers_dir.glob("*.md"))) \
        if papers_dir.is_dir() else ()
    for paper in corpus.papers:
        path = store.paper_path(content_dir, paper.slug)
        sources[paper.slug] = f"{content_dir.name}/{store.PAPERS_DIR}/{path.name}"
        try:
            front, _, body_line = store.split_front_matter(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        lines = {key: number + 2 for key, number in store.key_lines(front).items()}
        lines["body"] = body_line
        key_lines[paper.slug] = lines
    raw: dict[str, bytes | None] = {}
    for record in corpus.digests:
        path = content_dir / store.DIGESTS_DIR / record.raw_file
        try:
            raw[record.raw_file] = path.read_bytes() if path.is_file() else None
        except OSError:
            raw[record.raw_file] = None
    taxonomy, taxonomy_problems = None, []
    if (content_dir / "taxonomy.yaml").is_file():
        try:
            taxonomy = taxonomy_module.load_taxonomy(content_dir / "taxonomy.yaml")
        except taxonomy_module.TaxonomyError as error:  # it would stop the build
            reason = f"topic '{error.topic}': {error.reason}" if error.topic else error.reason
            taxonomy_problems.append(Problem(f"{content_dir.name}/taxonomy.yaml", error.line,
                                             reason, "error"))
    problems = check_corpus(corpus, key_lines=key_lines, sources=sources, raw_digests=raw,
                            file_names=file_names, label=content_dir.name, taxonomy=taxonomy)
    problems = (*problems, *taxonomy_problems)
    return CheckReport(papers=len(corpus.papers), digests=len(corpus.digests),
                       problems=tuple(sorted(problems, key=lambda p: (p.source, p.line or 0))))
