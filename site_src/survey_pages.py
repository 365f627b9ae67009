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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from site_src import urls
from site_src.model import Paper

Reasons = tuple[tuple[str, tuple[str, ...]], ...]
"""((topic id, (reason sentence, …)), …) for one paper, in topic display order."""


def topic_reasons(assignments: Mapping[str, Any]) -> dict[str, Reasons]:
    """Return slug -> why each topic was given, as sentences for the curator."""
    # A sentence depends on the rule and the words matched, not on the paper: made once
    # per distinct one (writing it normalizes the phrase, the costly part at 100k papers).
    sentences: dict[tuple, str] = {}

    def sentence(reason) -> str:
        key = (type(reason), reason.field, reason.phrase, reason.matched)
        text = sentences.get(key)
        if text is None:
            text = sentences[key] = str(reason)
        return text

    out: dict[str, Reasons] = {}
    curated = ("set by the curator in the paper's front matter",)
    excluded = ("matched, but removed by topics_exclude",)
    for slug, assignment in assignments.items():
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
                       fingerprints: Mapping[str, Any] | None = None) -> tuple[tuple[dict, dict], Any]:
    """Return (site_extras' value, the memo for the next call): the same value whatever the memo holds.

    The memo (related.RelatedMemo, picklable) remembers each paper's term counts, vector
    and best candidates, so a new digest counts only its new papers' words and compares
    with all papers only those whose vector it changed. previous is site_extras' value from
    the call that made the memo (its related lists are reused where nothing changed).
    """
    related, new_memo = update_related_for_site(
        papers, memo, previous=None if previous is None else previous[1], fingerprints=fingerprints)
    return (topic_reasons(assignments), related), new_memo


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
        topic_url=lambda topic_id: urls.url_for("topic", topic_id))
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
    slugs = [s for s in ix.cards if not ix.site.paper_topics.get(s)]
    url = urls.url_for("unsorted")
    yield url, plan._view(
        ix, "unsorted", url, "Unsorted papers", crumbs=[("Topics", urls.url_for("topics")),
                                                         ("Unsorted", None)],
        description="Papers no topic of the taxonomy claims yet.",
        papers=[ix.cards[s] for s in slugs], count=len(slugs),
    ), "unsorted"


def topic_exports(topic_id: str) -> dict[str, str]:
    """Return the URLs of one topic's export files (for the topic page's links)."""
    return {"bibtex": urls.url_for("topic_bibtex", topic_id),
            "outline": urls.url_for("topic_outline", topic_id)}


# --- exports ----------------------------------------------------------------------

def produce_exports(site, config, pages) -> dict[str, bytes]:
    """Write the survey's and each topic's BibTeX and Markdown outline."""
    from site_src.exports import bibtex_entries, bibtex_file, markdown_outline, topic_members

    if not site.topics:
        return {}
    papers = list(site.papers)
    by_slug = {p.slug: p for p in papers}

    def absolute(slug: str) -> str:
        return config.absolute(urls.url_for("paper", slug))

    # Each paper's entry is made once, not once per topic file it is in.
    entries = bibtex_entries(papers, url_for=absolute)
    shared: dict = {}
    out = {
        urls.url_for("survey_bibtex"): bibtex_file(
            papers, entries=entries, heading=f"{config.title}: all {len(papers)} papers"),
        urls.url_for("survey_outline"): markdown_outline(
            config.title, site.topics, papers, site.paper_topics, url_for=absolute, _shared=shared),
    }
    in_topic = topic_members(site.topics, site.paper_topics)
    for topic in site.topics:
        members = [by_slug[s] for s in sorted(in_topic[topic.id]) if s in by_slug]
        out[urls.url_for("topic_bibtex", topic.id)] = bibtex_file(
            members, entries=entries, heading=f"{config.title}: {topic.name} ({len(members)} papers)")
        out[urls.url_for("topic_outline", topic.id)] = markdown_outline(
            f"{config.title}: {topic.name}", site.topics, papers, site.paper_topics,
            url_for=absolute, root=topic.id, _shared=shared)
    return {dest: text.encode("utf-8") for dest, text in out.items()}
