"""MX, SRV (RFC 6186) and A/AAAA queries, each ending as an answer with its kind of outcome.

NXDOMAIN, "no such record", a timeout and a server failure are different answers: a domain
that does not exist is not a provider without IMAP, and a server that did not answer says
nothing about the domain at all (`answered` tells the two kinds apart). Each question's
whole lifetime is one timeout, and a domain's questions are asked at once.
"""

from __future__ import annotations

import dns.exception
import dns.name
import dns.resolver

from mailaudit.model import DnsAnswer
from mailaudit.probe.resolve import dns_resolver

# The statuses that are answers from DNS; the others (timeout, servfail, error) are failures.
ANSWERED = ("ok", "nxdomain", "no-answer")


class DnsQueries:
    def __init__(self, dns_server: tuple[str, int] | None, timeout: float) -> None:
        self.resolver = dns_resolver(dns_server, timeout)
        self._cache: dict[tuple[str, str], DnsAnswer] = {}

    async def query(self, name: str, kind: str) -> DnsAnswer:
        key = (name.lower(), kind)
        if key not in self._cache:
            self._cache[key] = await self._query(name, kind)
        return self._cache[key]

    async def _query(self, name: str, kind: str) -> DnsAnswer:
        try:
            answer = await self.resolver.resolve(name, kind)
        except dns.resolver.NXDOMAIN:
            return DnsAnswer(name, kind, "nxdomain", message=f"{name} does not exist")
        except dns.resolver.NoAnswer:
            return DnsAnswer(name, kind, "no-answer", message=f"{name} has no {kind} record")
        except dns.resolver.LifetimeTimeout:
            return DnsAnswer(name, kind, "timeout", message="the DNS server did not answer in time")
        except dns.resolver.NoNameservers:
            return DnsAnswer(name, kind, "servfail", message="the DNS server failed to answer")
        except dns.exception.DNSException as exc:
            return DnsAnswer(name, kind, "error", message=str(exc) or type(exc).__name__)
        records = []
        for record in answer:
            if kind == "MX":
                records.append(
                    f"{record.preference} {record.exchange.to_text(omit_final_dot=True)}"
                )
            elif kind == "SRV":
                target = (
                    "."
                    if record.target == dns.name.root
                    else record.target.to_text(omit_final_dot=True)
                )
                records.append(f"{record.priority} {record.weight} {record.port} {target}")
            else:
                records.append(record.to_text())
        return DnsAnswer(name, kind, "ok", tuple(records))


def mx_hosts(answer: DnsAnswer) -> list[str]:
    """MX targets, most preferred first."""
    pairs = [record.split(" ", 1) for record in answer.records]
    return [host for _, host in sorted(pairs, key=lambda p: int(p[0]))]


def srv_targets(answer: DnsAnswer) -> list[tuple[str, int]] | None:
    """(host, port) in priority then weight order; None when the record says "not offered"
    (RFC 6186 §4: a target of "." means the service is decidedly not available)."""
    entries = []
    for record in answer.records:
        priority, weight, port, target = record.split(" ")
        entries.append((int(priority), -int(weight), target, int(port)))
    entries.sort()
    if entries and all(target == "." for _, _, target, _ in entries):
        return None
    return [(target, port) for _, _, target, port in entries if target != "."]


def answered(answer: DnsAnswer) -> bool:
    """Whether DNS gave an answer (even "no such name"), rather than failing to."""
    return answer.status in ANSWERED
