"""The Jinja environment and render_page(): a page's bytes from (template, view, config) alone.

autoescape=True and StrictUndefined everywhere: untrusted text is escaped by
default and a typo in a template fails the build instead of printing nothing.
JSON goes into HTML only through Jinja's |tojson (which escapes <, >, & and ').
"""
from __future__ import annotations

import contextvars
import marshal
import re
from collections.abc import Callable, Iterable
from typing import Any

import jinja2
import jinja2.bccache
import jinja2.compiler
import jinja2.nodes
import markupsafe
from markupsafe import Markup

from site_src import markup, urls
from site_src.config import SiteConfig


class RenderError(RuntimeError):
    """A template failed: missing, syntax error, undefined name."""


class PageLinks:
    """Relative links from one page, with the page's folder worked out once rather than per link.

    A link that leaves the page's section only climbs to the root and descends again,
    so it is '../' * depth + target; links inside the section, fragments and rooted pages
    (404, served at any depth) go through urls.relative / urls.rooted. A 10k-paper site
    renders ~600k links, so this is the hottest code of a build.
    """

    __slots__ = ("_from_url", "_prefix", "_section", "_folders", "_directory_links", "_base_path",
                 "_rooted", "recorded", "placeholders")

    def __init__(self, view: dict[str, Any], config: SiteConfig) -> None:
        from_url = view["url"]
        if from_url == "" or from_url.endswith("/"):
            from_dir = from_url
        else:
            from_dir = from_url.rpartition("/")[0] + "/" if "/" in from_url else ""
        self._from_url = from_url
        self._prefix = "../" * from_dir.count("/")
        self._section = _section(from_dir)
        parts = from_dir.split("/")[:-1]
        # The page's folder and its ancestors, deepest first: ('papers/x/', 'papers/').
        self._folders = tuple(("/".join(parts[:n]) + "/", "../" * (len(parts) - n))
                              for n in range(len(parts), 0, -1))
        self._directory_links = config.directory_links
        self._base_path = config.base_path
        self._rooted = bool(view.get("rooted"))
        self.recorded: list[tuple[str, str]] | None = None
        """(target, link) of every link made while a remembered fragment renders (see cached)."""
        self.placeholders: list[str] | None = None
        """When a list, link() returns '\\0<n>\\0' for the n-th target instead (see _Fragment)."""

    def link(self, to_url: str) -> str:
        """Link from this page to a site-relative URL (same result as urls.relative / urls.rooted)."""
        if self.placeholders is not None:
            self.placeholders.append(to_url)
            return f"\0{len(self.placeholders) - 1}\0"
        if self._rooted or "#" in to_url:
            link = (urls.rooted(self._base_path, to_url, directory_links=self._directory_links)
                    if self._rooted else
                    urls.relative(self._from_url, to_url, directory_links=self._directory_links))
        else:
            target = (to_url + "index.html" if not self._directory_links and (not to_url or to_url[-1] == "/")
                      else to_url)
            if self._section is not None and target.startswith(self._section):
                # Up from the page's folder to the deepest folder the two share, then down.
                for folder, up in self._folders:
                    if target.startswith(folder):
                        link = up + target[len(folder):] or "./"
                        break
            else:
                link = self._prefix + target or "./"
        if self.recorded is not None:
            self.recorded.append((to_url, link))
        return link

    def variant(self, targets: tuple[str, ...], sections: frozenset[str | None], has_fragment: bool) -> Any:
        """A value that is equal on two pages exactly when their links to targets are all equal.

        `sections` holds each target's section: when the page's own section is not among
        them, every link is '../' * depth + target, so the depth alone decides them.
        """
        if self._rooted:
            return None
        if has_fragment or self._section in sections:
            outer, self.recorded = self.recorded, None
            links = tuple([self.link(target) for target in targets])
            self.recorded = outer
            return links
        return self._prefix


def _section(url: str) -> str | None:
    """'papers/' for 'papers/x/', None for '' and for file URLs at the root."""
    slash = url.find("/")
    return url[: slash + 1] if slash >= 0 else None


