"""The MH reader (Claws Mail, Sylpheed, nmh) and the .eml folder reader (Windows Live Mail)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.migrate.stores import StoreFormat, UnreadableStore, detect_format, open_store
from mailaudit.migrate.stores.base import Flag, Role
from mailaudit.migrate.stores.eml import EmlStore
from mailaudit.migrate.stores.mh import MhStore, read_marks, read_sequences

from .storecheck import read_all, to_crlf, untouched


def message(n: int, received: str = "Tue, 2 Jan 2001 03:04:05 +0100") -> bytes:
    return (
        f"Received: from a by b; {received}\nMessage-ID: <mh{n}@example.test>\n"
        f"Subject: n{n}\n\nbody {n}\n"
    ).encode()


def claws_mark(marks: dict[int, int], order: str = "<") -> bytes:
    return struct.pack(order + "I", 2) + b"".join(
        struct.pack(order + "II", n, bits) for n, bits in marks.items()
    )


@pytest.fixture
def claws(tmp_path: Path) -> Path:
    """Claws Mail's ~/Mail: inbox with .claws_mark, sent, trash, a subfolder, and nmh-style
    sequences in another folder."""
    root = tmp_path / "Mail"
    for folder in ("inbox", "sent", "trash", "inbox/Projekte Zürich", "archive"):
        (root / folder).mkdir(parents=True)
    for n in (1, 2, 3, 4):
        (root / "inbox" / str(n)).write_bytes(message(n))
    (root / "inbox" / ",5").write_bytes(message(5))  # removed by nmh's rmm: not a message
    (root / "inbox" / ".claws_cache").write_bytes(b"\x00" * 64)
    # 1 read+replied, 2 new+unread, 3 read+marked+forwarded, 4 deleted
    (root / "inbox" / ".claws_mark").write_bytes(claws_mark({1: 16, 2: 3, 3: 4 | 32, 4: 8}))
    (root / "sent" / "1").write_bytes(message(6))
    (root / "sent" / ".sylpheed_mark").write_bytes(claws_mark({1: 0}, ">"))  # big-endian writer
    (root / "inbox" / "Projekte Zürich" / "7").write_bytes(message(7))
    for n in (1, 2, 3):
        (root / "archive" / str(n)).write_bytes(message(n + 10))
    (root / "archive" / ".mh_sequences").write_bytes(b"unseen: 2-3\nflagged: 1\n 3\nreplied: 1\n")
    return root


def test_claws_mail_tree(claws):
    assert detect_format(claws) is StoreFormat.MH
    with untouched(claws):
        got = read_all(open_store(claws, StoreFormat.MH))
    roles = {f.path: f.role for f in MhStore(claws).folders()}
    assert roles == {("archive",): Role.ARCHIVE, ("inbox",): Role.INBOX,
                     ("inbox", "Projekte Zürich"): None, ("sent",): Role.SENT}  # fmt: skip
    one, two, three, four = got[("inbox",)]
    assert one.flags == {Flag.SEEN, Flag.ANSWERED} and one.load() == to_crlf(message(1))
    assert two.flags == frozenset()
    assert three.flags == {Flag.SEEN, Flag.FLAGGED, Flag.FORWARDED}
    assert four.skip and "deleted" in four.skip
    assert one.internal_date == datetime(2001, 1, 2, 2, 4, 5, tzinfo=timezone.utc)
    (sent,) = got[("sent",)]
    assert sent.flags == {Flag.SEEN}
    a, b, c = got[("archive",)]
    assert (a.flags, b.flags, c.flags) == ({Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED}, frozenset(),
                                           {Flag.FLAGGED})  # fmt: skip
    assert got[("inbox", "Projekte Zürich")][0].load() == to_crlf(message(7))


def test_eml_folders(tmp_path):
    root = tmp_path / "Windows Live Mail"
    for folder in (
        "Storage Folders/Inbox",
        "Storage Folders/Sent Items",
        "Konto/Gelöschte Elemente",
    ):
        (root / folder).mkdir(parents=True)
    (root / "Storage Folders" / "Inbox" / "00294823-00000147.eml").write_bytes(
        message(1).replace(b"\n", b"\r\n")
    )
    (root / "Storage Folders" / "Inbox" / "00294823-00000148.EML").write_bytes(message(2))
    (root / "Storage Folders" / "Sent Items" / "1.eml").write_bytes(b"Subject: no date\n\nx\n")
    (root / "Konto" / "Gelöschte Elemente" / "2.eml").write_bytes(b"")
    (root / "Konto" / "account{4A18}.oeaccount").write_bytes(b"<MessageAccount/>")
    assert detect_format(root) is StoreFormat.EML
    with untouched(root):
        got = read_all(open_store(root, StoreFormat.EML))
    assert set(got) == {("Konto", "Gelöschte Elemente"), ("Storage Folders", "Inbox"),
                        ("Storage Folders", "Sent Items")}  # fmt: skip
    first, second = got[("Storage Folders", "Inbox")]
    assert first.load() == to_crlf(message(1)) and first.flags == {Flag.SEEN}
    assert second.load() == to_crlf(message(2))
    (no_date,) = got[("Storage Folders", "Sent Items")]
    mtime = (root / "Storage Folders" / "Sent Items" / "1.eml").stat().st_mtime
    assert no_date.internal_date == datetime.fromtimestamp(mtime, timezone.utc)
    (empty,) = got[("Konto", "Gelöschte Elemente")]
    assert empty.skip == "empty message"
    store = EmlStore(root / "Storage Folders")
    assert {f.path: f.role for f in store.folders()} == {("Inbox",): Role.INBOX,
                                                       ("Sent Items",): Role.SENT}  # fmt: skip


def test_no_messages_is_a_clear_error(tmp_path):
    with pytest.raises(UnreadableStore, match="no MH folder"):
        MhStore(tmp_path)
    with pytest.raises(UnreadableStore, match=r"no \.eml files"):
        EmlStore(tmp_path)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_any_mark_file_reads_without_error(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("m")
    (folder / ".claws_mark").write_bytes(data)
    marks = read_marks(folder)
    assert all(isinstance(k, int) and isinstance(v, int) for k, v in marks.items())


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_sequences_file_reads_without_error(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("s")
    (folder / ".mh_sequences").write_text(text, errors="surrogateescape")
    read_sequences(folder)


MUTTRC = """\
set hostname=localhost.invalid
set mbox_type=MH
set folder={folder}
set confirmcreate=no
set confirmappend=no
set mark_old=no
set quit=yes
set move=no
set record=""
"""
SOURCE = (
    b"From a@example.test Mon Jan  1 00:00:00 2001\nStatus: RO\nX-Status: AF\nSubject: one\n"
    b"Received: from a by b; Tue, 2 Jan 2001 03:04:05 +0100\n\nread, flagged, replied\n\n"
    b"From a@example.test Mon Jan  1 00:00:00 2001\nSubject: two\nTo: b@example.test\n\nnew\n\n"
    b"From a@example.test Mon Jan  1 00:00:00 2001\nStatus: RO\nSubject: three\n\nread\n"
)


def test_mh_written_by_mutt(tmp_path):
    """mutt copies an mbox into an MH folder and keeps the state in .mh_sequences."""
    if shutil.which("mutt") is None or shutil.which("script") is None:
        pytest.fail("needs mutt and script: apt-get install mutt bsdutils")
    (tmp_path / "src.mbox").write_bytes(SOURCE)
    (tmp_path / "Mail").mkdir()
    (tmp_path / "muttrc").write_text(MUTTRC.format(folder=tmp_path / "Mail"))
    keys = "<tag-pattern>~A<enter><tag-prefix><copy-message>=Posteingang<enter><quit>"
    command = f"mutt -n -F {tmp_path / 'muttrc'} -f {tmp_path / 'src.mbox'} -e 'push \"{keys}\"'"
    # mutt wants a terminal: script(1) gives it one; it talks to no server here
    subprocess.run(["script", "-qc", command, "/dev/null"], env={**os.environ, "TERM": "vt100",
                   "HOME": str(tmp_path)}, stdin=subprocess.DEVNULL, capture_output=True,
                   timeout=60, check=True)  # fmt: skip
    folder = tmp_path / "Mail" / "Posteingang"
    assert (folder / ".mh_sequences").exists(), "mutt wrote no MH folder"
    with untouched(tmp_path / "Mail"):
        got = read_all(MhStore(tmp_path / "Mail"))
    one, two, three = got[("Posteingang",)]
    assert one.flags == {Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED}
    assert two.flags == frozenset() and three.flags == {Flag.SEEN}
    assert one.internal_date == datetime(2001, 1, 2, 2, 4, 5, tzinfo=timezone.utc)
    assert MhStore(tmp_path / "Mail").folders().__next__().role is Role.INBOX
    for message, number in zip((one, two, three), (1, 2, 3), strict=True):
        assert message.load() == to_crlf((folder / str(number)).read_bytes())
        assert b"Subject: " + (b"one", b"two", b"three")[number - 1] in message.load()
