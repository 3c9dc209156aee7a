"""The one XML reader of the tool: client files and autoconfig answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.safe_xml import NotWellFormed, parse_xml

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><a>&lol2;</a>'
)


@pytest.mark.parametrize("document", [
    LAUGHS,
    b'<!DOCTYPE a SYSTEM "http://example.test/a.dtd"><a>&e;</a>',
    b"<!DOCTYPE a><a/>",
])  # fmt: skip
def test_any_document_type_declaration_is_refused(document):
    with pytest.raises(NotWellFormed, match=r"^document type declarations are not accepted$"):
        parse_xml(document)


def test_an_entity_never_declared_is_not_well_formed():
    with pytest.raises(NotWellFormed, match=r"^not well-formed XML \(undefined entity, line 2\)$"):
        parse_xml(b"<a>\n&e;</a>")


def test_text_is_whole_across_references_and_cdata():
    root = parse_xml(b"<a>x&amp;y&#65;<![CDATA[<z>]]><b> in </b>tail</a>")
    assert root.text == "x&yA<z>tail"
    assert root.text_of("b") == "in"
    assert root.text_of("missing") == ""


def test_many_references_in_one_text_are_all_kept():
    count = 50_000
    root = parse_xml(b"<a>" + b"&amp;" * count + b"</a>")
    assert root.text == "&" * count


@given(st.binary(max_size=300))
def test_any_bytes_give_a_tree_or_not_well_formed(data):
    try:
        root = parse_xml(data)
    except NotWellFormed:
        return
    assert root.tag


def test_an_unread_element_keeps_neither_its_text_nor_its_attributes():
    """A password element is dropped as expat hands it over, with what it holds."""
    document = b'<a><Password2 type="x">s3cret<b key="k">inner</b></Password2><c>kept</c></a>'
    root = parse_xml(document, unread=lambda tag: "password" in tag.lower())
    secret = root.first("Password2")
    assert secret is not None and (secret.text, secret.attributes) == ("", {})
    assert (secret.children[0].text, secret.children[0].attributes) == ("", {})
    assert root.text_of("c") == "kept"
