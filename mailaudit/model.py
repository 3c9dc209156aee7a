"""The records that flow through an audit: sources -> classify -> (probe, advise) -> report.

Every record is a frozen dataclass; enums are `str` enums so that JSON shows their values.
Passwords, tokens and password hashes have no field here, on purpose: they are never read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Protocol(str, Enum):
    POP3 = "pop3"
    IMAP = "imap"
    EXCHANGE = "exchange"
    OTHER = "other"  # news, feeds, chat: listed, never dropped


# The declared_type of an account whose protocol its client's files do not tell (the detection
# tier: eM Client, Mailbird, The Bat!, ...): listed as other, to be checked in the client.
UNKNOWN_TYPE = "unknown"


class Security(str, Enum):
    TLS = "tls"  # implicit TLS from the first byte (993/995)
    STARTTLS = "starttls"  # upgrade on the plain port
    NONE = "none"
    UNKNOWN = "unknown"


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Client(str, Enum):
    THUNDERBIRD = "thunderbird"  # Betterbird shares its profiles and is reported as Thunderbird
    SEAMONKEY = "seamonkey"
    OUTLOOK = "outlook"
    OUTLOOK_MAC = "outlook-mac"
    APPLE_MAIL = "apple-mail"
    WINDOWS_LIVE_MAIL = "windows-live-mail"
    WINDOWS_MAIL = "windows-mail"  # Vista's
    EVOLUTION = "evolution"
    CLAWS_MAIL = "claws-mail"
    SYLPHEED = "sylpheed"
    FETCHMAIL = "fetchmail"
    GETMAIL = "getmail"
    MUTT = "mutt"  # NeoMutt too
    POSTBOX = "postbox"
    OUTLOOK_EXPRESS = "outlook-express"
    KMAIL = "kmail"
    EM_CLIENT = "em-client"
    MAILBIRD = "mailbird"
    THE_BAT = "the-bat"
    WINDOWS_MAIL_APP = "windows-mail-app"  # Windows 10/11 Mail and Calendar
    OUTLOOK_NEW = "outlook-new"  # the new Outlook for Windows (olk.exe)


# The names the programs give themselves, for people to read; the JSON keeps the values above.
PRODUCT_NAMES: dict[Client, str] = {
    Client.THUNDERBIRD: "Thunderbird",
    Client.SEAMONKEY: "SeaMonkey",
    Client.OUTLOOK: "Outlook",
    Client.OUTLOOK_MAC: "Outlook for Mac",
    Client.APPLE_MAIL: "Apple Mail",
    Client.WINDOWS_LIVE_MAIL: "Windows Live Mail",
    Client.WINDOWS_MAIL: "Windows Mail",
    Client.OUTLOOK_EXPRESS: "Outlook Express",
    Client.EVOLUTION: "Evolution",
    Client.KMAIL: "KMail",
    Client.CLAWS_MAIL: "Claws Mail",
    Client.SYLPHEED: "Sylpheed",
    Client.POSTBOX: "Postbox",
    Client.FETCHMAIL: "fetchmail",
    Client.GETMAIL: "getmail",
    Client.MUTT: "Mutt",
    Client.EM_CLIENT: "eM Client",
    Client.MAILBIRD: "Mailbird",
    Client.THE_BAT: "The Bat!",
    Client.WINDOWS_MAIL_APP: "Mail and Calendar",  # Windows 10/11's Mail app, as the Store names it
    Client.OUTLOOK_NEW: "Outlook (new)",
}


@dataclass(frozen=True)
class Endpoint:
    """A server as the client is configured to reach it."""

    host: str | None
    port: int | None  # effective port: the client's default when the config names none
    security: Security
    username: str | None = None
    auth: str | None = None  # how the client logs in: "password", "oauth2", ...
    security_raw: str | None = None  # the client's own setting, kept where its meaning matters


@dataclass(frozen=True)
class Classification:
    basis: str  # why the protocol is what it is, in words
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalStore:
    """Where the client keeps this account's mail on disk."""

    path: str
    bytes: int  # mail bytes found there; 0 when the folder is missing
    exists: bool = True
    note: str | None = None  # e.g. shared with other accounts (Thunderbird's Global Inbox)
    measured: bool = True  # False when the files are not on this machine (a .reg export)


@dataclass(frozen=True)
class Finding:
    rule: str  # stable id, MA001...
    severity: Severity
    title: str
    detail: str


class ProbeStatus(str, Enum):
    COMPLETED = "completed"
    ERROR = "error"
    SKIPPED = "skipped"


class ProbeError(str, Enum):
    """Why a probe ended in error. BUG is mailaudit's own fault, never the server's."""

    DNS = "dns"  # the DNS server did not answer, or failed: nothing is known about the name
    NO_SUCH_HOST = "no-such-host"  # DNS answered: the name does not exist or has no address
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    PROTOCOL = "protocol"
    CLOSED = "closed"
    TOO_LARGE = "too-large"
    LOGIN = "login"
    BUG = "bug"


