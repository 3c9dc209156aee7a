"""Evolution accounts: `.source` files written by the real evolution-source-registry
(tests/fixtures/evolution-real, made by its make_sources.py), hand-edited and damaged ones, and
the GConf XML of Evolution 2.x."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.model import Client, Protocol, Security
from mailaudit.report import Format, render
from mailaudit.sources.evolution import NotAKeyFile, gconf_accounts, parse_key_file

from .conftest import REPO, audit, by_name, file_states, tree_fingerprint

REAL = REPO / "tests" / "fixtures" / "evolution-real" / "root"
SOURCES = ".config/evolution/sources"
PLANTED = "PLANTED-evolution-secret"


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    shutil.copytree(REAL, tmp_path / "root")
    return tmp_path / "root"


def sources_of(root: Path) -> Path:
    return root / "home" / "evelyn" / SOURCES


def local_mail_bytes() -> int:
    local = REAL / "home/evelyn/.local/share/evolution/mail/local"
    return sum(p.stat().st_size for p in local.rglob("*") if p.is_file())


def test_accounts_written_by_the_registry():
    accounts = by_name(audit(REAL))
    assert sorted(accounts) == ["Büro POP", "Old ISP", "Work IMAP"]
    assert {a.client for a in accounts.values()} == {Client.EVOLUTION}
    pop = accounts["Büro POP"]
    assert pop.protocol is Protocol.POP3 and pop.declared_type == "pop"
    assert (pop.incoming.host, pop.incoming.port) == ("pop.example.test", 995)
    assert pop.incoming.security is Security.TLS
    assert pop.incoming.username == "evelyn"
    assert pop.email == "evelyn@example.test"  # from the identity source
    assert (pop.leave_on_server, pop.leave_on_server_days) == (True, 14)
    plain = accounts["Old ISP"]
    assert (plain.incoming.port, plain.incoming.security) == (110, Security.NONE)
    assert plain.leave_on_server is False
    imap = accounts["Work IMAP"]
    assert imap.protocol is Protocol.IMAP
    assert (imap.incoming.port, imap.incoming.security) == (143, Security.STARTTLS)
    assert imap.email == "e.example@work.test"


def test_pop3_mail_is_on_this_computer():
    accounts = by_name(audit(REAL))
    for name in ("Büro POP", "Old ISP"):
        store = accounts[name].local_store
        assert store is not None
        assert store.path == "/home/evelyn/.local/share/evolution/mail/local"
        assert store.bytes == local_mail_bytes()  # Inbox and the Maildir++ subfolders
        assert "shared by the POP3 accounts" in (store.note or "")


def test_switched_off_online_account_is_skipped_not_listed():
    report = audit(REAL)
    (skipped,) = [s for s in report.skipped if s.source == "evolution"]
    assert skipped.origin.endswith("goa-account-1-mail.source")
    assert "GNOME Online Accounts" in skipped.reason
    assert "evelyn@gmail.example" not in {a.email for a in report.accounts}


def test_keep_on_server_default_follows_the_installed_version(machine):
    source = sources_of(machine) / "pop-keep.source"
    text = source.read_text().replace("KeepOnServer=true\n", "")
    source.write_text(text)
    assert by_name(audit(machine))["Büro POP"].leave_on_server is None  # version unknown
    status = machine / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True)
    for version, expected in (("3.46.4-2+deb12u1", False), ("3.62.1-1", True)):
        status.write_text(
            "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n"
            "Package: evolution-data-server\nStatus: install ok installed\n"
            f"Version: {version}\n\n"
        )
        account = by_name(audit(machine))["Büro POP"]
        assert account.leave_on_server is expected
        assert version.split("-")[0].rsplit(".", 1)[0] in (account.leave_on_server_detail or "")


def test_exchange_web_services_account(machine):
    (sources_of(machine) / "ews.source").write_text(
        "[Data Source]\nDisplayName=Firma EWS\nEnabled=true\nParent=\n\n"
        "[Mail Account]\nBackendName=ews\nIdentityUid=\n\n"
        "[Authentication]\nHost=\nMethod=NTLM\nPort=0\nUser=evelyn\n\n"
        "[Ews Backend]\nHostUrl=https://mail.firma.test/EWS/Exchange.asmx\n"
    )
    account = by_name(audit(machine))["Firma EWS"]
    assert account.protocol is Protocol.EXCHANGE
    assert (account.incoming.host, account.incoming.port) == ("mail.firma.test", 443)
    assert account.incoming.auth == "ntlm"


def test_damaged_sources_are_skipped_and_the_rest_read(machine):
    folder = sources_of(machine)
    (folder / "junk.source").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (folder / "notes.source").write_text("this is not\na key file\n")
    (folder / "cut.source").write_text("[Data Source\nDisplayName=x\n")
    report = audit(machine)
    assert sorted(by_name(report)) == ["Büro POP", "Old ISP", "Work IMAP"]
    reasons = {Path(s.origin).name: s.reason for s in report.skipped}
    assert "not UTF-8" in reasons["junk.source"]
    assert "neither a [group] nor a key=value pair" in reasons["notes.source"]
    assert "not a key file" in reasons["cut.source"]


def test_gconf_accounts_of_evolution_2(tmp_path):
    home = tmp_path / "home" / "olga"
    gconf = home / ".gconf" / "apps" / "evolution" / "mail" / "%gconf.xml"
    gconf.parent.mkdir(parents=True)
    accounts = [
        '<?xml version="1.0"?>\n<account name="T-Online" uid="1" enabled="true">'
        "<identity><name>Olga</name><addr-spec>olga@t-online.de</addr-spec></identity>"
        '<source save-passwd="true" keep-on-server="true">'
        f"<url>pop://olga%40t-online.de:{PLANTED}@securepop.t-online.de:995/"
        ";security-method=ssl-on-alternate-port;delete_after=7</url></source>"
        "<transport><url>smtp://olga@securesmtp.t-online.de/</url></transport></account>",
        '<?xml version="1.0"?>\n<account name="Uni" uid="2" enabled="true">'
        "<identity><addr-spec>olga@uni.test</addr-spec></identity>"
        "<source><url>imap://olga;auth=PLAIN@imap.uni.test/;use_ssl=when-possible</url></source>"
        "</account>",
        '<?xml version="1.0"?>\n<account name="Off" uid="3" enabled="false">'
        "<source><url>pop://x@pop.off.test/</url></source></account>",
    ]
    items = "".join(
        f'<li type="string"><stringvalue>{escape(a)}</stringvalue></li>' for a in accounts
    )
    gconf.write_text(
        '<?xml version="1.0"?>\n<gconf><entry name="accounts" mtime="1300000000" type="list" '
        f'ltype="string">{items}</entry></gconf>\n'
    )
    report = audit(tmp_path)
    found = by_name(report)
    assert sorted(found) == ["T-Online", "Uni"]
    pop = found["T-Online"]
    assert (pop.incoming.host, pop.incoming.port, pop.incoming.security) == (
        "securepop.t-online.de",
        995,
        Security.TLS,
    )
    assert pop.incoming.username == "olga@t-online.de"
    assert (pop.leave_on_server, pop.leave_on_server_days) == (True, 7)
    imap = found["Uni"]
    assert (imap.protocol, imap.incoming.port) == (Protocol.IMAP, 143)
    assert imap.incoming.security is Security.STARTTLS
    assert any("'Off' is disabled" in s.reason for s in report.skipped)
    everything = repr(report) + "".join(render(report, f) for f in Format)
    assert PLANTED not in everything

    gconf.write_bytes(gconf.read_bytes()[:200])  # cut off mid-write
    report = audit(tmp_path)
    assert report.accounts == ()
    assert any("not well-formed XML" in s.reason for s in report.skipped)


def test_a_password_written_into_a_source_never_leaves(machine):
    source = sources_of(machine) / "pop-plain.source"
    source.write_text(
        source.read_text().replace("[Authentication]\n", f"[Authentication]\nPassword={PLANTED}\n")
    )
    report = audit(machine)
    assert "pop.isp.test" in render(report, Format.JSON)
    assert PLANTED not in repr(report) + "".join(render(report, f) for f in Format)


def test_the_scan_changes_nothing(machine):
    before, states = tree_fingerprint(machine), file_states(machine)
    assert len(audit(machine).accounts) == 3
    assert tree_fingerprint(machine) == before and file_states(machine) == states


def test_local_mail_without_a_pop3_account_is_a_local_mailbox(machine):
    for name in ("pop-keep.source", "pop-plain.source"):
        (sources_of(machine) / name).unlink()
    report = audit(machine)
    (box,) = report.local_mailboxes
    assert (box.client, box.name, box.store.bytes) == (
        Client.EVOLUTION,
        "On This Computer",
        local_mail_bytes(),
    )


def test_the_plan_names_evolution_and_the_migrate_command(machine):
    # An address at a known provider, so that the offline plan knows where IMAP is.
    identity = sources_of(machine) / "pop-plain-identity.source"
    identity.write_text(identity.read_text().replace("evelyn@isp.test", "evelyn@gmx.de"))
    source = sources_of(machine) / "pop-plain.source"
    source.write_text(source.read_text().replace("pop.isp.test", "pop.gmx.net"))
    account = by_name(audit(machine))["Old ISP"]
    assert account.recommendation is not None
    assert account.recommendation["action"] == "switch-to-imap"
    steps = " ".join(account.recommendation["steps"])
    assert "In Evolution, open each folder under On This Computer" in steps
    command = f"mailaudit migrate --account {account.id} --root {machine} --to imaps://"
    assert command + "evelyn.e@imap.gmx.net:993" in steps


@given(st.text(max_size=300))
def test_any_text_is_a_key_file_or_refused_cleanly(text):
    try:
        groups = parse_key_file(text)
    except NotAKeyFile:
        return
    assert all(isinstance(v, str) for group in groups.values() for v in group.values())


@given(st.binary(max_size=300))
def test_any_bytes_as_gconf_xml(data):
    try:
        accounts = gconf_accounts(data)
    except ValueError:
        return
    assert all(a.tag for a in accounts)
