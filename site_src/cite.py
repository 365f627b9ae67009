"""Citations for papers: a BibTeX entry built from what the store knows, nothing invented."""
from __future__ import annotations

import re

from site_src.model import Paper

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_SPECIAL = re.compile(r"([\\{}&%$#_~^])")
_REPLACE = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape_bibtex(text: str) -> str:
    """Escape characters that BibTeX/LaTeX would read as markup; keep braces balanced."""
    flat = " ".join(text.split())  # (the whitespace of re's \s and of str.strip alike)
    if _SPECIAL.search(flat) is None:  # most names and titles: nothing to replace
        return flat
    return _SPECIAL.sub(lambda m: _REPLACE.get(m.group(1), "\\" + m.group(1)), flat)


def bibtex_key(paper: Paper) -> str:
    """Citation key: the paper's slug, which is unique and stable."""
    return re.sub(r"[^A-Za-z0-9_:.-]", "-", paper.slug) or "paper"


def bibtex_for(paper: Paper, *, url: str | None = None) -> str:
    """Return a BibTeX @misc entry (arXiv eprint fields when the id is known)."""
    fields: list[tuple[str, str]] = [("title", "{" + escape_bibtex(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(escape_bibtex(a) for a in paper.authors)))
    elif paper.organization:
        fields.append(("author", "{" + escape_bibtex(paper.organization) + "}"))
    if paper.published_at is not None:
        fields.append(("year", str(paper.published_at.year)))
        if paper.date_precision in (None, "day", "month"):
            fields.append(("month", _MONTHS[paper.published_at.month - 1]))
    if paper.id:
        fields.append(("eprint", escape_bibtex(paper.id)))
        fields.append(("archivePrefix", "arXiv"))
        if paper.categories:
            fields.append(("primaryClass", escape_bibtex(paper.categories[0])))
    if paper.doi:
        fields.append(("doi", escape_bibtex(paper.doi)))
    if paper.journal_ref:
        fields.append(("note", escape_bibtex(paper.journal_ref)))
    link = f"https://arxiv.org/abs/{paper.id}" if paper.id else url
    if link:
        fields.append(("url", link.replace("}", "%7D").replace("{", "%7B")))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{bibtex_key(paper)},\n{body}\n}}\n"
