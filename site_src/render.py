"""The Jinja environment and render_page(): a page's bytes from (template, view, config) alone.

autoescape=True and StrictUndefined everywhere: untrusted text is escaped by
default and a typo in a template fails the build instead of printing nothing.
JSON goes into HTML only through Jinja's |tojson (which escapes <, >, & and ').
"""
from __future__ import annotations

import marshal
from typing import Any

import jinja2
from markupsafe import Markup

from site_src import markup, urls
from site_src.config import SiteConfig


class RenderError(RuntimeError):
    """A template failed: missing, syntax error, undefined name."""


def _current_link(context: jinja2.runtime.Context, to_url: str) -> str:
    page = context["page"]
    config: SiteConfig = context["config"]
    if page.get("rooted"):
        return urls.rooted(config.base_path, to_url, directory_links=config.directory_links)
    return _relative_link(page["url"], to_url, config.directory_links)


_LINKS: dict[tuple[str, int, str, bool], str] = {}
"""(section, depth, target URL, directory_links) -> relative link, shared by every page."""
_LINKS_MAX = 1 << 18


def _relative_link(from_url: str, to_url: str, directory_links: bool) -> str:
    """urls.relative, remembered for links that leave the page's section.

    Such a link only climbs to the root and descends again, so every page of one
    section at one depth gets the same string (a 10k-paper site renders ~500k links).
    """
    section, slash, _ = from_url.partition("/")
    if not slash or not from_url.endswith("/") or to_url.startswith((section + "/", "#")):
        return urls.relative(from_url, to_url, directory_links=directory_links)
    key = (section, from_url.count("/"), to_url, directory_links)
    link = _LINKS.get(key)
    if link is None:
        if len(_LINKS) >= _LINKS_MAX:
            _LINKS.clear()
        link = _LINKS[key] = urls.relative(from_url, to_url, directory_links=directory_links)
    return link


@jinja2.pass_context
def href(context: jinja2.runtime.Context, to_url: str) -> str:
    """Link from the page being rendered to a site-relative URL."""
    return _current_link(context, to_url)


@jinja2.pass_context
def static(context: jinja2.runtime.Context, name: str) -> str:
    """Link from the page being rendered to a file in static/."""
    return _current_link(context, urls.static_url(name))


@jinja2.pass_context
def absolute(context: jinja2.runtime.Context, url: str) -> str:
    """Absolute URL (for canonical links and metadata)."""
    return context["config"].absolute(url)


@jinja2.pass_context
def cached(context: jinja2.runtime.Context, macro: Any, card: dict[str, Any], *args: Any) -> Any:
    """macro(card, *args), remembered for this build when the page's links to the card's
    URLs are the same on every page at that depth.

    A paper's card is on its year page and every author page. When none of the card's
    links (its URL and its topics') stays in the page's section, each link is just
    '../' * depth + URL, so the card's HTML depends only on its data and the depth.
    The memo lives on the environment, which a template edit replaces.
    """
    memo = getattr(context.environment, "card_memo", None)
    page = context["page"]
    url = page["url"]
    section, slash, _ = url.partition("/")
    if (memo is None or page.get("rooted") or not slash or not url.endswith("/")
            or card.get("url", "").startswith((section + "/", "#"))
            or any(topic.get("url", "").startswith((section + "/", "#")) for topic in card.get("topics", ()))):
        return macro(card, *args)
    try:
        key = (macro.name, marshal.dumps(card, 2), args, url.count("/"))
    except (ValueError, AttributeError):
        return macro(card, *args)
    html = memo.get(key)
    if html is None:
        if len(memo) >= _CARDS_MAX:
            memo.clear()
        html = memo[key] = macro(card, *args)
    return html


_CARDS_MAX = 1 << 15
"""Cards remembered at once (~1.5 KB each)."""


def markdown_filter(text: str | None, heading_base: int = 3) -> Markup:
    """Render untrusted Markdown safely (see site_src.markup)."""
    return markup.render_markdown(text or "", heading_base=heading_base)


def count_filter(n: int, word: str, words: str | None = None) -> str:
    """'1 paper' / '3 papers'."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


FILTERS: dict[str, Any] = {"markdown": markdown_filter, "count": count_filter}
GLOBALS: dict[str, Any] = {"href": href, "static": static, "absolute": absolute, "cached": cached}


class _ViewContext(jinja2.runtime.Context):
    """A Context that calls href/static/absolute/cached directly (~40 links per page).

    Jinja's generic call probes every callable for pass_* markers and, when a loop or
    block sets variables, hands pass_context functions a derived copy of the context.
    These functions read only `page` and `config`, so unless a loop or block rebinds
    one of those names, the current context gives the same answer.
    """

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        if __obj is href or __obj is static or __obj is absolute or __obj is cached:
            loop_vars = kwargs.pop("_loop_vars", None)
            block_vars = kwargs.pop("_block_vars", None)
            if not kwargs and not any(names and ("page" in names or "config" in names)
                                      for names in (loop_vars, block_vars)):
                return __obj(__self, *args)
            if loop_vars is not None:
                kwargs["_loop_vars"] = loop_vars
            if block_vars is not None:
                kwargs["_block_vars"] = block_vars
        return super().call(__obj, *args, **kwargs)


class _ViewEnvironment(jinja2.Environment):
    """Views are dicts: look `page.title` up as a key first (Jinja tries attributes first)."""

    context_class = _ViewContext

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def make_environment(config: SiteConfig) -> jinja2.Environment:
    """The Jinja environment: theme_dir templates first, then templates/."""
    folders = [str(config.theme_dir)] if config.theme_dir else []
    folders.append(str(config.templates_dir))
    env = _ViewEnvironment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    env.globals["site"] = config.template_view()
    env.globals["config"] = config
    env.card_memo = {}  # type: ignore[attr-defined] - see cached()
    return env


def render_page(env: jinja2.Environment, template: str, view: dict[str, Any]) -> bytes:
    """Render one page; raise RenderError naming the template and page on any failure."""
    try:
        text = env.get_template(template).render(page=view)
    except Exception as error:  # noqa: BLE001 - name the template line, whatever went wrong
        raise RenderError(f"{_template_location(error) or template} (page {view.get('url')!r}): "
                          f"{type(error).__name__}: {error}") from error
    return text.encode("utf-8")


def _template_location(error: BaseException) -> str:
    """'templates/paper.html:12' from a Jinja syntax error or the innermost template frame."""
    if isinstance(error, jinja2.TemplateSyntaxError) and error.filename:
        return f"{error.filename}:{error.lineno}"
    location = ""
    tb = error.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt")):
            location = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return location
