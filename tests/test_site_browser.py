"""The built site in real Chromium: hostile content stays text, and the site works as a reader uses it.

An XSS corpus goes into titles, abstracts, notes, authors, links and the site's
own title; the built pages are parsed and then loaded in Chromium with
listeners that fail on any dialog, console error or page error.
"""
from __future__ import annotations

import datetime as dt
import html.parser
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from checkers import assert_none
from conftest import listen_for_errors
from site_fixtures import (build_site, make_digest, make_project, sample_pages, type_query,
                           world_readable_dir)

DAY = dt.date(2025, 12, 12)

# Each payload calls alert(): if one ever runs, the dialog listener fails the test.
XSS_TITLE = "<script>alert('title')</script> Robust & \"quoted\" <img src=x onerror=alert('t')>"
XSS_SUMMARY = "\n\n".join([
    "We study <script>alert('summary')</script> robustness of attention.",
    "An image <img src=x onerror=alert('img')> and <svg onload=alert('svg')></svg> inline.",
    "A [link](javascript:alert('md-link')) and <a href=\"javascript:alert('a')\">anchor</a>"
    " and [vb](vbscript:msgbox(1)) and [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==).",
    "JSON breakout: </script><script>alert('json')</script> and \"}]}</script>",
    "Broken LaTeX $\\frac{1}{$ and $\\href{javascript:alert('tex')}{x}$ and $$\\begin{matrix}$$ end.",
    "MARKER-AFTER-LATEX still shown.",
])
XSS_NOTES = "\n\n".join([
    "Curator says <iframe src=\"javascript:alert('iframe')\"></iframe> hi.",
    "\"><script>alert('notes')</script><b onmouseover=alert('b')>bold</b>",
    "[x](  javascript:alert('spaced') ) and [y](JaVaScRiPt:alert('case'))",
    "`<script>alert('code')</script>` in code.",
])


def _papers():
    from site_src.model import Appearance, Paper

    appear = (Appearance(digest="2025-12-12-xss", position=0),)
    hostile = Paper(
        slug="xss-everywhere", title=XSS_TITLE, summary=XSS_SUMMARY, notes=XSS_NOTES,
        id="2512.00001", authors=("<script>alert('author')</script>", "Ada <b>Bold</b>"),
        n_authors=2, organization="<img src=x onerror=alert('org')>",
        published_at=DAY, date_precision="day", first_seen=DAY, digests=appear,
        github_repo="javascript:alert('repo')", project_page="javascript:alert('project')",
        ai_keywords=("<script>alert('kw')</script>",),
        arxiv_comment="</script><script>alert('comment')</script>",
    )
    plain = Paper(
        slug="a-plain-paper", title="A Plain Paper About Attention",
        summary="Attention with $x^2$ math.", id="2512.00002", authors=("Grace Hopper",),
        n_authors=1, published_at=DAY, date_precision="day", first_seen=DAY,
        digests=(Appearance(digest="2025-12-12-xss", position=1),),
    )
    return [hostile, plain]


XSS_SITE = {
    "title": "Atlas </script><script>alert('site')</script>",
    "description": "<img src=x onerror=alert('description')> survey",
    "author": "<b onmouseover=alert('curator')>Curator</b>",
    # At the root, so 404.html (whose links start at the base path) also loads from the test server.
    "base_url": "https://example.org/",
}


@pytest.fixture(scope="module")
def xss_site():
    """A tiny project full of payloads, built once for this module."""
    with world_readable_dir("atlas-xss-") as folder:
        papers = _papers()
        digest = make_digest("2025-12-12-xss", DAY, [p.slug for p in papers])
        make_project(folder / "project", papers, digests=[digest], site=XSS_SITE)
        yield build_site(folder / "project", folder / "site")


# --- parsed HTML ---------------------------------------------------------------

UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:text", "data:application")
DATA_SCRIPT_TYPES = ("application/ld+json", "application/json")


