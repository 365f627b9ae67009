"""`build.py parse`: what a reader makes of a file, as JSON or a summary, with honest exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "digests" / "hf-papers-robust-training.txt"
CASES = ROOT / "tests" / "fixtures" / "hf_text"


def run_parse(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run `build.py parse` as a user would."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "parse", *args],
                          capture_output=True, text=True, cwd=cwd, encoding="utf-8")


def test_json_output_matches_the_golden_file():
    result = run_parse(str(SAMPLE), "--json", "--today", "2026-11-26")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    golden = json.loads(SAMPLE.with_name("hf-papers-robust-training.expected.json").read_text("utf-8"))
    assert data == golden
    assert set(data) >= {"digest", "papers", "problems"}
    assert len(data["papers"]) == 41


def test_json_papers_use_content_schema_names_and_iso_dates():
    data = json.loads(run_parse(str(SAMPLE), "--json", "--today", "2026-11-26").stdout)
    first = data["papers"][0]
    assert first["published_at"] == "2021-05-09" and first["date_precision"] == "day"
    assert first["digests"] == [{"line": 13, "position": 0}]
    assert "slug" not in first and "truncated" not in first and "upvotes" not in first
    assert data["digest"] == {"format": "hf-text", "date": "2025-12-12", "date_source": "page",
                              "title": "Daily Papers"}


def test_date_option_sets_the_digest_date():
    data = json.loads(run_parse(str(SAMPLE), "--json", "--date", "2024-12-12").stdout)
    assert data["digest"]["date"] == "2024-12-12" and data["digest"]["date_source"] == "option"
    yearless = next(p for p in data["papers"] if p["title"].startswith("Beyond Backpropagation"))
    assert yearless["published_at"] == "2024-09-23"
    assert yearless["date_precision"] == "year-inferred"


def test_summary_counts_entries_papers_and_lists_problems_with_file_and_line():
    case = CASES / "truncated-marker.txt"
    result = run_parse(str(case), "--today", "2026-11-26")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "entries seen: 2, papers: 1, problems: 1" in lines
    assert any(line.strip().startswith(f"{case}:13: error:") for line in lines)


def test_problems_appear_in_json_with_line_and_severity():
    data = json.loads(run_parse(str(CASES / "trending-duplicates.txt"), "--json").stdout)
    assert [(p["line"], p["severity"]) for p in data["problems"]] == [(14, "warning"), (34, "warning")]
    assert data["entries_seen"] == 4 and len(data["papers"]) == 2


def test_format_option_forces_a_reader():
    result = run_parse(str(SAMPLE), "--format", "hf-text", "--json", "--today", "2026-11-26")
    assert result.returncode == 0 and len(json.loads(result.stdout)["papers"]) == 41


def test_unknown_format_is_an_error_naming_the_known_formats():
    result = run_parse(str(SAMPLE), "--format", "nope")
    assert result.returncode == 1 and result.stdout == ""
    assert "unknown format 'nope'" in result.stderr and "hf-text" in result.stderr


def test_missing_file_is_an_error_on_stderr(tmp_path):
    result = run_parse(str(tmp_path / "missing.txt"))
    assert result.returncode == 1 and result.stdout == ""
    assert "cannot read" in result.stderr and "missing.txt" in result.stderr


def test_undetectable_format_is_an_error(tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02 not a digest")
    result = run_parse(str(blob))
    assert result.returncode == 1 and "--format" in result.stderr


def test_bad_date_is_a_usage_error():
    for bad in ("2025-13-01", "20251212", "yesterday"):
        result = run_parse(str(SAMPLE), "--date", bad)
        assert result.returncode == 2, bad
        assert "YYYY-MM-DD" in result.stderr


def test_parse_writes_nothing(tmp_path):
    copy = tmp_path / "digest.txt"
    copy.write_bytes(SAMPLE.read_bytes())
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert run_parse(str(copy), "--json", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
