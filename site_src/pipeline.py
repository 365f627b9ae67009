"""build(config, now) -> BuildReport: the whole recipe on one screen.

    site    = load_site(config)                 content/ + taxonomy -> Site
    pages   = plan_site(site, config)           every Page(kind, url, dest, template, view)
    outputs = render_pages(pages, config)       Jinja, one pure call per page
            + produce_extras(site, config, pages)   feeds, sitemap, search index, …
            + static_outputs(config)            templates/static/ (theme_dir/static/ wins)
    report  = write_site(outputs, out_dir)      atomic swap; unchanged files untouched

Extra outputs (dest -> bytes) come from OUTPUT_PRODUCERS: plain functions
(site, config, pages) -> dict[str, bytes]. Add one to that tuple to add outputs.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from site_src import feeds, search, sitemap, survey_pages
from site_src.buildreport import BuildError, BuildReport  # noqa: F401 - part of this module's interface
from site_src.config import SiteConfig
from site_src.model import Corpus, Paper, Problem
from site_src.plan import Page, Site, TopicInfo, plan_site
from site_src.render import make_environment, render_page
from site_src.writer import Output, WriteReport, write_site

Producer = Callable[[Site, SiteConfig, list[Page]], dict[str, bytes]]

OUTPUT_PRODUCERS: tuple[tuple[str, Producer], ...] = (
    ("feeds", feeds.produce_feeds),
    ("sitemap", sitemap.produce_sitemap),
    ("exports", survey_pages.produce_exports),
    ("search", search.produce_search_index),
)
"""(name, producer) pairs whose outputs join the pages; the name shows in collision errors."""


def topics_from_taxonomy(taxonomy) -> tuple[TopicInfo, ...]:
    """Read the taxonomy's topics (objects with id, name, description, parent, children, order)."""
    topics = getattr(taxonomy, "topics", taxonomy)
    if isinstance(topics, dict):
        topics = topics.values()
    return tuple(
        TopicInfo(id=t.id, name=t.name, description=getattr(t, "description", "") or "",
                  parent=getattr(t, "parent", None), children=tuple(getattr(t, "children", ()) or ()),
                  order=getattr(t, "order", 0) or 0)
        for t in topics)


def load_topics(config: SiteConfig, papers: Iterable[Paper], *,
                assign: Callable | None = None) -> tuple[tuple[TopicInfo, ...], dict[str, tuple[str, ...]], dict]:
    """Topics from content/taxonomy.yaml, each paper's topic ids, and the Assignments (with reasons)."""
    if not config.taxonomy_path.exists():
        return (), {}, {}
    from site_src import taxonomy as taxonomy_module

    taxonomy = taxonomy_module.load_taxonomy(config.taxonomy_path)
    assigned = (assign or taxonomy_module.assign_topics)(tuple(papers), taxonomy)
    paper_topics = {slug: tuple(getattr(value, "topics", value)) for slug, value in assigned.items()}
    return topics_from_taxonomy(taxonomy), paper_topics, assigned


def load_site(config: SiteConfig, *, load_corpus: Callable[[Path], Corpus] | None = None,
              assign: Callable | None = None) -> tuple[Site, tuple[Problem, ...]]:
    """Read content/ (papers, digests, taxonomy, about.md) into a Site.

    load_corpus (content_dir -> Corpus) and assign ((papers, taxonomy) -> {slug: Assignment})
    default to store.load_store and taxonomy.assign_topics; a build cache passes memoised ones.
    """
    if load_corpus is None:
        from site_src.store import load_store as load_corpus
    corpus = load_corpus(config.content_dir)
    topics, paper_topics, assigned = load_topics(config, corpus.papers, assign=assign)
    return site_from_corpus(config, corpus, topics, paper_topics, assigned), tuple(corpus.problems)


def site_from_corpus(config: SiteConfig, corpus: Corpus, topics: tuple[TopicInfo, ...],
                     paper_topics: dict[str, tuple[str, ...]], assignments: dict | None = None, *,
                     site_extras: Callable | None = None) -> Site:
    """Assemble the Site from loaded parts (the one place a new whole-site input is added).

    assignments (slug -> taxonomy.Assignment) give the curator the reason for each topic.
    site_extras defaults to survey_pages.site_extras; the build cache passes a memoised one.
    """
    about_path = config.content_dir / "about.md"
    about = about_path.read_text(encoding="utf-8") if about_path.exists() else None
    reasons, related = (site_extras or survey_pages.site_extras)(corpus.papers, assignments or {})
    return Site(papers=corpus.papers, digests=corpus.digests, topics=topics,
                paper_topics=paper_topics, about=about, related=related, topic_reasons=reasons)


def render_pages(pages: Iterable[Page], config: SiteConfig) -> list[Output]:
    """Render every page (one pure call each)."""
    env = make_environment(config)
    return [Output(page.dest, render_page(env, page.template, page.view), page.source) for page in pages]


def produce_extras(site: Site, config: SiteConfig, pages: list[Page],
                   producers: Iterable[tuple[str, Producer]] = OUTPUT_PRODUCERS) -> list[Output]:
    """Run every output producer (feeds, sitemap, search index, …)."""
    return [Output(dest, data, name)
            for name, produce in producers for dest, data in sorted(produce(site, config, pages).items())]


def static_outputs(config: SiteConfig) -> list[Output]:
    """Files of templates/static/ (overridden by theme_dir/static/), under static/."""
    files: dict[str, Path] = {}
    for folder in [config.templates_dir / "static"] + ([config.theme_dir / "static"] if config.theme_dir else []):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder).as_posix()
                if path.is_file() and not any(part.startswith(".") for part in rel.split("/")):
                    files[rel] = path
    return [Output(f"static/{rel}", path.read_bytes(), f"static/{rel}") for rel, path in sorted(files.items())]


def build(config: SiteConfig, now: dt.datetime | None = None) -> BuildReport:
    """Build the whole site into config.out_dir; raise BuildError and leave the old site on failure."""
    clock = time.perf_counter()
    try:
        site, problems = load_site(config)
        pages = plan_site(site, config)
        outputs = render_pages(pages, config) + produce_extras(site, config, pages) + static_outputs(config)
        written: WriteReport = write_site(outputs, config.out_dir,
                                          protected=[config.root, config.content_dir, config.templates_dir])
    except BuildError:
        raise
    except Exception as error:  # noqa: BLE001 - every failure becomes one clear message
        raise BuildError(f"{type(error).__name__}: {error}") from error
    return BuildReport(len(pages), len(outputs), written.written, written.unchanged, written.removed,
                       problems, round(time.perf_counter() - clock, 3), now)
