"""The mbox reader: Thunderbird's mboxrd and older mboxo files, flags, dates, splitting."""

from __future__ import annotations

import mailbox
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.migrate.stores import (
    StoreFormat,
    UnreadableStore,
    detect_format,
    mbox,
    open_store,
    shared,
)
from mailaudit.migrate.stores.base import Flag, Role
from mailaudit.migrate.stores.mbox import MboxStore
from mailaudit.migrate.stores.mozilla import NOTE_PARTIAL, SKIP_EXPUNGED

from .storecheck import read_all, to_crlf, untouched

STORES = Path(__file__).parent / "fixtures" / "mailstores"
RECEIVED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def mboxrd_entry(message: bytes, when: datetime = RECEIVED) -> bytes:
    """One message as Thunderbird's MboxMsgOutputStream writes it: a CRLF "From " line, every
    `>*From ` line given one more '>', the message verbatim, a blank CRLF line after it."""
    escaped = re.sub(rb"(?m)^(>*From )", rb">\1", message)
    return b"From - " + when.strftime("%a %b %d %H:%M:%S %Y").encode() + b"\r\n" + escaped + b"\r\n"


def mboxo_entry(message: bytes, when: datetime = RECEIVED) -> bytes:
    """One message as older mailnews versions wrote it on Linux: LF "From " line, only exact
    `From ` lines quoted."""
    escaped = re.sub(rb"(?m)^From ", b">From ", message)
    return b"From - " + when.strftime("%a %b %d %H:%M:%S %Y").encode() + b"\n" + escaped + b"\n"


def tb_message(n: int, status: str, body: bytes = b"", subject: bytes = b"Hi") -> bytes:
    return (
        b"X-Mozilla-Status: %s\r\nX-Mozilla-Status2: 00000000\r\nX-Mozilla-Keys:      \r\n"
        b"Message-ID: <tb%d@example.test>\r\nFrom: Ann <ann@example.test>\r\n"
        b"Subject: %s\r\nDate: Mon, 6 May 2024 09:08:09 +0200\r\n\r\nHello\r\n%s"
        % (status.encode(), n, subject, body)
    )


TRICKY_BODY = (
    b"From the start of a line\r\n>From quoted once\r\n>>From quoted twice\r\n"
    b"\r\nFrom here a line with a blank line before it\r\nbye\r\n"
)


@pytest.fixture
def profile_mail(tmp_path: Path) -> Path:
    """A Thunderbird Local Folders tree in Thunderbird's format (mboxrd, X-Mozilla-Status)."""
    root = tmp_path / "Local Folders"
    (root / "Inbox.sbd").mkdir(parents=True)
    (root / "Inbox").write_bytes(
        mboxrd_entry(tb_message(1, "0001", TRICKY_BODY))
        + mboxrd_entry(tb_message(2, "0009"))  # read, then deleted: not yet compacted
        + mboxrd_entry(tb_message(3, "0401"))  # read, partial POP download
        + mboxrd_entry(tb_message(4, "1007", subject="Grüße".encode("latin-1")))
    )
    (root / "Inbox.msf").write_bytes(b'// <!-- <mdb:mork:z v="1.4"/> -->\n')
    (root / "Inbox.sbd" / "Büro").write_bytes(mboxrd_entry(tb_message(5, "0000")))
    (root / "Sent").write_bytes(mboxrd_entry(tb_message(6, "0003")))
    (root / "Trash").write_bytes(b"")
    (root / "Trash.msf").write_bytes(b"")
    (root / "popstate.dat").write_bytes(b"# POP3 State File\n")
    (root / "msgFilterRules.dat").write_bytes(b'version="9"\n')
    return root


