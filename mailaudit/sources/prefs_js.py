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

Time and memory stay linear in the file's size whatever it holds: the regular expressions only
repeat single character classes (no backtracking state per character on a 30 MB string),
strings and block comments are scanned with str.find, and a string or comment found unclosed
is remembered, so a file of a thousand unclosed `/*` is not scanned a thousand times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailaudit.errors import PrefsSyntaxError

PrefValue = str | int | bool

MAX_ERRORS_KEPT = 20  # a file of junk has an error per ';': keep the first ones, count the rest

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

_SPACE = r"[ \t\v\f\r\n]"
# Strings without escapes only: an escape sends the statement to the token parser.
_PLAIN_STRING = r""""[^"\\]*"|'[^'\\]*'"""

_SIMPLE_PREF = re.compile(
    rf"user_pref{_SPACE}*\({_SPACE}*({_PLAIN_STRING}){_SPACE}*,{_SPACE}*"
    rf"(true|false|{_PLAIN_STRING}|-?[0-9]+){_SPACE}*\){_SPACE}*;"
)
_SPACES = re.compile(rf"{_SPACE}+")
_TO_LINE_END = re.compile(r"[^\r\n]*")
_DIGITS = re.compile(r"[0-9]+")
_WORD = re.compile(r"[A-Za-z_]+")
_MAX_DIGITS = 10  # more than 32 bits can hold; int() of 5,000 digits would be slow or refused
MAX_STRING = 1024 * 1024  # no pref mailaudit reads is near this; a longer one is left out


@dataclass(frozen=True)
class PrefsFile:
    prefs: dict[str, PrefValue]
    errors: tuple[PrefsSyntaxError, ...]  # the first MAX_ERRORS_KEPT
    error_count: int
    invalid_utf8_at: int | None  # byte offset of the first byte that is not UTF-8
    cut_off: bool  # the file ends inside a statement, as when a write was interrupted


class _BadStatement(Exception):
    """`message` describes the problem and never quotes the file: it may hold a password."""

    def __init__(self, pos: int, message: str, resume: int | None = None) -> None:
        self.pos = pos
        self.message = message
        self.resume = pos if resume is None else resume  # where to look for the next ';'


