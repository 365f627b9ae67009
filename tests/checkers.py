"""The real checkers, driven from Python: Nu HTML checker, LinkChecker, axe-core.

Each runner returns a list of plain records (empty means clean) and each record
prints as one readable line, so a failing assertion shows what to fix and where.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
JS_TOOLS = ROOT / "tools" / "js" / "node_modules"
VNU_JAR = JS_TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = JS_TOOLS / "axe-core" / "axe.min.js"

AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
BLOCKING_IMPACTS = ("serious", "critical")
"""axe impacts that fail the build; 'minor' and 'moderate' are reported only."""


def _missing_tool(what: str) -> RuntimeError:
    return RuntimeError(f"{what} is missing: run `bash scripts/setup-test-tools.sh`")


# --- Nu HTML checker -------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HtmlError:
    """One error the Nu HTML checker found."""

    file: str
    """Path relative to the checked folder."""
    line: int | None
    column: int | None
    message: str
    extract: str = ""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "") + (
            f":{self.column}" if self.column else "")
        extract = " ".join(self.extract.split())
        return f"{where}: {self.message}" + (f"  [{extract}]" if extract else "")


def parse_vnu_json(text: str, site_dir: Path) -> list[HtmlError]:
    """Turn the checker's `--format json` report into errors with site-relative paths."""
    report = json.loads(text) if text.strip() else {"messages": []}
    errors = []
    for message in report.get("messages", []):
        # "non-document-error" means the checker could not read a file: that is a failure too.
        if message.get("type") not in ("error", "non-document-error"):
            continue
        path = unquote(urlsplit(message.get("url", "")).path)
        try:
            path = Path(path).resolve().relative_to(site_dir.resolve()).as_posix()
        except ValueError:
            pass
        errors.append(HtmlError(
            file=path, line=message.get("lastLine"),
            column=message.get("firstColumn") or message.get("lastColumn"),
            message=message.get("message", ""), extract=message.get("extract", ""),
        ))
    return sorted(errors, key=lambda e: (e.file, e.line or 0, e.column or 0, e.message))


def run_vnu(site_dir: Path) -> list[HtmlError]:
    """Check every HTML file under site_dir with the Nu HTML checker; return its errors."""
    java = shutil.which("java")
    if java is None:
        raise _missing_tool("java")
    if not VNU_JAR.exists():
        raise _missing_tool(str(VNU_JAR.relative_to(ROOT)))
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--skip-non-html", "--format", "json",
         str(site_dir)],
        capture_output=True, text=True, timeout=300,
    )
    # The JSON report goes to stderr; exit 1 means "errors found", anything else is a crash.
    if result.returncode not in (0, 1):
        raise RuntimeError(f"vnu.jar exited {result.returncode}:\n{result.stderr[-2000:]}")
    errors = parse_vnu_json(result.stderr, site_dir)
    if result.returncode == 1 and not errors:
        raise RuntimeError(f"vnu.jar reported failure without errors:\n{result.stderr[-2000:]}")
    return errors


# --- LinkChecker -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BrokenLink:
    """A link LinkChecker could not follow, or whose #anchor is missing."""

    page: str
    """The page holding the link, relative to the checked folder."""
    line: int | None
    href: str
    reason: str

    def __str__(self) -> str:
        where = self.page + (f":{self.line}" if self.line else "")
        return f"{where}: {self.href} -> {self.reason}"


LINKCHECKER_CONFIG = """\
[checking]
threads=4
[filtering]
# Only the site itself: there is no network here, and outside links are not ours to break.
checkextern=0
[AnchorCheck]
[output]
"""


def _site_relative(url: str, site_dir: Path) -> str:
    path = unquote(urlsplit(url).path)
    try:
        return Path(path).relative_to(site_dir).as_posix()
    except ValueError:
        return url


@dataclass(frozen=True, slots=True)
class LinkReport:
    """What one LinkChecker crawl found."""

    broken: tuple[BrokenLink, ...]
    visited: frozenset[str]
    """Files reached by following links, relative to the checked folder."""


def parse_linkchecker_csv(text: str, site_dir: Path, *, allow_folders: bool = False) -> LinkReport:
    """Pick broken links, missing anchors and (unless allowed) folder links out of verbose CSV output."""
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    broken = []
    visited = set()
    for row in csv.DictReader(io.StringIO("\n".join(rows)), delimiter=";"):
        warning = row.get("warningstring") or ""
        result = row.get("result") or ""
        url = row.get("url") or ""
        valid = row.get("valid") != "False"
        if valid and url.startswith("file:") and result != "directory":
            # The page was reached even when only its #fragment is missing. (LinkChecker checks
            # 'good.html' and 'good.html#nowhere' in threads; whichever comes first may lend
            # its anchor warning to the other's row, so the warning must not hide the visit.)
            visited.add(_site_relative(url.partition("#")[0], site_dir))
        if not valid:
            reason = result or "invalid"
        elif "anchor" in warning.lower():
            # LinkChecker reports a missing #fragment as a warning on a valid URL.
            reason = warning
        elif result == "directory" and not allow_folders:
            reason = "links to a folder: opened from disk (file://) this shows a file listing"
        else:
            continue
        line = row.get("line") or ""
        broken.append(BrokenLink(
            page=_site_relative(row.get("parentname") or "", site_dir),
            line=int(line) if line.isdigit() else None,
            href=row.get("urlname") or url,
            reason=" ".join(reason.split()),
        ))
    broken.sort(key=lambda b: (b.page, b.line or 0, b.href))
    return LinkReport(broken=tuple(broken), visited=frozenset(visited))


