"""Discovery against the suite's real dnsmasq, its HTTPS autoconfig server and Dovecot."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from typer.testing import CliRunner

from mailaudit import providers
from mailaudit.cli import EXIT_OK, app
from mailaudit.discover import (
    Question,
    autoconfig,
    candidates,
    conclude,
    investigate,
    target_of,
)
from mailaudit.discover.dns_queries import DnsQueries
from mailaudit.model import ProbeStatus
from mailaudit.probe import tls as probe_tls
from mailaudit.probe.resolve import Resolver
from mailaudit.probe.runner import run_probes

from .conftest import lab_options, write_profile


def discover_for(lab, domain: str, host: str | None = None):
    question = Question(domain, host, f"user@{domain}")
    findings = asyncio.run(investigate([question], lab_options(lab), full=True))[domain]
    known = providers.load()
    listed, provider = candidates(question, findings, known)
    probes = run_probes([target_of(c) for c in listed], lab_options(lab))
    return findings, conclude(question, findings, listed, provider, probes)


def test_full_srv_provider_offers_imap_over_tls(lab):
    findings, found = discover_for(lab, "full.test", "pop.full.test")
    kinds = {a.name: a.status for a in findings.dns}
    assert kinds["_imaps._tcp.full.test"] == kinds["_submission._tcp.full.test"] == "ok"
    assert found.imap == "offered"
    assert (found.best.host, found.best.port, found.best.security) == (
        "mail.example.test",
        lab["good"].ports["imaps"],
        "tls",
    )
    assert found.best.origin == "SRV _imaps._tcp.full.test"
    assert found.best.reachable and found.best.certificate_valid
    starttls = next(c for c in found.candidates if c.origin == "SRV _imap._tcp.full.test")
    assert starttls.reachable and found.candidates.index(starttls) == 1  # TLS ranks first


def test_pop_only_provider_declines_imap(lab):
    findings, found = discover_for(lab, "poponly.test", "pop.poponly.test")
    srv = next(a for a in findings.dns if a.name == "_imaps._tcp.poponly.test")
    assert [r.split()[-1] for r in srv.records] == ["."]  # RFC 6186: decidedly not offered
    assert found.imap == "not offered" and found.best is None
    assert all(c.origin == "guess" and not c.reachable for c in found.candidates)


def test_mx_only_and_missing_domains(lab):
    queries = DnsQueries(("127.0.0.1", lab["dns"].port), 1.0)

    async def ask():
        return await asyncio.gather(
            queries.query("mxonly.test", "MX"), queries.query("_imaps._tcp.mxonly.test", "SRV"),
            queries.query("nothing.nomail.test", "MX"))  # fmt: skip

    mx, srv, missing = asyncio.run(ask())
    assert (mx.status, mx.records) == ("ok", ("10 mx.mxonly.test",))
    assert srv.status in ("nxdomain", "no-answer")
    assert missing.status == "nxdomain"


def test_a_dns_server_that_never_answers_is_a_timeout():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never read
    silent.bind(("127.0.0.1", 0))
    try:
        queries = DnsQueries(("127.0.0.1", silent.getsockname()[1]), 0.3)
        answer = asyncio.run(queries.query("example.test", "MX"))
    finally:
        silent.close()
    assert answer.status == "timeout"


def _autoconfig(lab, domain):
    resolver = Resolver(("127.0.0.1", lab["dns"].port), 2)
    context = probe_tls.verifying_context(lab["certs"] / "ca.crt")
    return asyncio.run(autoconfig.fetch_autoconfig(domain, f"u@{domain}", resolver, context, 2))


def test_autoconfig_over_https(lab, web):
    results = _autoconfig(lab, "ac.test")
    assert [r.status for r in results] == ["ok"]
    imap, pop = results[0].servers
    assert (imap.protocol, imap.host, imap.port, imap.security) == (
        "imap",
        "mail.example.test",
        lab["good"].ports["imaps"],
        "tls",
    )
    assert (pop.host, pop.authentication) == ("pop.ac.test", ("password-cleartext",))


def test_autoconfig_follows_a_redirect(lab, web):
    assert _autoconfig(lab, "redirect.test")[0].status == "ok"


@pytest.mark.parametrize(("domain", "phrase"), [
    ("loop", "more than 3 redirects"),
    ("huge", "over the 262144 byte limit"),
    ("bomb", "document type declarations are not accepted"),
    ("notxml", "the root element is <html>"),
])  # fmt: skip
def test_broken_autoconfig_is_bounded_and_reported(lab, web, domain, phrase):
    results = _autoconfig(lab, f"{domain}.test")
    first = results[0]
    assert first.status == "error" and phrase in first.message, first
    assert all(r.status != "ok" for r in results)


def test_autoconfig_candidate_is_probed(lab, web):
    _, found = discover_for(lab, "ac.test")
    assert found.best is not None and found.best.origin == "autoconfig"
    assert found.imap == "offered"


def test_provider_knowledge_by_address_host_and_mx():
    known = providers.load()
    assert providers.identify(known, "gmx.de", None, [])[0].key == "gmx"
    assert providers.identify(known, None, "pop.gmx.net", [])[1] == "server name pop.gmx.net"
    found = providers.identify(
        known, "firma.example", None, ["firma-example.mail.protection.outlook.com"]
    )
    assert found[0].key == "microsoft365" and found[0].auth == "oauth2"
    assert providers.identify(known, "firma.example", "mail.firma.example", []) is None
    overridden = providers.load({"gmx": {"imap": "imap.gmx.example:993"}})
    assert next(p for p in overridden if p.key == "gmx").imap == ("imap.gmx.example", 993)


def test_scan_finds_the_imap_twin_of_a_pop_account(lab, tmp_path):
    """End to end: a POP account at full.test; SRV names the IMAP server; the probe confirms."""
    prefs = {
        "mail.accountmanager.accounts": "account1",
        "mail.account.account1.server": "server1",
        "mail.account.account1.identities": "id1",
        "mail.identity.id1.useremail": "anna@full.test",
        "mail.server.server1.type": "pop3",
        "mail.server.server1.hostname": "mail.example.test",
        "mail.server.server1.port": lab["good"].ports["pop3s"],
        "mail.server.server1.socketType": 3,
        "mail.server.server1.userName": "anna",
    }
    write_profile(tmp_path / "home" / "anna", prefs)
    result = CliRunner().invoke(app, [
        "scan", "--root", str(tmp_path), "--format", "json", "--timeout", "2",
        "--ca-file", str(lab["certs"] / "ca.crt"), "--dns-server", f"127.0.0.1:{lab['dns'].port}",
    ])  # fmt: skip
    assert result.exit_code == EXIT_OK, result.output
    document = json.loads(result.stdout)
    account = document["accounts"][0]
    assert account["probes"][0]["status"] == "completed"
    # The report says how it was made: online, through which DNS server, within which time.
    assert document["run"]["options"] == {
        "offline": False,
        "timeout": 2.0,
        "concurrency": 32,
        "dns_server": f"127.0.0.1:{lab['dns'].port}",
    }
    assert document["run"]["started_at"] <= document["run"]["finished_at"]
    discovery = account["discovery"]
    assert discovery["imap"] == "offered"
    assert discovery["best"]["origin"] == "SRV _imaps._tcp.full.test"
    assert discovery["best"]["port"] == lab["good"].ports["imaps"]


def test_offline_scan_uses_provider_knowledge(tmp_path):
    prefs = {
        "mail.accountmanager.accounts": "account1",
        "mail.account.account1.server": "server1",
        "mail.account.account1.identities": "id1",
        "mail.identity.id1.useremail": "anna@gmx.de",
        "mail.server.server1.type": "pop3",
        "mail.server.server1.hostname": "pop.gmx.net",
        "mail.server.server1.socketType": 3,
    }
    write_profile(tmp_path / "home" / "anna", prefs)
    result = CliRunner().invoke(
        app, ["scan", "--root", str(tmp_path), "--offline", "--format", "json"]
    )
    discovery = json.loads(result.stdout)["accounts"][0]["discovery"]
    assert discovery["imap"] == "known" and discovery["provider"] == "GMX"
    assert (discovery["best"]["host"], discovery["best"]["port"]) == ("imap.gmx.net", 993)
    assert discovery["dns"] == [] and discovery["best"]["reachable"] is None


def test_lookup_command(lab):
    result = CliRunner().invoke(app, [
        "lookup", "anna@full.test", "--format", "json", "--timeout", "2",
        "--ca-file", str(lab["certs"] / "ca.crt"), "--dns-server", f"127.0.0.1:{lab['dns'].port}",
    ])  # fmt: skip
    assert result.exit_code == EXIT_OK, result.output
    entry = json.loads(result.stdout)["lookups"][0]
    assert entry["domain"] == "full.test" and entry["imap"] == "offered"
    assert {a["name"] for a in entry["dns"]} >= {"full.test", "_imaps._tcp.full.test"}
    assert ProbeStatus.COMPLETED.value == "completed"


def test_lookup_command_table_offline():
    result = CliRunner().invoke(app, ["lookup", "kanzlei@gmx.de", "--offline"])
    assert result.exit_code == EXIT_OK, result.output
    assert "GMX" in result.stdout and "imap.gmx.net:993" in result.stdout


def test_every_candidate_missing_while_dns_answers_is_not_offered(lab):
    """Positive evidence: the domain answers in DNS, and no candidate name exists."""
    _, found = discover_for(lab, "mxonly.test")
    assert found.imap == "not offered", found
    assert "every candidate refused the connection or does not exist" in found.reason
    assert found.best is None


def test_a_candidate_that_times_out_leaves_it_unknown(lab):
    """A configured host whose name does not answer is not evidence: the verdict is unknown."""
    question = Question("mxonly.test", "silent.example.test", "user@mxonly.test")
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never read
    silent.bind(("127.0.0.1", 0))
    try:
        findings = asyncio.run(investigate([question], lab_options(lab)))["mxonly.test"]
        listed, provider = candidates(question, findings, providers.load())
        dead = lab_options(lab, dns_server=("127.0.0.1", silent.getsockname()[1]), timeout=0.5)
        probes = run_probes([target_of(c) for c in listed], dead)
    finally:
        silent.close()
    found = conclude(question, findings, listed, provider, probes)
    assert found.imap == "unknown" and found.reason.startswith("could not check")


def test_lookup_lists_capabilities_and_sign_in_of_each_answering_candidate(lab):
    args = ["lookup", "anna@full.test", "--timeout", "2", "--ca-file", str(lab["certs"] / "ca.crt"),
            "--dns-server", f"127.0.0.1:{lab['dns'].port}"]  # fmt: skip
    entry = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)["lookups"][0]
    best = entry["best"]
    assert best["transport"] == "tls" and "IMAP4REV1" in best["capabilities"]
    assert "IDLE" in best["capabilities"] and "PLAIN" in best["sign_in"]
    assert best["oauth_only"] is False
    table = CliRunner().invoke(app, args).stdout
    port = lab["good"].ports["imaps"]
    assert f"mail.example.test:{port}: tls, IMAP4rev1, IDLE, sign-in PLAIN" in table
