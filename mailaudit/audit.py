"""One audit of one machine, in one direction:

    users -> sources -> classify -> probe + discover -> advise -> MachineReport
                                    (the network; with --offline,
                                     skipped and provider data only)

Nothing here prints; progress goes to the callback the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from mailaudit import __version__, aio, discover, providers
from mailaudit.advise import Policy, advise
from mailaudit.classify import classify
from mailaudit.discover import Findings, Question
from mailaudit.discover.dns_queries import answered
from mailaudit.errors import UnreadableFile
from mailaudit.machine import DENIED, MachineFiles, describe_machine
from mailaudit.model import (
    Account,
    Candidate,
    Client,
    LocalMailbox,
    Machine,
    MachineReport,
    Note,
    ProbeError,
    ProbeResult,
    Protocol,
    Run,
    RunOptions,
    Security,
    Skipped,
    Target,
)
from mailaudit.probe.pop3 import Credentials
from mailaudit.probe.resolve import Resolver
from mailaudit.probe.runner import ProbeOptions, probe_all, skipped
from mailaudit.sources import SOURCES, Found, outlook
from mailaudit.sources.base import bounded

Progress = Callable[[str], None]
PasswordFor = Callable[[Account | None], "str | None"]  # --login: per POP3 account, or for probe

IMPLICIT_TLS_PORTS = {993, 995}
DNS_DOWN = (
    "No DNS answers: the results below are from provider data; check the network, or run "
    "with --offline."
)
NETWORK_DOWN = (
    "The network is unreachable: the results below are from provider data; check the network, "
    "or run with --offline."
)


@dataclass(frozen=True)
class AuditOptions:
    root: Path | None = None  # None: the live machine
    offline: bool = False  # no socket, no DNS query
    reg_files: tuple[Path, ...] = ()  # regedit exports to read Outlook accounts from
    probe: ProbeOptions = field(default_factory=ProbeOptions)
    password_for: PasswordFor | None = None  # --login: count the mail left on POP3 servers
    provider_overrides: dict[str, dict[str, object]] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    prepared_by: str | None = None  # recorded for the client's document


def run_audit(options: AuditOptions, progress: Progress | None = None) -> MachineReport:
    tell = progress or (lambda message: None)
    started_at = _now()
    files = MachineFiles(options.root)
    if options.root is None and options.reg_files:
        hostname, system = "unknown", "Windows (read from registry exports)"
    else:
        hostname, system = describe_machine(files)

    accounts: list[Account] = []
    local_mailboxes: list[LocalMailbox] = []
    skipped: list[Skipped] = []
    skipped_once: set[tuple[str, str]] = set()
    found: list[Found] = []
    # Exports alone, without --root, mean the accounts of another machine: leave this one out.
    if options.root is not None or not options.reg_files:
        users, unlisted = files.users_and_notes()
        for note in unlisted:
            found.append(Skipped("machine", files.display(Path(note.path)), _not_readable(note)))
        tell(f"{len(users)} user(s) found" + (f" under {options.root}" if options.root else ""))
        for user in users:
            try:
                files.children(user.home)
            except UnreadableFile as exc:
                found.append(Skipped("machine", files.display(user.home), _not_readable(exc)))
                continue
            for source_name, source in SOURCES:
                tell(f"{user.name}: reading {source_name}")
                found.extend(source(files, user))
    for reg_file in options.reg_files:
        tell(f"reading {reg_file}")
        found.extend(
            bounded(
                Client.OUTLOOK.value, files, str(reg_file), outlook.scan_reg_file(files, reg_file)
            )
        )
    for item in found:
        if isinstance(item, Account):
            accounts.append(replace(item, platform=platform_of(item)))
        elif isinstance(item, LocalMailbox):
            local_mailboxes.append(replace(item, platform=platform_of(item)))
        elif (item.origin, item.reason) not in skipped_once:
            skipped_once.add((item.origin, item.reason))  # a folder blocking several sources
            skipped.append(item)

    known = providers.load(options.provider_overrides)
    classified, notes = probe_accounts(
        [classify(account) for account in accounts], known, options, tell
    )

    report = MachineReport(
        tool_version=__version__,
        machine=Machine(
            hostname=hostname,
            os=system,
            root=str(options.root) if options.root else None,
            generated_at=_now(),
        ),
        accounts=tuple(classified),
        skipped=tuple(skipped),
        local_mailboxes=tuple(local_mailboxes),
        notes=notes,
    )
    advised = advise(report, known, options.policy)
    return replace(advised, run=_run(options, started_at))


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _run(options: AuditOptions, started_at: str) -> Run:
    dns = options.probe.dns_server
    return Run(
        options=RunOptions(
            offline=options.offline,
            timeout=options.probe.timeout,
            concurrency=options.probe.concurrency,
            dns_server=None if dns is None else _host_port(*dns),
        ),
        started_at=started_at,
        finished_at=_now(),
        prepared_by=options.prepared_by,
    )


def _not_readable(exc: UnreadableFile) -> str:
    if exc.reason == DENIED:
        return f"{exc.reason}: not audited; run as administrator (root)"
    return exc.reason


def platform_of(found: Account | LocalMailbox) -> str | None:
    """The system the client runs on, so that paths read the way the client's owner knows
    them; from the client, and for Thunderbird from where its profile lives."""
    if found.client is Client.OUTLOOK:
        return "windows"
    if found.client in (Client.OUTLOOK_MAC, Client.APPLE_MAIL):
        return "macos"
    origin = found.origin.replace("\\", "/")
    if "/AppData/" in origin or "/Application Data/" in origin or origin[1:3] == ":/":
        return "windows"
    if "/Library/" in origin:
        return "macos"
    if origin.startswith(("/home/", "/root/")):
        return "linux"
    return None


def account_targets(account: Account) -> list[Target]:
    """The account's configured server, when it is POP3 or IMAP and fully configured."""
    endpoint = account.incoming
    if (
        account.protocol not in (Protocol.POP3, Protocol.IMAP)
        or not endpoint.host
        or not endpoint.port
    ):
        return []
    implicit = endpoint.security is Security.TLS or (
        endpoint.security is Security.UNKNOWN and endpoint.port in IMPLICIT_TLS_PORTS
    )
    return [Target(endpoint.host, endpoint.port, account.protocol.value, implicit)]


