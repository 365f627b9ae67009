"""Progress display: bar on a terminal, plain lines in a log, silence with --quiet."""
from __future__ import annotations

import io

from site_src.progress import Progress, choose_mode, format_bar


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def ticking_clock(step: float = 1.0):
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


def test_a_terminal_gets_a_bar_and_a_log_gets_lines():
    assert choose_mode(FakeTTY()) == "bar"
    assert choose_mode(io.StringIO()) == "lines"
    assert choose_mode(FakeTTY(), quiet=True) == "quiet"


def test_quiet_progress_writes_nothing():
    stream = FakeTTY()
    with Progress("render", 10, stream=stream, quiet=True) as bar:
        for _ in range(10):
            bar.advance()
    assert stream.getvalue() == ""


def test_plain_lines_report_quarters_and_the_end_without_carriage_returns():
    stream = io.StringIO()
    with Progress("render", 100, stream=stream, clock=ticking_clock()) as bar:
        for _ in range(100):
            bar.advance()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split()[1] for line in lines] == ["25/100", "50/100", "75/100", "100/100"]


def test_the_bar_redraws_in_place_and_ends_full_with_a_newline():
    stream = FakeTTY()
    with Progress("render", 4, stream=stream, clock=ticking_clock()) as bar:
        for _ in range(4):
            bar.advance()
    text = stream.getvalue()
    assert text.startswith("\r") and text.endswith("\n")
    assert text.count("\n") == 1
    last = text.rstrip("\n").split("\r")[-1]
    assert "[" + "#" * 28 + "]" in last and "4/4" in last


def test_bar_text_fits_a_narrow_terminal():
    assert len(format_bar("a-very-long-label", 5, 10, 3.0)) < 80
