"""Apple Mail in every era, Outlook for Mac, and what scanning them must never do."""

from __future__ import annotations

import fcntl
import os
import plistlib
import sqlite3
from pathlib import Path

import pytest
from macbuild import MacAccount, accounts_database, keyed_archive, mailbox

from mailaudit.model import Client, Protocol, Security
from mailaudit.sources.keyed_archive import NotAnArchive, unarchive

from .conftest import audit, file_states, tree_fingerprint

POP_ID = "6F1E2C3A-1B2C-4D5E-8F90-1A2B3C4D5E6F"
IMAP_ID = "A0B1C2D3-E4F5-4061-8293-A4B5C6D7E8F9"
ICLOUD_ID = "4D2F0000-0000-4000-8000-00000000C10D"
GMAIL_ID = "13C9A646-0000-4000-8000-E07FFBDDEED3"
EXCHANGE_ID = "E0C4A000-0000-4000-8000-000000000E45"
LOCAL_ID = "0A0A0A0A-0000-4000-8000-00000000010C"
ORPHAN_ID = "DEADBEEF-0000-4000-8000-000000000000"
DA_EXCHANGE_ID = "E0C4A000-0000-4000-8000-0000000DA0E5"


def database_era_accounts() -> list[MacAccount]:
    return [
        MacAccount(
            "com.apple.account.POP",
            POP_ID,
            "Home (POP)",
            "jane.doe@example.net",
            properties={
                "Hostname": "pop.example.net",
                "PortNumber": "995",
                "SSLEnabled": True,
                "DeletionPolicy": "AfterInterval",
                "DeleteMessagesOnServerInterval": 14,
                "EmailAliases": [
                    {
                        "DisplayName": "Jane",
                        "IsPrimary": 1,
                        "EmailAddresses": [
                            {"EmailAddress": "jane@alias.example", "IsDefault": 0},
                            {"EmailAddress": "jane.doe@example.net", "IsDefault": 1},
                        ],
                    }
                ],
                "ACPropertyFullName": "Jane Doe",
            },
        ),
        MacAccount(
            "com.apple.account.SMTP",
            "9C0D0000-SMTP",
            None,
            "jane.doe@example.net",
            properties={"Hostname": "smtp.example.net", "PortNumber": 587},
        ),
        MacAccount(
            "com.apple.account.IMAP",
            IMAP_ID,
            "Work (IMAP)",
            "jdoe",
            properties={
                "Hostname": "imap.example.org",
                "PortNumber": 143,
                "SSLEnabled": 1,
                "SSLIsDirect": False,
                "IdentityEmailAddress": "jdoe@example.org",
            },
        ),
        MacAccount(
            "com.apple.account.AppleAccount", "77AA0000-APPLEID", "iCloud", "jane@icloud.com"
        ),
        MacAccount(
            "com.apple.account.IMAPMail",
            ICLOUD_ID,
            None,
            None,
            parent="77AA0000-APPLEID",
            properties={"UseMailDrop": True},
        ),
        MacAccount("com.apple.account.Google", "2B7E0000-GOOGLE", "Google", "jane@gmail.com"),
        MacAccount(
            "com.apple.account.IMAP",
            GMAIL_ID,
            None,
            None,
            parent="2B7E0000-GOOGLE",
            properties={"Hostname": "imap.gmail.com", "PortNumber": 993, "SSLEnabled": True},
        ),
        MacAccount("com.apple.account.CalDAV", "CA1DA000-0000", "Calendar", "jane"),
        MacAccount("com.apple.account.OnMyDevice", LOCAL_ID, "On My Mac"),
        MacAccount(
            "com.apple.account.Exchange",
            EXCHANGE_ID,
            "Exchange",
            "jane@corp.example",
            properties={
                "Hostname": "outlook.office365.com",
                "SSLEnabled": True,
                "EmailAddresses": ["jane@corp.example"],
            },
            in_wal=True,
        ),
        MacAccount(
            "com.apple.account.Exchange",
            DA_EXCHANGE_ID,
            "Firma (Exchange)",
            "jane@corp.example",
            properties={"DAAccountHost": "mail.corp.example", "SSLEnabled": True},
            in_wal=True,
        ),
    ]


