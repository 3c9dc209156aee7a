"""Outlook accounts from real hive files (written by hivexregedit) and from .reg exports."""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
from pathlib import Path

import pytest
from regbuild import Raw, build_hive, reg_text, utf16, write_export
from typer.testing import CliRunner

from mailaudit.audit import AuditOptions, run_audit
from mailaudit.cli import EXIT_OK, EXIT_USAGE, app
from mailaudit.model import Client, Protocol, Security
from mailaudit.report import Format, render
from mailaudit.report.json_report import to_dict
from mailaudit.sources.outlook import store_path

from .conftest import audit, file_states, tree_fingerprint
from .outlook_data import (
    ACCOUNTS,
    OFFICE15,
    OFFICE16,
    PLANTED_PASSWORD,
    imap_account,
    office_machine,
    ost_entry_id,
    pop3_account,
    profile_keys,
    pst_entry_id,
)

# `make test` installs hivexregedit; in CI its absence must fail the run, not skip it.
pytestmark = pytest.mark.skipif(
    shutil.which("hivexregedit") is None and not os.environ.get("CI"),
    reason="needs hivexregedit (apt-get install libwin-hivex-perl)",
)


def machine_with_hive(root: Path, keys: dict, user: str = "anna") -> Path:
    home = root / "Users" / user
    home.mkdir(parents=True, exist_ok=True)
    build_hive(home / "NTUSER.DAT", keys)
    return home


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    root = tmp_path_factory.mktemp("office")
    home = machine_with_hive(root, office_machine())
    pst = home / "Documents" / "Outlook Files" / "anna.pst"
    pst.parent.mkdir(parents=True)
    pst.write_bytes(b"!BDN" + bytes(123_456))
    ost = home / "AppData" / "Local" / "Microsoft" / "Outlook" / "jane@imap.test.ost"
    ost.parent.mkdir(parents=True)
    ost.write_bytes(b"!BDN" + bytes(2_000))
    return root


@pytest.fixture(scope="module")
def accounts(office):
    return {a.name: a for a in audit(office).accounts}


def test_every_mail_account_and_nothing_else(accounts):
    assert sorted(accounts) == [
        "Müller & Söhne (alt)", "anna@example.test", "chef@kanzlei.example", "jane@imap.test",
    ]  # fmt: skip
    assert {a.client for a in accounts.values()} == {Client.OUTLOOK}
    assert {a.user for a in accounts.values()} == {"anna"}  # the hive's owner


def test_pop3_account_in_office_16(accounts):
    pop = accounts["anna@example.test"]
    assert pop.protocol is Protocol.POP3
    assert pop.profile == "Outlook (Outlook 16.0)"
    assert pop.email == "anna@example.test"
    assert (pop.incoming.host, pop.incoming.port, pop.incoming.security) == (
        "pop.example.test", 995, Security.TLS,
    )  # fmt: skip
    assert pop.incoming.username == "anna"
    assert pop.incoming.security_raw == "POP3 Use SSL=1"
    assert (pop.leave_on_server, pop.leave_on_server_days) == (True, 14)
    assert pop.leave_on_server_detail == (
        "keep a copy on the server, remove it after 14 days (Leave on Server=0x000e0003)"
    )
    assert pop.classification.basis == "declared type POP3, confirmed by port 995"
    assert pop.origin.startswith("/Users/anna/NTUSER.DAT: HKCU\\Software\\Microsoft\\Office\\16.0")


def test_reading_hives_changes_no_byte_or_timestamp(tmp_path):
    machine_with_hive(tmp_path, office_machine())  # fresh: its access times not yet touched
    before = file_states(tmp_path)
    assert len(audit(tmp_path).accounts) == 4
    assert file_states(tmp_path) == before


def test_pst_path_mapped_onto_the_root_and_measured(accounts):
    store = accounts["anna@example.test"].local_store
    assert store.path == "/Users/anna/Documents/Outlook Files/anna.pst"
    assert (store.bytes, store.exists) == (123_460, True)


def test_imap_account_with_its_ost(accounts):
    imap = accounts["jane@imap.test"]
    assert (imap.protocol, imap.incoming.port, imap.incoming.security) == (
        Protocol.IMAP,
        993,
        Security.TLS,
    )
    assert imap.leave_on_server is None
    assert imap.local_store.path == "/Users/anna/AppData/Local/Microsoft/Outlook/jane@imap.test.ost"
    assert imap.local_store.bytes == 2_004


