"""The render shortcuts give exactly what plain Jinja, urls.relative and markdown-it give."""
from __future__ import annotations

import dataclasses
import html.parser
from pathlib import Path
from types import SimpleNamespace

import jinja2
import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from site_src import markup, urls
from site_src.config import SiteConfig
from site_src.render import (FILTERS, PageLinks, TemplateCodeCache, escape, make_environment,
                             markdown_filter, render_page)

ROOT = Path(__file__).resolve().parent.parent

segment = st.sampled_from(["papers", "topics", "a", "b", "page", "2", "x-y", "static"])
folder_url = st.lists(segment, max_size=4).map(lambda parts: "".join(p + "/" for p in parts))
file_url = st.tuples(folder_url, st.sampled_from(["feed.xml", "site.css", "404.html"])).map("".join)
page_url = st.one_of(folder_url, file_url)
target_url = st.one_of(
    page_url,
    st.tuples(page_url, st.sampled_from(["#", "#top", "#t-a"])).map("".join),
    st.sampled_from(["#main", ""]),
)


@settings(max_examples=400, deadline=None)
@given(from_url=page_url, to_url=target_url, directory_links=st.booleans(), rooted=st.booleans())
def test_page_links_match_urls_relative_and_rooted(from_url, to_url, directory_links, rooted):
    config = SimpleNamespace(directory_links=directory_links, base_path="/survey/")
    view = {"url": from_url, "rooted": True} if rooted else {"url": from_url}
    expected = (urls.rooted("/survey/", to_url, directory_links=directory_links) if rooted
                else urls.relative(from_url, to_url, directory_links=directory_links))
    assert PageLinks(view, config).link(to_url) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aZ09 ,.;:?%'\"()/-\n*_#&<>`$[]!", max_size=60))
def test_the_plain_prose_shortcut_renders_what_markdown_it_renders(text):
    assert str(markdown_filter(text)) == str(markup.render_markdown(text))


def test_typical_abstract_takes_the_shortcut_and_matches_markdown_it():
    text = 'We show that "robust" training (with 2x less compute) helps: accuracy rises by 10%; see fig. 3/4 - ok.'
    assert str(markdown_filter(text)) == str(markup.render_markdown(text))
    assert str(markdown_filter(text)).startswith("<p>We show")


@given(st.one_of(st.text(), st.integers(), st.none(), st.text().map(markupsafe.Markup)))
def test_escape_gives_the_text_markupsafe_gives(value):
    assert str(escape(value)) == str(markupsafe.escape(value))


JINJA_CASES = {
    "loops.html": "{% for x in page.things %}<li>{{ x.name }} {{ loop.index }}{% if loop.last %}.{% endif %}</li>{% endfor %}",
    "set.html": "{% set y %}<b>{{ page.title }}</b>{% endset %}{{ y }} {{ y|upper }} {{ page.title ~ '!' }}",
    "filter.html": "{% filter upper %}{{ page.title }} and {{ page.n }}{% endfilter %}|{{ page.things|map(attribute='name')|join(', ') }}",
    "macro.html": ("{% macro m(a, b='<i>') %}[{{ a }}|{{ b }}]{% endmacro %}{% macro w() %}({{ caller() }}){% endmacro %}"
                   "{{ m(page.title) }}{{ m(1, 2) }}{% call w() %}{{ page.title }}{% endcall %}"),
    "methods.html": "{{ page.title.upper() }} {{ page.get('missing', '-') }} {{ '{:,}'.format(page.n) }} {{ page.things|length }}",
    "json.html": "<script type=\"application/ld+json\">{{ page|tojson }}</script>",
}
HOSTILE = {"title": "<script>alert('x')</script> & \"q\"", "n": 12345,
           "things": [{"name": "<b>one</b>"}, {"name": "two's"}], "url": "a/"}


@pytest.mark.parametrize("name", sorted(JINJA_CASES))
def test_the_compiled_templates_print_what_plain_jinja_prints(name, tmp_path):
    (tmp_path / name).write_text(JINJA_CASES[name], encoding="utf-8")
    config = SiteConfig(templates_dir=tmp_path)
    plain = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), autoescape=True,
                               undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True)
    plain.filters.update(FILTERS)
    expected = plain.get_template(name).render(page=HOSTILE, config=config)
    assert render_page(make_environment(config), name, HOSTILE).decode() == expected
    assert "<script>alert" not in expected.replace('<script type="application/ld+json">', "")


INHERITANCE_FILES = {
    "base.html": ("<title>{% block title %}{{ page.title }}{% endblock %}</title>{% for x in page.things %}"
                  "{% block item scoped %}<i>{{ x.name }}</i>{% endblock %}{% endfor %}"
                  "<main>{% block main %}base {{ page.n }}{% endblock %}</main>{{ self.title() }}"),
    "child.html": ("{% extends 'base.html' %}{% block title %}[{{ super() }}]{% endblock %}"
                   "{% block main %}{% if page.n %}<p>{{ page.title }}</p>{% endif %}"
                   "{% include 'part.html' %}{% for x in page.things %}{{ x.name }}, {% endfor %}{% endblock %}"),
    "part.html": "<aside>{{ page.title }} {% block inner %}in part{% endblock %}</aside>",
    "nocontext.html": ("{% extends 'base.html' %}{% block main %}before {% include 'plain.html' without context %}"
                       " after {{ page.n }}{% endblock %}"),
    "plain.html": "<b>plain</b>",
}


