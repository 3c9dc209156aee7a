"""Claws Mail and Sylpheed: configurations written by the real programs (Claws Mail 4.1.1 and
Sylpheed 3.8, tests/fixtures/claws-real, made by its make_configs.py), hand-written variants for
the config_version and default rules, and damaged files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.model import Client, Protocol, Security
from mailaudit.report import Format, render
from mailaudit.sources.claws import parse_rc

from .conftest import REPO, audit, by_name, file_states, tree_fingerprint

REAL = REPO / "tests" / "fixtures" / "claws-real" / "root"
PLANTED = "PLANTED-sylpheed-password"


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    shutil.copytree(REAL, tmp_path / "root")
    return tmp_path / "root"


def claws_rc(root: Path) -> Path:
    return root / "home" / "clara" / ".claws-mail" / "accountrc"


def sylpheed_rc(root: Path) -> Path:
    return root / "home" / "sam" / ".sylpheed-2.0" / "accountrc"


def mh_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name.isdigit())


def add_account(rc: Path, number: int, **keys: object) -> None:
    lines = [f"[Account: {number}]"] + [f"{k}={v}" for k, v in keys.items()]
    rc.write_text(rc.read_text().rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")


def test_accounts_written_by_claws_mail():
    accounts = {a.name: a for a in audit(REAL).accounts if a.client is Client.CLAWS_MAIL}
    assert sorted(accounts) == ["GMX", "Old ISP"]
    gmx = accounts["GMX"]
    assert (gmx.protocol, gmx.declared_type) == (Protocol.POP3, "pop3")
    assert (gmx.incoming.host, gmx.incoming.port) == ("pop.gmx.example", 995)
    assert gmx.incoming.security is Security.TLS
    assert (gmx.email, gmx.incoming.username) == ("clara@gmx.example", "clara@gmx.example")
    # remove_mail=1 with the default leave time: removed a week after download, not at once.
    assert (gmx.leave_on_server, gmx.leave_on_server_days) == (True, 7)
    old = accounts["Old ISP"]
    assert (old.incoming.port, old.incoming.security) == (110, Security.NONE)
    assert (old.leave_on_server, old.leave_on_server_days) == (True, None)  # remove_mail=0
    assert gmx.local_store is not None
    assert gmx.local_store.path == "/home/clara/Mail"
    assert gmx.local_store.bytes == mh_bytes(REAL / "home" / "clara" / "Mail")


def test_accounts_written_by_sylpheed():
    accounts = {a.name: a for a in audit(REAL).accounts if a.client is Client.SYLPHEED}
    assert sorted(accounts) == ["Plain POP", "Web POP"]
    web = accounts["Web POP"]
    assert (web.incoming.host, web.incoming.port, web.incoming.security) == (
        "pop3.web.example",
        995,  # ssl_pop=1 and set_popport=0: pop_port=110 in the file is not used
        Security.TLS,
    )
    assert (web.leave_on_server, web.leave_on_server_days) == (True, 30)
    assert accounts["Plain POP"].local_store is not None
    assert accounts["Plain POP"].local_store.bytes == mh_bytes(REAL / "home" / "sam" / "Mail")


def test_sylpheed_plain_text_password_never_read():
    assert PLANTED in sylpheed_rc(REAL).read_text()  # the program kept it there
    report = audit(REAL)
    everything = repr(report) + "".join(render(report, fmt) for fmt in Format)
    assert "pop3.web.example" in everything
    assert PLANTED not in everything


def test_imap_accounts_in_both_numberings(machine):
    add_account(
        claws_rc(machine), 3, config_version=4, account_name="Work", protocol=1,
        receive_server="imap.work.example", user_id="c", ssl_imap=2, address="c@work.example",
    )  # fmt: skip
    add_account(
        sylpheed_rc(machine), 3, account_name="Uni", protocol=3, receive_server="imap.uni.example",
        user_id="sam", ssl_imap=1, password=PLANTED,
    )  # fmt: skip
    accounts = by_name(audit(machine))
    work, uni = accounts["Work"], accounts["Uni"]
    assert (work.protocol, work.incoming.port, work.incoming.security) == (
        Protocol.IMAP,
        143,
        Security.STARTTLS,
    )
    assert (uni.protocol, uni.incoming.port, uni.incoming.security) == (
        Protocol.IMAP,
        993,
        Security.TLS,
    )
    assert work.leave_on_server is None


def test_config_version_decides_what_protocol_numbers_mean(machine):
    rc = claws_rc(machine)
    # No config_version of its own: clawsrc's 4 applies, so 1 is IMAP.
    add_account(rc, 3, account_name="Follows clawsrc", protocol=1, receive_server="h1.example")
    accounts = by_name(audit(machine))
    assert accounts["Follows clawsrc"].protocol is Protocol.IMAP
    # Without clawsrc (Claws before 3.14): the old numbering, where 1 is APOP, a POP3 login.
    (rc.parent / "clawsrc").unlink()
    account = by_name(audit(machine))["Follows clawsrc"]
    assert (account.protocol, account.declared_type) == (Protocol.POP3, "apop")


def test_ssl_default_changed_in_claws_4_3_1(machine):
    rc = claws_rc(machine)
    add_account(rc, 3, config_version=5, account_name="New", protocol=0, receive_server="n.test")
    add_account(rc, 4, config_version=4, account_name="Older", protocol=0, receive_server="o.test")
    accounts = by_name(audit(machine))
    assert (accounts["New"].incoming.security, accounts["New"].incoming.port) == (
        Security.TLS,
        995,
    )
    assert (accounts["Older"].incoming.security, accounts["Older"].incoming.port) == (
        Security.NONE,
        110,
    )


def test_leave_time_zero_removes_at_once(machine):
    add_account(
        claws_rc(machine), 3, config_version=4, account_name="Now", protocol=0,
        receive_server="now.test", remove_mail=1, message_leave_time=0, message_leave_hour=0,
    )  # fmt: skip
    account = by_name(audit(machine))["Now"]
    assert account.leave_on_server is False
    assert "removed from the server once downloaded" in (account.leave_on_server_detail or "")


def test_random_bytes_accountrc_is_skipped_and_the_scan_goes_on(machine):
    claws_rc(machine).write_bytes(os.urandom(4096))
    report = audit(machine)
    assert {a.client for a in report.accounts} == {Client.SYLPHEED}
    (skipped,) = [s for s in report.skipped if s.source == "claws-mail"]
    assert skipped.origin == "/home/clara/.claws-mail/accountrc"
    assert "not text" in skipped.reason or "no [Account: N] section" in skipped.reason


def test_text_without_accounts_is_skipped(machine):
    claws_rc(machine).write_text("hello\nthis is not an accountrc\n")
    report = audit(machine)
    assert any("no [Account: N] section" in s.reason for s in report.skipped)


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda xml: xml[:150], "folderlist.xml: not well-formed XML"),  # cut off mid-write
    (
        lambda xml: xml.replace(b"?>", b'?><!DOCTYPE folderlist [<!ENTITY e "e">]>', 1),
        "folderlist.xml: document type declarations are not accepted",
    ),
])  # fmt: skip
def test_damaged_folderlist_falls_back_to_mail(machine, damage, reason):
    folderlist = claws_rc(machine).parent / "folderlist.xml"
    folderlist.write_bytes(damage(folderlist.read_bytes()))
    report = audit(machine)
    gmx = by_name(report)["GMX"]
    assert gmx.local_store is not None and gmx.local_store.path == "/home/clara/Mail"
    assert any(reason in s.reason for s in report.skipped)


def test_a_mailbox_no_account_uses_is_local_mail(machine):
    folderlist = claws_rc(machine).parent / "folderlist.xml"
    text = folderlist.read_text().replace(
        "</folderlist>",
        '<folder type="mh" name="Archiv" path="/home/clara/Archiv"></folder></folderlist>',
    )
    folderlist.write_text(text)
    archive = machine / "home" / "clara" / "Archiv" / "2019"
    archive.mkdir(parents=True)
    (archive / "1").write_text("Subject: old\n\n" + "x\n" * 100)
    (archive / ".claws_cache").write_text("not mail")
    boxes = [b for b in audit(machine).local_mailboxes if b.client is Client.CLAWS_MAIL]
    assert [(b.name, b.store.path, b.store.bytes) for b in boxes] == [
        ("Archiv", "/home/clara/Archiv", len("Subject: old\n\n" + "x\n" * 100))
    ]


def test_the_scan_changes_nothing(machine):
    before, states = tree_fingerprint(machine), file_states(machine)
    assert len(audit(machine).accounts) == 4
    assert tree_fingerprint(machine) == before and file_states(machine) == states


def test_the_plan_names_the_client_and_the_migrate_command(machine):
    rc = claws_rc(machine)
    rc.write_text(rc.read_text().replace("pop.gmx.example", "pop.gmx.net"))
    gmx = by_name(audit(machine))["GMX"]
    assert gmx.recommendation is not None and gmx.recommendation["action"] == "switch-to-imap"
    steps = " ".join(gmx.recommendation["steps"])
    assert "In Claws Mail, right-click each old folder" in steps
    command = (
        f"mailaudit migrate --account {gmx.id} --root {machine} --to imaps://clara%40gmx.example@"
    )
    assert command in steps


@given(st.text(max_size=400))
def test_any_text_parses_and_no_secret_key_survives(text):
    for keys in parse_rc(text).values():
        assert not any("password" in key.lower() or "secret" in key.lower() for key in keys)
