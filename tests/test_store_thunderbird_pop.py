"""The mbox reader on a POP store written by a real Thunderbird (tests/fixtures/thunderbird-pop)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from mailaudit.migrate.stores import StoreFormat, detect_format, open_store
from mailaudit.migrate.stores.base import Flag, Role
from mailaudit.migrate.stores.maildir import MaildirStore
from mailaudit.migrate.stores.mbox import MboxStore
from mailaudit.migrate.stores.mozilla import NOTE_PARTIAL, SKIP_EXPUNGED

from .storecheck import read_all, untouched

HERE = Path(__file__).parent / "fixtures" / "thunderbird-pop"
STORE = HERE / "Mail" / "127.0.0.1"
EXPECTED = json.loads((HERE / "expected.json").read_text("utf-8"))["messages"]
ACTION_FLAGS = {"read": Flag.SEEN, "flag": Flag.FLAGGED, "replied": Flag.ANSWERED,
                "forwarded": Flag.FORWARDED}  # fmt: skip
ADDED_BY_THUNDERBIRD = re.compile(rb"\A(?:(?:X-Account-Key|X-UIDL|X-Mozilla-[A-Za-z0-9]+):.*\r\n)+")


def original(subject: str) -> bytes:
    return base64.b64decode(EXPECTED[subject]["base64"])


def subject_of(data: bytes) -> str:
    match = re.search(rb"^Subject: (.*)\r$", data, re.M)
    assert match
    return match[1].decode()


def check_copy(data: bytes, subject: str) -> None:
    """Thunderbird's own header lines, then the message byte for byte as the server sent it."""
    prefix = ADDED_BY_THUNDERBIRD.match(data)
    assert prefix, data[:200]
    assert data[prefix.end() :] == original(subject)


def test_the_store_thunderbird_wrote():
    assert detect_format(STORE) is StoreFormat.MBOX
    with untouched(STORE):
        got = read_all(open_store(STORE, StoreFormat.MBOX))
    roles = {f.path: f.role for f in MboxStore(STORE).folders()}
    assert roles == {("Inbox",): Role.INBOX, ("Inbox", "Büro"): None, ("Trash",): Role.TRASH}
    inbox = got[("Inbox",)]
    assert [subject_of(m.load()) for m in inbox] == list(EXPECTED)
    first_from_line = (STORE / "Inbox").read_bytes().split(b"\r\n", 1)[0].decode()
    downloaded = datetime.strptime(first_from_line, "From - %a %b %d %H:%M:%S %Y")
    for message in inbox:
        subject = subject_of(message.load())
        actions = EXPECTED[subject]["actions"]
        assert message.internal_date == downloaded.replace(tzinfo=timezone.utc)
        if "delete" in actions or "move" in actions:
            assert message.skip == SKIP_EXPUNGED, subject  # never uploaded
            continue
        assert message.skip is None
        assert message.flags == {ACTION_FLAGS[a] for a in actions}, subject
        if subject == "big":
            assert message.note == NOTE_PARTIAL
            assert message.load().startswith(ADDED_BY_THUNDERBIRD.match(message.load())[0])
            assert len(message.load()) < len(original("big")) / 2
        else:
            assert message.note is None
            check_copy(message.load(), subject)
    assert [subject_of(m.load()) for m in got[("Trash",)]] == ["delete one", "delete two"]
    for message in got[("Trash",)] + got[("Inbox", "Büro")]:
        assert message.skip is None
        check_copy(message.load(), subject_of(message.load()))
    assert [subject_of(m.load()) for m in got[("Inbox", "Büro")]] == ["move"]


MAILDIR_STORE = HERE / "maildir-store" / "127.0.0.1"


def test_the_maildir_store_thunderbird_wrote():
    """The same session with Thunderbird's maildir store: one .eml per message in cur/, no info
    suffix, the state in X-Mozilla-Status; deleted and moved messages are gone from the Inbox."""
    assert detect_format(MAILDIR_STORE) is StoreFormat.MAILDIR
    with untouched(MAILDIR_STORE):
        got = read_all(open_store(MAILDIR_STORE, StoreFormat.MAILDIR))
    roles = {f.path: f.role for f in MaildirStore(MAILDIR_STORE).folders()}
    assert roles == {("Inbox",): Role.INBOX, ("Inbox", "Büro"): None, ("Trash",): Role.TRASH}
    inbox = {subject_of(m.load()): m for m in got[("Inbox",)]}
    kept = {s for s, e in EXPECTED.items() if not {"delete", "move"} & set(e["actions"])}
    assert set(inbox) == kept
    for subject, message in inbox.items():
        assert message.flags == {ACTION_FLAGS[a] for a in EXPECTED[subject]["actions"]}, subject
        name = next((MAILDIR_STORE / "Inbox" / "cur").glob(f"{message.key.rsplit('/', 1)[1]}*"))
        assert message.internal_date == datetime.fromtimestamp(name.stat().st_mtime, timezone.utc)
        if subject == "big":
            assert message.note == NOTE_PARTIAL
        else:
            check_copy(message.load(), subject)
    assert sorted(subject_of(m.load()) for m in got[("Trash",)]) == ["delete one", "delete two"]
    assert [subject_of(m.load()) for m in got[("Inbox", "Büro")]] == ["move"]
    for message in got[("Trash",)] + got[("Inbox", "Büro")]:
        check_copy(message.load(), subject_of(message.load()))
