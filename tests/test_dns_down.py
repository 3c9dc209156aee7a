"""When DNS does not answer: a real dnsmasq whose upstream never answers, or answers REFUSED or
SERVFAIL, and a network namespace with no DNS at all. "Could not check" must never read as
"not offered", the run must end in about one timeout, and the POP3 accounts stay in the plan.

The figures themselves are measured by bench/bench_dns.py; the bounds asserted here are loose
enough for a loaded machine and still far below what asking one question after another costs
(the sample machine took 11 timeouts that way).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import pytest
from typer.testing import CliRunner

from mailaudit.audit import AuditOptions, network_notes, run_audit
from mailaudit.cli import EXIT_OK, app
from mailaudit.discover import Findings
from mailaudit.model import DnsAnswer, ProbeError, ProbeResult, ProbeStatus, Protocol, Target
from mailaudit.probe.runner import ProbeOptions
from mailaudit.report import Format, render

from .conftest import SAMPLE

TIMEOUT = 2.0


class Upstream:
    """A UDP name server for dnsmasq to forward to: silent (reads and never answers, as a
    firewall that drops DNS), or answering every question with one error code. Hand-made:
    no real name server can be told to fail like this."""

    def __init__(self, rcode: int | None) -> None:
        self.rcode = rcode
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, peer = self.socket.recvfrom(4096)
            except OSError:
                continue
            if self.rcode is None:
                continue  # dropped
            try:
                reply = dns.message.make_response(dns.message.from_wire(data))
            except dns.exception.DNSException:
                continue
            reply.set_rcode(self.rcode)
            self.socket.sendto(reply.to_wire(), peer)

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.socket.close()


@pytest.fixture(scope="module")
def dead_dns() -> Iterator[int]:
    """A real dnsmasq that forwards every name to a silent upstream, except refused.test and
    servfail.test, whose upstreams answer REFUSED and SERVFAIL. Yields its port."""
    import labservers

    if shutil.which("dnsmasq") is None:
        message = "needs dnsmasq: apt-get install dnsmasq-base"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    upstreams = [Upstream(None), Upstream(dns.rcode.REFUSED), Upstream(dns.rcode.SERVFAIL)]
    silent, refused, servfail = upstreams
    folder = Path(tempfile.mkdtemp(prefix="mailaudit-deaddns-"))
    server = labservers.Dnsmasq(
        folder,
        [
            f"server=127.0.0.1#{silent.port}",
            f"server=/refused.test/127.0.0.1#{refused.port}",
            f"server=/servfail.test/127.0.0.1#{servfail.port}",
        ],
        zones=(),
    ).start()
    try:
        yield server.port
    finally:
        server.stop()
        for upstream in upstreams:
            upstream.stop()
        shutil.rmtree(folder, ignore_errors=True)


def lookup(port: int, *entries: str) -> tuple[list[dict], float]:
    started = time.monotonic()
    result = CliRunner().invoke(app, [
        "lookup", *entries, "--format", "json", "--timeout", str(TIMEOUT),
        "--dns-server", f"127.0.0.1:{port}",
    ])  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.exit_code == EXIT_OK, result.output
    return json.loads(result.stdout)["lookups"], elapsed


def test_lookup_with_a_silent_upstream_is_unknown_and_ends_in_about_one_timeout(dead_dns):
    (entry,), elapsed = lookup(dead_dns, "anna@slow.test")
    assert entry["imap"] == "unknown", entry
    assert "did not answer" in entry["reason"]
    assert {a["status"] for a in entry["dns"]} == {"timeout"}
    assert elapsed < 2 * TIMEOUT + 1.5, f"{elapsed:.1f} s"  # one question after another: 8x


def test_a_known_provider_falls_back_to_provider_data_and_says_so(dead_dns):
    (entry,), _ = lookup(dead_dns, "kanzlei@gmx.de")
    assert entry["imap"] == "unknown" and entry["provider"] == "GMX"
    assert (entry["best"]["host"], entry["best"]["port"]) == ("imap.gmx.net", 993)
    assert "from provider data, not checked" in entry["reason"]


@pytest.mark.parametrize("domain", ["refused.test", "servfail.test"])
def test_a_refusing_or_failing_upstream_is_unknown_not_not_offered(dead_dns, domain):
    (entry,), _ = lookup(dead_dns, f"anna@{domain}")
    assert entry["imap"] == "unknown", entry
    assert {a["status"] for a in entry["dns"]} == {"servfail"}
    # Not checked, so neither "answers" nor "no": unknown, with the reason.
    assert all(c["reachable"] is None and c["message"] for c in entry["candidates"])
    assert {a["status"] for a in entry["autoconfig"]} == {"error"}


@pytest.fixture(scope="module")
def dead_scan(dead_dns):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    options = ProbeOptions(timeout=TIMEOUT, dns_server=("127.0.0.1", dead_dns))
    report = run_audit(AuditOptions(root=SAMPLE, probe=options))
    return report, time.monotonic() - started


def test_online_scan_with_dead_dns_ends_in_about_one_timeout(dead_scan):
    _, elapsed = dead_scan
    assert elapsed < 3 * TIMEOUT, f"{elapsed:.1f} s"  # one after another: 11x on the sample


def test_online_scan_with_dead_dns_says_so_once_and_still_moves_every_pop3_account(dead_scan):
    report, _ = dead_scan
    assert [n.kind for n in report.notes] == ["dns-down"]
    pop3 = [a for a in report.accounts if a.protocol is Protocol.POP3]
    assert len(pop3) == 10
    for account in pop3:
        assert account.discovery.imap == "unknown", account.name
        assert account.recommendation["action"] in ("switch-to-imap", "find-imap"), account.name
    # No finding per endpoint: the note says it once.
    assert not [f for a in report.accounts for f in a.findings if f.rule == "MA009"]
    # The office server has no provider data: still in the plan, cleartext fixed first.
    office = next(a for a in pop3 if a.name == "Büro (POP)")
    assert office.recommendation["action"] == "find-imap"
    assert "SSL/TLS on port 995" in office.recommendation["steps"][0]


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_shows_the_note_first(dead_scan, fmt):
    report, _ = dead_scan
    text = render(report, fmt)
    assert text.count("No DNS answers") == (len(report.accounts) if fmt is Format.CSV else 1)
    if fmt is Format.JSON:
        assert json.loads(text)["notes"][0]["kind"] == "dns-down"
    elif fmt is not Format.CSV:
        before = text[: text.index("No DNS answers")]
        assert "anna.weber@gmx.de" not in before  # ahead of every account
    if fmt is Format.TABLE:  # the servers are summed up, not listed one by one
        probed = sum(len(a.probes) for a in report.accounts)
        assert f"{probed} probe(s) could not reach their server (see the note)" in text
    plans = {Format.TABLE: "Plan:", Format.MARKDOWN: "## Plan", Format.HTML: "<h2>Plan</h2>"}
    if fmt in plans:
        shown = text[text.index(plans[fmt]) :]
        if fmt is Format.HTML:  # as read: long tokens carry break opportunities
            shown = html.unescape(re.sub(r"<[^>]+>", "", shown))
        for name in ("Büro (POP)", "Frank Ott (Büro)", "anna.weber@gmx.de", "Atelier Mia"):
            assert name in shown, name


def test_a_namespace_without_dns_gives_the_one_note(tmp_path):
    """The system's resolver, in a network namespace with nothing but loopback: every question
    fails at once. unshare keeps the query from ever leaving this machine."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("needs unshare and root for a network namespace")
        pytest.skip("needs unshare and root for a network namespace")
    out = tmp_path / "report.json"
    started = time.monotonic()
    subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "mailaudit", "scan", "--root", str(SAMPLE),
         "--timeout", str(TIMEOUT), "--format", "json", "--output", str(out)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    report = json.loads(out.read_text())
    assert [n["kind"] for n in report["notes"]] == ["dns-down"]
    assert all(
        a["discovery"]["imap"] == "unknown" for a in report["accounts"] if a["protocol"] == "pop3"
    )
    assert elapsed < 3 * TIMEOUT + 3, f"{elapsed:.1f} s"  # + the interpreter's start