def test_exchange_account_from_a_second_profile(accounts):
    exchange = accounts["chef@kanzlei.example"]
    assert exchange.protocol is Protocol.EXCHANGE
    assert exchange.profile == "Büro (Outlook 16.0)"
    assert exchange.email == "chef@kanzlei.example"
    assert exchange.incoming.host == "mail.kanzlei.example"
    assert exchange.local_store.path.endswith("/Outlook/chef@kanzlei.example.ost")
    assert exchange.local_store.exists is False  # reported, not fatal
    assert "does not exist" in exchange.local_store.note


def test_outlook_2010_profile_with_reg_sz_strings_and_absent_ports(accounts):
    old = accounts["Müller & Söhne (alt)"]
    assert old.profile == "Alt (Outlook 2010 or older)"
    assert old.email == "info@mueller-soehne.example"
    assert (old.incoming.host, old.incoming.port, old.incoming.security) == (
        "mail.mueller-soehne.example", 110, Security.NONE,
    )  # fmt: skip
    assert old.incoming.security_raw == "POP3 Use SSL absent; POP3 Port absent, 110 assumed"
    assert old.leave_on_server is False
    assert old.local_store.exists is False


def test_export_and_hive_give_the_same_report(tmp_path, office):
    text = reg_text(office_machine())
    export = tmp_path / "anna.reg"
    write_export(export, text)
    assert export.read_bytes()[:2] == b"\xff\xfe"
    assert ",\\\r\n  ".encode("utf-16-le") in export.read_bytes()  # wrapped like regedit
    from_hive = audit(office)
    from_export = run_audit(AuditOptions(root=office, offline=True, reg_files=(export,)))

    def comparable(report, origin_prefix):
        accounts = []
        for account in to_dict(report)["accounts"]:
            if account["origin"].startswith(origin_prefix):
                # The recommendation names the user's local mailboxes, which this run holds
                # twice (from the hive and from the export): compare the accounts themselves.
                account = dict(
                    account,
                    origin=account["origin"].split(": ", 1)[1],
                    id=None,
                    recommendation=None,
                )
                account["origin"] = account["origin"].replace("HKEY_CURRENT_USER", "HKCU", 1)
                accounts.append(account)
        return accounts

    assert comparable(from_export, str(export)) == comparable(from_hive, "/Users/anna/NTUSER.DAT")
    assert len(comparable(from_hive, "/Users/anna/NTUSER.DAT")) == 4


def test_export_alone_leaves_the_local_machine_out(tmp_path):
    export = tmp_path / "bernd.reg"
    write_export(export, reg_text(profile_keys(OFFICE15, "Outlook", {"00000001": pop3_account()})))
    report = run_audit(AuditOptions(offline=True, reg_files=(export,)))
    assert [(a.user, a.profile) for a in report.accounts] == [("bernd", "Outlook (Outlook 15.0)")]
    assert report.machine.hostname == "unknown"
    store = report.accounts[0].local_store
    assert (store.path, store.measured) == (
        r"C:\Users\anna\Documents\Outlook Files\anna.pst",
        False,
    )


@pytest.mark.parametrize(
    ("setting", "leave", "days", "words"),
    [
        (0x00000000, False, None, "mail is removed from the server once downloaded"),
        (0x00000001, True, None, "keep a copy on the server"),
        (0x00050001, True, None, "keep a copy on the server"),  # days without REMOVE_AFTER
        (0x00070002, False, None, "mail is removed from the server once downloaded"),
        (0x001E0007, True, 30, "keep a copy on the server, remove it after 30 days, "
                               "remove it when deleted from Deleted Items"),
    ],
)  # fmt: skip
def test_leave_on_server_bits(tmp_path, setting, leave, days, words):
    machine_with_hive(tmp_path, profile_keys(OFFICE16, "P", {"00000001": pop3_account(**{
        "Leave on Server": setting})}))  # fmt: skip
    pop = audit(tmp_path).accounts[0]
    assert (pop.leave_on_server, pop.leave_on_server_days) == (leave, days)
    assert pop.leave_on_server_detail == f"{words} (Leave on Server=0x{setting:08x})"


