"""plan_site(site, config) -> every Page the site has, each with a plain JSON-serializable view.

Page kinds are rows of PAGE_KINDS: a name, a template and a function that
yields (url, view, source) for that kind. Adding a kind (an overview, an
"unsorted" triage page) is one function and one row. Views hold plain data
only (str, int, bool, None, lists, dicts): rendering a page is then a pure
function of (template, view, config), which caches and worker processes rely on.
URLs in views are site-relative; templates turn them into relative links.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import marshal
import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import Any, NamedTuple

from site_src import survey_pages, urls
from site_src.authors import Author, author_urls, group_authors, sort_key
from site_src.cite import bibtex_for
from site_src.config import SiteConfig
from site_src.markup import plain_text, shorten
from site_src.model import DigestRecord, Paper

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SNIPPET_CHARS = 260
HOME_NEW_PAPERS = 12
"""New papers of the latest digest shown on the home page (the digest page has them all)."""
UNDATED = "undated"
"""Year key (and URL segment) of papers without a known date."""


_url_for = lru_cache(maxsize=1 << 18)(urls.url_for)
"""urls.url_for, remembered: a 10k-paper site asks for ~20k URLs 180k times per plan, and
serve and update plan the whole site on every rebuild."""


_plain_text = lru_cache(maxsize=1 << 17)(plain_text)
"""markup.plain_text, remembered by abstract (flattening 10k abstracts is a third of indexing
the site, and a rebuild after a note edit sees the same abstracts again)."""


def forget_lookups() -> None:
    """Empty the remembered URLs and flattened abstracts (a process done planning frees them)."""
    _url_for.cache_clear()
    _plain_text.cache_clear()


class PlanError(ValueError):
    """The site cannot be planned (two pages claim one URL, a topic is unknown, …)."""


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic as the site shows it; the taxonomy module's topics are read into this shape."""

    id: str
    name: str
    description: str = ""
    parent: str | None = None
    children: tuple[str, ...] = ()
    """Child topic ids, in display order."""
    order: int = 0


