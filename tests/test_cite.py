"""cite.escape_bibtex: whitespace folded and LaTeX specials escaped, as the regex definition says."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from site_src.cite import escape_bibtex

_SPECIAL = re.compile(r"([\\{}&%$#_~^])")
_REPLACE = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _by_the_definition(text: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return _SPECIAL.sub(lambda m: _REPLACE.get(m.group(1), "\\" + m.group(1)), flat)


WHITESPACE_AND_SPECIALS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u3000\\{}&%$#_~^"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(WHITESPACE_AND_SPECIALS) | st.characters(), max_size=40))
def test_escape_bibtex_folds_whitespace_and_escapes_as_the_regex_definition(text):
    assert escape_bibtex(text) == _by_the_definition(text)


def test_escape_bibtex_examples():
    assert escape_bibtex("  Maria\u00a0\tChowdhury \n") == "Maria Chowdhury"
    assert escape_bibtex("50% of R&D_x ~ {a}^\\") == (
        r"50\% of R\&D\_x \textasciitilde{} \{a\}\textasciicircum{}\textbackslash{}")