def mac_home(root: Path, user: str = "jane") -> Path:
    home = root / "Users" / user
    (home / "Library" / "Mail").mkdir(parents=True)
    return home


@pytest.fixture(scope="module")
def modern(tmp_path_factory):
    root = tmp_path_factory.mktemp("mac")
    home = mac_home(root)
    mail = home / "Library" / "Mail"
    (mail / "PersistenceInfo.plist").write_bytes(
        plistlib.dumps({"LastUsedVersionDirectoryName": "V10"}, fmt=plistlib.FMT_BINARY)
    )
    (home / "Library" / "Accounts").mkdir()
    accounts_database(home / "Library" / "Accounts" / "Accounts4.sqlite", database_era_accounts())
    for identifier, messages in ((POP_ID, 5), (GMAIL_ID, 2), (LOCAL_ID, 3), (ORPHAN_ID, 4)):
        mailbox(mail / "V10" / identifier, "INBOX", messages)
    (mail / "V10" / "MailData").mkdir()
    (mail / "V10" / "MailData" / "Envelope Index").write_bytes(b"SQLite format 3\0")
    # An upgrade left the old data and its Accounts.plist behind: it must not be counted.
    legacy = mail / "V2" / "MailData"
    legacy.mkdir(parents=True)
    (legacy / "Accounts.plist").write_bytes(
        plistlib.dumps(
            {
                "MailAccounts": [
                    {"AccountType": "POPAccount", "Hostname": "pop.old.example", "Username": "old"}
                ]
            }
        )
    )
    return root


@pytest.fixture(scope="module")
def modern_accounts(modern):
    return {a.key: a for a in audit(modern).accounts}


def test_database_era_lists_mail_accounts_only(modern_accounts):
    assert set(modern_accounts) == {
        POP_ID,
        IMAP_ID,
        ICLOUD_ID,
        GMAIL_ID,
        EXCHANGE_ID,
        DA_EXCHANGE_ID,
    }
    assert {a.client for a in modern_accounts.values()} == {Client.APPLE_MAIL}
    assert {a.user for a in modern_accounts.values()} == {"jane"}
    assert {a.profile for a in modern_accounts.values()} == {"V10"}


def test_pop_account_from_the_database(modern, modern_accounts):
    pop = modern_accounts[POP_ID]
    assert (pop.protocol, pop.name, pop.email) == (
        Protocol.POP3,
        "Home (POP)",
        "jane.doe@example.net",
    )
    assert pop.addresses == ("jane.doe@example.net", "jane@alias.example")
    assert (pop.incoming.host, pop.incoming.port, pop.incoming.security) == (
        "pop.example.net",
        995,
        Security.TLS,
    )  # the port was archived as a string
    assert (pop.leave_on_server, pop.leave_on_server_days) == (True, 14)
    assert pop.local_store.path == f"/Users/jane/Library/Mail/V10/{POP_ID}"
    folder = modern / "Users/jane/Library/Mail/V10" / POP_ID
    assert pop.local_store.bytes == sum(f.stat().st_size for f in folder.rglob("*.emlx"))
    assert pop.origin.endswith("/Library/Accounts/Accounts4.sqlite: ZACCOUNT 1")


def test_imap_with_starttls(modern_accounts):
    imap = modern_accounts[IMAP_ID]
    assert (imap.incoming.port, imap.incoming.security) == (143, Security.STARTTLS)
    assert imap.email == "jdoe@example.org"
    assert imap.local_store.exists is False  # never synced: no folder yet