class _Elements(html.parser.HTMLParser):
    """Every start tag with its attributes, plus the text inside each <script>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script, self._text = attributes, []

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None


def unsafe_markup(text: str) -> list[str]:
    """Every live script, event handler or script-scheme URL in an HTML document."""
    parsed = _Elements()
    parsed.feed(text)
    found = []
    for tag, attributes in parsed.tags:
        for name, value in attributes.items():
            if name.startswith("on"):
                found.append(f"<{tag} {name}={value!r}>")
            squeezed = re.sub(r"[\s\x00-\x1f]+", "", value).lower()
            if name in ("href", "src", "action", "formaction", "xlink:href", "data") and \
                    squeezed.startswith(UNSAFE_SCHEMES):
                found.append(f"<{tag} {name}={value!r}>")
        if tag in ("iframe", "object", "embed", "frame", "base"):
            found.append(f"<{tag}>")
    for attributes, body in parsed.scripts:
        kind = attributes.get("type", "")
        if "src" in attributes:
            if urlsplit(attributes["src"]).scheme:
                found.append(f"<script src={attributes['src']!r}> from another origin")
            if body.strip():
                found.append("<script src=...> with a body")
        elif kind in DATA_SCRIPT_TYPES:
            try:
                json.loads(body)
            except ValueError as error:
                found.append(f"<script type={kind}> that is not JSON ({error}): {body[:120]!r}")
        else:
            found.append(f"inline <script>: {body[:120]!r}")
    return found


def test_unsafe_markup_finder_catches_each_kind_of_payload():
    page = ("<p onclick=x()>a</p><a href=' JaVa\tscript:alert(1)'>b</a><iframe></iframe>"
            "<script>alert(1)</script><script type='application/ld+json'>{\"a\": 1}</script>"
            "<script type='application/ld+json'>{\"a\": \"</script><script>alert(2)</script>")
    found = unsafe_markup(page)
    assert len(found) == 6, found
    assert unsafe_markup("<a href='x.html'>ok</a><script src='static/site.js'></script>") == []


def _html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_no_page_of_the_hostile_site_carries_a_live_payload(xss_site):
    problems = [f"{path.relative_to(xss_site)}: {item}"
                for path in _html_files(xss_site)
                for item in unsafe_markup(path.read_text(encoding="utf-8"))]
    assert_none("live payloads", problems)


class _FirstHeading(html.parser.HTMLParser):
    """The text of the first <h1>, entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.done = False
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "h1" and not self.done:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "h1" and self.depth:
            self.depth -= 1
            self.done = True

    def handle_data(self, data):
        if self.depth and not self.done:
            self.parts.append(data)


def first_heading(text: str) -> str:
    """The text of a page's first <h1>, whitespace collapsed."""
    parsed = _FirstHeading()
    parsed.feed(text)
    return " ".join("".join(parsed.parts).split())


def test_the_hostile_title_is_shown_as_text(xss_site):
    paper = (xss_site / "papers" / "xss-everywhere" / "index.html").read_text(encoding="utf-8")
    assert first_heading(paper) == " ".join(XSS_TITLE.split())


def test_json_in_pages_survives_the_hostile_text(xss_site):
    paper = (xss_site / "papers" / "xss-everywhere" / "index.html").read_text(encoding="utf-8")
    parsed = _Elements()
    parsed.feed(paper)
    data = [json.loads(body) for attrs, body in parsed.scripts
            if attrs.get("type") in DATA_SCRIPT_TYPES]
    assert data, "the paper page carries JSON-LD"
    assert XSS_TITLE in set(_strings(data)), "the title round-trips through JSON"


def _strings(value):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_feeds_stay_well_formed_and_carry_the_hostile_title_as_text(xss_site):
    import xml.etree.ElementTree as ET

    atom = "{http://www.w3.org/2005/Atom}"
    feeds = sorted(xss_site.rglob("*.xml"))
    titles = []
    for feed in feeds:
        root = ET.parse(feed).getroot()  # raises on anything the payloads broke
        titles += [entry.findtext(f"{atom}title") for entry in root.iter(f"{atom}entry")]
    assert any(f.name == "feed.xml" for f in feeds), "the site has an Atom feed"
    assert XSS_TITLE in titles


