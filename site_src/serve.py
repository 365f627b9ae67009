"""Live preview: serve the built site on loopback, rebuild on change, reload the browser.

The only module that imports livereload. We use its WebSocket handler and its
livereload.js (the browser half of the protocol) and serve the site with our
own handler, because we need three things livereload's static handler does not
do: inject the client as `<script src>` (the site's Content-Security-Policy
forbids inline scripts), allow the WebSocket in that policy, and show a failed
build on top of the last good pages. Nothing is ever written into the output
folder: every injection happens on the way out.

A watcher thread waits for file-system events under content/, templates/ (and a
theme folder) through watchfiles (inotify on Linux, FSEvents on macOS; it polls
only where the system gives no events), runs the build function, and tells every
connected browser to reload. Waiting for events rather than polling matters at
scale: stat-ing a 100k-paper content/ takes ~0.5 s, so a poll loop would keep a
core busy and still add its interval to every save. A failed build keeps the previous output (the
writer swaps atomically) and its error is shown in an overlay on every page.
"""
from __future__ import annotations

import html
import mimetypes
import os
import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from livereload.watcher import Watcher
from tornado import ioloop, netutil, web
from tornado.httpserver import HTTPServer

SETTLE_MS = 50
"""After a change, wait this long for an editor's companion writes (rename, backup) before building."""
GROUP_MS = 500
"""Changes arriving this close together (a digest ingest writing many files) make one build."""
OVERLAY_PATH = "/__atlas__/serve.css"

OVERLAY_CSS = b"""\
#atlas-build-error{position:fixed;inset:auto 0 0 0;z-index:2147483647;max-height:60vh;overflow:auto;
margin:0;padding:1rem 1.25rem;background:#2b0b0e;color:#ffe8e8;border-top:4px solid #ff5a5f;
font:14px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;box-shadow:0 -4px 24px #0008}
#atlas-build-error h2{margin:0 0 .5rem;font-size:1rem;color:#fff}
#atlas-build-error pre{white-space:pre-wrap;margin:0 0 .5rem;color:#ffe8e8;background:none}
#atlas-build-error p{margin:0;color:#ffc9c9}
"""

_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_START = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
_CSP_META = re.compile(
    rb"""(<meta\s[^>]*http-equiv\s*=\s*["']?content-security-policy["']?[^>]*content\s*=\s*")([^"]*)(")""",
    re.IGNORECASE,
)


# ------------------------------------------------------------------ pure helpers

def allow_live_reload(policy: str, ws_origin: str) -> str:
    """Return a CSP that also lets the page load /livereload.js and open the reload WebSocket."""
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    names = [d.split()[0].lower() for d in directives]
    out = []
    for directive, name in zip(directives, names):
        if name == "connect-src":
            directive = directive.replace("'none'", "").rstrip() + f" {ws_origin}"
        elif name == "script-src" and "'self'" not in directive:
            directive = directive.replace("'none'", "").rstrip() + " 'self'"
        elif name == "style-src" and "'self'" not in directive:
            directive = directive.replace("'none'", "").rstrip() + " 'self'"
        out.append(" ".join(directive.split()))
    if "connect-src" not in names:
        out.append(f"connect-src 'self' {ws_origin}")
    return "; ".join(out)


def overlay_html(error: str) -> bytes:
    """The error box shown over every page while the last build is failing."""
    return (
        '<div id="atlas-build-error" role="alert"><h2>Build failed</h2>'
        f"<pre>{html.escape(error)}</pre>"
        "<p>Showing the last good build. Fix the error and save: the page reloads by itself.</p></div>"
    ).encode("utf-8")


def inject(page: bytes, *, port: int, host: str, error: str | None) -> bytes:
    """Add the live-reload client (and the error overlay, if any) to an HTML page on its way out."""
    ws_origin = f"ws://{host}:{port}"

    def relax(match: re.Match) -> bytes:
        policy = html.unescape(match.group(2).decode("utf-8", "replace"))
        relaxed = html.escape(allow_live_reload(policy, ws_origin), quote=True).encode("utf-8")
        return match.group(1) + relaxed + match.group(3)

    page = _CSP_META.sub(relax, page, count=1)
    head = (f'<script src="/livereload.js?port={port}" defer></script>'
            f'<link rel="stylesheet" href="{OVERLAY_PATH}">').encode("ascii")
    found = _HEAD_END.search(page)
    page = page[:found.start()] + head + page[found.start():] if found else head + page
    if error is not None:
        box = overlay_html(error)
        body = _BODY_START.search(page)
        page = page[:body.end()] + box + page[body.end():] if body else page + box
    return page


def describe_error(error: BaseException) -> str:
    """One readable block for a failed build: the message, plus a traceback for surprises."""
    expected = ("Error" in type(error).__name__ or isinstance(error, (ValueError, OSError)))
    if expected and str(error):
        return f"{type(error).__name__}: {error}"
    return "".join(traceback.format_exception(error)).rstrip()


def is_ignored(path: str, roots: Iterable[str]) -> bool:
    """Whether a changed path is no input of the build: hidden files and folders (the ingest
    journal, editors' swap files, .git) and editor droppings ('~', '.swp', '.tmp')."""
    for root in roots:
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            parts = os.path.relpath(path, root).split(os.sep)
            break
    else:
        parts = [os.path.basename(path)]
    return any(part.startswith(".") for part in parts) or parts[-1].endswith(("~", ".swp", ".tmp"))


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    return host in ("localhost", "::1") or host.startswith("127.")


# ------------------------------------------------------------------ the server