class _Scanner:
    """Gaps, strings and comments, each found in linear time over the whole file."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.unclosed_comment_from = len(text) + 1  # no "*/" follows a "/*" at or after this
        self.unclosed_string_from = {'"': len(text) + 1, "'": len(text) + 1}

    def skip_gap(self, at: int) -> int:
        """Past whitespace and comments; raises _BadStatement for an unclosed block comment."""
        text = self.text
        while at < len(text):
            char = text[at]
            if char in " \t\v\f\r\n":
                at = _SPACES.match(text, at).end()  # type: ignore[union-attr]
            elif char == "#" or text.startswith("//", at):
                at = _TO_LINE_END.match(text, at).end()  # type: ignore[union-attr]
            elif text.startswith("/*", at):
                close = -1 if at >= self.unclosed_comment_from else text.find("*/", at + 2)
                if close < 0:
                    self.unclosed_comment_from = min(self.unclosed_comment_from, at)
                    raise _BadStatement(at, "a comment is not closed", resume=len(text))
                at = close + 2
            else:
                break
        return at

    def string_end(self, at: int) -> int:
        """The index after the string that opens at `at`; raises _BadStatement when unclosed.

        If no closing quote follows a string opened at p, none follows one opened later: the
        later opening quote was itself an escaped character of the first string's scan, so both
        scans agree from there on."""
        text, quote = self.text, self.text[at]
        if at >= self.unclosed_string_from[quote]:
            raise _BadStatement(at, "a string is not closed")
        i = at + 1
        while True:
            close = text.find(quote, i)
            if close < 0:
                self.unclosed_string_from[quote] = at
                raise _BadStatement(at, "a string is not closed")
            backslashes = 0
            while close - 1 - backslashes > at and text[close - 1 - backslashes] == "\\":
                backslashes += 1
            if backslashes % 2 == 0:
                return close + 1
            i = close + 1


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
    scanner = _Scanner(text)
    pos, end = 0, len(text)
    while pos < end:
        try:
            pos = scanner.skip_gap(pos)
            if pos >= end:
                break
            simple = _SIMPLE_PREF.match(text, pos) if fast_path else None
            if simple and simple.end() - pos > MAX_STRING:
                raise _BadStatement(pos, "a string over 1 MB; left out", resume=simple.end() - 1)
            if simple:
                name = _string_value(simple.group(1), pos)
                value = _value(simple.group(2), pos)
                pos = simple.end()
            else:
                name, value, pos = _parse_statement(scanner, pos)
        except _BadStatement as bad:
            error_count += 1
            if len(errors) < MAX_ERRORS_KEPT:
                line = text.count("\n", 0, bad.pos) + 1
                errors.append(PrefsSyntaxError(line, bad.message))
            semicolon = text.find(";", bad.resume)
            if semicolon < 0:
                cut_off = True
                break
            pos = semicolon + 1
            continue
        prefs[name] = value
    return PrefsFile(prefs, tuple(errors), error_count, invalid_utf8_at, cut_off)


def _parse_statement(scanner: _Scanner, pos: int) -> tuple[str, PrefValue, int]:
    """The full grammar, one token at a time, for what the simple pattern did not match."""
    text = scanner.text

    def token(at: int) -> tuple[str, str, int, int]:
        at = scanner.skip_gap(at)
        if at >= len(text):
            raise _BadStatement(at, "unexpected end of file")
        char = text[at]
        if char in "\"'":
            after = scanner.string_end(at)
            if after - at > MAX_STRING:
                raise _BadStatement(at, "a string over 1 MB; left out", resume=after)
            return "string", text[at:after], at, after
        if char in "(),;+-":
            return "punct", char, at, at + 1
        digits = _DIGITS.match(text, at)
        if digits and not _WORD.match(text, digits.end()):
            return "int", digits.group(), at, digits.end()
        word = _WORD.match(text, at)
        if word:
            return "word", word.group(), at, word.end()
        raise _BadStatement(at, "unexpected character")

    def expect(at: int, kind: str, value: str | None, what: str) -> tuple[str, int]:
        got_kind, got, start, after = token(at)
        if got_kind != kind or (value is not None and got != value):
            raise _BadStatement(start, f"expected {what}, found {_describe(got_kind, got)}")
        return got, after

    word, pos = expect(pos, "word", None, "user_pref")
    if word != "user_pref":
        # pref() and sticky_pref() belong to default files; in prefs.js they are errors.
        raise _BadStatement(pos - len(word), "expected user_pref, found another word")
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
        value = _int_value(sign, got, start)
    else:
        raise _BadStatement(start, f"expected a value, found {_describe(kind, got)}")

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
    if literal[0] == "-":
        return _int_value(-1, literal[1:], pos)
    return _int_value(1, literal, pos)


def _int_value(sign: int, digits: str, pos: int) -> int:
    number = (
        sign * int(digits.lstrip("0") or "0") if len(digits.lstrip("0")) <= _MAX_DIGITS else None
    )
    if number is None or not _INT_MIN <= number <= _INT_MAX:
        raise _BadStatement(pos, "integer out of 32-bit range")
    return number


def _describe(kind: str, got: str) -> str:
    """A token in words, never its text: the text may be a password."""
    if kind == "punct":
        return f"'{got}'"
    if kind == "word" and got in ("true", "false", "user_pref"):
        return got
    return {"string": "a string", "int": "a number", "word": "a word"}.get(kind, "something else")


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
            raise _BadStatement(pos, "an unknown escape")
    return out.decode("utf-8", "replace")


def _hex(digits: str, length: int, pos: int) -> int:
    if len(digits) != length or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise _BadStatement(pos, "a bad hex escape")
    value = int(digits, 16)
    if value == 0:
        raise _BadStatement(pos, "\\x00 and \\u0000 are not allowed")
    return value
