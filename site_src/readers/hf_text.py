"""Reader for the Hugging Face papers listing as plain text ('hf-text').

The listing is a header (boilerplate, navigation, the page date "Dec 12") and then cards:
title, abstract, and an optional meta block (byline, "·", "DATE [COMMENTS]"). Real captures
add wrapped lines, duplicated cards, URL and link lines, upvote counts, lynx reference
brackets and truncated tails; docs/formats.md lists every variant and what we do with it.

The reader works in two passes: `_classify` names each line (blank, text, authors, dot,
date, url, ...), then `_Parser` groups text paragraphs into cards. Each meta block closes a
run of paragraphs; the run is split into title/abstract pairs and the meta block belongs to the
last pair. That is what makes a card with no meta block (the sample's "ROOT: ...") its own
paper instead of part of its neighbour. Runs that do not alternate title/abstract are split by
the shape of each paragraph (see `_group_cards`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field

from site_src.model import Appearance, DigestMeta, Paper, Problem, ReadResult
from site_src.readers.common import (
    MONTH_PATTERN, arxiv_id_from_url, clean_text, extract_links, find_arxiv_id,
    github_repo_from_url, latest_on_or_before, make_date, month_number, normalize_newlines,
)

FORMAT = "hf-text"

LYNX_WIDTH = 119
"""A wrapped line at least this long filled lynx's 120-column width: it was cut mid-word."""

AI_SUMMARY_MAX = 400
"""On a trending page, card text shorter than this is the one-line AI summary, not the abstract."""

_BOILERPLATE_TOKENS = tuple(sorted({
    "new", "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!", "subscribe", "daily papers",
    "trending papers", "by", "ak", "and the research community", "daily", "weekly", "monthly",
    "models", "datasets", "spaces", "buckets", "docs", "enterprise", "pricing", "log in",
    "login", "sign up", "papers", "hugging face", "upvote", "search", "collections",
    "community", "posts", "solutions", "·",
}, key=len, reverse=True))
_BOILERPLATE = tuple({re.sub(r"\s+", "", t) for t in _BOILERPLATE_TOKENS})
_HEADINGS = {"dailypapers": "Daily Papers", "trendingpapers": "Trending Papers"}

_ALT_TEXT = r"(?:\[(?:图片[:：][^\]]*|image(?:\s*[:：][^\]]*)?|no alt text)\]|图片[:：]\S*)"
_BULLET = r"[-*•+]"
_AUTHORS = re.compile(rf"^(?:{_BULLET}\s*)?(?:{_ALT_TEXT}\s*)?(\d{{1,6}})\s+authors?$", re.IGNORECASE)
_DATE = re.compile(
    rf"^(?:·\s*)?(?:Published\s+on\s+)?(?P<mon>{MONTH_PATTERN})\.?\s+(?P<day>\d{{1,2}})"
    rf"(?:,\s*(?P<year>\d{{4}}))?(?:\s+(?P<comments>\d{{1,7}}))?$",
)
_LINKED_COUNT = re.compile(r"\[(\d{1,7})\]\((\S*)\)$")
_NUMBER = re.compile(r"^\d{1,7}$")
_BRACKET_UPVOTES = re.compile(r"^\[(\d{1,7}|-)\](?:\s+\d{1,7})?$")
_UPVOTE_LINK_TAIL = re.compile(r"^(\d{1,7}|-)\]\((\S+)\)$")
_UPVOTE_LABEL = re.compile(r"^\[?Upvote(?:\s+(\d{1,7}|-))?(?:\]\((\S+)\))?\]?$", re.IGNORECASE)
_BARE_URL = re.compile(r"^<?(https?://\S+?)>?$", re.IGNORECASE)
_GITHUB_LABEL = re.compile(r"^(?:LINK:\s*)?GitHub(?:\s+([\d.,]+\s*[kKmM]?))?$", re.IGNORECASE)
_LYNX_REF = re.compile(r"\]\[\d{1,5}\]")
_HEADING = re.compile(r"^#{1,6}\s+")
_TRUNCATED = re.compile(r"^\[?content truncated\]?\.?$", re.IGNORECASE)
_SUBMITTED = re.compile(r"^submitted\s*by\b", re.IGNORECASE)
_PREV_DATE_URL = re.compile(r"huggingface\.co/papers/date/(\d{4})-(\d{2})-(\d{2})")
_TERMINAL = tuple(".!?)]}\"'”’")


