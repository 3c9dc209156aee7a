"""Decode the small part of NSKeyedArchiver that account properties use.

macOS's Accounts framework stores each property value (ZACCOUNTPROPERTY.ZVALUE) as a binary
plist written by NSKeyedArchiver: a `$objects` table and a `$top` root that points into it
with UIDs. Strings, numbers, booleans, dates, data, arrays and dictionaries are all Mail's
account properties need. Nothing is instantiated by class name and nothing is evaluated:
unknown objects come back as plain dictionaries of their fields.
"""

from __future__ import annotations

import plistlib
import struct
from typing import Any
from xml.parsers.expat import ExpatError

MAX_BLOB = 1024 * 1024  # property values are small; a larger blob is not one
MAX_DEPTH = 32


class NotAPlist(ValueError):
    """The bytes are no property list."""


class NotAnArchive(ValueError):
    """The bytes are not a plist, or not a keyed archive."""


# What plistlib raises on damaged input, binary or XML.
PLIST_ERRORS = (
    plistlib.InvalidFileException,
    ExpatError,  # an XML plist that is not well-formed
    struct.error,  # a binary plist whose offsets or sizes lie
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    RecursionError,
    MemoryError,
)


def parse_plist(data: bytes) -> Any:
    """XML or binary plist. plistlib refuses XML entity declarations: nothing can expand."""
    try:
        return plistlib.loads(data)
    except PLIST_ERRORS as exc:
        raise NotAPlist(f"is not a readable property list ({type(exc).__name__})") from None


def unarchive(blob: bytes) -> Any:
    """The root object of a keyed archive; a plain (non-archive) plist is returned as it is."""
    if len(blob) > MAX_BLOB:
        raise NotAnArchive(f"{len(blob)} bytes, too large for an account property")
    try:
        top = parse_plist(blob)
    except NotAPlist as exc:
        raise NotAnArchive(str(exc)) from None
    if not (isinstance(top, dict) and top.get("$archiver") == "NSKeyedArchiver"):
        return top
    objects = top.get("$objects")
    root = top.get("$top")
    if not isinstance(objects, list) or not isinstance(root, dict) or not root:
        raise NotAnArchive("a keyed archive without $objects or $top")
    first = root.get("root", next(iter(root.values())))
    return _resolve(first, objects, 0)


def _resolve(value: Any, objects: list[Any], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise NotAnArchive("nested too deeply")
    if isinstance(value, plistlib.UID):
        if not 0 <= value.data < len(objects):
            raise NotAnArchive(f"reference {value.data} points outside the archive")
        value = objects[value.data]
        if value == "$null":
            return None
    if isinstance(value, dict):
        if "NS.keys" in value and "NS.objects" in value:
            keys = [_resolve(k, objects, depth + 1) for k in value["NS.keys"]]
            items = [_resolve(o, objects, depth + 1) for o in value["NS.objects"]]
            return {str(k): v for k, v in zip(keys, items, strict=False)}
        if "NS.objects" in value:
            return [_resolve(o, objects, depth + 1) for o in value["NS.objects"]]
        for field in ("NS.string", "NS.bytes", "NS.time", "NS.data"):
            if field in value:
                return _resolve(value[field], objects, depth + 1)
        return {str(k): _resolve(v, objects, depth + 1) for k, v in value.items() if k != "$class"}
    if isinstance(value, list):
        return [_resolve(v, objects, depth + 1) for v in value]
    return value