def test_text_after_broken_latex_is_still_rendered(xss_site):
    paper = (xss_site / "papers" / "xss-everywhere" / "index.html").read_text(encoding="utf-8")
    assert "MARKER-AFTER-LATEX still shown." in paper


# --- in Chromium -----------------------------------------------------------------

def _live_payloads_in_dom(page) -> list[str]:
    return page.evaluate("""() => {
        const found = [];
        for (const el of document.querySelectorAll('*')) {
            for (const attr of el.attributes) {
                if (attr.name.startsWith('on')) found.push(`<${el.localName} ${attr.name}>`);
                const v = attr.value.replace(/[\\s\\x00-\\x1f]+/g, '').toLowerCase();
                if (['href', 'src', 'action', 'formaction'].includes(attr.name)
                    && /^(javascript|vbscript):/.test(v)) found.push(`<${el.localName} ${attr.name}=${attr.value}>`);
            }
        }
        for (const s of document.scripts) {
            if (!s.src && !['application/ld+json', 'application/json'].includes(s.type))
                found.push('inline script: ' + s.textContent.slice(0, 80));
        }
        for (const el of document.querySelectorAll('iframe, object, embed')) found.push(el.localName);
        return found;
    }""")


@pytest.fixture(params=["csp-enforced", "csp-bypassed"])
def hostile_page(request, browser):
    """A page that fails on any dialog or console error; with the CSP on, and off so escaping stands alone."""
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  bypass_csp=request.param == "csp-bypassed")
    page = context.new_page()
    page.errors = listen_for_errors(page)  # type: ignore[attr-defined]
    yield page
    context.close()


@pytest.mark.browser
def test_hostile_pages_run_no_payload_in_chromium(xss_site, hostile_page):
    from conftest import serve_directory

    # Every page that shows the hostile paper, and one page of every other section (the hostile
    # site title is on all of them); the parsed-HTML test above covers every page.
    relative = [path.relative_to(xss_site).as_posix() for path in _html_files(xss_site)]
    pages = {p for p in relative if "xss-everywhere" in (xss_site / p).read_text(encoding="utf-8")}
    for path in relative:
        if not any(p.split("/")[0] == path.split("/")[0] for p in pages):
            pages.add(path)
    pages = sorted(pages)
    assert {"index.html", "papers/xss-everywhere/index.html"} <= set(pages), pages
    with serve_directory(xss_site) as url:
        for path in pages:
            hostile_page.goto(url + path, wait_until="load")
            # Hover and focus everything once: handlers like onmouseover only fire on interaction.
            hostile_page.evaluate("""() => { for (const el of document.querySelectorAll('main *')) {
                el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); } }""")
            hostile_page.wait_for_timeout(100)
            live = _live_payloads_in_dom(hostile_page)
            assert_none(f"live payloads in {path}", live)
            assert_none(f"browser errors on {path}", hostile_page.errors)
        hostile_page.goto(url + "papers/xss-everywhere/index.html")
        assert hostile_page.locator("h1").first.text_content().strip() == XSS_TITLE
        # The header's quick search on another page renders results too.
        hostile_page.goto(url)
        hostile_page.locator("header input[type=search]").press_sequentially("script", delay=10)
        hostile_page.wait_for_load_state("networkidle")
        assert_none("live payloads in the header's quick results", _live_payloads_in_dom(hostile_page))
        assert_none("browser errors in the header's quick search", hostile_page.errors)
        if (xss_site / "search" / "index.html").exists():
            hostile_page.goto(url + "search/index.html")
            type_query(hostile_page, "script alert")
            live = _live_payloads_in_dom(hostile_page)
            assert_none("live payloads in search results", live)
            assert_none("browser errors on search", hostile_page.errors)


# --- the shipped site, as a reader uses it ------------------------------------------

