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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailaudit.sources.registry import RegData, RegistryKey, RegValue

HEADERS = ("Windows Registry Editor Version 5.00", "REGEDIT4")
TYPE_NAMES = {0: "REG_NONE", 1: "REG_SZ", 2: "REG_EXPAND_SZ", 3: "REG_BINARY", 4: "REG_DWORD",
              7: "REG_MULTI_SZ", 11: "REG_QWORD"}  # fmt: skip

_VALUE = re.compile(r'^(?:@|"((?:[^"\\]|\\.)*)")\s*=\s*(.*)$', re.S)
_HEX = re.compile(r"^hex(?:\(([0-9a-fA-F]+)\))?:(.*)$", re.S)


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
            if path.startswith("-"):
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
    buffer, start = "", first_number
    for offset, raw in enumerate(lines):
        line = raw.strip()
        if not buffer:
            start = first_number + offset
        if line.endswith("\\") and not line.startswith("["):
            buffer += line[:-1]
            continue
        joined.append((start, buffer + line))
        buffer = ""
    if buffer:
        joined.append((start, buffer))
    return joined


def _key(roots: dict[str, RegExportKey], path: str) -> RegExportKey:
    parts = [p for p in path.split("\\") if p]
    top = _root_name(parts)
    root = roots.setdefault(top.lower(), RegExportKey(name=top, path=top))
    key = root
    for part in parts[top.count("\\") + 1 :]:
        key = key.children.setdefault(
            part.lower(), RegExportKey(name=part, path=f"{key.path}\\{part}")
        )
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
    match = _VALUE.match(line)
    if not match:
        raise ValueError(f"not a value line: {line[:40]!r}")
    name = _unescape(match.group(1)) if match.group(1) is not None else ""
    data = match.group(2).strip()
    if data == "-":
        return name, None
    if data.startswith('"'):
        if len(data) < 2 or not data.endswith('"'):
            raise ValueError(f"value {name!r}: a string without its closing quote")
        return name, RegValue(name, "REG_SZ", _unescape(data[1:-1]))
    if data.lower().startswith("dword:"):
        digits = data[6:]
        if not re.fullmatch(r"[0-9a-fA-F]{1,8}", digits):
            raise ValueError(f"value {name!r}: bad dword {digits[:20]!r}")
        return name, RegValue(name, "REG_DWORD", int(digits, 16))
    hexed = _HEX.match(data)
    if hexed:
        kind = int(hexed.group(1), 16) if hexed.group(1) else 3
        raw = _hex_bytes(name, hexed.group(2))
        return name, RegValue(name, TYPE_NAMES.get(kind, f"REG_TYPE_{kind}"), _typed(kind, raw))
    raise ValueError(f"value {name!r}: unknown data {data[:30]!r}")


def _hex_bytes(name: str, listed: str) -> bytes:
    items = [item.strip() for item in listed.split(",") if item.strip()]
    bad = next((item for item in items if not re.fullmatch(r"[0-9a-fA-F]{1,2}", item)), None)
    if bad is not None:
        raise ValueError(f"value {name!r}: bad hex byte {bad[:10]!r}")
    return bytes(int(item, 16) for item in items)


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
    return re.sub(r"\\(.)", r"\1", text)
