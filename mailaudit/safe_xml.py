"""A small element tree from expat for client files and autoconfig answers, with any document
type declaration refused: no entity, internal or external, can be declared, so none is ever
expanded or fetched (only XML's five predefined ones and character references)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from xml.parsers import expat


class NotWellFormed(ValueError):
    """XML that does not parse, or that declares a document type."""


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

    def text_of(self, tag: str) -> str:
        """The stripped text of the first child named tag; empty when there is none."""
        child = self.first(tag)
        return child.text.strip() if child is not None else ""


def parse_xml(document: bytes | str, unread: Callable[[str], bool] | None = None) -> Element:
    """The root element. Raises NotWellFormed. An element whose tag `unread` names (a password)
    is kept without its attributes and text, and so are the elements inside it: they are
    dropped as expat hands them over, never held."""
    parser = expat.ParserCreate()
    stack: list[Element] = []
    # The text of each open element, joined when it closes; None inside an unread element.
    pieces: list[list[str] | None] = []
    roots: list[Element] = []

    def refuse(*_: object) -> None:
        # Refused at the declaration itself: an entity declared in it is never read.
        raise NotWellFormed("document type declarations are not accepted")

    def start(tag: str, attributes: dict[str, str]) -> None:
        hidden = (bool(pieces) and pieces[-1] is None) or (unread is not None and unread(tag))
        element = Element(tag, {} if hidden else attributes)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)
        pieces.append(None if hidden else [])

    def end(tag: str) -> None:
        # Joined once: adding each piece to a string copies it again (quadratic on a text of
        # many entities, which expat hands over one by one).
        text = pieces.pop()
        stack.pop().text = "".join(text) if text is not None else ""

    def characters(data: str) -> None:
        if pieces and (text := pieces[-1]) is not None:
            text.append(data)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(document, True)
    except expat.ExpatError as exc:
        where = f"{expat.ErrorString(exc.code)}, line {exc.lineno}"
        raise NotWellFormed(f"not well-formed XML ({where})") from None
    if not roots:
        raise NotWellFormed("an empty document")
    return roots[0]
