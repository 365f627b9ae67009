#!/usr/bin/env python3
"""Take phone and desktop screenshots, light and dark, of the built site for docs/ and the README.

    .venv/bin/python scripts/screenshots.py                 # build content/ into tmp, shoot it
    .venv/bin/python scripts/screenshots.py --site _site    # shoot an existing build

Writes docs/screenshots/<page>-<device>-<scheme>.png. Uses Debian's Chromium
through Playwright (never a downloaded browser) and serves the site on
127.0.0.1, because search needs fetch(), which file:// refuses.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
]
DEVICES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
SCHEMES = ("light", "dark")
PAGES = ("home", "paper", "topic", "search")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve directory on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def pick_pages(site: Path) -> dict[str, str]:
    """Site-relative paths of the pages to shoot: the fullest paper and topic pages."""
    def fullest(section: str) -> str:
        found = sorted((site / section).glob("*/index.html"),
                       key=lambda path: (-path.stat().st_size, path.as_posix()))
        if not found:
            raise SystemExit(f"screenshots: {site}/{section}/ has no pages")
        return found[0].relative_to(site).as_posix()

    return {"home": "index.html", "paper": fullest("papers"), "topic": fullest("topics"),
            "search": "search/index.html"}


def build(out: Path) -> Path:
    """Build the shipped content into out."""
    subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(ROOT), "build",
                    "--out", str(out)], check=True)
    return out


def shoot(site: Path, out_dir: Path, query: str, full_page: bool) -> list[Path]:
    """Take every screenshot; return the files written."""
    from playwright.sync_api import sync_playwright

    pages = pick_pages(site)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with serve(site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for device, viewport in DEVICES.items():
            for scheme in SCHEMES:
                context = browser.new_context(viewport=viewport, color_scheme=scheme,
                                              device_scale_factor=1, reduced_motion="reduce")
                page = context.new_page()
                for name in PAGES:
                    page.goto(url + pages[name], wait_until="networkidle")
                    if name == "search":
                        box = page.locator("main input[type=search]")
                        if not box.count():
                            box = page.locator("input[type=search]")
                        box.first.press_sequentially(query, delay=30)
                        page.wait_for_load_state("networkidle")
                        page.wait_for_timeout(300)
                        page.evaluate("() => document.activeElement.blur()")
                    path = out_dir / f"{name}-{device}-{scheme}.png"
                    page.screenshot(path=str(path), full_page=full_page)
                    written.append(path)
                context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Parse options, build if needed, take the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="an existing build (default: build content/ into tmp)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--query", default="attention", help="what to type on the search page")
    parser.add_argument("--full-page", action="store_true", help="whole pages, not the first screen")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="atlas-shots-") as scratch:
        site = args.site or build(Path(scratch) / "site")
        for path in shoot(site, args.out, args.query, args.full_page):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