@pytest.mark.parametrize(
    ("use_ssl", "security"), [(0, Security.NONE), (2, Security.STARTTLS), (3, Security.UNKNOWN)]
)
def test_use_ssl_values_are_kept_raw(tmp_path, use_ssl, security):
    machine_with_hive(tmp_path, profile_keys(OFFICE16, "P", {"00000001": imap_account(**{
        "IMAP Use SSL": use_ssl, "IMAP Port": 143})}))  # fmt: skip
    imap = audit(tmp_path).accounts[0]
    assert imap.incoming.security is security
    assert imap.incoming.security_raw == f"IMAP Use SSL={use_ssl}"


def test_store_entry_ids():
    assert store_path(pst_entry_id(r"C:\x\a.pst")) == r"C:\x\a.pst"
    assert store_path(ost_entry_id(r"C:\x\b.ost")) == r"C:\x\b.ost"
    assert store_path(b"\0" * 80) is None
    assert store_path(pst_entry_id("C:\\x")[:60]) == "C:\\"  # cut short: what is there
    assert store_path(None) is None


# ---------------------------------------------------------------- damage


def test_damaged_values_are_reported_and_the_account_kept(tmp_path):
    machine_with_hive(tmp_path, profile_keys(OFFICE16, "P", {"00000001": pop3_account(**{
        "POP3 Server": b"p\0o\0p",             # odd length: not UTF-16
        "POP3 Port": "995",                     # REG_SZ where a DWORD belongs
        "Email": 42,                            # a DWORD where text belongs
    })}))  # fmt: skip
    report = audit(tmp_path)
    pop = report.accounts[0]
    assert (pop.incoming.host, pop.incoming.port, pop.email) == (None, 110, None)
    reasons = sorted(s.reason for s in report.skipped)
    assert reasons == [
        "value 'Email' is REG_DWORD, not text; left out",
        "value 'POP3 Port' is REG_SZ, not a DWORD; left out",
        "value 'POP3 Server' is 5 bytes, an odd length for UTF-16 text; left out",
    ]