class _Fragment:
    """One macro call's HTML, remembered per variant of the page's links (see cached).

    It also learns the HTML as text around its links ('\\0'-separated placeholders made by
    a second rendering), so that a new variant is filled in instead of rendered again.
    """

    __slots__ = ("targets", "sections", "has_fragment", "html", "first", "texts")

    def __init__(self, targets: tuple[str, ...], links: tuple[str, ...] | None, html: Markup | None,
                 texts: tuple[str, ...] | None = None) -> None:
        self.targets = targets
        self.sections = frozenset(_section(target) for target in targets)
        self.has_fragment = any("#" in target for target in targets)
        self.html: dict[Any, Markup] = {}
        self.first: tuple[tuple[str, ...], Markup] | None = (links, html) if texts is None else None
        """The links and HTML of the first rendering, until texts are learnt from them."""
        self.texts: tuple[str, ...] | None = texts

    def learn(self, render: Callable[[], Markup], links: PageLinks) -> None:
        """Render once more with placeholders for the links; keep the text around them if
        filling the first rendering's links back in gives exactly its HTML."""
        assert self.first is not None
        first_links, first_html = self.first
        self.first = None
        if "\0" in first_html:
            return
        learnt = _render_with_placeholders(render, links)
        if learnt is None or learnt[0] != self.targets:
            return
        texts = learnt[1]
        if _fill(texts, first_links) == first_html:
            self.texts = texts


