"""One audit of one machine, in one direction:

    users -> sources -> classify -> [probe + discover: the network stages] -> MachineReport

Nothing here prints; progress goes to the callback the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from mailaudit import __version__
from mailaudit.classify import classify
from mailaudit.machine import MachineFiles, describe_machine
from mailaudit.model import Account, Machine, MachineReport, Protocol, Security, Skipped, Target
from mailaudit.probe import ProbeOptions, run_probes, skipped
from mailaudit.probe.pop3 import Credentials
from mailaudit.sources import SOURCES, Found, outlook

Progress = Callable[[str], None]
PasswordFor = Callable[[Account | None], "str | None"]  # --login: per POP3 account, or for probe

IMPLICIT_TLS_PORTS = {993, 995}


@dataclass(frozen=True)
class AuditOptions:
    root: Path | None = None  # None: the live machine
    offline: bool = False  # no socket, no DNS query
    reg_files: tuple[Path, ...] = ()  # regedit exports to read Outlook accounts from
    probe: ProbeOptions = field(default_factory=ProbeOptions)
    password_for: PasswordFor | None = None  # --login: count the mail left on POP3 servers


def run_audit(options: AuditOptions, progress: Progress | None = None) -> MachineReport:
    tell = progress or (lambda message: None)
    files = MachineFiles(options.root)
    if options.root is None and options.reg_files:
        hostname, system = "unknown", "Windows (read from registry exports)"
    else:
        hostname, system = describe_machine(files)

    accounts: list[Account] = []
    skipped: list[Skipped] = []
    found: list[Found] = []
    # Exports alone, without --root, mean the accounts of another machine: leave this one out.
    if options.root is not None or not options.reg_files:
        users = files.users()
        tell(f"{len(users)} user(s) found" + (f" under {options.root}" if options.root else ""))
        for user in users:
            for source_name, source in SOURCES:
                tell(f"{user.name}: reading {source_name}")
                found.extend(source(files, user))
    for reg_file in options.reg_files:
        tell(f"reading {reg_file}")
        found.extend(outlook.scan_reg_file(files, reg_file))
    for item in found:
        if isinstance(item, Account):
            accounts.append(item)
        else:
            skipped.append(item)

    classified = probe_accounts([classify(account) for account in accounts], options, tell)

    return MachineReport(
        tool_version=__version__,
        machine=Machine(
            hostname=hostname,
            os=system,
            root=str(options.root) if options.root else None,
            generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        ),
        accounts=tuple(classified),
        skipped=tuple(skipped),
    )


def account_targets(account: Account) -> list[tuple[Target, str]]:
    """What to probe for an account, and why: its configured server; for POP3 also the same
    host's IMAP ports, the first place a provider's IMAP service is found."""
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
    found = [(Target(endpoint.host, endpoint.port, account.protocol.value, implicit), "configured")]
    if account.protocol is Protocol.POP3:
        found += [
            (Target(endpoint.host, 993, "imap", True), "imap-candidate"),
            (Target(endpoint.host, 143, "imap", False), "imap-candidate"),
        ]
    return found


def probe_accounts(accounts: list[Account], options: AuditOptions, tell: Progress) -> list[Account]:
    """Each account with its probe results; with --offline each probe is listed as skipped."""
    wanted = {index: account_targets(account) for index, account in enumerate(accounts)}
    targets = [target for pairs in wanted.values() for target, _ in pairs]
    if not targets:
        return accounts
    if options.offline:
        results = {t: skipped(t, "not probed: --offline") for t in targets}
    else:
        probe_options = replace(options.probe, credentials=_credentials(accounts, wanted, options))
        tell(f"probing {len(set(targets))} server endpoint(s)")
        results = run_probes(targets, probe_options, tell)
    return [
        replace(account, probes=tuple(replace(results[t], purpose=p) for t, p in wanted[index]))
        for index, account in enumerate(accounts)
    ]


def _credentials(
    accounts: list[Account], wanted: dict[int, list[tuple[Target, str]]], options: AuditOptions
) -> dict[Target, Credentials]:
    if options.password_for is None:
        return {}
    found: dict[Target, Credentials] = {}
    for index, account in enumerate(accounts):
        if account.protocol is not Protocol.POP3 or not account.incoming.username:
            continue
        password = options.password_for(account)
        if password:
            configured = wanted[index][0][0]
            found[configured] = Credentials(account.incoming.username, password)
    return found
