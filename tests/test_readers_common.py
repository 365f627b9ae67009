"""Shared reader helpers: arXiv ids, text cleaning, links inside abstracts, month names."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from site_src.readers import UnknownFormat, get_reader, read_file, result_as_json, sniff
from site_src.readers.common import (
    arxiv_id_from_url, clean_text, extract_links, find_arxiv_id, latest_on_or_before,
    month_number, normalize_arxiv_id, normalize_newlines,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("2301.12345", "2301.12345"),
    ("2301.12345v2", "2301.12345"),
    ("0704.0001", "0704.0001"),
    ("2609.36435", "2609.36435"),
    ("arXiv:2407.13168v1", "2407.13168"),
    ("arxiv: 2407.13168", "2407.13168"),
    ("  2407.13168 \u00a0", "2407.13168"),
    ("hep-th/9901001", "hep-th/9901001"),
    ("hep-ex/0307015v1", "hep-ex/0307015"),
    ("cond-mat/0102536v1", "cond-mat/0102536"),
    ("math.GT/0309136", "math.GT/0309136"),
    ("http://arxiv.org/abs/hep-ex/0307015v1", "hep-ex/0307015"),
    ("https://arxiv.org/abs/2407.13168v3", "2407.13168"),
    ("http://export.arxiv.org/abs/2407.13168", "2407.13168"),
    ("https://arxiv.org/pdf/2407.13168v2.pdf", "2407.13168"),
    ("https://arxiv.org/pdf/2407.13168", "2407.13168"),
    ("2407.13168.pdf", "2407.13168"),
    ("https://huggingface.co/papers/2407.13168", "2407.13168"),
    ("https://huggingface.co/papers/2407.13168#community", "2407.13168"),
    ("https://huggingface.co/login?next=%2Fpapers%2F2509.07980", "2509.07980"),
    ("https%3A%2F%2Farxiv.org%2Fabs%2F2407.13168", "2407.13168"),
    ("arXiv%3A2407.13168", "2407.13168"),
])
def test_normalize_arxiv_id_accepts_every_wrapper(text, expected):
    assert normalize_arxiv_id(text) == expected


@pytest.mark.parametrize("text", [
    "", "hello", "2407.1316", "2407.131689", "2413.12345", "0612.1234", "1501.1234",
    "1412.12345", "HEP-TH/9901001", "hep-th/990100", "https://huggingface.co/papers/date/2026-03-24",
    "https://huggingface.co/papers/trending", "https://example.com/abs/2407.13168",
    "https://arxiv.org/list/cs.LG/recent",
])
def test_normalize_arxiv_id_refuses_what_is_not_an_id(text):
    assert normalize_arxiv_id(text) is None


def test_arxiv_id_from_url_ignores_urls_of_other_sites():
    assert arxiv_id_from_url("https://github.com/2407.13168") is None
    assert arxiv_id_from_url("not a url") is None
    assert arxiv_id_from_url("https://hf.co/papers/2502.01234") == "2502.01234"


def test_find_arxiv_id_reads_an_id_out_of_a_line():
    assert find_arxiv_id("[arXiv Page](https://arxiv.org/abs/2502.01234v2)") == "2502.01234"
    assert find_arxiv_id("see arXiv:hep-th/9901001 for details") == "hep-th/9901001"
    assert find_arxiv_id("version 1.2.3 of 12345.6789") is None


def test_clean_text_removes_invisible_characters_and_collapses_space():
    assert clean_text("\ufeff A\u00a0B\u200b C \r\n\tD\u202f ") == "A B C D"
    assert normalize_newlines("a\r\nb\rc\ufeff") == "a\nb\nc"


@pytest.mark.parametrize(("summary", "github", "project"), [
    ("Code is at https://github.com/foo/bar.", "https://github.com/foo/bar", None),
    ("Code: https://github.com/foo/bar.git, data soon", "https://github.com/foo/bar", None),
    ("(see https://github.com/foo/bar-baz)", "https://github.com/foo/bar-baz", None),
    ("Repaired: https: //github.com/Foo/Bar_1.0 .", "https://github.com/Foo/Bar_1.0", None),
    ("at https:// github.com/foo/bar", "https://github.com/foo/bar", None),
    ("Available at github.com/foo/bar.", "https://github.com/foo/bar", None),
    ("tree https://github.com/foo/bar/tree/main/src.", "https://github.com/foo/bar", None),
    ("Project page: https://foo.github.io/bar/.", None, "https://foo.github.io/bar/"),
    ("Demo at https://example.org/x_(y)).", None, "https://example.org/x_(y)"),
    ("See https://arxiv.org/abs/2401.00001 and https://huggingface.co/datasets/x/y", None, None),
    ("Both https://proj.page/a; code https://github.com/a/b", "https://github.com/a/b",
     "https://proj.page/a"),
    ("Only the org https://github.com/orgs/foo", None, None),
    ("No links at all, e.g.~1 minute, 45\\%.", None, None),
    ("email me@github.com/foo/bar", None, None),
])
def test_extract_links_finds_repository_and_project_page(summary, github, project):
    assert extract_links(summary) == (github, project)


def test_month_names_and_abbreviations_have_numbers():
    assert month_number("Dec") == 12
    assert month_number("sept") == 9
    assert month_number("May") == 5
    assert month_number("Mai") is None


def test_yearless_day_resolves_to_latest_on_or_before_today():
    today = dt.date(2026, 11, 26)
    assert latest_on_or_before(12, 12, today) == dt.date(2025, 12, 12)
    assert latest_on_or_before(11, 26, today) == dt.date(2026, 11, 26)
    assert latest_on_or_before(1, 5, today) == dt.date(2026, 1, 5)
    assert latest_on_or_before(2, 29, today) == dt.date(2024, 2, 29)
    assert latest_on_or_before(4, 31, today) is None


def test_unknown_format_names_the_known_ones():
    with pytest.raises(UnknownFormat, match="hf-text"):
        get_reader("no-such-format")


def test_sniff_recognises_the_text_listing():
    assert sniff("Daily Papers\n\nDec 12\n", "x.txt") == "hf-text"


def test_read_file_drops_a_bom_and_reports_bad_bytes(tmp_path):
    path = tmp_path / "digest.txt"
    path.write_bytes(b"\xef\xbb\xbfDaily Papers\n\nDec 12\n\xff\n")
    result = read_file(path, today=dt.date(2026, 1, 1))
    assert result.digest.format == "hf-text"
    assert any("not valid UTF-8" in p.reason and p.source == "digest.txt" for p in result.problems)


def test_read_file_refuses_an_undetectable_format(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01 nothing here")
    with pytest.raises(UnknownFormat, match="cannot tell"):
        read_file(path, today=dt.date(2026, 1, 1))


# --- golden files: every <name>.expected.json beside its input -----------------------------

GOLDEN_TODAY = dt.date(2026, 11, 26)
"""Fixed 'today' so yearless dates resolve the same way on every run."""
FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN_DIR = FIXTURES / "digests"
GOLDEN_DIRS = (GOLDEN_DIR, FIXTURES / "hf_json", FIXTURES / "arxiv", FIXTURES / "bibtex")
"""The real samples, then each reader's variant fixtures."""