@dataclass(frozen=True, slots=True)
class Site:
    """Everything the pages show: content, topics, and which paper is in which topic."""

    papers: tuple[Paper, ...]
    digests: tuple[DigestRecord, ...] = ()
    topics: tuple[TopicInfo, ...] = ()
    """Every topic, in display order (parents before their children)."""
    paper_topics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Paper slug -> topic ids it belongs to (curator's choice or automatic)."""
    related: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(default_factory=dict)
    """Paper slug -> ((related slug, shared terms), …), best first; empty until computed."""
    topic_reasons: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(default_factory=dict)
    """Paper slug -> ((topic id, (why, …)), …): how each topic was given, shown to the curator."""
    about: str | None = None
    """Markdown of content/about.md, or None when there is none."""


@dataclass(frozen=True, slots=True)
class Page:
    """One HTML output: its kind, URL, destination file, template and view."""

    kind: str
    url: str
    """Site-relative URL ('papers/x/', '' for home)."""
    dest: str
    """Relative POSIX path under the output folder."""
    template: str
    view: dict[str, Any] = field(hash=False, compare=False)
    source: str = ""
    """What the page was made from ('content/papers/x.md', 'topic adversarial'), for error messages."""
    in_sitemap: bool = True
    inputs: str = ""
    """A hash of everything the view is made from (paper_page_inputs, list_page_inputs), so a
    build can tell the page is unchanged without making its view; empty when not asked for."""


class KeptPage(NamedTuple):
    """A paper page a build keeps as its last build made it (iter_pages' kept=), with the
    fields of a Page that output producers read: no view, no inputs."""

    kind: str
    url: str
    dest: str
    template: str
    view: dict[str, Any]
    source: str
    in_sitemap: bool
    inputs: str


class PlannedPages:
    """Every page of a build in plan order, as output producers read them (iterated, counted).

    `items` holds the Pages planned and, in their place, the slug of each paper page kept
    from the last build (iter_pages' kept=): those become KeptPages only while iterated, so a
    build that keeps 100k paper pages holds 100k references, not 100k Page objects.
    """

    __slots__ = ("items", "kept", "template")

    def __init__(self, items: list, kept: Mapping[str, str], template: str) -> None:
        self.items, self.kept, self.template = items, kept, template

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        empty: dict[str, Any] = {}
        url_for_dest = urls.url_for_dest
        for item in self.items:
            if type(item) is str:
                dest = self.kept[item]
                yield KeptPage("paper", url_for_dest(dest), dest, self.template, empty,
                               f"content/papers/{item}.md", True, "")
            else:
                yield item

    def sitemap_urls(self) -> Iterator[str]:
        """The URL of each page meant for the sitemap, in plan order, without making KeptPages
        (~0.15 CPU-s at 100k pages): a kept paper page is in the sitemap, as its KeptPage says."""
        url_for_dest = urls.url_for_dest
        for item in self.items:
            if type(item) is str:
                yield url_for_dest(self.kept[item])
            elif item.in_sitemap:
                yield item.url


def sitemap_urls(pages: Iterable[Any]) -> Iterator[str]:
    """The URL of each page meant for the sitemap, in plan order (pages: a list or PlannedPages)."""
    if isinstance(pages, PlannedPages):
        return pages.sitemap_urls()
    return (page.url for page in pages if page.in_sitemap)


class KeptPaperPages(Mapping):
    """Slug -> output path of each paper page a build keeps (iter_pages' kept=), the paths made
    when asked: 100k paths held through a whole build cost ~12 MB. `odd` holds the paths that
    are not 'papers/<slug>/index.html' (urls.keyed_dests spells such a slug another way)."""

    __slots__ = ("slugs", "odd", "odd_paths")

    def __init__(self, slugs: Iterable[str], odd: Mapping[str, str] | None = None) -> None:
        self.slugs = dict.fromkeys(slugs)
        self.odd = dict(odd or {})
        self.odd_paths = frozenset(self.odd.values())

    def __getitem__(self, slug: str) -> str:
        if slug not in self.slugs:
            raise KeyError(slug)
        return self.odd.get(slug) or f"papers/{slug}/index.html"

    def __len__(self) -> int:
        return len(self.slugs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.slugs)

    def __contains__(self, slug: object) -> bool:  # (without making the path, as Mapping's would)
        return slug in self.slugs

    def holds(self, dest: str) -> bool:
        """Whether dest is the path of a kept page (without making each kept page's path)."""
        if dest.startswith("papers/") and dest.endswith("/index.html") and len(dest) > 18:
            slug = dest[7:-11]
            if slug in self.slugs and slug not in self.odd:
                return True
        return dest in self.odd_paths


def kept_paper_pages(ix: "SiteIndex", keep: Callable[[str, str], bool], chunk: int = 4096) -> KeptPaperPages:
    """The shown papers whose page keep(slug, path) says the caller keeps, in plan order."""
    slugs: list[str] = []
    odd: dict[str, str] = {}
    for start in range(0, len(ix.shown), chunk):  # (paths a chunk at a time: none held after)
        for slug, dest in urls.keyed_dests("paper", ix.shown[start:start + chunk]).items():
            if keep(slug, dest):
                slugs.append(slug)
                if len(dest) != len(slug) + 18 or not dest.startswith(slug, 7):
                    odd[slug] = dest
    return KeptPaperPages(slugs, odd)


# --- small pure helpers -------------------------------------------------------------

def display_date(date: dt.date | None, precision: str | None = "day") -> str:
    """'Sep 23, 2025', with ' (year inferred)' when the year came from the digest; 'Mar 2019' / '2019'
    when the source gave only a month or a year."""
    if date is None:
        return ""
    if precision == "year":
        return str(date.year)
    if precision == "month":
        return f"{MONTHS[date.month - 1]} {date.year}"
    text = f"{MONTHS[date.month - 1]} {date.day}, {date.year}"
    return f"{text} (year inferred)" if precision == "year-inferred" else text


def iso(date: dt.date | None) -> str | None:
    """ISO date string or None."""
    return date.isoformat() if date is not None else None


def plural(n: int, word: str, words: str | None = None) -> str:
    """'1 paper', '3 papers'."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def authors_line(paper: Paper, *, limit: int | None = 3) -> str:
    """Author names (shortened after `limit`), else 'N authors', else the organization."""
    if paper.authors:
        names = list(paper.authors)
        if limit is not None and len(names) > limit:
            return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
        return ", ".join(names)
    if paper.n_authors:
        text = plural(paper.n_authors, "author")
        return f"{text} · {paper.organization}" if paper.organization else text
    return paper.organization or ""


def sort_key_newest(paper: Paper) -> tuple:
    """Newest first: by date (published, else first seen), then title, then slug."""
    date = paper.published_at or paper.first_seen or dt.date.min
    return (-date.toordinal(), paper.title.casefold(), paper.slug)


def year_key(paper: Paper) -> str:
    """The year page a paper belongs on."""
    return str(paper.published_at.year) if paper.published_at else UNDATED


def paginate(items: list, per_page: int) -> list[list]:
    """Split items into pages of per_page; an empty list still has one (empty) page."""
    return [items[i:i + per_page] for i in range(0, len(items), per_page)] or [[]]


def split_from_oldest(items: list, per_page: int) -> tuple[list, list[list]]:
    """Split a newest-first list into its front page and its archive pages, the oldest first.

    Full chunks of per_page are counted from the oldest item; the newest full chunk and the
    newer remainder make the front page (per_page to 2 * per_page - 1 items, or all when there
    are fewer than per_page). Archive page n (1-based, archives[n - 1]) holds the items
    (n - 1) * per_page + 1 to n * per_page counted from the oldest, newest first: it never
    changes when newer items arrive, so a new paper re-makes the front page and, once a chunk
    fills up, one new archive page and the "newer" link of the one before it.
    """
    archived = max(len(items) // per_page - 1, 0)
    end = len(items)
    archives = [items[end - n * per_page:end - (n - 1) * per_page] for n in range(1, archived + 1)]
    return items[:end - archived * per_page], archives


# --- the index: everything computed once and shared by the page kinds ----------------

@dataclass(slots=True)
class SiteIndex:
    """Lookups derived from a Site once, used by every page-kind planner."""

    site: Site
    config: SiteConfig
    papers: dict[str, Paper]
    topics: dict[str, TopicInfo]
    cards: Mapping[str, dict[str, Any]]
    """Slug -> the small view of a paper used in every list (made on first use)."""
    topic_members: dict[str, list[str]]
    """Topic id -> slugs of papers in it or any sub-topic, newest first."""
    digests: dict[str, DigestRecord]
    digests_newest: list[DigestRecord]
    years: dict[str, list[str]]
    updated: dt.date | None
    common: dict[str, Any]
    authors: tuple[Author, ...] = ()
    """Named authors, sorted by surname; their papers newest first (see site_src/authors.py)."""
    author_urls: dict[str, str] = field(default_factory=dict)
    """Author name, as papers spell it (spacing collapsed) -> author page URL."""
    flat_summaries: Mapping[str, str] = field(default_factory=dict)
    """Slug -> the abstract as one line of plain text (snippets, descriptions, JSON-LD; made on first use)."""
    digest_order: dict[str, list[str]] = field(default_factory=dict)
    """Digest id -> slugs of its papers that exist, in digest order."""
    digest_position: dict[str, dict[str, int]] = field(default_factory=dict)
    """Digest id -> slug -> index in digest_order (prev/next without scanning the digest)."""
    digest_new: dict[str, frozenset[str]] = field(default_factory=dict)
    """Digest id -> slugs first seen in it."""
    last_seen: dict[str, dt.date] = field(default_factory=dict)
    """Slug -> date of the latest digest the paper appeared in (its page's 'updated' date)."""
    paper_keys: Mapping[str, str] = field(default_factory=dict)
    """Slug -> a hash of the whole paper, when the caller has one (a build cache's parse memo):
    paper_page_inputs then need not write the paper out."""
    shown: list[str] = field(default_factory=list)
    """Slugs of the papers that have cards (all, unless index_site was given `only`), newest first."""
    list_cards: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """What list pages show for a paper: its card, or with_cards' stand-in for it (keyed_lists)."""
    context: str = ""
    """Hash of what every page may read beyond its own papers: shared chrome and the topic table."""
    pagination: Callable[[str, int, int], dict[str, Any]] | None = None
    """(base URL, page, pages) -> the pager of a list numbered from its first item (_pagination)."""
    titles: dict[str, str] = field(default_factory=dict)
    """Slug -> title (paper_page_inputs reads 100k of them: a dict of strings, not the Paper objects)."""
    digest_shown: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """Digest id -> (label, ISO date): what a paper page shows of each digest it appeared in."""
    page_inputs: Mapping[str, str] = field(default_factory=dict)
    """Slug -> paper_page_inputs, when the caller made them already (papers_page_inputs)."""


def _topic_path(topic_id: str, topics: Mapping[str, TopicInfo]) -> list[TopicInfo]:
    """The topic and its ancestors, root first (cycle-safe)."""
    path: list[TopicInfo] = []
    current: str | None = topic_id
    while current is not None and current in topics and all(t.id != current for t in path):
        path.append(topics[current])
        current = topics[current].parent
    return list(reversed(path))


def _digest_label(record: DigestRecord) -> str:
    name = record.title or record.source_name or record.id
    return f"{name} · {display_date(record.date)}" if record.date else name


_SLUG, _TITLE = operator.attrgetter("slug"), operator.attrgetter("title")


def index_site(site: Site, config: SiteConfig, only: frozenset[str] | None = None) -> SiteIndex:
    """Compute the lookups every page kind needs (cards, topic members, years, dates).

    With `only`, cards, flat summaries and dates are made for those papers alone: enough
    to plan their own pages (plan_paper_pages), not any list.
    """
    papers = dict(zip(map(_SLUG, site.papers), site.papers))
    topics = {t.id: t for t in site.topics}
    for slug, topic_ids in site.paper_topics.items():
        if slug in papers:
            for topic_id in topic_ids:
                if topic_id not in topics:
                    raise PlanError(f"paper {slug!r} is in unknown topic {topic_id!r}")
    order = sorted(papers.values(), key=sort_key_newest)
    # Each topic lists its own and its sub-topics' papers, newest first: papers are taken
    # in that order, each once per topic (a topic's ancestors are worked out once).
    lineage = {t: tuple(a.id for a in _topic_path(t, topics)) for t in topics}
    topic_members: dict[str, list[str]] = {t: [] for t in topics}
    for paper in order:
        topic_ids = site.paper_topics.get(paper.slug)
        if not topic_ids:
            continue
        if len(topic_ids) == 1:
            for ancestor in lineage[topic_ids[0]]:
                topic_members[ancestor].append(paper.slug)
            continue
        reached = dict.fromkeys(a for t in topic_ids for a in lineage[t])
        for ancestor in reached:
            topic_members[ancestor].append(paper.slug)
    years: dict[str, list[str]] = defaultdict(list)
    for paper in order:
        years[year_key(paper)].append(paper.slug)
    digests = {d.id: d for d in site.digests}
    digest_order = {d.id: [slug for slug in d.papers if slug in papers] for d in site.digests}
    digests_newest = sorted(site.digests, key=lambda d: (d.date or dt.date.min, d.id), reverse=True)
    dates = [d.date for d in site.digests if d.date] or [p.first_seen for p in site.papers if p.first_seen]
    updated = max(dates) if dates else None

    shown = order if only is None else [p for p in order if p.slug in only]
    allowed = papers if only is None else {p.slug for p in shown}
    flat = _Lazy(allowed, lambda slug: _plain_text(papers[slug].summary))

    def card(slug: str) -> dict[str, Any]:
        paper = papers[slug]
        topic_ids = [t for t in site.paper_topics.get(slug, ()) if t in topics]
        return {
            "slug": slug,
            "url": _url_for("paper", slug),
            "title": paper.title,
            "authors": authors_line(paper),
            "date": display_date(paper.published_at, paper.date_precision),
            "date_iso": iso(paper.published_at),
            "comments": paper.comments,
            "upvotes": paper.upvotes,
            "has_code": bool(paper.github_repo),
            "withdrawn": paper.withdrawn,
            "snippet": shorten(flat[slug], SNIPPET_CHARS),
            "topics": [{"name": topics[t].name, "url": _url_for("topic", t)} for t in topic_ids],
        }

    cards = _Lazy(allowed, card)
    people = group_authors(order)
    # Links to pages this site does not have (no about.md, no named authors) are dropped.
    missing = {"about/": site.about is None, "authors/": not people, "overview/": not site.topics}
    nav = [{"label": label, "url": url} for label, url in config.nav if not missing.get(url)]
    # Shared chrome holds no corpus-wide value (date, count): a new digest must not
    # change the bytes of every page, only of the pages whose content it changes.
    common = {
        "nav": nav,
        "feed_url": _url_for("feed"),
        "search_url": _url_for("search"),
    }
    last_seen = {}
    digest_dates = {d.id: d.date for d in site.digests if d.date}
    for paper in shown:
        seen = [digest_dates[a.digest] for a in paper.digests if a.digest in digest_dates]
        date = max(seen) if seen else paper.first_seen
        if date:
            last_seen[paper.slug] = date
    # Shared chrome and the topic table reach nearly every page; a change to them re-keys all.
    context = _hash(((common["nav"], common["feed_url"], common["search_url"]),
                     [(t.id, t.name, t.description, t.parent, t.children, t.order) for t in site.topics]))
    return SiteIndex(site, config, papers, topics, cards, topic_members, digests, digests_newest,
                     dict(years), updated, common, people,
                     author_urls(people, lambda slug: _url_for("author", slug)), flat,
                     digest_order, {d: {slug: i for i, slug in enumerate(order)}
                                    for d, order in digest_order.items()},
                     {d.id: frozenset(d.new_papers) for d in site.digests}, last_seen,
                     shown=[p.slug for p in shown], list_cards=cards, context=context, pagination=_pagination,
                     digest_shown={d.id: (_digest_label(d), iso(d.date)) for d in site.digests},
                     titles=dict(zip(papers, map(_TITLE, papers.values()))))


class _Lazy(dict):
    """A dict that makes the value of an allowed key on first lookup (make(key)); others are KeyErrors.

    Cards and flat abstracts of 100k papers cost seconds; an incremental build needs only a few.
    Use it with [] only: `in`, get() and iteration see just the values made so far.
    """

    __slots__ = ("allowed", "make")

    def __init__(self, allowed: Mapping[str, Any] | frozenset[str] | set[str], make: Callable[[str], Any]):
        super().__init__()
        self.allowed, self.make = allowed, make

    def __missing__(self, key: str) -> Any:
        if key not in self.allowed:
            raise KeyError(key)
        value = self[key] = self.make(key)
        return value


def _hash(value: Any) -> str:
    """Hash of plain data (str, int, bool, None, tuples, lists, dicts): marshal format 2 is its
    fastest exact serialization; values marshal cannot write are written with repr()."""
    try:
        data = marshal.dumps(value, 2)
    except ValueError:
        data = b"repr:" + repr(value).encode("utf-8", "surrogatepass")
    return hashlib.sha1(data).hexdigest()


# --- page kinds ---------------------------------------------------------------------------

PageRow = tuple[str, dict[str, Any], str]
"""(url, view, source) yielded by a page-kind planner."""


def _updated(ix: SiteIndex, slugs: Iterable[str] | None) -> dict[str, str | None]:
    """When a page's content last changed: the latest digest date of the papers it shows.

    Pages that show no list of papers (home, indexes, search) take the latest digest date.
    """
    date = ix.updated if slugs is None else max(
        (ix.last_seen[s] for s in slugs if s in ix.last_seen), default=None)
    return {"label": display_date(date), "iso": iso(date)}


def _view(ix: SiteIndex, kind: str, url: str, title: str, *, crumbs: list[tuple[str, str | None]],
          description: str = "", feeds: list[dict[str, str]] | None = None,
          shows: Iterable[str] | None = None, **extra: Any) -> dict:
    """The keys every page view has, plus the kind's own.

    `shows` lists the slugs of the papers the page presents; they date the page.
    """
    if shows is None and "papers" in extra:
        shows = [card["slug"] for card in extra["papers"]]
    return {
        "kind": kind,
        "url": url,
        "title": title,
        "description": description or ix.config.description,
        "breadcrumbs": [{"label": "Home", "url": ""}] + [{"label": label, "url": link}
                                                         for label, link in crumbs],
        "feeds": [{"title": f"{ix.config.title}: latest papers", "url": _url_for("feed")}]
        + (feeds or []),
        "common": ix.common,
        "updated": _updated(ix, shows),
        **extra,
    }


PAGE_LINKS_AROUND = 2
"""Numbered links on each side of the current page in a numbered list's pager (digests, authors)."""
FRONT_ARCHIVE_LINKS = 3
"""Newest archive pages a list's front page links by their dates (and always the oldest)."""


def _pagination(base_url: str, page: int, pages: int) -> dict[str, Any]:
    """The pager of a list numbered from its first item (a digest, the author index): the
    first and last pages and a few around this one, None for each gap (O(1) links a page)."""
    around = range(max(page - PAGE_LINKS_AROUND, 1), min(page + PAGE_LINKS_AROUND, pages) + 1)
    shown = sorted({1, pages, *around})
    links: list[dict[str, Any] | None] = []
    for n in shown:
        if links and links[-1] is not None and n > links[-1]["n"] + 1:
            links.append(None)
        links.append({"n": n, "url": urls.paged(base_url, n)})
    return {
        "page": page,
        "pages": pages,
        "prev": urls.paged(base_url, page - 1) if page > 1 else None,
        "next": urls.paged(base_url, page + 1) if page < pages else None,
        "links": links,
    }


def date_span(newest: Paper, oldest: Paper) -> str:
    """The publication dates a run of papers spans, as short as reads well: 'Mar 3–12, 2021',
    'Mar 3 – Jun 12, 2021', 'Dec 28, 2020 – Jan 4, 2021'; '' when either end is undated."""
    first, first_precision = oldest.published_at, oldest.date_precision
    last, last_precision = newest.published_at, newest.date_precision
    if first is None or last is None:
        return ""
    exact = {None, "day", "year-inferred"}
    if first_precision not in exact or last_precision not in exact:
        start, end = display_date(first, first_precision), display_date(last, last_precision)
        return start if start == end else f"{start} – {end}"
    if first == last:
        return display_date(first)
    if first.year != last.year:
        return f"{display_date(first)} – {display_date(last)}"
    if first.month != last.month:
        return f"{MONTHS[first.month - 1]} {first.day} – {MONTHS[last.month - 1]} {last.day}, {last.year}"
    return f"{MONTHS[first.month - 1]} {first.day}–{last.day}, {last.year}"


def _archive_label(ix: SiteIndex, chunk: list[str], n: int) -> dict[str, Any]:
    """What names archive page n of a list (chunk: its slugs, newest first): its dates, and
    the positions of its papers counted from the oldest; both stay true as the list grows."""
    per_page = ix.config.per_page
    span = date_span(ix.papers[chunk[0]], ix.papers[chunk[-1]])
    positions = f"{(n - 1) * per_page + 1:,}–{n * per_page:,}"
    return {"n": n, "dates": span, "positions": positions, "label": span or f"Papers {positions}"}


def _front_links(count: int) -> list[int]:
    """The archive pages a front page links (of `count`): the newest few and the oldest, newest first."""
    return sorted({*range(count, max(count - FRONT_ARCHIVE_LINKS, 0), -1), *([1] if count else [])},
                  reverse=True)


def _front_reads(archives: list[list[str]]) -> tuple[int, list[str]]:
    """What a front page's pager reads of the archive: the page count, and the newest and
    oldest paper of each page it links (their dates name the page)."""
    ends = []
    for n in _front_links(len(archives)):
        ends += (archives[n - 1][0], archives[n - 1][-1])
    return len(archives), ends


def _front_pager(ix: SiteIndex, base: str, archives: list[list[str]]) -> dict[str, Any]:
    """The front page's way into a list's archive: the newest few archive pages and the oldest,
    by their dates. Only the front page depends on how many archive pages there are."""
    count = len(archives)
    shown = _front_links(count)
    links: list[dict[str, Any] | None] = []
    for n in shown:
        if links and links[-1] is not None and n < links[-1]["n"] - 1:
            links.append(None)
        links.append({**_archive_label(ix, archives[n - 1], n), "url": urls.archive_page(base, n)})
    return {"front": True, "archive_pages": count, "links": links,
            "older": urls.archive_page(base, count) if count else None}


def _archive_pager(base: str, n: int, newest: bool) -> dict[str, Any]:
    """The links of archive page n: one step newer (the front page after the newest archive
    page), one step older, and the front page. No page count: it must not change as the list grows."""
    return {"front": False, "page": n, "front_url": base,
            "newer": base if newest else urls.archive_page(base, n + 1), "newer_is_front": newest,
            "older": urls.archive_page(base, n - 1) if n > 1 else None}


def _topic_node(ix: SiteIndex, topic: TopicInfo) -> dict[str, Any]:
    return {
        "id": topic.id, "name": topic.name, "description": topic.description,
        "url": _url_for("topic", topic.id), "count": len(ix.topic_members.get(topic.id, ())),
        "children": [_topic_node(ix, ix.topics[c]) for c in topic.children if c in ix.topics],
    }


def topic_tree(ix: SiteIndex) -> list[dict[str, Any]]:
    """Root topics with nested children and paper counts (sub-topics included)."""
    return [_topic_node(ix, t) for t in ix.site.topics if t.parent is None or t.parent not in ix.topics]


HOME_RECENT = 10
"""Papers seen most recently listed on the home page."""


def _first_seen_last(papers: Collection[Paper], n: int) -> list[Paper]:
    """The n papers first seen most recently, newest first among those seen on one day: as
    sorting them all would give, with only the papers of the latest first-seen dates sorted."""
    if len(papers) > n:
        earliest = heapq.nlargest(n, (p.first_seen or dt.date.min for p in papers))[-1]
        papers = [p for p in papers if (p.first_seen or dt.date.min) >= earliest]
    return sorted(papers, key=lambda p: (-(p.first_seen or dt.date.min).toordinal(), *sort_key_newest(p)))[:n]


def plan_home(ix: SiteIndex) -> Iterable[PageRow]:
    """The home page: what the survey is, the latest digest, the topic map, the numbers."""
    latest = None
    if ix.digests_newest:
        record = ix.digests_newest[0]
        new = [ix.list_cards[s] for s in record.new_papers if s in ix.papers]
        latest = {
            "title": _digest_label(record), "url": _url_for("digest", record.id),
            "date": display_date(record.date), "count": len(record.papers),
            "new_count": len(new), "new_papers": new[:HOME_NEW_PAPERS],
            "seen_count": len(ix.digest_order[record.id]) - len(new),
        }
    recent = [ix.list_cards[p.slug] for p in _first_seen_last(ix.papers.values(), HOME_RECENT)]
    numbers = {"papers": len(ix.papers), "topics": len(ix.topics),
               "years": len([y for y in ix.years if y != UNDATED]), "last_update": display_date(ix.updated)}
    yield "", _view(ix, "home", "", ix.config.title, crumbs=[], latest=latest,
                    topic_map=topic_tree(ix), numbers=numbers, recent=recent,
                    author=ix.config.author), "home"


def _paper_view(ix: SiteIndex, paper: Paper) -> dict[str, Any]:
    config = ix.config
    url = _url_for("paper", paper.slug)
    absolute = config.absolute(url)
    topic_ids = [t for t in ix.site.paper_topics.get(paper.slug, ()) if t in ix.topics]
    appearances = []
    for appearance in paper.digests:
        record = ix.digests.get(appearance.digest)
        if record is None:
            continue
        appearances.append({
            "title": _digest_label(record), "url": _url_for("digest", record.id),
            "date": display_date(record.date), "position": appearance.position + 1,
            "comments": appearance.comments, "upvotes": appearance.upvotes,
            "new": paper.slug in ix.digest_new[record.id],
        })
    # prev/next follow the digest the paper was new in (else its first digest).
    known = [a.digest for a in paper.digests if a.digest in ix.digests]
    home_id = next((d for d in known if paper.slug in ix.digest_new[d]), known[0] if known else None)
    neighbours: dict[str, Any] = {"digest": None, "prev": None, "next": None}
    if home_id is not None and paper.slug in ix.digest_position[home_id]:
        order, i = ix.digest_order[home_id], ix.digest_position[home_id][paper.slug]
        neighbours["digest"] = {"title": _digest_label(ix.digests[home_id]),
                                "url": _url_for("digest", home_id)}
        if i > 0:
            neighbours["prev"] = {"title": ix.papers[order[i - 1]].title,
                                  "url": _url_for("paper", order[i - 1])}
        if i + 1 < len(order):
            neighbours["next"] = {"title": ix.papers[order[i + 1]].title,
                                  "url": _url_for("paper", order[i + 1])}
    links = []
    if paper.id:
        links += [{"label": "arXiv abstract", "url": f"https://arxiv.org/abs/{paper.id}"},
                  {"label": "PDF", "url": f"https://arxiv.org/pdf/{paper.id}"},
                  {"label": "Hugging Face", "url": f"https://huggingface.co/papers/{paper.id}"}]
    if paper.github_repo:
        stars = f" ({paper.github_stars:,} stars)" if paper.github_stars else ""
        links.append({"label": f"Code{stars}", "url": paper.github_repo})
    if paper.project_page:
        links.append({"label": "Project page", "url": paper.project_page})
    if paper.doi:
        links.append({"label": "DOI", "url": f"https://doi.org/{paper.doi}"})
    links = [link for link in links if link["url"].startswith(("https://", "http://"))]
    abstract = ix.flat_summaries[paper.slug]
    description = shorten(abstract, 200)
    jsonld: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "ScholarlyArticle",
        "headline": paper.title[:110], "name": paper.title, "url": absolute,
    }
    if paper.summary:
        jsonld["abstract"] = abstract
    if paper.authors:
        jsonld["author"] = [{"@type": "Person", "name": name} for name in paper.authors]
    elif paper.organization:
        jsonld["author"] = {"@type": "Organization", "name": paper.organization}
    if paper.published_at:
        jsonld["datePublished"] = (paper.published_at.isoformat() if paper.date_precision in (None, "day")
                                   else paper.published_at.strftime("%Y-%m") if paper.date_precision == "month"
                                   else str(paper.published_at.year))
    if paper.id:
        jsonld["identifier"] = f"arXiv:{paper.id}"
        jsonld["sameAs"] = f"https://arxiv.org/abs/{paper.id}"
    if topic_ids:
        jsonld["keywords"] = [ix.topics[t].name for t in topic_ids]
    meta = [("og:type", "article"), ("og:title", paper.title), ("og:url", absolute),
            ("og:site_name", config.title)]
    if description:
        meta.append(("og:description", description))
    citation: list[list[str]] = []
    if config.citation_meta:
        citation.append(["citation_title", paper.title])
        citation += [["citation_author", name] for name in paper.authors]
        if paper.published_at:
            citation.append(["citation_publication_date", paper.published_at.strftime("%Y/%m/%d")
                             if paper.date_precision in (None, "day") else str(paper.published_at.year)])
        if paper.id:
            citation.append(["citation_arxiv_id", paper.id])
            citation.append(["citation_pdf_url", f"https://arxiv.org/pdf/{paper.id}"])
    related = [{"title": ix.papers[slug].title, "url": _url_for("paper", slug),
                "terms": list(terms)}
               for slug, terms in ix.site.related.get(paper.slug, ()) if slug in ix.papers]
    last_author = len(paper.authors) - 1
    crumbs: list[tuple[str, str | None]] = []
    if topic_ids:
        crumbs = [(t.name, _url_for("topic", t.id)) for t in _topic_path(topic_ids[0], ix.topics)]
    else:
        crumbs = [("Years", _url_for("years")),
                  (year_key(paper).capitalize(), _url_for("year", year_key(paper)))]
    return _view(
        ix, "paper", url, paper.title, crumbs=crumbs + [(paper.title, None)],
        description=description, shows=[paper.slug],
        paper={
            **ix.cards[paper.slug],
            "authors_full": list(paper.authors),
            # ('last': the template's separator test; Jinja's loop.last costs a LoopContext per page)
            "author_links": [{"name": name, "url": ix.author_urls.get(" ".join(name.split())),
                              "last": n == last_author}
                             for n, name in enumerate(paper.authors)],
            "authors": authors_line(paper, limit=None),
            "n_authors": paper.n_authors,
            "organization": paper.organization,
            "summary": paper.summary,
            "notes": paper.notes,
            "ai_summary": paper.ai_summary,
            "arxiv_id": paper.id,
            "categories": list(paper.categories),
            "journal_ref": paper.journal_ref,
            "arxiv_comment": paper.arxiv_comment,
            "submitted": display_date(paper.submitted_at),
            "first_seen": display_date(paper.first_seen),
            "first_seen_iso": iso(paper.first_seen),
            "links": links,
            "appearances": appearances,
            "bibtex": bibtex_for(paper, url=absolute),
        },
        neighbours=neighbours, related=related, jsonld=jsonld,
        topic_reasons=[{"name": ix.topics[t].name, "url": _url_for("topic", t), "reasons": list(why)}
                       for t, why in ix.site.topic_reasons.get(paper.slug, ()) if t in ix.topics],
        meta=[list(item) for item in meta], citation=citation,
    )


def paper_page_inputs(ix: SiteIndex, paper: Paper) -> str:
    """A hash of everything _paper_view reads for this paper (with the site config, which
    build keys hold separately): equal inputs make an equal view.

    Kept beside _paper_view on purpose: a value the view starts reading must be added here
    (tests/test_plan.py checks equal inputs give equal views across many site changes).
    Site values go in raw (topic ids, related rows, reasons): with ix.context, which holds the
    topic table, they determine what the view makes of them.
    """
    slug = paper.slug
    titles = ix.titles
    appearances = []
    home_id = first_known = None
    for appearance in paper.digests:
        shown = ix.digest_shown.get(appearance.digest)
        if shown is not None:
            new = slug in ix.digest_new[appearance.digest]
            appearances.append((shown, new))
            if first_known is None:
                first_known = appearance.digest
            if new and home_id is None:
                home_id = appearance.digest
    home_id = home_id or first_known
    neighbours: tuple = ()
    if home_id is not None:
        i = ix.digest_position[home_id].get(slug)
        if i is not None:
            order = ix.digest_order[home_id]
            around = [(order[j], titles[order[j]]) for j in (i - 1, i + 1) if 0 <= j < len(order)]
            neighbours = (home_id, i > 0, around)
    related = ix.site.related.get(slug, ())
    seen = ix.last_seen.get(slug)
    # Author links need no entry: an author's URL depends on the name alone (authors.author_slug).
    return _hash((ix.context, ix.paper_keys.get(slug) or repr(paper), ix.site.paper_topics.get(slug, ()),
                  appearances, neighbours, related,
                  [titles.get(s) for s, _ in related],
                  ix.site.topic_reasons.get(slug, ()), iso(seen)))


def _digest_reads(ix: SiteIndex) -> dict[str, tuple]:
    """Digest id -> all a paper page reads of that digest: its label and date, its new papers, its order."""
    return {d: (shown, ix.digest_new[d], ix.digest_order[d]) for d, shown in ix.digest_shown.items()}


PAPERS_MEMO_VERSION = 2
"""Bump when the shape of papers_page_inputs' memo changes (a memo of another version is not used)."""


def _paper_entry_head(key: str, topic_ids: tuple[str, ...]) -> str:
    """The start of a paper's memo entry: what its inputs were made from that the memo checks
    paper by paper (its key and topic ids; neither holds a NUL)."""
    return key + "\x00" + "\x01".join(topic_ids) + "\x00"


class PageInputs(Mapping):
    """Slug -> paper_page_inputs, read from papers_page_inputs' memo entries (one string per
    paper, the inputs last): 100k papers need no second string each."""

    __slots__ = ("entries",)

    def __init__(self, entries: Mapping[str, str]) -> None:
        self.entries = entries

    def __getitem__(self, slug: str) -> str:
        entry = self.entries[slug]
        return entry[entry.rindex("\x00") + 1:]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)