def test_truncated_and_random_hives_are_skipped(tmp_path):
    good = machine_with_hive(tmp_path, profile_keys(OFFICE16, "P", {"00000001": pop3_account()}))
    whole = (good / "NTUSER.DAT").read_bytes()
    for user, data in {
        "cut": whole[: len(whole) // 2],
        "header": whole[:700],
        "noise": random.Random(3).randbytes(20_000),
        "empty": b"",
    }.items():
        (tmp_path / "Users" / user).mkdir()
        (tmp_path / "Users" / user / "NTUSER.DAT").write_bytes(data)
    before = tree_fingerprint(tmp_path)
    report = audit(tmp_path)
    assert tree_fingerprint(tmp_path) == before
    assert [a.user for a in report.accounts] == ["anna"]
    skipped = {s.origin.split("/")[2]: s.reason for s in report.skipped}
    assert set(skipped) == {"cut", "header", "noise", "empty"}, skipped
    assert all(
        "NTUSER.DAT is not a readable registry hive" in reason or "damaged" in reason
        for reason in skipped.values()
    ), skipped


def test_dirty_hive_without_logs_is_read_with_a_warning(tmp_path):
    home = machine_with_hive(tmp_path, profile_keys(OFFICE16, "P", {"00000001": pop3_account()}))
    hive = bytearray((home / "NTUSER.DAT").read_bytes())
    struct.pack_into(
        "<I", hive, 4, struct.unpack_from("<I", hive, 4)[0] + 1
    )  # primary != secondary
    checksum = 0
    for (word,) in struct.iter_unpack("<I", bytes(hive[:0x1FC])):
        checksum ^= word
    struct.pack_into("<I", hive, 0x1FC, checksum)
    (home / "NTUSER.DAT").write_bytes(hive)
    report = audit(tmp_path)
    assert len(report.accounts) == 1
    assert "not closed cleanly and has no transaction logs" in report.skipped[0].reason


def test_reg_export_with_broken_lines(tmp_path):
    keys = profile_keys(OFFICE16, "P", {"00000001": pop3_account(**{
        "Display Name": Raw("hex:41,00,zz,00"),
        "SMTP Port": Raw("dword:xyz"),
    })})  # fmt: skip
    export = tmp_path / "anna.reg"
    write_export(export, reg_text(keys) + '"orphan"\n[HKEY_CURRENT_USER\\Software\n')
    report = run_audit(AuditOptions(offline=True, reg_files=(export,)))
    assert [a.name for a in report.accounts] == ["anna@example.test"]
    reasons = [s.reason for s in report.skipped]
    assert any("a hex value with a byte that is not" in r for r in reasons), reasons
    assert any("a dword value that is not" in r for r in reasons), reasons
    assert not any("zz" in r or "xyz" in r for r in reasons), reasons  # input is never quoted
    assert any("without its closing ']'" in r for r in reasons), reasons


def test_unreadable_export_on_the_command_line_is_a_usage_error(tmp_path):
    not_reg = tmp_path / "notes.reg"
    not_reg.write_text("hello")
    result = CliRunner().invoke(app, ["scan", "--reg-file", str(not_reg), "--offline"])
    assert result.exit_code == EXIT_USAGE
    assert "is not a registry export" in result.stderr


def test_planted_passwords_never_reach_any_output(office, tmp_path):
    export = tmp_path / "anna.reg"
    write_export(export, reg_text(office_machine()))
    report = run_audit(AuditOptions(root=office, offline=True, reg_files=(export,)))
    marker = PLANTED_PASSWORD[1:].decode()
    assert marker.encode() in (office / "Users" / "anna" / "NTUSER.DAT").read_bytes()
    for fmt in Format:
        text = render(report, fmt)
        assert "anna@example.test" in text
        assert marker not in text
        assert PLANTED_PASSWORD.hex() not in text
    assert marker not in repr(report)


def test_cli_scan_with_reg_file(tmp_path):
    export = tmp_path / "carla.reg"
    write_export(export, reg_text(profile_keys(OFFICE16, "Outlook", {"00000001": imap_account()})))
    result = CliRunner().invoke(app, ["scan", "--reg-file", str(export), "--format", "json", "-q"])
    assert result.exit_code == EXIT_OK, result.output
    assert [a["user"] for a in json.loads(result.stdout)["accounts"]] == ["carla"]


def test_accounts_key_name_is_matched_case_insensitively(tmp_path):
    keys = profile_keys(OFFICE16, "P", {"00000001": pop3_account()})
    keys = {
        k.replace(ACCOUNTS, ACCOUNTS.lower()).replace("Software", "SOFTWARE"): v
        for k, v in keys.items()
    }
    machine_with_hive(tmp_path, keys)
    assert len(audit(tmp_path).accounts) == 1


def test_utf16_helper_matches_outlook():
    assert utf16("ab") == b"a\0b\0\0\0"


def test_a_pst_of_no_account_is_a_local_mailbox(tmp_path):
    """PST data files of the profile (MSUPST MS) that no account delivers into are local
    mailboxes with path and size; the POP3 account's own PST is not listed twice. The path is
    read as RegRipper's outlook2.pl does: Service UID -> section -> PR_STORE_PROVIDERS ->
    provider section -> PR_PST_PATH (001f6700)."""
    service, provider = bytes(range(16)), bytes(range(16, 32))
    keys = profile_keys(OFFICE16, "Outlook", {
        "00000001": pop3_account(),
        "00000002": {"clsid": "{ED475414-B0D6-11D2-8C3B-00104B2A6676}",
                     "Service Name": utf16("MSUPST MS"), "Account Name": utf16("Archiv 2019"),
                     "Service UID": service},
        "00000003": {"clsid": "{ED475414-B0D6-11D2-8C3B-00104B2A6676}",
                     "Service Name": utf16("MSUPST MS"),
                     "Account Name": utf16("anna@example.test")},
    })  # fmt: skip
    keys[f"{OFFICE16}\\Outlook\\{service.hex()}"] = {"01023d00": provider}
    keys[f"{OFFICE16}\\Outlook\\{provider.hex()}"] = {
        "001f6700": utf16(r"C:\Users\anna\Documents\Outlook Files\Archiv 2019.pst")
    }
    home = machine_with_hive(tmp_path, keys)
    archive = home / "Documents" / "Outlook Files" / "Archiv 2019.pst"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"!BDN" + bytes(4_096))
    report = audit(tmp_path)
    assert [a.name for a in report.accounts] == ["anna@example.test"]
    (local,) = report.local_mailboxes  # the data file named after the account is its own
    assert (local.name, local.user, local.client) == ("Archiv 2019", "anna", Client.OUTLOOK)
    assert local.store.path == "/Users/anna/Documents/Outlook Files/Archiv 2019.pst"
    assert local.store.bytes == 4_100
