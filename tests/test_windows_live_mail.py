"""Windows Live Mail and Windows Mail (Vista): .oeaccount files (UTF-16 and UTF-8, hex DWORDs),
the store root from a real hive (written by hivexregedit), and the .eml folders beside them."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st
from regbuild import Raw, build_hive
from wlmbuild import oeaccount, write_messages

from mailaudit.model import Client, LocalMailbox, Protocol, Security
from mailaudit.report import Format, render
from mailaudit.sources.windows_live_mail import NotAnAccountFile, parse_account_file

from .conftest import audit, file_states, tree_fingerprint

# `make test` installs hivexregedit; in CI its absence must fail the run, not skip it.
pytestmark = pytest.mark.skipif(
    shutil.which("hivexregedit") is None and not os.environ.get("CI"),
    reason="needs hivexregedit (apt-get install libwin-hivex-perl)",
)

WLM_KEY = r"Software\Microsoft\Windows Live Mail"
PLANTED = "PLANTED-wlm-password-blob"
PLANTED_SALT = "PLANTED-wlm-salt"


def expand_sz(text: str) -> Raw:
    """REG_EXPAND_SZ, as Store Root is written."""
    data = (text + "\0").encode("utf-16-le")
    return Raw("hex(2):" + ",".join(f"{b:02x}" for b in data))


def gmx_pop3() -> dict[str, object]:
    return {
        "Account_Name": "GMX Büro",
        "Connection_Type": 3,
        "POP3_Server": "pop.gmx.net",
        "POP3_User_Name": "anna.weber@gmx.de",
        "POP3_Password2": PLANTED.encode(),
        "POP3_Port": 995,  # written 000003e3: read as decimal it would not even parse
        "POP3_Secure_Connection": 1,
        "Leave_Mail_On_Server": 1,
        "Remove_When_Expired": 1,
        "Expire_Days": 14,  # 0000000e
        "SMTP_Server": "mail.gmx.net",
        "SMTP_Email_Address": "anna.weber@gmx.de",
        "SMTP_Display_Name": "Anna Weber",
    }


def imap_account() -> dict[str, object]:
    return {
        "Account_Name": "Kanzlei IMAP",
        "IMAP_Server": "imap.kanzlei.example",
        "IMAP_User_Name": "anna",
        "IMAP_Password2": PLANTED.encode(),
        "IMAP_Port": 993,  # 000003e1
        "IMAP_Secure_Connection": 1,
        "SMTP_Email_Address": "anna@kanzlei.example",
    }


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """anna: WLM 2012 whose store was moved to C:\\Mailstore, an old default store left
    behind; a damaged account file; an account folder without messages."""
    root = tmp_path_factory.mktemp("wlm")
    home = root / "Users" / "anna"
    home.mkdir(parents=True)
    build_hive(
        home / "NTUSER.DAT",
        {
            WLM_KEY: {
                "Store Root": expand_sz(r"%SystemDrive%\Mailstore\WLM"),
                "Default Mail Account": "account{A1}.oeaccount",
                "Salt": PLANTED_SALT.encode(),
            }
        },
    )
    store = root / "Mailstore" / "WLM"
    gmx = store / "GMX Büro"
    gmx.mkdir(parents=True)
    (gmx / "account{A1}.oeaccount").write_bytes(oeaccount(gmx_pop3()))
    pop_bytes = write_messages(gmx / "Inbox", 3, "anna.weber@gmx.de")
    pop_bytes += write_messages(gmx / "Sent Items", 1, "anna.weber@gmx.de")
    (gmx / "Inbox" / "index.edb").write_bytes(b"\0" * 5000)  # not mail: not counted
    imap = store / "Kanzlei IMAP"
    imap.mkdir()
    (imap / "account{B2}.oeaccount").write_bytes(oeaccount(imap_account(), encoding="utf-8"))
    news = store / "news.example"
    news.mkdir()
    (news / "account{C3}.oeaccount").write_bytes(
        oeaccount({"Account_Name": "Vereinsnews", "NNTP_Server": "news.example"})
    )
    empty = store / "Hotmail"
    empty.mkdir()
    (empty / "account{D4}.oeaccount").write_bytes(
        oeaccount(
            {
                "Account_Name": "Hotmail (alt)",
                "HTTPMail_Server": "https://mail.services.live.com/DeltaSync_v2.0.0/Sync.aspx",
                "HTTPMail_User_Name": "anna@hotmail.example",
            }
        )
    )
    broken = store / "Broken"
    broken.mkdir()
    (broken / "account{E5}.oeaccount").write_bytes(oeaccount(gmx_pop3())[:300])
    storage = store / "Storage Folders" / "Archiv 2019"
    shared_bytes = write_messages(storage, 2, "anna@old.example")
    old = home / "AppData" / "Local" / "Microsoft" / "Windows Live Mail" / "old"
    old.mkdir(parents=True)
    (old / "account{F6}.oeaccount").write_bytes(oeaccount(gmx_pop3()))
    write_messages(old / "Inbox", 1, "anna.weber@gmx.de")
    return root, pop_bytes, shared_bytes


@pytest.fixture(scope="module")
def report(office):
    return audit(office[0])


@pytest.fixture(scope="module")
def accounts(report):
    return {a.name: a for a in report.accounts if a.client is Client.WINDOWS_LIVE_MAIL}


def test_every_account_of_the_moved_store(accounts):
    assert sorted(accounts) == ["GMX Büro", "Hotmail (alt)", "Kanzlei IMAP", "Vereinsnews"]
    assert {a.user for a in accounts.values()} == {"anna"}
    assert {a.profile for a in accounts.values()} == {"/Mailstore/WLM"}


def test_utf16_pop3_account_with_hex_numbers(accounts, office):
    pop = accounts["GMX Büro"]
    assert pop.protocol is Protocol.POP3
    assert (pop.incoming.host, pop.incoming.port) == ("pop.gmx.net", 995)
    assert pop.incoming.security is Security.TLS
    assert pop.incoming.username == "anna.weber@gmx.de"
    assert pop.email == "anna.weber@gmx.de"
    assert pop.leave_on_server is True
    assert pop.leave_on_server_days == 14
    assert "remove it after 14 days" in (pop.leave_on_server_detail or "")
    assert pop.origin == "/Mailstore/WLM/GMX Büro/account{A1}.oeaccount"
    assert pop.local_store is not None
    assert pop.local_store.path == "/Mailstore/WLM/GMX Büro"
    assert pop.local_store.bytes == office[1]  # the .eml files only, not the index


def test_utf8_imap_account(accounts):
    imap = accounts["Kanzlei IMAP"]
    assert imap.protocol is Protocol.IMAP
    assert (imap.incoming.host, imap.incoming.port) == ("imap.kanzlei.example", 993)
    assert imap.incoming.security is Security.TLS
    assert imap.leave_on_server is None
    assert imap.local_store is not None and imap.local_store.bytes == 0  # a folder, no messages


def test_news_and_httpmail_are_listed_as_other(accounts):
    news, hotmail = accounts["Vereinsnews"], accounts["Hotmail (alt)"]
    assert news.protocol is hotmail.protocol is Protocol.OTHER
    assert (news.declared_type, hotmail.declared_type) == ("nntp", "httpmail")
    assert hotmail.incoming.host == "mail.services.live.com"
    assert hotmail.incoming.username == "anna@hotmail.example"


def test_storage_folders_are_a_local_mailbox(report, office):
    boxes = [b for b in report.local_mailboxes if b.client is Client.WINDOWS_LIVE_MAIL]
    assert [(b.name, b.store.bytes) for b in boxes] == [("Storage Folders", office[2])]
    assert isinstance(boxes[0], LocalMailbox)


def test_damaged_file_and_stale_store_are_skipped(report):
    reasons = {s.origin: s.reason for s in report.skipped if s.source == "windows-live-mail"}
    assert "not well-formed XML" in reasons["/Mailstore/WLM/Broken/account{E5}.oeaccount"]
    stale = reasons["/Users/anna/AppData/Local/Microsoft/Windows Live Mail"]
    assert "no longer uses" in stale and "/Mailstore/WLM" in stale


def test_no_password_or_salt_in_any_output(report):
    everything = repr(report) + "".join(render(report, fmt) for fmt in Format)
    assert "pop.gmx.net" in everything
    assert PLANTED not in everything and PLANTED.encode().hex() not in everything
    assert PLANTED_SALT not in everything


def test_the_scan_changes_nothing(tmp_path):
    root = tmp_path
    folder = root / "Users" / "ben" / "AppData" / "Local" / "Microsoft" / "Windows Live Mail" / "x"
    folder.mkdir(parents=True)
    (folder / "a.oeaccount").write_bytes(oeaccount(gmx_pop3()))
    write_messages(folder / "Inbox", 2, "ben@example.test")
    before, states = tree_fingerprint(root), file_states(root)
    assert [a.name for a in audit(root).accounts] == ["GMX Büro"]
    assert tree_fingerprint(root) == before and file_states(root) == states


def test_no_registry_means_the_default_store(tmp_path):
    folder = tmp_path / "Users" / "ben" / "AppData" / "Local" / "Microsoft" / "Windows Live Mail"
    (folder / "pop.example").mkdir(parents=True)
    settings = {
        "Account_Name": "plain",
        "POP3_Server": "pop.example",
        "POP3_User_Name": "ben",
        # no port, no security flag, no leave-on-server: the defaults
    }
    (folder / "pop.example" / "a.oeaccount").write_bytes(oeaccount(settings))
    (account,) = audit(tmp_path).accounts
    assert (account.incoming.port, account.incoming.security) == (110, Security.NONE)
    assert account.leave_on_server is False
    assert "removed from the server once downloaded" in (account.leave_on_server_detail or "")


def test_tls_flag_on_a_plain_port_is_not_guessed(tmp_path):
    folder = tmp_path / "Users" / "ben" / "AppData" / "Local" / "Microsoft" / "Windows Live Mail"
    folder.mkdir(parents=True)
    settings = {"POP3_Server": "pop.example", "POP3_Port": 110, "POP3_Secure_Connection": 1}
    (folder / "a.oeaccount").write_bytes(oeaccount(settings))
    (account,) = audit(tmp_path).accounts
    assert account.incoming.security is Security.UNKNOWN
    assert "mode unknown" in (account.incoming.security_raw or "")


def test_bad_hex_number_is_reported_and_the_account_kept(tmp_path):
    folder = tmp_path / "Users" / "ben" / "AppData" / "Local" / "Microsoft" / "Windows Live Mail"
    folder.mkdir(parents=True)
    data = oeaccount({"IMAP_Server": "imap.example", "IMAP_Port": 993}).replace(
        "000003e1".encode("utf-16-le"), "0x3e1 !".encode("utf-16-le")
    )
    (folder / "a.oeaccount").write_bytes(data)
    report = audit(tmp_path)
    (account,) = report.accounts
    assert account.incoming.port == 143  # the default, for the value left out
    assert any("not a hexadecimal DWORD" in s.reason for s in report.skipped)


def test_store_root_on_another_drive_is_reported(tmp_path):
    home = tmp_path / "Users" / "ben"
    home.mkdir(parents=True)
    build_hive(home / "NTUSER.DAT", {WLM_KEY: {"Store Root": expand_sz(r"D:\Mail")}})
    report = audit(tmp_path)
    assert report.accounts == ()
    (skipped,) = [s for s in report.skipped if s.source == "windows-live-mail"]
    assert "drive D:" in skipped.reason


def test_windows_mail_keeps_pop3_mail_in_local_folders(tmp_path):
    root = tmp_path / "Users" / "vista" / "AppData" / "Local" / "Microsoft" / "Windows Mail"
    (root / "Local Folders").mkdir(parents=True)
    (root / "Local Folders" / "account{1}.oeaccount").write_bytes(oeaccount(gmx_pop3()))
    size = write_messages(root / "Local Folders" / "Inbox", 2, "vista@example.test")
    (account,) = audit(tmp_path).accounts
    assert account.client is Client.WINDOWS_MAIL
    assert account.local_store is not None
    assert account.local_store.bytes == size
    assert account.local_store.note == "shared by the POP3 accounts of this store"


def test_the_plan_names_the_client_and_the_migrate_command(accounts, report):
    pop = accounts["GMX Büro"]
    assert pop.recommendation is not None
    assert pop.recommendation["action"] == "switch-to-imap"  # GMX offers IMAP (provider data)
    text = " ".join(pop.recommendation["steps"])
    assert "In Windows Live Mail, drag each old folder" in text
    assert (
        f"mailaudit migrate --account {pop.id} --root {report.machine.root} "
        "--to imaps://anna.weber%40gmx.de@imap.gmx.net:993" in text
    )


def test_xml_refuses_entities():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]>'
        b"<MessageAccount><POP3_Server>&x;</POP3_Server></MessageAccount>"
    )
    with pytest.raises(NotAnAccountFile, match="document type"):
        parse_account_file(bomb)


@given(st.binary(max_size=400))
def test_any_bytes_parse_or_fail_cleanly(data):
    try:
        settings = parse_account_file(data)
    except NotAnAccountFile:
        return
    assert all(isinstance(v, str) for v in settings.values())


# What XML 1.0 allows in text (its Char production): no surrogates, controls, U+FFFE or U+FFFF.
XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
)


@given(
    st.dictionaries(
        st.sampled_from(["POP3_Server", "Account_Name", "SMTP_Email_Address"]), XML_TEXT
    )
)
def test_any_settings_round_trip(settings):
    parsed = parse_account_file(oeaccount(settings))
    assert parsed == {name: value.strip() for name, value in settings.items()}
