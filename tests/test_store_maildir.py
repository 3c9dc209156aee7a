"""The Maildir reader on stores written by Dovecot itself and by mbsync, and on hostile names."""

from __future__ import annotations

import base64
import imaplib
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.migrate.stores import StoreFormat, detect_format, open_store
from mailaudit.migrate.stores.base import Flag, Role
from mailaudit.migrate.stores.maildir import MaildirStore, decode_modified_utf7, folder_name
from mailaudit.migrate.stores.shared import UnreadableStore, crlf_chunks

from .storecheck import (
    dovecot,
    encode_modified_utf7,
    pull_with_mbsync,
    read_all,
    to_crlf,
    untouched,
)

__all__ = ["dovecot"]  # the fixture, imported for pytest

BASE = datetime(2019, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2)))
BIG = 30 * 1024 * 1024


def mail(n: int, subject: bytes = b"Hello", body: bytes = b"") -> bytes:
    return (
        b"Message-ID: <m%d@example.test>\r\nFrom: Ann <ann@example.test>\r\n"
        b"To: bob@example.test\r\nSubject: %s %d\r\nDate: Mon, 4 Mar 2019 05:06:07 +0200\r\n\r\n"
        b"Line one\r\nFrom the start of a line\r\n%s" % (n, subject, n, body)
    )


def big_mail() -> bytes:
    chunk = base64.encodebytes(bytes(range(256)) * 3).replace(b"\n", b"\r\n")
    body = chunk * (BIG // len(chunk) + 1)
    return mail(99, b"Big", b"--\r\n") + body


# (folder as the user sees it, message, flags on the server, INTERNALDATE)
CORPUS = [
    ("INBOX", mail(1), ("\\Seen",), BASE),
    ("INBOX", mail(2), ("\\Seen", "\\Deleted"), BASE + timedelta(days=1)),
    ("INBOX", mail(3, "Grüße aus Köln".encode("latin-1")), (), BASE + timedelta(days=2)),
    ("Sent", mail(4), ("\\Seen", "\\Answered"), BASE + timedelta(days=3)),
    ("Drafts", mail(5), ("\\Draft",), BASE + timedelta(days=4)),
    ("Grüße.Büro", mail(6, "Grüße".encode()), ("\\Flagged", "$Forwarded"), BASE),
]
EXPECTED_FLAGS = {
    frozenset(): frozenset(),
    frozenset({"\\Seen"}): frozenset({Flag.SEEN}),
    frozenset({"\\Seen", "\\Answered"}): frozenset({Flag.SEEN, Flag.ANSWERED}),
    frozenset({"\\Draft"}): frozenset({Flag.DRAFT}),
    frozenset({"\\Flagged", "$Forwarded"}): frozenset({Flag.FLAGGED, Flag.FORWARDED}),
}


@pytest.fixture(scope="module")
def bob_maildir(dovecot) -> Path:
    """bob's Maildir++ as Dovecot writes it when a client APPENDs the corpus."""
    imap = imaplib.IMAP4("127.0.0.1", dovecot.ports["imap"])
    imap.login("bob", "bob-secret")
    for name in {folder for folder, *_ in CORPUS} - {"INBOX"} | {"Big"}:
        imap.create(encode_modified_utf7(name))
    for folder, message, flags, date in CORPUS:
        mailbox = encode_modified_utf7(folder)
        typ, _ = imap.append(mailbox, " ".join(flags), imaplib.Time2Internaldate(date), message)
        assert typ == "OK"
    imap.append("Big", "\\Seen", imaplib.Time2Internaldate(BASE), big_mail())
    imap.logout()
    return dovecot.folder / "home" / "bob" / "Maildir"


def test_dovecot_maildir_reads_back_as_appended(bob_maildir):
    assert detect_format(bob_maildir) is StoreFormat.MAILDIR
    with untouched(bob_maildir):
        got = read_all(open_store(bob_maildir, StoreFormat.MAILDIR))
    folders = {folder.path: folder.role for folder in MaildirStore(bob_maildir).folders()}
    assert folders == {
        ("INBOX",): Role.INBOX,
        ("Sent",): Role.SENT,
        ("Drafts",): Role.DRAFTS,
        ("Grüße", "Büro"): None,
        ("Big",): None,
    }
    for folder, message, flags, date in CORPUS:
        (stored,) = [m for m in got[tuple(folder.split("."))] if m.load() == message]
        assert stored.internal_date == date
        if "\\Deleted" in flags:
            assert stored.skip and "trashed" in stored.skip
        else:
            assert stored.skip is None
            assert stored.flags == EXPECTED_FLAGS[frozenset(flags)]
    (big,) = got[("Big",)]
    # Its size in the store: Dovecot keeps LF line ends (the S= in the name says the same).
    assert big.size == len(big_mail().replace(b"\r\n", b"\n"))
    assert len(big.load()) == len(big_mail()) > BIG
    assert f",S={big.size}," in big.key
    assert big.load() == big_mail()
    assert big.flags == {Flag.SEEN}


def test_keys_and_bytes_are_the_same_on_every_run(bob_maildir):
    first = {m.key: m.load() for ms in read_all(MaildirStore(bob_maildir)).values() for m in ms}
    second = {m.key: m.load() for ms in read_all(MaildirStore(bob_maildir)).values() for m in ms}
    assert first == second


@pytest.mark.parametrize("layout", ["Verbatim", "Maildir++"])
def test_maildir_written_by_mbsync(dovecot, bob_maildir, tmp_path, layout):
    dest = tmp_path / "mail"
    store = pull_with_mbsync(dovecot, "bob", "bob-secret", dest, layout)
    with untouched(dest):
        got = read_all(open_store(store, detect_format(store)))
    # mbsync marks each copy with an X-TUID header to find it again (research §1.2)
    by_bytes = {
        re.sub(rb"X-TUID: \S+\r\n", b"", m.load()): m
        for ms in got.values()
        for m in ms
        if m.skip is None
    }
    for folder, message, flags, date in CORPUS:
        if "\\Deleted" in flags:
            assert message not in by_bytes
            continue
        stored = by_bytes[message]
        assert stored.folder.path == tuple(folder.split("."))
        assert stored.internal_date == date
        assert stored.flags == EXPECTED_FLAGS[frozenset(flags)] - {Flag.FORWARDED} | (
            {Flag.FORWARDED} if "$Forwarded" in flags else set()
        )


def test_kmail_and_thunderbird_nesting(tmp_path):
    root = tmp_path / "local-mail"
    for folder in ("inbox", "sent-mail", ".inbox.directory/Projects", "Archive",
                   "Archive.sbd/2019", "trash"):  # fmt: skip
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True)
    (root / "inbox" / "new" / "1700000000.M1P1.host").write_bytes(mail(1).replace(b"\r\n", b"\n"))
    thunderbird = b"X-Mozilla-Status: 0003\nX-Mozilla-Status2: 00000000\n" + mail(2)
    (root / "Archive" / "cur" / "1700000001.M1P1.host.eml").write_bytes(thunderbird)
    (root / "Archive.msf").write_bytes(b'// <!-- <mdb:mork:z v="1.4"/> -->\n')
    with untouched(root):
        got = read_all(MaildirStore(root))
    assert set(got) == {("inbox",), ("inbox", "Projects"), ("sent-mail",), ("Archive",),
                        ("Archive", "2019"), ("trash",)}  # fmt: skip
    roles = {f.path: f.role for f in MaildirStore(root).folders()}
    assert roles[("inbox",)] is Role.INBOX and roles[("sent-mail",)] is Role.SENT
    assert roles[("trash",)] is Role.TRASH and roles[("Archive",)] is Role.ARCHIVE
    (new,) = got[("inbox",)]
    assert new.flags == frozenset() and new.load() == mail(1)
    assert new.internal_date == datetime.fromtimestamp(
        (root / "inbox" / "new" / "1700000000.M1P1.host").stat().st_mtime, timezone.utc
    )
    (tb,) = got[("Archive",)]
    assert tb.flags == {Flag.SEEN, Flag.ANSWERED} and tb.load() == to_crlf(thunderbird)


