"""The search page in real Chromium: typing, filters, sorting, URL state, keyboard, safety.

Most tests run on the shipped content (the session's `site_url`); a small made-up
project, served under a sub-path, covers arXiv ids and a title full of markup.
"""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import ROOT, serve_directory
from site_fixtures import build_site, make_project, world_readable_dir
from site_src.model import Paper
from site_src.taxonomy import load_taxonomy

pytestmark = pytest.mark.browser

LABEL_NOISE = "an-accurate-detection-is-not-all-you-need-to-combat-label-noise-in-web-noisy"
CERTIFIED = "fast-certified-robust-training-with-short-warmup"
MARKUP_TITLE = '<script>alert("title")</script> <b>Bold</b> & <img src=x onerror=alert(1)> Robust Claims'


def open_search(page, base, query=""):
    """Open the search page (optionally with ?q=) and wait until the index is loaded."""
    page.goto(base + "search/index.html" + (f"?q={query}" if query else ""))
    page.wait_for_selector("#search-app.search-ready")
    if query:
        wait_for_results(page)


def wait_for_results(page):
    """Wait until the results shown match the box and filters (the app marks what it rendered)."""
    page.wait_for_function(
        "() => { const v = (id) => document.getElementById(id);"
        " const want = [v('search-q').value, v('search-topic').value, v('search-year').value,"
        " v('search-code').checked ? '1' : '', v('search-sort').value].join('|');"
        " return v('search-app').dataset.rendered === want; }")


def type_query(page, text):
    box = page.locator("#search-q")
    box.click()
    box.press_sequentially(text, delay=20)
    wait_for_results(page)


def result_slugs(page) -> list[str]:
    hrefs = page.locator("#search-results .card-title a").evaluate_all("links => links.map(a => a.href)")
    return [urlparse(h).path.rstrip("/").split("/")[-2 if h.endswith("index.html") else -1] for h in hrefs]


def status(page) -> str:
    return page.locator("#search-status").text_content()


def test_typing_label_noise_shows_that_paper_first_with_highlights(page, site_url):
    open_search(page, site_url)
    type_query(page, "label noise")
    assert result_slugs(page)[0] == LABEL_NOISE
    first = page.locator("#search-results > li").first
    assert [m.lower() for m in first.locator(".card-title mark").all_text_contents()] == ["label", "noise"]
    assert first.locator("time").get_attribute("datetime") == "2024-07-07"
    assert first.locator(".card-snippet").text_content().strip()
    assert re.fullmatch(r"\d+ papers? found\.", status(page))


def test_certified_finds_the_certified_training_paper(page, site_url):
    open_search(page, site_url)
    type_query(page, "certified")
    assert result_slugs(page)[0] == CERTIFIED


def test_a_typo_still_finds_adversarial_papers(page, site_url):
    open_search(page, site_url)
    type_query(page, "adversrial")
    slugs = result_slugs(page)
    assert len(slugs) >= 3
    for item in page.locator("#search-results > li").all():
        marked = " ".join(item.locator("mark").all_text_contents()).lower()
        assert "adversarial" in marked


def test_results_update_with_each_keystroke_using_prefixes(page, site_url):
    open_search(page, site_url)
    type_query(page, "conform")
    assert result_slugs(page)[0] == "provably-robust-conformal-prediction-with-improved-efficiency"


def test_topic_filter_keeps_only_papers_of_that_topic_and_its_subtopics(page, site_url):
    open_search(page, site_url)
    type_query(page, "robust")
    everything = result_total(page)
    option = page.locator("#search-topic option[value='adversarial-robustness']")
    expected = int(re.search(r"\((\d+)\)", option.text_content()).group(1))
    page.select_option("#search-topic", "adversarial-robustness")
    wait_for_results(page)
    assert 0 < expected < everything
    assert result_total(page) == expected
    taxonomy = load_taxonomy(ROOT / "content" / "taxonomy.yaml")
    allowed = {taxonomy.get("adversarial-robustness").name} | {
        t.name for t in taxonomy.descendants("adversarial-robustness")}
    assert len(allowed) > 1, "the test needs a topic with sub-topics"
    for item in page.locator("#search-results > li").all():
        topics = set(item.locator(".result-topics a").all_text_contents())
        assert topics & allowed, topics
    assert "topic=adversarial-robustness" in page.url