def _page_problems(page) -> list[str]:
    """Why the page in view is not a site page (a folder listing, an error page, no main)."""
    problems = []
    if page.title().startswith("Index of"):
        problems.append(f"{page.url} is a folder listing")
    if page.locator("main").count() != 1:
        problems.append(f"{page.url} has {page.locator('main').count()} <main> elements")
    elif not page.locator("main h1").count():
        problems.append(f"{page.url} has no <h1> in <main>")
    return problems


def _follow(page, selector: str) -> str:
    """Click the first link matching selector like a reader; return the href clicked."""
    link = page.locator(selector).first
    assert link.count(), f"{page.url}: no link matches {selector}"
    href = link.get_attribute("href")
    with page.expect_navigation():
        link.click()
    return href


@pytest.mark.browser
def test_the_site_opened_from_disk_navigates_between_pages(built_site, page):
    home = (built_site / "index.html").as_uri()
    requests, local = record_requests(page, "file://")
    page.goto(home)
    assert _page_problems(page) == []
    # Search needs HTTP, but typing in the header box from disk must not break anything.
    page.locator("header input[type=search]").press_sequentially("robust", delay=10)
    page.wait_for_timeout(300)
    assert_none("browser errors after typing in the header search box from disk", page.errors)
    nav = page.locator("header nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(nav) >= 3, f"the header has navigation links: {nav}"
    visited, problems = [], []
    for index in range(len(nav)):
        page.goto(home)
        href = _follow(page, f"header nav a >> nth={index}")
        visited.append(href)
        problems += _page_problems(page)
        assert page.url.startswith("file://") and page.url.endswith(".html"), \
            f"{href} opened {page.url}: from disk a link must name the file"
    # Home -> a paper -> one of its topics -> back home through the breadcrumbs.
    page.goto(home)
    _follow(page, "main a[href*='papers/']")
    problems += _page_problems(page)
    _follow(page, "main a[href*='topics/']")
    problems += _page_problems(page)
    _follow(page, "nav[aria-label=Breadcrumb] a")
    problems += _page_problems(page)
    assert page.url == home or page.url.endswith("/index.html")
    assert_none("pages that did not open from disk", problems)
    assert_none("requests that left the disk", sorted({u for u in requests if not local(u)}))


def _background(page) -> str:
    """The body's background colour once any colour transition has finished."""
    last = None
    for _ in range(40):
        now = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        if now == last:
            return now
        last = now
        page.wait_for_timeout(60)
    return last


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_theme_toggle_flips_the_colours_and_remembers_across_reload(site_url, browser, scheme):
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        errors = listen_for_errors(page)
        page.goto(site_url)
        before = _background(page)
        toggle = page.get_by_role("button", name=re.compile("theme", re.I))
        toggle.click()
        page.wait_for_timeout(60)
        after = _background(page)
        assert after != before, f"the toggle did not change the page background ({before})"
        page.reload()
        assert _background(page) == after, "the chosen theme was forgotten on reload"
        page.goto(site_url + "topics/index.html")
        assert _background(page) == after, "the chosen theme did not follow to another page"
        assert_none("browser errors", errors)
    finally:
        context.close()


@pytest.mark.browser
def test_the_copy_button_puts_the_bibtex_on_the_clipboard(built_site, site_url, browser):
    paper = sample_pages(built_site)["paper"]
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        errors = listen_for_errors(page)
        page.goto(site_url + paper)
        blocks = [text.strip() for text in page.locator("pre").all_text_contents()
                  if text.strip().startswith("@")]
        assert len(blocks) == 1, f"{paper} shows one BibTeX block: {blocks}"
        page.get_by_role("button", name=re.compile("copy", re.I)).first.click()
        copied = ""
        for _ in range(20):  # the clipboard write is asynchronous
            copied = page.evaluate("() => navigator.clipboard.readText()")
            if copied:
                break
            page.wait_for_timeout(50)
        assert copied.strip() == blocks[0]
        assert_none("browser errors", errors)
    finally:
        context.close()


OVERFLOW_JS = """() => {
    const width = document.documentElement.clientWidth;
    const clipped = el => {
        for (let p = el.parentElement; p; p = p.parentElement) {
            const o = getComputedStyle(p).overflowX;
            if (o !== 'visible' && p !== document.body && p !== document.documentElement) return true;
        }
        return false;
    };
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width && r.right > width + 1 && !clipped(el)) {
            wide.push(`${el.localName}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''} right=${Math.round(r.right)}`);
        }
    }
    return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 15)};
}"""


@pytest.mark.browser
def test_nothing_overflows_a_360px_phone(built_site, site_url, page):
    page.set_viewport_size({"width": 360, "height": 740})
    problems = []
    for kind, path in sample_pages(built_site).items():
        page.goto(site_url + path)
        if kind == "search":
            type_query(page, "learning")
        result = page.evaluate(OVERFLOW_JS)
        if result["scrollWidth"] > result["width"] or result["wide"]:
            problems.append(f"{path}: page is {result['scrollWidth']}px wide in a "
                            f"{result['width']}px viewport; too wide: {', '.join(result['wide'])}")
    assert_none("pages wider than a 360px phone", problems)


@pytest.mark.browser
def test_overflow_probe_names_an_element_wider_than_the_phone(tmp_path, page):
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang=en><title>x</title><main><h1>x</h1>"
        "<div class=wide style='width:500px'>wide</div>"
        "<div style='overflow-x:auto'><pre style='width:900px'>scrolls inside its box</pre></div>"
        "</main>", encoding="utf-8")
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto((tmp_path / "index.html").as_uri())
    result = page.evaluate(OVERFLOW_JS)
    assert result["scrollWidth"] > result["width"]
    assert [w.split(" ")[0] for w in result["wide"]] == ["div.wide"]