def papers_page_inputs(ix: SiteIndex, memo: Mapping[str, Any] | None = None, *,
                       extras_key: str | None = None,
                       previous_extras: tuple[str, tuple[Mapping, Mapping]] | None = None
                       ) -> tuple[Mapping[str, str], dict[str, Any]]:
    """paper_page_inputs of every shown paper, and a memo that lets the next build skip most of them.

    The memo (plain data: {'version', 'context', 'extras', 'papers': {slug: key NUL topic ids
    NUL inputs}, 'digests': {id: hash of _digest_reads}}) records what each paper's inputs were
    made from, one string per paper (at 100k papers a tuple of three strings each cost ~25 MB
    more to hold). With it, inputs are made again only for papers whose own key or topics
    changed, that appear in a digest whose reads changed, that share a digest with a changed
    paper (neighbours' titles), whose related list names a changed paper (titles), or whose
    related list or topic reasons changed. Those two come from the caller: `extras_key` names
    (ix.site.topic_reasons, ix.site.related) (equal keys, equal values) and
    `previous_extras` is an earlier (key, (topic_reasons, related)): when its key is the
    memo's, papers are compared one by one. A memo of another version, whose context or
    extras cannot be vouched for, or made without paper keys, is not used: every paper's
    inputs are made.
    """
    keys = ix.paper_keys
    topics, related, reasons = ix.site.paper_topics, ix.site.related, ix.site.topic_reasons
    digests = _digest_reads(ix)
    # (hashed, not kept: 2,000 digests' reads held ~12 MB; sets are written sorted)
    digest_keys = {d: _hash((shown, sorted(new), order)) for d, (shown, new, order) in digests.items()}
    old: Mapping[str, str] = {}
    compare_extras = False
    if (isinstance(memo, Mapping) and keys and memo.get("version") == PAPERS_MEMO_VERSION
            and memo.get("context") == ix.context
            and isinstance(memo.get("papers"), dict) and isinstance(memo.get("digests"), dict)):
        if extras_key is not None and memo.get("extras") == extras_key:
            old = memo["papers"]
        elif (previous_extras is not None and memo.get("extras") is not None
              and previous_extras[0] == memo.get("extras")):
            old, compare_extras = memo["papers"], True
    dirty: set[str] = set()
    if old:
        # Papers whose own key changed, or that were added or removed; those whose topics
        # alone changed are dirty themselves but change nothing other pages read.
        changed: set[str] = set()
        join, no_topics = "\x01".join, ()
        for slug in ix.papers:
            entry, key = old.get(slug), keys.get(slug)
            if type(entry) is not str or key is None:
                changed.add(slug)
            elif not entry.startswith(key + "\x00" + join(topics.get(slug, no_topics)) + "\x00"):
                # (_paper_entry_head, inlined: 100k calls)
                (dirty if entry.startswith(key + "\x00") else changed).add(slug)
        changed.update(slug for slug in old if slug not in ix.papers)
        dirty.update(changed)
        old_digests = memo["digests"]
        changed_digests = {d for d in digest_keys.keys() | old_digests.keys()
                           if digest_keys.get(d) != old_digests.get(d)}
        if changed_digests:
            # (plain loops: a generator per paper cost ~0.3 s at 100k papers on every update)
            for slug, paper in ix.papers.items():
                for appearance in paper.digests:
                    if appearance.digest in changed_digests:
                        dirty.add(slug)
                        break
        if changed:
            for _, _, order in digests.values():  # neighbours show each other's titles
                if not changed.isdisjoint(order):
                    dirty.update(order)
            for slug, rows in related.items():  # related rows show the papers' titles
                for other, _ in rows:
                    if other in changed:
                        dirty.add(slug)
                        break
        if compare_extras:
            # (plain loops with identity first: most lists are the very objects of the last build)
            old_reasons, old_related = previous_extras[1]
            for slug in ix.shown:
                now, before = related.get(slug, ()), old_related.get(slug, ())
                if now is not before and now != before:
                    dirty.add(slug)
                    continue
                now, before = reasons.get(slug, ()), old_reasons.get(slug, ())
                if now is not before and now != before:
                    dirty.add(slug)
    entries: dict[str, str] = {}
    for slug in ix.shown:
        entry = old.get(slug)
        if entry is None or slug in dirty:
            entry = (_paper_entry_head(keys.get(slug) or "", topics.get(slug, ()))
                     + paper_page_inputs(ix, ix.papers[slug]))
        entries[slug] = entry  # (an unchanged entry stays the object loaded: see memolayers)
    return PageInputs(entries), {"version": PAPERS_MEMO_VERSION, "context": ix.context, "extras": extras_key,
                                 "papers": entries, "digests": digest_keys}


