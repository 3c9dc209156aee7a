"""Read a `.reg` export, as regedit writes it, into registry keys.

The format (Microsoft KB 310516; hivex's Win::Hivex::Regedit parser):

    Windows Registry Editor Version 5.00      (UTF-16LE with a BOM; REGEDIT4 files are ANSI)

    [HKEY_CURRENT_USER\\Software\\...]
    "name"="text"                             REG_SZ, with \\\\ and \\" escaped
    "name"=dword:000003e3                     REG_DWORD, 8 hex digits
    "name"=hex:aa,bb,...                      REG_BINARY
    "name"=hex(N):aa,bb,...                   type N: 1 SZ, 2 EXPAND_SZ, 4 DWORD, 7 MULTI, b QWORD
    @=...                                     the key's default value
    "name"=-   and   [-KEY]                   deletions

A line ending in a backslash continues on the next one (regedit wraps hex data at ~80 columns).
A line that cannot be read becomes a `RegExportProblem`; the rest of the file is still read.
Problems never quote the line: it may hold a password in an odd notation. Time and memory are
linear in the file: keys deeper than Windows allows and values larger than any account's are
refused before they are built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailaudit.sources.registry import RegData, RegistryKey, RegValue

HEADERS = ("Windows Registry Editor Version 5.00", "REGEDIT4")
TYPE_NAMES = {0: "REG_NONE", 1: "REG_SZ", 2: "REG_EXPAND_SZ", 3: "REG_BINARY", 4: "REG_DWORD",
              7: "REG_MULTI_SZ", 11: "REG_QWORD"}  # fmt: skip

_HEX = re.compile(r"hex(?:\(([0-9a-fA-F]{1,8})\))?:", re.I)
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]{1,2}")
_DWORD = re.compile(r"[0-9a-fA-F]{1,8}")

MAX_DEPTH = 512  # Windows allows 512 levels of keys
MAX_VALUE_BYTES = 1024 * 1024  # account values are small; a larger one is left out


@dataclass(frozen=True)
class RegExportProblem:
    line: int
    message: str


@dataclass
class RegExportKey:
    """One key of the export. Implements RegistryKey."""

    name: str
    path: str
    children: dict[str, RegExportKey] = field(default_factory=dict)  # by lower-cased name
    own_values: dict[str, RegValue] = field(default_factory=dict)

    def subkey(self, relative: str) -> RegistryKey | None:
        key: RegExportKey | None = self
        for part in relative.strip("\\").split("\\"):
            if key is None:
                return None
            key = key.children.get(part.lower())
        return key

    def subkeys(self) -> list[RegistryKey]:
        return list(self.children.values())

    def values(self) -> dict[str, RegValue]:
        return dict(self.own_values)


@dataclass(frozen=True)
class RegExport:
    roots: dict[str, RegExportKey]  # "HKEY_CURRENT_USER", "HKEY_USERS\\S-1-5-21-...", ...
    problems: tuple[RegExportProblem, ...]


class NotARegExport(ValueError):
    """The file does not start like a regedit export."""


def parse_reg_export(data: bytes) -> RegExport:
    """Parse an export. Raises NotARegExport when the header is missing; any other damage is
    returned as problems."""
    text = _decode(data)
    lines = text.splitlines()
    if not lines or lines[0].strip() not in HEADERS:
        raise NotARegExport(
            "it does not start with 'Windows Registry Editor Version 5.00' or 'REGEDIT4'"
        )

    roots: dict[str, RegExportKey] = {}
    problems: list[RegExportProblem] = []
    current: RegExportKey | None = None
    for number, line in _logical_lines(lines[1:], first_number=2):
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                problems.append(RegExportProblem(number, "a key line without its closing ']'"))
                current = None
                continue
            path = line[1:-1]
            if path.count("\\") >= MAX_DEPTH:
                problems.append(RegExportProblem(number, f"a key over {MAX_DEPTH} levels deep"))
                current = None
            elif path.startswith("-"):
                _delete_key(roots, path[1:])
                current = None
            else:
                current = _key(roots, path)
            continue
        if current is None:
            problems.append(RegExportProblem(number, "a value outside any key"))
            continue
        try:
            name, value = _parse_value(line)
        except ValueError as exc:
            problems.append(RegExportProblem(number, str(exc)))
            continue
        if value is None:
            current.own_values.pop(name.lower(), None)
        else:
            current.own_values[name.lower()] = value
    return RegExport(roots, tuple(problems))


def _decode(data: bytes) -> str:
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", "replace")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")  # REGEDIT4 files are in the ANSI code page


def _logical_lines(lines: list[str], first_number: int) -> list[tuple[int, str]]:
    """Join continuation lines (a trailing backslash) and strip them."""
    joined: list[tuple[int, str]] = []
    pieces: list[str] = []  # joined once: += on a long value would copy it for every line
    start = first_number
    for offset, raw in enumerate(lines):
        line = raw.strip()
        if not pieces:
            start = first_number + offset
        if line.endswith("\\") and not line.startswith("["):
            pieces.append(line[:-1])
            continue
        pieces.append(line)
        joined.append((start, "".join(pieces)))
        pieces = []
    if pieces:
        joined.append((start, "".join(pieces)))
    return joined


def _key(roots: dict[str, RegExportKey], path: str) -> RegExportKey:
    parts = [p for p in path.split("\\") if p]
    top = _root_name(parts)
    root = roots.setdefault(top.lower(), RegExportKey(name=top, path=top))
    key = root
    for part in parts[top.count("\\") + 1 :]:
        child = key.children.get(part.lower())
        if child is None:  # the path string is built once per key, not once per line
            child = key.children[part.lower()] = RegExportKey(part, f"{key.path}\\{part}")
        key = child
    return key


def _root_name(parts: list[str]) -> str:
    """HKEY_USERS exports carry the user's SID as the first level: keep it with the root."""
    if parts and parts[0].upper() in ("HKEY_USERS", "HKU") and len(parts) > 1:
        return f"{parts[0]}\\{parts[1]}"
    return parts[0] if parts else ""


