"""The Apple Mail reader: .emlx files with their plist state, .partial.emlx re-joined, trees."""

from __future__ import annotations

import base64
import plistlib
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.migrate.stores import StoreFormat, detect_format, open_store
from mailaudit.migrate.stores.base import Flag, Role
from mailaudit.migrate.stores.emlx import SKIP_DELETED, EmlxStore

from .storecheck import read_all, to_crlf, untouched

STORES = Path(__file__).parent / "fixtures" / "mailstores"
RECEIVED = datetime(2021, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
READ, DELETED, ANSWERED, FLAGGED, DRAFT, FORWARDED = 1, 2, 4, 16, 64, 256


def emlx(message: bytes, flags: int = 0, received: datetime | None = RECEIVED) -> bytes:
    """An .emlx as Mail writes it: byte count, the LF message, the plist trailer."""
    state: dict[str, object] = {"flags": flags}
    if received is not None:
        state["date-received"] = int(received.timestamp())
    return b"%d\n" % len(message) + message + plistlib.dumps(state)


def text(n: int, subject: str = "Hi") -> bytes:
    return (
        f"Message-ID: <e{n}@example.test>\nFrom: ann@example.test\nSubject: {subject}\n"
        f"Date: Wed, 3 Feb 2021 05:05:06 +0100\n\nBody {n}\nFrom here on\n"
    ).encode()


ATTACHMENT = bytes(range(256)) * 40


def with_attachment(n: int) -> bytes:
    encoded = base64.encodebytes(ATTACHMENT)
    return (
        b"Message-ID: <a%d@example.test>\nSubject: pdf\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="XX"\n\npreamble\n--XX\n'
        b"Content-Type: text/plain\n\nsee attached\n--XX\n"
        b'Content-Type: application/pdf; name="r.pdf"\nContent-Transfer-Encoding: base64\n'
        b'Content-Disposition: attachment; filename="r.pdf"\n\n%s\n--XX--\n' % (n, encoded)
    )


def cut(message: bytes) -> bytes:
    """What Mail keeps of `with_attachment` in a .partial.emlx: the part's body removed."""
    encoded = base64.encodebytes(ATTACHMENT)
    return message.replace(
        b'filename="r.pdf"\n\n' + encoded,
        b'filename="r.pdf"\nX-Apple-Content-Length: %d\n\n' % len(encoded),
    )


@pytest.fixture
def account(tmp_path: Path) -> Path:
    """A V10 account folder: INBOX with partitions, Sent, a nested Gmail-like tree, non-ASCII."""
    root = tmp_path / "V10" / "3F887B96-0000-4000-8000-000000000001"
    inbox = root / "INBOX.mbox" / "95F6C28D-AAAA" / "Data"
    (inbox / "Messages").mkdir(parents=True)
    (inbox / "3" / "Messages").mkdir(parents=True)
    (inbox / "Messages" / "11.emlx").write_bytes(emlx(text(11), READ | FLAGGED))
    (inbox / "Messages" / "12.emlx").write_bytes(emlx(text(12), READ | DELETED))
    (inbox / "3" / "Messages" / "3001.emlx").write_bytes(emlx(text(3001), ANSWERED | FORWARDED))
    (inbox / "Messages" / "20.partial.emlx").write_bytes(emlx(cut(with_attachment(20)), READ))
    (inbox / "Attachments" / "20" / "2").mkdir(parents=True)
    (inbox / "Attachments" / "20" / "2" / "r.pdf").write_bytes(ATTACHMENT)
    (inbox / "Messages" / "21.partial.emlx").write_bytes(emlx(cut(with_attachment(21))))
    sent = root / "Sent Messages.mbox" / "Messages"
    sent.mkdir(parents=True)
    (sent / "5.emlx").write_bytes(emlx(text(5), READ | DRAFT, received=None))
    nested = root / "[Gmail].mbox" / "Entwürfe.mbox" / "Messages"
    nested.mkdir(parents=True)
    (nested / "7.emlx").write_bytes(emlx(text(7, "Grüße")))
    (root / "INBOX.mbox" / "Info.plist").write_bytes(plistlib.dumps({"MailboxID": "INBOX"}))
    return tmp_path / "V10"


def test_account_tree(account):
    assert detect_format(account) is StoreFormat.EMLX
    with untouched(account):
        got = read_all(open_store(account, StoreFormat.EMLX))
    roles = {f.path: f.role for f in EmlxStore(account).folders()}
    assert roles == {("INBOX",): Role.INBOX, ("Sent Messages",): Role.SENT, ("[Gmail]",): None,
                     ("[Gmail]", "Entwürfe"): None}  # fmt: skip
    by_key = {m.key.rsplit("/", 1)[1]: m for m in got[("INBOX",)]}
    assert sorted(by_key) == ["11", "12", "20", "21", "3001"]
    assert by_key["11"].flags == {Flag.SEEN, Flag.FLAGGED}
    assert by_key["11"].load() == to_crlf(text(11)) and by_key["11"].internal_date == RECEIVED
    assert by_key["12"].skip == SKIP_DELETED
    assert by_key["3001"].flags == {Flag.ANSWERED, Flag.FORWARDED}
    assert by_key["20"].load() == to_crlf(with_attachment(20))  # re-joined byte for byte
    assert by_key["20"].note and by_key["20"].flags == {Flag.SEEN}
    assert by_key["21"].skip and "attachment 2 is not on disk" in by_key["21"].skip
    (sent,) = got[("Sent Messages",)]
    assert sent.flags == {Flag.SEEN, Flag.DRAFT}
    assert sent.internal_date == datetime(2021, 2, 3, 4, 5, 6, tzinfo=timezone.utc)  # Date:
    (draft,) = got[("[Gmail]", "Entwürfe")]
    assert draft.load() == to_crlf(text(7, "Grüße"))


def test_the_real_emlx_from_apple_mail(tmp_path):
    box = tmp_path / "INBOX.mbox" / "Messages"
    box.mkdir(parents=True)
    shutil.copy(STORES / "testEMLX.emlx", box / "1234.emlx")
    source = (STORES / "testEMLX.emlx").read_bytes()
    count, _, rest = source.partition(b"\n")
    with untouched(tmp_path):
        (message,) = read_all(EmlxStore(tmp_path / "INBOX.mbox"))[("INBOX",)]
    assert message.load() == to_crlf(rest[: int(count)])
    assert message.flags == frozenset() and message.skip is None
    assert message.internal_date == datetime(2010, 9, 6, 9, 25, 34, tzinfo=timezone.utc)


def test_damaged_files_are_skipped_with_a_reason(tmp_path):
    box = tmp_path / "Box.mbox" / "Messages"
    box.mkdir(parents=True)
    (box / "1.emlx").write_bytes(b"not a number\nSubject: x\n\n")
    (box / "2.emlx").write_bytes(b"99999\nSubject: x\n\n")
    (box / "3.emlx").write_bytes(b"11\nSubject: x\n<?xml garbage")
    one, two, three = read_all(EmlxStore(tmp_path))[("Box",)]
    assert one.skip and "byte count" in one.skip
    assert two.skip and "past the end" in two.skip
    assert three.skip is None and three.load() == b"Subject: x\r\n"  # the state is lost only


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=400))
def test_any_file_content_reads_without_error(tmp_path_factory, junk):
    box = tmp_path_factory.mktemp("e") / "Box.mbox" / "Messages"
    box.mkdir(parents=True)
    (box / "1.emlx").write_bytes(junk)
    (box / "2.partial.emlx").write_bytes(b"%d\n" % len(junk) + junk)
    (box / "3.emlx").write_bytes(b"1\nX" + junk)  # junk as the plist trailer
    read_all(EmlxStore(box.parent))


