"""The one configured Markdown renderer, with `$…$` math turned into MathML at build time.

Abstracts and curator notes are untrusted text. markdown-it-py runs with raw
HTML off, typographer off (quadratic on quote-heavy input), no linkify, images
off (no external requests), and a link check that accepts only http(s),
mailto and relative targets. Documents over MAX_CHARS are shown as plain
escaped paragraphs rather than risk markdown-it's slow paths. Math goes through
latex2mathml and then an allow-list of MathML elements and attributes; broken
or suspicious LaTeX is shown as escaped text, never as markup.
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markupsafe import Markup

MAX_CHARS = 50_000
"""Longest document rendered as Markdown; longer ones become escaped paragraphs."""
MAX_MATH_CHARS = 500
"""Longest `$…$` span converted to MathML; longer spans stay text."""

_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _validate_link(url: str) -> bool:
    """Accept http(s), mailto and scheme-less (relative) links; refuse every other scheme."""
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", url).lower()
    if _SCHEME.match(cleaned):
        return cleaned.startswith(_SAFE_SCHEMES)
    return not cleaned.startswith("//")


# --- math ------------------------------------------------------------------

_MATHML_TAGS = frozenset("""
math mrow mi mn mo ms mtext mspace msup msub msubsup mfrac msqrt mroot mstyle mtable mtr mtd
mlabeledtr mover munder munderover mpadded mphantom menclose merror mmultiscripts mprescripts none
semantics annotation
""".split())
_MATHML_ATTRIBUTES = frozenset("""
display mathvariant stretchy fence separator lspace rspace accent accentunder columnalign rowalign
columnspacing rowspacing columnlines rowlines frame displaystyle scriptlevel linethickness width
height depth notation symmetric largeop movablelimits minsize maxsize form align
""".split())
_SAFE_VALUE = re.compile(r"[A-Za-z0-9 .#%+\-]*")
_MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"


class UnsafeMath(ValueError):
    """latex2mathml produced something outside the MathML allow-list."""


def _serialize(element: ET.Element, out: list[str]) -> None:
    tag = element.tag.removeprefix(_MATHML_NS)
    if tag not in _MATHML_TAGS:
        raise UnsafeMath(f"element {tag!r} not allowed")
    attributes = "".join(
        f' {name}="{html.escape(value)}"'
        for name, value in sorted(element.attrib.items())
        if name in _MATHML_ATTRIBUTES and _SAFE_VALUE.fullmatch(value)
    )
    out.append(f"<{tag}{attributes}>")
    if element.text:
        out.append(html.escape(element.text, quote=False))
    for child in element:
        _serialize(child, out)
        if child.tail:
            out.append(html.escape(child.tail, quote=False))
    out.append(f"</{tag}>")


@lru_cache(maxsize=4096)
def render_math(tex: str, display: bool = False) -> str:
    """Return MathML for a LaTeX expression, or escaped `$tex$` text if it cannot be shown safely."""
    fence = "$$" if display else "$"
    fallback = f'<span class="math-source">{html.escape(fence + tex + fence)}</span>'
    if not tex.strip() or len(tex) > MAX_MATH_CHARS:
        return fallback
    try:
        from latex2mathml.converter import convert

        mathml = convert(tex, display="block" if display else "inline")
        tree = ET.fromstring(mathml)
        out: list[str] = []
        _serialize(tree, out)
    except Exception:  # noqa: BLE001 - any converter failure means "show the source"
        return fallback
    return "".join(out)


def _math_inline(state: StateInline, silent: bool) -> bool:
    """Inline rule: `$tex$` (no space just inside the dollars, no digit right after) and `$$tex$$`."""
    src, start = state.src, state.pos
    if src[start] != "$":
        return False
    display = src.startswith("$$", start)
    opener = 2 if display else 1
    body_start = start + opener
    if body_start >= state.posMax or src[body_start].isspace():
        return False
    search = body_start
    while True:
        end = src.find("$$" if display else "$", search, state.posMax)
        if end < 0:
            return False
        if src[end - 1] == "\\":
            search = end + 1
            continue
        if src[end - 1].isspace():
            return False
        after = end + opener
        if not display and after < len(src) and src[after].isdigit():
            return False
        break
    if end == body_start:
        return False
    if not silent:
        token = state.push("math_display" if display else "math_inline", "math", 0)
        token.content = src[body_start:end]
        token.markup = "$$" if display else "$"
    state.pos = end + opener
    return True


# --- renderer ----------------------------------------------------------------

def _heading_shift(state) -> None:
    """Move headings down so a document never outranks the page's own h1/h2."""
    base = state.env.get("heading_base", 3) if isinstance(state.env, dict) else 3
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1])
            token.tag = f"h{min(6, level + base - 1)}"


def _make_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False, "linkify": False,
                                   "maxNesting": 20})
    md.disable("image")
    md.validateLink = _validate_link
    md.inline.ruler.before("escape", "math", _math_inline)
    md.core.ruler.push("heading_shift", _heading_shift)
    md.add_render_rule("math_inline", lambda self, tokens, idx, options, env:
                       render_math(tokens[idx].content, False))
    md.add_render_rule("math_display", lambda self, tokens, idx, options, env:
                       render_math(tokens[idx].content, True))

    def link_open(self, tokens, idx, options, env):
        token = tokens[idx]
        href = token.attrGet("href") or ""
        if href.startswith(("http:", "https:")):
            token.attrSet("rel", "nofollow noopener noreferrer")
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MD = _make_markdown()


def plain_paragraphs(text: str) -> str:
    """Escape text and split it into <p> paragraphs at blank lines (no Markdown)."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    return "".join(f"<p>{html.escape(b)}</p>\n" for b in blocks)


def render_markdown(text: str, *, heading_base: int = 3) -> Markup:
    """Render untrusted Markdown to safe HTML; headings start at h{heading_base}."""
    if not text or not text.strip():
        return Markup("")
    if len(text) > MAX_CHARS:
        return Markup(plain_paragraphs(text))
    return Markup(_MD.render(text, {"heading_base": heading_base}))


_MARKUP_CHARS = str.maketrans("", "", "`*_#>[]")


def plain_text(text: str, limit: int | None = None) -> str:
    """Markdown source reduced to one line of plain text (for snippets and feeds), cut at a word."""
    flat = " ".join((text or "").translate(_MARKUP_CHARS).split())
    return shorten(flat, limit) if limit is not None else flat


def shorten(flat: str, limit: int) -> str:
    """Cut one line of text at a word boundary before `limit` characters, adding '…'."""
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"
