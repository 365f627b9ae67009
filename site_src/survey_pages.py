"""What the taxonomy adds to the site: overview and Unsorted pages, related papers, reasons, exports.

Three seams into the pipeline, each a plain function:

* site_extras(papers, assignments) -> (topic_reasons, related) fills the Site fields of
  the same names (pipeline.load_site calls it; the build cache calls update_site_extras,
  which also returns a memo so the next build counts only new papers' words);
* plan_overview / plan_unsorted are page-kind planners (rows of plan.PAGE_KINDS);
* produce_exports is an output producer (a row of pipeline.OUTPUT_PRODUCERS).

The planners import plan lazily because plan imports this module for its rows.
"""
from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from site_src import urls
from site_src.model import Paper

Reasons = tuple[tuple[str, tuple[str, ...]], ...]
"""((topic id, (reason sentence, …)), …) for one paper, in topic display order."""


def topic_reasons(assignments: Mapping[str, Any],
                  previous: tuple[Mapping[str, Reasons], Container[str]] | None = None) -> dict[str, Reasons]:
    """Return slug -> why each topic was given, as sentences for the curator.

    previous = (the topic reasons of an earlier call, the slugs whose assignment may differ
    from that call's): every other paper keeps its earlier sentences (a digest re-assigns a
    few dozen of 100k papers).
    """
    old_reasons, changed = previous if previous is not None else ({}, set())
    # A sentence depends on the rule and the words matched, not on the paper: made once
    # per distinct one (writing it normalizes the phrase, the costly part at 100k papers).
    sentences: dict[tuple, str] = {}

    def sentence(reason) -> str:
        key = (type(reason), reason.field, reason.phrase, reason.matched)
        text = sentences.get(key)
        if text is None:
            text = sentences[key] = str(reason)
        return text

    curated = ("set by the curator in the paper's front matter",)
    excluded = ("matched, but removed by topics_exclude",)
    # Earlier sentences are taken in one pass (in the assignments' order), then the papers
    # re-assigned or without earlier sentences get theirs.
    out: dict[str, Reasons] = dict(zip(assignments, map(old_reasons.get, assignments)))
    todo = (out.keys() & set(changed)) | (out.keys() - old_reasons.keys()) if old_reasons else out.keys()
    for slug in todo:
        assignment = assignments[slug]
        rows = []
        for topic_id in assignment.topics:
            if assignment.curated:
                rows.append((topic_id, curated))
            else:
                rows.append((topic_id, tuple(map(sentence, assignment.reasons_for(topic_id)))))
        for topic_id in assignment.excluded:
            rows.append((topic_id, excluded))
        out[slug] = tuple(rows)
    return out


