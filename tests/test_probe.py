"""Probes against real Dovecot (through the suite's dnsmasq) and against hostile servers."""

from __future__ import annotations

import json
import socket
import time
import tracemalloc

import pytest
from typer.testing import CliRunner

from mailaudit.cli import EXIT_OK, EXIT_USAGE, app
from mailaudit.model import ProbeError, ProbeStatus, Target
from mailaudit.probe.pop3 import Credentials
from mailaudit.probe.runner import run_probes
from mailaudit.probe.targets import probe_targets, split_host_port
from mailaudit.report import ResultsFormat, probe_report

from . import hostile
from .conftest import lab_options, pop_and_imap, write_profile

NAME = "mail.example.test"


def probe(lab, target: Target, **changes):
    return run_probes([target], lab_options(lab, **changes))[target]


def test_imaps_good_certificate(lab):
    result = probe(lab, Target(NAME, lab["good"].ports["imaps"], "imap", True))
    assert (result.status, result.protocol, result.product) == (
        ProbeStatus.COMPLETED,
        "imap",
        "Dovecot",
    )
    assert result.greeting.startswith("* OK [CAPABILITY IMAP4rev1")
    assert result.capabilities_before_tls is None
    assert "AUTH=PLAIN" in result.capabilities_after_tls
    assert result.sasl == ("PLAIN", "LOGIN") and result.idle is True and result.imap4rev2 is False
    tls = result.tls
    assert tls.verified and tls.verify_error is None and tls.version in ("TLSv1.3", "TLSv1.2")
    assert tls.certificate.names == (
        "mail.example.test",
        "imap.example.test",
        "pop.example.test",
        "strict.example.test",
    )
    assert tls.certificate.issuer == "CN=Test Mail CA" and 820 <= tls.certificate.days_left <= 825


def test_every_address_is_tried(lab):
    result = probe(lab, Target(NAME, lab["good"].ports["imaps"], "imap", True))
    # mail.example.test has ::1 and 127.0.0.1; Dovecot listens on 127.0.0.1 only.
    assert result.address == "127.0.0.1"


def test_imap_starttls_reads_capabilities_again(lab):
    result = probe(lab, Target(NAME, lab["good"].ports["imap"], "imap", False))
    assert "STARTTLS" in result.capabilities_before_tls
    assert "STARTTLS" not in result.capabilities_after_tls
    assert (result.starttls_offered, result.starttls_enforced) == (True, False)
    assert result.tls.verified


def test_starttls_enforced_by_a_remote_looking_server(lab):
    imap = probe(lab, Target("strict.example.test", lab["strict"].ports["imap"], "imap", False))
    assert "LOGINDISABLED" in imap.capabilities_before_tls
    assert (imap.starttls_offered, imap.starttls_enforced) == (True, True)
    assert "AUTH=PLAIN" in imap.capabilities_after_tls
    pop = probe(lab, Target("strict.example.test", lab["strict"].ports["pop3"], "pop3", False))
    assert "USER" not in pop.capabilities_before_tls and "SASL" in pop.capabilities_before_tls
    assert (pop.starttls_offered, pop.starttls_enforced) == (True, True)
    assert pop.sasl == ("PLAIN", "LOGIN") and pop.uidl and pop.top


def test_pop3_on_both_ports(lab):
    tls = probe(lab, Target(NAME, lab["good"].ports["pop3s"], "pop3", True))
    stls = probe(lab, Target(NAME, lab["good"].ports["pop3"], "pop3", False))
    assert tls.greeting == stls.greeting == "+OK Dovecot (Debian) ready."
    assert tls.tls.verified and stls.tls.verified
    assert "STLS" in stls.capabilities_before_tls and "STLS" not in stls.capabilities_after_tls


