"""Findings and one recommendation per account. Pure: finished results in, advice out.

Every rule has a stable id (MA001...), a default severity and a test; the README lists them.
The RFC each one rests on is named beside it.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from mailaudit.model import (
    PRODUCT_NAMES,
    UNKNOWN_TYPE,
    Account,
    Client,
    Finding,
    LocalMailbox,
    LocalStore,
    MachineReport,
    ProbeError,
    ProbeResult,
    ProbeStatus,
    Protocol,
    Security,
    Severity,
    shown_path,
)
from mailaudit.providers import Provider, identify
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
UNREACHABLE = {
    ProbeError.REFUSED,
    ProbeError.TIMEOUT,
    ProbeError.UNREACHABLE,
    ProbeError.DNS,
    ProbeError.NO_SUCH_HOST,
}
# Where the new IMAP account is set up, where that is not in the client itself by its name.
SET_UP_IN = {
    Client.FETCHMAIL: "the mail client that reads the fetched mail",
    Client.GETMAIL: "the mail client that reads the fetched mail",
    Client.MUTT: "mutt (set folder=imaps://... and spoolfile=+INBOX)",
    Client.POSTBOX: "Postbox (or, as Postbox is discontinued, in Thunderbird)",
    Client.WINDOWS_MAIL_APP: "the new Outlook (the Mail app is retired)",
    Client.OUTLOOK_NEW: "Outlook",
}


def set_up_in(client: Client) -> str:
    return SET_UP_IN.get(client, PRODUCT_NAMES[client])


HOW_TO_MOVE = {
    Client.OUTLOOK: "In Outlook, drag the folders from the old data file into the new account's "
    "folders (or Copy Folder); Outlook uploads them to the server.",
    Client.THUNDERBIRD: "In Thunderbird, right-click each old folder, Copy To, and choose a folder "
    "of the new IMAP account; Thunderbird uploads the messages.",
    Client.SEAMONKEY: "In SeaMonkey, copy each old folder into the new IMAP account's folders.",
    Client.APPLE_MAIL: "In Apple Mail, drag the mailboxes from the old account (or On My Mac) onto "
    "the new IMAP account; Mail uploads them.",
    Client.OUTLOOK_MAC: "In Outlook for Mac, drag the folders from the old account (or On My "
    "Computer) onto the new IMAP account's folders; Outlook uploads them.",
    Client.WINDOWS_LIVE_MAIL: "In Windows Live Mail, drag each old folder onto the new IMAP "
    "account's folders (hold Ctrl to copy rather than move); Windows Live Mail uploads them.",
    Client.WINDOWS_MAIL: "In Windows Mail, select the messages of each old folder and drag them "
    "onto the matching folder of the new IMAP account; Windows Mail uploads them.",
    Client.EVOLUTION: "In Evolution, open each folder under On This Computer, select all "
    "messages, Message > Copy to Folder, and pick the matching folder of the new IMAP account; "
    "Evolution uploads them.",
    Client.CLAWS_MAIL: "In Claws Mail, right-click each old folder of the local mailbox, Move "
    "folder... (or select all messages and Copy to), and pick the new IMAP account; Claws Mail "
    "uploads them.",
    Client.SYLPHEED: "In Sylpheed, open each old folder, select all messages, Message > Copy, "
    "and pick the matching folder of the new IMAP account; Sylpheed uploads them.",
    Client.FETCHMAIL: "fetchmail keeps no folders of its own: the mail it fetched is in the local "
    "mailbox it delivered to; copy that mailbox into the new IMAP account with a mail client, "
    "then remove the poll entry from .fetchmailrc.",
    Client.GETMAIL: "getmail keeps no folders of its own: the mail it fetched is in its "
    "[destination]; copy that into the new IMAP account with a mail client, then remove the rc "
    "file.",
    Client.MUTT: "In mutt, open the old mailbox, tag all messages (T, then ~A), and save them "
    "(;s) to the new IMAP account's folder (imaps://.../INBOX); mutt uploads them.",
    Client.POSTBOX: "In Postbox, right-click each old folder, Copy To, and choose a folder of the "
    "new IMAP account; Postbox uploads the messages.",
    Client.OUTLOOK_EXPRESS: "In Outlook Express, open each folder under Local Folders, select all "
    "messages, Edit > Copy to Folder, and pick the matching folder of the new IMAP account; "
    "Outlook Express uploads them. (Windows Live Mail or Thunderbird can also import the "
    "folders.)",
    Client.KMAIL: "In KMail, right-click each folder under Local Folders, Copy Folder To, and pick "
    "the new IMAP account; KMail uploads them.",
    Client.EM_CLIENT: "In eM Client, select the messages of each old folder and drag them onto the "
    "matching folder of the new IMAP account; eM Client uploads them.",
    Client.MAILBIRD: "In Mailbird, select the messages of each old folder and move them to the "
    "matching folder of the new IMAP account; Mailbird uploads them.",
    Client.THE_BAT: "In The Bat!, select the messages of each old folder, Messages > Copy to "
    "Folder, and pick the matching folder of the new IMAP account; The Bat! uploads them.",
    Client.WINDOWS_MAIL_APP: "The Mail app no longer sends or receives: open the new Outlook, let "
    "it import the Mail app's accounts, and copy the local folders into the IMAP account there.",
    Client.OUTLOOK_NEW: "In the new Outlook, drag each old folder onto the new IMAP account's "
    "folders; Outlook uploads them.",
}
# Where to see an account's protocol in a client whose files do not say it.
HOW_TO_CHECK = {
    Client.EM_CLIENT: "In eM Client: Menu > Accounts, select the account; the tabs name IMAP or "
    "POP3 with the server and port.",
    Client.MAILBIRD: "In Mailbird: Menu > Settings > Accounts, select the account, Edit, Server "
    "settings: the incoming server shows IMAP or POP3.",
    Client.THE_BAT: "In The Bat!: Account > Properties > Transport: the receiving mail protocol "
    "(POP3 or IMAP4), server and port; Management > Leave messages on server.",
    Client.WINDOWS_MAIL_APP: "In the Mail app: Settings > Manage accounts > the account > Change "
    "mailbox sync settings > Advanced mailbox settings: the incoming server and its type.",
    Client.OUTLOOK_NEW: "In the new Outlook: Settings > Accounts > Email accounts > Manage: the "
    "account type (Microsoft 365, IMAP, POP) is shown there.",
}

# Clients whose local store is a format `mailaudit migrate` reads (Maildir, MH, .eml folders,
# the mbox of a mail spool).
MIGRATE_READS = frozenset(
    {
        Client.THUNDERBIRD,  # mbox or maildir
        Client.SEAMONKEY,
        Client.POSTBOX,
        Client.APPLE_MAIL,  # emlx
        Client.OUTLOOK,  # PST, with the pst extra (libpff)
        Client.WINDOWS_LIVE_MAIL,
        Client.WINDOWS_MAIL,
        Client.EVOLUTION,
        Client.CLAWS_MAIL,
        Client.SYLPHEED,
        Client.FETCHMAIL,
        Client.GETMAIL,
        Client.MUTT,
        Client.KMAIL,
    }
)


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
    root = report.machine.root
    accounts = []
    for account in report.accounts:
        if (
            account.id in policy.ignored_accounts
            or (account.email or "") in policy.ignored_accounts
        ):
            accounts.append(account)
            continue
        provider = _provider(account, providers)
        found = list(_findings(account, provider, policy))
        if report.notes:  # DNS or the network was down: said once, not once per endpoint
            found = [f for f in found if f.rule != "MA009"]
        findings = _kept(found, policy)
        accounts.append(
            replace(
                account,
                findings=tuple(findings),
                recommendation=recommend(account, provider, policy, root),
            )
        )
    machine_findings = _kept(
        [_finding("MA012", f"{s.origin}: {s.reason}") for s in report.skipped], policy
    )
    local = report.local_mailboxes
    accounts = [_with_local_mailboxes(a, local) for a in accounts]
    return replace(
        report,
        accounts=tuple(accounts),
        local_mailboxes=tuple(replace(m, recommendation=back_up(m, root)) for m in local),
        findings=tuple(machine_findings),
    )


def back_up(mailbox: LocalMailbox, root: str | None = None) -> dict[str, Any]:
    """A local mailbox holds the only copy of its mail: back it up before anything changes."""
    where = store_words(mailbox.store, mailbox.platform)
    return {
        "action": "back-up",
        "summary": f"Back up {mailbox.name}: it is kept only on this computer.",
        "steps": [
            f"Back up the local mailbox {where} before any change on this computer: "
            f"`{backup_command(mailbox.store.path, root)}`.",
            "To keep it on a server as well, copy its folders into an IMAP account "
            f"in {set_up_in(mailbox.client)}.",
        ],
    }


def backup_command(path: str | None, root: str | None) -> str:
    return f"mailaudit backup{root_option(root)} --to {backup_target(path, root)}"


def root_option(root: str | None) -> str:
    """A scan of a disk mounted at --root: the plan's commands must read that disk too, not the
    machine they run on."""
    return f" --root {shell_word(root)}" if root else ""


# A word cmd and PowerShell both pass on as it is: no ',' (PowerShell's array operator), '=' or
# ';' (cmd's argument separators), no quote or expansion character.
_PLAIN_WINDOWS = re.compile(r"[\w.:\\/+-]+", re.ASCII)
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:|^\\\\")


def shell_word(text: str) -> str:
    """`text` as one word of the shell it was typed in, to be pasted back there: a Windows path
    (a disk mounted on a Windows workbench) for cmd or PowerShell, any other for a POSIX shell.

    Windows: double quotes read alike in cmd and PowerShell (a Windows name holds no '"');
    where `$`, '`' or '%' would be expanded inside them, PowerShell's single quotes (the shell
    of a current Windows terminal) with a quote doubled. POSIX: shlex's single quotes.
    """
    if not _WINDOWS_PATH.match(text):
        return shlex.quote(text)
    if _PLAIN_WINDOWS.fullmatch(text):
        return text
    # A '\\' before the closing quote would escape it for the program's argument parser (the
    # MSVC rules Python's argv follows); the folder is the same without it.
    folder = text.rstrip("\\")
    text = folder if len(folder) > 2 else text
    if not re.search(r"[$`%]", text):
        return f'"{text}"'
    return "'" + text.replace("'", "''") + "'"


def backup_target(path: str | None, root: str | None = None) -> str:
    """An example backup drive, as the machine the command runs on names one: a USB disk on
    Windows, under /Volumes on a Mac, under /media on Linux. That is the audited machine (its
    store's path tells which), or with --root the workbench its disk is mounted on (the mount
    point tells which)."""
    if root and re.match(r"[A-Za-z]:|\\\\", root):  # a drive letter or a UNC path: Windows
        return "F:\\" if root[:2].upper() == "E:" else "E:\\"
    if root:
        return "/Volumes/Backup" if root.startswith("/Volumes/") else "/media/backup"
    if path and path.startswith(("/home/", "/root/")):
        return "/media/backup"
    if path and path.startswith("/Users/") and "/Library/" in path:
        return "/Volumes/Backup"
    return "E:\\"


def _store_path(account: Account) -> str | None:
    return account.local_store.path if account.local_store else None


def store_words(store: LocalStore, platform: str | None = None) -> str:
    """Where a store is, in its own system's notation, and how big, or why its size is not
    known: a store on another drive is named by its path, and one that could not be read is
    never "0 B"."""
    if not store.path:
        return f"({store.note or 'its place is not recorded'})"
    path = shown_path(store.path, platform)
    if not store.measured:
        if OTHER_DRIVE.match(store.path):
            return f"{path} (not on this disk, not measured)"
        return f"{path} (not measured: {store.note or 'not read'})"
    if not store.exists:
        return f"{path} (not found)"
    return f"{path} ({human_bytes(store.bytes)})"


# A Windows path on another drive than the system's: a second disk or a network share.
OTHER_DRIVE = re.compile(r"^(?![Cc]:)[A-Za-z]:[\\/]|^\\\\")


def _with_local_mailboxes(account: Account, local: tuple[LocalMailbox, ...]) -> Account:
    """The POP3 plan's backup step names the same user's local mailboxes of the same client:
    one backup before the move covers them too."""
    plan = account.recommendation
    mine = [
        m
        for m in local
        if (m.user, m.client, m.profile) == (account.user, account.client, account.profile)
    ]
    if not plan or not mine or account.protocol is not Protocol.POP3:
        return account
    extra = "; ".join(
        f"{m.name} in {store_words(m.store, m.platform)}"
        if m.store.path
        else f"{m.name} {store_words(m.store, m.platform)}"
        for m in mine
    )
    steps = [
        f"{step} Back up the local mailboxes beside it too: {extra}."
        if step.startswith(("Back up", "Until then, back up"))
        else step
        for step in plan.get("steps", [])
    ]
    return replace(account, recommendation={**plan, "steps": steps})


def highest(report: MachineReport) -> Severity | None:
    """The most severe finding of the whole report."""
    found = [f.severity for a in report.accounts for f in a.findings] + [
        f.severity for f in report.findings
    ]
    return max(found, key=SEVERITY_ORDER.index) if found else None


def severity_counts(report: MachineReport) -> dict[Severity, int]:
    """How many findings of each severity, the most severe first; every severity present."""
    counts = dict.fromkeys(reversed(SEVERITY_ORDER), 0)
    for finding in [f for a in report.accounts for f in a.findings] + list(report.findings):
        counts[finding.severity] += 1
    return counts


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


def only_copy_here(account: Account) -> bool:
    """POP3 mail the server does not keep (at once, or after N days)."""
    return account.protocol is Protocol.POP3 and (
        account.leave_on_server is False or account.leave_on_server_days is not None
    )


def _account_store(account: Account) -> str:
    if account.local_store is None:
        return "no local mail store found"
    return store_words(account.local_store, account.platform)


def _findings(account: Account, provider: Provider | None, policy: Policy) -> Any:
    endpoint = account.incoming
    store = account.local_store
    if account.protocol is Protocol.POP3:
        yield _finding(
            "MA001",
            f"{account.name} fetches mail by POP3 from {endpoint.host}: the "
            "mail lives on this computer, not on the server.",
        )
        if only_copy_here(account):
            where = ""
            if store and not store.measured:
                where = (
                    f" ({shown_path(store.path, account.platform)}: not on this disk, not measured)"
                )
            elif store and store.exists:
                where = (
                    f" ({human_bytes(store.bytes)} in {shown_path(store.path, account.platform)})"
                )
            days = account.leave_on_server_days
            if account.leave_on_server and days is not None:
                yield _finding(
                    "MA002",
                    f"Mail older than {days} days exists only on this computer{where}: "
                    f"the server deletes it after {days} days.",
                )
            else:
                yield _finding(
                    "MA002",
                    f"The only copy of this mail is on this computer{where}: it is deleted "
                    "from the server once downloaded.",
                )
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
            f"{account.discovery.domain}: {account.discovery.reason or 'IMAP is not offered'}; "
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


def recommend(
    account: Account, provider: Provider | None, policy: Policy, root: str | None = None
) -> dict[str, Any]:
    """One recommendation with concrete values: keep, switch to IMAP, secure, or use OAuth.
    `root`: the --root of the scan, which the plan's commands must be given again."""
    if account.protocol is Protocol.POP3:
        plan = _pop3(account, provider, policy, root)
        if account.incoming.security is Security.NONE:
            # MA003 comes first, whatever happens with IMAP: the password is exposed today.
            plan["steps"] = [*_secure_pop3_now(account), *plan["steps"]]
            if plan["action"] == "keep":
                plan["action"] = "secure-connection"
                plan["summary"] = f"Switch {account.name} to an encrypted connection now."
        return plan
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
    if account.declared_type == UNKNOWN_TYPE:
        return {
            "action": "check-in-client",
            "summary": f"Find out whether {account.name} is POP3 or IMAP: its client's files "
            "do not say.",
            "steps": [
                HOW_TO_CHECK.get(account.client, "Open the account's settings in its client."),
                *_if_pop3(account),
            ],
        }
    return {"action": "keep", "summary": f"{account.name}: no change needed.", "steps": []}