def result_total(page) -> int:
    match = re.match(r"(\d+) papers? found", status(page))
    return int(match.group(1)) if match else 0


def test_code_and_year_filters_match_their_counts(page, site_url):
    open_search(page, site_url)
    type_query(page, "robust")
    code_count = int(page.locator("#search-code-count").text_content().strip("()"))
    page.check("#search-code")
    wait_for_results(page)
    assert result_total(page) == code_count
    assert page.locator("#search-results > li").count() == min(code_count, 10)
    for item in page.locator("#search-results > li").all():
        assert item.locator(".badge-code").count() == 1
    page.uncheck("#search-code")
    page.select_option("#search-year", "2024")
    wait_for_results(page)
    years = {t[:4] for t in page.locator("#search-results time").evaluate_all("ts => ts.map(t => t.dateTime)")}
    assert years == {"2024"}


def test_sorting_by_newest_orders_results_by_date(page, site_url):
    open_search(page, site_url)
    type_query(page, "training")
    page.select_option("#search-sort", "newest")
    wait_for_results(page)
    dates = page.locator("#search-results time").evaluate_all("ts => ts.map(t => t.dateTime)")
    assert len(dates) >= 5 and dates == sorted(dates, reverse=True)
    page.select_option("#search-sort", "discussed")
    wait_for_results(page)
    first = page.locator("#search-results > li").first.locator(".card-meta").text_content()
    assert "comments" in first


def test_the_url_carries_the_search_and_survives_reload_and_back(page, site_url):
    open_search(page, site_url)
    type_query(page, "label noise")
    page.wait_for_function("() => location.search.includes('q=label+noise')")
    first = result_slugs(page)
    page.select_option("#search-sort", "newest")
    wait_for_results(page)
    assert parse_qs(urlparse(page.url).query) == {"q": ["label noise"], "sort": ["newest"]}
    page.reload()
    page.wait_for_selector("#search-app.search-ready")
    wait_for_results(page)
    assert page.locator("#search-q").input_value() == "label noise"
    assert page.locator("#search-sort").input_value() == "newest"
    page.go_back()
    page.wait_for_function("() => document.getElementById('search-sort').value === 'relevance'")
    wait_for_results(page)
    assert result_slugs(page) == first
    assert page.locator("#search-q").input_value() == "label noise"


def test_a_shared_link_opens_with_its_filters_applied(page, site_url):
    page.goto(site_url + "search/index.html?q=robust&topic=adversarial-robustness&code=1")
    page.wait_for_selector("#search-app.search-ready")
    wait_for_results(page)
    assert page.locator("#search-topic").input_value() == "adversarial-robustness"
    assert page.locator("#search-code").is_checked()
    assert result_total(page) >= 1


def test_arrow_keys_move_through_results(page, site_url):
    open_search(page, site_url)
    type_query(page, "robust")
    links = page.locator("#search-results .card-title a")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.href") == links.nth(0).evaluate("a => a.href")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.href") == links.nth(1).evaluate("a => a.href")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "search-q"


def test_results_are_announced_to_screen_readers(page, site_url):
    open_search(page, site_url)
    live = page.locator("#search-status")
    assert live.get_attribute("role") == "status" and live.get_attribute("aria-live") == "polite"
    type_query(page, "zzzzqqq")
    assert status(page) == "No papers match."


def test_the_header_box_on_another_page_opens_the_search(page, site_url):
    page.goto(site_url + "index.html")
    page.keyboard.press("/")
    page.keyboard.type("certified")
    page.keyboard.press("Enter")
    page.wait_for_selector("#search-app.search-ready")
    wait_for_results(page)
    assert result_slugs(page)[0] == CERTIFIED
    assert page.locator("#site-search").input_value() == "certified"