@pytest.mark.parametrize(
    ("server", "reason"),
    [("wrongname", "name mismatch"), ("expired", "expired"), ("selfsigned", "self-signed")],
)
@pytest.mark.parametrize("port", ["imaps", "imap", "pop3s", "pop3"])
def test_bad_certificates_are_named_and_capabilities_still_read(lab, server, reason, port):
    result = probe(lab, Target(NAME, lab[server].ports[port], None, port.endswith("s")))
    assert result.status is ProbeStatus.COMPLETED
    assert (result.tls.verified, result.tls.verify_error) == (False, reason)
    assert result.tls.verify_detail
    assert result.capabilities_after_tls  # read over the unverified second connection


def test_expired_certificate_days_left_is_negative(lab):
    result = probe(lab, Target(NAME, lab["expired"].ports["imaps"], "imap", True))
    assert result.tls.certificate.not_after.startswith("2020-01-02")
    assert result.tls.certificate.days_left < -2000


def test_pop_only_server_refuses_imap(lab):
    results = run_probes(
        [
            Target("pop.poponly.test", lab["poponly"].ports["imaps"], "imap", True),
            Target("pop.poponly.test", lab["poponly"].ports["pop3s"], "pop3", True),
        ],
        lab_options(lab),
    )
    imap, pop = results.values()
    assert (imap.status, imap.error) == (ProbeStatus.ERROR, ProbeError.REFUSED)
    assert pop.status is ProbeStatus.COMPLETED


def test_unknown_name_is_no_such_host(lab):
    """DNS answered NXDOMAIN: evidence about the name, not a DNS failure."""
    result = probe(lab, Target("nothing.nomail.test", 993, "imap", True))
    assert (result.status, result.error) == (ProbeStatus.ERROR, ProbeError.NO_SUCH_HOST)
    assert "does not exist" in result.message


def test_a_silent_dns_server_is_a_dns_error(lab):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never read
    silent.bind(("127.0.0.1", 0))
    try:
        options = lab_options(lab, dns_server=("127.0.0.1", silent.getsockname()[1]), timeout=0.5)
        result = run_probes([Target("mail.example.test", 993, "imap", True)], options)
    finally:
        silent.close()
    (found,) = result.values()
    assert (found.status, found.error) == (ProbeStatus.ERROR, ProbeError.DNS)
    assert "did not answer" in found.message


def test_expected_protocol_mismatch_is_noted(lab):
    result = probe(lab, Target(NAME, lab["good"].ports["imaps"], "pop3", True))
    assert result.protocol == "imap"
    assert "expected POP3, the server speaks IMAP" in result.message


# ---------------------------------------------------------------- logging in to count mail


@pytest.fixture(scope="module")
def mail_for_bob(lab):
    for n in range(3):
        lab["good"].deliver(
            "bob", f"From: x@example.test\r\nSubject: {n}\r\n\r\nhello {n}\r\n".encode()
        )
    return 3


def test_login_counts_mail_left_on_the_server(lab, mail_for_bob):
    target = Target(NAME, lab["good"].ports["pop3s"], "pop3", True)
    result = probe(lab, target, credentials={target: Credentials("bob", "bob-secret")})
    assert result.mailbox.messages == mail_for_bob == result.mailbox.uidl_count
    assert result.mailbox.bytes > 0
    for fmt in ResultsFormat:
        assert "bob-secret" not in probe_report.render([result], fmt)


def test_login_after_stls_and_never_over_plaintext(lab, mail_for_bob):
    upgraded = Target(NAME, lab["good"].ports["pop3"], "pop3", False)
    plain = Target(NAME, lab["good"].ports["pop3"], "pop3", False, try_starttls=False)
    secret = Credentials("bob", "bob-secret")
    results = run_probes(
        [upgraded, plain], lab_options(lab, credentials={upgraded: secret, plain: secret})
    )
    assert results[upgraded].mailbox.messages == mail_for_bob
    assert results[plain].mailbox is None
    assert "not logged in: the connection is not encrypted" in results[plain].message


def test_no_login_to_a_server_whose_certificate_failed(lab):
    target = Target(NAME, lab["wrongname"].ports["pop3s"], "pop3", True)
    secret = {target: Credentials("bob", "bob-secret")}
    refused = probe(lab, target, credentials=secret)
    assert refused.mailbox is None and "certificate failed verification" in refused.message
    allowed = probe(lab, target, credentials=secret, insecure_login=True)
    assert allowed.mailbox is not None