SYSTEM_RESOLVER_DROPPED = """
set -e
ip link set lo up
printf 'nameserver 127.0.0.1\\noptions timeout:5 attempts:2\\n' > "$FOLDER/resolv.conf"
mount --bind "$FOLDER/resolv.conf" /etc/resolv.conf
"$PYTHON" -c '
import socket, time
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 53))
tcp = socket.socket(); tcp.bind(("127.0.0.1", 53)); tcp.listen(8)
open("'"$FOLDER"'/ready", "w").close()
time.sleep(120)' &
while [ ! -e "$FOLDER/ready" ]; do sleep 0.05; done
"$PYTHON" -m mailaudit lookup slow.test kanzlei@gmx.de --format json --timeout 1 \\
    --output "$FOLDER/lookup.json"
kill $!
"""


def test_the_system_resolver_with_dropped_dns_ends_on_time(tmp_path):
    """Without --dns-server: the C library's getaddrinfo blocks for resolv.conf's 5 s x 2
    attempts when packets are dropped. The run must not wait for it. A private network and
    mount namespace give this run a resolv.conf naming a silent server on its own loopback."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("needs unshare and root for network and mount namespaces")
        pytest.skip("needs unshare and root for network and mount namespaces")
    started = time.monotonic()
    subprocess.run(
        ["unshare", "-n", "-m", "sh", "-c", SYSTEM_RESOLVER_DROPPED],
        env={**os.environ, "FOLDER": str(tmp_path), "PYTHON": sys.executable},
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    slow, gmx = json.loads((tmp_path / "lookup.json").read_text())["lookups"]
    assert slow["imap"] == gmx["imap"] == "unknown"
    assert gmx["best"]["host"] == "imap.gmx.net"
    assert elapsed < 8, f"{elapsed:.1f} s"  # waiting for getaddrinfo: 10 s and more


def _failed(host: str, error: ProbeError) -> tuple[Target, ProbeResult]:
    target = Target(host, 993, "imap", True)
    return target, ProbeResult(host, 993, "imap", True, ProbeStatus.ERROR, error=error)


def test_the_note_needs_every_question_unanswered():
    dead = Findings([DnsAnswer("a.example", "MX", "timeout")], [], [], False, False)
    alive = Findings([DnsAnswer("a.example", "MX", "nxdomain")], [], [], False, True)
    dns_failed = dict([_failed("a", ProbeError.DNS), _failed("b", ProbeError.DNS)])
    assert [n.kind for n in network_notes({"a.example": dead}, dns_failed)] == ["dns-down"]
    assert [n.kind for n in network_notes({}, dns_failed)] == ["dns-down"]  # IMAP accounts only
    assert network_notes({"a.example": alive}, dns_failed) == ()  # DNS answered something
    one_answered = {**dns_failed, **dict([_failed("c", ProbeError.REFUSED)])}
    assert network_notes({"a.example": dead}, one_answered) == ()
    assert network_notes({}, {}) == ()  # nothing was asked


def test_no_route_anywhere_is_the_network_note():
    cut_off = dict([_failed("a", ProbeError.UNREACHABLE), _failed("b", ProbeError.NO_SUCH_HOST)])
    alive = Findings([DnsAnswer("a.example", "MX", "ok", ("10 mx.a.example",))], [], [], False)
    assert [n.kind for n in network_notes({"a.example": alive}, cut_off)] == ["network-down"]
    reached = {**cut_off, **dict([_failed("c", ProbeError.TIMEOUT)])}
    assert network_notes({"a.example": alive}, reached) == ()
