"""Escaping for XML written as text (feeds, sitemap), byte for byte as ElementTree writes it.

Writing the few element shapes these files have as strings is several times cheaper than
building and serialising an ElementTree, and the tests compare the bytes with ElementTree's.
"""
from __future__ import annotations


def xml_text(text: str) -> str:
    """Escape character data as ElementTree does (&, <, >)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def xml_attribute(text: str) -> str:
    """Escape an attribute value as ElementTree does."""
    text = xml_text(text)
    for raw, escaped in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if raw in text:
            text = text.replace(raw, escaped)
    return text
