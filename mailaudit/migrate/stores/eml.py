"""Folders of `.eml` files: Windows Live Mail, Windows Mail, and messages saved one per file.

Windows Live Mail keeps one `.eml` per message under `<Store Root>\\<account or Storage
Folders>\\<folder>\\` (research `other-clients.md` §1); the folder list and the read and flag
state are in its ESE database (`Mail.MSMessageStore`), which is not read. So the folders are the
directories, and every message goes up as read (\\Seen): old mail migrated from a PC has been
read, and thousands of "unread" messages on the new account would bury the new ones.
INTERNALDATE: the newest Received, else Date, else the file's mtime.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from mailaudit.migrate.stores.base import Flag, SourceFolder, StoredMessage
from mailaudit.migrate.stores.shared import folder_tree, whole_file_message

SEEN = frozenset({Flag.SEEN})


def eml_files(directory: Path) -> list[str]:
    with os.scandir(directory) as scan:
        return sorted(
            e.name
            for e in scan
            if e.name.lower().endswith(".eml")
            and not e.name.startswith(".")
            and e.is_file(follow_symlinks=False)
        )


class EmlStore:
    """A folder tree whose directories hold `.eml` files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirs = folder_tree(root, lambda d: bool(eml_files(d)), "no .eml files in it")

    def folders(self) -> Iterator[SourceFolder]:
        yield from self._dirs

    def messages(self, folder: SourceFolder) -> Iterator[StoredMessage]:
        directory = self._dirs[folder]
        relative = directory.relative_to(self.root).as_posix()
        for name in eml_files(directory):
            yield whole_file_message(folder, directory / name, f"{relative}/{name}", SEEN)