@dataclass(frozen=True)
class Target:
    """One endpoint to probe. Equal targets are probed once per run."""

    host: str
    port: int
    protocol: str | None  # "imap", "pop3", or None: tell from the greeting
    implicit_tls: bool  # TLS from the first byte; else start in plaintext, upgrade if offered
    try_starttls: bool = True  # False for --security none: look, do not upgrade
    guess_tls: bool = False  # implicit TLS is a guess (odd port): on a failed handshake, plaintext


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    names: tuple[str, ...]  # subjectAltName DNS entries
    not_after: str  # ISO-8601 UTC
    days_left: int
    self_signed: bool


@dataclass(frozen=True)
class TlsSession:
    version: str | None
    cipher: str | None
    verified: bool
    verify_error: str | None  # "expired", "name mismatch", "self-signed", "untrusted chain", ...
    verify_detail: str | None  # the TLS library's own words
    certificate: Certificate | None


@dataclass(frozen=True)
class MailboxCheck:
    """What a POP3 login found on the server (opt-in, over verified TLS only)."""

    messages: int
    bytes: int
    uidl_count: int | None


@dataclass(frozen=True)
class ProbeResult:
    host: str
    port: int
    expected_protocol: str | None
    implicit_tls: bool
    status: ProbeStatus
    error: ProbeError | None = None
    message: str | None = None
    protocol: str | None = None  # as the greeting says: "imap" or "pop3"
    address: str | None = None  # the IP address that answered
    greeting: str | None = None
    capabilities_before_tls: tuple[str, ...] | None = None
    capabilities_after_tls: tuple[str, ...] | None = None
    starttls_offered: bool | None = None
    starttls_enforced: bool | None = None  # plaintext login refused before the upgrade
    sasl: tuple[str, ...] = ()
    idle: bool | None = None
    imap4rev2: bool | None = None
    uidl: bool | None = None
    top: bool | None = None
    product: str | None = None
    tls: TlsSession | None = None
    mailbox: MailboxCheck | None = None
    elapsed_ms: int = 0

    @property
    def transport(self) -> str | None:
        """The transport security in one word: "tls" (from the first byte), "starttls-enforced"
        (no login before the upgrade), "starttls-optional", "none"; None when nothing answered."""
        if self.protocol is None:
            return None
        if self.tls is None:
            return "none"
        if self.implicit_tls:
            return "tls"
        return "starttls-enforced" if self.starttls_enforced else "starttls-optional"


@dataclass(frozen=True)
class DnsAnswer:
    name: str
    kind: str  # "MX", "SRV", "A", ...
    status: str  # "ok", "nxdomain", "no-answer", "timeout", "servfail", "error", "skipped"
    records: tuple[str, ...] = ()  # MX: "10 mx.example.test"; SRV: "0 1 993 imap.example.test"
    message: str | None = None


@dataclass(frozen=True)
class ConfigServer:
    protocol: str  # "imap" or "pop3"
    host: str
    port: int
    security: str  # "tls", "starttls", "none", "unknown"
    authentication: tuple[str, ...]


