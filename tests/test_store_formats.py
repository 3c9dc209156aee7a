"""Every store format: detected, opened and read; nothing opened for writing, nothing created."""

from __future__ import annotations

import builtins
import io
import os
import plistlib
import shutil
from pathlib import Path

import pytest

from mailaudit.migrate.stores import StoreFormat, UnreadableStore, detect_format, open_store

from .storecheck import read_all, untouched

STORES = Path(__file__).parent / "fixtures" / "mailstores"
THUNDERBIRD = Path(__file__).parent / "fixtures" / "thunderbird-pop" / "Mail" / "127.0.0.1"
MESSAGE = b"Subject: hi\nMessage-ID: <x@example.test>\n\nhello\n"


def sample(fmt: StoreFormat, folder: Path) -> Path:
    """A small store of each format, real where we have one."""
    if fmt is StoreFormat.MBOX:
        return THUNDERBIRD
    if fmt is StoreFormat.PST:
        return STORES / "testPST.pst"
    root = folder / fmt.value
    if fmt is StoreFormat.MAILDIR:
        for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
            (root / sub).mkdir(parents=True)
        (root / "cur" / "1700000000.1.host:2,S").write_bytes(MESSAGE)
    elif fmt is StoreFormat.EMLX:
        (root / "INBOX.mbox" / "Messages").mkdir(parents=True)
        shutil.copy(STORES / "testEMLX.emlx", root / "INBOX.mbox" / "Messages" / "1.emlx")
        (root / "INBOX.mbox" / "Info.plist").write_bytes(plistlib.dumps({"a": 1}))
    elif fmt is StoreFormat.MH:
        (root / "inbox").mkdir(parents=True)
        (root / "inbox" / "1").write_bytes(MESSAGE)
        (root / "inbox" / ".mh_sequences").write_bytes(b"unseen: 1\n")
    elif fmt is StoreFormat.EML:
        (root / "Inbox").mkdir(parents=True)
        (root / "Inbox" / "a.eml").write_bytes(MESSAGE)
    return root


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


@pytest.mark.parametrize("fmt", list(StoreFormat))
def test_every_format_is_detected_opened_and_read_only(fmt, tmp_path, monkeypatch):
    store = sample(fmt, tmp_path)
    assert detect_format(store) is fmt
    opened: list[tuple[str, int]] = []
    real_os_open, real_open = os.open, builtins.open

    def os_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append((str(path), flags))
        assert not flags & WRITE_FLAGS, f"{path} opened with flags {flags:#o}"
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if not isinstance(file, int):
            opened.append((str(file), 0))
        assert not set(mode) & set("wax+"), f"{file} opened with mode {mode}"
        return real_open(file, mode, *args, **kwargs)

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError(f"a store reader changed the file system: {args}")

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    for name in ("mkdir", "makedirs", "rename", "replace", "remove", "unlink", "utime", "rmdir"):
        monkeypatch.setattr(os, name, refuse)
    with untouched(store.parent):
        got = read_all(open_store(store, fmt))
    monkeypatch.undo()
    assert got and any(got.values())
    assert opened  # the spy saw the reads, so it would have seen a write


@pytest.mark.parametrize("fmt", list(StoreFormat))
def test_chunks_give_the_bytes_of_load(fmt, tmp_path):
    """What a message too large to hold is sent from: load()'s bytes, a chunk at a time, in
    every format that keeps a message in a file as it is (PST builds each message whole)."""
    store = open_store(sample(fmt, tmp_path), fmt)
    messages = [m for f in store.folders() for m in store.messages(f) if m.skip is None]
    assert messages
    for message in messages:
        if fmt is StoreFormat.PST:
            assert message.chunks is None
        else:
            assert message.chunks is not None
            assert b"".join(message.chunks()) == message.load()


def test_bad_paths_are_one_line_errors(tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"hello\n")
    for path in (tmp_path / "missing", tmp_path / "notes.txt", tmp_path):
        with pytest.raises(UnreadableStore) as caught:
            detect_format(path)
        assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_thunderbird_mail_folder_with_one_folder_per_account(tmp_path):
    mail = tmp_path / "Mail"
    shutil.copytree(THUNDERBIRD, mail / "pop.example.test")
    (mail / "Local Folders").mkdir()
    (mail / "Local Folders" / "Trash").write_bytes(b"")
    (mail / "Local Folders" / "Trash.msf").write_bytes(b"")
    assert detect_format(mail) is StoreFormat.MBOX
    folders = {f.path for f in open_store(mail, StoreFormat.MBOX).folders()}
    assert ("pop.example.test", "Inbox", "Büro") in folders
    assert ("Local Folders", "Trash") in folders


def test_a_message_gone_after_listing_is_an_unreadable_store_error(tmp_path):
    """A running client can delete or compact while we read: load() then fails cleanly."""
    root = sample(StoreFormat.MAILDIR, tmp_path)
    (message,) = next(iter(read_all(open_store(root, StoreFormat.MAILDIR)).values()))
    next((root / "cur").iterdir()).unlink()
    assert message.chunks is not None
    with pytest.raises(UnreadableStore, match="could not be read again"):
        message.load()
    with pytest.raises(UnreadableStore, match="could not be read again"):
        list(message.chunks())
    mbox = tmp_path / "Inbox"
    mbox.write_bytes(b"From - Mon Jan 01 00:00:00 2001\n" + MESSAGE)
    store = open_store(mbox, StoreFormat.MBOX)
    (message,) = store.messages(next(store.folders()))
    mbox.write_bytes(b"From - Mon")  # compacted away under us
    with pytest.raises(UnreadableStore):
        message.load()