def test_not_a_maildir_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnreadableStore, match="no maildir"):
        MaildirStore(tmp_path / "empty")
    with pytest.raises(UnreadableStore, match="not a folder"):
        MaildirStore(tmp_path / "nothing")


@given(st.text())
def test_modified_utf7_names_round_trip(name):
    assert decode_modified_utf7(encode_modified_utf7(name)) == name


@given(st.text(alphabet=st.sampled_from("&-+,AZaz09. ü/")))
def test_any_name_on_disk_decodes_without_error(name):
    assert isinstance(folder_name(name), str)


@given(st.binary(), st.lists(st.integers(min_value=0, max_value=64)))
def test_crlf_conversion_does_not_depend_on_chunking(data, cuts):
    points = sorted({min(c, len(data)) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert b"".join(crlf_chunks(pieces)) == b"".join(crlf_chunks([data])) == to_crlf(data)


def test_two_folders_of_one_name_both_stay_and_deep_trees_end(tmp_path):
    root = tmp_path / "Maildir"
    for folder in ("", ".Sent", "Sent"):
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)
    (root / ".Sent" / "cur" / "1.a:2,S").write_bytes(mail(1))
    (root / "Sent" / "cur" / "2.b:2,S").write_bytes(mail(2))
    deep = root / "Archive"
    for level in range(200):  # far deeper than any client nests
        deep = deep / f"l{level}"
    (deep / "cur").mkdir(parents=True)
    got = read_all(MaildirStore(root))
    assert [m.load() for m in got[("Sent",)]] + [m.load() for m in got[("Sent (2)",)]] == [
        mail(1),
        mail(2),
    ]
    assert max(len(path) for path in got) <= 64


def test_windows_info_delimiters_and_unknown_letters(tmp_path):
    """mbsync's InfoDelimiter ';' and Evolution's '!' on Windows; letters a-z without a
    dovecot-keywords file mean nothing we know."""
    root = tmp_path / "box"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1.a;2,FS").write_bytes(mail(1))
    (root / "cur" / "2.b!2,RT").write_bytes(mail(2))
    (root / "cur" / "3.c:2,Sab").write_bytes(mail(3))
    one, two, three = read_all(MaildirStore(root))[("box",)]
    assert one.flags == {Flag.FLAGGED, Flag.SEEN} and one.key == "./1.a"
    assert two.skip and "trashed" in two.skip
    assert three.flags == {Flag.SEEN}