def question(account: Account) -> Question | None:
    """What discovery asks for a POP3 account: its address's domain and its server."""
    if account.protocol is not Protocol.POP3:
        return None
    address = account.email
    domain = address.rsplit("@", 1)[1].lower() if address and "@" in address else None
    return Question(domain, account.incoming.host, address)


def probe_accounts(
    accounts: list[Account], known: list[providers.Provider], options: AuditOptions, tell: Progress
) -> tuple[list[Account], tuple[Note, ...]]:
    """Each account with its probes, and each POP3 account with where its provider offers
    IMAP. With --offline nothing is sent: probes are listed as skipped and discovery answers
    from provider knowledge alone."""
    configured = {i: account_targets(a) for i, a in enumerate(accounts)}
    questions = {i: q for i, a in enumerate(accounts) if (q := question(a)) is not None}
    findings: dict[str, Findings] = {}
    # The candidates follow from the findings (offline: from provider data alone).
    listed = {i: discover.candidates(q, None, known) for i, q in questions.items()}
    probes = None
    if not options.offline:
        probe_options = replace(
            options.probe, credentials=_credentials(accounts, configured, options)
        )
        findings, listed, probes = aio.run(
            _network(questions, configured, listed, known, probe_options, tell)
        )
    finished = []
    for index, account in enumerate(accounts):
        own = tuple(
            probes[t] if probes is not None else skipped(t, "not probed: --offline")
            for t in configured[index]
        )
        discovery = None
        if index in questions:
            asked = questions[index]
            found, provider = listed[index]
            discovery = discover.conclude(
                asked, findings.get(asked.domain or ""), found, provider, probes
            )
        finished.append(replace(account, probes=own, discovery=discovery))
    return finished, network_notes(findings, probes or {})


async def _network(
    questions: dict[int, Question],
    configured: dict[int, list[Target]],
    early: dict[int, tuple[list[Candidate], tuple[providers.Provider, str] | None]],
    known: list[providers.Provider],
    options: ProbeOptions,
    tell: Progress,
) -> tuple[
    dict[str, Findings],
    dict[int, tuple[list[Candidate], tuple[providers.Provider, str] | None]],
    dict[Target, ProbeResult],
]:
    """Discovery, then the probes, in one event loop with one resolver: every name known
    before discovery (configured servers, provider data, guesses) is asked for at once,
    together with discovery's own questions, so a silent DNS server costs about one timeout."""
    resolver = Resolver(options.dns_server, options.timeout)
    resolver.prefetch(
        [t.host for pairs in configured.values() for t in pairs]
        + [c.host for found, _ in early.values() for c in found]
    )
    findings: dict[str, Findings] = {}
    if questions:
        tell(f"looking up {len({q.domain for q in questions.values() if q.domain})} mail domain(s)")
        findings = await discover.investigate(list(questions.values()), options, resolver=resolver)
    listed = {
        i: discover.candidates(q, findings.get(q.domain or ""), known) for i, q in questions.items()
    }
    targets = [t for pairs in configured.values() for t in pairs]
    targets += [discover.target_of(c) for found, _ in listed.values() for c in found]
    tell(f"probing {len(set(targets))} server endpoint(s)")
    probes = await probe_all(targets, options, tell, resolver)
    return findings, listed, probes


def network_notes(
    findings: dict[str, Findings], probes: dict[Target, ProbeResult]
) -> tuple[Note, ...]:
    """One note for the whole run when the network or DNS was down, instead of one finding
    per endpoint: no probe got further than a name that did not resolve or a route that does
    not exist, and (for DNS) no DNS question got an answer."""
    errors = [p.error for p in probes.values()]
    cut_off = {ProbeError.UNREACHABLE, ProbeError.DNS, ProbeError.NO_SUCH_HOST}
    if ProbeError.UNREACHABLE in errors and all(e in cut_off for e in errors):
        return (Note("network-down", NETWORK_DOWN),)
    answers = [a for found in findings.values() for a in found.dns]
    unanswered = (answers or errors) and not any(answered(a) for a in answers)
    if unanswered and all(e in (ProbeError.DNS, ProbeError.UNREACHABLE) for e in errors):
        return (Note("dns-down", DNS_DOWN),)
    return ()


def _credentials(
    accounts: list[Account], configured: dict[int, list[Target]], options: AuditOptions
) -> dict[Target, Credentials]:
    if options.password_for is None:
        return {}
    found: dict[Target, Credentials] = {}
    for index, account in enumerate(accounts):
        if account.protocol is not Protocol.POP3 or not account.incoming.username:
            continue
        if not configured[index]:
            continue
        password = options.password_for(account)
        if password:
            found[configured[index][0]] = Credentials(account.incoming.username, password)
    return found
