"""Outlook Express 5/6 on a Windows XP disk: accounts in a real hive (written by hivexregedit),
identities, and .dbx folders built to the documented header layout."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from regbuild import Raw, build_hive
from wlmbuild import dbx

from mailaudit.model import Client, Protocol, Security
from mailaudit.report import Format, render
from mailaudit.sources.outlook_express import read_file_info

from .conftest import audit, file_states, tree_fingerprint

pytestmark = pytest.mark.skipif(
    shutil.which("hivexregedit") is None and not os.environ.get("CI"),
    reason="needs hivexregedit (apt-get install libwin-hivex-perl)",
)

GUID = "{3A1F0C2E-5B6D-4E7F-8091-A2B3C4D5E6F7}"
ACCOUNTS = r"Software\Microsoft\Internet Account Manager\Accounts"
PLANTED = "PLANTED-oe-password"
STORE = (
    "Documents and Settings/otto/Local Settings/Application Data/Identities/"
    f"{GUID}/Microsoft/Outlook Express"
)


def expand_sz(text: str) -> Raw:
    data = (text + "\0").encode("utf-16-le")
    return Raw("hex(2):" + ",".join(f"{b:02x}" for b in data))


@pytest.fixture(scope="module")
def xp(tmp_path_factory):
    root = tmp_path_factory.mktemp("xp")
    home = root / "Documents and Settings" / "otto"
    home.mkdir(parents=True)
    build_hive(
        home / "NTUSER.DAT",
        {
            "Identities": {"Default User ID": GUID, "Last User ID": GUID},
            f"Identities\\{GUID}": {"Username": "Hauptidentität", "User ID": GUID},
            f"Identities\\{GUID}\\Software\\Microsoft\\Outlook Express\\5.0": {
                "Store Root": expand_sz(
                    rf"%UserProfile%\Local Settings\Application Data\Identities\{GUID}"
                    r"\Microsoft\Outlook Express"
                ),
            },
            rf"{ACCOUNTS}\00000001": {
                "Account Name": "T-Online", "POP3 Server": "securepop.t-online.de",
                "POP3 User Name": "otto@t-online.de", "POP3 Port": 995,
                "POP3 Secure Connection": 1, "Leave Mail On Server": 1,
                "Remove When Expired": 1, "Expire Days": 5,
                "POP3 Password2": PLANTED.encode(), "SMTP Email Address": "otto@t-online.de",
            },
            rf"{ACCOUNTS}\00000002": {
                "Account Name": "Firma IMAP", "IMAP Server": "imap.firma.example",
                "IMAP User Name": "otto", "IMAP Port": 993, "IMAP Secure Connection": 1,
                "IMAP Password2": PLANTED.encode(), "SMTP Email Address": "otto@firma.example",
            },
            rf"{ACCOUNTS}\00000003": {"Account Name": "news.example",
                                      "NNTP Server": "news.example"},
            rf"{ACCOUNTS}\00000004": {"Account Name": "Bigfoot", "LDAP Server": "ldap.bigfoot.com"},
            rf"{ACCOUNTS}\00000005": {
                "Account Name": "Alt (plain)", "POP3 Server": "pop.alt.example",
                "POP3 User Name": "otto", "Leave Mail On Server": 0,
            },
        },
    )  # fmt: skip
    store = root / STORE
    store.mkdir(parents=True)
    (store / "Inbox.dbx").write_bytes(dbx("messages", 3, "", "Inbox", size=200_000))
    (store / "Sent Items.dbx").write_bytes(dbx("messages", 3, "", "Sent Items", size=50_000))
    (store / "Folders.dbx").write_bytes(dbx("folders", size=20_000))
    (store / "Pop3uidl.dbx").write_bytes(dbx("pop3uidl", size=10_000))
    (store / "INBOX (imap).dbx").write_bytes(dbx("messages", 1, "00000002", "INBOX", 80_000))
    (store / "news.example.dbx").write_bytes(dbx("messages", 0, "00000003", "de.test", 9_000))
    (store / "kaputt.dbx").write_bytes(os.urandom(600))
    return root


@pytest.fixture(scope="module")
def report(xp):
    return audit(xp)


@pytest.fixture(scope="module")
def accounts(report):
    return {a.name: a for a in report.accounts if a.client is Client.OUTLOOK_EXPRESS}


def test_every_mail_and_news_account_but_the_directory_service(accounts):
    assert sorted(accounts) == ["Alt (plain)", "Firma IMAP", "T-Online", "news.example"]
    assert {a.user for a in accounts.values()} == {"otto"}


def test_pop3_account_and_its_local_folders(accounts):
    pop = accounts["T-Online"]
    assert (pop.protocol, pop.incoming.host, pop.incoming.port) == (
        Protocol.POP3,
        "securepop.t-online.de",
        995,
    )
    assert pop.incoming.security is Security.TLS
    assert (pop.leave_on_server, pop.leave_on_server_days) == (True, 5)
    assert pop.local_store is not None
    assert pop.local_store.bytes == 250_000  # Inbox + Sent Items: no index, no IMAP, no news
    assert "shared by its POP3 accounts" in (pop.local_store.note or "")
    assert "Pop3uidl.dbx" in (pop.local_store.note or "")
    plain = accounts["Alt (plain)"]
    assert (plain.incoming.port, plain.incoming.security) == (110, Security.NONE)
    assert plain.leave_on_server is False
    assert plain.local_store == pop.local_store  # one Local Folders for both


def test_a_dbx_owned_by_the_imap_account(accounts):
    imap = accounts["Firma IMAP"]
    assert (imap.protocol, imap.incoming.port) == (Protocol.IMAP, 993)
    assert imap.local_store is not None and imap.local_store.bytes == 80_000


def test_damaged_dbx_is_reported(report):
    reasons = {Path(s.origin).name: s.reason for s in report.skipped}
    assert "not an Outlook Express folder file" in reasons["kaputt.dbx"]


def test_no_password_in_any_output(report):
    everything = repr(report) + "".join(render(report, fmt) for fmt in Format)
    assert "securepop.t-online.de" in everything
    assert PLANTED not in everything and PLANTED.encode().hex() not in everything


def test_the_scan_changes_nothing(xp):
    before, states = tree_fingerprint(xp), file_states(xp)
    audit(xp)
    assert tree_fingerprint(xp) == before and file_states(xp) == states


def test_file_info_of_each_kind():
    assert read_file_info(dbx("messages", 1, "00000002", "INBOX")) == (1, "00000002")
    assert read_file_info(dbx("messages", 3, "", "Inbox")) == (3, None)
    assert read_file_info(dbx("folders")) == (None, None)
    assert read_file_info(b"\xcf\xad\x12\xfe") == (None, None)  # cut off


@given(st.binary(max_size=0x2600))
def test_any_bytes_as_a_dbx_head(head):
    source_type, key = read_file_info(head)
    assert source_type is None or 0 <= source_type < 256
    assert key is None or (len(key) == 8 and key.isdigit())
