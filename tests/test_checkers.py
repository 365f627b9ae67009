"""The real checkers on the built site: Nu HTML checker, LinkChecker, axe-core.

The first tests feed each checker a small hand-made broken site, so a checker
that silently stopped working (wrong path, wrong output format, no files found)
turns red instead of reporting a clean site.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from checkers import assert_none, blocking, check_links, group_html_errors, report, run_axe, run_linkchecker, run_vnu
from site_fixtures import PAGE_KINDS, sample_pages, type_query

GOOD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Good page</title></head>
<body><main><h1 id="top">Good page</h1>
<p><a href="index.html">Home</a> <a href="#top">Top</a></p>
</main></body></html>
"""

BROKEN_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Broken</title></head>
<body><main><h1>Broken</h1>
<p>unclosed <span>stray</div>
<a href="missing.html">a missing page</a>
<a href="good.html#nowhere">a missing anchor</a>
<a href="good.html#top">a good anchor</a>
<a href="sub/">a folder</a>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button></button>
</main></body></html>
"""


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory) -> Path:
    """Two small sites side by side: broken/ with one known fault of each kind, clean/ with none."""
    folder = tmp_path_factory.mktemp("hand-made")
    broken, clean = folder / "broken", folder / "clean"
    (broken / "sub").mkdir(parents=True)
    clean.mkdir()
    (broken / "index.html").write_text(BROKEN_INDEX, encoding="utf-8")
    (broken / "good.html").write_text(GOOD_PAGE, encoding="utf-8")
    (broken / "sub" / "index.html").write_text(GOOD_PAGE.replace("index.html", "../index.html"),
                                              encoding="utf-8")
    (clean / "index.html").write_text(GOOD_PAGE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def broken_site(hand_made) -> Path:
    return hand_made / "broken"


@pytest.fixture(scope="module")
def clean_site(hand_made) -> Path:
    return hand_made / "clean"


@pytest.fixture(scope="module")
def hand_made_html_errors(hand_made):
    """The Nu checker run once over both hand-made sites (a JVM start costs seconds)."""
    return run_vnu(hand_made)


# --- each checker can fail ---------------------------------------------------

@pytest.mark.checkers
def test_nu_checker_reports_the_errors_of_a_broken_page(hand_made_html_errors):
    errors = [e for e in hand_made_html_errors if e.file.startswith("broken/")]
    messages = [(e.file, e.message) for e in errors]
    assert ("broken/index.html", "Stray end tag “div”.") in messages, report("HTML errors", errors)
    assert any(f == "broken/index.html" and "alt" in m for f, m in messages), \
        report("HTML errors", errors)
    assert {e.file for e in errors} == {"broken/index.html"}, report("HTML errors", errors)
    assert all(e.line for e in errors), "every error names its line"


@pytest.mark.checkers
def test_nu_checker_finds_nothing_in_a_valid_page(hand_made_html_errors):
    errors = [e for e in hand_made_html_errors if e.file.startswith("clean/")]
    assert errors == [], report("HTML errors", errors)


@pytest.mark.checkers
def test_linkchecker_reports_a_missing_page_a_missing_anchor_and_a_folder_link(broken_site):
    broken = run_linkchecker(broken_site)
    found = {(b.page, b.href) for b in broken}
    assert found == {("index.html", "missing.html"), ("index.html", "good.html#nowhere"),
                     ("index.html", "sub/")}, report("broken links", broken)
    assert all(b.line for b in broken), "every broken link names its line"


@pytest.mark.checkers
def test_linkchecker_reports_the_pages_it_reached(broken_site):
    reached = check_links(broken_site, allow_folders=True).visited
    assert {"index.html", "good.html", "sub/index.html"} <= reached


@pytest.mark.checkers
def test_linkchecker_passes_a_site_whose_links_all_resolve(clean_site):
    broken = run_linkchecker(clean_site)
    assert broken == [], report("broken links", broken)


@pytest.fixture
def bare_page(browser):
    """A page without the error listeners: the broken pages here are broken on purpose."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


@pytest.mark.browser
def test_axe_reports_an_unlabelled_image_and_button_as_critical(broken_site, bare_page):
    bare_page.goto((broken_site / "index.html").as_uri())
    violations = blocking(run_axe(bare_page))
    rules = {v.rule: v.impact for v in violations}
    assert rules.get("image-alt") == "critical", report("axe violations", violations)
    assert rules.get("button-name") == "critical", report("axe violations", violations)
    assert "img" in str(violations), "the report names the offending element"


@pytest.mark.browser
def test_axe_finds_nothing_serious_on_a_clean_page(clean_site, bare_page):
    bare_page.goto((clean_site / "index.html").as_uri())
    violations = blocking(run_axe(bare_page))
    assert violations == [], report("axe violations", violations)


@pytest.mark.browser
def test_axe_runs_under_a_strict_content_security_policy(tmp_path, bare_page):
    page_html = GOOD_PAGE.replace(
        "<title>", "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'\">"
        "<title>").replace("</main>", "<img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\"></main>")
    (tmp_path / "index.html").write_text(page_html, encoding="utf-8")
    bare_page.goto((tmp_path / "index.html").as_uri())
    assert {v.rule for v in run_axe(bare_page)} >= {"image-alt"}


# --- the real build ------------------------------------------------------------

@pytest.mark.checkers
def test_the_built_site_has_no_html_errors(built_site):
    errors = run_vnu(built_site)
    assert_none(f"Nu HTML checker: {len(errors)} errors; distinct messages", errors,
                group_html_errors(errors))


@pytest.fixture(scope="module")
def built_links(built_site):
    """One LinkChecker crawl of the shipped site, from its home page."""
    return check_links(built_site)


@pytest.mark.checkers
def test_every_link_and_anchor_in_the_built_site_resolves(built_links):
    assert_none("broken links", list(built_links.broken))


@pytest.mark.checkers
def test_every_page_but_404_is_reachable_from_home(built_site, built_links):
    pages = {path.relative_to(built_site).as_posix() for path in built_site.rglob("*.html")}
    pages.discard("404.html")  # served by the host for missing URLs, never linked
    assert {"papers", "topics", "years", "digests"} <= {p.split("/")[0] for p in pages}
    unreached = sorted(pages - built_links.visited)
    assert_none("pages no link leads to", unreached)


VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800},
             "desktop-dark": {"width": 1280, "height": 800}}
"""Phone and desktop widths; dark mode once (contrast does not depend on the width)."""


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_no_serious_accessibility_violations(built_site, site_url, page, kind, viewport):
    pages = sample_pages(built_site)
    assert kind in pages, f"the build has no {kind} page"
    page.set_viewport_size(VIEWPORTS[viewport])
    page.emulate_media(color_scheme="dark" if viewport.endswith("-dark") else "light")
    page.goto(site_url + pages[kind], wait_until="load")
    if kind == "search":
        # Results are rendered by script: check them, not the empty page.
        before = page.locator("main").inner_text()
        type_query(page, "attention")
        assert page.locator("main").inner_text() != before, "typing a query rendered results"
    violations = blocking(run_axe(page))
    assert_none(f"serious or critical axe violations on {pages[kind]} ({viewport})", violations)
