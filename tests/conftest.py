"""Fixtures shared by the whole suite: paths, a local HTTP server, real Chromium.

Area-specific fixtures live in the test module that needs them.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import socket
import threading
from pathlib import Path

import pytest

# Session fixtures that build a site into tmp (shipped content or a made-up folder).
from site_fixtures import built_site, site_url  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DIGESTS = FIXTURES / "digests"
SAMPLE_TEXT_DIGEST = DIGESTS / "hf-papers-robust-training.txt"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_addoption(parser):
    """--update-golden: rewrite the readers' expected.json files instead of comparing."""
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/fixtures/**/*.expected.json from the current readers")


@pytest.fixture(scope="session")
def update_golden(request) -> bool:
    """True when the run was asked to rewrite golden files."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass


@contextlib.contextmanager
def serve_directory(directory: Path):
    """Serve a folder on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    # A missing Playwright fails, never skips: CI must not turn green by running fewer tests.
    try:
        from playwright import sync_api
    except ImportError as error:
        pytest.fail(f"playwright is missing ({error}): pip install -e '.[test]'")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup-test-tools.sh")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def listen_for_errors(page) -> list[str]:
    """Collect every page error, console error and dialog of page (dialogs are dismissed)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" else None)

    def on_dialog(dialog):
        errors.append(f"dialog ({dialog.type}): {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return errors


@pytest.fixture
def page(browser):
    """A fresh page that fails the test on any JS error, console error or dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = listen_for_errors(page)
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not errors, "browser reported errors:\n" + "\n".join(errors)