def looks_like(text: str) -> bool:
    """Tell whether a text looks like an HF papers listing (author bullets or the page header)."""
    head = text[:20000]
    return bool(re.search(r"^\s*[•*-]?\s*\d+\s+authors?\s*$", head, re.MULTILINE | re.IGNORECASE)
                or "Daily Papers" in head or "huggingface.co/papers" in head)


# --- pass 1: one classified item per line ----------------------------------------------------

@dataclass(slots=True)
class _Item:
    kind: str
    """blank, text, skip, authors, dot, date, number, upvotes, upvote-tail, upvote-label, url,
    link, submitted, truncated, heading"""
    line: int
    text: str = ""
    raw_len: int = 0
    number: int | None = None
    date: tuple[int, int, int | None] | None = None
    comments: int | None = None
    arxiv_id: str | None = None
    url: str | None = None
    repo: str | None = None
    stars: int | None = None
    inline_dot: bool = False


def _is_boilerplate(text: str) -> bool:
    """Tell whether a line is made only of page boilerplate words, joined or split."""
    if len(text) > 300:
        return False
    squashed = "".join(text.casefold().split())
    if not squashed:
        return False
    # Walk forward over the joined tokens: "byAK and the research community" and
    # "ModelsDatasetsSpaces" are boilerplate, "Robust Models" is not (and fails at once).
    reachable = {0}
    for start in range(len(squashed)):
        if start in reachable:
            reachable.update(start + len(tok) for tok in _BOILERPLATE
                             if squashed.startswith(tok, start))
    return len(squashed) in reachable


def _strip_lynx(text: str) -> str:
    """Remove lynx reference brackets: '][12]' anywhere and an unmatched leading '['."""
    text = _LYNX_REF.sub("", text).strip()
    if text == "]":
        return ""
    if text.startswith("[") and text.count("[") > text.count("]"):
        text = text[1:].strip()
    return text


def _parse_stars(text: str | None) -> int | None:
    if not text:
        return None
    text = text.replace(",", "").strip().lower()
    scale = 1000 if text.endswith("k") else 1_000_000 if text.endswith("m") else 1
    try:
        return round(float(text.rstrip("km").strip()) * scale)
    except ValueError:
        return None


def _is_alt_text(text: str) -> bool:
    bare = re.sub(rf"^(?:{_BULLET}\s*)+", "", text).strip()
    return not bare or bool(re.fullmatch(rf"{_ALT_TEXT}|\[{_ALT_TEXT}\]", bare, re.IGNORECASE))


def _classify(raw: str, number: int) -> _Item:
    """Name one line of the listing."""
    text = clean_text(raw)
    if not text:
        return _Item("blank", number)
    raw_len = len(raw.rstrip())
    text = _strip_lynx(_HEADING.sub("", text).strip())
    text = _HEADING.sub("", text).strip()
    if text.startswith("**") and text.endswith("**") and len(text) > 4:
        text = text[2:-2].strip()
    if not text:
        return _Item("skip", number)
    if _TRUNCATED.match(text):
        return _Item("truncated", number)
    if text == "·":
        return _Item("dot", number)
    if match := _AUTHORS.match(text):
        return _Item("authors", number, text, number=int(match[1]))
    # Markdown dumps link the comment count: 'May 2 [3](https://huggingface.co/papers/<id>#community)'.
    linked = _LINKED_COUNT.search(text)
    if match := _DATE.match(text[: linked.start()] + linked[1] if linked else text):
        month = month_number(match["mon"])
        assert month is not None
        year = int(match["year"]) if match["year"] else None
        comments = int(match["comments"]) if match["comments"] else None
        return _Item("date", number, text, date=(month, int(match["day"]), year),
                     comments=comments, inline_dot=text.startswith("·"),
                     arxiv_id=arxiv_id_from_url(_absolute(linked[2])) if linked else None)
    if _NUMBER.match(text):
        return _Item("number", number, text, number=int(text))
    if match := _BRACKET_UPVOTES.match(text):
        return _Item("upvotes", number, text, number=0 if match[1] == "-" else int(match[1]))
    if match := _UPVOTE_LINK_TAIL.match(text):
        return _Item("upvote-tail", number, text, number=0 if match[1] == "-" else int(match[1]),
                     arxiv_id=arxiv_id_from_url(_absolute(match[2])))
    if match := _UPVOTE_LABEL.match(text):
        value = None if match[1] is None else 0 if match[1] == "-" else int(match[1])
        return _Item("upvote-label", number, text, number=value,
                     arxiv_id=arxiv_id_from_url(_absolute(match[2] or "")))
    if _SUBMITTED.match(text):
        return _Item("submitted", number, text)
    if link := _whole_link(text):
        return _classify_link(*link, number)
    if match := _BARE_URL.match(text):
        return _Item("url", number, text, arxiv_id=arxiv_id_from_url(match[1]), url=match[1])
    if _is_alt_text(text) or re.fullmatch(rf"(?:{_BULLET}\s*)+", text):
        return _Item("skip", number, text)
    if _is_boilerplate(text):
        squashed = re.sub(r"\s+", "", text.casefold())
        if squashed in _HEADINGS:
            return _Item("heading", number, _HEADINGS[squashed])
        return _Item("skip", number, text)
    return _Item("text", number, text, raw_len=raw_len)