def related_for_site(papers: Sequence[Paper], k: int = 5) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Return slug -> ((related slug, shared terms), …), best first (Site.related's shape)."""
    return update_related_for_site(papers, k=k)[0]


def update_related_for_site(papers: Sequence[Paper], memo: Any = None, k: int = 5, *,
                            previous: Mapping[str, tuple] | None = None,
                            fingerprints: Mapping[str, Any] | None = None) -> tuple[dict, Any]:
    """related_for_site, and the memo (related.RelatedMemo) that makes the next call redo only what changed.

    previous (the value of the call that made the memo) and fingerprints (slug -> hash of
    the paper) only save work: see related.update_related.
    """
    from site_src.related import update_related

    return update_related(papers, memo, k=k, as_pairs=True, previous=previous, fingerprints=fingerprints)


def site_extras(papers: Sequence[Paper], assignments: Mapping[str, Any]) -> tuple[dict, dict]:
    """Return (topic_reasons, related) for the Site: everything taxonomy-derived beyond topic ids."""
    return topic_reasons(assignments), related_for_site(papers)


def update_site_extras(papers: Sequence[Paper], assignments: Mapping[str, Any], memo: Any = None, *,
                       previous: tuple[dict, dict] | None = None,
                       fingerprints: Mapping[str, Any] | None = None,
                       reasons_before: tuple[Mapping[str, Reasons], Container[str]] | None = None
                       ) -> tuple[tuple[dict, dict], Any]:
    """Return (site_extras' value, the memo for the next call): the same value whatever the memo holds.

    The memo (related.RelatedMemo, picklable) remembers each paper's term counts, vector
    and best candidates, so a new digest counts only its new papers' words and compares
    with all papers only those whose vector it changed. previous is site_extras' value from
    the call that made the memo (its related lists are reused where nothing changed);
    reasons_before is topic_reasons' previous (earlier reasons, slugs re-assigned since).
    """
    related, new_memo = update_related_for_site(
        papers, memo, previous=None if previous is None else previous[1], fingerprints=fingerprints)
    return (topic_reasons(assignments, reasons_before), related), new_memo


# --- page kinds -------------------------------------------------------------------

def plan_overview(ix) -> Iterable[tuple[str, dict, str]]:
    """The survey overview: topics x years table and chart, trends, most-discussed papers."""
    from site_src import plan
    from site_src.overview import overview_view

    if not ix.site.topics:
        return
    url = urls.url_for("overview")
    data = overview_view(
        list(ix.papers.values()), ix.site.topics, ix.site.paper_topics,
        paper_url=lambda slug: urls.url_for("paper", slug),
        topic_url=lambda topic_id: urls.url_for("topic", topic_id), members=ix.topic_members,
        by_slug=ix.papers)
    yield url, plan._view(
        ix, "overview", url, "Survey overview", crumbs=[("Overview", None)],
        description=f"How the {plan.plural(len(ix.papers), 'paper')} of {ix.config.title} "
                    "spread over topics and years.",
        overview=data,
        exports={"bibtex": urls.url_for("survey_bibtex"), "outline": urls.url_for("survey_outline")},
        unsorted_url=urls.url_for("unsorted"),
    ), "overview"


def plan_unsorted(ix) -> Iterable[tuple[str, dict, str]]:
    """Papers with no topic, for the curator to triage (always present, even when empty)."""
    from site_src import plan

    if not ix.site.topics:
        return
    slugs = [s for s in ix.shown if not ix.site.paper_topics.get(s)]
    url = urls.url_for("unsorted")
    yield url, plan._view(
        ix, "unsorted", url, "Unsorted papers", crumbs=[("Topics", urls.url_for("topics")),
                                                         ("Unsorted", None)],
        description="Papers no topic of the taxonomy claims yet.",
        papers=[ix.list_cards[s] for s in slugs], count=len(slugs),
    ), "unsorted"


def topic_exports(topic_id: str) -> dict[str, str]:
    """Return the URLs of one topic's export files (for the topic page's links)."""
    return {"bibtex": urls.url_for("topic_bibtex", topic_id),
            "outline": urls.url_for("topic_outline", topic_id)}


# --- exports ----------------------------------------------------------------------

def produce_exports(site, config, pages) -> dict[str, bytes]:
    """Write the survey's and each topic's BibTeX and Markdown outline."""
    files, _ = update_exports(site, config, pages, remember=False)
    return files  # type: ignore[return-value]  # nothing is 'existing', so every value is bytes


EXPORTS_MEMO_VERSION = 1
"""Bump when what ExportsMemo holds changes meaning (older memos are then ignored)."""


@dataclass(frozen=True)
class ExportsMemo:
    """What update_exports keeps from one build for the next (picklable)."""

    settings: str
    """What every export depends on besides the papers: title, base URL, topics."""
    papers: dict[str, tuple]
    """Slug -> (paper key, topic ids, survey_order key, BibTeX entry, outline line), in survey
    order (survey_order ends with the slug: that is how the records are keyed again)."""
    hashes: dict[str, str]
    """Destination -> SHA-1 (hex) of the bytes made for it."""


def update_exports(site, config, pages, memo: ExportsMemo | None = None, *,
                   paper_keys: Mapping[str, str] | None = None, existing: Mapping[str, str] | None = None,
                   remember: bool = True) -> tuple[dict[str, bytes | None], ExportsMemo | None]:
    """Return (produce_exports' files, the memo for the next build), reusing `memo`.

    paper_keys (slug -> a hash of the paper's fields, notes aside) let a paper's BibTeX entry
    and outline line be taken from the memo. A topic's two files map to None (keep the
    file there) when no paper in its subtree was added, removed, edited or moved, and
    `existing` (destination -> SHA-1 hex of the file on disk, from the last build's
    manifest) still holds the bytes the memo made for them.
    """
    import hashlib

    from site_src.exports import bibtex_for, bibtex_text, outline_line, outline_text, survey_order, unsorted_line

    if not site.topics:
        return {}, None
    settings = repr((EXPORTS_MEMO_VERSION, config.title, config.absolute(""), tuple(site.topics)))
    if not isinstance(memo, ExportsMemo) or memo.settings != settings or paper_keys is None:
        memo = ExportsMemo(settings, {}, {})
    existing = existing or {}
    old = memo.papers
    parents = {t.id: t.parent for t in site.topics}
    ancestors: dict[str, tuple[str, ...]] = {}
    for topic_id in parents:
        chain, current = [], topic_id
        while current in parents and current not in chain:  # (cycle-safe)
            chain.append(current)
            current = parents[current]
        ancestors[topic_id] = tuple(chain)

    records: dict[str, tuple] = {}
    dirty: set[str] = set()  # topics whose subtree lost, gained or changed a paper
    for paper in site.papers:
        slug = paper.slug
        key = paper_keys.get(slug) if paper_keys is not None else None
        topics = tuple(site.paper_topics.get(slug, ()))
        record = old.get(slug)
        if record is None or key is None or record[0] != key:
            url = config.absolute(urls.url_for("paper", slug))
            record = (key, topics, survey_order(paper), bibtex_for(paper, url=url), outline_line(paper, url))
        elif record[1] != topics:
            record = (key, topics, *record[2:])
        else:
            records[slug] = record
            continue
        records[slug] = record
        for topic_id in topics + (old[slug][1] if slug in old else ()):
            dirty.update(ancestors.get(topic_id, ()))
    for slug in old.keys() - records.keys():
        for topic_id in old[slug][1]:
            dirty.update(ancestors.get(topic_id, ()))
    anything = bool(dirty) or len(records) != len(old) or any(old.get(s) is not r for s, r in records.items())

    # The memo keeps its papers in survey order: listed that way first, the new ones after,
    # they sort in one merging pass (~0.1 s for 100k papers, against ~0.3 in site order).
    ordered = [records[slug] for slug in old if slug in records]
    if len(ordered) != len(records):
        ordered += [record for slug, record in records.items() if slug not in old]
    ordered.sort(key=itemgetter(2))
    members: dict[str, list[tuple]] = {t.id: [] for t in site.topics}  # subtree, in survey order
    own: dict[str, list[str]] = {t.id: [] for t in site.topics}
    for record in ordered:
        seen: set[str] = set()
        for topic_id in record[1]:
            if topic_id in own:
                own[topic_id].append(record[4])
            for above in ancestors.get(topic_id, ()):
                if above not in seen:
                    seen.add(above)
                    members[above].append(record)
    by_slug = {p.slug: p for p in site.papers}
    unsorted = [unsorted_line(by_slug[r[2][3]]) for r in ordered if not r[1]]

    files: dict[str, bytes | None] = {}
    hashes: dict[str, str] = {}

    def put(dest: str, fresh: bool, make) -> None:
        known = memo.hashes.get(dest)
        if not fresh and known is not None and existing.get(dest) == known:
            files[dest], hashes[dest] = None, known
        else:
            data = make().encode("utf-8")
            files[dest] = data
            if remember:
                hashes[dest] = hashlib.sha1(data).hexdigest()

    shared: dict = {}
    put(urls.url_for("survey_bibtex"), anything, lambda: bibtex_text(
        f"{config.title}: all {len(ordered)} papers", [r[3] for r in ordered]))
    put(urls.url_for("survey_outline"), anything, lambda: outline_text(
        config.title, site.topics, own.__getitem__, unsorted=unsorted, _shared=shared))
    for topic in site.topics:
        inside = members[topic.id]
        put(urls.url_for("topic_bibtex", topic.id), topic.id in dirty, lambda: bibtex_text(
            f"{config.title}: {topic.name} ({len(inside)} papers)", [r[3] for r in inside]))
        put(urls.url_for("topic_outline", topic.id), topic.id in dirty, lambda: outline_text(
            f"{config.title}: {topic.name}", site.topics, own.__getitem__, root=topic.id, _shared=shared))
    return files, (ExportsMemo(settings, {r[2][3]: r for r in ordered}, hashes) if remember else None)