def test_wrong_password_is_a_login_error(lab):
    target = Target(NAME, lab["good"].ports["pop3s"], "pop3", True)
    # Dovecot answers a wrong password after a 2 s delay (auth_failure_delay).
    result = probe(lab, target, credentials={target: Credentials("bob", "wrong")}, timeout=5)
    assert (result.status, result.error) == (ProbeStatus.ERROR, ProbeError.LOGIN)
    assert result.capabilities_after_tls  # what was learned before is kept


# ---------------------------------------------------------------- hostile servers

HOSTILE = {
    "silent": (hostile.silent, False, ProbeError.TIMEOUT),
    "endless_line": (hostile.endless_line, False, ProbeError.TOO_LARGE),
    "huge_capability": (hostile.huge_capability, False, ProbeError.TOO_LARGE),
    "one_byte_a_second": (hostile.one_byte_a_second, False, ProbeError.TIMEOUT),
    "garbage_tls": (hostile.garbage, True, ProbeError.TLS),
    "http_tls": (hostile.http, True, ProbeError.TLS),
    "http_plain": (hostile.http, False, ProbeError.TIMEOUT),  # HTTP waits for a request
    "hang_up": (hostile.hang_up_after_greeting, False, ProbeError.CLOSED),
    "starttls_plaintext": (hostile.starttls_then_plaintext, False, ProbeError.TLS),
}


def test_hostile_servers_end_within_their_bounds(lab):
    handlers = {name: handler for name, (handler, _, _) in HOSTILE.items()}
    with hostile.serving(handlers) as ports:
        targets = {
            name: Target("127.0.0.1", ports[name], None, implicit)
            for name, (_, implicit, _) in HOSTILE.items()
        }
        good = Target(NAME, lab["good"].ports["imaps"], "imap", True)
        tracemalloc.start()
        started = time.monotonic()
        results = run_probes([*targets.values(), good], lab_options(lab, timeout=1.0))
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    for name, target in targets.items():
        result = results[target]
        assert (result.status, result.error) == (ProbeStatus.ERROR, HOSTILE[name][2]), (
            name,
            result,
        )
        assert result.elapsed_ms <= 3000 + 500, (name, result.elapsed_ms)  # the 3 s deadline
    assert results[good].status is ProbeStatus.COMPLETED  # unaffected by the others
    assert elapsed < 3.5  # all at once, not one after another
    assert peak < 8 * 1024 * 1024  # a 10 MB line was offered; at most the 1 MB budget is kept


def test_odd_capability_formatting(lab):
    with hostile.serving({"odd": hostile.odd_capabilities}) as ports:
        result = probe(lab, Target("127.0.0.1", ports["odd"], None, False))
    assert result.status is ProbeStatus.COMPLETED, result
    assert result.greeting.endswith("serveur ✉ prêt")
    assert result.capabilities_before_tls == (
        "IMAP4REV1",
        "IDLE",
        "AUTH=PLAIN",
        "AUTH=XOAUTH2",
        "IMAP4REV2",
        "MA1",
    )
    assert result.sasl == ("PLAIN", "XOAUTH2") and result.idle and result.imap4rev2
    assert result.starttls_offered is False


def test_pop3_server_without_capa_and_an_imap_server_saying_bye(lab):
    handlers = {"old": hostile.pop3_without_capa, "bye": hostile.imap_bye}
    with hostile.serving(handlers) as ports:
        old_target = Target("127.0.0.1", ports["old"], None, False)
        bye_target = Target("127.0.0.1", ports["bye"], None, False)
        results = run_probes([old_target, bye_target], lab_options(lab))
    old, bye = results[old_target], results[bye_target]
    assert (old.status, old.protocol, old.capabilities_before_tls) == (
        ProbeStatus.COMPLETED,
        "pop3",
        None,
    )
    assert (old.starttls_offered, old.starttls_enforced) == (False, None)  # STLS tried and refused
    assert (bye.status, bye.error) == (ProbeStatus.ERROR, ProbeError.PROTOCOL)
    assert "Too many connections" in bye.message