def plan_papers(ix: SiteIndex) -> Iterable[PageRow]:
    """One page per paper."""
    for slug in ix.shown:
        yield _url_for("paper", slug), _paper_view(ix, ix.papers[slug]), f"content/papers/{slug}.md"


def plan_topics(ix: SiteIndex) -> Iterable[PageRow]:
    """The topic index: the whole tree with descriptions and counts."""
    yield _url_for("topics"), _view(ix, "topics", _url_for("topics"), "Topics",
                                        crumbs=[("Topics", None)], tree=topic_tree(ix)), "topics"


LazyRow = tuple[str, str, tuple, list[str], Callable[[], dict[str, Any]]]
"""(url, source, what the page reads beyond ix.context, the config and its papers' cards and
dates, the slugs of the papers it reads, a function that makes its view) of a list page: a
build that kept the page's inputs from its last build (iter_pages' lists memo) compares the
first three and makes the view only when they changed. Whatever the view reads must be in
them (tests/test_plan.py checks that lists planned through a memo equal a fresh plan)."""


def _lazy(rows: Iterable[LazyRow]) -> Iterator[PageRow]:
    """A list kind's plan (url, view, source) from its lazy rows."""
    for url, source, _, _, make in rows:
        yield url, make(), source


def _subtree_counts(ix: SiteIndex, topic: TopicInfo) -> list:
    """What a topic's front page shows of its sub-topics beyond the topic table: their paper counts."""
    return [(c, len(ix.topic_members.get(c, ())), _subtree_counts(ix, ix.topics[c]))
            for c in topic.children if c in ix.topics]


