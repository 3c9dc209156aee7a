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

Three answers stay apart: IMAP is "offered" (a candidate answered), "not offered" (positive
evidence: SRV says so, or DNS answered and every candidate refused or does not exist), or
"unknown" (DNS or the network did not answer: the provider data stands in, and says so). A
failure to check is never reported as a fact about the provider.

Every DNS question of a domain (MX, SRV, A/AAAA of the autoconfig hosts) is asked at once,
each bounded by one timeout, so a silent name server costs about one timeout in all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from mailaudit import providers as provider_data
from mailaudit.discover.autoconfig import fetch_autoconfig
from mailaudit.discover.autoconfig import urls as autoconfig_urls
from mailaudit.discover.dns_queries import DnsQueries, answered, mx_hosts, srv_targets
from mailaudit.model import (
    AutoconfigResult,
    Candidate,
    Discovery,
    DnsAnswer,
    ProbeError,
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
# Probe outcomes that are evidence of no IMAP there; any other failure leaves it unknown.
NO_IMAP_HERE = {ProbeError.REFUSED, ProbeError.NO_SUCH_HOST}


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
    dns_answered: bool = True  # False: the DNS server never answered for this domain


def target_of(candidate: Candidate) -> Target:
    return Target(candidate.host, candidate.port, "imap", candidate.security == "tls")


async def investigate(
    questions: list[Question],
    options: ProbeOptions,
    *,
    full: bool = False,
    progress: Callable[[str], None] | None = None,
    resolver: Resolver | None = None,
) -> dict[str, Findings]:
    """DNS and autoconfig answers per domain. `full` also asks the records `lookup` prints.
    `resolver` is the run's, shared with the probes that follow."""
    queries = DnsQueries(options.dns_server, options.timeout)
    resolver = resolver or Resolver(options.dns_server, options.timeout)
    context = tls.verifying_context(options.ca_file)
    domains = sorted({q.domain for q in questions if q.domain})
    addresses = {q.domain: q.address for q in questions if q.domain}

    # The autoconfig hosts' addresses are asked together with the MX and SRV questions.
    resolver.prefetch(
        {urlsplit(url).hostname or "" for d in domains for url in autoconfig_urls(d, None)} - {""}
    )

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
        reached = any(answered(a) for a in answers)
        return domain, Findings(list(answers), configs, mx, declined, reached)

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
    """Rank the probed candidates and say whether IMAP is offered, with the reason. Without
    probes (offline), or when the network could not tell, provider knowledge stands in."""
    ranked = [_with_probe(c, probes.get(target_of(c))) if probes else c for c in found]
    ranked.sort(key=_rank)
    best = next((c for c in ranked if c.reachable), None)
    from_provider = next((c for c in ranked if c.origin.startswith("provider")), None)
    stand_in = (
        f"; IMAP at {from_provider.host}:{from_provider.port} from provider data, not checked"
        if from_provider
        else "; no provider data for this domain"
    )
    if probes is None:
        best = from_provider
        verdict, reason = ("known" if best else "unknown"), "not looked up: --offline" + stand_in
    elif best is not None:
        verdict, reason = "offered", f"{best.host}:{best.port} answered as IMAP"
    elif findings is not None and findings.srv_declined:
        verdict = "not offered"
        reason = "the domain's SRV record says IMAP is not offered (RFC 6186 §4)"
    elif (
        findings is not None
        and findings.dns_answered
        and ranked
        and all(_no_imap_here(probes.get(target_of(c))) for c in ranked)
    ):
        verdict = "not offered"
        reason = "DNS answered, and every candidate refused the connection or does not exist"
    else:
        best = from_provider
        verdict, reason = "unknown", _why_unknown(findings, ranked, probes) + stand_in
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
        reason=reason,
    )


def _no_imap_here(probe: ProbeResult | None) -> bool:
    """Positive evidence that this candidate is no IMAP server: the name does not exist, the
    port refuses, or what answers speaks another protocol."""
    if probe is None:
        return False
    if probe.status is ProbeStatus.COMPLETED:
        return probe.protocol != "imap"
    return probe.error in NO_IMAP_HERE


def _why_unknown(
    findings: Findings | None, ranked: list[Candidate], probes: dict[Target, ProbeResult]
) -> str:
    if findings is not None and not findings.dns_answered:
        return "could not check: the DNS server did not answer"
    errors = {p.error for c in ranked if (p := probes.get(target_of(c))) and p.error}
    if errors and errors <= {ProbeError.DNS, ProbeError.NO_SUCH_HOST}:
        return "could not check: the DNS server did not answer for the candidates"
    if ProbeError.UNREACHABLE in errors:
        return "could not check: the network is unreachable"
    return "could not check: no candidate answered, and not every one refused"


def _with_probe(candidate: Candidate, probe: ProbeResult | None) -> Candidate:
    if probe is None:
        return candidate
    reachable = probe.status is ProbeStatus.COMPLETED and probe.protocol == "imap"
    valid = probe.tls.verified if probe.tls is not None else None
    message = probe.message if not reachable else None
    if not reachable and probe.error is not None:
        message = f"{probe.error.value}: {probe.message}"
    if not reachable:
        checked = _no_imap_here(probe)  # else: a failure to check, not evidence
        return replace(
            candidate,
            reachable=False if checked else None,
            certificate_valid=valid,
            message=message,
        )
    offered = probe.capabilities_after_tls or probe.capabilities_before_tls or ()
    oauth = {"XOAUTH2", "OAUTHBEARER"}
    passwords = [m for m in probe.sasl if m.upper() not in oauth]
    login_disabled = "LOGINDISABLED" in (c.upper() for c in offered)
    return replace(
        candidate,
        reachable=True,
        certificate_valid=valid,
        message=message,
        transport=probe.transport,
        capabilities=tuple(offered),
        sign_in=probe.sasl,
        oauth_only=bool(probe.sasl) and not passwords and login_disabled,
    )


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
        resolver = Resolver(options.dns_server, options.timeout)
        resolver.prefetch(c.host for q in questions for c in candidates(q, None, known)[0])
        findings = await investigate(
            questions, options, full=True, progress=progress, resolver=resolver
        )
        listed = {q: candidates(q, findings.get(q.domain or ""), known) for q in questions}
        targets = [target_of(c) for found, _ in listed.values() for c in found]
        probes = await probe_all(targets, options, progress, resolver)
        return [conclude(q, findings.get(q.domain or ""), *listed[q], probes) for q in questions]

    return asyncio.run(network())
