"""sitemap._urlset writes the same bytes ElementTree would (it builds the text directly for speed)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from site_src import sitemap


def _urlset_with_element_tree(locs: list[str]) -> bytes:
    ET.register_namespace("", sitemap.SITEMAP_NS)
    root = ET.Element(f"{{{sitemap.SITEMAP_NS}}}urlset")
    for loc in locs:
        ET.SubElement(ET.SubElement(root, f"{{{sitemap.SITEMAP_NS}}}url"),
                      f"{{{sitemap.SITEMAP_NS}}}loc").text = loc
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


@pytest.mark.parametrize("locs", [
    [],
    ["https://a.example/"],
    ["https://a.example/papers/x/", "https://a.example/q?a=1&b=<2>", "https://a.example/é/'\"/"],
    ["https://a.example/\ud800/", "https://a.example/&amp;/"],
])
def test_a_urlset_has_the_bytes_element_tree_writes(locs):
    assert sitemap._urlset(locs) == _urlset_with_element_tree(locs)


def test_locs_are_escaped_so_the_sitemap_parses_back_to_them():
    locs = ["https://a.example/a&b<c>/", "https://a.example/plain/"]
    root = ET.fromstring(sitemap._urlset(locs))
    assert [loc.text for loc in root.iter(f"{{{sitemap.SITEMAP_NS}}}loc")] == locs