def record_requests(page, allowed_origin: str):
    """Record every request the page makes; stop any to another origin before it leaves."""
    requests: list[str] = []

    def local(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("data", "blob", "about") or (
            f"{parts.scheme}://{parts.netloc}" == allowed_origin)

    page.on("request", lambda request: requests.append(request.url))
    page.route(lambda url: not local(url), lambda route: route.abort())
    return requests, local


@pytest.mark.browser
def test_request_recorder_sees_and_stops_a_request_to_another_origin(browser, tmp_path):
    (tmp_path / "index.html").write_text(
        "<!doctype html><title>x</title><img src='http://192.0.2.1/pixel.png' alt=''>",
        encoding="utf-8")
    from conftest import serve_directory

    context = browser.new_context()
    try:
        page = context.new_page()
        with serve_directory(tmp_path) as url:
            requests, local = record_requests(page, url.rstrip("/"))
            page.goto(url)
            page.wait_for_timeout(200)
        assert [u for u in requests if not local(u)] == ["http://192.0.2.1/pixel.png"]
    finally:
        context.close()


@pytest.mark.browser
def test_no_request_leaves_the_local_server(built_site, site_url, page):
    requests, local = record_requests(page, site_url.rstrip("/"))
    for kind, path in sample_pages(built_site).items():
        page.goto(site_url + path, wait_until="networkidle")
        if kind == "search":
            type_query(page, "attention")
    page.get_by_role("button", name=re.compile("theme", re.I)).click()
    page.wait_for_timeout(200)
    outside = sorted({u for u in requests if not local(u)})
    assert len(requests) > len(sample_pages(built_site)), "the recorder saw the pages load"
    assert_none("requests to other origins", outside)


@pytest.mark.browser
def test_error_listeners_catch_an_alert_and_a_script_error(browser, tmp_path):
    (tmp_path / "index.html").write_text(
        "<!doctype html><title>x</title><script>alert('boom'); no_such_function();</script>",
        encoding="utf-8")
    context = browser.new_context()
    try:
        page = context.new_page()
        errors = listen_for_errors(page)
        page.goto((tmp_path / "index.html").as_uri())
        page.wait_for_timeout(100)
        assert [e.split(":")[0] for e in errors] == ["dialog (alert)", "pageerror"], errors
    finally:
        context.close()


@pytest.mark.browser
def test_the_404_page_works_for_a_missing_url_at_any_depth_under_the_base_path(built_site, page,
                                                                              tmp_path):
    from conftest import serve_directory

    base_path = urlsplit(site_base_url(built_site)).path  # e.g. /paper-atlas/
    served = tmp_path / "root"
    (served / base_path.strip("/")).parent.mkdir(parents=True, exist_ok=True)
    (served / base_path.strip("/")).symlink_to(built_site, target_is_directory=True)
    not_found = (built_site / "404.html").read_text(encoding="utf-8")
    with serve_directory(served) as url:
        origin = url.rstrip("/")
        missing = f"{origin}{base_path}no/such/page/"
        # What a static host does: answer any missing URL with the 404 page's bytes.
        page.route(missing, lambda route: route.fulfill(status=404, body=not_found,
                                                        content_type="text/html; charset=utf-8"))
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.url != missing else None)
        page.goto(missing)
        page.wait_for_load_state("networkidle")
        # Chromium logs the 404 status of the page itself as a console error: that one is expected.
        page.errors[:] = [e for e in page.errors if "status of 404" not in e]
        assert_none("resources the 404 page could not load", failed)
        assert page.evaluate("""() => [...document.querySelectorAll('link[rel=stylesheet]')]
            .every(link => link.sheet && link.sheet.cssRules.length > 0)"""), "the site CSS applies"
        _follow(page, "header nav a")
        assert page.url.startswith(origin + base_path)
        assert _page_problems(page) == []


