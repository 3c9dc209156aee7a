"""Where each source folder goes on the server: pure, so the dry run can show the whole map.

The server's personal namespace prefix and hierarchy delimiter (RFC 2342) shape the names;
SPECIAL-USE attributes (RFC 6154) decide where Sent, Drafts, Trash, Junk and Archive go,
whatever the server calls them ("Gesendet", "[Gmail]/Sent Mail"). Names go on the wire in
modified UTF-7 unless the server enabled UTF8=ACCEPT (RFC 6855).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from mailaudit.migrate import utf7
from mailaudit.migrate.stores.base import Role, SourceFolder

# RFC 6154 attribute for each role; INBOX is special in IMAP itself.
SPECIAL_USE = {
    Role.SENT: "\\SENT",
    Role.DRAFTS: "\\DRAFTS",
    Role.TRASH: "\\TRASH",
    Role.JUNK: "\\JUNK",
    Role.ARCHIVE: "\\ARCHIVE",
}
# The name a role's folder gets when the server has none with that attribute.
DEFAULT_NAMES = {
    Role.SENT: "Sent",
    Role.DRAFTS: "Drafts",
    Role.TRASH: "Trash",
    Role.JUNK: "Junk",
    Role.ARCHIVE: "Archive",
}


@dataclass(frozen=True)
class ServerFolders:
    """What the server told about its folders (NAMESPACE, LIST)."""

    prefix: str  # personal namespace prefix as on the wire, e.g. "" or "INBOX."
    delimiter: str | None  # None: a flat server
    utf8: bool  # UTF8=ACCEPT enabled: names go as UTF-8
    existing: frozenset[str]  # wire names
    special_use: tuple[tuple[str, str], ...] = ()  # (attribute, wire name)

    def with_role(self, role: Role) -> str | None:
        wanted = SPECIAL_USE.get(role)
        return next((name for attr, name in self.special_use if attr == wanted), None)

    def to_wire(self, name: str) -> str:
        return name if self.utf8 else utf7.encode(name)

    def readable(self, wire: str) -> str:
        return wire if self.utf8 else utf7.decode(wire)


@dataclass(frozen=True)
class FolderMap:
    source: SourceFolder
    target: str | None  # as a person reads it; None when skipped
    wire: str | None  # as sent to the server
    exists: bool  # already on the server (else created before the upload)
    skip: str | None = None  # why this folder is left out

    @property
    def source_name(self) -> str:
        return "/".join(self.source.path) or "(top)"


def map_folders(
    folders: Sequence[SourceFolder],
    server: ServerFolders,
    include_trash: bool = False,
    include_junk: bool = False,
    patterns: Sequence[str] = (),
) -> list[FolderMap]:
    roles = {folder.path: folder.role for folder in folders}
    return [
        _one(folder, roles, server, include_trash, include_junk, patterns) for folder in folders
    ]


def _one(
    folder: SourceFolder,
    roles: dict[tuple[str, ...], Role | None],
    server: ServerFolders,
    include_trash: bool,
    include_junk: bool,
    patterns: Sequence[str],
) -> FolderMap:
    shown = "/".join(folder.path)
    if patterns and not any(
        fnmatchcase(shown, pattern) or fnmatchcase(shown, pattern.rstrip("/") + "/*")
        for pattern in patterns
    ):
        return FolderMap(folder, None, None, False, "not chosen by --folder")
    # The nearest folder up the tree (itself included) with a role decides the base.
    base_role, depth = None, 0
    for length in range(len(folder.path), 0, -1):
        role = roles.get(folder.path[:length]) if length < len(folder.path) else folder.role
        if role is not None:
            base_role, depth = role, length
            break
    if base_role is Role.TRASH and not include_trash:
        return FolderMap(folder, None, None, False, "trash: only with --include-trash")
    if base_role is Role.JUNK and not include_junk:
        return FolderMap(folder, None, None, False, "junk: only with --include-junk")
    delimiter = server.delimiter or "/"
    rest = [_clean(part, server.delimiter) for part in folder.path[depth:]]
    if base_role is Role.INBOX:
        base_wire: str | None = "INBOX"
    elif base_role is not None:
        base_wire = server.with_role(base_role) or server.prefix + DEFAULT_NAMES[base_role]
    else:
        base_wire = None
    if base_wire is None:
        if not rest:
            return FolderMap(folder, None, None, False, "a folder without a name")
        wire = server.prefix + server.to_wire(delimiter.join(rest))
    else:
        wire = delimiter.join([base_wire, *(server.to_wire(part) for part in rest)])
    return FolderMap(folder, server.readable(wire), wire, wire in server.existing)


def _clean(part: str, delimiter: str | None) -> str:
    """A folder name part that holds the server's delimiter would become a hierarchy level."""
    return part.replace(delimiter, "_") if delimiter else part


def special_use_pairs(listed: Iterable[tuple[str, frozenset[str]]]) -> tuple[tuple[str, str], ...]:
    """(attribute, name) for each special-use attribute, the first mailbox carrying it."""
    found: dict[str, str] = {}
    for name, attributes in listed:
        for attribute in SPECIAL_USE.values():
            if attribute in attributes:
                found.setdefault(attribute, name)
    return tuple(found.items())
