"""A small element tree from expat for the sources' XML files, with any document type
declaration refused: no entity, internal or external, is ever expanded."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat


class NotWellFormed(ValueError):
    """XML that does not parse, or that declares a DTD."""


@dataclass
class Element:
    tag: str
    attributes: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: str = ""

    def first(self, tag: str) -> Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[Element]:
        return [c for c in self.children if c.tag == tag]


def parse_xml(document: bytes | str) -> Element:
    """The root element. Raises NotWellFormed."""
    parser = expat.ParserCreate()
    stack: list[Element] = []
    roots: list[Element] = []

    def refuse(*_: object) -> None:
        raise NotWellFormed("XML with a document type declaration")

    def start(tag: str, attributes: dict[str, str]) -> None:
        element = Element(tag, attributes)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def characters(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(document, True)
    except expat.ExpatError as exc:
        raise NotWellFormed(f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
    if not roots:
        raise NotWellFormed("an empty document")
    return roots[0]
