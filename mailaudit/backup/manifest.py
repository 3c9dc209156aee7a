"""The manifest: what a backup holds, written inside the archive and beside it.

For every file its path as on the audited machine, size, modification time, SHA-256 and the ids
of the accounts whose mail it holds; the machine, the tool's version and the time; and every
store file left out, with the reason. `--verify` checks an archive against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from mailaudit import __version__
from mailaudit.backup.selection import NotCopied, Owner
from mailaudit.errors import ArchiveUnreadable
from mailaudit.model import Machine

NAME = "manifest.json"
FORMAT = "mailaudit-backup"
VERSION = 1
PIECE = 64 * 1024


@dataclass(frozen=True, slots=True)
class CopiedFile:
    name: str  # the member's name: the path as on the audited machine, without the leading "/"
    size: int
    mtime_ns: int
    sha256: str
    accounts: tuple[str, ...]

    @property
    def mtime(self) -> str:
        moment = datetime.fromtimestamp(self.mtime_ns / 1e9, timezone.utc)
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Expected:
    """What a member must be, as the manifest says."""

    name: str
    size: int
    sha256: str


def render(
    machine: Machine,
    created_at: str,
    owners: tuple[Owner, ...],
    copied: list[CopiedFile],
    not_copied: list[NotCopied],
) -> Iterator[bytes]:
    """The manifest in pieces of about 64 KB: 100,000 files never sit in memory as one text.

    One file a line: readable, and written by json's C encoder (an indented dump is ten times
    slower: seconds for 65,000 files)."""
    head = {
        "format": FORMAT,
        "manifest_version": VERSION,
        "tool": {"name": "mailaudit", "version": __version__},
        "machine": {"hostname": machine.hostname, "os": machine.os, "root": machine.root},
        "created_at": created_at,
        "accounts": [
            {"id": o.id, "client": o.client.value, "user": o.user, "name": o.name, "store": o.store}
            for o in owners
        ],
    }
    files = (
        {
            "path": f.name,
            "size": f.size,
            "mtime": f.mtime,
            "sha256": f.sha256,
            "accounts": list(f.accounts),
        }
        for f in copied
    )
    left = ({"path": n.path, "reason": n.reason, "failed": n.failed} for n in not_copied)
    pieces = _pieces(
        [
            json.dumps(head, indent=2, ensure_ascii=False)[:-2] + ',\n  "files": [',
            _entries(files),
            '  ],\n  "not_copied": [',
            _entries(left),
            "  ]\n}\n",
        ]
    )
    for piece in pieces:
        yield piece.encode("utf-8")


def _entries(entries: Iterator[dict[str, Any]]) -> Iterator[str]:
    first = True
    for entry in entries:
        yield ("\n    " if first else ",\n    ") + json.dumps(entry, ensure_ascii=False)
        first = False
    yield "\n"


def _pieces(parts: list[str | Iterator[str]]) -> Iterator[str]:
    buffered: list[str] = []
    size = 0
    for part in parts:
        for text in [part] if isinstance(part, str) else part:
            buffered.append(text)
            size += len(text)
            if size >= PIECE:
                yield "".join(buffered)
                buffered, size = [], 0
    yield "".join(buffered)


def parse(data: bytes, where: str) -> list[Expected]:
    """The files a manifest lists; ArchiveUnreadable when it is not a mailaudit manifest."""
    try:
        document: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveUnreadable(f"{where}: the manifest is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ArchiveUnreadable(f"{where}: not a mailaudit backup manifest")
    if document.get("manifest_version") != VERSION:
        raise ArchiveUnreadable(
            f"{where}: manifest version {document.get('manifest_version')!r} is not one "
            f"this mailaudit reads ({VERSION})"
        )
    files = document.get("files")
    if not isinstance(files, list):
        raise ArchiveUnreadable(f"{where}: the manifest has no list of files")
    expected = []
    for entry in files:
        try:
            name, size, digest = entry["path"], entry["size"], entry["sha256"]
        except (TypeError, KeyError):
            raise ArchiveUnreadable(
                f"{where}: a manifest entry lacks path, size or sha256"
            ) from None
        if not (isinstance(name, str) and isinstance(size, int) and isinstance(digest, str)):
            raise ArchiveUnreadable(f"{where}: a manifest entry has a field of the wrong type")
        expected.append(Expected(name, size, digest))
    return expected