def _absolute(url: str) -> str:
    if url.startswith("/"):
        return "https://huggingface.co" + url
    if url and not re.match(r"^[a-z]+://", url, re.IGNORECASE) and url.startswith(("login", "papers/")):
        return "https://huggingface.co/" + url
    return url


def _whole_link(text: str) -> tuple[bool, str, str] | None:
    """Split a line that is one Markdown link or image into (is_image, label, url)."""
    # Found by position, not a regex: '[a](b' repeated thousands of times must stay linear.
    if not text.endswith(")") or not text.startswith(("[", "![")):
        return None
    cut = text.rfind("](")
    url = text[cut + 2:-1]
    if cut < 1 or any(ch.isspace() for ch in url):
        return None
    image = text.startswith("!")
    return image, text[2 if image else 1:cut], url


def _classify_link(image: bool, label: str, url: str, number: int) -> _Item:
    """Name a line that is one Markdown link or image: '[label](url)'."""
    label, url = clean_text(label), _absolute(url)
    arxiv_id = arxiv_id_from_url(url)
    if github := _GITHUB_LABEL.match(label):
        return _Item("link", number, label, repo=github_repo_from_url(url),
                     stars=_parse_stars(github[1]), arxiv_id=arxiv_id)
    if re.fullmatch(r"arxiv(?:\s+page)?", label, re.IGNORECASE):
        return _Item("link", number, label, arxiv_id=arxiv_id or find_arxiv_id(url))
    inner = re.sub(r"!?\[[^\]]*\]\([^)]*\)", "", label).strip()  # an image inside the link
    if image or not inner or _is_alt_text(inner):
        return _Item("url", number, label, arxiv_id=arxiv_id, url=url)
    item = _classify(inner, number)
    if item.kind in ("text", "date", "authors"):
        item.arxiv_id = item.arxiv_id or arxiv_id
        item.raw_len = 0
        return item
    if item.kind in ("skip", "heading"):
        return item
    return _Item("url", number, label, arxiv_id=arxiv_id, url=url)


# --- pass 2: cards ----------------------------------------------------------------------------

@dataclass(slots=True)
class _Para:
    line: int
    lines: list[str] = field(default_factory=list)
    lens: list[int] = field(default_factory=list)
    """Raw length of each line, to spot lynx's mid-word cuts."""
    ids: list[str] = field(default_factory=list)
    upvotes: int | None = None
    repo: str | None = None
    stars: int | None = None

    def add(self, text: str, raw_len: int) -> None:
        self.lines.append(text)
        self.lens.append(raw_len)

    def text(self) -> str:
        """Join wrapped lines with one space (none after a line cut at the wrap width)."""
        out = ""
        for index, part in enumerate(self.lines):
            if index and self.lens[index - 1] >= LYNX_WIDTH:
                out += part
            else:
                out += (" " if out else "") + part
        return clean_text(out)


@dataclass(slots=True)
class _Meta:
    line: int
    n_authors: int | None = None
    organization: str | None = None
    dot: bool = False
    date: tuple[int, int, int | None] | None = None
    date_line: int | None = None
    comments: int | None = None
    upvotes: int | None = None
    ids: list[str] = field(default_factory=list)
    repo: str | None = None
    stars: int | None = None
    upvote_label: bool = False


@dataclass(slots=True)
class _Card:
    line: int
    title: str
    text: str
    meta: _Meta | None
    ids: list[str]
    upvotes: int | None
    repo: str | None
    stars: int | None
    truncated: bool = False
    organization: str | None = None
    """An organization byline found without a meta block."""