def test_the_header_box_on_any_page_shows_the_best_matches_as_you_type(page, site_url):
    page.goto(site_url + "topics/index.html")
    page.keyboard.press("/")
    page.keyboard.type("label noi", delay=20)
    page.wait_for_function("() => document.getElementById('site-search').dataset.rendered === 'label noi'")
    panel = page.locator("#quick-results")
    assert panel.is_visible()
    links = panel.locator(".quick-list a")
    assert urlparse(links.first.get_attribute("href")).path.endswith(f"/papers/{LABEL_NOISE}/index.html")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.href") == links.first.evaluate("a => a.href")
    page.keyboard.press("Escape")
    assert panel.is_hidden()
    page.keyboard.press("Enter")
    page.wait_for_selector("#search-app.search-ready")
    wait_for_results(page)
    assert result_slugs(page)[0] == LABEL_NOISE


def test_without_javascript_the_page_says_so_and_links_topics_and_years(browser, site_url):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site_url + "search/index.html")
        message = page.locator(".no-js-message")
        assert message.is_visible()
        hrefs = message.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert hrefs == ["../topics/index.html", "../years/index.html"]
        assert page.locator("#search-results").is_hidden()
    finally:
        context.close()


# ---- a made-up project served under a sub-path

@pytest.fixture(scope="module")
def subpath_site():
    """A three-paper site (a title full of markup, arXiv ids) served at /deep/atlas/."""
    papers = [
        Paper(slug="markup-title", title=MARKUP_TITLE, summary="Robust claims with <em>markup</em> in the abstract.",
              id="2401.00001", published_at=dt.date(2024, 1, 2), authors=("Eve Attacker",)),
        Paper(slug="listwise", title="Listwise Learning to Rank", summary="We revisit learning to rank.",
              id="2407.13168", published_at=dt.date(2024, 7, 18), authors=("Zoë Müller", "Tie-Yan Liu"),
              github_repo="https://github.com/example/listwise", comments=3),
        Paper(slug="certified-smoothing", title="Certified Robustness via Randomized Smoothing",
              summary="Randomized smoothing certifies robustness.", id="1902.02918",
              published_at=dt.date(2019, 2, 8)),
    ]
    with world_readable_dir("atlas-search-") as folder:
        project = make_project(folder / "project", papers)
        www = folder / "www"
        build_site(project, www / "deep" / "atlas", base_url="https://example.org/deep/atlas/")
        with serve_directory(www) as url:
            yield url + "deep/atlas/"


def test_an_arxiv_id_finds_its_paper_under_a_sub_path(page, subpath_site):
    open_search(page, subpath_site)
    type_query(page, "arXiv:2407.13168")
    assert result_slugs(page) == ["listwise"]
    href = page.locator("#search-results .card-title a").first.get_attribute("href")
    assert urlparse(href).path == "/deep/atlas/papers/listwise/index.html"
    page.goto(href)
    assert page.locator("h1").first.text_content().strip() == "Listwise Learning to Rank"


def test_author_names_are_found_with_accents_folded(page, subpath_site):
    open_search(page, subpath_site)
    type_query(page, "zoe muller")
    assert result_slugs(page) == ["listwise"]


def test_a_title_with_markup_renders_as_text(page, subpath_site):
    open_search(page, subpath_site)
    type_query(page, "robust claims")
    title = page.locator("#search-results .card-title a").first
    assert title.text_content() == MARKUP_TITLE
    assert page.locator("#search-results script, #search-results b, #search-results img, "
                        "#search-results em").count() == 0
    assert "<em>markup</em>" in page.locator("#search-results .card-snippet").first.text_content()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_search_page_with_results_has_no_serious_accessibility_problems(page, site_url, width):
    from checkers import blocking, report, run_axe

    page.set_viewport_size({"width": width, "height": 844})
    open_search(page, site_url)
    type_query(page, "adversarial training")
    page.select_option("#search-topic", "adversarial-robustness")
    wait_for_results(page)
    problems = blocking(run_axe(page))
    assert not problems, report("axe on the search page", problems)
