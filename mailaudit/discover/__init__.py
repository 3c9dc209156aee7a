"""Where does a POP3 account's provider offer IMAP? Every route, each candidate with its origin.

For a POP3 account with server `h` and address domain `d`, in this order (RFC 8314 §5.1 and
RFC 6186 put SRV first; Thunderbird itself has no SRV lookup):

1. SRV `_imaps._tcp.d` (implicit TLS) and `_imap._tcp.d` (STARTTLS); a target of "." says IMAP
   is decidedly not offered;
2. autoconfig (https://autoconfig.d/..., then the .well-known URL, then http);
3. provider knowledge, by the address domain, the server's name or the domain's MX;
4. guesses: `h` itself, `h` with a leading pop/pop3 label made `imap`, `imap.d`, `mail.d`,
   on 993 then 143.

Each candidate is probed; they are ranked reachable first, then implicit TLS over STARTTLS,
then a valid certificate, then by route, and the first reachable one is the best.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from mailaudit import providers as provider_data
from mailaudit.discover.autoconfig import fetch_autoconfig
from mailaudit.discover.dns_queries import DnsQueries, mx_hosts, srv_targets
from mailaudit.model import (
    AutoconfigResult,
    Candidate,
    Discovery,
    DnsAnswer,
    ProbeResult,
    ProbeStatus,
    Target,
)
from mailaudit.probe import tls
from mailaudit.probe.resolve import Resolver
from mailaudit.probe.runner import ProbeOptions, probe_all
from mailaudit.providers import Provider

SECURITY_RANK = {"tls": 0, "starttls": 1, "none": 2}
ORIGIN_RANK = (("SRV", 0), ("autoconfig", 1), ("provider", 2), ("guess", 3))
POP_LABELS = ("pop3", "pop")


@dataclass(frozen=True)
class Question:
    """What discovery is asked for one POP3 account."""

    domain: str | None  # the address's domain
    host: str | None  # the configured POP3 server
    address: str | None


@dataclass
class Findings:
    """The network's answers for one domain, before any candidate is probed."""

    dns: list[DnsAnswer]
    autoconfig: list[AutoconfigResult]
    mx: list[str]
    srv_declined: bool  # SRV says "." for IMAP: not offered


def target_of(candidate: Candidate) -> Target:
    return Target(candidate.host, candidate.port, "imap", candidate.security == "tls")


async def investigate(
    questions: list[Question],
    options: ProbeOptions,
    *,
    full: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Findings]:
    """DNS and autoconfig answers per domain. `full` also asks the records `lookup` prints."""
    queries = DnsQueries(options.dns_server, options.timeout)
    resolver = Resolver(options.dns_server, options.timeout)
    context = tls.verifying_context(options.ca_file)
    domains = sorted({q.domain for q in questions if q.domain})
    addresses = {q.domain: q.address for q in questions if q.domain}

    async def one(domain: str) -> tuple[str, Findings]:
        kinds = ["MX", "_imaps._tcp", "_imap._tcp"]
        if full:
            kinds += [
                "_pop3s._tcp",
                "_pop3._tcp",
                "_submissions._tcp",
                "_submission._tcp",
                "_autodiscover._tcp",
                "A",
                "AAAA",
            ]
        answers = await asyncio.gather(
            *(
                queries.query(
                    domain if kind in ("MX", "A", "AAAA") else f"{kind}.{domain}",
                    kind if kind in ("MX", "A", "AAAA") else "SRV",
                )
                for kind in kinds
            )
        )
        mx = next((mx_hosts(a) for a in answers if a.kind == "MX" and a.status == "ok"), [])
        imap_srv = [a for a in answers if a.name.startswith("_imap") and a.status == "ok"]
        declined = bool(imap_srv) and all(srv_targets(a) is None for a in imap_srv)
        configs = await fetch_autoconfig(
            domain, addresses.get(domain), resolver, context, options.timeout
        )
        if progress is not None:
            progress(f"looked up {domain}")
        return domain, Findings(list(answers), configs, mx, declined)

    return dict(await asyncio.gather(*(one(d) for d in domains)))


