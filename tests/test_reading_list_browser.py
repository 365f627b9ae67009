"""Reading-list state in a real browser: marks and notes survive reloads, export/import round-trips.

The pages here are small hand-made ones with the site's hooks (ol.paper-list > li.card[data-slug],
.reading-state[data-slug]) and the site's Content-Security-Policy, served over HTTP, so the
script is tested on exactly the markup contract it relies on.
"""
from __future__ import annotations

import json
import shutil

import pytest
from playwright.sync_api import expect

from conftest import ROOT, serve_directory

pytestmark = pytest.mark.browser

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'")
HEAD = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{{title}}</title><link rel="icon" href="data:,"><script src="reading-list.js" defer></script></head><body><main>"""
EVIL = "<img src=x onerror=alert(1)>"

LIST = HEAD.format(title="List") + """<h1>Papers</h1><ol class="paper-list" aria-label="Papers">
<li class="card" data-slug="label-noise"><h3 class="card-title"><a href="paper.html">Label noise</a></h3></li>
<li class="card" data-slug="sparse-training"><h3 class="card-title"><a href="#">Sparse training</a></h3></li>
<li class="card" data-slug="certified"><h3 class="card-title"><a href="#">Certified robustness</a></h3></li>
</ol></main></body></html>"""
PAPER = HEAD.format(title="Paper") + """<h1>Label noise</h1>
<section class="reading-state" data-slug="label-noise" hidden></section></main></body></html>"""


@pytest.fixture
def site(tmp_path):
    shutil.copy(ROOT / "templates" / "static" / "reading-list.js", tmp_path / "reading-list.js")
    (tmp_path / "index.html").write_text(LIST, encoding="utf-8")
    (tmp_path / "paper.html").write_text(PAPER, encoding="utf-8")
    with serve_directory(tmp_path) as url:
        yield url


def card(page, slug):
    return page.locator(f'li.card[data-slug="{slug}"]')


def mark(page, slug, name):
    return card(page, slug).get_by_role("button", name=name)


def test_marks_survive_a_reload(page, site):
    page.goto(site + "index.html")
    mark(page, "label-noise", "Read").click()
    mark(page, "sparse-training", "Starred").click()
    assert mark(page, "label-noise", "Read").get_attribute("aria-pressed") == "true"
    page.reload()
    assert mark(page, "label-noise", "Read").get_attribute("aria-pressed") == "true"
    assert mark(page, "sparse-training", "Starred").get_attribute("aria-pressed") == "true"
    assert mark(page, "certified", "Read").get_attribute("aria-pressed") == "false"
    # Pressing again takes the mark off, and that sticks too.
    mark(page, "label-noise", "Read").click()
    page.reload()
    assert mark(page, "label-noise", "Read").get_attribute("aria-pressed") == "false"


def test_hide_read_switch_hides_read_papers_and_is_remembered(page, site):
    page.goto(site + "index.html")
    mark(page, "label-noise", "Read").click()
    page.get_by_label("Hide read").check()
    assert card(page, "label-noise").is_hidden()
    assert card(page, "sparse-training").is_visible()
    page.reload()
    assert page.get_by_label("Hide read").is_checked()
    assert card(page, "label-noise").is_hidden()
    page.get_by_label("Hide read").uncheck()
    assert card(page, "label-noise").is_visible()


def test_hidden_mark_hides_a_paper_until_show_hidden(page, site):
    page.goto(site + "index.html")
    mark(page, "certified", "Hidden").click()
    assert card(page, "certified").is_hidden()
    page.get_by_label("Show hidden").check()
    assert card(page, "certified").is_visible()


def test_private_note_is_kept_as_text_and_shared_with_lists(page, site):
    page.goto(site + "paper.html")
    note = page.get_by_label("Private note")
    note.fill(f"check the appendix {EVIL}")
    note.blur()
    page.get_by_role("button", name="Starred").click()
    page.reload()
    assert page.get_by_label("Private note").input_value() == f"check the appendix {EVIL}"
    assert page.locator("img").count() == 0  # the note was never parsed as HTML
    page.goto(site + "index.html")
    assert mark(page, "label-noise", "Starred").get_attribute("aria-pressed") == "true"


def test_export_then_import_into_a_fresh_browser_restores_everything(page, site, browser, tmp_path):
    page.goto(site + "paper.html")
    page.get_by_label("Private note").fill("read section 4")
    page.get_by_label("Private note").blur()
    page.goto(site + "index.html")
    mark(page, "sparse-training", "Read").click()
    mark(page, "certified", "Starred").click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export reading list").click()
    path = tmp_path / "reading-list.json"
    download_info.value.save_as(path)
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert exported["format"] == "paper-atlas-reading-list"
    assert exported["papers"]["label-noise"]["note"] == "read section 4"
    assert exported["papers"]["sparse-training"]["read"] is True
    assert exported["papers"]["certified"]["starred"] is True

    fresh_context = browser.new_context()
    fresh = fresh_context.new_page()
    errors = []
    fresh.on("pageerror", lambda exc: errors.append(str(exc)))
    fresh.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        fresh.goto(site + "index.html")
        assert mark(fresh, "sparse-training", "Read").get_attribute("aria-pressed") == "false"
        fresh.locator("#reading-import-file").set_input_files(str(path))
        # The file is read asynchronously; expect() polls without evaluating strings (CSP).
        expect(mark(fresh, "sparse-training", "Read")).to_have_attribute("aria-pressed", "true")
        assert mark(fresh, "certified", "Starred").get_attribute("aria-pressed") == "true"
        fresh.reload()
        assert mark(fresh, "certified", "Starred").get_attribute("aria-pressed") == "true"
        fresh.goto(site + "paper.html")
        assert fresh.get_by_label("Private note").input_value() == "read section 4"
    finally:
        fresh_context.close()
    assert errors == []


def test_import_refuses_a_file_that_is_not_an_export_and_drops_bad_entries(page, site, tmp_path):
    page.goto(site + "index.html")
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"papers": {"label-noise": {"read": True}}}), encoding="utf-8")
    page.locator("#reading-import-file").set_input_files(str(bogus))
    expect(page.locator(".reading-status")).to_contain_text("nothing was imported")
    assert mark(page, "label-noise", "Read").get_attribute("aria-pressed") == "false"
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"format": "paper-atlas-reading-list", "version": 1, "papers": {
        "__proto__": {"read": True}, "../etc": {"read": True}, "certified": {"read": "yes", "starred": True},
        "label-noise": {"note": EVIL}}}), encoding="utf-8")
    page.locator("#reading-import-file").set_input_files(str(mixed))
    expect(page.locator(".reading-status")).to_have_text("Imported 2 papers.")
    assert mark(page, "certified", "Read").get_attribute("aria-pressed") == "false"
    assert mark(page, "certified", "Starred").get_attribute("aria-pressed") == "true"
    assert page.locator("img").count() == 0


def test_corrupt_storage_starts_an_empty_list_instead_of_failing(page, site):
    page.goto(site + "index.html")
    page.evaluate("localStorage.setItem('paper-atlas:reading-list', '{not json')")
    page.reload()
    assert mark(page, "label-noise", "Read").get_attribute("aria-pressed") == "false"
    mark(page, "label-noise", "Read").click()
    assert json.loads(page.evaluate("localStorage.getItem('paper-atlas:reading-list')"))[
        "papers"]["label-noise"]["read"] is True


def test_built_site_pages_carry_the_reading_list_and_stay_accessible(page, site_url):
    from checkers import blocking, report, run_axe

    page.goto(site_url + "topics/label-noise/index.html")
    cards = page.locator("ol.paper-list > li.card")
    assert cards.count() >= 1
    first = cards.first
    first.get_by_role("button", name="Starred").click()
    slug = first.get_attribute("data-slug")
    assert blocking(run_axe(page)) == [], report("axe on a topic page", blocking(run_axe(page)))
    page.goto(site_url + f"papers/{slug}/index.html")
    assert page.get_by_role("button", name="Starred").get_attribute("aria-pressed") == "true"
    assert page.get_by_label("Private note").is_visible()
    violations = blocking(run_axe(page))
    assert violations == [], report("axe on a paper page", violations)
    page.goto(site_url + "overview/index.html")
    violations = blocking(run_axe(page))
    assert violations == [], report("axe on the overview", violations)
