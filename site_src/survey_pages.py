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


def update_exports(site, config, pages, memo=None, *, paper_keys: Mapping[str, str] | None = None,
                   existing: Mapping[str, str] | None = None, out_dir=None,
                   remember: bool = True) -> tuple[dict[str, Any], Any]:
    """Return (produce_exports' files, the memo for the next build), reusing `memo`.

    paper_keys (slug -> a hash of the paper's fields, notes aside) let a paper's BibTeX entry
    and outline line be taken from the last build's survey files. A topic's two files map to
    None (keep the file there) when no paper in its subtree was added, removed, edited or
    moved, and `existing` (destination -> SHA-1 hex of the file on disk, from the last
    build's manifest) still holds the bytes the memo made for them. With out_dir (the
    output folder) the files made are written beside their destinations as they are made
    (writer.StagedFile), not held in memory: see exportfiles.
    """
    from site_src.exportfiles import make_exports

    return make_exports(site, config, memo, paper_keys=paper_keys, existing=existing, out_dir=out_dir,
                        remember=remember)
