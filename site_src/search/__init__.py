"""Client-side search: the index builder (Python); its browser half is templates/static/search.js.

`produce_search_index(site, config, pages)` is the pipeline's output producer:
it turns the site model into SearchDocuments and returns the index files.
`update_search_index(site, config, pages, memo, existing)` is its incremental twin for the
build cache: the same files, reusing the previous build's work (see index.update_index).
"""
from __future__ import annotations

import hashlib
from collections.abc import Container, Mapping

from site_src import urls

from site_src.search.index import IndexMemo, SearchDocument, SearchTopic, build_index, update_index

__all__ = ["IndexMemo", "SearchDocument", "SearchTopic", "build_index", "documents_from_site",
           "produce_search_index", "update_search_index"]


def _link(url: str, directory_links: bool) -> str:
    """A page URL as the site links to it (folder links end in index.html so disk copies work)."""
    return url if directory_links or not url.endswith("/") else url + "index.html"


def _search_topics(site, directory_links: bool) -> list[SearchTopic]:
    return [SearchTopic(id=t.id, name=t.name, parent=t.parent,
                        url=_link(urls.url_for("topic", t.id), directory_links)) for t in site.topics]


def documents_from_site(site, *, directory_links: bool = False) -> tuple[list[SearchDocument], list[SearchTopic]]:
    """The search documents and topics of a site model (plan.Site)."""
    topics = _search_topics(site, directory_links)
    docs = [_document(paper, tuple(site.paper_topics.get(paper.slug, ())), directory_links) for paper in site.papers]
    return docs, topics


class _PaperDocument:
    """A paper as update_index sees it: the slug, date and comment count it reads of every
    document, and the whole SearchDocument made only when something else is read (for the
    few documents whose batch or metadata chunk is made again). Making 100k SearchDocuments
    and their URLs cost ~0.4 CPU-s per update at 100k papers."""

    __slots__ = ("slug", "date", "comments", "_paper", "_topics", "_directory_links", "_document")

    def __init__(self, paper, topics: tuple[str, ...], directory_links: bool) -> None:
        self.slug, self.date, self.comments = paper.slug, paper.published_at, paper.comments
        self._paper, self._topics, self._directory_links, self._document = paper, topics, directory_links, None

    def document(self) -> SearchDocument:
        """The SearchDocument documents_from_site makes of this paper."""
        if self._document is None:
            self._document = _document(self._paper, self._topics, self._directory_links)
        return self._document

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.document(), name)


def _document(paper, topics: tuple[str, ...], directory_links: bool) -> SearchDocument:
    return SearchDocument(
        url=_link(urls.url_for("paper", paper.slug), directory_links), slug=paper.slug,
        title=paper.title, abstract=paper.summary, authors=tuple(paper.authors),
        arxiv_id=paper.id, topics=topics, date=paper.published_at, comments=paper.comments,
        has_code=bool(paper.github_repo))


def produce_search_index(site, config, pages) -> dict[str, bytes]:
    """Pipeline producer: every search index file, keyed by destination."""
    docs, topics = documents_from_site(site, directory_links=getattr(config, "directory_links", False))
    return build_index(docs, topics)


def update_search_index(site, config, pages, memo: IndexMemo | None = None, *,
                        existing: Container[str] = frozenset(),
                        paper_keys: Mapping[str, str] | None = None,
                        ) -> tuple[dict[str, bytes | None], IndexMemo | None]:
    """Return (produce_search_index's files, the memo for the next build), reusing `memo`.

    A content-hashed shard listed in `existing` (the files the previous build wrote)
    whose bytes are unchanged maps to None: keep the file that is there. paper_keys
    (slug -> a hash of every field of the paper but its notes) spare hashing each
    document's text to tell which changed.
    """
    directory_links = getattr(config, "directory_links", False)
    if paper_keys is None:
        docs, topics = documents_from_site(site, directory_links=directory_links)
        return update_index(docs, topics, memo, existing=existing)
    topics = _search_topics(site, directory_links)
    paper_topics = site.paper_topics
    link_style = "\x1fdirectory" if directory_links else "\x1findex.html"
    docs, keys = [], {}
    for paper in site.papers:
        slug = paper.slug
        doc_topics = tuple(paper_topics.get(slug, ()))
        docs.append(_PaperDocument(paper, doc_topics, directory_links))
        paper_key = paper_keys.get(slug)
        if paper_key is not None:
            # A document is its paper's fields, its topics and its URL (made from the slug
            # and the link style).
            material = "\x1f".join((paper_key, slug, *doc_topics)) + link_style
            keys[slug] = hashlib.sha1(material.encode("utf-8", "surrogatepass")).digest()[:16]
    return update_index(docs, topics, memo, existing=existing, keys=keys)