def test_thunderbird_local_folders(profile_mail):
    assert detect_format(profile_mail) is StoreFormat.MBOX
    with untouched(profile_mail):
        got = read_all(open_store(profile_mail, StoreFormat.MBOX))
    roles = {f.path: f.role for f in MboxStore(profile_mail).folders()}
    assert roles == {("Inbox",): Role.INBOX, ("Inbox", "Büro"): None, ("Sent",): Role.SENT,
                     ("Trash",): Role.TRASH}  # fmt: skip
    first, deleted, partial, starred = got[("Inbox",)]
    assert first.load() == tb_message(1, "0001", TRICKY_BODY)  # mboxrd unescaped exactly
    assert first.flags == {Flag.SEEN} and first.skip is None
    assert first.internal_date == RECEIVED
    assert deleted.skip == SKIP_EXPUNGED
    assert partial.note == NOTE_PARTIAL and partial.skip is None
    assert starred.flags == {Flag.SEEN, Flag.ANSWERED, Flag.FLAGGED, Flag.FORWARDED}
    assert starred.load() == tb_message(4, "1007", subject="Grüße".encode("latin-1"))
    (buero,) = got[("Inbox", "Büro")]
    assert buero.flags == frozenset() and buero.load() == tb_message(5, "0000")
    assert got[("Trash",)] == []
    assert len({m.key for m in got[("Inbox",)]}) == 4


def test_older_mboxo_file_unescapes_one_level_only(tmp_path):
    message = tb_message(1, "0001", b"From a\n>From b\n>>From c\nend\n").replace(b"\r\n", b"\n")
    folder = tmp_path / "Inbox"
    folder.write_bytes(mboxo_entry(message) + mboxo_entry(tb_message(2, "0000")))
    got = read_all(MboxStore(folder))[("Inbox",)]
    # ">From b" was lost at writing (it reads as "From b"); ">>From c" is kept as stored
    assert got[0].load() == to_crlf(message.replace(b">From b", b"From b"))
    assert got[1].load() == tb_message(2, "0000")


def test_unescaped_from_line_in_an_old_body_stays_in_the_message(tmp_path):
    body = b"Hello\nFrom my point of view, this is body text\nand more\n"
    message = b"Subject: x\nMessage-ID: <a@b>\n\n" + body
    folder = tmp_path / "Inbox"
    folder.write_bytes(b"From - Mon Jan 01 00:00:00 2001\n" + message + b"\n"
                       + b"From - Mon Jan 01 00:00:00 2001\nSubject: y\nTo: z\n\nz\n")  # fmt: skip
    first, second = read_all(MboxStore(folder))[("Inbox",)]
    assert first.load() == to_crlf(message)
    assert second.load() == b"Subject: y\r\nTo: z\r\n\r\nz\r\n"


@pytest.mark.parametrize("name", ["complex.mbox", "single_mail.mbox", "testMBOX_complex.mbox"])
def test_real_mbox_files_split_as_the_stdlib_splits_them(name, tmp_path):
    source = STORES / name
    with untouched(STORES):
        got = read_all(open_store(source, detect_format(source)))[(name.removesuffix(".mbox"),)]
    copy = tmp_path / name  # the stdlib opens mbox files for writing: only ever on a copy
    shutil.copy(source, copy)
    oracle = mailbox.mbox(copy, create=False)
    expected = [to_crlf(oracle.get_bytes(key)) for key in oracle.iterkeys()]
    assert [m.load() for m in got] == expected
    assert all(m.internal_date is not None for m in got)
    if name == "complex.mbox":
        assert got[0].internal_date == datetime(2009, 6, 1, 4, 28, 28, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("name", "folder", "role"),
    [
        ("complex.mbox", "complex", None),  # an export
        ("Sent.MBOX", "Sent", Role.SENT),
        ("In.mbx", "In", None),  # Eudora
        ("store.mbs", "store", None),  # Opera Mail
        ("Archive.2019.mbox", "Archive.2019", None),  # only the extension goes
        ("Inbox", "Inbox", Role.INBOX),  # Thunderbird's folder file: no extension
        ("mail.txt", "mail.txt", None),  # not a mail file's extension
        ("x.mbox.txt", "x.mbox.txt", None),  # the extension must end the name
    ],
)
def test_a_single_file_is_a_folder_named_without_its_extension(tmp_path, name, folder, role):
    """One mbox file given alone: `complex.mbox` would be a folder "complex.mbox", whose '.'
    Dovecot's Maildir++ refuses and other servers take for a hierarchy separator."""
    path = tmp_path / name
    path.write_bytes(b"From a@b Mon Jan  1 00:00:00 2001\nSubject: x\n\nx\n")
    with untouched(tmp_path):
        store = open_store(path, detect_format(path))
        (only,) = store.folders()
        (message,) = store.messages(only)
    assert only.path == (folder,) and only.role is role
    assert message.key.startswith(name)  # the ledger's key is the file's, as before