def candidates(
    question: Question, findings: Findings | None, known: list[Provider]
) -> tuple[list[Candidate], tuple[Provider, str] | None]:
    """Every candidate IMAP endpoint, in route order, each once; and the provider if known."""
    found: list[Candidate] = []
    d, h = question.domain, question.host
    if findings is not None and d:
        for answer in findings.dns:
            if answer.kind == "SRV" and answer.status == "ok" and answer.name.startswith("_imap"):
                security = "tls" if answer.name.startswith("_imaps.") else "starttls"
                for host, port in srv_targets(answer) or []:
                    found.append(Candidate(host, port, security, f"SRV {answer.name}"))
        for result in findings.autoconfig:
            for server in result.servers:
                if server.protocol == "imap" and server.security in SECURITY_RANK:
                    found.append(Candidate(server.host, server.port, server.security, "autoconfig"))
    provider = provider_data.identify(known, d, h, findings.mx if findings else [])
    if provider is not None and provider[0].imap is not None:
        host, port = provider[0].imap
        found.append(
            Candidate(
                host, port, "tls" if port == 993 else "starttls", f"provider: {provider[0].name}"
            )
        )
    guesses = [h] if h else []
    if h and h.split(".", 1)[0].lower() in POP_LABELS and "." in h:
        guesses.append("imap." + h.split(".", 1)[1])
    if d:
        guesses += [f"imap.{d}", f"mail.{d}"]
    for host in guesses:
        found += [Candidate(host, 993, "tls", "guess"), Candidate(host, 143, "starttls", "guess")]
    unique: dict[tuple[str, int], Candidate] = {}
    for candidate in found:
        unique.setdefault((candidate.host.lower(), candidate.port), candidate)
    return list(unique.values()), provider


def conclude(
    question: Question,
    findings: Findings | None,
    found: list[Candidate],
    provider: tuple[Provider, str] | None,
    probes: dict[Target, ProbeResult] | None,
) -> Discovery:
    """Rank the probed candidates and say whether IMAP is offered. Without probes (offline),
    only provider knowledge can answer."""
    ranked = [_with_probe(c, probes.get(target_of(c))) if probes else c for c in found]
    ranked.sort(key=_rank)
    best = next((c for c in ranked if c.reachable), None)
    if probes is None:
        best = next((c for c in ranked if c.origin.startswith("provider")), None)
        verdict = "known" if best else "unknown"
    elif best is not None:
        verdict = "offered"
    elif findings is not None and findings.srv_declined:
        verdict = "not offered"
    else:
        verdict = "not found"
    who = provider[0] if provider else None
    return Discovery(
        domain=question.domain,
        imap=verdict,
        provider=who.name if who else None,
        provider_auth=who.auth if who else None,
        provider_note=who.note if who else None,
        recognised_by=provider[1] if provider else None,
        dns=tuple(findings.dns) if findings else (),
        autoconfig=tuple(findings.autoconfig) if findings else (),
        candidates=tuple(ranked),
        best=best,
    )


def _with_probe(candidate: Candidate, probe: ProbeResult | None) -> Candidate:
    if probe is None:
        return candidate
    reachable = probe.status is ProbeStatus.COMPLETED and probe.protocol == "imap"
    valid = probe.tls.verified if probe.tls is not None else None
    message = probe.message if not reachable else None
    if not reachable and probe.error is not None:
        message = f"{probe.error.value}: {probe.message}"
    return replace(candidate, reachable=reachable, certificate_valid=valid, message=message)


def _rank(candidate: Candidate) -> tuple[int, int, int, int]:
    origin = next((rank for prefix, rank in ORIGIN_RANK if candidate.origin.startswith(prefix)), 9)
    return (
        0 if candidate.reachable else 1,
        SECURITY_RANK.get(candidate.security, 3),
        0 if candidate.certificate_valid else 1,
        origin,
    )


def lookup(
    entries: list[str],
    options: ProbeOptions,
    offline: bool,
    overrides: dict[str, dict[str, object]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Discovery]:
    """`mailaudit lookup`: for each domain or address, every route to its IMAP service."""
    questions = []
    for entry in entries:
        address = entry if "@" in entry else None
        domain = entry.rsplit("@", 1)[-1].strip().lower().rstrip(".")
        questions.append(Question(domain, None, address))
    known = provider_data.load(overrides)
    if offline:
        return [conclude(q, None, *candidates(q, None, known), None) for q in questions]

    async def network() -> list[Discovery]:
        findings = await investigate(questions, options, full=True, progress=progress)
        listed = {q: candidates(q, findings.get(q.domain or ""), known) for q in questions}
        targets = [target_of(c) for found, _ in listed.values() for c in found]
        probes = await probe_all(targets, options, progress)
        return [conclude(q, findings.get(q.domain or ""), *listed[q], probes) for q in questions]

    return asyncio.run(network())