@pytest.mark.parametrize("name", ["base.html", "child.html", "part.html", "nocontext.html"])
def test_blocks_collected_in_lists_print_what_plain_jinja_prints(name, tmp_path):
    for file, text in INHERITANCE_FILES.items():
        (tmp_path / file).write_text(text, encoding="utf-8")
    config = SiteConfig(templates_dir=tmp_path)
    plain = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), autoescape=True,
                               undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True)
    expected = plain.get_template(name).render(page=HOSTILE, config=config)
    assert render_page(make_environment(config), name, HOSTILE).decode() == expected
    assert "<script>alert" not in expected


def test_a_page_without_includes_comes_out_of_its_template_in_one_piece(tmp_path):
    for file, text in INHERITANCE_FILES.items():
        (tmp_path / file).write_text(text, encoding="utf-8")
    env = make_environment(SiteConfig(templates_dir=tmp_path))
    pieces = list(env.get_template("base.html").generate(page=HOSTILE))
    assert len(pieces) == 1 and "<i>two&#39;s</i>" in pieces[0]

    def block_pieces(name: str) -> list[str]:
        template = env.get_template(name)
        return list(template.blocks["main"](template.new_context({"page": HOSTILE})))
    assert len(block_pieces("base.html")) == 1
    # An include (compiled as `yield from` whatever the frame) keeps Jinja's generators.
    assert len(block_pieces("child.html")) > 1


CARD_MACRO = (
    "{% macro card(c, heading='h3') %}<li><{{ heading }}><a href=\"{{ c.url|href }}\">{{ c.title }}</a></{{ heading }}>"
    "{% for t in c.topics %}<a href=\"{{ t.url|href }}\">{{ t.name }}</a>{% endfor %}</li>{% endmacro %}"
    "{% macro odd(c) %}<a href=\"{{ c.url|href|upper }}\">{{ c.title }}</a>{% endmacro %}"
)
LIST = ("{% from '_m.html' import card, odd with context %}"
        "{% for c in page.cards %}{{ card|cached(c) }}{{ card|cached(c, 'h2') }}{{ odd|cached(c) }}{% endfor %}")
OLD_STYLE_LIST = ("{% from '_m.html' import card, odd with context %}"
                  "{% for c in page.cards %}{{ cached(card, c) }}{{ cached(card, c, 'h2') }}{{ cached(odd, c) }}{% endfor %}")
CARDS = [
    {"url": "papers/p1/", "title": "<script>x</script>", "topics": [{"url": "topics/a/", "name": "A"}]},
    {"url": "papers/p2/", "title": "Two", "topics": [{"url": "topics/a/", "name": "A"}, {"url": "topics/b/", "name": "B&"}]},
    {"url": "papers/p3/", "title": "Three", "topics": [{"url": "topics/a/b/#x", "name": "AB"}]},
]
LIST_PAGES = ["topics/a/", "topics/b/", "topics/c/", "topics/a/page/2/", "topics/a/b/", "authors/x/",
              "authors/y/", "authors/y/page/3/", "years/2024/", "", "papers/p1/", "papers/p9/", "404.html"]


def test_remembered_macros_print_what_a_fresh_rendering_prints_on_every_page(tmp_path):
    (tmp_path / "_m.html").write_text(CARD_MACRO, encoding="utf-8")
    (tmp_path / "list.html").write_text(LIST, encoding="utf-8")
    (tmp_path / "old.html").write_text(OLD_STYLE_LIST, encoding="utf-8")
    config = SiteConfig(templates_dir=tmp_path, base_url="https://example.org/survey/")
    shared = make_environment(config)
    for url in LIST_PAGES * 2:
        view = {"url": url, "cards": CARDS, **({"rooted": True} if url == "404.html" else {})}
        fresh = make_environment(config)
        fresh.macro_memo = None
        expected = render_page(fresh, "list.html", view)
        assert render_page(shared, "list.html", view) == expected, url
        assert render_page(shared, "old.html", view) == expected, url
        assert b"<script>x" not in expected
    # Cards were really reused and filled in, not rendered each time.
    fragments = shared.macro_memo.fragments.values()
    assert any(f.texts is not None and len(f.html) > 2 for f in fragments)
    # A macro that does more with a link than print it is never filled in, only reused.
    odd = [f for f in fragments if any("INDEX.HTML" in html for html in f.html.values())]
    assert odd and all(f.texts is None for f in odd)


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [value for name, value in attrs if name in ("href", "src", "action") and value]


def test_the_shipped_site_renders_the_same_with_and_without_the_macro_memo():
    from site_src.config import load_config
    from site_src.pipeline import load_site
    from site_src.plan import plan_site

    config = load_config(ROOT)
    site, _ = load_site(config)
    pages = plan_site(site, config)
    shared = make_environment(config)
    unshared = make_environment(config)
    unshared.macro_memo = None
    for page in pages:
        data = render_page(shared, page.template, page.view)
        assert data == render_page(unshared, page.template, page.view), page.url
    parser = _Links()
    parser.feed(render_page(shared, "topic.html", next(p for p in pages if p.template == "topic.html").view).decode())
    assert any(href.startswith("../../papers/") for href in parser.hrefs)


def test_a_code_cache_reuses_compiled_templates_until_one_is_edited(tmp_path):
    (tmp_path / "t.html").write_text("<p>{{ page.url|href }} one</p>", encoding="utf-8")
    config = dataclasses.replace(SiteConfig(), templates_dir=tmp_path)
    cache = TemplateCodeCache()
    view = {"url": "topics/a/"}
    assert render_page(make_environment(config, bytecode_cache=cache), "t.html", view) == b"<p>index.html one</p>"
    assert len(cache._code) == 1
    assert render_page(make_environment(config, bytecode_cache=cache), "t.html", view) == b"<p>index.html one</p>"
    (tmp_path / "t.html").write_text("<p>{{ page.url|href }} two</p>", encoding="utf-8")
    assert render_page(make_environment(config, bytecode_cache=cache), "t.html", view) == b"<p>index.html two</p>"
