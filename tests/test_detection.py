"""The detection tier: eM Client, Mailbird, The Bat!, the Windows Mail app and the new Outlook
are named, their accounts listed by what the files show, their local mail measured, and the
plan says where to look the protocol up. Layouts from the forensic descriptions in the
research notes (none of these programs runs on Linux)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.model import UNKNOWN_TYPE, Client, Protocol
from mailaudit.report import Format, render
from mailaudit.sources.new_outlook import identities

from .conftest import audit, file_states, tree_fingerprint

PLANTED = "PLANTED-detection-secret"


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


@pytest.fixture
def windows(tmp_path: Path) -> Path:
    home = tmp_path / "Users" / "wanda"
    em = home / "AppData/Roaming/eM Client"
    write(em / "accounts.dat", b"SQLite format 3\0" + bytes(100))
    write(em / "settings.dat", b"SQLite format 3\0")
    account = em / "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    write(account / "9a8b7c6d-0000-1111-2222-333333333333/wanda@example.test.acn", "")
    write(account / "9a8b7c6d-0000-1111-2222-333333333333/mail_data.dat", bytes(40_000))
    write(account / "9a8b7c6d-0000-1111-2222-333333333333/mail_index.dat", bytes(8_000))

    store = home / "AppData/Local/Mailbird/Store/Store.db"
    store.parent.mkdir(parents=True)
    connection = sqlite3.connect(store)
    connection.execute(
        "CREATE TABLE Accounts (Id INTEGER, Username TEXT, DisplayName TEXT, Server_Host TEXT, "
        "Server_Port INTEGER, EncryptedPassword TEXT, OAuthToken TEXT)"
    )
    connection.execute(
        "INSERT INTO Accounts VALUES (1, 'wanda@gmx.example', 'Wanda GMX', 'pop.gmx.example', "
        "995, ?, ?)",
        (PLANTED, PLANTED),
    )
    connection.commit()
    connection.close()
    write(home / "AppData/Local/Mailbird/Store/A/1/scan.pdf", bytes(5_000))

    bat = home / "AppData/Roaming/The Bat!/MAIL/Büro"
    write(bat / "ACCOUNT.CFN", bytes(range(256)) + PLANTED.encode())
    write(bat / "Inbox/MESSAGES.TBB", b"\x20\x06\x79\x19" + bytes(30_000))
    write(bat / "Inbox/MESSAGES.TBN", bytes(2_000))

    write(home / "AppData/Local/Comms/UnistoreDB/store.vol", bytes(4096))
    write(home / "AppData/Local/Comms/Unistore/data/3/ab/1.dat", bytes(12_000))
    (home / "AppData/Local/Packages/microsoft.windowscommunicationsapps_8wekyb3d8bbwe").mkdir(
        parents=True
    )

    write(
        home / "AppData/Local/Microsoft/Olk/UserSettings.json",
        json.dumps(
            {
                "Identities": [
                    {"EmailAddress": "wanda@outlook.example", "InternetUID": "x1"},
                    {"EmailAddress": "wanda@imap.example", "Token": PLANTED},
                ],
                "AccountLocalBackup": {"secret": PLANTED},
            }
        ),
    )
    return tmp_path


@pytest.fixture
def report(windows):
    return audit(windows)


def test_each_client_is_named_with_its_accounts(report):
    found = sorted((a.client.value, a.name) for a in report.accounts)
    assert found == [
        ("em-client", "wanda@example.test"),
        ("mailbird", "Wanda GMX"),
        ("outlook-new", "wanda@imap.example"),
        ("outlook-new", "wanda@outlook.example"),
        ("the-bat", "Büro"),
        ("windows-mail-app", "Mail and Calendar accounts"),
    ]
    for account in report.accounts:
        assert account.protocol is Protocol.OTHER
        assert account.declared_type == UNKNOWN_TYPE
        assert "protocol unknown" in (account.incoming.security_raw or "")


def test_local_mail_is_measured(report):
    stores = {a.client: a.local_store for a in report.accounts}
    assert stores[Client.EM_CLIENT] is not None and stores[Client.EM_CLIENT].bytes == 48_000
    assert stores[Client.THE_BAT] is not None and stores[Client.THE_BAT].bytes == 30_004  # .TBB
    assert stores[Client.WINDOWS_MAIL_APP] is not None
    assert stores[Client.WINDOWS_MAIL_APP].bytes == 12_000
    mailbird = stores[Client.MAILBIRD]
    assert mailbird is not None and mailbird.bytes > 5_000  # the database and the attachment


def test_mailbird_reads_allowed_columns_only(report):
    (mailbird,) = [a for a in report.accounts if a.client is Client.MAILBIRD]
    assert mailbird.email == "wanda@gmx.example"
    assert (mailbird.incoming.host, mailbird.incoming.port) == ("pop.gmx.example", 995)


def test_the_plan_says_where_to_look(report):
    for account in report.accounts:
        assert account.recommendation is not None
        assert account.recommendation["action"] == "check-in-client"
    (bat,) = [a for a in report.accounts if a.client is Client.THE_BAT]
    steps = " ".join(bat.recommendation["steps"])
    assert "Account > Properties > Transport" in steps
    assert (
        "back up the local store first (/Users/wanda/AppData/Roaming/The Bat!/MAIL/Büro)" in steps
    )
    assert "In The Bat!, select the messages" in steps
    new = next(a for a in report.accounts if a.client is Client.OUTLOOK_NEW)
    assert "Microsoft's cloud copy: nothing to move" in " ".join(new.recommendation["steps"])


def test_no_secret_in_any_output_and_nothing_changed(windows):
    before, states = tree_fingerprint(windows), file_states(windows)
    report = audit(windows)
    everything = repr(report) + "".join(render(report, fmt) for fmt in Format)
    assert PLANTED not in everything
    assert tree_fingerprint(windows) == before and file_states(windows) == states


def test_damaged_databases_are_skipped(windows):
    home = windows / "Users" / "wanda"
    write(home / "AppData/Local/Mailbird/Store/Store.db", b"not a database at all" * 50)
    write(home / "AppData/Local/Microsoft/Olk/UserSettings.json", b'{"Identities": [')
    report = audit(windows)
    reasons = {Path(s.origin.split(":")[0]).name: s.reason for s in report.skipped}
    assert "not a readable database" in reasons["Store.db"]
    assert "not JSON" in reasons["UserSettings.json"]
    assert {a.client for a in report.accounts} == {
        Client.EM_CLIENT,
        Client.THE_BAT,
        Client.WINDOWS_MAIL_APP,
    }


@given(
    st.recursive(
        st.none() | st.text() | st.integers(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_any_json_gives_addresses_or_nothing(document):
    for found in (identities(document), identities({"Identities": document})):
        assert all(isinstance(a, str) and "@" in a for a in found)
