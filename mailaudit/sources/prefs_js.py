"""Read Mozilla prefs files (prefs.js, user.js) as data, never as code.

The grammar is libpref's (Gecko modules/libpref/parser/src/lib.rs):

    <pref>  = "user_pref" "(" <string> "," <value> ")" ";"
    <value> = <string> | "true" | "false" | [+-]? <int>       (32-bit signed)
    strings: '...' or "..." with \\" \\' \\\\ \\n \\r \\xNN \\uNNNN escapes, never \\x00 or \\u0000
    comments: # ...   // ...   /* ... */       a NUL byte ends the file

On a bad statement libpref skips to the next ';' and goes on; so do we, and each skipped
statement becomes a PrefsSyntaxError in the result instead of an exception. Nothing here raises
on any input: a hostile user.js is only text.

Gecko writes one `user_pref("name", value);` per line, so a single regular expression matches
nearly every statement; anything it does not match goes through the token-by-token parser,
which accepts the full grammar (comments between tokens, '+' signs, odd spacing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailaudit.errors import PrefsSyntaxError

PrefValue = str | int | bool

MAX_ERRORS_KEPT = 20  # a file of junk has an error per ';': keep the first ones, count the rest

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

_SPACE = r"[ \t\v\f\r\n]"
_STRING = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""

# Whitespace and comments between statements. Kept out of _SIMPLE_PREF so that a failed match
# never backtracks through a long comment.
_GAP = re.compile(rf"(?:{_SPACE}+|#[^\r\n]*|//[^\r\n]*|/\*.*?\*/)+", re.S)

_SIMPLE_PREF = re.compile(
    rf"user_pref{_SPACE}*\({_SPACE}*({_STRING}){_SPACE}*,{_SPACE}*"
    rf"(true|false|{_STRING}|-?[0-9]+){_SPACE}*\){_SPACE}*;",
    re.S,
)

_TOKEN = re.compile(
    rf"""
      (?P<gap>(?:{_SPACE}+|\#[^\r\n]*|//[^\r\n]*|/\*.*?\*/)+)
    | (?P<string>{_STRING})
    | (?P<int>[0-9]+(?![A-Za-z_]))
    | (?P<word>[A-Za-z_]+)
    | (?P<punct>[(),;+-])
    """,
    re.S | re.X,
)


@dataclass(frozen=True)
class PrefsFile:
    prefs: dict[str, PrefValue]
    errors: tuple[PrefsSyntaxError, ...]  # the first MAX_ERRORS_KEPT
    error_count: int
    invalid_utf8_at: int | None  # byte offset of the first byte that is not UTF-8
    cut_off: bool  # the file ends inside a statement, as when a write was interrupted


class _BadStatement(Exception):
    def __init__(self, pos: int, message: str) -> None:
        self.pos = pos
        self.message = message


def parse_prefs(data: bytes, *, fast_path: bool = True) -> PrefsFile:
    """Parse a user prefs file. Later statements win, as in Gecko.

    `fast_path=False` forces the token-by-token parser everywhere; tests use it to check that
    both paths agree.
    """
    data = data.split(b"\0", 1)[0]
    invalid_utf8_at = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        invalid_utf8_at = exc.start
        text = data.decode("utf-8", "replace")  # Gecko reads prefs as UTF-8 with replacement

    prefs: dict[str, PrefValue] = {}
    errors: list[PrefsSyntaxError] = []
    error_count = 0
    cut_off = False
    pos, end = 0, len(text)
    while pos < end:
        gap = _GAP.match(text, pos)
        if gap:
            pos = gap.end()
            if pos >= end:
                break
        try:
            simple = _SIMPLE_PREF.match(text, pos) if fast_path else None
            if simple:
                name = _string_value(simple.group(1), pos)
                value = _value(simple.group(2), pos)
                pos = simple.end()
            else:
                name, value, pos = _parse_statement(text, pos)
        except _BadStatement as bad:
            error_count += 1
            if len(errors) < MAX_ERRORS_KEPT:
                line = text.count("\n", 0, bad.pos) + 1
                errors.append(PrefsSyntaxError(line, bad.message))
            semicolon = text.find(";", bad.pos)
            if semicolon < 0:
                cut_off = True
                break
            pos = semicolon + 1
            continue
        prefs[name] = value
    return PrefsFile(prefs, tuple(errors), error_count, invalid_utf8_at, cut_off)


def _parse_statement(text: str, pos: int) -> tuple[str, PrefValue, int]:
    """The full grammar, one token at a time, for what the simple pattern did not match."""

    def token(at: int) -> tuple[str, str, int, int]:
        match = _TOKEN.match(text, at)
        if match and match.lastgroup == "gap":
            at = match.end()
            match = _TOKEN.match(text, at)
        if match is None:
            if at >= len(text):
                raise _BadStatement(at, "unexpected end of file")
            if text[at] in "\"'":
                raise _BadStatement(at, "a string is not closed")
            raise _BadStatement(at, f"unexpected character {text[at]!r}")
        kind = match.lastgroup or ""
        return kind, match.group(), at, match.end()

    def expect(at: int, kind: str, value: str | None, what: str) -> tuple[str, int]:
        got_kind, got, start, after = token(at)
        if got_kind != kind or (value is not None and got != value):
            raise _BadStatement(start, f"expected {what}, found {got[:20]!r}")
        return got, after

    word, pos = expect(pos, "word", None, "user_pref")
    if word != "user_pref":
        # pref() and sticky_pref() belong to default files; in prefs.js they are errors.
        raise _BadStatement(pos - len(word), f"expected user_pref, found {word[:20]!r}")
    _, pos = expect(pos, "punct", "(", "'('")
    literal, pos = expect(pos, "string", None, "a pref name in quotes")
    name = _string_value(literal, pos)
    _, pos = expect(pos, "punct", ",", "','")

    kind, got, start, pos = token(pos)
    value: PrefValue
    if kind == "word" and got in ("true", "false"):
        value = got == "true"
    elif kind == "string":
        value = _string_value(got, start)
    elif kind == "int" or (kind == "punct" and got in ("+", "-")):
        sign = 1
        if kind == "punct":
            sign = -1 if got == "-" else 1
            kind, got, start, pos = token(pos)
            if kind != "int":
                raise _BadStatement(start, "expected a number after the sign")
        value = _int_value(sign * int(got), start)
    else:
        raise _BadStatement(start, f"expected a value, found {got[:20]!r}")

    _, pos = expect(pos, "punct", ")", "')'")
    _, pos = expect(pos, "punct", ";", "';'")
    return name, value, pos


def _value(literal: str, pos: int) -> PrefValue:
    if literal == "true":
        return True
    if literal == "false":
        return False
    if literal[0] in "\"'":
        return _string_value(literal, pos)
    return _int_value(int(literal), pos)


def _int_value(number: int, pos: int) -> int:
    if not _INT_MIN <= number <= _INT_MAX:
        raise _BadStatement(pos, "integer out of 32-bit range")
    return number


def _string_value(literal: str, pos: int) -> str:
    body = literal[1:-1]
    if "\\" not in body:
        return body
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        backslash = body.find("\\", i)
        if backslash < 0:
            out += body[i:].encode("utf-8")
            break
        out += body[i:backslash].encode("utf-8")
        i = backslash + 1
        if i >= n:
            raise _BadStatement(pos, "a string ends in a lone backslash")
        escape = body[i]
        i += 1
        if escape in "\"'\\":
            out += escape.encode()
        elif escape == "n":
            out += b"\n"
        elif escape == "r":
            out += b"\r"
        elif escape == "x":
            # \xNN is one raw byte; the bytes are read as UTF-8 afterwards, as Gecko does.
            byte = _hex(body[i : i + 2], 2, pos)
            out.append(byte)
            i += 2
        elif escape == "u":
            code = _hex(body[i : i + 4], 4, pos)
            i += 4
            if 0xD800 <= code <= 0xDBFF and body[i : i + 2] == "\\u":
                low = _hex(body[i + 2 : i + 6], 4, pos)
                if 0xDC00 <= low <= 0xDFFF:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
            out += chr(code).encode("utf-8", "replace")  # a lone surrogate becomes '?'
        else:
            raise _BadStatement(pos, f"unknown escape \\{escape}")
    return out.decode("utf-8", "replace")


def _hex(digits: str, length: int, pos: int) -> int:
    if len(digits) != length or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise _BadStatement(pos, f"bad hex escape {digits!r}")
    value = int(digits, 16)
    if value == 0:
        raise _BadStatement(pos, "\\x00 and \\u0000 are not allowed")
    return value
