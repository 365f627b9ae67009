"""The one Markdown renderer: untrusted text becomes safe HTML, math becomes MathML or text."""
from __future__ import annotations

import html.parser
import time

import pytest

from site_src.markup import MAX_CHARS, plain_text, render_markdown, render_math


class Collect(html.parser.HTMLParser):
    """Every start tag with its attributes, and all text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(markup: str) -> Collect:
    collector = Collect()
    collector.feed(str(markup))
    collector.close()
    return collector


def tag_names(markup: str) -> set[str]:
    return {tag for tag, _ in parse(markup).tags}


def test_raw_html_is_shown_as_text_not_markup():
    out = render_markdown("Hello <script>alert(1)</script> <img src=x onerror=alert(2)> <b>x</b>")
    assert tag_names(out) == {"p"}
    assert "<script>alert(1)</script>" in "".join(parse(out).text)


@pytest.mark.parametrize("link", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "  javascript:alert(1)", "java\tscript:alert(1)",
    "vbscript:msgbox(1)", "data:text/html;base64,PHNjcmlwdD4=", "file:///etc/passwd",
    "//evil.example/x",
])
def test_unsafe_link_schemes_never_become_links(link):
    out = render_markdown(f"[click]({link}) and <{link}>")
    assert "a" not in tag_names(out)


def test_http_links_are_kept_and_marked_nofollow():
    out = render_markdown("See [code](https://github.com/o/r) or [mail](mailto:a@b.org).")
    links = [attrs for tag, attrs in parse(out).tags if tag == "a"]
    assert [a["href"] for a in links] == ["https://github.com/o/r", "mailto:a@b.org"]
    assert links[0]["rel"] == "nofollow noopener noreferrer"


def test_images_are_not_loaded():
    out = render_markdown("![chart](https://tracker.example/pixel.png)")
    assert "img" not in tag_names(out)


def test_headings_start_below_the_page_headings():
    out = render_markdown("# Big\n\n## Smaller", heading_base=3)
    assert [t for t, _ in parse(out).tags if t.startswith("h")] == ["h3", "h4"]


def test_typographer_is_off_so_quotes_stay_as_written():
    assert "``low-quality''" in "".join(parse(render_markdown("``low-quality'' -- data")).text)


def test_inline_math_becomes_mathml():
    out = render_markdown("We get $x^2 + \\frac{a}{b}$ here.")
    names = tag_names(out)
    assert {"math", "msup", "mfrac"} <= names
    assert "$" not in "".join(parse(out).text)


@pytest.mark.parametrize("text", ["It costs $5 and $10.", "Between $ 3 $ and 4", "O($n$2)"])
def test_dollar_amounts_are_not_math(text):
    out = render_markdown(text)
    assert "math" not in tag_names(out)
    assert "$" in "".join(parse(out).text)


@pytest.mark.parametrize("tex", [
    "\\text{<script>alert(1)</script>}", "\\text{a < b}", "\\frac{1}{", "\\begin{matrix}",
])
def test_broken_or_hostile_latex_falls_back_to_escaped_source(tex):
    out = render_markdown(f"before ${tex}$ after")
    names = tag_names(out)
    assert "script" not in names
    assert "before" in "".join(parse(out).text) and "after" in "".join(parse(out).text)


def test_mathml_never_carries_links_or_styles():
    out = render_math("\\href{javascript:alert(1)}{x} \\style{color:red}{y}")
    for _, attrs in parse(out).tags:
        assert not {"href", "style", "class", "id"} & set(attrs)
        assert not any("javascript" in (v or "") for v in attrs.values())


def test_long_documents_are_escaped_paragraphs_without_markdown():
    text = ("*a* <script>x</script> " * (MAX_CHARS // 20)) + "\n\nsecond"
    out = render_markdown(text)
    assert tag_names(out) == {"p"}
    assert len([t for t, _ in parse(out).tags if t == "p"]) == 2


def test_quote_heavy_input_renders_quickly():
    start = time.perf_counter()
    render_markdown("\"'" * 20_000)
    render_markdown("[" * 5_000 + "a" + "]" * 5_000)
    assert time.perf_counter() - start < 5


def test_plain_text_strips_markup_and_cuts_at_a_word():
    assert plain_text("# Title\n\n*Bold* and `code` text here", limit=16) == "Title Bold and…"
