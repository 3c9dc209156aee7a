"""Hand-written profiles for what current Thunderbird no longer writes, and for the forks' paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailaudit.model import Client, Protocol, Security

from .conftest import audit, by_name, pop_and_imap, write_profile


def one_account(root: Path, **server_prefs: object):
    prefs = {
        "mail.accountmanager.accounts": "account1",
        "mail.account.account1.server": "server1",
        "mail.server.server1.type": "pop3",
        "mail.server.server1.hostname": "pop.example.test",
        "mail.server.server1.name": "acct",
    }
    prefs |= {f"mail.server.server1.{k}": v for k, v in server_prefs.items()}
    write_profile(root / "home" / "pat", prefs)
    report = audit(root)
    assert len(report.accounts) == 1, report.skipped
    return report.accounts[0]


def test_pop_and_imap_with_effective_ports(machine):
    write_profile(machine / "home" / "pat", pop_and_imap())
    accounts = by_name(audit(machine))
    assert set(accounts) == {
        "POP account",
        "IMAP account",
    }  # Local Folders is a store, not an account
    pop, imap = accounts["POP account"], accounts["IMAP account"]
    assert (pop.protocol, pop.incoming.port, pop.incoming.security) == (
        Protocol.POP3,
        995,
        Security.TLS,
    )
    assert (imap.protocol, imap.incoming.port, imap.incoming.security) == (
        Protocol.IMAP,
        143,
        Security.STARTTLS,
    )
    assert pop.email == "pat@pop.test" and pop.user == "pat"
    assert pop.leave_on_server is False and imap.leave_on_server is None


@pytest.mark.parametrize(
    ("prefs", "port", "security"),
    [
        ({"port": -1, "socketType": 3}, 995, Security.TLS),
        ({"port": 0, "socketType": 0}, 110, Security.NONE),
        ({}, 110, Security.NONE),  # socketType absent: mail.server.default.socketType is 0
        ({"port": 2110, "socketType": 2}, 2110, Security.STARTTLS),
        ({"isSecure": True}, 995, Security.TLS),  # before Thunderbird 3
        ({"socketType": 7}, 110, Security.UNKNOWN),
    ],
)
def test_port_and_security_defaults(machine, prefs, port, security):
    account = one_account(machine, **prefs)
    assert (account.incoming.port, account.incoming.security) == (port, security)


def test_legacy_try_starttls_is_kept_visible(machine):
    account = one_account(machine, socketType=1)
    assert account.incoming.security is Security.STARTTLS
    assert "falls back to plaintext" in account.incoming.security_raw


def test_legacy_realhostname_and_realusername_win(machine):
    account = one_account(
        machine, realhostname="pop.moved.test", userName="old", realuserName="new"
    )
    assert (account.incoming.host, account.incoming.username) == ("pop.moved.test", "new")


@pytest.mark.parametrize(
    ("prefs", "auth"),
    [
        ({}, "password"),
        ({"authMethod": 10}, "oauth2"),
        ({"authMethod": 4}, "password-encrypted"),
        ({"useSecAuth": True}, "password-encrypted"),  # before authMethod existed
        ({"auth_login": False}, "password"),
    ],
)
def test_auth_method(machine, prefs, auth):
    assert one_account(machine, **prefs).incoming.auth == auth


def test_leave_on_server_and_days(machine):
    account = one_account(
        machine,
        leave_on_server=True,
        delete_by_age_from_server=True,
        num_days_to_leave_on_server=30,
    )
    assert (account.leave_on_server, account.leave_on_server_days) == (True, 30)


def test_absent_days_mean_the_default_seven(machine):
    account = one_account(machine, leave_on_server=True, delete_by_age_from_server=True)
    assert account.leave_on_server_days == 7


def test_user_set_server_defaults_are_honoured(machine):
    prefs = pop_and_imap() | {
        "mail.server.default.leave_on_server": True,
        "mail.server.default.socketType": 3,
    }
    del prefs["mail.server.server1.socketType"]
    write_profile(machine / "home" / "pat", prefs)
    pop = by_name(audit(machine))["POP account"]
    assert pop.leave_on_server is True
    assert (pop.incoming.port, pop.incoming.security) == (995, Security.TLS)


def test_user_js_overrides_prefs_js(machine):
    profile = write_profile(machine / "home" / "pat", pop_and_imap())
    (profile / "user.js").write_text(
        'user_pref("mail.server.server1.hostname", "pop.override.test");\n'
    )
    assert by_name(audit(machine))["POP account"].incoming.host == "pop.override.test"


def test_other_and_exchange_types_are_listed_not_dropped(machine):
    prefs = {
        "mail.accountmanager.accounts": "a1,a2,a3,a4",
        "mail.account.a1.server": "s1",
        "mail.server.s1.type": "nntp",
        "mail.server.s1.hostname": "news.example.test",
        "mail.server.s1.socketType": 3,
        "mail.account.a2.server": "s2",
        "mail.server.s2.type": "rss",
        "mail.server.s2.hostname": "Feeds",
        "mail.account.a3.server": "s3",
        "mail.server.s3.type": "ews",
        "mail.server.s3.hostname": "outlook.office365.com",
        "mail.server.s3.ews_url": "https://outlook.office365.com/EWS/Exchange.asmx",
        "mail.account.a4.server": "s4",
        "mail.server.s4.type": "owl-eas",
        "mail.server.s4.hostname": "mail.example.test",
    }
    write_profile(machine / "home" / "pat", prefs)
    accounts = {a.declared_type: a for a in audit(machine).accounts}
    assert accounts["nntp"].protocol is Protocol.OTHER and accounts["nntp"].incoming.port == 563
    assert accounts["rss"].protocol is Protocol.OTHER and accounts["rss"].incoming.host is None
    ews = accounts["ews"]
    assert ews.protocol is Protocol.EXCHANGE
    assert (ews.incoming.host, ews.incoming.port, ews.incoming.security) == (
        "outlook.office365.com",
        443,
        Security.TLS,
    )
    assert accounts["owl-eas"].protocol is Protocol.EXCHANGE


def test_hidden_accounts_are_not_reported_as_accounts(machine):
    prefs = pop_and_imap() | {"mail.server.server2.hidden": True}
    write_profile(machine / "home" / "pat", prefs)
    report = audit(machine)
    assert set(by_name(report)) == {"POP account"}
    assert any("hidden" in s.reason for s in report.skipped)


def test_account_without_server_is_skipped_with_a_reason(machine):
    prefs = pop_and_imap()
    prefs["mail.accountmanager.accounts"] += ",account9,account1"  # and a duplicate
    write_profile(machine / "home" / "pat", prefs)
    report = audit(machine)
    assert len(report.accounts) == 2
    assert [s.reason for s in report.skipped] == [
        "account account9 names no server; thunderbird ignores it"
    ]


def test_global_inbox_with_a_missing_target_falls_back_to_local_folders(machine):
    prefs = pop_and_imap() | {
        "mail.server.server1.deferred_to_account": "account77",
        "mail.server.server3.directory-rel": "[ProfD]Mail/Local Folders",
    }
    profile = write_profile(machine / "home" / "pat", prefs)
    (profile / "Mail" / "Local Folders").mkdir(parents=True)
    (profile / "Mail" / "Local Folders" / "Inbox").write_bytes(b"From - x\n\nbody\n" * 10)
    (profile / "Mail" / "Local Folders" / "Inbox.msf").write_bytes(b"index" * 100)
    pop = by_name(audit(machine))["POP account"]
    assert pop.local_store.path.endswith("/Mail/Local Folders")
    assert pop.local_store.bytes == 150  # the mbox only, not the .msf index
    assert "Global Inbox" in pop.local_store.note


@pytest.mark.parametrize("deferred", [False, True], ids=["own", "global-inbox"])
def test_local_folders_is_a_local_mailbox_unless_a_pop_account_delivers_into_it(machine, deferred):
    prefs = pop_and_imap() | {"mail.server.server3.directory-rel": "[ProfD]Mail/Local Folders"}
    if deferred:
        prefs["mail.server.server1.deferred_to_account"] = "account3"
    profile = write_profile(machine / "home" / "pat", prefs)
    (profile / "Mail" / "Local Folders").mkdir(parents=True)
    (profile / "Mail" / "Local Folders" / "Archiv").write_bytes(b"From - x\n\nbody\n" * 10)
    report = audit(machine)
    assert {a.name for a in report.accounts} == {"POP account", "IMAP account"}
    if deferred:  # the POP3 account's own store: reported with the account
        assert report.local_mailboxes == ()
        assert by_name(report)["POP account"].local_store.path.endswith("/Mail/Local Folders")
        return
    (local,) = report.local_mailboxes
    assert (local.client, local.user, local.name) == (Client.THUNDERBIRD, "pat", "Local Folders")
    assert local.store.path.endswith("/Mail/Local Folders") and local.store.bytes == 150
    assert local.recommendation is not None and local.recommendation["action"] == "back-up"


def test_empty_local_folders_is_not_listed(machine):
    profile = write_profile(machine / "home" / "pat", pop_and_imap())
    (profile / "Mail" / "Local Folders").mkdir(parents=True)
    (profile / "Mail" / "Local Folders" / "Trash").write_bytes(b"")
    assert audit(machine).local_mailboxes == ()


def test_local_store_falls_back_to_the_stale_absolute_directory_then_the_hostname(machine):
    prefs = pop_and_imap() | {
        "mail.server.server1.directory": "C:\\Users\\pat\\AppData\\Roaming\\Thunderbird\\Mail\\pop",
    }
    write_profile(machine / "Users" / "pat", prefs, root="AppData/Roaming/Thunderbird")
    accounts = by_name(audit(machine))
    assert (
        accounts["POP account"].local_store.path
        == "/Users/pat/AppData/Roaming/Thunderbird/Mail/pop"
    )
    assert accounts["POP account"].local_store.exists is False
    assert accounts["IMAP account"].local_store.path.endswith(
        "/abcd1234.default/ImapMail/imap.imap.test"
    )


def test_maildir_and_subfolders_are_counted(machine):
    prefs = pop_and_imap() | {"mail.server.server1.directory-rel": "[ProfD]Mail/pop"}
    profile = write_profile(machine / "home" / "pat", prefs)
    cur = profile / "Mail" / "pop" / "Inbox" / "cur"
    cur.mkdir(parents=True)
    (cur / "1.eml").write_bytes(b"a" * 100)
    sub = profile / "Mail" / "pop" / "Inbox.sbd"
    sub.mkdir()
    (sub / "Projects").write_bytes(b"b" * 50)
    (sub / "Projects.msf").write_bytes(b"c" * 999)
    (profile / "Mail" / "pop" / "popstate.dat").write_bytes(b"d" * 999)
    (profile / "Mail" / "pop" / "filterlog.html").write_bytes(b"e" * 999)
    assert by_name(audit(machine))["POP account"].local_store.bytes == 150


FORK_ROOTS = [
    ("Users/pat", "AppData/Roaming/Thunderbird", "Profiles/x.default", Client.THUNDERBIRD),
    ("Users/pat", "AppData/Roaming/Mozilla/SeaMonkey", "Profiles/x.default", Client.SEAMONKEY),
    ("Users/pat", "Library/Thunderbird", "Profiles/x.default", Client.THUNDERBIRD),
    ("Users/pat", "Library/Application Support/SeaMonkey", "Profiles/x.default", Client.SEAMONKEY),
    ("home/pat", ".thunderbird", "x.default", Client.THUNDERBIRD),
    ("home/pat", "snap/thunderbird/common/.thunderbird", "x.default", Client.THUNDERBIRD),
    ("home/pat", ".var/app/org.mozilla.Thunderbird/.thunderbird", "x.default", Client.THUNDERBIRD),
    ("home/pat", ".var/app/eu.betterbird.Betterbird/.thunderbird", "x.default", Client.THUNDERBIRD),
    ("home/pat", ".mozilla/seamonkey", "x.default", Client.SEAMONKEY),
    ("root", ".icedove", "x.default", Client.THUNDERBIRD),
]


@pytest.mark.parametrize(("home", "root", "folder", "client"), FORK_ROOTS, ids=lambda v: str(v))
def test_profile_roots_of_every_platform_and_fork(machine, home, root, folder, client):
    write_profile(machine / home, pop_and_imap(), root=root, folder=folder)
    report = audit(machine)
    assert {a.client for a in report.accounts} == {client}
    assert {a.user for a in report.accounts} == {Path(home).name}
    assert len(report.accounts) == 2


def test_microsoft_store_package_root(machine):
    root = "AppData/Local/Packages/Mozilla.Thunderbird_abc123/LocalCache/Roaming/Thunderbird"
    write_profile(machine / "Users" / "pat", pop_and_imap(), root=root, folder="Profiles/x.default")
    assert len(audit(machine).accounts) == 2


def test_one_profile_reached_from_two_roots_is_read_once(machine):
    profile = write_profile(machine / "home" / "pat", pop_and_imap())
    snap = machine / "home" / "pat" / "snap" / "thunderbird" / "common" / ".thunderbird"
    snap.mkdir(parents=True)
    (snap / "profiles.ini").write_text(
        f"[Profile0]\nName=same\nIsRelative=0\nPath=/home/pat/.thunderbird/{profile.name}\n"
    )
    assert len(audit(machine).accounts) == 2


def test_profiles_ini_sections_out_of_order_and_absolute_windows_paths(machine):
    tb = machine / "Users" / "pat" / "AppData" / "Roaming" / "Thunderbird"
    write_profile(
        machine / "Users" / "pat",
        pop_and_imap(),
        root="AppData/Roaming/Thunderbird",
        folder="Profiles/a",
    )
    write_profile(machine / "Users" / "pat", pop_and_imap(), root="D-drive-copy", folder="b")
    (tb / "profiles.ini").write_text(
        "\ufeff[Profile1]\r\nName=second\r\nIsRelative=0\r\nPath=C:\\Users\\pat\\D-drive-copy\\b\r\n\r\n"
        "[Profile0]\r\nName=first\r\nIsRelative=1\r\nPath=Profiles/a\r\n"
    )
    report = audit(machine)
    assert sorted({a.profile for a in report.accounts}) == [
        "/Users/pat/AppData/Roaming/Thunderbird/Profiles/a",
        "/Users/pat/D-drive-copy/b",
    ]


def test_a_gap_in_profile_numbers_hides_later_profiles_as_thunderbird_does(machine):
    base = machine / "home" / "pat" / ".thunderbird"
    write_profile(machine / "home" / "pat", pop_and_imap(), folder="p0")
    write_profile(machine / "home" / "pat", pop_and_imap(), folder="p2")
    (base / "profiles.ini").write_text(
        "[Profile0]\nName=a\nIsRelative=1\nPath=p0\n\n[Profile2]\nName=c\nIsRelative=1\nPath=p2\n"
    )
    report = audit(machine)
    assert {a.profile for a in report.accounts} == {"/home/pat/.thunderbird/p0"}
    assert len(report.skipped) == 1
    assert "[Profile2] comes after a gap" in report.skipped[0].reason


def test_a_section_without_name_or_path_is_passed_over(machine):
    base = machine / "home" / "pat" / ".thunderbird"
    write_profile(machine / "home" / "pat", pop_and_imap(), folder="p1")
    (base / "profiles.ini").write_text(
        "[Profile0]\nIsRelative=1\nPath=nameless\n\n[Profile1]\nName=b\nIsRelative=1\nPath=p1\n"
    )
    report = audit(machine)
    assert {a.profile for a in report.accounts} == {"/home/pat/.thunderbird/p1"}