def site_base_url(site: Path) -> str:
    """The base URL a built site was made for, read from its home page's canonical link."""
    found = re.search(r'<link rel="canonical" href="([^"]+)"',
                      (site / "index.html").read_text(encoding="utf-8"))
    assert found, "the home page has a canonical link"
    return found.group(1)


FOCUS_JS = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {tag: el.localName, href: el.getAttribute('href'), id: el.id, text: el.textContent.trim(),
            outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
            shadow: style.boxShadow !== 'none',
            box: [r.left, r.top, r.width, r.height], vw: innerWidth, vh: innerHeight};
}"""


@pytest.mark.browser
def test_the_first_tab_shows_a_skip_link_that_moves_focus_to_main(built_site, site_url, page):
    page.goto(site_url + sample_pages(built_site)["paper"])
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUS_JS)
    assert (focused["tag"], focused["href"]) == ("a", "#main"), focused
    left, top, width, height = focused["box"]
    assert width > 20 and height > 10 and 0 <= left < focused["vw"] and 0 <= top < focused["vh"], \
        f"the focused skip link is on screen: {focused}"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


@pytest.mark.browser
def test_every_focused_control_shows_a_focus_indicator(built_site, site_url, page):
    page.goto(site_url + sample_pages(built_site)["paper"])
    unmarked = []
    for _ in range(25):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_JS)
        if focused["tag"] == "body":
            break
        if not (focused["outline"] or focused["shadow"]):
            unmarked.append(f"<{focused['tag']}> {focused['href'] or ''} {focused['text'][:40]!r}")
    assert_none("focusable elements without a visible focus indicator", unmarked)


HEADER_ROWS_JS = """() => {
    const middle = selector => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return Math.round(box.top + box.height / 2);
    };
    return {brand: middle('.brand'), links: middle('.site-nav'), search: middle('.search-form')};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 1024])
def test_the_search_box_stays_on_the_row_of_the_links(built_site, site_url, page, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(site_url + sample_pages(built_site)["paper"])
    rows = page.evaluate(HEADER_ROWS_JS)
    assert abs(rows["links"] - rows["search"]) <= 4, f"the search box sits on a row of its own: {rows}"
    if width == 1280:
        assert abs(rows["brand"] - rows["search"]) <= 4, f"a desktop header takes one row: {rows}"