def test_children_take_their_parents_name_and_user(modern_accounts):
    gmail = modern_accounts[GMAIL_ID]
    assert (gmail.name, gmail.incoming.username, gmail.email) == (
        "Google",
        "jane@gmail.com",
        "jane@gmail.com",
    )
    assert gmail.declared_type == "imap (Google)"
    icloud = modern_accounts[ICLOUD_ID]
    assert (icloud.name, icloud.protocol, icloud.declared_type) == (
        "iCloud",
        Protocol.IMAP,
        "icloud",
    )
    assert (icloud.incoming.host, icloud.incoming.port) == ("imap.mail.me.com", 993)


def test_exchange_committed_only_to_the_wal_is_found(modern, modern_accounts):
    assert (modern / "Users/jane/Library/Accounts/Accounts4.sqlite-wal").stat().st_size > 0
    exchange = modern_accounts[EXCHANGE_ID]
    assert (exchange.protocol, exchange.incoming.host) == (
        Protocol.EXCHANGE,
        "outlook.office365.com",
    )


def test_exchange_host_from_the_data_access_key_in_a_wal_only_row(modern, modern_accounts):
    """macOS keeps an Exchange account's server in DAAccountHost, not Hostname; this row was
    committed only to the -wal, as when accountsd has not checkpointed yet."""
    exchange = modern_accounts[DA_EXCHANGE_ID]
    assert (exchange.protocol, exchange.incoming.host) == (Protocol.EXCHANGE, "mail.corp.example")
    assert exchange.email == "jane@corp.example"


def test_exchange_host_from_an_ews_url_when_no_host_key(tmp_path):
    home = mac_home(tmp_path)
    (home / "Library" / "Mail" / "V10").mkdir()
    (home / "Library" / "Accounts").mkdir()
    url_only = MacAccount(
        "com.apple.account.Exchange",
        EXCHANGE_ID,
        "Firma",
        "jane@corp.example",
        properties={"DAAccountExternalURL": "https://ews.corp.example/EWS/Exchange.asmx"},
    )
    accounts_database(home / "Library" / "Accounts" / "Accounts4.sqlite", [url_only])
    (account,) = audit(tmp_path).accounts
    assert account.incoming.host == "ews.corp.example"


def test_on_my_mac_once_as_a_local_mailbox_and_orphan_folders_named(modern):
    report = audit(modern)
    assert not [a for a in report.accounts if a.declared_type == "local"]
    (local,) = report.local_mailboxes
    assert (local.name, local.user, local.client) == ("On My Mac", "jane", Client.APPLE_MAIL)
    assert local.store.path == f"/Users/jane/Library/Mail/V10/{LOCAL_ID}"
    assert local.store.bytes > 0
    orphans = [s for s in report.skipped if ORPHAN_ID in s.origin]
    assert len(orphans) == 1 and "no configured account uses" in orphans[0].reason
    assert not any("pop.old.example" in repr(a) for a in report.accounts)


def test_scanning_changes_no_byte_or_timestamp_and_leaves_no_file(modern):
    before_tree, before_files = tree_fingerprint(modern), file_states(modern)
    audit(modern)
    assert tree_fingerprint(modern) == before_tree
    assert file_states(modern) == before_files  # sizes, mtimes and access times of every file
    names = {p.name for p in modern.rglob("*")}
    assert not {n for n in names if n.endswith(("-journal",))}
    assert {n for n in names if n.startswith("Accounts4")} == {
        "Accounts4.sqlite",
        "Accounts4.sqlite-wal",
        "Accounts4.sqlite-shm",
    }


