"""Profiles written by a real Thunderbird 153 (tests/fixtures/thunderbird-real, see its README),
read back and checked against the oracle written from what was configured."""

from __future__ import annotations

import json

import pytest

from mailaudit.model import Protocol

from .conftest import REAL_TB, audit, tree_fingerprint

EXPECTED = json.loads((REAL_TB / "expected.json").read_text(encoding="utf-8"))
MAIL_ACCOUNTS = [a for a in EXPECTED["accounts"] if a["type"] != "none"]


@pytest.fixture(scope="module")
def report():
    return audit(REAL_TB / "root")


def test_every_configured_account_is_found_and_nothing_else(report):
    found = sorted((a.user, a.key) for a in report.accounts)
    wanted = sorted((a["user"], f"{a['account']}/{a['server']}") for a in MAIL_ACCOUNTS)
    assert found == wanted
    assert report.skipped == ()


@pytest.mark.parametrize("expected", MAIL_ACCOUNTS, ids=lambda a: f"{a['user']}-{a['account']}")
def test_account_matches_what_thunderbird_was_given(report, expected):
    account = next(
        a
        for a in report.accounts
        if a.key == f"{expected['account']}/{expected['server']}" and a.user == expected["user"]
    )
    assert account.client.value == "thunderbird"
    assert account.profile == "/" + expected["profile"]
    assert account.name == expected["name"]
    assert account.declared_type == expected["type"]
    assert list(account.addresses) == expected["emails"]
    assert account.email == (expected["emails"][0] if expected["emails"] else None)
    if expected["type"] == "rss":
        assert account.protocol is Protocol.OTHER
        return
    assert account.incoming.host == expected["host"]
    assert account.incoming.port == expected["port"]
    assert account.incoming.security.value == expected["security"]
    assert account.incoming.username == expected["username"]
    assert account.leave_on_server == expected["leave_on_server"]


def test_pop_account_keeps_mail_on_server_for_14_days(report):
    pop = next(a for a in report.accounts if a.incoming.host == "pop.example.test")
    assert pop.protocol is Protocol.POP3
    assert (pop.leave_on_server, pop.leave_on_server_days) == (True, 14)
    assert pop.classification.basis == "declared type POP3, confirmed by port 110"
    assert pop.local_store.path.endswith("/Mail/pop.example.test")
    assert pop.local_store.bytes > 0  # the two messages in its Inbox; the .msf is not mail


def test_global_inbox_account_stores_into_local_folders(report):
    deferred = next(a for a in report.accounts if a.incoming.host == "pop.global.test")
    assert deferred.local_store.path.endswith("/Mail/Local Folders")
    assert "Global Inbox" in deferred.local_store.note
    inbox = REAL_TB / "root" / deferred.local_store.path.lstrip("/") / "Inbox"
    assert deferred.local_store.bytes == inbox.stat().st_size


def test_absolute_profile_path_is_mapped_onto_the_root(report):
    bob = [a for a in report.accounts if a.user == "bob"]
    assert {a.profile for a in bob} == {"/home/bob/mail-profiles/work"}
    assert {a.declared_type for a in bob} == {"imap", "nntp", "rss"}
    news = next(a for a in bob if a.declared_type == "nntp")
    assert (news.protocol, news.incoming.port, news.incoming.security.value) == (
        Protocol.OTHER,
        119,
        "none",
    )


def test_reading_changes_nothing():
    before = tree_fingerprint(REAL_TB / "root")
    audit(REAL_TB / "root")
    assert tree_fingerprint(REAL_TB / "root") == before
