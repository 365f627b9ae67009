"""sitemap.xml (sitemaps.org protocol) and robots.txt.

One <url> per page that belongs in a sitemap; over 50,000 URLs the sitemap
becomes an index of numbered sitemaps, as the protocol requires.
"""
from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from site_src.config import SiteConfig
from site_src.plan import Page, Site, sitemap_urls
from site_src.xmltext import xml_text

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000


_HEAD = f"<?xml version='1.0' encoding='utf-8'?>\n<urlset xmlns=\"{SITEMAP_NS}\">\n"


_END = object()
_PIECE = 4096
"""URLs made into text (and encoded) together: a whole sitemap's text at once was ~40 MB
of short-lived strings at 120k pages."""


def _urlset(locs: list[str]) -> bytes:
    """One <urlset>, written out directly: a sitemap of 100k pages in ElementTree cost ~1 s.

    The bytes are those ET.indent(space=" ") + ET.tostring(encoding="utf-8") would give
    (tests/test_sitemap.py compares the two).
    """
    if not locs:
        return _HEAD[:-2].encode() + b" />\n"
    parts = [_HEAD.encode()]
    for start in range(0, len(locs), _PIECE):
        parts.append("".join([f" <url>\n  <loc>{xml_text(loc)}</loc>\n </url>\n"
                              for loc in locs[start:start + _PIECE]]).encode("utf-8", "xmlcharrefreplace"))
    parts.append(b"</urlset>\n")
    return b"".join(parts)


def render_sitemaps(locs: Iterable[str], config: SiteConfig, *, max_urls: int = MAX_URLS) -> dict[str, bytes]:
    """Return sitemap.xml (and sitemap-N.xml parts when there are more than max_urls).

    locs is read one part at a time (a part's URLs, then its bytes, are all it holds)."""
    locs = iter(locs)
    part = list(itertools.islice(locs, max_urls))
    following = next(locs, _END)
    if following is _END:
        return {"sitemap.xml": _urlset(part)}
    outputs: dict[str, bytes] = {}
    ET.register_namespace("", SITEMAP_NS)
    index = ET.Element(f"{{{SITEMAP_NS}}}sitemapindex")
    n = 0
    while part:
        n += 1
        name = f"sitemap-{n}.xml"
        outputs[name] = _urlset(part)
        ET.SubElement(ET.SubElement(index, f"{{{SITEMAP_NS}}}sitemap"),
                      f"{{{SITEMAP_NS}}}loc").text = config.absolute(name)
        part = [] if following is _END else [following, *itertools.islice(locs, max_urls - 1)]
        following = next(locs, _END)
    ET.indent(index, space=" ")
    outputs["sitemap.xml"] = ET.tostring(index, encoding="utf-8", xml_declaration=True) + b"\n"
    return outputs


def render_robots(config: SiteConfig) -> bytes:
    """robots.txt: everything may be crawled; here is the sitemap."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {config.absolute('sitemap.xml')}\n".encode()


def produce_sitemap(site: Site, config: SiteConfig, pages: list[Page]) -> dict[str, bytes]:
    """Output producer: sitemap.xml (every page meant for it, in plan order) and robots.txt."""
    absolute = config.absolute
    locs = (absolute(url) for url in sitemap_urls(pages))
    return {**render_sitemaps(locs, config), "robots.txt": render_robots(config)}