def test_files_in_a_folder_tree_keep_their_names(tmp_path):
    """Only the one file given alone loses its extension: in a tree the names are the client's."""
    entry = b"From a@b Mon Jan  1 00:00:00 2001\nSubject: x\n\nx\n"
    (tmp_path / "Inbox.sbd").mkdir()
    for name in ("Inbox", "Inbox.sbd/Old.mbox", "Notes.mbx"):
        (tmp_path / name).write_bytes(entry)
    paths = {f.path for f in MboxStore(tmp_path).folders()}
    assert paths == {("Inbox",), ("Inbox", "Old.mbox"), ("Notes.mbx",)}


def test_mutt_status_headers(tmp_path):
    folder = tmp_path / "mbox"
    folder.write_bytes(
        b"From a@b Mon Jan  1 00:00:00 2001\nStatus: RO\nX-Status: AF\n\nread\n\n"
        b"From a@b Mon Jan  1 00:00:00 2001\nStatus: O\nX-Status: D\n\ngone\n\n"
        b"From a@b Mon Jan  1 00:00:00 2001\nSubject: new\n\nnew\n"
    )
    read, gone, new = read_all(MboxStore(folder))[("mbox",)]
    assert read.flags == {Flag.SEEN, Flag.ANSWERED, Flag.FLAGGED}
    assert gone.skip and "deleted" in gone.skip
    assert new.flags == frozenset() and new.internal_date == datetime(
        2001, 1, 1, tzinfo=timezone.utc
    )


def test_date_from_received_when_the_from_line_has_none(tmp_path):
    folder = tmp_path / "box"
    folder.write_bytes(
        b"From -\nReceived: from a by b; Tue, 2 Jan 2001 03:04:05 +0100\n"
        b"Received: from c by a; Mon, 1 Jan 2001 00:00:00 +0000\n\nx\n"
    )
    (message,) = read_all(MboxStore(folder))[("box",)]
    assert message.internal_date == datetime(2001, 1, 2, 2, 4, 5, tzinfo=timezone.utc)


def test_not_an_mbox(tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"hello\n")
    with pytest.raises(UnreadableStore, match="not an mbox"):
        MboxStore(tmp_path / "notes.txt")
    with pytest.raises(UnreadableStore, match="no mbox folder"):
        MboxStore(tmp_path)
    with pytest.raises(UnreadableStore):
        detect_format(tmp_path / "notes.txt")


def test_long_lines_and_a_cr_at_every_piece_boundary(tmp_path):
    line = b"x" * 100_000 + b"\r\n"
    message = b"Subject: long\r\n\r\n" + line * 3 + b">From " + line
    folder = tmp_path / "Inbox"
    folder.write_bytes(mboxrd_entry(message) + mboxrd_entry(tb_message(2, "0000")))
    first, second = read_all(MboxStore(folder))[("Inbox",)]
    assert first.load() == message and first.size == len(message)
    assert second.load() == tb_message(2, "0000")


