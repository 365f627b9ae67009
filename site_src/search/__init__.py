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


def documents_from_site(site, *, directory_links: bool = False) -> tuple[list[SearchDocument], list[SearchTopic]]:
    """The search documents and topics of a site model (plan.Site)."""
    topics = [SearchTopic(id=t.id, name=t.name, parent=t.parent,
                          url=_link(urls.url_for("topic", t.id), directory_links)) for t in site.topics]
    docs = []
    for paper in site.papers:
        docs.append(SearchDocument(
            url=_link(urls.url_for("paper", paper.slug), directory_links), slug=paper.slug,
            title=paper.title, abstract=paper.summary, authors=tuple(paper.authors),
            arxiv_id=paper.id, topics=tuple(site.paper_topics.get(paper.slug, ())),
            date=paper.published_at, comments=paper.comments, has_code=bool(paper.github_repo)))
    return docs, topics


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
    docs, topics = documents_from_site(site, directory_links=getattr(config, "directory_links", False))
    keys = None
    if paper_keys is not None:
        keys = {}
        for doc in docs:
            paper_key = paper_keys.get(doc.slug)
            if paper_key is not None:  # a document is its paper's fields, its topics and its URL
                material = "\x1f".join((paper_key, doc.url, *doc.topics))
                keys[doc.slug] = hashlib.sha1(material.encode("utf-8", "surrogatepass")).digest()[:16]
    return update_index(docs, topics, memo, existing=existing, keys=keys)