class _Parser:
    """Group classified lines into cards; collect problems on the way."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []
        self.cards: list[_Card] = []
        self.paras: list[_Para] = []
        self.meta: _Meta | None = None
        self.pre = _Para(0)  # attributes seen before the next card's text
        self.in_para = False
        self.page_date: tuple[int, int, int | None] | None = None
        self.page_date_line: int | None = None
        self.prev_date: dt.date | None = None
        self.heading: str | None = None
        self.truncated_marker: int | None = None
        self.skip_username = False
        self.last_kind = "blank"

    def problem(self, line: int | None, reason: str, severity: str = "warning") -> None:
        self.problems.append(Problem(self.source, line, reason, severity))  # type: ignore[arg-type]

    # feeding ---------------------------------------------------------------------------------
    def feed(self, item: _Item) -> None:
        handler = getattr(self, "on_" + item.kind.replace("-", "_"))
        handler(item)
        if item.kind not in ("blank",):
            self.last_kind = item.kind

    def on_blank(self, item: _Item) -> None:
        self.in_para = False

    def on_skip(self, item: _Item) -> None:
        self.in_para = False

    def on_heading(self, item: _Item) -> None:
        self.heading = self.heading or item.text
        self.in_para = False

    def on_truncated(self, item: _Item) -> None:
        self.truncated_marker = item.line
        self.in_para = False

    def on_submitted(self, item: _Item) -> None:
        self.close_if_meta()
        rest = re.sub(r"^submitted\s*by\s*", "", item.text, flags=re.IGNORECASE)
        self.skip_username = not rest
        self.in_para = False

    def on_text(self, item: _Item) -> None:
        if self.skip_username:
            self.skip_username = False
            self.in_para = False
            return
        self.close_if_meta()
        if self.in_para and self.paras:
            para = self.paras[-1]
        else:
            para = _Para(item.line)
            self.take_pre(para)
            self.paras.append(para)
            self.in_para = True
        para.add(item.text, item.raw_len)
        if item.arxiv_id:
            para.ids.append(item.arxiv_id)

    def take_pre(self, para: _Para) -> None:
        """Hand what was seen before this paragraph (upvotes, id, repository) to it."""
        pre = self.pre
        if not (pre.ids or pre.upvotes is not None or pre.repo):
            return
        para.ids.extend(pre.ids)
        para.upvotes = pre.upvotes
        para.repo, para.stars = pre.repo, pre.stars
        self.pre = _Para(0)

    def open_meta(self, line: int) -> _Meta:
        if self.meta is None:
            self.meta = _Meta(line)
        return self.meta

    def close_if_meta(self) -> None:
        if self.meta is not None:
            self.close_segment(final=False)

    def on_authors(self, item: _Item) -> None:
        self.in_para = False
        self.skip_username = False
        if self.meta is not None and (self.meta.n_authors is not None or self.meta.date is not None):
            self.close_segment(final=False)
        meta = self.open_meta(item.line)
        meta.n_authors = item.number

    def take_organization(self) -> None:
        """A byline-less meta: an odd paragraph just before the '·' is the organization."""
        meta = self.meta
        if meta is None or meta.n_authors is not None or meta.organization is not None:
            return
        if len(self.paras) % 2 == 1 and len(self.paras) >= 3:
            org = self.paras[-1]
            name = _organization_name(org.text())
            if len(name) <= 120:
                self.paras.pop()
                meta.organization = name
                meta.ids.extend(org.ids)

    def on_dot(self, item: _Item) -> None:
        self.in_para = False
        meta = self.open_meta(item.line)
        meta.dot = True
        self.take_organization()

    def on_date(self, item: _Item) -> None:
        self.in_para = False
        if self.is_page_date(item):
            self.page_date, self.page_date_line = item.date, item.line
            for para in self.paras:
                self.problem(para.line, f"skipped header text {_excerpt(para.text())!r} "
                             "(search box echo or navigation)")
            self.paras = []
            return
        if self.meta is not None and self.meta.date is not None:
            if self.meta.date != item.date or (item.comments not in (None, self.meta.comments)):
                self.close_segment(final=False)
            else:
                return  # "· Published on Oct 4, 2026" next to "· Oct 4, 2026"
        meta = self.open_meta(item.line)
        meta.dot = meta.dot or item.inline_dot
        self.take_organization()
        meta.date, meta.date_line, meta.comments = item.date, item.line, item.comments
        if item.arxiv_id:
            meta.ids.append(item.arxiv_id)

    def is_page_date(self, item: _Item) -> bool:
        assert item.date is not None
        return (self.page_date is None and not self.cards and self.meta is None
                and item.date[2] is None and item.comments is None and not item.inline_dot
                and all(len(p.text()) <= 80 for p in self.paras))

    def on_number(self, item: _Item) -> None:
        self.in_para = False
        if self.last_kind == "upvote-label" and self.meta is not None:
            self.meta.upvotes = item.number
        else:
            self.pre.upvotes = item.number  # lynx puts the count before the title

    def on_upvotes(self, item: _Item) -> None:
        self.in_para = False
        self.close_if_meta()
        self.pre.upvotes = item.number

    def on_upvote_tail(self, item: _Item) -> None:
        self.in_para = False
        target = self.meta if self.meta is not None else (self.paras[-1] if self.paras else self.pre)
        target.upvotes = item.number
        if item.arxiv_id:
            target.ids.append(item.arxiv_id)

    def on_upvote_label(self, item: _Item) -> None:
        self.in_para = False
        target = self.meta if self.meta is not None else (self.paras[-1] if self.paras else self.pre)
        if item.number is not None:
            target.upvotes = item.number
        if item.arxiv_id:
            target.ids.append(item.arxiv_id)

    def attach(self, item: _Item) -> None:
        """Give an id/repository line to the card it belongs to."""
        if self.meta is not None:
            card_ids = self.meta.ids + [i for p in self.paras[-2:] for i in p.ids]
            if item.arxiv_id and item.arxiv_id not in card_ids and card_ids:
                target = self.pre  # a thumbnail or title link of the next card
            elif item.repo and (self.meta.repo or any(p.repo for p in self.paras[-2:])):
                target = self.pre
            else:
                target = self.meta
        else:
            target = self.paras[-1] if self.paras else self.pre
        if item.arxiv_id:
            target.ids.append(item.arxiv_id)
        if item.repo and not target.repo:
            target.repo, target.stars = item.repo, item.stars

    def on_url(self, item: _Item) -> None:
        self.in_para = False
        if item.url and (match := _PREV_DATE_URL.search(item.url)) and not self.cards:
            self.prev_date = make_date(int(match[1]), int(match[2]), int(match[3]))
            return
        if item.arxiv_id:
            self.attach(item)

    def on_link(self, item: _Item) -> None:
        self.in_para = False
        self.attach(item)

    # cards -----------------------------------------------------------------------------------
    def close_segment(self, *, final: bool) -> None:
        """Turn the paragraphs collected since the last meta block into cards."""
        paras, meta = self.paras, self.meta
        self.paras, self.meta, self.in_para = [], None, False
        if not paras:
            if meta is not None:
                self.problem(meta.line, "skipped a byline/date block that has no title above it",
                             "error")
            return
        groups, orphans = _group_cards(paras)
        for orphan in orphans:
            self.problem(orphan.line, "skipped text that pairs with no title or abstract: "
                         f"{_excerpt(orphan.text())!r}", "error")
        cards: list[_Card] = []
        for index, (title, text, org) in enumerate(groups):
            card = self.card(title, text, meta if index == len(groups) - 1 else None)
            if org is not None:
                card.organization = _organization_name(org.text())
                card.ids.extend(org.ids)
            cards.append(card)
        if final and cards:
            last = cards[-1]
            marker = self.truncated_marker
            if ((marker is not None and marker > last.line) or _looks_cut(last)
                    or (meta is not None and meta.dot and meta.date is None)):
                last.truncated = True
        for card in cards:
            if not card.text and not card.truncated:
                self.problem(card.line, "entry has a title but no abstract")
        self.cards.extend(cards)

    def card(self, title: _Para, text: _Para | None, meta: _Meta | None) -> _Card:
        parts = [title] + ([text] if text else [])
        ids = [i for p in parts for i in p.ids] + (meta.ids if meta else [])
        upvotes = next((p.upvotes for p in parts if p.upvotes is not None), None)
        if meta is not None and meta.upvotes is not None:
            upvotes = meta.upvotes
        repo = next((p.repo for p in parts if p.repo), None) or (meta.repo if meta else None)
        stars = next((p.stars for p in parts if p.repo), None) or (meta.stars if meta else None)
        return _Card(title.line, title.text(), text.text() if text else "", meta, ids, upvotes,
                     repo, stars)

    def finish(self) -> None:
        if self.paras or self.meta is not None:
            self.close_segment(final=True)
        elif (self.truncated_marker is not None and self.cards
              and self.truncated_marker > self.cards[-1].line):
            self.cards[-1].truncated = True


def _is_sentence(text: str) -> bool:
    """Tell abstract-like text (long, or ending a sentence) from a title or an organization name."""
    # Titles end in '?' or '!' often, in '.' almost never; abstracts and AI summaries end in '.'.
    return len(text) > 200 or text.rstrip("\"')]”’ ").endswith(".")


def _group_cards(paras: list[_Para]) -> tuple[list[tuple[_Para, _Para | None, _Para | None]], list[_Para]]:
    """Split a run of paragraphs into (title, abstract, organization) cards and orphans."""
    kinds = "".join("S" if _is_sentence(p.text()) else "N" for p in paras)
    if len(paras) == 2 or (len(paras) % 2 == 0 and re.fullmatch(r"(?:NS)*", kinds)):
        return [(paras[i], paras[i + 1], None) for i in range(0, len(paras), 2)], []
    if len(paras) == 1:
        return [(paras[0], None, None)], []
    # Irregular: walk title/abstract pairs; a name between an abstract and the next title is
    # that card's organization (captures that dropped '·' and the date), a name before the
    # first title, or an abstract with no title, is skipped.
    groups: list[list] = []
    orphans: list[_Para] = []
    i, n = 0, len(paras)
    while i < n:
        if kinds[i] == "S":
            orphans.append(paras[i])
            i += 1
        elif kinds[i + 1: i + 3] == "NS":
            if groups and groups[-1][1] is not None and groups[-1][2] is None:
                groups[-1][2] = paras[i]
            else:
                orphans.append(paras[i])
            i += 1
        elif i + 1 == n:
            groups.append([paras[i], None, None])
            i += 1
        else:
            groups.append([paras[i], paras[i + 1], None])
            i += 2
    return [tuple(g) for g in groups], orphans  # type: ignore[misc]


def _organization_name(text: str) -> str:
    """Drop a lynx logo alt text ('[microsoft] Microsoft') from an organization byline."""
    return re.sub(r"^\[[^\]]*\]\s+(?=\S)", "", text)


def _looks_cut(card: _Card) -> bool:
    """Tell whether a last, meta-less card stops mid-sentence (the capture was cut off)."""
    if card.meta is not None:
        return False
    text = card.text.rstrip()
    if not text:
        return True
    last_word = text.split()[-1]
    if re.match(r"^(?:https?://|(?:www\.)?github\.com/)", last_word, re.IGNORECASE):
        return False
    return not text.endswith(_TERMINAL)


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title_key(title: str) -> str:
    return re.sub(r"[\W_]+", "", title.casefold())


# --- putting it together ----------------------------------------------------------------------

def _digest_date(parser: _Parser, digest_date: dt.date | None, today: dt.date,
                 ) -> tuple[dt.date | None, str | None]:
    if digest_date is not None:
        return digest_date, "option"
    if parser.page_date is None:
        return None, None
    month, day, year = parser.page_date
    if year is not None:
        found = make_date(year, month, day)
    elif parser.prev_date is not None:
        # The header's link to the previous day pins the page's year.
        found = make_date(parser.prev_date.year, month, day)
        if found is not None and found < parser.prev_date:
            found = make_date(parser.prev_date.year + 1, month, day)
    else:
        found = latest_on_or_before(month, day, today)
    if found is None:
        parser.problem(parser.page_date_line, "the page date is not a real day; digest date unknown")
        return None, None
    return found, "page"


def _card_date(card: _Card, digest: dt.date | None, today: dt.date, parser: _Parser,
               ) -> tuple[dt.date | None, str | None]:
    meta = card.meta
    if meta is None or meta.date is None:
        return None, None
    month, day, year = meta.date
    if year is not None:
        found = make_date(year, month, day)
        precision = "day"
    elif digest is not None:
        found = make_date(digest.year, month, day)
        precision = "year-inferred"
        if found is not None and found > digest:
            parser.problem(meta.date_line, f"yearless date {found:%b} {day} falls after the digest "
                           f"date {digest.isoformat()}; kept in the digest's year")
    else:
        found = latest_on_or_before(month, day, today)
        precision = "year-inferred"
    if found is None:
        parser.problem(meta.date_line, "the card's date is not a real day; date left empty")
        return None, None
    return found, precision


def _paper(card: _Card, position: int, digest: dt.date | None, today: dt.date, parser: _Parser,
           trending: bool) -> Paper:
    published_at, precision = _card_date(card, digest, today, parser)
    meta = card.meta
    ids = list(dict.fromkeys(card.ids))
    if len(ids) > 1:
        parser.problem(card.line, f"card links to several arXiv ids ({', '.join(ids)}); "
                       f"kept {ids[0]}")
    summary, ai_summary = card.text, None
    if trending and summary and len(summary) < AI_SUMMARY_MAX:
        summary, ai_summary = "", card.text
    github, project = extract_links(card.text)
    comments = meta.comments if meta else None
    return Paper(
        slug="",
        title=card.title,
        summary=summary,
        id=ids[0] if ids else None,
        n_authors=meta.n_authors if meta else None,
        organization=(meta.organization if meta else None) or card.organization,
        published_at=published_at,
        date_precision=precision,  # type: ignore[arg-type]
        upvotes=card.upvotes,
        comments=comments,
        github_repo=card.repo or github,
        github_stars=card.stars if card.repo else None,
        project_page=project,
        ai_summary=ai_summary,
        truncated=card.truncated,
        digests=(Appearance(digest="", line=card.line, position=position, comments=comments,
                            upvotes=card.upvotes),),
    )


def _merge_duplicate(kept: _Card, dup: _Card) -> _Card:
    """Fill what the first copy of a card lacks from its duplicate."""
    meta = kept.meta
    if meta is None:
        meta = dup.meta
    elif dup.meta is not None:
        meta = dataclasses.replace(meta, **{
            name: getattr(dup.meta, name) for name in
            ("n_authors", "organization", "date", "date_line", "comments")
            if getattr(meta, name) is None and getattr(dup.meta, name) is not None
        })
    return dataclasses.replace(
        kept, meta=meta, ids=kept.ids + [i for i in dup.ids if i not in kept.ids],
        upvotes=kept.upvotes if kept.upvotes is not None else dup.upvotes,
        repo=kept.repo or dup.repo, stars=kept.stars if kept.repo else dup.stars,
        organization=kept.organization or dup.organization,
        text=kept.text if len(kept.text) >= len(dup.text) else dup.text,
    )


def parse(text: str, *, source: str, digest_date: dt.date | None = None,
          today: dt.date) -> ReadResult:
    """Parse an HF papers text listing into papers and problems; never raises on bad input."""
    parser = _Parser(source)
    for number, raw in enumerate(normalize_newlines(text).split("\n"), start=1):
        parser.feed(_classify(raw, number))
    parser.finish()

    digest, date_source = _digest_date(parser, digest_date, today)
    trending = parser.heading == "Trending Papers"

    kept: list[_Card] = []
    by_key: dict[str, int] = {}
    for card in parser.cards:
        keys = [f"id:{i}" for i in card.ids] + [f"title:{_title_key(card.title)}"]
        index = next((by_key[k] for k in keys if k in by_key), None)
        if index is not None and card.ids and kept[index].ids and not set(card.ids) & set(kept[index].ids):
            index = None  # same title, different arXiv ids: two papers
        if index is None:
            index = len(kept)
            kept.append(card)
        else:
            first = kept[index]
            parser.problem(card.line, f"duplicate card of the entry at line {first.line} "
                           f"({_excerpt(first.title)!r}); merged into it")
            merged = _merge_duplicate(first, card)
            # A complete copy makes up for a cut-off one.
            kept[index] = dataclasses.replace(merged, truncated=first.truncated and card.truncated)
        for key in keys:
            by_key.setdefault(key, index)

    papers: list[Paper] = []
    for card in kept:
        if card.truncated:
            parser.problem(card.line, f"the digest ends inside this entry ({_excerpt(card.title)!r}); "
                           "not ingested", "error")
            continue
        papers.append(_paper(card, len(papers), digest, today, parser, trending))

    problems = tuple(sorted(parser.problems, key=lambda p: (p.line or 0)))
    return ReadResult(
        digest=DigestMeta(FORMAT, digest, date_source, parser.heading),
        papers=tuple(papers),
        problems=problems,
        entries_seen=len(parser.cards),
    )