@dataclass(frozen=True)
class AutoconfigResult:
    url: str
    status: str  # "ok", "not-found", "error"
    message: str | None = None
    servers: tuple[ConfigServer, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A place the provider may offer IMAP, where it was learned, and what a probe found."""

    host: str
    port: int
    security: str  # "tls" (implicit) or "starttls"
    origin: str  # "SRV _imaps._tcp.example.com", "autoconfig", "provider: GMX", "guess"
    # True: answered as IMAP; False: checked, no IMAP there (refused, no such host, another
    # protocol); None: not probed (--offline), or could not check (DNS, timeout: see message)
    reachable: bool | None = None
    certificate_valid: bool | None = None
    message: str | None = None
    transport: str | None = None  # as ProbeResult.transport says, once it answered
    capabilities: tuple[str, ...] = ()  # after TLS where there was TLS: IMAP4rev1, IDLE, ...
    sign_in: tuple[str, ...] = ()  # SASL mechanisms offered (AUTH=...): PLAIN, XOAUTH2, ...
    oauth_only: bool | None = None  # only OAuth mechanisms offered, no password sign-in


@dataclass(frozen=True)
class Discovery:
    """Where this POP3 account's provider offers IMAP, found by every route there is."""

    domain: str | None
    # "offered" (an IMAP server answered), "not offered" (positive evidence: SRV says so, or DNS
    # answered and every candidate refused or does not exist), "unknown" (DNS or the network did
    # not answer: `best`, if any, is from provider data), "known" (--offline, provider data)
    imap: str
    provider: str | None = None
    provider_auth: str | None = None  # "password", "app-password", "oauth2"
    provider_note: str | None = None
    recognised_by: str | None = None  # "address domain gmx.de", "MX mx00.gmx.net", ...
    dns: tuple[DnsAnswer, ...] = ()
    autoconfig: tuple[AutoconfigResult, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    best: Candidate | None = None
    reason: str | None = (
        None  # why the verdict, in words: the evidence, or what could not be checked
    )


@dataclass(frozen=True)
class Account:
    client: Client
    user: str  # the OS user whose profile holds the account
    profile: str
    key: str  # the client's own key for the account, unique within its origin
    name: str
    email: str | None
    protocol: Protocol  # as declared by the client until classify() settles it
    declared_type: str  # the client's own word for the type: "pop3", "nntp", "ews", ...
    incoming: Endpoint
    origin: str  # the file or registry key the account was read from
    addresses: tuple[str, ...] = ()  # every identity's address, the default one first
    leave_on_server: bool | None = None  # POP only
    leave_on_server_days: int | None = None  # POP: the server copy is removed after N days
    leave_on_server_detail: str | None = None  # POP: the client's setting in words, raw value kept
    local_store: LocalStore | None = None
    classification: Classification | None = None  # set by classify()
    probes: tuple[ProbeResult, ...] = ()  # filled by the probe stage
    discovery: Discovery | None = None  # POP3 accounts: where the provider offers IMAP
    findings: tuple[Finding, ...] = ()
    recommendation: dict[str, Any] | None = None
    platform: str | None = None  # "windows", "macos", "linux": the system the client runs on

    @property
    def id(self) -> str:
        """Stable across runs: the same account on the same machine gives the same id."""
        return stable_id(self.client.value, self.user, self.origin, self.key)


@dataclass(frozen=True)
class LocalMailbox:
    """Mail kept on this machine that no configured account fetches or syncs: Apple Mail's On My
    Mac, Thunderbird's Local Folders when no POP3 account delivers into it, a PST attached to no
    account. Data beside the accounts, never an account of its own."""

    client: Client
    user: str
    profile: str
    name: str  # as the client shows it: "On My Mac", "Local Folders", the PST's file name
    store: LocalStore
    origin: str  # the file or folder it was found from
    recommendation: dict[str, Any] | None = None  # set by advise(): back it up
    platform: str | None = None  # "windows", "macos", "linux": how its paths are written

    @property
    def id(self) -> str:
        """Stable across runs, like an account's, and never equal to one."""
        return stable_id("local-mailbox", self.client.value, self.user, self.origin, self.name)


@dataclass(frozen=True)
class Skipped:
    """Something that could not be read, with where and why. Skipped input stays in the report."""

    source: str
    origin: str
    reason: str


@dataclass(frozen=True)
class Machine:
    hostname: str
    os: str
    root: str | None  # the --root folder, or None for the live machine
    generated_at: str  # ISO-8601 UTC


@dataclass(frozen=True)
class RunOptions:
    """The options that shaped what the run could find, as given or defaulted."""

    offline: bool
    timeout: float  # seconds, each network step
    concurrency: int
    dns_server: str | None  # "HOST:PORT", or None for the system's resolver


@dataclass(frozen=True)
class Run:
    """How the report was made: a report read later says whether its probes could run."""

    options: RunOptions
    started_at: str  # ISO-8601 UTC
    finished_at: str  # ISO-8601 UTC
    prepared_by: str | None = None  # the technician's name for the client's document


@dataclass(frozen=True)
class Summary:
    accounts: int
    pop3: int
    imap: int
    exchange: int
    other: int


@dataclass(frozen=True)
class Note:
    """Something about the whole run that every format says once, first: "no DNS answers"."""

    kind: str  # "dns-down", "network-down"
    text: str


@dataclass(frozen=True)
class MachineReport:
    tool_version: str
    machine: Machine
    accounts: tuple[Account, ...]
    skipped: tuple[Skipped, ...] = ()
    local_mailboxes: tuple[LocalMailbox, ...] = ()  # per user, beside the accounts
    findings: tuple[Finding, ...] = ()  # about the machine, not one account (unreadable input)
    run: Run | None = None  # None in reports written before 0.2
    notes: tuple[Note, ...] = ()  # about the run, shown before everything else
    schema_version: int = field(default=1, init=False)

    @property
    def summary(self) -> Summary:
        count = dict.fromkeys(Protocol, 0)
        for account in self.accounts:
            count[account.protocol] += 1
        return Summary(
            accounts=len(self.accounts),
            pop3=count[Protocol.POP3],
            imap=count[Protocol.IMAP],
            exchange=count[Protocol.EXCHANGE],
            other=count[Protocol.OTHER],
        )


WINDOWS_HOME = re.compile(r"^/(Users|Documents and Settings)/[^/]+/")


def shown_path(path: str, platform: str | None) -> str:
    """A path as the client's own system writes it: under --root a Windows profile's
    `/Users/anna/AppData/...` is `C:\\Users\\anna\\AppData\\...` on the client's PC."""
    if platform == "windows" and WINDOWS_HOME.match(path):
        return "C:" + path.replace("/", "\\")
    return path


def stable_id(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    return digest[:16]
