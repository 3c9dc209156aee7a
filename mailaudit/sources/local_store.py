"""The size of a client's local mail store, measured the one safe way for every source: inside
the root, no link followed, no access time moved, and a store that is there but cannot be read
reported as "not measured" with the reason, never as 0 B."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import ABSENT, IgnoreRule, MachineFiles, NotARegularFile
from mailaudit.model import LocalStore


def measure_store(
    files: MachineFiles,
    path: Path,
    ignore: IgnoreRule,
    note: str | None,
    what: str = "mail folder",
) -> LocalStore:
    """The mail bytes of a folder (the files `ignore` lets through) or of one file (a spool,
    a database). `what` names the store in the reason when it cannot be measured."""
    shown = files.display(path)
    try:
        size, left_out = _size(files, path, ignore)
    except UnreadableFile as exc:
        reason = f"{what} {exc.reason}"
        if exc.reason == ABSENT:
            return LocalStore(shown, 0, exists=False, note=_join(note, reason))
        return LocalStore(shown, 0, note=_join(note, reason), measured=False)
    return LocalStore(shown, size, note=_join(note, left_out))


def _size(files: MachineFiles, path: Path, ignore: IgnoreRule) -> tuple[int, str | None]:
    real = files.check_inside(path)
    try:
        info = os.lstat(real)
    except OSError as exc:
        raise UnreadableFile(str(path), exc.strerror or "cannot be read") from None
    if stat.S_ISDIR(info.st_mode):
        measured = files.measure_mail(path, ignore)
        return measured.bytes, measured.note
    if not stat.S_ISREG(info.st_mode):
        kind = NotARegularFile(real, info.st_mode).kind
        raise UnreadableFile(str(path), f"is {kind}, not a regular file")
    return info.st_size, None


def _join(*parts: str | None) -> str | None:
    return "; ".join(p for p in parts if p) or None
