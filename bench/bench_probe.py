"""How fast is probing, against what a script with the standard library would do?

Starts, on loopback only: 6 Dovecot instances (24 real IMAP/POP3 endpoints, STARTTLS and
implicit TLS), 20 servers that accept and never speak, a dnsmasq naming them, and picks 156
ports nothing listens on: 200 endpoints. Then, in one run and with a 3 s timeout:

1. mailaudit's probe engine over all 200 (names resolved through the dnsmasq);
2. a sequential baseline with imaplib/poplib/ssl over the same 200 (the same greeting,
   capabilities and STARTTLS work, one endpoint after another);
3. nmap's imap-capabilities/pop3-capabilities scripts over the same ports, if nmap is installed.

Prints wall times, mailaudit's peak memory, and the goals from the issue beside them. Run as
root (Dovecot): `make bench`, or `.venv/bin/python bench/bench_probe.py`.
"""

from __future__ import annotations

import argparse
import imaplib
import poplib
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))

from labservers import Dnsmasq, Dovecot, free_port, make_certs, missing_tools, stop_all

from mailaudit.model import ProbeStatus, Target
from mailaudit.probe.runner import ProbeOptions, run_probes

TIMEOUT = 3.0
SILENT = 20
REFUSED = 156
INSTANCES = 6


def silent_servers(count: int) -> list[socket.socket]:
    """Listening sockets nobody accepts from: the kernel completes each connection, and then
    nothing is ever said, exactly as a server that hangs."""
    found = []
    for _ in range(count):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        found.append(listener)
    return found


def baseline(endpoints: list[tuple[str, int, str, bool]], ca: Path) -> float:
    """One after another, as a script with imaplib and poplib would do it."""
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False  # the stdlib clients connect by address here
    started = time.monotonic()
    for _name, port, protocol, implicit in endpoints:
        try:
            if protocol == "imap":
                if implicit:
                    client = imaplib.IMAP4_SSL(
                        "127.0.0.1", port, ssl_context=context, timeout=TIMEOUT
                    )
                else:
                    client = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
                    client.starttls(context)
                client.capability()
                client.logout()
            else:
                if implicit:
                    pop = poplib.POP3_SSL("127.0.0.1", port, context=context, timeout=TIMEOUT)
                else:
                    pop = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
                    pop.stls(context)
                pop.capa()
                pop.quit()
        except (OSError, imaplib.IMAP4.error, poplib.error_proto):
            pass
    return time.monotonic() - started


def nmap(ports: list[int]) -> float | None:
    if shutil.which("nmap") is None:
        return None
    started = time.monotonic()
    subprocess.run(
        # -sV: the scripts only run on ports nmap knows as IMAP/POP3, and these are not 143/993.
        ["nmap", "-n", "-Pn", "-sT", "-sV", "--script-timeout", f"{TIMEOUT:g}s",
         "-p", ",".join(map(str, sorted(set(ports)))), "--script",
         "imap-capabilities,pop3-capabilities", "127.0.0.1"],
        capture_output=True, check=False, timeout=600,
    )  # fmt: skip
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow baseline")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=ProbeOptions.concurrency,
        help="probes at once (default: mailaudit's default)",
    )
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        sys.exit(f"needs {missing}: run `make test` once, or apt-get install them")
    lab = Path(tempfile.mkdtemp(prefix="mailaudit-bench-"))
    lab.chmod(0o755)
    started: list[Dovecot | Dnsmasq] = []
    try:
        certs = make_certs(lab / "certs")
        endpoints: list[tuple[str, int, str, bool]] = []  # name, port, protocol, implicit TLS
        for n in range(INSTANCES):
            server = Dovecot(lab / f"d{n}", certs).start()
            started.append(server)
            for service, port in server.ports.items():
                endpoints.append(
                    (f"mail{n}.example.test", port, service.rstrip("s"), service.endswith("s"))
                )
        silent = silent_servers(SILENT)
        endpoints += [
            (f"silent{n}.example.test", s.getsockname()[1], "imap", False)
            for n, s in enumerate(silent)
        ]
        endpoints += [
            (f"gone{n % 20}.example.test", free_port(), "imap", True) for n in range(REFUSED)
        ]
        names = sorted({name for name, *_ in endpoints})
        dns = Dnsmasq(lab / "dns", [f"host-record={name},127.0.0.1" for name in names]).start()
        started.append(dns)

        targets = [
            Target(name, port, protocol, implicit) for name, port, protocol, implicit in endpoints
        ]
        options = ProbeOptions(
            timeout=TIMEOUT,
            concurrency=args.concurrency,
            ca_file=certs / "ca.crt",
            dns_server=("127.0.0.1", dns.port),
        )
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.monotonic()
        results = run_probes(targets, options)
        ours = time.monotonic() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        counts: dict[str, int] = {}
        for result in results.values():
            key = (
                result.status.value
                if result.status is ProbeStatus.COMPLETED
                else f"error:{result.error.value if result.error else '?'}"
            )
            counts[key] = counts.get(key, 0) + 1

        print(
            f"{len(targets)} endpoints on loopback: {INSTANCES * 4} Dovecot, {SILENT} silent, "
            f"{REFUSED} refused; timeout {TIMEOUT:g} s"
        )
        print(f"  outcomes: {dict(sorted(counts.items()))}")
        print(
            f"  mailaudit (concurrency {options.concurrency}, {options.per_host} per host): "
            f"{ours:.2f} s, "
            f"peak RSS {peak_mb:.0f} MB (before the run {before / 1024:.0f} MB)"
        )
        print(
            f"    goal: under {2 * TIMEOUT:g} s -> {'met' if ours < 2 * TIMEOUT else 'NOT met'}; "
            f"under 100 MB -> {'met' if peak_mb < 100 else 'NOT met'}"
        )
        if not args.no_baseline:
            slow = baseline(endpoints, certs / "ca.crt")
            print(
                f"  sequential imaplib/poplib baseline: {slow:.2f} s -> "
                f"mailaudit is {slow / ours:.1f}x faster"
                f" (goal 20x: {'met' if slow / ours >= 20 else 'NOT met'})"
            )
        scanned = nmap([port for _, port, *_ in endpoints])
        print(
            f"  nmap imap/pop3-capabilities: {scanned:.2f} s"
            if scanned is not None
            else "  nmap: not installed here, not run"
        )
        for listener in silent:
            listener.close()
    finally:
        stop_all(started)
        shutil.rmtree(lab, ignore_errors=True)


if __name__ == "__main__":
    main()
