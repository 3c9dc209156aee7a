"""The PST reader on PST files written by Outlook: folders, rebuilt MIME, state, determinism."""

from __future__ import annotations

import email
import os
from email import policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.migrate.stores import StoreFormat, UnreadableStore, detect_format, open_store
from mailaudit.migrate.stores.base import Flag, Role
from mailaudit.migrate.stores.pst import PstStore

from .storecheck import read_all, untouched

pypff = pytest.importorskip("pypff") if not os.environ.get("CI") else __import__("pypff")

STORES = Path(__file__).parent / "fixtures" / "mailstores"
OUTLOOK = STORES / "testPST.pst"
BODIES = STORES / "testPST_variousBodyTypes.pst"


def parsed(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_outlook_pst_folders_and_messages():
    assert detect_format(OUTLOOK) is StoreFormat.PST
    with untouched(STORES):
        got = read_all(open_store(OUTLOOK, StoreFormat.PST))
    roles = {f.path: f.role for f in PstStore(OUTLOOK).folders()}
    # the IPM subtree only: no search folders, no views; Trash known from the store's entry id
    assert roles == {("Début du fichier de données Outlook",): None,
                     ("Éléments supprimés",): Role.TRASH}  # fmt: skip
    messages = got[("Début du fichier de données Outlook",)]
    assert len(messages) == 7 and got[("Éléments supprimés",)] == []
    source = pypff.file()
    source.open(str(OUTLOOK))
    top = source.root_folder.get_sub_folder(1)
    for index, message in enumerate(messages):
        item = top.get_sub_message(index)
        data = message.load()
        mail = parsed(data)
        assert mail["Subject"] == item.subject
        assert message.flags == {Flag.SEEN}
        assert message.internal_date.replace(tzinfo=None) == item.delivery_time.replace(
            microsecond=0
        )
        assert mail["Message-ID"]
        assert not mail.defects
        body = mail.get_body(("plain",))
        assert body is not None
        assert body.get_content().replace("\r\n", "\n").strip() == (
            item.plain_text_body.decode().replace("\r\n", "\n").strip()
        )
        if item.transport_headers:  # received mail keeps its header fields in order
            assert mail.get_all("Received")
            assert data.startswith(item.transport_headers.encode().split(b"\r\n")[0])
        if item.html_body:
            assert mail.get_body(("html",)) is not None
    forwarded = messages[6]
    assert forwarded.note and "First email" in forwarded.note  # the attached item is reported
    head = forwarded.load().split(b"\r\n\r\n")[0]
    assert b"From: Luis Filipe da Cruz Nassif:;" in head  # an Exchange DN is no address
    assert b"To: \"'lfcnassif@gmail.com'\" <lfcnassif@gmail.com>" in head


def test_plain_html_and_rtf_bodies():
    got = read_all(PstStore(BODIES))
    roles = {f.path: f.role for f in PstStore(BODIES).folders()}
    assert roles[("Inbox",)] is Role.INBOX and roles[("Deleted Items",)] is Role.TRASH
    messages = got[("Inbox", "tmp")]
    kinds = [
        sorted(
            part.get_content_type() for part in parsed(m.load()).walk() if not part.is_multipart()
        )
        for m in messages
    ]
    assert kinds == [["text/html", "text/plain"], ["text/html", "text/plain"],
                     ["text/plain", "text/rtf"], ["text/plain"]]  # fmt: skip
    rtf = [p for p in parsed(messages[2].load()).walk() if p.get_content_type() == "text/rtf"]
    assert rtf[0].get_content().startswith("{\\rtf1")
    assert messages[0].flags == {Flag.SEEN, Flag.FORWARDED}


def test_the_rebuilt_bytes_are_the_same_on_every_run():
    first = {m.key: m.load() for ms in read_all(PstStore(BODIES)).values() for m in ms}
    second = {m.key: m.load() for ms in read_all(PstStore(BODIES)).values() for m in ms}
    assert first == second and len(first) == 4


def test_not_a_pst(tmp_path):
    junk = tmp_path / "x.pst"
    junk.write_bytes(b"!BDN" + b"\0" * 600)
    with pytest.raises(UnreadableStore, match="not a readable PST"):
        PstStore(junk)
    with pytest.raises(UnreadableStore, match="not a file"):
        PstStore(tmp_path)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=271359), st.integers(0, 255)),
                min_size=1, max_size=30))  # fmt: skip
def test_a_damaged_pst_is_an_error_or_reads(tmp_path_factory, changes):
    data = bytearray(BODIES.read_bytes())
    for offset, value in changes:
        data[offset] = value
    damaged = tmp_path_factory.mktemp("pst") / "damaged.pst"
    damaged.write_bytes(bytes(data))
    try:
        store = PstStore(damaged)
    except UnreadableStore:
        return
    for folder in store.folders():
        for message in store.messages(folder):
            if message.skip is None:
                assert len(message.load()) == message.size