def _golden_cases() -> list[tuple[Path, Path]]:
    cases = []
    for folder in GOLDEN_DIRS:
        for expected in sorted(folder.glob("*.expected.json")):
            stem = expected.name[: -len(".expected.json")]
            inputs = [p for p in folder.glob(stem + ".*") if not p.name.endswith(".expected.json")]
            assert len(inputs) == 1, f"{expected.name}: expected one input file, found {inputs}"
            cases.append((inputs[0], expected))
    return cases


@pytest.mark.parametrize(("digest", "expected"), _golden_cases(), ids=lambda p: p.name)
def test_digest_parses_to_its_golden_file(digest, expected, update_golden):
    """`--update-golden` rewrites the expected files; a human reads the diff."""
    actual = result_as_json(read_file(digest, today=GOLDEN_TODAY))
    if update_golden:
        expected.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert actual == json.loads(expected.read_text(encoding="utf-8"))


@pytest.mark.parametrize("folder", GOLDEN_DIRS, ids=lambda p: p.name)
def test_every_fixture_digest_has_a_golden_file(folder):
    inputs = {p.name.split(".")[0] for p in folder.iterdir() if not p.name.endswith(".expected.json")}
    goldens = {p.name[: -len(".expected.json")] for p in folder.glob("*.expected.json")}
    assert inputs and goldens == inputs