def _delete_key(roots: dict[str, RegExportKey], path: str) -> None:
    parts = [p for p in path.split("\\") if p]
    top = _root_name(parts)
    rest = parts[top.count("\\") + 1 :]
    if not rest:
        roots.pop(top.lower(), None)
        return
    parent = roots.get(top.lower())
    for part in rest[:-1]:
        if parent is None:
            return
        parent = parent.children.get(part.lower())
    if parent is not None:
        parent.children.pop(rest[-1].lower(), None)


def _parse_value(line: str) -> tuple[str, RegValue | None]:
    """One `name=data` line. Raises ValueError with a message that does not quote the line."""
    name, data = _split_value_line(line)
    if data == "-":
        return name, None
    if data.startswith('"'):
        if len(data) < 2 or not data.endswith('"'):
            raise ValueError("a string value without its closing quote")
        if len(data) > MAX_VALUE_BYTES:
            raise ValueError("a value over 1 MB")
        return name, RegValue(name, "REG_SZ", _unescape(data[1:-1]))
    if data[:6].lower() == "dword:":
        if not _DWORD.fullmatch(data, 6):
            raise ValueError("a dword value that is not 1 to 8 hex digits")
        return name, RegValue(name, "REG_DWORD", int(data[6:], 16))
    hexed = _HEX.match(data)
    if hexed:
        kind = int(hexed.group(1), 16) if hexed.group(1) else 3
        raw = _hex_bytes(data[hexed.end() :])
        return name, RegValue(name, TYPE_NAMES.get(kind, f"REG_TYPE_{kind}"), _typed(kind, raw))
    raise ValueError("a value of a notation regedit does not write")


def _split_value_line(line: str) -> tuple[str, str]:
    """(name, data) of `"name"=data` or `@=data`, scanning the quoted name once."""
    if line.startswith("@"):
        name, rest = "", line[1:]
    elif line.startswith('"'):
        end = 1
        while True:
            quote = line.find('"', end)
            if quote < 0:
                raise ValueError("a value name without its closing quote")
            backslashes = len(line[end:quote]) - len(line[end:quote].rstrip("\\"))
            if backslashes % 2 == 0:
                break
            end = quote + 1
        name, rest = _unescape(line[1:quote]), line[quote + 1 :]
    else:
        raise ValueError("not a key, a value or a comment")
    rest = rest.lstrip()
    if not rest.startswith("="):
        raise ValueError("a value name without '='")
    return name, rest[1:].strip()


def _hex_bytes(listed: str) -> bytes:
    """Comma-separated hex bytes, checked before they are built: a 33 MB value is refused from
    its length alone, and a well-formed one is converted by bytes.fromhex, not item by item."""
    if len(listed) > 3 * MAX_VALUE_BYTES:
        raise ValueError("a value over 1 MB")
    items = listed.replace(" ", "").replace("\t", "").split(",")
    if items and items[-1] == "":
        items.pop()  # a trailing comma
    if not all(_HEX_DIGITS.fullmatch(item) for item in items):
        raise ValueError("a hex value with a byte that is not 1 or 2 hex digits")
    return bytes.fromhex("".join(item.zfill(2) for item in items))


def _typed(kind: int, raw: bytes) -> RegData:
    if kind in (1, 2):
        return raw.decode("utf-16-le", "replace").split("\0", 1)[0]
    if kind == 4 and len(raw) == 4:
        return int.from_bytes(raw, "little")
    if kind == 11 and len(raw) == 8:
        return int.from_bytes(raw, "little")
    if kind == 7:
        return [s for s in raw.decode("utf-16-le", "replace").split("\0") if s]
    return raw


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.S)
