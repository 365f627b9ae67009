"""Live preview: injection on the way out, change detection, and the real `serve` command."""
from __future__ import annotations

import html.parser
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from site_src import serve

ROOT = Path(__file__).resolve().parent.parent

PAGE = (b'<!doctype html><html><head><meta charset="utf-8">'
        b'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        b'script-src \'self\'; style-src \'self\'; img-src \'self\'">'
        b'<title>x</title></head><body class="a"><main>Hello</main></body></html>')


class Elements(html.parser.HTMLParser):
    """Collect (tag, attrs) of every start tag and the text of the document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: bytes) -> Elements:
    parser = Elements()
    parser.feed(page.decode("utf-8"))
    return parser


def csp_of(doc: Elements) -> dict[str, list[str]]:
    for tag, attrs in doc.tags:
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "content-security-policy":
            return {d.split()[0]: d.split()[1:] for d in attrs["content"].split(";") if d.strip()}
    raise AssertionError("no CSP meta")


def test_the_reload_client_is_added_as_a_script_file_and_allowed_by_the_policy():
    doc = parse(serve.inject(PAGE, port=8123, host="127.0.0.1", error=None))
    scripts = [a["src"] for t, a in doc.tags if t == "script"]
    assert scripts == ["/livereload.js?port=8123"]
    policy = csp_of(doc)
    assert "ws://127.0.0.1:8123" in policy["connect-src"]
    assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'none'"]
    assert not any(t == "div" and a.get("id") == "atlas-build-error" for t, a in doc.tags)


def test_a_failed_build_shows_an_escaped_overlay_on_top_of_the_page():
    error = "TemplateSyntaxError: <script>alert(1)</script> in paper.html:3"
    page = serve.inject(PAGE, port=8000, host="127.0.0.1", error=error)
    doc = parse(page)
    boxes = [a for t, a in doc.tags if t == "div" and a.get("id") == "atlas-build-error"]
    assert len(boxes) == 1 and boxes[0]["role"] == "alert"
    assert "Hello" in doc.text  # the last good page is still there
    assert error in "".join(doc.text)
    assert [t for t, _ in doc.tags].count("script") == 1  # only the reload client


def test_policy_without_connect_src_gets_one_that_keeps_self():
    policy = serve.allow_live_reload("default-src 'self'", "ws://h:1")
    assert policy == "default-src 'self'; connect-src 'self' ws://h:1"


def test_hidden_files_and_editor_droppings_under_a_watched_folder_start_no_build(tmp_path):
    roots = [str(tmp_path / "content"), str(tmp_path / "templates")]
    inputs = ["content/papers/a.md", "templates/paper.html", "content/taxonomy.yaml"]
    ignored = ["content/.ingest/journal.json", "content/papers/.a.md.swp", "content/papers/a.md~",
               "templates/base.html.tmp", "content/.git/index"]
    assert [serve.is_ignored(str(tmp_path / p), roots) for p in inputs] == [False] * len(inputs)
    assert [serve.is_ignored(str(tmp_path / p), roots) for p in ignored] == [True] * len(ignored)
    # A hidden folder above the watched one (a checkout under ~/.work) does not hide its files.
    hidden_home = tmp_path / ".work" / "content"
    assert not serve.is_ignored(str(hidden_home / "papers" / "a.md"), [str(hidden_home)])


def test_loopback_detection():
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("::1")
    assert not serve.is_loopback("0.0.0.0") and not serve.is_loopback("")


# ------------------------------------------------------------------ in-process server

def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_server_serves_injected_pages_and_refuses_paths_outside_the_site(tmp_path):
    site = tmp_path / "_site"
    (site / "papers" / "x").mkdir(parents=True)
    (site / "papers" / "x" / "index.html").write_bytes(PAGE)
    (site / "data.json").write_text('{"a": 1}')
    (tmp_path / "secret.txt").write_text("secret")
    state = serve.ServeState(out_dir=site, host="127.0.0.1")
    from tornado import ioloop, netutil
    from tornado.httpserver import HTTPServer

    sockets = netutil.bind_sockets(0, address="127.0.0.1")
    state.port = sockets[0].getsockname()[1]
    started = threading.Event()
    holder = {}

    def run():
        import asyncio

        asyncio.set_event_loop(asyncio.new_event_loop())
        loop = ioloop.IOLoop.current()
        server = HTTPServer(serve.make_app(state))
        server.add_sockets(sockets)
        holder["loop"] = loop
        started.set()
        loop.start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(5)
    base = f"http://127.0.0.1:{state.port}/"
    try:
        status, body = fetch(base + "papers/x/")
        assert status == 200 and b"/livereload.js?port=" in body
        assert not (site / "papers" / "x" / "index.html").read_bytes().count(b"livereload")
        status, body = fetch(base + "data.json")
        assert json.loads(body) == {"a": 1}
        assert fetch(base + "../secret.txt")[0] in (400, 403, 404)
        assert fetch(base + "%2e%2e/secret.txt")[0] in (400, 403, 404)
        assert fetch(base + "nope/")[0] == 404
        state.error = "boom"
        status, body = fetch(base + "papers/x/")
        assert status == 200 and b'id="atlas-build-error"' in body and b"Hello" in body
    finally:
        holder["loop"].add_callback(holder["loop"].stop)
        thread.join(5)


# ------------------------------------------------------------------ the real command

def _load_bench_corpus():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "bench" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_corpus"] = module
    spec.loader.exec_module(module)
    return module


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on port, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture()
def served_project(tmp_path):
    """A small synthetic project served by `build.py serve --port 0`; yields (project, base URL, port)."""
    project = tmp_path / "project"
    _load_bench_corpus().write_corpus(project, 24, project=ROOT)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "--root", str(project), "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    lines: list[str] = []

    def reader():
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=reader, daemon=True).start()
    try:
        url = wait_for(lambda: next((m.group(1) for line in lines
                                     if (m := re.search(r"on (http://\S+/)", line))), None),
                       120, "serve to start")
        port = int(url.rsplit(":", 1)[1].strip("/"))
        yield project, url, port, lines
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def paper_text(url: str) -> str:
    status, body = fetch(url)
    assert status == 200, (status, url)
    doc = parse(body)
    return " ".join("".join(doc.text).split())


def test_serve_binds_loopback_and_shows_an_edited_note_after_a_rebuild(served_project):
    project, url, port, lines = served_project
    assert url.startswith("http://127.0.0.1:")
    assert listening_addresses(port) == {"0100007F"}, "serve must listen on 127.0.0.1 only"
    paper = sorted((project / "content" / "papers").glob("*.md"))[2]
    page = f"{url}papers/{paper.stem}/"
    assert "Freshly edited note" not in paper_text(page)
    with paper.open("a", encoding="utf-8") as handle:
        handle.write("\nFreshly edited note about the baseline.\n")
    wait_for(lambda: "Freshly edited note about the baseline." in paper_text(page), 30,
             "the edited note to be served")
    assert b"livereload" not in (project / "_site" / "papers" / paper.stem / "index.html").read_bytes()


def test_a_broken_template_shows_the_error_over_the_last_good_pages(served_project):
    project, url, port, lines = served_project
    paper = sorted((project / "content" / "papers").glob("*.md"))[1]
    page = f"{url}papers/{paper.stem}/"
    before = paper_text(page)
    template = project / "templates" / "paper.html"
    template.write_text(template.read_text(encoding="utf-8") + "{% if %}\n", encoding="utf-8")

    def overlay():
        status, body = fetch(page)
        doc = parse(body)
        boxes = [a for t, a in doc.tags if t == "div" and a.get("id") == "atlas-build-error"]
        return (status, doc) if boxes else None

    status, doc = wait_for(overlay, 30, "the build error overlay")
    assert status == 200
    text = " ".join("".join(doc.text).split())
    assert "paper.html" in text and "Build failed" in text
    from site_src import store

    title = store.loads(paper.read_text(encoding="utf-8"), slug=paper.stem, source=paper.name).title
    assert title in before and title in text  # the last good page is still the one served
    # The server's stderr is read by a thread: the line may land just after the overlay shows.
    wait_for(lambda: any("build failed" in line for line in lines), 10, "'build failed' on stderr")