def test_a_30_mb_message_between_two_others(tmp_path):
    big = b"Subject: big\r\nMessage-ID: <big@example.test>\r\n\r\n" + (
        b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
        * (30 * 1024 * 1024 // 78)
    )
    folder = tmp_path / "Inbox"
    folder.write_bytes(b"".join(mboxrd_entry(m) for m in (tb_message(1, "0001"), big,
                                                           tb_message(2, "0001"))))  # fmt: skip
    first, middle, last = read_all(MboxStore(folder))[("Inbox",)]
    assert middle.size == len(big) > 30_000_000
    assert middle.load() == big
    assert (first.load(), last.load()) == (tb_message(1, "0001"), tb_message(2, "0001"))


header_line = st.from_regex(rb"\A[A-Za-z-]{1,20}: [ -~\x80-\xff]{0,40}\r\n\Z")
body_line = st.from_regex(rb"\A(>{0,3}From )?[ -~\x80-\xff]{0,60}\r\n\Z")


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    headers = b"".join(draw(st.lists(header_line, min_size=1, max_size=4)))
    body = b"".join(draw(st.lists(body_line, max_size=8)))
    return headers + b"\r\n" + body + b"end\r\n"  # Thunderbird drops a final blank line too


@settings(max_examples=60, deadline=None)
@given(st.lists(messages(), min_size=1, max_size=5))
def test_mboxrd_round_trip(tmp_path_factory, written):
    folder = tmp_path_factory.mktemp("rt") / "Inbox"
    folder.write_bytes(b"".join(mboxrd_entry(m) for m in written))
    got = read_all(MboxStore(folder))[("Inbox",)]
    assert [m.load() for m in got] == written


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_after_a_from_line_read_without_error(tmp_path_factory, junk):
    folder = tmp_path_factory.mktemp("junk") / "Inbox"
    folder.write_bytes(b"From - Mon Jan 01 00:00:00 2001\n" + junk)
    for messages_ in read_all(MboxStore(folder)).values():  # sizes checked against load()
        for message in messages_:
            assert message.skip in (None, "empty message") or "deleted" in message.skip


mbox_text = st.lists(
    st.sampled_from([b"From - Mon Jan 01 00:00:00 2001\r\n", b"From x\n", b"A: b\n", b"\n",
                     b"\r\n", b">From y\n", b">>From z\r\n", b"x" * 40, b"\r", b">", b"body\n"]),
    max_size=40,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(mbox_text)
def test_block_and_line_sizes_do_not_change_the_bytes(tmp_path_factory, pieces):
    """Tiny read blocks and skip windows cut lines everywhere: the bytes stay the same. Tiny
    line pieces change which overlong lines count as escaped, but size and load() still agree
    (read_all)."""
    folder = tmp_path_factory.mktemp("cut") / "Inbox"
    folder.write_bytes(b"From - Mon Jan 01 00:00:00 2001\n" + b"".join(pieces))
    normal = [(m.size, m.load()) for m in read_all(MboxStore(folder))[("Inbox",)]]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shared, "CHUNK", 7)
        patch.setattr(mbox, "SKIP_WINDOW", 9)
        cut = [(m.size, m.load()) for m in read_all(MboxStore(folder))[("Inbox",)]]
        patch.setattr(mbox, "LINE_LIMIT", 8)
        read_all(MboxStore(folder))
    assert cut == normal


def test_mailboxes_exported_by_apple_mail_are_named_after_their_folders(tmp_path):
    """Apple Mail's Export Mailbox (and Mail 1.x's own layout) writes `Inbox.mbox/mbox` beside
    a binary `table_of_contents`, nested mailboxes inside their parent's folder: the folder is
    "Inbox", not "mbox"; given alone, the export is its own folder."""
    entry = b"From a@b Mon Jan  1 00:00:00 2001\nSubject: x\n\nx\n"
    export = tmp_path / "Export"
    for folder in ("Inbox.mbox", "Projects.mbox", "Projects.mbox/Client A.mbox"):
        (export / folder).mkdir(parents=True)
        (export / folder / "mbox").write_bytes(entry)
        (export / folder / "table_of_contents").write_bytes(b"\x00\x00\x01\x02toc")
        (export / folder / "Info.plist").write_bytes(b"<?xml version='1.0'?><plist/>")
    with untouched(tmp_path):
        assert detect_format(export) is StoreFormat.MBOX
        folders = {f.path: f.role for f in MboxStore(export).folders()}
        assert detect_format(export / "Inbox.mbox") is StoreFormat.MBOX
        alone = {f.path: f.role for f in MboxStore(export / "Inbox.mbox").folders()}
    assert folders == {("Inbox",): Role.INBOX, ("Projects",): None, ("Projects", "Client A"): None}
    assert alone == {("Inbox",): Role.INBOX}