def test_a_locked_database_is_still_read(tmp_path):
    home = mac_home(tmp_path)
    (home / "Library" / "Mail" / "V10").mkdir()
    (home / "Library" / "Accounts").mkdir()
    db = home / "Library" / "Accounts" / "Accounts4.sqlite"
    accounts_database(db, database_era_accounts())
    writer = sqlite3.connect(db)  # accountsd at work: a write transaction held open
    writer.execute("BEGIN EXCLUSIVE")
    with Path(f"{db}-wal").open("rb") as wal:
        fcntl.flock(wal, fcntl.LOCK_EX)
        report = audit(tmp_path)
    writer.rollback()
    writer.close()
    assert {a.key for a in report.accounts} == {
        POP_ID,
        IMAP_ID,
        ICLOUD_ID,
        GMAIL_ID,
        EXCHANGE_ID,
        DA_EXCHANGE_ID,
    }


# ---------------------------------------------------------------- the plist era


def plist_era_content() -> dict:
    return {
        "AccountsVersion": 1,
        "DeliveryAccounts": [{"AccountType": "SMTPAccount", "Hostname": "smtp.example.net"}],
        "MailAccounts": [
            {
                "AccountType": "LocalAccount",
                "AccountPath": "~/Library/Mail/V2/Mailboxes",
                "uniqueId": "LocalAccountId",
                "PortNumber": 0,
            },
            {
                "AccountType": "POPAccount",
                "AccountName": "Home (POP)",
                "Hostname": "pop.example.net",
                "Username": "jane.doe@example.net",
                "PortNumber": 995,
                "SSLEnabled": "YES",
                "EmailAddresses": ["jane.doe@example.net"],
                "uniqueId": POP_ID,
                "AccountPath": "~/Library/Mail/V2/POP-jane.doe@example.net@pop.example.net",
            },
            {
                "AccountType": "IMAPAccount",
                "AccountName": "Work",
                "Hostname": "imap.example.org",
                "Username": "jdoe",
                "PortNumber": 0,
                "SSLEnabled": "NO",
                "uniqueId": IMAP_ID,
                "EmailAddresses": ["jdoe@example.org", "jane@example.org"],
            },
            {"AccountType": "RSSAccount", "AccountName": "RSS", "uniqueId": "RSS"},
        ],
    }


@pytest.mark.parametrize("fmt", [plistlib.FMT_XML, plistlib.FMT_BINARY], ids=["xml", "binary"])
def test_lion_to_yosemite_accounts_plist(tmp_path, fmt):
    home = mac_home(tmp_path)
    data = home / "Library" / "Mail" / "V2"
    (data / "MailData").mkdir(parents=True)
    (data / "MailData" / "Accounts.plist").write_bytes(plistlib.dumps(plist_era_content(), fmt=fmt))
    mailbox(data / "POP-jane.doe@example.net@pop.example.net", "INBOX", 3)
    mailbox(data / "Mailboxes", "Archive", 2)
    report = audit(tmp_path)
    accounts = {a.key: a for a in report.accounts}
    assert set(accounts) == {POP_ID, IMAP_ID, "RSS"}
    pop, imap = accounts[POP_ID], accounts[IMAP_ID]
    assert (pop.incoming.host, pop.incoming.port, pop.incoming.security) == (
        "pop.example.net",
        995,
        Security.TLS,
    )
    assert (
        pop.local_store.path
        == "/Users/jane/Library/Mail/V2/POP-jane.doe@example.net@pop.example.net"
    )
    assert pop.local_store.bytes > 0
    assert pop.leave_on_server is None  # the deletion setting is not in this plist: unknown
    assert "not recorded" in pop.leave_on_server_detail
    assert (imap.incoming.port, imap.incoming.security) == (143, Security.NONE)
    assert imap.addresses == ("jdoe@example.org", "jane@example.org")
    assert imap.local_store.path == "/Users/jane/Library/Mail/V2/IMAP-jdoe@imap.example.org"
    assert accounts["RSS"].protocol is Protocol.OTHER
    (on_my_mac,) = report.local_mailboxes
    assert on_my_mac.name == "On My Mac"
    assert on_my_mac.store.path == "/Users/jane/Library/Mail/V2/Mailboxes"
    assert on_my_mac.store.bytes > 0