@dataclass
class ServeState:
    """What the server knows about the last build (shared between the watcher and handlers)."""

    out_dir: Path
    host: str
    port: int = 0
    error: str | None = None
    builds: int = 0
    last_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class SiteHandler(web.RequestHandler):
    """Serve files from the output folder, injecting the reload client into HTML."""

    state: ServeState

    def initialize(self, state: ServeState) -> None:
        self.state = state

    def compute_etag(self):  # never let a browser keep a stale page
        return None

    def get(self, path: str) -> None:
        root = self.state.out_dir.resolve()
        target = (root / path).resolve() if path else root
        if not target.is_relative_to(root):
            raise web.HTTPError(403)
        if target.is_dir():
            if path and not path.endswith("/"):
                self.redirect("/" + path + "/", permanent=False)
                return
            target = target / "index.html"
        status = 200
        if not target.is_file():
            status = 404
            target = root / "404.html"
        try:
            data = target.read_bytes()
        except OSError:
            data = None
        if data is None:
            data = b"<!doctype html><html><head><title>Not found</title></head><body><h1>Not found</h1></body></html>"
            target = Path("404.html")
            if self.state.error is None and status == 200:
                status = 404
        kind, _ = mimetypes.guess_type(target.name)
        kind = kind or "application/octet-stream"
        if kind == "text/html":
            data = inject(data, port=self.state.port, host=self.request.host.rsplit(":", 1)[0]
                          if self.request.host else self.state.host, error=self.state.error)
            kind = "text/html; charset=utf-8"
        elif kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        self.set_status(status)
        self.set_header("Content-Type", kind)
        self.set_header("Cache-Control", "no-store")
        self.write(data)

    def head(self, path: str) -> None:
        self.get(path)


class OverlayCSSHandler(web.RequestHandler):
    """The overlay's stylesheet (a file, because the CSP forbids inline styles)."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/css; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(OVERLAY_CSS)


def make_app(state: ServeState) -> web.Application:
    """The Tornado application: the reload socket, its client script, the overlay CSS, the site."""
    return web.Application([
        (r"/livereload", LiveReloadHandler),
        (r"/livereload\.js", LiveReloadJSHandler),
        (re.escape(OVERLAY_PATH), OverlayCSSHandler),
        (r"/(.*)", SiteHandler, {"state": state}),
    ])


def notify_browsers(changed: str) -> None:
    """Tell every connected page to reload (CSS-only changes are swapped in place)."""
    LiveReloadHandler.reload_waiters(changed)


def run_build(build: Callable[[], object], state: ServeState, *, log=print) -> bool:
    """Run one build, record its outcome in state; True when it succeeded."""
    started = time.perf_counter()
    try:
        result = build()
    except Exception as error:  # any failure must keep the server (and last good site) alive
        with state.lock:
            state.error = describe_error(error)
        log(f"build failed (the last good site is still served):\n{state.error}", file=sys.stderr)
        return False
    seconds = time.perf_counter() - started
    with state.lock:
        state.error = None
        state.builds += 1
        state.last_seconds = seconds
    summary = getattr(result, "summary", None)
    text = summary() if callable(summary) else ""
    log(f"rebuilt in {seconds:.2f} s{': ' + text if text else ''}", flush=True)
    return True


def watch_loop(build: Callable[[], object], state: ServeState, watched: list[Path],
               loop: ioloop.IOLoop, stop: threading.Event, *, log=print) -> None:
    """Wait for changes under the watched paths; rebuild and reload the browsers (runs in a thread)."""
    from watchfiles import watch

    roots = [os.path.abspath(p) for p in watched if Path(p).exists()]
    for events in watch(*roots, watch_filter=lambda _, path: not is_ignored(path, roots),
                        step=SETTLE_MS, debounce=GROUP_MS, stop_event=stop, raise_interrupt=False):
        changes = sorted({path for _, path in events})
        shown = ", ".join(os.path.relpath(c) for c in changes[:3]) + (" …" if len(changes) > 3 else "")
        log(f"changed: {shown}", flush=True)
        run_build(build, state, log=log)
        # Reload on failure too: the pages then show the overlay with the new error.
        first = changes[0]
        loop.add_callback(notify_browsers, first if first.endswith(".css") else "*")


def serve(build: Callable[[], object], *, out_dir: Path, watched: list[Path],
          host: str = "127.0.0.1", port: int = 8000, log=print,
          ready: Callable[[str], None] | None = None) -> int:
    """Build, serve out_dir on host:port, rebuild on changes under watched; returns on Ctrl-C."""
    if not is_loopback(host):
        log(f"warning: serving on {host}: other machines can reach this preview", file=sys.stderr)
    state = ServeState(out_dir=Path(out_dir), host=host)
    run_build(build, state, log=log)
    sockets = netutil.bind_sockets(port, address=host)
    state.port = sockets[0].getsockname()[1]
    LiveReloadHandler.watcher = Watcher()  # reload_waiters() logs the watcher's last path
    loop = ioloop.IOLoop.current()
    server = HTTPServer(make_app(state))
    server.add_sockets(sockets)
    stop = threading.Event()
    thread = threading.Thread(target=watch_loop, args=(build, state, watched, loop, stop),
                              kwargs={"log": log}, daemon=True, name="atlas-watch")
    thread.start()
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{state.port}/"
    log(f"Serving {out_dir} on {url} (Ctrl-C to stop)", flush=True)
    if ready is not None:
        ready(url)
    try:
        loop.start()
    except KeyboardInterrupt:
        log("stopped", flush=True)
    finally:
        stop.set()
        server.stop()
    return 0
