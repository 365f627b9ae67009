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


def test_a_long_urlset_made_in_pieces_has_the_bytes_element_tree_writes():
    locs = [f"https://a.example/papers/p{i}&<{i}>/" for i in range(sitemap._PIECE * 2 + 3)]
    assert sitemap._urlset(locs) == _urlset_with_element_tree(locs)


@pytest.mark.parametrize("count", [0, 1, 4, 5, 6, 12, 13])
def test_sitemaps_read_from_a_one_pass_iterator_split_where_a_list_splits(count):
    from types import SimpleNamespace

    config = SimpleNamespace(absolute=lambda url: f"https://a.example/{url}")
    locs = [f"https://a.example/p{i}/" for i in range(count)]
    outputs = sitemap.render_sitemaps(iter(locs), config, max_urls=4)
    parts = [locs[start:start + 4] for start in range(0, count, 4)]
    if count <= 4:
        assert outputs == {"sitemap.xml": sitemap._urlset(locs)}
        return
    assert outputs.keys() == {"sitemap.xml"} | {f"sitemap-{n}.xml" for n in range(1, len(parts) + 1)}
    for n, part in enumerate(parts, start=1):
        assert outputs[f"sitemap-{n}.xml"] == sitemap._urlset(part)
    index = ET.fromstring(outputs["sitemap.xml"])
    assert [loc.text for loc in index.iter(f"{{{sitemap.SITEMAP_NS}}}loc")] == \
        [f"https://a.example/sitemap-{n}.xml" for n in range(1, len(parts) + 1)]


def test_kept_paper_pages_are_in_the_sitemap_where_the_planned_pages_put_them():
    """produce_sitemap reads a PlannedPages' kept paper pages as their paths: the same sitemap
    as from the pages it yields, and as from the pages planned whole."""
    from site_src.plan import PlannedPages, iter_pages, paper_dests
    from tests.test_plan import CONFIG, index_site, make_site, plan_site

    site = make_site(6)
    plain = plan_site(site, CONFIG)
    dests = paper_dests(index_site(site, CONFIG))
    kept = {slug: dests[slug] for slug in ("p001", "p002", "p005")}
    planned = PlannedPages(list(iter_pages(site, CONFIG, kept=kept)), kept, "paper.html")
    made = sitemap.produce_sitemap(site, CONFIG, planned)
    assert made == sitemap.produce_sitemap(site, CONFIG, list(planned))
    assert made == sitemap.produce_sitemap(site, CONFIG, plain)
    locs = [loc.text for loc in ET.fromstring(made["sitemap.xml"]).iter(f"{{{sitemap.SITEMAP_NS}}}loc")]
    assert locs == [CONFIG.absolute(page.url) for page in plain if page.in_sitemap]
    assert CONFIG.absolute("papers/p002/") in locs