def test_tiger_to_snow_leopard_preferences_plist(tmp_path):
    home = mac_home(tmp_path)
    content = plist_era_content()
    content["MailAccounts"][1]["AccountPath"] = (
        "~/Library/Mail/POP-jane.doe@example.net@pop.example.net"
    )
    content["MailAccounts"][1]["MessageDeletionPolicy"] = "RightAway"
    (home / "Library" / "Preferences").mkdir()
    (home / "Library" / "Preferences" / "com.apple.mail.plist").write_bytes(
        plistlib.dumps(content, fmt=plistlib.FMT_BINARY)
    )
    pop = next(a for a in audit(tmp_path).accounts if a.key == POP_ID)
    assert pop.profile == "Mail"
    assert (
        pop.local_store.path == "/Users/jane/Library/Mail/POP-jane.doe@example.net@pop.example.net"
    )
    assert pop.leave_on_server is False


def test_without_persistence_info_the_newest_folder_wins(tmp_path):
    home = mac_home(tmp_path)
    for version in ("V2", "V8"):
        (home / "Library" / "Mail" / version / "MailData").mkdir(parents=True)
    (home / "Library" / "Mail" / "V2" / "MailData" / "Accounts.plist").write_bytes(
        plistlib.dumps(plist_era_content())
    )
    report = audit(tmp_path)
    assert report.accounts == ()
    assert "Mail data V8 but no Accounts4.sqlite" in report.skipped[0].reason


# ---------------------------------------------------------------- damage


def test_damaged_inputs_are_skipped_with_reasons(tmp_path):
    cases = {
        "junkplist": ("V2/MailData/Accounts.plist", os.urandom(300)),
        "cutplist": (
            "V2/MailData/Accounts.plist",
            plistlib.dumps(plist_era_content(), fmt=plistlib.FMT_BINARY)[:200],
        ),
        "notdb": ("Accounts4.sqlite", b"this is not a database at all" * 40),
    }
    expect = {
        "junkplist": "is not a readable property list",
        "cutplist": "is not a readable property list",
        "notdb": "is not a readable Accounts database",
        "notables": "is not a readable Accounts database (no table ZACCOUNT",
        "badblob": "is not an archive",
    }
    for user, (place, data) in cases.items():
        home = mac_home(tmp_path, user)
        if place.startswith("V2"):
            target = home / "Library" / "Mail" / place
        else:
            (home / "Library" / "Mail" / "V10").mkdir()
            target = home / "Library" / "Accounts" / place
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    home = mac_home(tmp_path, "notables")
    (home / "Library" / "Mail" / "V10").mkdir()
    (home / "Library" / "Accounts").mkdir()
    sqlite3.connect(home / "Library" / "Accounts" / "Accounts4.sqlite").execute(
        "CREATE TABLE t (x)"
    ).connection.close()
    home = mac_home(tmp_path, "badblob")
    (home / "Library" / "Mail" / "V10").mkdir()
    (home / "Library" / "Accounts").mkdir()
    accounts_database(
        home / "Library" / "Accounts" / "Accounts4.sqlite",
        [
            MacAccount(
                "com.apple.account.POP",
                POP_ID,
                "Blob",
                "u",
                properties={"Hostname": "pop.x.test"},
                raw_properties={"PortNumber": b"\x00\x01not an archive"},
            ),
        ],
    )

    before = tree_fingerprint(tmp_path)
    report = audit(tmp_path)
    assert tree_fingerprint(tmp_path) == before
    for user, phrase in expect.items():
        reasons = [s.reason for s in report.skipped if f"/Users/{user}/" in s.origin]
        assert any(phrase in r for r in reasons), (user, reasons)
    blob = next(a for a in report.accounts if a.user == "badblob")  # the account survives
    assert (blob.incoming.host, blob.incoming.port) == ("pop.x.test", 110)