def _linkchecker() -> str:
    beside_python = Path(sys.executable).parent / "linkchecker"
    found = str(beside_python) if beside_python.exists() else shutil.which("linkchecker")
    if found is None:
        raise _missing_tool("linkchecker (the `test` extra)")
    return found


def check_links(site_dir: Path, start: str = "index.html", *,
                allow_folders: bool = False) -> LinkReport:
    """Crawl site_dir from start over file://, anchors included; report broken links and pages reached."""
    site_dir = site_dir.resolve()
    # As root, LinkChecker drops to `nobody`, who cannot enter pytest's private tmp folders:
    # check a world-readable copy instead.
    with tempfile.TemporaryDirectory(prefix="linkcheck-") as scratch:
        scratch_dir = Path(scratch)
        scratch_dir.chmod(0o755)
        checked = scratch_dir / "site"
        shutil.copytree(site_dir, checked)
        for folder, _dirs, files in os.walk(checked):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        config = scratch_dir / "linkcheckerrc"
        config.write_text(LINKCHECKER_CONFIG, encoding="utf-8")
        config.chmod(0o644)
        result = subprocess.run(
            [_linkchecker(), "--config", str(config), "--no-status", "--verbose",
             "--output", "csv", (checked / start).as_uri()],
            capture_output=True, text=True, timeout=600, cwd=scratch,
        )
        # Exit 1 means "problems found"; 2 and up mean LinkChecker itself failed.
        if result.returncode not in (0, 1):
            raise RuntimeError(f"linkchecker exited {result.returncode}:\n{result.stderr[-2000:]}")
        found = parse_linkchecker_csv(result.stdout, checked, allow_folders=allow_folders)
    if result.returncode == 1 and not found.broken:
        raise RuntimeError(
            f"linkchecker reported problems this harness does not understand:\n{result.stdout[-3000:]}")
    return found


def run_linkchecker(site_dir: Path, start: str = "index.html") -> list[BrokenLink]:
    """Follow every link from site_dir/start over file://, anchors included; return the broken ones."""
    return list(check_links(site_dir, start).broken)


# --- axe-core --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AxeViolation:
    """One axe rule broken on one page, with the elements that break it."""

    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    help_url: str = ""

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:5]) + (" …" if len(self.targets) > 5 else "")
        return f"[{self.impact}] {self.rule}: {self.help} — {len(self.targets)} element(s): {shown}"


def run_axe(page, tags: tuple[str, ...] = AXE_TAGS) -> list[AxeViolation]:
    """Run axe-core on the page as it is now; return every violation, worst first."""
    if not AXE_JS.exists():
        raise _missing_tool(str(AXE_JS.relative_to(ROOT)))
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # evaluate() is not subject to the page's Content-Security-Policy; a <script> tag would be.
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    raw = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
        list(tags),
    )
    order = {"critical": 0, "serious": 1, "moderate": 2, "minor": 3}
    violations = [
        AxeViolation(
            rule=v["id"], impact=v.get("impact") or "minor", help=v.get("help", ""),
            targets=tuple(" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])),
            help_url=v.get("helpUrl", ""),
        )
        for v in raw
    ]
    return sorted(violations, key=lambda v: (order.get(v.impact, 4), v.rule))


def blocking(violations: list[AxeViolation]) -> list[AxeViolation]:
    """Keep the violations serious or critical enough to fail a check."""
    return [v for v in violations if v.impact in BLOCKING_IMPACTS]


def group_html_errors(errors: list[HtmlError], shown: int = 3) -> list[str]:
    """One line per distinct message with where it occurs: a template bug repeats on every page."""
    by_message: dict[str, list[HtmlError]] = {}
    for error in errors:
        by_message.setdefault(error.message, []).append(error)
    lines = []
    for message, found in sorted(by_message.items(), key=lambda item: -len(item[1])):
        places = ", ".join(f"{e.file}:{e.line}" for e in found[:shown])
        more = f" and {len(found) - shown} more" if len(found) > shown else ""
        extract = " ".join(found[0].extract.split())
        lines.append(f"{message} ×{len(found)} — {places}{more}" + (f"  [{extract}]" if extract else ""))
    return lines


def report(title: str, problems: list) -> str:
    """Format problems as a numbered, readable list for an assertion message."""
    lines = [f"{title}: {len(problems)}"]
    lines += [f"  {i}. {p}" for i, p in enumerate(problems, 1)]
    return "\n".join(lines)


def assert_none(title: str, problems: list, lines: list[str] | None = None) -> None:
    """Fail the current test with a readable numbered list when there are problems."""
    if problems:
        import pytest

        pytest.fail(report(title, lines if lines is not None else problems), pytrace=False)
