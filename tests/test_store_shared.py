"""The header and date parsing every store reader uses, on untrusted bytes."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from mailaudit.migrate.stores.base import Role
from mailaudit.migrate.stores.shared import (
    header_block,
    header_values,
    message_date,
    newest_received,
    parse_date,
    role_for,
)

HEADERS = (
    b"Received: from b by c; Tue, 2 Jan 2001 03:04:05 +0100\r\n"
    b"Received: from a by b;\r\n\tMon, 1 Jan 2001 00:00:00 +0000\r\n"
    b"Subject: folded\r\n continued\r\nDate: Sun, 31 Dec 2000 23:00:00 -0500\r\n"
)


def test_the_newest_received_wins_over_date():
    assert newest_received(HEADERS) == datetime(2001, 1, 2, 2, 4, 5, tzinfo=timezone.utc)
    assert message_date(HEADERS.replace(b"Received", b"X-Old")) == datetime(
        2001, 1, 1, 4, 0, tzinfo=timezone.utc
    )
    assert header_values(HEADERS, b"subject") == [b"folded continued"]
    assert header_block(HEADERS + b"\r\nbody\r\n") == HEADERS
    assert parse_date(b"not a date") is None
    assert parse_date(b"Mon, 1 Jan 2001 00:00:00 -0000").tzinfo is not None


def test_roles_by_name_only_at_the_top():
    assert role_for(("Gesendete Elemente",)) is Role.SENT
    assert role_for(("Éléments supprimés",)) is Role.TRASH
    assert role_for(("INBOX",)) is Role.INBOX
    assert role_for(("Projects", "Sent")) is None
    assert role_for(("Holidays",)) is None


@given(st.binary(max_size=600))
def test_any_header_bytes_parse_without_error(data):
    headers = header_block(data)
    date = message_date(headers)
    assert date is None or date.tzinfo is not None
    for name in (b"Received", b"Date", b"X-Mozilla-Status"):
        assert all(isinstance(v, bytes) for v in header_values(headers, name))


@given(st.text(max_size=60))
def test_any_date_text_parses_or_is_none(text):
    date = parse_date(text)
    assert date is None or date.tzinfo is not None