def _topic_rows(ix: SiteIndex) -> Iterator[LazyRow]:
    for topic in ix.site.topics:
        base = _url_for("topic", topic.id)
        members = ix.topic_members.get(topic.id, [])
        path = _topic_path(topic.id, ix.topics)
        feed = {"title": f"{ix.config.title}: {topic.name}", "url": _url_for("topic_feed", topic.id)}
        parents = [("Topics", _url_for("topics"))] + [(t.name, _url_for("topic", t.id)) for t in path[:-1]]
        front, archives = split_from_oldest(members, ix.config.per_page)
        source = f"topic {topic.id}"

        def front_view(topic=topic, base=base, members=members, feed=feed, parents=parents, front=front,
                       archives=archives) -> dict[str, Any]:
            return _view(
                ix, "topic", base, topic.name, crumbs=parents + [(topic.name, None)],
                description=topic.description, feeds=[feed],
                topic={"id": topic.id, "name": topic.name, "description": topic.description,
                       "url": base, "feed_url": feed["url"], "count": len(members),
                       "exports": survey_pages.topic_exports(topic.id)},
                subtopics=[_topic_node(ix, ix.topics[c]) for c in topic.children if c in ix.topics],
                papers=[ix.list_cards[s] for s in front], archive=None,
                pagination=_front_pager(ix, base, archives))

        count, ends = _front_reads(archives)
        yield (base, source, ("topic", topic.id, len(members), len(front), count, _subtree_counts(ix, topic)),
               front + ends, front_view)
        for n in range(len(archives), 0, -1):
            # An archive page: nothing that changes as the topic grows (counts, sub-topics).
            def archive_view(topic=topic, base=base, feed=feed, parents=parents, chunk=archives[n - 1], n=n,
                             newest=n == len(archives)) -> dict[str, Any]:
                url = urls.archive_page(base, n)
                archive = _archive_label(ix, chunk, n)
                return _view(
                    ix, "topic", url, f"{topic.name}: {archive['label']}",
                    crumbs=parents + [(topic.name, base), (archive["label"], None)],
                    description=topic.description, feeds=[feed],
                    topic={"id": topic.id, "name": topic.name, "url": base},
                    papers=[ix.list_cards[s] for s in chunk], archive=archive,
                    pagination=_archive_pager(base, n, newest))

            yield (urls.archive_page(base, n), source, ("topic", topic.id, n, n == len(archives)),
                   archives[n - 1], archive_view)


