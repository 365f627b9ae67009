"""xml_text / xml_attribute escape exactly as ElementTree serialises text and attributes."""
import xml.etree.ElementTree as ET

from hypothesis import given, strategies as st

from site_src.xmltext import xml_attribute, xml_text

XML_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
HOSTILE = ['a & b <script>alert(1)</script>', '"quoted" \'single\'', "line\nbreak\ttab\rreturn",
           "&amp; already escaped", "]]> <![CDATA[", ""]


def element_tree_bytes(text: str, attribute: str) -> str:
    element = ET.Element("e", a=attribute)
    element.text = text
    return ET.tostring(element, encoding="unicode")


def written(text: str, attribute: str) -> str:
    return f'<e a="{xml_attribute(attribute)}">{xml_text(text)}</e>' if text else f'<e a="{xml_attribute(attribute)}" />'


def test_hostile_strings_are_escaped_as_element_tree_escapes_them():
    for text in HOSTILE:
        for attribute in HOSTILE:
            assert written(text, attribute) == element_tree_bytes(text, attribute)


def test_the_escaped_text_parses_back_to_the_original():
    for text in HOSTILE[:-1]:
        parsed = ET.fromstring(f'<e a="{xml_attribute(text)}">{xml_text(text)}</e>')
        assert parsed.text == text.replace("\r", "\n") and parsed.get("a") == text


@given(st.text(XML_CHARS, max_size=40), st.text(XML_CHARS, max_size=40))
def test_any_text_is_escaped_as_element_tree_escapes_it(text, attribute):
    assert written(text, attribute) == element_tree_bytes(text, attribute)
