"""Findings and one recommendation per account. Pure: finished results in, advice out.

Every rule has a stable id (MA001...), a default severity and a test; the README lists them.
The RFC each one rests on is named beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from mailaudit.discover.providers import Provider, identify
from mailaudit.model import (
    Account,
    Client,
    Finding,
    MachineReport,
    ProbeError,
    ProbeResult,
    ProbeStatus,
    Protocol,
    Security,
    Severity,
)
from mailaudit.units import human_bytes


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str


RULES = {
    rule.id: rule
    for rule in (
        Rule("MA001", Severity.LOW, "POP3 account"),
        Rule("MA002", Severity.HIGH, "Mail kept only on this computer"),
        Rule("MA003", Severity.HIGH, "Plaintext connection"),
        Rule("MA004", Severity.LOW, "STARTTLS where implicit TLS is available"),
        Rule("MA005", Severity.HIGH, "Certificate not valid"),
        Rule("MA006", Severity.MEDIUM, "Certificate expires soon"),
        Rule("MA007", Severity.MEDIUM, "TLS older than 1.2"),
        Rule("MA008", Severity.MEDIUM, "Declared type and port disagree"),
        Rule("MA009", Severity.MEDIUM, "Server unreachable"),
        Rule("MA010", Severity.INFO, "Provider offers no IMAP"),
        Rule("MA011", Severity.HIGH, "Provider requires OAuth, the client uses a password"),
        Rule("MA012", Severity.LOW, "Source could not be read"),
    )
}

SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
PASSWORD_AUTH = {"password", "password-encrypted", "ntlm"}  # None: not recorded, not judged
UNREACHABLE = {ProbeError.REFUSED, ProbeError.TIMEOUT, ProbeError.UNREACHABLE, ProbeError.DNS}
CLIENT_NAMES = {
    Client.OUTLOOK: "Outlook",
    Client.OUTLOOK_MAC: "Outlook for Mac",
    Client.THUNDERBIRD: "Thunderbird",
    Client.SEAMONKEY: "SeaMonkey",
    Client.APPLE_MAIL: "Apple Mail",
}
HOW_TO_MOVE = {
    Client.OUTLOOK: "In Outlook, drag the folders from the old data file into the new account's "
    "folders (or Copy Folder); Outlook uploads them to the server.",
    Client.THUNDERBIRD: "In Thunderbird, right-click each old folder, Copy To, and choose a folder "
    "of the new IMAP account; Thunderbird uploads the messages.",
    Client.SEAMONKEY: "In SeaMonkey, copy each old folder into the new IMAP account's folders.",
    Client.APPLE_MAIL: "In Apple Mail, drag the mailboxes from the old account (or On My Mac) onto "
    "the new IMAP account; Mail uploads them.",
}


@dataclass(frozen=True)
class Policy:
    """What the policy file may change about advice."""

    uplink_mbit: float = 10.0
    expiring_days: int = 30
    severities: dict[str, Severity] = field(default_factory=dict)  # rule id -> severity
    ignored_rules: frozenset[str] = frozenset()
    ignored_accounts: frozenset[str] = frozenset()  # account ids or e-mail addresses


def advise(report: MachineReport, providers: list[Provider], policy: Policy) -> MachineReport:
    """The report with findings and a recommendation on every account, and machine findings."""
    accounts = []
    for account in report.accounts:
        if (
            account.id in policy.ignored_accounts
            or (account.email or "") in policy.ignored_accounts
        ):
            accounts.append(account)
            continue
        provider = _provider(account, providers)
        findings = _kept(list(_findings(account, provider, policy)), policy)
        accounts.append(
            replace(
                account,
                findings=tuple(findings),
                recommendation=recommend(account, provider, policy),
            )
        )
    machine_findings = _kept(
        [_finding("MA012", f"{s.origin}: {s.reason}") for s in report.skipped], policy
    )
    return replace(report, accounts=tuple(accounts), findings=tuple(machine_findings))


def highest(report: MachineReport) -> Severity | None:
    """The most severe finding of the whole report."""
    found = [f.severity for a in report.accounts for f in a.findings] + [
        f.severity for f in report.findings
    ]
    return max(found, key=SEVERITY_ORDER.index) if found else None


def at_least(severity: Severity, threshold: Severity) -> bool:
    return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(threshold)


def _kept(findings: list[Finding], policy: Policy) -> list[Finding]:
    return [
        replace(f, severity=policy.severities.get(f.rule, f.severity))
        for f in findings
        if f.rule not in policy.ignored_rules
    ]


def _finding(rule_id: str, detail: str) -> Finding:
    rule = RULES[rule_id]
    return Finding(rule.id, rule.severity, rule.title, detail)


def _provider(account: Account, providers: list[Provider]) -> Provider | None:
    if account.discovery is not None and account.discovery.provider:
        return next((p for p in providers if p.name == account.discovery.provider), None)
    domain = account.email.rsplit("@", 1)[1] if account.email and "@" in account.email else None
    found = identify(providers, domain, account.incoming.host, [])
    return found[0] if found else None


def _configured(account: Account) -> ProbeResult | None:
    return account.probes[0] if account.probes else None  # probes hold the configured server


def _findings(account: Account, provider: Provider | None, policy: Policy) -> Any:
    endpoint = account.incoming
    store = account.local_store
    if account.protocol is Protocol.POP3:
        yield _finding(
            "MA001",
            f"{account.name} fetches mail by POP3 from {endpoint.host}: the "
            "mail lives on this computer, not on the server.",
        )
        if account.leave_on_server is False or account.leave_on_server_days is not None:
            size = (
                f" ({human_bytes(store.bytes)} in {store.path})" if store and store.exists else ""
            )
            how = (
                f"the server deletes it after {account.leave_on_server_days} days"
                if account.leave_on_server
                else "it is deleted from the server once downloaded"
            )
            yield _finding("MA002", f"The only copy of this mail is on this computer{size}: {how}.")
    if account.protocol in (Protocol.POP3, Protocol.IMAP):
        if endpoint.security is Security.NONE:
            login = (
                " and the password travels in the clear" if endpoint.auth in PASSWORD_AUTH else ""
            )
            yield _finding(
                "MA003", f"{endpoint.host}:{endpoint.port} is used without encryption{login}."
            )
        elif endpoint.security is Security.STARTTLS and _implicit_available(account, provider):
            yield _finding(
                "MA004",
                f"{endpoint.host} offers TLS from the first byte (RFC 8314 §3 "
                "prefers it over STARTTLS).",
            )
    for conflict in account.classification.conflicts if account.classification else ():
        yield _finding("MA008", conflict)
    probe = _configured(account)
    if probe is not None:
        yield from _probe_findings(probe, policy)
    if account.discovery is not None and account.discovery.imap == "not offered":
        yield _finding(
            "MA010",
            f"{account.discovery.domain} declares IMAP not offered (DNS SRV): "
            "POP3 is the only way to this mailbox.",
        )
    mail = account.protocol in (Protocol.POP3, Protocol.IMAP)
    if (
        mail
        and provider is not None
        and provider.auth == "oauth2"
        and endpoint.auth in PASSWORD_AUTH
    ):
        yield _finding(
            "MA011",
            f"{provider.name}: {provider.note or 'OAuth2 sign-in is required.'} "
            f"The account signs in with a password ({endpoint.auth}).",
        )


def _probe_findings(probe: ProbeResult, policy: Policy) -> Any:
    where = f"{probe.host}:{probe.port}"
    if probe.status is ProbeStatus.ERROR and probe.error in UNREACHABLE:
        yield _finding("MA009", f"{where}: {probe.message}")
    if probe.status is ProbeStatus.COMPLETED and probe.tls is None:
        yield _finding("MA003", f"{where} answered without TLS and offers no STARTTLS.")
    tls = probe.tls
    if tls is None:
        return
    if not tls.verified:
        yield _finding(
            "MA005", f"{where}: the certificate is {tls.verify_error} ({tls.verify_detail})."
        )
    elif tls.certificate is not None and tls.certificate.days_left <= policy.expiring_days:
        yield _finding(
            "MA006",
            f"{where}: the certificate expires in {tls.certificate.days_left} days "
            f"({tls.certificate.not_after}).",
        )
    if tls.version in ("TLSv1", "TLSv1.1", "SSLv3"):
        yield _finding(
            "MA007", f"{where} negotiated {tls.version}; RFC 8314 §4 requires 1.2 or later."
        )


def _implicit_available(account: Account, provider: Provider | None) -> bool:
    host = (account.incoming.host or "").lower()
    wanted = 995 if account.protocol is Protocol.POP3 else 993
    if provider is not None:
        known = provider.pop3 if account.protocol is Protocol.POP3 else provider.imap
        if known is not None and known[0].lower() == host and known[1] == wanted:
            return True
    best = account.discovery.best if account.discovery else None
    return bool(best and best.host.lower() == host and best.security == "tls" and best.reachable)


# ---------------------------------------------------------------- recommendations


def recommend(account: Account, provider: Provider | None, policy: Policy) -> dict[str, Any]:
    """One recommendation with concrete values: keep, switch to IMAP, secure, or use OAuth."""
    if account.protocol is Protocol.POP3:
        return _pop3(account, provider, policy)
    endpoint = account.incoming
    if account.protocol is Protocol.IMAP and endpoint.security is Security.NONE:
        settings = {"server": endpoint.host, "port": 993, "security": "SSL/TLS"}
        return {
            "action": "secure-connection",
            "summary": f"Switch {account.name} to SSL/TLS on port 993.",
            "settings": settings,
            "steps": [
                f"In the account settings set the incoming server "
                f"{endpoint.host} to port 993 with SSL/TLS.",
                "Change the password afterwards: it has travelled unencrypted (RFC 8314 §4.1).",
            ],
        }
    if (
        provider is not None
        and provider.auth == "oauth2"
        and endpoint.auth in PASSWORD_AUTH
        and account.protocol is Protocol.IMAP
    ):
        return {
            "action": "use-oauth",
            "summary": f"Sign {account.name} in again with OAuth2 "
            f"({provider.name} refuses passwords).",
            "steps": [
                'Remove the saved password and choose OAuth2 ("Modern authentication") as the '
                "sign-in method; the client opens the provider's sign-in page."
            ],
        }
    return {"action": "keep", "summary": f"{account.name}: no change needed.", "steps": []}


def _pop3(account: Account, provider: Provider | None, policy: Policy) -> dict[str, Any]:
    discovery = account.discovery
    best = discovery.best if discovery else None
    if best is None and provider is not None and provider.imap is not None:
        host, port = provider.imap
        best_host, best_port, best_security, source = (
            host,
            port,
            "tls" if port == 993 else "starttls",
            f"provider data ({provider.name})",
        )
    elif best is not None:
        best_host, best_port, best_security = best.host, best.port, best.security
        source = best.origin + (", probed and answering" if best.reachable else "")
    elif discovery is None or discovery.imap == "unknown":
        return {
            "action": "find-imap",
            "summary": f"Find out where {account.incoming.host}'s provider offers IMAP.",
            "steps": [
                "Run mailaudit online (without --offline), or `mailaudit lookup` with the "
                "address, to look the provider up by DNS, autoconfig and probes.",
                "Until then, back up the local mail store: it holds the only copy.",
            ],
        }
    else:
        why = (
            "the provider declares IMAP not offered"
            if discovery.imap == "not offered"
            else "no IMAP service was found for this provider"
        )
        return {
            "action": "keep",
            "summary": f"Keep {account.name} on POP3: {why}.",
            "steps": [
                "Leave a copy of messages on the server, if the provider allows it.",
                "Back up the local mail store regularly: it holds the only copy.",
            ],
        }
    store = account.local_store
    size = store.bytes if store and store.exists else 0
    settings = {
        "server": best_host,
        "port": best_port,
        "security": "SSL/TLS" if best_security == "tls" else "STARTTLS",
        "username": account.incoming.username,
        "sign_in": "OAuth2"
        if provider is not None and provider.auth == "oauth2"
        else (
            "app password"
            if provider is not None and provider.auth == "app-password"
            else "password"
        ),
    }
    hours = size * 8 / (policy.uplink_mbit * 1_000_000) / 3600
    steps = [
        f"Confirm the provider offers IMAP: {best_host}:{best_port} ({settings['security']}), "
        f"from {source}.",
        _on_server_step(account),
        (
            f"Back up the local mail store first: {store.path} ({human_bytes(size)})."
            if store and store.exists
            else "Back up the client's mail folders first."
        ),
        f"Create a new IMAP account in {CLIENT_NAMES.get(account.client, account.client.value)}: "
        f"server {best_host}, "
        f"port {best_port}, {settings['security']}, "
        f"user name {settings['username'] or 'as before'}, "
        f"sign-in: {settings['sign_in']}.",
        HOW_TO_MOVE.get(account.client, "Copy the old folders into the new IMAP account."),
        *_migrate_step(account, best_host, best_port, settings),
        _upload_step(size, hours, policy.uplink_mbit),
        "When every folder shows up on the server (check in webmail), remove the POP3 account.",
    ]
    if provider is not None and provider.note:
        steps.insert(1, provider.note)
    return {
        "action": "switch-to-imap",
        "summary": f"Move {account.name} to IMAP at {best_host}:{best_port}.",
        "settings": settings,
        "steps": steps,
        "upload_bytes": size,
        "upload_hours": round(hours, 2),
    }


def _migrate_step(account: Account, host: str, port: int, settings: dict[str, Any]) -> list[str]:
    """The command that does the move, resumable and without duplicates (after the backup)."""
    if account.local_store is None or not account.local_store.exists:
        return []
    scheme = "imap" if settings["security"] == "STARTTLS" else "imaps"
    user = quote(settings["username"] or account.email or "USER", safe="")  # "@" is %40
    return [
        "Or let mailaudit upload the folders (it can be stopped and run again, and never "
        f"uploads a message twice): mailaudit migrate --account {account.id} "
        f"--to {scheme}://{user}@{host}:{port} (add --root as for the scan; --dry-run first)."
    ]


def _on_server_step(account: Account) -> str:
    probe = _configured(account)
    if probe is not None and probe.mailbox is not None:
        return (
            f"The POP3 server still holds {probe.mailbox.messages} message(s) "
            f"({human_bytes(probe.mailbox.bytes)}); they will appear in the IMAP account."
        )
    if account.leave_on_server:
        days = f" for {account.leave_on_server_days} days" if account.leave_on_server_days else ""
        return (
            f"Check in webmail what is still on the server: the client leaves copies there{days}."
        )
    return "Check in webmail what is still on the server: the client deletes what it downloads."


def _upload_step(size: int, hours: float, uplink: float) -> str:
    if size == 0:
        return "Nothing to upload from this computer."
    when = " Start it in the evening and let it run overnight." if hours > 2 else ""
    minutes = math.ceil(hours * 60)
    duration = (
        f"about {minutes} minute{'s' if minutes > 1 else ''}"
        if hours < 1
        else f"about {hours:.1f} hours"
    )
    return f"Uploading {human_bytes(size)} at {uplink:g} Mbit/s takes {duration}.{when}"