# ---------------------------------------------------------------- the command line


def test_probe_command_without_port_tries_the_four_ports():
    assert [(t.port, t.protocol, t.implicit_tls) for t in probe_targets("h", "auto", "auto")] == [
        (993, "imap", True),
        (143, "imap", False),
        (995, "pop3", True),
        (110, "pop3", False),
    ]
    assert [t.port for t in probe_targets("h", "pop3", "tls")] == [995]
    assert probe_targets("h:2110", "auto", "none")[0].try_starttls is False
    assert split_host_port("[::1]:993", None) == ("::1", 993)


def test_probe_command_json(lab):
    result = CliRunner().invoke(
        app,
        [
            "probe",
            f"{NAME}:{lab['good'].ports['imaps']}",
            f"strict.example.test:{lab['strict'].ports['imap']}",
            "--ca-file",
            str(lab["certs"] / "ca.crt"),
            "--dns-server",
            f"127.0.0.1:{lab['dns'].port}",
            "--format",
            "json",
            "--timeout",
            "2",
            "-q",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    probes = json.loads(result.stdout)["probes"]
    assert [p["status"] for p in probes] == ["completed", "completed"]
    assert probes[0]["tls"]["verified"] is True
    # Transport security in one field: TLS from the first byte; STARTTLS that the strict
    # server enforces (no login before the upgrade).
    assert [p["transport"] for p in probes] == ["tls", "starttls-enforced"]


def test_probe_json_transport_of_optional_starttls_and_of_nothing(lab):
    from labservers import free_port

    result = CliRunner().invoke(app, [
        "probe", f"{NAME}:{lab['good'].ports['imap']}", f"{NAME}:{lab['good'].ports['pop3']}",
        f"{NAME}:{free_port()}", "--ca-file", str(lab["certs"] / "ca.crt"),
        "--dns-server", f"127.0.0.1:{lab['dns'].port}", "--format", "json", "--timeout", "2",
        "-q",
    ])  # fmt: skip
    probes = json.loads(result.stdout)["probes"]
    assert [p["transport"] for p in probes] == ["starttls-optional", "starttls-optional", None]


def test_odd_port_tries_tls_then_plaintext(lab):
    found = CliRunner().invoke(
        app,
        [
            "probe",
            f"{NAME}:{lab['good'].ports['imaps']}",
            f"{NAME}:{lab['good'].ports['pop3']}",
            "--ca-file",
            str(lab["certs"] / "ca.crt"),
            "--dns-server",
            f"127.0.0.1:{lab['dns'].port}",
            "--format",
            "json",
            "-q",
        ],
    )
    imaps, pop3 = json.loads(found.stdout)["probes"]
    assert (imaps["implicit_tls"], imaps["protocol"], imaps["message"]) == (True, "imap", None)
    assert (pop3["implicit_tls"], pop3["protocol"], pop3["starttls_offered"]) == (
        False,
        "pop3",
        True,
    )
    assert "probed in plaintext" in pop3["message"]


def test_probe_command_table_and_bad_port():
    assert CliRunner().invoke(app, ["probe", "host:99999"]).exit_code == EXIT_USAGE


def test_probe_command_login_from_environment(lab, mail_for_bob, monkeypatch):
    monkeypatch.setenv("POP_PASSWORD", "bob-secret")
    result = CliRunner().invoke(
        app,
        [
            "probe",
            f"{NAME}:{lab['good'].ports['pop3s']}",
            "--login",
            "--user",
            "bob",
            "--password-env",
            "POP_PASSWORD",
            "--ca-file",
            str(lab["certs"] / "ca.crt"),
            "--dns-server",
            f"127.0.0.1:{lab['dns'].port}",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "3 message(s) left on the server" in result.stdout
    assert "bob-secret" not in result.output


def test_scan_probes_each_account_and_the_pop_hosts_imap_ports(lab, tmp_path):

    prefs = {
        "mail.accountmanager.accounts": "account1",
        "mail.account.account1.server": "server1",
        "mail.server.server1.type": "pop3",
        "mail.server.server1.hostname": NAME,
        "mail.server.server1.port": lab["good"].ports["pop3s"],
        "mail.server.server1.socketType": 3,
        "mail.server.server1.userName": "bob",
        "mail.server.server1.name": "POP at the lab",
    }
    write_profile(tmp_path / "home" / "pat", prefs)
    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--root",
            str(tmp_path),
            "--format",
            "json",
            "--timeout",
            "2",
            "--ca-file",
            str(lab["certs"] / "ca.crt"),
            "--dns-server",
            f"127.0.0.1:{lab['dns'].port}",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "server endpoint(s)" in result.stderr  # progress on stderr
    account = json.loads(result.stdout)["accounts"][0]
    probes = account["probes"]
    assert [p["port"] for p in probes] == [lab["good"].ports["pop3s"]]  # the configured server
    assert probes[0]["status"] == "completed" and probes[0]["tls"]["verified"] is True
    # the same host's IMAP ports are among the discovery's guesses, probed too
    guesses = {(c["host"], c["port"]) for c in account["discovery"]["candidates"]}
    assert {(NAME, 993), (NAME, 143)} <= guesses


def test_offline_scan_lists_probes_as_skipped(tmp_path):

    write_profile(tmp_path / "home" / "pat", pop_and_imap())
    result = CliRunner().invoke(
        app, ["scan", "--root", str(tmp_path), "--offline", "--format", "json"]
    )
    accounts = json.loads(result.stdout)["accounts"]
    assert [len(a["probes"]) for a in accounts] == [1, 1]
    assert {p["status"] for a in accounts for p in a["probes"]} == {"skipped"}


def test_scan_login_counts_mail_left_on_the_pop_server(lab, mail_for_bob, tmp_path, monkeypatch):

    prefs = {
        "mail.accountmanager.accounts": "account1",
        "mail.account.account1.server": "server1",
        "mail.server.server1.type": "pop3",
        "mail.server.server1.hostname": NAME,
        "mail.server.server1.port": lab["good"].ports["pop3s"],
        "mail.server.server1.socketType": 3,
        "mail.server.server1.userName": "bob",
        "mail.account.account1.identities": "id1",
        "mail.identity.id1.useremail": "bob@full.test",  # full.test's SRV names the IMAP server
    }
    write_profile(tmp_path / "home" / "bob", prefs)
    monkeypatch.setenv("BOB_PASSWORD", "bob-secret")
    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--root",
            str(tmp_path),
            "--format",
            "json",
            "--timeout",
            "2",
            "--login",
            "--password-env",
            "BOB_PASSWORD",
            "--ca-file",
            str(lab["certs"] / "ca.crt"),
            "--dns-server",
            f"127.0.0.1:{lab['dns'].port}",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    account = json.loads(result.stdout)["accounts"][0]
    assert account["probes"][0]["mailbox"]["messages"] == mail_for_bob
    assert account["recommendation"]["action"] == "switch-to-imap"
    steps = " ".join(account["recommendation"]["steps"])
    assert f"The POP3 server still holds {mail_for_bob} message(s)" in steps
    assert "bob-secret" not in result.output


def test_at_most_per_host_probes_reach_one_host_at_once(lab):
    import asyncio

    live = {"now": 0, "most": 0}

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        live["now"] += 1
        live["most"] = max(live["most"], live["now"])
        await asyncio.sleep(0.3)  # hold the connection while others try to come in
        live["now"] -= 1
        writer.close()

    with hostile.serving({f"s{n}": counting for n in range(8)}) as ports:
        targets = [Target("127.0.0.1", port, None, False) for port in ports.values()]
        run_probes(targets, lab_options(lab, per_host=3, concurrency=8))
    assert live["most"] == 3
