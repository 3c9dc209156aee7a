"""KMail: Akonadi's POP3, IMAP and maildir resource rc files (only non-default keys written)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.model import Client, Protocol, Security
from mailaudit.report import Format, render
from mailaudit.sources.kmail import parse_kconfig

from .conftest import REPO, audit, by_name, file_states, tree_fingerprint

FIXTURE = REPO / "tests" / "fixtures" / "kmail" / "root"
PLANTED = "PLANTED-kmail-secret"


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "root")
    return tmp_path / "root"


def config(root: Path) -> Path:
    return root / "home" / "karl" / ".config"


def inbox_bytes() -> int:
    local = FIXTURE / "home/karl/.local/share/local-mail"
    return sum(p.stat().st_size for p in local.rglob("*") if p.is_file())


def test_pop3_and_imap_resources():
    accounts = by_name(audit(FIXTURE))
    assert sorted(accounts) == ["POP3 Account", "Work IMAP"]
    assert {a.client for a in accounts.values()} == {Client.KMAIL}
    pop = accounts["POP3 Account"]
    assert (pop.protocol, pop.incoming.host, pop.incoming.port) == (
        Protocol.POP3,
        "pop.example.test",
        995,
    )
    assert (pop.incoming.security, pop.incoming.username) == (Security.TLS, "alice")
    assert (pop.leave_on_server, pop.leave_on_server_days) == (True, 14)
    assert pop.local_store is not None
    assert pop.local_store.path == "/home/karl/.local/share/local-mail"  # from Path[$e]=$HOME/...
    assert pop.local_store.bytes == inbox_bytes()
    imap = accounts["Work IMAP"]  # its name from akonadi/agent_config_akonadi_imap_resource_0
    assert (imap.protocol, imap.incoming.port, imap.incoming.security) == (
        Protocol.IMAP,
        143,
        Security.STARTTLS,
    )


def test_absent_keys_mean_the_kcfg_defaults(machine):
    (config(machine) / "akonadi_pop3_resource_1rc").write_text(
        "[General]\nhost=pop.plain.test\nlogin=karl\nname=Plain\n"
    )
    (config(machine) / "akonadi_imap_resource_1rc").write_text(
        "[General]\nname=Defaults IMAP\n\n[network]\nImapServer=imap.d.test\n"
    )
    accounts = by_name(audit(machine))
    plain = accounts["Plain"]
    assert (plain.incoming.port, plain.incoming.security) == (110, Security.NONE)
    assert (plain.leave_on_server, plain.leave_on_server_days) == (False, None)
    imap = accounts["Defaults IMAP"]
    assert (imap.incoming.port, imap.incoming.security) == (993, Security.TLS)


def test_damaged_rc_and_planted_password(machine):
    (config(machine) / "akonadi_pop3_resource_2rc").write_bytes(b"\xff\xfe\x00garbage\x81")
    rc = config(machine) / "akonadi_pop3_resource_0rc"
    rc.write_text(rc.read_text() + f"password={PLANTED}\n")
    before, states = tree_fingerprint(machine), file_states(machine)
    report = audit(machine)
    assert tree_fingerprint(machine) == before and file_states(machine) == states
    assert sorted(by_name(report)) == ["POP3 Account", "Work IMAP"]
    assert any("not UTF-8" in s.reason for s in report.skipped)
    assert PLANTED not in repr(report) + "".join(render(report, f) for f in Format)


def test_kconfig_expansion_and_translations():
    groups = parse_kconfig(
        "[General]\nPath[$e]=$HOME/mail\nname=Post\nname[de]=Postfach\nx=a\\sb\n", Path("/home/k")
    )
    assert groups["General"] == {"Path": "/home/k/mail", "name": "Post", "x": "a b"}


@given(st.text(max_size=300))
def test_any_text_reads_as_kconfig_without_secrets(text):
    groups = parse_kconfig(text, Path("/home/k"))
    assert not any("password" in key.lower() for keys in groups.values() for key in keys)