part_text = st.from_regex(rb"\A[a-z ]{0,30}\Z")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(part_text, st.binary(min_size=1, max_size=300)), min_size=1, max_size=4))
def test_partial_rejoin_restores_base64_parts(tmp_path_factory, parts):
    """Any mix of text parts and base64 attachments: cut and re-joined equals the original."""
    box = tmp_path_factory.mktemp("p") / "Box.mbox"
    (box / "Messages").mkdir(parents=True)
    whole = [b'Subject: t\nContent-Type: multipart/mixed; boundary="b1"\n\n']
    partial = list(whole)
    for number, part in enumerate(parts, 1):
        if (part.isascii() and part.replace(b" ", b"").isalpha()) or part == b"":
            block = b"--b1\nContent-Type: text/plain\n\n" + part + b"\n"
            whole.append(block)
            partial.append(block)
            continue
        encoded = base64.encodebytes(part)
        head = b"--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
        whole.append(head + b"\n" + encoded + b"\n")
        partial.append(head + b"X-Apple-Content-Length: %d\n\n\n" % len(encoded))
        (box / "Attachments" / "9" / str(number)).mkdir(parents=True)
        (box / "Attachments" / "9" / str(number) / "f.bin").write_bytes(part)
    whole.append(b"--b1--\n")
    partial.append(b"--b1--\n")
    (box / "Messages" / "9.partial.emlx").write_bytes(emlx(b"".join(partial)))
    (message,) = read_all(EmlxStore(box))[("Box",)]
    assert message.load() == to_crlf(b"".join(whole))