def _if_pop3(account: Account) -> list[str]:
    """What to do when the client shows POP3, for an account whose protocol is unknown."""
    if account.client is Client.OUTLOOK_NEW:
        # The new Outlook syncs third-party accounts, POP3 too, through Microsoft's cloud.
        return ["Even a POP3 account is kept in Microsoft's cloud copy: nothing to move."]
    where = f" ({account.local_store.path})" if account.local_store else ""
    return [
        f"If it is POP3, the mail may exist only on this computer: back up the local store "
        f"first{where}, then create an IMAP account for the same address.",
        HOW_TO_MOVE.get(account.client, "Copy the old folders into the new IMAP account."),
    ]


def _secure_pop3_now(account: Account) -> list[str]:
    host = account.incoming.host or "the POP3 server"
    return [
        f"Now, before anything else: set {host} to SSL/TLS on port 995 (or STARTTLS on port "
        "110) in the account settings; the password travels unencrypted today.",
        "Then change the password: it has travelled unencrypted (RFC 8314 §4.1).",
    ]


def _pop3(
    account: Account, provider: Provider | None, policy: Policy, root: str | None
) -> dict[str, Any]:
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
        if discovery is not None and discovery.imap in ("unknown", "known"):
            source += ", not checked"
    elif discovery is None or discovery.imap != "not offered":
        # Unknown is never "keep": a failure to check says nothing about the provider.
        offline = all(p.status is ProbeStatus.SKIPPED for p in account.probes)
        looked = (
            "Run mailaudit online (without --offline)"
            if offline
            else "When the network works, run mailaudit again"
        )
        return {
            "action": "find-imap",
            "summary": f"Find out where {account.incoming.host}'s provider offers IMAP.",
            "steps": [
                f"{looked}, or `mailaudit lookup` with the address, to look the provider up "
                "by DNS, autoconfig and probes"
                + (f" ({discovery.reason})." if discovery and discovery.reason else "."),
                f"Until then, back up the local mail store, {_account_store(account)}: "
                + ("it holds the only copy" if only_copy_here(account) else "keep it safe")
                + f": `{backup_command(_store_path(account), root)}`.",
            ],
        }
    else:
        why = discovery.reason or "the provider does not offer IMAP"
        if not only_copy_here(account):
            return {
                "action": "keep",
                "summary": f"Keep {account.name} on POP3: {why}.",
                "steps": ["Back up the local mail store regularly."],
            }
        # The only copy is here: the account stays in the plan even though it stays on POP3.
        return {
            "action": "back-up",
            "summary": f"Keep {account.name} on POP3 ({why}), and back up its mail: this "
            "computer holds the only copy.",
            "steps": [
                f"Back up the local mail store now and regularly: {_account_store(account)}: "
                f"`{backup_command(_store_path(account), root)}`.",
                "Leave a copy of messages on the server, if the provider allows it.",
            ],
        }
    store = account.local_store
    size = store.bytes if store and store.exists and store.measured else 0
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
            f"Back up first: `{backup_command(store.path, root)}` copies the local "
            f"mail store {_account_store(account)}."
            if store
            else f"Back up first: `{backup_command(None, root)}`."
        ),
        f"Create a new IMAP account in {set_up_in(account.client)}: "
        f"server {best_host}, "
        f"port {best_port}, {settings['security']}, "
        f"user name {settings['username'] or 'as before'}, "
        f"sign-in: {settings['sign_in']}.",
        _how_to_move(account, account.incoming.username, best_host, best_port, best_security, root),
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


def _how_to_move(
    account: Account, username: str | None, host: str, port: int, security: str, root: str | None
) -> str:
    by_hand = HOW_TO_MOVE.get(account.client, "Copy the old folders into the new IMAP account.")
    if account.client not in MIGRATE_READS:
        return by_hand
    login = f"{quote(username, safe='')}@" if username else ""  # RFC 3986: '@' in a user is %40
    scheme = "imaps" if security == "tls" else "imap"  # imap://: STARTTLS on the plain port
    extra = (
        " (reading a PST needs `pip install 'mailaudit[pst]'`)"
        if account.client is Client.OUTLOOK
        else ""
    )
    return (
        f"{by_hand} Or let mailaudit upload them{extra}: "
        f"mailaudit migrate --account {account.id}{root_option(root)} "
        f"--to {scheme}://{login}{host}:{port}"
    )


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