def _render_with_placeholders(render: Callable[[], Markup], links: PageLinks
                              ) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(targets, texts around them) of one rendering whose links are '\\0<n>\\0' placeholders;
    None when the HTML holds a NUL of its own (then the placeholders cannot be told apart)."""
    outer_recorded, links.recorded = links.recorded, None
    links.placeholders = []
    try:
        html = render()
    finally:
        targets, links.placeholders, links.recorded = links.placeholders, None, outer_recorded
    parts = str(html).split("\0")
    if parts[1::2] != [str(n) for n in range(len(targets))] or len(parts) != 2 * len(targets) + 1:
        return None
    return tuple(targets), tuple(parts[0::2])


def _fill(texts: tuple[str, ...], links: Iterable[str]) -> Markup:
    pieces = [texts[0]]
    for link, text in zip(links, texts[1:]):
        pieces.append(escape(link))
        pieces.append(text)
    return Markup("".join(pieces))


class _MacroMemo:
    """HTML of macro(data, *args) for one build, keyed by the data's value, not its identity.

    `data` is a dict from the plan (a paper's card, shared by every list that shows the
    paper; the pages' common chrome); its marshalled bytes are remembered by id, with the
    dict itself so that the id stays its own.
    """

    MAX = 1 << 15
    """Fragments remembered at once (a card is ~1.5 KB)."""

    def __init__(self) -> None:
        self.data: dict[int, tuple[Any, bytes]] = {}
        self.fragments: dict[tuple, _Fragment] = {}
        self.codes: dict[int, Any] = {}

    def key(self, macro: Any, data: Any, args: tuple) -> tuple | None:
        """(macro, data bytes, args), or None for data that marshal cannot encode."""
        # The macro's code, not its name (two templates may define macros of one name), by id:
        # a code object's hash is not cached. Kept in self.codes, so that the id stays its own.
        code = getattr(getattr(macro, "_func", None), "__code__", macro.name)
        code = id(self.codes.setdefault(id(code), code))
        known = self.data.get(id(data))
        if known is not None and known[0] is data:
            return (code, known[1], args)
        try:
            encoded = marshal.dumps(data, 2)
        except ValueError:
            return None
        if len(self.data) >= self.MAX:
            self.data.clear()
        self.data[id(data)] = (data, encoded)
        return (code, encoded, args)

    def render(self, macro: Any, data: Any, args: tuple, links: PageLinks) -> Markup:
        """macro(data, *args) on the page whose links these are, from memory when possible."""
        key = self.key(macro, data, args)
        if key is None:
            return macro(data, *args)
        fragment = self.fragments.get(key)
        if fragment is None and getattr(getattr(macro, "_func", None), LINKS_ONLY_IN_OUTPUT, False):
            # The macro's links go straight into its output (checked when it was compiled):
            # one rendering with placeholders gives the texts around them, and every page,
            # this one first, fills its own links in.
            learnt = _render_with_placeholders(lambda: macro(data, *args), links)
            if learnt is not None:
                fragment = self._remember(key, _Fragment(learnt[0], None, None, texts=learnt[1]))
        if fragment is not None:
            variant = links.variant(fragment.targets, fragment.sections, fragment.has_fragment)
            html = fragment.html.get(variant)
            if html is None:
                if fragment.first is not None:
                    fragment.learn(lambda: macro(data, *args), links)
                if fragment.texts is not None:
                    html = fragment.html[variant] = _fill(
                        fragment.texts, variant if type(variant) is tuple
                        else [links.link(target) for target in fragment.targets])
            if html is not None:
                if links.recorded is not None:  # a remembered fragment around this one
                    links.recorded.extend((target, links.link(target)) for target in fragment.targets)
                return html
        outer, links.recorded = links.recorded, []
        try:
            html = macro(data, *args)
        finally:
            made, links.recorded = links.recorded, outer
        if outer is not None:
            outer.extend(made)
        targets = tuple(target for target, _ in made)
        if fragment is None or fragment.targets != targets:
            fragment = self._remember(key, _Fragment(targets, tuple(link for _, link in made), html))
        fragment.html[links.variant(targets, fragment.sections, fragment.has_fragment)] = html
        return html

    def _remember(self, key: tuple, fragment: _Fragment) -> _Fragment:
        if len(self.fragments) >= self.MAX:
            self.fragments.clear()
        self.fragments[key] = fragment
        return fragment


class _Rendering:
    """What the helpers need about the page being rendered: its links and the build's macro memo."""

    __slots__ = ("links", "memo")

    def __init__(self, links: PageLinks, memo: _MacroMemo | None) -> None:
        self.links = links
        self.memo = memo


_RENDERING: contextvars.ContextVar[_Rendering] = contextvars.ContextVar("rendering")
"""The page render_page is rendering (set and reset around each render; safe across threads)."""


def _links(context: jinja2.runtime.Context) -> PageLinks:
    rendering = _RENDERING.get(None)
    if rendering is not None:
        return rendering.links
    # A template rendered without render_page (a test, a theme tool): read the page directly.
    return PageLinks(context["page"], context["config"])


@jinja2.pass_context
def href(context: jinja2.runtime.Context, to_url: str) -> str:
    """Link from the page being rendered to a site-relative URL."""
    rendering = _RENDERING.get(None)
    return (rendering.links if rendering is not None else _links(context)).link(to_url)


@jinja2.pass_context
def static(context: jinja2.runtime.Context, name: str) -> str:
    """Link from the page being rendered to a file in static/."""
    return _links(context).link(urls.static_url(name))


@jinja2.pass_context
def absolute(context: jinja2.runtime.Context, url: str) -> str:
    """Absolute URL (for canonical links and metadata)."""
    return context["config"].absolute(url)


@jinja2.pass_context
def cached(context: jinja2.runtime.Context, macro: Any, data: dict[str, Any], *args: Any) -> Any:
    """macro(data, *args), remembered for this build: `{{ paper_card|cached(card, "h3") }}`.

    The macro's HTML must depend only on its arguments, on `site` and on the links it
    makes (paper_card and base.html's site_header read nothing else). A paper's card is
    on its year page, every author page and its topics' pages: the first rendering
    records which targets the card links to, and a later page reuses the HTML when its
    links to those targets come out the same (for targets outside the page's section:
    when it is at the same depth), or fills its own links into the HTML's text (see
    _Fragment).
    """
    rendering = _RENDERING.get(None)
    if rendering is None or rendering.memo is None or rendering.links.placeholders is not None:
        return macro(data, *args)
    return rendering.memo.render(macro, data, args, rendering.links)


_PLAIN_PROSE = re.compile(r"[A-Za-z][A-Za-z0-9 ,.;:?%'\"()/-]*")
"""One line of words, digits and punctuation that Markdown leaves alone: no block starts
with a letter, and none of these characters opens inline markup, an entity or math."""


def markdown_filter(text: str | None, heading_base: int = 3) -> Markup:
    """Render untrusted Markdown safely (see site_src.markup)."""
    if text and len(text) <= markup.MAX_CHARS and _PLAIN_PROSE.fullmatch(text):
        # Most abstracts are one plain paragraph: what markdown-it would make of it, ~10x
        # sooner (tests/test_render.py holds the two to the same output).
        return Markup("<p>" + text.rstrip(" ").replace('"', "&quot;") + "</p>\n")
    return markup.render_markdown(text or "", heading_base=heading_base)


def nav_marks(url: str, nav: list[dict[str, Any]]) -> tuple[str, ...]:
    """For each nav item: 'page' on the item's own page, 'section' on a page below it, else ''."""
    return tuple("page" if url == item["url"] else "section" if item["url"] and url.startswith(item["url"])
                 else "" for item in nav)


def count_filter(n: int, word: str, words: str | None = None) -> str:
    """'1 paper' / '3 papers'."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


FILTERS: dict[str, Any] = {"markdown": markdown_filter, "count": count_filter, "nav_marks": nav_marks,
                           "href": href, "static": static, "absolute": absolute, "cached": cached}
"""href, static, absolute and cached are filters too (`{{ topic.url|href }}`): Jinja calls a
filter directly, while a function call goes through Context.call (see _ViewContext)."""
GLOBALS: dict[str, Any] = {"href": href, "static": static, "absolute": absolute, "cached": cached}


class _ViewContext(jinja2.runtime.Context):
    """A Context that calls plain callables without Jinja's generic probing.

    Every `f(x)` and `x.method(y)` in a template goes through Context.call, which probes
    the callable for pass_* markers with hasattr (two failed attribute lookups, ~2 µs)
    and, for pass_context functions, derives a context holding the loop's variables.
    Built-in methods (`url.startswith(…)`, `page.get(…)`) never take a context, macros
    take only the evaluation context, and href/static/absolute/cached read only `page`
    and `config`: unless a loop or block rebinds one of those, the current context will do.
    """

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        kind = type(__obj)
        if kind is _BuiltinMethod or kind is jinja2.runtime.Macro:
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            if kind is jinja2.runtime.Macro:  # Macro.__call__ is pass_eval_context
                args = (__self.eval_ctx, *args)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:  # as Jinja does: a StopIteration must not end the template's generator
                return __self.environment.undefined("value was undefined because a callable raised a "
                                                    "StopIteration exception")
        if __obj is href or __obj is static or __obj is absolute or __obj is cached:
            loop_vars = kwargs.pop("_loop_vars", None)
            block_vars = kwargs.pop("_block_vars", None)
            if not kwargs and not _rebinds(loop_vars) and not _rebinds(block_vars):
                return __obj(__self, *args)
            if loop_vars is not None:
                kwargs["_loop_vars"] = loop_vars
            if block_vars is not None:
                kwargs["_block_vars"] = block_vars
        return super().call(__obj, *args, **kwargs)


_BuiltinMethod = type("".startswith)


def _rebinds(names: dict[str, Any] | None) -> bool:
    return bool(names) and ("page" in names or "config" in names)  # type: ignore[operator]


_escape_text = getattr(markupsafe, "_escape_inner", None)


def escape(value: Any) -> str:
    """markupsafe.escape for the output of compiled templates, with a shortcut for plain text.

    The same characters are escaped, but plain text comes back as a str rather than a
    Markup: making the Markup (Markup.__new__'s Python-level checks) cost more than the
    escaping itself, ~2M times per 10k-paper build. Compiled templates only join what
    this returns (a macro's or a block's joined text is made Markup by Jinja itself).
    """
    kind = type(value)
    if kind is str:
        # Plain str, not Markup: compiled templates only ever join what escape returns.
        return _escape_text(value)
    if kind is Markup:  # already safe
        return value
    return markupsafe.escape(value)


if _escape_text is None:  # a MarkupSafe without the private helper: the plain function
    escape = markupsafe.escape  # noqa: F811


class _ViewTemplate(jinja2.Template):
    """A Template whose compiled code escapes output with the escape() above."""

    @classmethod
    def _from_namespace(cls, environment: jinja2.Environment, namespace: Any, globals: Any) -> Any:
        # Compiled templates look `escape` up in their module namespace at call time.
        namespace["escape"] = escape
        return super()._from_namespace(environment, namespace, globals)


LINKS_ONLY_IN_OUTPUT = "links_only_in_output"
"""Set (True) on a compiled macro function whose links all go straight into its output."""
_LINK_FILTERS = frozenset({"href", "static"})
_OPAQUE_NODES = (jinja2.nodes.Call, jinja2.nodes.CallBlock, jinja2.nodes.Include, jinja2.nodes.Import,
                 jinja2.nodes.FromImport, jinja2.nodes.FilterBlock, jinja2.nodes.AssignBlock,
                 jinja2.nodes.Assign, jinja2.nodes.EvalContextModifier, jinja2.nodes.Macro,
                 jinja2.nodes.Block, jinja2.nodes.Extends, jinja2.nodes.ExprStmt)


def links_only_in_output(macro: jinja2.nodes.Macro) -> bool:
    """Whether every link the macro makes is printed as it is and read by nothing else.

    True when each href/static is a whole `{{ x|href }}` (or `{{ 'f.css'|static }}`)
    and the body has no calls, assignments, filter blocks, includes, imports or nested
    macros (anything that could pass a link elsewhere or print it changed). Such a
    macro's HTML is the same text around whatever links it is given, so one rendering
    with placeholders serves every page (see _MacroMemo.render).
    """
    printed = set()
    for output in macro.find_all(jinja2.nodes.Output):
        printed.update(id(child) for child in output.nodes
                       if isinstance(child, jinja2.nodes.Filter) and child.name in _LINK_FILTERS
                       and not child.args and not child.kwargs and child.dyn_args is None
                       and child.dyn_kwargs is None)
    for node in macro.body:
        for inner in (node, *node.find_all(jinja2.nodes.Node)):
            if isinstance(inner, _OPAQUE_NODES):
                return False
            if isinstance(inner, jinja2.nodes.Name) and inner.name in _LINK_FILTERS | {"cached", "caller"}:
                return False
            if isinstance(inner, jinja2.nodes.Filter) and (inner.name == "cached" or (
                    inner.name in _LINK_FILTERS and id(inner) not in printed)):
                return False
    return True


class _CodeGenerator(jinja2.compiler.CodeGenerator):
    """Compile each run of output (text and {{ … }} between two tags) into one yield.

    Jinja yields every piece separately, and each piece of a block climbs through the
    generators of every template in the inheritance chain (paper.html -> base.html ->
    block main): ~300 pieces per page. Joining a run first makes it one step per run.

    Blocks, and the root of a template that extends none, collect their output in a list
    and yield it once, joined (see enter_frame): every piece a block yields otherwise
    climbs through the generators of the whole inheritance chain.

    Macros whose links only go into their output are marked (links_only_in_output).
    """

    _COLLECTED = "_collected"
    """The list a collecting frame appends to (Jinja's own names are l_…, t_… and _block_vars)."""

    def visit_Template(self, node: jinja2.nodes.Template, frame: Any = None) -> None:
        # An include without context is compiled as a `yield from` whatever the frame's
        # buffer, so a template with an include keeps Jinja's generators throughout.
        self._collect_blocks = node.find(jinja2.nodes.Include) is None
        self._collect_root = self._collect_blocks and node.find(jinja2.nodes.Extends) is None
        self._collecting: set[int] = set()
        super().visit_Template(node, frame)

    def enter_frame(self, frame: Any) -> None:
        if (frame.buffer is None and not self.environment.is_async
                and ((frame.block_frame and self._collect_blocks) or (frame.rootlevel and self._collect_root))):
            frame.buffer = self._COLLECTED
            self.writeline(f"{self._COLLECTED} = []")
            self._collecting.add(id(frame))
        super().enter_frame(frame)

    def leave_frame(self, frame: Any, with_python_scope: bool = False) -> None:
        super().leave_frame(frame, with_python_scope)
        if id(frame) in self._collecting:
            self._collecting.discard(id(frame))
            self.writeline(f"yield concat({self._COLLECTED})")

    def visit_Macro(self, node: jinja2.nodes.Macro, frame: Any) -> None:
        # Jinja's visit_Macro, with the mark written between the function and its wrapper.
        macro_frame, macro_ref = self.macro_body(node, frame)
        if links_only_in_output(node):
            self.writeline(f"macro.{LINKS_ONLY_IN_OUTPUT} = True")
        self.newline()
        if frame.toplevel:
            if not node.name.startswith("_"):
                self.write(f"context.exported_vars.add({node.name!r})")
            self.writeline(f"context.vars[{node.name!r}] = ")
        self.write(f"{frame.symbols.ref(node.name)} = ")
        self.macro_def(macro_ref, macro_frame)

    def visit_Output(self, node: jinja2.nodes.Output, frame: Any) -> None:
        if frame.buffer is not None or frame.require_output_check or len(node.nodes) < 2:
            super().visit_Output(node, frame)
            return
        self.writeline("_run = []")
        frame.buffer = "_run"
        try:
            super().visit_Output(node, frame)
        finally:
            frame.buffer = None
        self.writeline("yield concat(_run)")


class _ViewEnvironment(jinja2.Environment):
    """Views are dicts: look `page.title` up as a key first (Jinja tries attributes first)."""

    context_class = _ViewContext
    template_class = _ViewTemplate
    code_generator_class = _CodeGenerator

    def make_globals(self, d: Any) -> dict[str, Any]:
        """A template's globals as one plain dict, not Jinja's ChainMap over the environment's.

        Every render copies the globals into a new context, and a ChainMap is iterated in
        Python (~10 µs a page). Jinja asks that globals not change once a template is
        loaded, and make_environment sets them all first.
        """
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


class TemplateCodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory between environments (serve and update rebuild often).

    Compiling the templates costs ~80 ms of CPU per environment; loading them from here
    ~3 ms. Jinja checks each entry against its template's source, so an edited template
    is compiled again. Only for environments from make_environment (same options).
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill the bucket from memory, if this template was compiled before."""
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Remember a freshly compiled template."""
        self._code[bucket.key] = bucket.bytecode_to_string()


def make_environment(config: SiteConfig, *,
                     bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """The Jinja environment: theme_dir templates first, then templates/.

    bytecode_cache (e.g. a TemplateCodeCache kept by the caller) skips compiling templates
    that an earlier environment already compiled.
    """
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
        bytecode_cache=bytecode_cache,
    )
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    env.globals["site"] = config.template_view()
    env.globals["config"] = config
    # The build's macro memo (see cached); a template edit makes a new environment.
    env.macro_memo = _MacroMemo()  # type: ignore[attr-defined]
    return env


def render_page(env: jinja2.Environment, template: str, view: dict[str, Any]) -> bytes:
    """Render one page; raise RenderError naming the template and page on any failure."""
    token = _RENDERING.set(_Rendering(PageLinks(view, env.globals["config"]),
                                     getattr(env, "macro_memo", None)))
    try:
        text = env.get_template(template).render(page=view)
    except Exception as error:  # noqa: BLE001 - name the template line, whatever went wrong
        raise RenderError(f"{_template_location(error) or template} (page {view.get('url')!r}): "
                          f"{type(error).__name__}: {error}") from error
    finally:
        _RENDERING.reset(token)
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
