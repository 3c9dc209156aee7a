"""IMAP response data as Python values (RFC 9051 §9, the parts an uploader reads).

A response arrives as text lines with literals between them; `parse` turns it into nested lists
of atoms (str), strings (str, from quoted strings), literals (bytes) and None (NIL). Untrusted
input: anything malformed raises SyntaxError with a short reason, never loops or grows.
"""

from __future__ import annotations

from dataclasses import dataclass

Item = str | bytes | None | list["Item"]

MAX_DEPTH = 32


@dataclass(frozen=True)
class Response:
    """One server response: its lines joined with the marker where each literal stood."""

    text: str  # "* 3 FETCH (UID 7 BODY[] \x00)" (literal markers are NUL, which IMAP forbids)
    literals: tuple[bytes, ...] = ()


LITERAL_MARK = "\x00"


class ImapSyntaxError(ValueError):
    pass


def parse(text: str, literals: tuple[bytes, ...]) -> list[Item]:
    """Every value in `text`, in order; parenthesised lists become Python lists."""
    return _parse_list(text, 0, literals, 0, None, 0)[0]


def _parse_list(
    text: str, i: int, literals: tuple[bytes, ...], used: int, closing: str | None, depth: int
) -> tuple[list[Item], int, int]:
    if depth > MAX_DEPTH:
        raise ImapSyntaxError("lists nested too deep")
    items: list[Item] = []
    n = len(text)
    while i < n:
        char = text[i]
        if char == " ":
            i += 1
        elif char == "(":
            inner, i, used = _parse_list(text, i + 1, literals, used, ")", depth + 1)
            items.append(inner)
        elif char == ")":
            if closing != ")":
                raise ImapSyntaxError("a ')' without its '('")
            return items, i + 1, used
        elif char == '"':
            value, i = _quoted(text, i + 1)
            items.append(value)
        elif char == LITERAL_MARK:
            if used >= len(literals):
                raise ImapSyntaxError("more literal markers than literals")
            items.append(literals[used])
            used += 1
            i += 1
        else:
            atom, i = _atom(text, i)
            items.append(None if atom.upper() == "NIL" else atom)
    if closing is not None:
        raise ImapSyntaxError("a '(' without its ')'")
    return items, i, used


def _quoted(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif char == '"':
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise ImapSyntaxError("a quoted string without its closing quote")


def _atom(text: str, i: int) -> tuple[str, int]:
    """An atom; a section such as BODY[HEADER.FIELDS (MESSAGE-ID)] is one atom, brackets and
    all (RFC 9051 §9 `section`)."""
    start = i
    brackets = 0
    while i < len(text):
        char = text[i]
        if char == "[":
            brackets += 1
        elif char == "]":
            brackets = max(0, brackets - 1)
        elif brackets == 0 and (char in ' ()"' or char == LITERAL_MARK):
            break
        i += 1
    if i == start:
        raise ImapSyntaxError(f"unexpected {text[i]!r}")
    return text[start:i], i


def quote(value: str) -> str:
    """A quoted string (RFC 9051 §4.3): backslash and double quote escaped. Callers refuse
    CR and LF, which a quoted string cannot carry."""
    if "\r" in value or "\n" in value:
        raise ValueError("a quoted string cannot hold a line break")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pairs(items: list[Item]) -> dict[str, Item]:
    """A FETCH attribute list (`UID 7 RFC822.SIZE 9 ...`) as a dict with upper-cased names."""
    found: dict[str, Item] = {}
    for index in range(0, len(items) - 1, 2):
        name = items[index]
        if isinstance(name, str):
            found[name.upper()] = items[index + 1]
    return found


def response_code(text: str) -> tuple[str, str]:
    """The response code of a status response (`[APPENDUID 1 2]` -> ("APPENDUID", "1 2"))."""
    start = text.find("[")
    end = text.find("]", start + 1)
    if start < 0 or end < 0:
        return "", ""
    name, _, rest = text[start + 1 : end].partition(" ")
    return name.upper(), rest