def test_keyed_archive_round_trip_and_refusals():
    value = {"EmailAddresses": [{"EmailAddress": "a@b.test", "IsDefault": 1}], "n": 3, "s": "x"}
    assert unarchive(keyed_archive(value)) == value
    assert unarchive(keyed_archive("995")) == "995"
    assert unarchive(plistlib.dumps({"plain": True}, fmt=plistlib.FMT_BINARY)) == {"plain": True}
    for bad in (b"", b"junk", keyed_archive("x")[:30], b"bplist00" + b"\xff" * 40):
        with pytest.raises(NotAnArchive):
            unarchive(bad)
    loop = plistlib.dumps(
        {
            "$archiver": "NSKeyedArchiver",
            "$top": {"root": plistlib.UID(1)},
            "$objects": ["$null", {"NS.objects": [plistlib.UID(1)]}],
        },
        fmt=plistlib.FMT_BINARY,
    )
    with pytest.raises(NotAnArchive):
        unarchive(loop)


# ---------------------------------------------------------------- Outlook for Mac


def test_outlook_for_mac_lists_accounts_without_guessing_servers(tmp_path):
    home = mac_home(tmp_path, "olaf")
    data = (
        home
        / "Library/Group Containers/UBF8T346G9.Office/Outlook/Outlook 15 Profiles/Main Profile/Data"
    )
    data.mkdir(parents=True)
    db = sqlite3.connect(data / "Outlook.sqlite")
    db.execute(
        "CREATE TABLE AccountsMail (Record_RecordID INTEGER, Account_Name TEXT, "
        "Account_EmailAddress TEXT, Account_ServerType INTEGER, PathToDataFile TEXT)"
    )
    db.execute(
        "CREATE TABLE AccountsExchange (Record_RecordID INTEGER, Account_Name TEXT, "
        "Account_EmailAddress TEXT)"
    )
    db.execute("INSERT INTO AccountsMail VALUES (1, 'Privat', 'olaf@example.net', 1229799760, 'x')")
    db.execute(
        "INSERT INTO AccountsMail VALUES (2, 'Alt', 'olaf@pop.example', ?, 'y')",
        (int.from_bytes(b"POP3", "big"),),
    )
    db.execute("INSERT INTO AccountsExchange VALUES (3, 'Firma', 'olaf@corp.example')")
    db.commit()
    db.close()
    accounts = {a.name: a for a in audit(tmp_path).accounts if a.client is Client.OUTLOOK_MAC}
    assert {n: a.protocol for n, a in accounts.items()} == {
        "Privat": Protocol.IMAP,
        "Alt": Protocol.POP3,
        "Firma": Protocol.EXCHANGE,
    }
    privat = accounts["Privat"]
    assert (privat.email, privat.incoming.host, privat.incoming.security) == (
        "olaf@example.net",
        None,
        Security.UNKNOWN,
    )
    assert "not stored" in privat.incoming.security_raw
    assert privat.profile == "Main Profile"


def test_unlistable_mail_folder_says_what_to_do(tmp_path):
    """As on macOS without Full Disk Access; root lists anything, so the scan runs as nobody."""
    import json
    import shutil
    import tempfile

    from .test_bad_input import _audit_as_nobody

    root = Path(tempfile.mkdtemp(prefix="mailaudit-tcc-"))
    try:
        root.chmod(0o755)
        mail = mac_home(root) / "Library" / "Mail"
        for folder in (root / "Users", root / "Users" / "jane", mail.parent):
            folder.chmod(0o755)
        mail.chmod(0o311)  # may be entered, not listed
        report = json.loads(_audit_as_nobody(root))
        assert [s["reason"] for s in report["skipped"]] == [
            "cannot be listed (permission denied); run as administrator, and on a Mac give the "
            "terminal Full Disk Access in System Settings > Privacy"
        ]
    finally:
        shutil.rmtree(root)