def plan_topic(ix: SiteIndex) -> Iterable[PageRow]:
    """Each topic, papers newest first: a front page with the description, sub-topics and the
    newest papers, and archive pages of older papers that never change as the topic grows."""
    return _lazy(_topic_rows(ix))


def plan_years(ix: SiteIndex) -> Iterable[PageRow]:
    """The year index, newest first, undated last."""
    keys = sorted((y for y in ix.years if y != UNDATED), reverse=True) + (
        [UNDATED] if UNDATED in ix.years else [])
    years = [{"year": y.capitalize(), "url": _url_for("year", y), "count": len(ix.years[y])}
             for y in keys]
    yield _url_for("years"), _view(ix, "years", _url_for("years"), "Years",
                                       crumbs=[("Years", None)], years=years), "years"


def _year_rows(ix: SiteIndex) -> Iterator[LazyRow]:
    for year, slugs in sorted(ix.years.items()):
        base = _url_for("year", year)
        label = "Undated papers" if year == UNDATED else f"Papers from {year}"
        front, archives = split_from_oldest(slugs, ix.config.per_page)
        source = f"year {year}"

        def front_view(year=year, base=base, label=label, slugs=slugs, front=front, archives=archives
                       ) -> dict[str, Any]:
            return _view(
                ix, "year", base, label, crumbs=[("Years", _url_for("years")), (year.capitalize(), None)],
                year={"key": year, "label": label, "count": len(slugs), "url": base},
                papers=[ix.list_cards[s] for s in front], archive=None,
                pagination=_front_pager(ix, base, archives))

        count, ends = _front_reads(archives)
        yield base, source, ("year", year, len(slugs), len(front), count), front + ends, front_view
        for n in range(len(archives), 0, -1):
            def archive_view(year=year, base=base, label=label, chunk=archives[n - 1], n=n,
                             newest=n == len(archives)) -> dict[str, Any]:
                url = urls.archive_page(base, n)
                archive = _archive_label(ix, chunk, n)
                return _view(
                    ix, "year", url, f"{label}: {archive['label']}",
                    crumbs=[("Years", _url_for("years")), (year.capitalize(), base), (archive["label"], None)],
                    year={"key": year, "label": label, "url": base},
                    papers=[ix.list_cards[s] for s in chunk], archive=archive,
                    pagination=_archive_pager(base, n, newest))

            yield (urls.archive_page(base, n), source, ("year", year, n, n == len(archives)),
                   archives[n - 1], archive_view)


def plan_year(ix: SiteIndex) -> Iterable[PageRow]:
    """Each publication year, newest first: a front page and archive pages (as plan_topic)."""
    return _lazy(_year_rows(ix))


def plan_digests(ix: SiteIndex) -> Iterable[PageRow]:
    """The digest index, newest first."""
    digests = [{"title": _digest_label(d), "url": _url_for("digest", d.id),
                "date": display_date(d.date), "date_iso": iso(d.date), "count": len(d.papers),
                "new_count": len(d.new_papers)} for d in ix.digests_newest]
    yield _url_for("digests"), _view(ix, "digests", _url_for("digests"), "Digests",
                                         crumbs=[("Digests", None)], digests=digests), "digests"


