"""One reader per local mail format: mbox, maildir, mh, emlx, pst, eml.

    fmt = detect_format(path)        # StoreFormat, or UnreadableStore with the reason
    store = open_store(path, fmt)    # a StoreReader; nothing is written, locked or created
    for folder in store.folders(): ...
        for message in store.messages(folder): ...   # one StoredMessage at a time

What a path can be, per format:

- mbox: one mbox file, a Thunderbird/SeaMonkey account folder (`Mail/Local Folders`, with
  `.sbd` subfolders), or a `Mail/` folder holding several of them.
- maildir: a Maildir++ tree (its top is INBOX), a KMail or Thunderbird maildir tree, or one
  maildir.
- emlx: an Apple Mail account folder (`V10/<UUID>`), a `Mail/V<n>` folder, or one `.mbox`.
- mh: a Claws Mail, Sylpheed or nmh mail folder (`~/Mail`) or one MH folder.
- eml: a folder tree of `.eml` files (Windows Live Mail's store root or one of its folders).
- pst: one `.pst` or `.ost` file (needs the `pst` extra).

A message's `key` is stable while the store is unchanged (mbox keys are byte offsets, so a
Thunderbird compaction renumbers them: match on Message-ID then). `size` is its size in the
store, known without reading it; only load() reads the message (or chunks(), for one too large
to hold whole: the same bytes a chunk at a time). Only PST messages are rebuilt
(same bytes on every run); every other reader gives the stored bytes with CRLF line ends (and
mbox unescaping).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import NoReturn

from mailaudit.migrate.stores.base import StoreReader
from mailaudit.migrate.stores.eml import EmlStore, eml_files
from mailaudit.migrate.stores.emlx import MAILBOX_SUFFIXES, EmlxStore
from mailaudit.migrate.stores.maildir import MaildirStore, is_maildir
from mailaudit.migrate.stores.mbox import MboxStore, is_mbox_file
from mailaudit.migrate.stores.mh import MhStore, is_mh_folder
from mailaudit.migrate.stores.pst import PstStore, is_pst_file
from mailaudit.migrate.stores.shared import UnreadableStore

__all__ = ["StoreFormat", "UnreadableStore", "detect_format", "open_store"]


class StoreFormat(str, Enum):
    MBOX = "mbox"
    MAILDIR = "maildir"
    EMLX = "emlx"
    MH = "mh"
    EML = "eml"
    PST = "pst"


def open_store(path: Path, fmt: StoreFormat) -> StoreReader:
    if fmt is StoreFormat.MBOX:
        return MboxStore(path)
    if fmt is StoreFormat.MAILDIR:
        return MaildirStore(path)
    if fmt is StoreFormat.EMLX:
        return EmlxStore(path)
    if fmt is StoreFormat.MH:
        return MhStore(path)
    if fmt is StoreFormat.EML:
        return EmlStore(path)
    if fmt is StoreFormat.PST:
        return PstStore(path)
    return assert_never(fmt)


def assert_never(value: NoReturn) -> NoReturn:
    """A format added to the enum but not wired above fails mypy here and the every-format test."""
    raise AssertionError(f"unhandled store format: {value!r}")


def detect_format(path: Path) -> StoreFormat:
    """The format of the store at `path`, from its layout alone (no message is parsed)."""
    if not path.exists():
        raise UnreadableStore(path, "no such file or folder")
    if path.is_dir():
        children = sorted(path.iterdir())
        if is_maildir(path) or any(is_maildir(p) for p in children):
            return StoreFormat.MAILDIR
        if any(is_mbox_file(p) for p in children) or any(
            is_mbox_file(p) for child in children if _is_folder(child) for p in child.iterdir()
        ):  # a Thunderbird Mail/ folder: one folder per account, mbox files in each
            return StoreFormat.MBOX
        if _has_apple_mailboxes(path):
            return StoreFormat.EMLX
        if is_mh_folder(path) or any(is_mh_folder(p) for p in children if p.is_dir()):
            return StoreFormat.MH
        if _has_eml_files(path):
            return StoreFormat.EML
    elif is_mbox_file(path):
        return StoreFormat.MBOX
    elif is_pst_file(path):
        return StoreFormat.PST
    raise UnreadableStore(path, "not a mail store this tool can read")


def _has_apple_mailboxes(path: Path, depth: int = 3) -> bool:
    """A `.mbox` folder here or a few levels down (`V10/<account>/INBOX.mbox`)."""
    if path.name.endswith(MAILBOX_SUFFIXES):
        return True
    if depth == 0:
        return False
    try:
        children = [p for p in path.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return False
    return any(_has_apple_mailboxes(child, depth - 1) for child in children)


def _has_eml_files(path: Path, depth: int = 3) -> bool:
    """`.eml` files here or a few levels down (`Store Root/<account>/Inbox/`)."""
    try:
        if eml_files(path):
            return True
        children = [p for p in path.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return False
    return depth > 0 and any(_has_eml_files(child, depth - 1) for child in children)


def _is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