def _digest_rows(ix: SiteIndex) -> Iterator[LazyRow]:
    per_page = ix.config.per_page
    for record in ix.site.digests:
        base = _url_for("digest", record.id)
        new = ix.digest_new[record.id]
        order = ix.digest_order[record.id]
        label = _digest_label(record)
        fresh = [s in new for s in order]
        summary = {"id": record.id, "title": label, "date": display_date(record.date),
                   "date_iso": iso(record.date), "source_name": record.source_name,
                   "format": record.format, "count": len(order),
                   "new_count": sum(fresh), "url": base}
        pages = max((len(order) + per_page - 1) // per_page, 1)
        source = f"content/digests/{record.id}.yaml"
        for n in range(1, pages + 1):
            start = (n - 1) * per_page

            def view(label=label, base=base, order=order, new=new, summary=summary, n=n, start=start,
                     pages=pages) -> dict[str, Any]:
                url = urls.paged(base, n)
                crumbs = [("Digests", _url_for("digests")), (label, base if n > 1 else None)]
                if n > 1:
                    crumbs.append((f"Page {n}", None))
                chunk = [{**ix.list_cards[s], "new": s in new, "position": start + i + 1}
                         for i, s in enumerate(order[start:start + per_page])]
                return _view(
                    ix, "digest", url, label if n == 1 else f"{label} (page {n})", crumbs=crumbs,
                    digest=summary, papers=chunk, pagination=ix.pagination(base, n, pages),
                )

            yield (urls.paged(base, n), source, ("digest", summary, n, pages, fresh[start:start + per_page]),
                   order[start:start + per_page], view)


def plan_digest(ix: SiteIndex) -> Iterable[PageRow]:
    """Each digest: its papers in digest order, marked new or seen before, paginated."""
    return _lazy(_digest_rows(ix))


def plan_search(ix: SiteIndex) -> Iterable[PageRow]:
    """The search page (the no-JavaScript fallback links to topics and years)."""
    url = _url_for("search")
    yield url, _view(ix, "search", url, "Search", crumbs=[("Search", None)],
                     tree=topic_tree(ix),
                     years=[{"year": y.capitalize(), "url": _url_for("year", y)}
                            for y in sorted(ix.years, reverse=True)]), "search"


def plan_about(ix: SiteIndex) -> Iterable[PageRow]:
    """content/about.md, when there is one."""
    if ix.site.about is not None:
        url = _url_for("about")
        yield url, _view(ix, "about", url, "About", crumbs=[("About", None)],
                         body=ix.site.about), "content/about.md"


def plan_404(ix: SiteIndex) -> Iterable[PageRow]:
    """The not-found page; its links start at the site root since it is served at any depth."""
    url = _url_for("404")
    yield url, {**_view(ix, "404", url, "Page not found", crumbs=[("Page not found", None)]),
                "rooted": True}, "404"


AUTHORS_PER_PAGE = 500
"""Names per page of the author index."""


def plan_authors(ix: SiteIndex) -> Iterable[PageRow]:
    """The author index: every named author by surname, grouped by initial, with paper counts."""
    if not ix.authors:
        return  # no named authors: no index (the nav has no Authors link either)
    base = _url_for("authors")
    pages = paginate(list(ix.authors), AUTHORS_PER_PAGE)
    for n, chunk in enumerate(pages, start=1):
        groups: list[dict[str, Any]] = []
        for author in chunk:
            initial = (sort_key(author.name)[0][:1] or "#").upper()
            initial = initial if initial.isalpha() and initial.isascii() else "#"
            if not groups or groups[-1]["initial"] != initial:
                anchor = f"initial-{initial.lower()}" if initial != "#" else "initial-other"
                groups.append({"initial": initial, "anchor": anchor, "authors": []})
            groups[-1]["authors"].append({
                "name": author.name, "url": _url_for("author", author.slug),
                "count": len(author.papers), "spellings": list(author.spellings)})
        url = urls.paged(base, n)
        crumbs = [("Authors", base if n > 1 else None)] + ([(f"Page {n}", None)] if n > 1 else [])
        yield url, _view(
            ix, "authors", url, "Authors" if n == 1 else f"Authors (page {n})", crumbs=crumbs,
            description=f"The {plural(len(ix.authors), 'named author')} of {ix.config.title}.",
            count=len(ix.authors), groups=groups, pagination=ix.pagination(base, n, len(pages)),
            unnamed=sum(1 for p in ix.papers.values() if not p.authors),
        ), "authors"


def _author_rows(ix: SiteIndex) -> Iterator[LazyRow]:
    for author in ix.authors:
        base = _url_for("author", author.slug)
        # group_authors saw only ix.papers, newest first
        front, archives = split_from_oldest(list(author.papers), ix.config.per_page)
        source = f"author {author.key}"

        def front_view(author=author, base=base, front=front, archives=archives) -> dict[str, Any]:
            return _view(
                ix, "author", base, author.name,
                crumbs=[("Authors", _url_for("authors")), (author.name, None)],
                description=f"{plural(len(author.papers), 'paper')} by {author.name} in "
                            f"{ix.config.title}.",
                author={"name": author.name, "url": base, "count": len(author.papers),
                        "spellings": list(author.spellings)},
                papers=[ix.list_cards[s] for s in front], archive=None,
                pagination=_front_pager(ix, base, archives))

        count, ends = _front_reads(archives)
        yield (base, source, ("author", author.slug, author.name, author.key, author.spellings,
                              len(author.papers), len(front), count), front + ends, front_view)
        for n in range(len(archives), 0, -1):
            # The spellings are left out too: a new paper may bring a new one.
            def archive_view(author=author, base=base, chunk=archives[n - 1], n=n,
                             newest=n == len(archives)) -> dict[str, Any]:
                url = urls.archive_page(base, n)
                archive = _archive_label(ix, chunk, n)
                return _view(
                    ix, "author", url, f"{author.name}: {archive['label']}",
                    crumbs=[("Authors", _url_for("authors")), (author.name, base), (archive["label"], None)],
                    description=f"Papers by {author.name} in {ix.config.title}: {archive['label']}.",
                    author={"name": author.name, "url": base},
                    papers=[ix.list_cards[s] for s in chunk], archive=archive,
                    pagination=_archive_pager(base, n, newest))

            yield (urls.archive_page(base, n), source, ("author", author.slug, author.name, author.key, n,
                                                         n == len(archives)), archives[n - 1], archive_view)


def plan_author(ix: SiteIndex) -> Iterable[PageRow]:
    """Each author: their papers in this survey, newest first: a front page and archive pages
    (as plan_topic)."""
    return _lazy(_author_rows(ix))


@dataclass(frozen=True, slots=True)
class PageKind:
    """A row of the page-kind table."""

    name: str
    template: str
    plan: Callable[[SiteIndex], Iterable[PageRow]]
    in_sitemap: bool = True


PAGE_KINDS: tuple[PageKind, ...] = (
    PageKind("home", "home.html", plan_home),
    PageKind("paper", "paper.html", plan_papers),
    PageKind("topics", "topics.html", plan_topics),
    PageKind("topic", "topic.html", plan_topic),
    PageKind("years", "years.html", plan_years),
    PageKind("year", "year.html", plan_year),
    PageKind("digests", "digests.html", plan_digests),
    PageKind("digest", "digest.html", plan_digest),
    PageKind("search", "search.html", plan_search),
    PageKind("about", "about.html", plan_about),
    PageKind("authors", "authors.html", plan_authors),
    PageKind("author", "author.html", plan_author),
    PageKind("overview", "overview.html", survey_pages.plan_overview),
    PageKind("unsorted", "unsorted.html", survey_pages.plan_unsorted, in_sitemap=False),
    PageKind("404", "404.html", plan_404, in_sitemap=False),
)
"""Every page kind: add a row (and a template) to add a kind of page."""


def iter_pages(site: Site, config: SiteConfig, kinds: tuple[PageKind, ...] = PAGE_KINDS, *,
               unchanged: Callable[[str, str, str], bool] | None = None,
               paper_keys: Mapping[str, str] | None = None,
               index: SiteIndex | None = None,
               card_keys: Mapping[str, str] | None = None,
               lists_memo: Mapping[str, Any] | None = None,
               lists_made: dict[str, Any] | None = None,
               kept: Mapping[str, str] | None = None) -> Iterator[Page | str]:
    """Yield every page of the site one at a time; raise PlanError when two claim one destination.

    Only destinations are remembered between pages, so a caller that hashes or renders each
    view as it comes never holds all views at once. Paper pages carry their `inputs`; with
    `unchanged(dest, template, inputs)` true, a page comes without a view (an empty dict): the
    caller's last build made it from the same inputs. `paper_keys` (slug -> hash of the whole
    paper) stand for the papers in those inputs. With `card_keys` (slug -> hash of the paper
    without its notes: all a card reads of it), list pages carry inputs too (list_page_inputs)
    and only those whose inputs changed get a view. `index` is index_site(site, config) when
    the caller made it already (to make views later with paper_view).

    With card_keys and a dict `lists_made`, the inputs of topic, year, author and digest
    pages are also recorded in lists_made, with what they were made from: given that record
    of the last build as `lists_memo`, a page whose papers and other reads are the same
    takes its inputs from it without its view being planned (_memo_list_rows). A record
    made for another context or config, or not by this code's LISTS_MEMO_VERSION, is not used.

    `kept` (slug -> paper_dests' path) names paper pages the caller keeps as its last build
    made them (it compared their inputs itself): each is yielded as its slug alone, in its
    place, with no Page made (PlannedPages turns such a list back into pages for producers).
    """
    ix = index if index is not None else index_site(site, config)
    ix.paper_keys = paper_keys or {}
    if card_keys is not None:
        keyed_lists(ix, card_keys)
    memo_pages: Mapping[str, tuple[str, str]] = {}
    made_pages: dict[str, tuple[str, str]] | None = None
    if card_keys is not None and lists_made is not None:
        context = _lists_context(ix)
        if (isinstance(lists_memo, Mapping) and lists_memo.get("context") == context
                and isinstance(lists_memo.get("pages"), dict)):
            memo_pages = lists_memo["pages"]
        made_pages = {}
        lists_made.clear()
        lists_made.update(context=context, pages=made_pages)
        tokens = _list_tokens(ix, card_keys)
    claimed: dict[str, str | None] = {}
    for kind in kinds:
        if kind.plan is plan_papers:
            rows = _paper_rows(ix, kind, unchanged, kept or {})
        elif made_pages is not None and kind.plan in LAZY_PLANNERS:
            rows = _memo_list_rows(ix, kind, LAZY_PLANNERS[kind.plan](ix), unchanged, tokens,
                                   memo_pages, made_pages)
        elif card_keys is not None:
            rows = _list_rows(ix, kind, unchanged)
        else:
            rows = ((url, view, source, "") for url, view, source in kind.plan(ix))
        for row in rows:
            if type(row) is str:  # a paper page the caller keeps: its place and its path only
                dest = kept[row]
                # (an ASCII lower-case path is its own case fold: no new string for 100k pages)
                key = dest if dest.isascii() and dest.islower() else dest.casefold()
                if key in claimed:
                    raise PlanError(f"two pages claim {dest!r}: {_claimant(claimed, key, kept)} "
                                    f"and content/papers/{row}.md")
                claimed[key] = None  # (a kept page: its source is found again by _claimant)
                yield row
                continue
            url, view, source, inputs = row
            page = _page(kind, url, view, source, inputs)
            key = page.dest.casefold()  # two names that differ in case collide on macOS/Windows
            if key in claimed:
                raise PlanError(f"two pages claim {page.dest!r}: {_claimant(claimed, key, kept)} and {source}")
            claimed[key] = source
            yield page


def _claimant(claimed: Mapping[str, str | None], key: str, kept: Mapping[str, str] | None) -> str:
    """What claimed a destination first (by its case fold), for an error message."""
    source = claimed[key]
    if source is None:  # a kept paper page
        source = next(f"content/papers/{slug}.md" for slug, dest in (kept or {}).items() if dest.casefold() == key)
    return source


def paper_dests(ix: SiteIndex) -> dict[str, str]:
    """Slug -> output path of the page of each shown paper, in plan order."""
    return urls.keyed_dests("paper", ix.shown)


def paper_view(ix: SiteIndex, slug: str) -> dict[str, Any]:
    """The view of a paper's page, as iter_pages makes it: for a caller that planned the page
    without its view (unchanged=...) and makes it where it renders the page."""
    return _paper_view(ix, ix.papers[slug])


def _paper_rows(ix: SiteIndex, kind: PageKind, unchanged: Callable[[str, str, str], bool] | None,
                kept: Mapping[str, str]) -> Iterator[str | tuple[str, dict[str, Any] | None, str, str]]:
    """plan_papers' rows with each page's inputs; the view is None when unchanged(dest, template,
    inputs) says the last build made this page from the same inputs (it need not be made again).
    A page the caller keeps (iter_pages' kept) is its slug alone."""
    for slug in ix.shown:
        if slug in kept:
            yield slug
            continue
        paper = ix.papers[slug]
        url = _url_for("paper", slug)
        inputs = ix.page_inputs.get(slug) or paper_page_inputs(ix, paper)
        view = (None if unchanged is not None and unchanged(urls.dest_for(url), kind.template, inputs)
                else _paper_view(ix, paper))
        yield url, view, f"content/papers/{slug}.md", inputs


# --- list pages keyed by their inputs ---------------------------------------------------------

CARD = "\x00card"
"""Key of the stand-in for a card in a keyed list view (see keyed_lists)."""


def keyed_lists(ix: SiteIndex, card_keys: Mapping[str, str]) -> None:
    """Make ix's list planners put stand-ins for cards in their views.

    A card is a function of its paper without notes (card_keys[slug], a hash), the paper's
    topic ids and the topic table (in ix.context): its stand-in is {'slug': slug, CARD:
    (hash, topic ids)}. Pagers are small and planned as they are (a few links a page).
    So a list view with stand-ins, plus ix.context, is all its page is made from:
    list_page_inputs hashes that, and with_cards turns it into the real view only for the
    pages that must be rendered again.
    """
    papers, paper_topics = ix.papers, ix.site.paper_topics  # (not ix: no cycle keeps ix alive)

    def stand_in(slug: str) -> dict[str, Any]:
        return {"slug": slug, CARD: (card_keys.get(slug) or repr(papers[slug]), paper_topics.get(slug, ()))}

    ix.list_cards = _Lazy(ix.papers, stand_in)


def list_page_inputs(ix: SiteIndex, view: dict[str, Any]) -> str:
    """A hash of a keyed list view (cards as stand-ins) and ix.context: equal inputs, equal pages."""
    return _hash((ix.context, view))


def with_cards(ix: SiteIndex, value: Any) -> Any:
    """A keyed list view (or part of one) with each stand-in replaced by what it stands for.

    The result equals what the planner makes with real cards and links: a stand-in sits where
    the card would, and keys a planner added after the card's ({**card, 'new': …}) follow it as
    they would.
    """
    if type(value) is dict:
        if CARD in value:
            card = ix.cards[value["slug"]]
            if len(value) == 2:
                return card
            return {**card, **{k: v for k, v in value.items() if k != "slug" and k != CARD}}
        return {k: with_cards(ix, v) for k, v in value.items()}
    if type(value) is list:
        return [with_cards(ix, v) for v in value]
    return value


def _list_rows(ix: SiteIndex, kind: PageKind, unchanged: Callable[[str, str, str], bool] | None
               ) -> Iterator[tuple[str, dict[str, Any] | None, str, str]]:
    """A list kind's rows with each page's inputs, the view made only when unchanged() says no."""
    for url, view, source in kind.plan(ix):
        inputs = list_page_inputs(ix, view)
        if unchanged is not None and unchanged(urls.dest_for(url), kind.template, inputs):
            yield url, None, source, inputs
        else:
            yield url, with_cards(ix, view), source, inputs


LISTS_MEMO_VERSION = 1
"""Bump when what a lazy row's reads mean changes (a lists memo of another version is not used)."""

LAZY_PLANNERS: dict[Callable, Callable[[SiteIndex], Iterator[LazyRow]]] = {
    plan_topic: _topic_rows, plan_year: _year_rows, plan_author: _author_rows, plan_digest: _digest_rows,
}
"""List planners whose pages can be keyed without their views (see LazyRow)."""


def _lists_context(ix: SiteIndex) -> str:
    """What every keyed list page may read besides its own row: shared chrome, topic table, config
    (by its fingerprint: one project named by a relative or an absolute root is one config)."""
    return _hash((LISTS_MEMO_VERSION, ix.context, repr(sorted(ix.config.fingerprint().items()))))


def _list_tokens(ix: SiteIndex, card_keys: Mapping[str, str]) -> dict[str, str]:
    """Slug -> all a list page reads of that paper, as one string: its card's key and topic ids
    (as keyed_lists' stand-in) and the date of the latest digest it appeared in."""
    slugs = ix.papers.keys()
    cards = [*map(card_keys.get, slugs)]
    if None in cards or "" in cards:  # (a paper without a key is written out)
        cards = [card or repr(ix.papers[slug]) for slug, card in zip(slugs, cards)]
    # (one f-string per paper cost ~0.2 s at 100k; these maps run in C, giving the same strings)
    topics = map("\x01".join, map(ix.site.paper_topics.get, slugs, repeat(())))
    seen = map(str, map(ix.last_seen.get, slugs))
    return dict(zip(slugs, map("\x00".join, zip(cards, topics, seen))))


def _memo_list_rows(ix: SiteIndex, kind: PageKind, rows: Iterable[LazyRow],
                    unchanged: Callable[[str, str, str], bool] | None, tokens: Mapping[str, str],
                    memo: Mapping[str, tuple[str, str]], made: dict[str, tuple[str, str]]
                    ) -> Iterator[tuple[str, dict[str, Any] | None, str, str]]:
    """_list_rows of a lazy planner through the lists memo: each page is keyed by its reads
    (hash of the row's reads and its papers' tokens); a page whose key is the memo's takes the
    memo's inputs, and its view is planned only when unchanged() says the page must be made."""
    for url, source, reads, slugs, make in rows:
        key = _hash((reads, list(map(tokens.__getitem__, slugs))))
        entry = memo.get(url)
        if entry is not None and entry[0] == key:
            inputs = entry[1]
            made[url] = entry  # (the object loaded: an unchanged entry costs nothing to save again)
            if unchanged is not None and unchanged(urls.dest_for(url), kind.template, inputs):
                yield url, None, source, inputs
                continue
            view = make()
        else:
            view = make()
            inputs = list_page_inputs(ix, view)
            made[url] = (key, inputs)
            if unchanged is not None and unchanged(urls.dest_for(url), kind.template, inputs):
                yield url, None, source, inputs
                continue
        yield url, with_cards(ix, view), source, inputs


def _page(kind: PageKind, url: str, view: dict[str, Any] | None, source: str, inputs: str = "") -> Page:
    if view is None:
        view = {}  # unchanged since the caller's last build: not made
    elif not kind.in_sitemap:
        view = {**view, "noindex": True}  # kept out of the sitemap, and out of search engines
    page = Page(kind.name, url, urls.dest_for(url), kind.template, view, source, kind.in_sitemap, inputs)
    if not urls.is_safe_dest(page.dest):
        raise PlanError(f"{source}: unsafe output path {page.dest!r}")
    return page


def plan_paper_pages(site: Site, config: SiteConfig, slugs: Iterable[str], *,
                     paper_keys: Mapping[str, str] | None = None) -> list[Page]:
    """The pages of some papers only, exactly as iter_pages makes them.

    For a rebuild after edits that show on those papers' own pages and nowhere else (their
    notes): the rest of the site is known to be unchanged, so it is not planned.
    """
    kind = next(k for k in PAGE_KINDS if k.name == "paper")
    slugs = list(slugs)
    ix = index_site(site, config, only=frozenset(slugs))
    ix.paper_keys = paper_keys or {}
    return [_page(kind, _url_for("paper", slug), _paper_view(ix, ix.papers[slug]),
                  f"content/papers/{slug}.md", paper_page_inputs(ix, ix.papers[slug])) for slug in slugs]


def plan_site(site: Site, config: SiteConfig, kinds: tuple[PageKind, ...] = PAGE_KINDS) -> list[Page]:
    """Return every page of the site (iter_pages as a list)."""
    return list(iter_pages(site, config, kinds))
