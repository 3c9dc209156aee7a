"""The fleet summary: many machines' JSON reports (schema_version 1) read back and added up.

Reports come from other PCs, copied by hand or by a script, so each file is checked before it
is counted: a file that cannot be used is refused with a reason, never silently dropped.

The summary streams: it reads one report at a time and keeps only the few fields it adds up, so
ten thousand reports cost what one does plus the rows of the POP3 accounts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeGuard

READ_SCHEMA_VERSION = 1
TOOL_NAME = "mailaudit"
# The sample's report is 46 KB for 16 accounts: even a thousand accounts stay near 3 MB.
MAX_REPORT_BYTES = 64 * 1024 * 1024
PROTOCOLS = ("pop3", "imap", "exchange", "other")
# The top-level keys of mailaudit's other JSON documents, and what to call them when refused.
OTHER_DOCUMENTS = {"probes": "a probe report", "lookups": "a lookup report"}


@dataclass(frozen=True)
class LoadedReport:
    path: Path
    document: dict[str, Any]  # the parsed report, checked to hold every field the summary reads


@dataclass(frozen=True)
class Refused:
    path: str
    reason: str  # one line, for the technician


@dataclass(frozen=True)
class Duplicate:
    """A report identical to one already counted: same machine, time and accounts."""

    path: str
    same_as: str


@dataclass(frozen=True, slots=True)
class MachineSummary:
    machine: str  # the hostname, with the report path when two reports share a hostname
    hostname: str
    report: str  # the report file it was read from
    generated_at: str
    accounts: int
    pop3: int
    bytes_only_here: int  # mail in local stores the server does not keep, and local mailboxes
    local_mailboxes: int = 0  # mailboxes of no account (On My Mac, Local Folders, a lone PST)
    local_mailbox_bytes: int = 0  # measured bytes of those


@dataclass(frozen=True, slots=True)
class Pop3Account:
    machine: str
    hostname: str
    report: str
    user: str
    client: str  # the report's word: a newer mailaudit may name clients this one does not know
    name: str
    email: str | None
    host: str | None
    port: int | None
    username: str | None
    leave_on_server: bool | None
    leave_on_server_days: int | None
    server_keeps_mail: bool | None  # False: the PC holds the only copy; None: not known
    local_store_path: str | None
    local_store_bytes: int | None
    local_store_measured: bool | None  # False: the store was not on the scanned disk


@dataclass(frozen=True)
class SplitMailbox:
    """One POP3 mailbox downloaded by several machines: each holds only part of the mail."""

    host: str  # lower-cased
    login: str  # the username lower-cased, or the address when the client names no username
    machines: tuple[str, ...]
    accounts: tuple[Pop3Account, ...]  # every configuration, several per machine possible


@dataclass(frozen=True)
class ClientCount:
    client: str
    accounts: int


@dataclass(frozen=True)
class FleetTotals:
    machines: int
    accounts: int
    pop3: int
    imap: int
    exchange: int
    other: int
    by_client: tuple[ClientCount, ...]  # most accounts first
    bytes_only_on_pcs: int
    stores_only_on_pcs: int  # local stores counted in bytes_only_on_pcs, each once
    stores_not_measured: int  # of those, stores not on the scanned disk: their bytes are unknown
    local_mailboxes: int = 0
    local_mailbox_bytes: int = 0


@dataclass(frozen=True)
class FleetSummary:
    totals: FleetTotals
    machines: tuple[MachineSummary, ...]
    pop3_accounts: tuple[Pop3Account, ...]
    split_mailboxes: tuple[SplitMailbox, ...]
    refused: tuple[Refused, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    warnings: tuple[str, ...] = ()  # one line each: what the technician should look at


def read_reports(paths: Sequence[Path]) -> Iterator[LoadedReport | Refused]:
    """Each report of the files and folders (searched recursively) given, one at a time, in
    order; a file given twice, or reached twice, is read once."""
    seen: set[Path] = set()
    for path in paths:
        for found in _report_files(path):
            if isinstance(found, Refused):
                yield found
                continue
            identity = found.resolve()
            if identity in seen:
                continue
            seen.add(identity)
            document, problem = _read_report(found)
            if document is None:
                yield Refused(str(found), problem or "unreadable")
            else:
                yield LoadedReport(found, document)


def summarize(items: Iterable[LoadedReport | Refused]) -> FleetSummary:
    """Add the reports up as they come; each one is dropped once its figures are taken."""
    tally = _Tally()
    for item in items:
        if isinstance(item, Refused):
            tally.refused.append(item)
        else:
            tally.add(item)
    return tally.finish()


class _Tally:
    """What the summary keeps of the reports read so far: counts and the POP3 rows."""

    def __init__(self) -> None:
        self.machines: list[MachineSummary] = []
        self.pop3_accounts: list[Pop3Account] = []
        self.protocols: Counter[str] = Counter()
        self.clients: Counter[str] = Counter()
        self.stores_counted = 0
        self.stores_not_measured = 0
        self.refused: list[Refused] = []
        self.duplicates: list[Duplicate] = []
        self.identities: dict[tuple[str, str, str], str] = {}  # identity -> first report path

    def add(self, report: LoadedReport) -> None:
        document = report.document
        hostname: str = document["machine"]["hostname"]
        generated_at: str = document["machine"]["generated_at"]
        accounts, local = _accounts_and_local_mailboxes(document)
        identity = (hostname.lower(), generated_at, _account_ids(document["accounts"]))
        first = self.identities.setdefault(identity, str(report.path))
        if first != str(report.path):
            self.duplicates.append(Duplicate(str(report.path), first))
            return
        self.protocols.update(_protocol(account) for account in accounts)
        self.clients.update(account["client"] for account in accounts)
        path = str(report.path)  # one string shared by every row of this report
        here = [
            _pop3_account(hostname, path, account)
            for account in accounts
            if _protocol(account) == "pop3"
        ]
        stores = _stores_only_here(here, local)
        self.stores_counted += len(stores)
        self.stores_not_measured += sum(1 for _, measured in stores.values() if measured is False)
        self.pop3_accounts += here
        self.machines.append(
            MachineSummary(
                machine=hostname,
                hostname=hostname,
                report=path,
                generated_at=generated_at,
                accounts=len(accounts),
                pop3=len(here),
                bytes_only_here=sum(size for size, _ in stores.values()),
                local_mailboxes=len(local),
                local_mailbox_bytes=sum(_measured_bytes(m.get("local_store")) for m in local),
            )
        )

    def finish(self) -> FleetSummary:
        # Labels need every hostname: two reports sharing one are told apart by their path.
        shared = Counter(m.hostname.lower() for m in self.machines)
        label_of = {
            m.report: f"{m.hostname} ({m.report})" if shared[m.hostname.lower()] > 1 else m.hostname
            for m in self.machines
        }
        machines = tuple(replace(m, machine=label_of[m.report]) for m in self.machines)
        # Only the rows of shared hostnames change: the others keep their (shared) strings.
        pop3_accounts = [
            a if label_of[a.report] == a.machine else replace(a, machine=label_of[a.report])
            for a in self.pop3_accounts
        ]
        self.pop3_accounts = []
        warnings = [
            f"several reports are of {hostname}: if it is one PC scanned twice, its mailboxes "
            "show as split across machines"
            for hostname in sorted(h for h, count in shared.items() if count > 1)
        ]
        warnings += [
            f"{m.machine}: no mail account found; check that the scan ran as administrator "
            "or with --root at the disk's top folder"
            for m in machines
            if m.accounts == 0 and m.local_mailboxes == 0
        ]
        totals = FleetTotals(
            machines=len(machines),
            accounts=sum(self.protocols.values()),
            pop3=self.protocols["pop3"],
            imap=self.protocols["imap"],
            exchange=self.protocols["exchange"],
            other=self.protocols["other"],
            by_client=tuple(
                ClientCount(client, count)
                for client, count in sorted(self.clients.items(), key=lambda i: (-i[1], i[0]))
            ),
            bytes_only_on_pcs=sum(machine.bytes_only_here for machine in machines),
            stores_only_on_pcs=self.stores_counted,
            stores_not_measured=self.stores_not_measured,
            local_mailboxes=sum(machine.local_mailboxes for machine in machines),
            local_mailbox_bytes=sum(machine.local_mailbox_bytes for machine in machines),
        )
        return FleetSummary(
            totals=totals,
            machines=machines,
            pop3_accounts=tuple(pop3_accounts),
            split_mailboxes=_split_mailboxes(pop3_accounts),
            refused=tuple(self.refused),
            duplicates=tuple(self.duplicates),
            warnings=tuple(warnings),
        )


def _account_ids(accounts: list[dict[str, Any]]) -> str:
    ids = sorted(str(account.get("id")) for account in accounts)
    return hashlib.sha256("\x1f".join(ids).encode("utf-8", "surrogatepass")).hexdigest()


def _report_files(path: Path) -> Iterator[Path | Refused]:
    """The *.json files of a folder and its sub-folders (links not followed), or the file."""
    if not path.is_dir():
        if path.exists():
            yield path
        else:
            yield Refused(str(path), "no such file or folder")
        return
    found = False
    for folder, dirs, files in os.walk(path, onerror=None):
        dirs.sort()
        for name in sorted(files):
            # Reports copied from Windows may be named REPORT.JSON.
            if name.lower().endswith(".json"):
                found = True
                yield Path(folder) / name
    if not found:
        if not os.access(path, os.R_OK | os.X_OK):
            yield Refused(str(path), "cannot list the folder: permission denied")
        else:
            yield Refused(str(path), "no *.json report in this folder or below")


def _read_report(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        if not path.is_file():
            return None, "not a regular file"
        if path.stat().st_size > MAX_REPORT_BYTES:
            return None, _too_large()
        with path.open("rb") as stream:
            # Read one byte past the bound: a file that grew since stat() is caught here.
            raw = stream.read(MAX_REPORT_BYTES + 1)
    except OSError as error:
        return None, f"cannot read: {error.strerror or error}"
    if len(raw) > MAX_REPORT_BYTES:
        return None, _too_large()
    if not raw.strip():
        return None, "not JSON: the file is empty"
    try:
        # From bytes, json detects UTF-8, UTF-16 and UTF-32 with or without a byte order mark
        # (RFC 8259 section 8.1): Windows PowerShell 5 writes `>` redirections as UTF-16.
        document = json.loads(raw)
    except UnicodeDecodeError as error:
        return None, f"not JSON: not UTF-8 text (byte {error.start})"
    except RecursionError:
        return None, "not a mailaudit report (JSON nested too deeply)"
    except ValueError as error:  # JSONDecodeError, and integers longer than Python accepts
        return None, f"not JSON: {_one_line(str(error))}"
    problem = _report_problem(document)
    if problem is not None:
        return None, problem
    return document, None


def _too_large() -> str:
    return f"larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB: not a mailaudit report"


def _report_problem(document: object) -> str | None:
    if not isinstance(document, dict):
        return "not a mailaudit report (JSON, but not an object)"
    for key, kind in OTHER_DOCUMENTS.items():
        if key in document and "machine" not in document:
            return f"this is {kind}, not a scan report: run `mailaudit scan --format json`"
    tool = document.get("tool")
    name = tool.get("name") if isinstance(tool, dict) else None
    if name != TOOL_NAME:
        found = "no tool.name" if name is None else f"tool.name is {_shown(name)}"
        return f"not a mailaudit report ({found})"
    version = document.get("schema_version")
    if _is_whole(version) and version > READ_SCHEMA_VERSION:
        return (
            f"schema_version {version} is newer than this mailaudit reads "
            f"({READ_SCHEMA_VERSION}): update mailaudit"
        )
    if not _is_whole(version) or version != READ_SCHEMA_VERSION:
        found = "missing" if version is None else _shown(version)
        return f"schema_version {found} is unknown (this mailaudit reads {READ_SCHEMA_VERSION})"
    if "fleet" in document and "machine" not in document:
        return "a mailaudit fleet summary, not a machine report"
    return _shape_problem(document)


def _shape_problem(document: dict[str, Any]) -> str | None:
    """The fields the summary reads, with the types schema-v1.json gives them."""
    machine = document.get("machine")
    if not isinstance(machine, dict):
        return _broken("machine", "an object", machine)
    for key in ("hostname", "generated_at"):
        if not isinstance(machine.get(key), str):
            return _broken(f"machine.{key}", "text", machine.get(key))
    accounts = document.get("accounts")
    if not isinstance(accounts, list):
        return _broken("accounts", "a list", accounts)
    for index, account in enumerate(accounts):
        problem = _account_problem(f"accounts[{index}]", account)
        if problem is not None:
            return problem
    mailboxes = document.get("local_mailboxes", [])  # absent in reports before 0.2
    if not isinstance(mailboxes, list):
        return _broken("local_mailboxes", "a list", mailboxes)
    for index, mailbox in enumerate(mailboxes):
        where = f"local_mailboxes[{index}]"
        if not isinstance(mailbox, dict):
            return _broken(where, "an object", mailbox)
        for key in ("client", "user", "name"):
            if not isinstance(mailbox.get(key), str):
                return _broken(f"{where}.{key}", "text", mailbox.get(key))
        if mailbox.get("local_store") is None:
            return _broken(f"{where}.local_store", "an object", None)
        problem = _store_problem(f"{where}.local_store", mailbox.get("local_store"))
        if problem is not None:
            return problem
    return None


def _account_problem(where: str, account: object) -> str | None:
    if not isinstance(account, dict):
        return _broken(where, "an object", account)
    for key in ("client", "user", "name", "protocol"):
        if not isinstance(account.get(key), str):
            return _broken(f"{where}.{key}", "text", account.get(key))
    if not _is_optional(account.get("email"), str):
        return _broken(f"{where}.email", "text or null", account.get("email"))
    incoming = account.get("incoming")
    if not isinstance(incoming, dict):
        return _broken(f"{where}.incoming", "an object", incoming)
    for key in ("host", "username"):
        if not _is_optional(incoming.get(key), str):
            return _broken(f"{where}.incoming.{key}", "text or null", incoming.get(key))
    port = incoming.get("port")
    if port is not None and not (_is_whole(port) and 0 < port < 65536):
        return _broken(f"{where}.incoming.port", "a port number or null", port)
    if not _is_optional(account.get("leave_on_server"), bool):
        found = account.get("leave_on_server")
        return _broken(f"{where}.leave_on_server", "true, false or null", found)
    days = account.get("leave_on_server_days")  # beside the contract: absent means not set
    if days is not None and not (_is_whole(days) and days >= 0):
        return _broken(f"{where}.leave_on_server_days", "a number of days or null", days)
    return _store_problem(f"{where}.local_store", account.get("local_store"))


def _store_problem(where: str, store: object) -> str | None:
    if store is None:
        return None
    if not isinstance(store, dict):
        return _broken(where, "an object or null", store)
    if not isinstance(store.get("path"), str):
        return _broken(f"{where}.path", "text", store.get("path"))
    size = store.get("bytes")
    if not (_is_whole(size) and size >= 0):
        return _broken(f"{where}.bytes", "a byte count", size)
    if not _is_optional(store.get("measured"), bool):
        return _broken(f"{where}.measured", "true, false or null", store.get("measured"))
    return None


def _is_whole(value: object) -> TypeGuard[int]:
    # JSON true would pass as 1 otherwise: bool is a subclass of int in Python.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_optional(value: object, kind: type) -> bool:
    return value is None or isinstance(value, kind)


def _broken(where: str, expected: str, found: object) -> str:
    return f"not a usable mailaudit report: {where} should be {expected}, not {_shown(found)}"


def _shown(value: object) -> str:
    """A value from the file, short and on one line, as it reads in the JSON."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _protocol(account: dict[str, Any]) -> str:
    protocol: str = account["protocol"]
    return protocol if protocol in PROTOCOLS else "other"


def _machine_labels(reports: Sequence[LoadedReport]) -> list[str]:
    """Hostnames; where two reports share one (a re-imaged PC, a default name), add the path."""
    hostnames = [report.document["machine"]["hostname"] for report in reports]
    # Windows and DNS names are case-insensitive: EMPFANG-PC and empfang-pc read the same.
    seen = Counter(hostname.lower() for hostname in hostnames)
    return [
        f"{hostname} ({report.path})" if seen[hostname.lower()] > 1 else hostname
        for hostname, report in zip(hostnames, reports, strict=True)
    ]


def _pop3_account(hostname: str, report: str, account: dict[str, Any]) -> Pop3Account:
    incoming = account["incoming"]
    store = account.get("local_store")
    leave_on_server: bool | None = account.get("leave_on_server")
    days: int | None = account.get("leave_on_server_days")
    return Pop3Account(
        machine=hostname,  # the label is settled once every hostname is known
        hostname=hostname,
        report=report,
        user=account["user"],
        client=account["client"],
        name=account["name"],
        email=account.get("email"),
        host=incoming.get("host"),
        port=incoming.get("port"),
        username=incoming.get("username"),
        leave_on_server=leave_on_server,
        leave_on_server_days=days,
        server_keeps_mail=_server_keeps_mail(leave_on_server, days),
        local_store_path=store["path"] if store else None,
        local_store_bytes=store["bytes"] if store else None,
        local_store_measured=store.get("measured") if store else None,
    )


def _server_keeps_mail(leave_on_server: bool | None, days: int | None) -> bool | None:
    if leave_on_server is None:
        return None
    # "Leave on server for N days": after N days the PC holds the only copy.
    return leave_on_server and days is None


def _accounts_and_local_mailboxes(
    document: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The configured accounts, and the local mailboxes. Reports written before local
    mailboxes had their own list (0.1) showed them as accounts of protocol "other" declared
    "local" (Apple Mail's On My Mac): those count as local mailboxes here too."""
    accounts: list[dict[str, Any]] = []
    local: list[dict[str, Any]] = list(document.get("local_mailboxes") or [])
    for account in document["accounts"]:
        if account["protocol"] == "other" and account.get("declared_type") == "local":
            local.append(account)
        else:
            accounts.append(account)
    return accounts, local


def _measured_bytes(store: object) -> int:
    if not isinstance(store, dict) or store.get("measured") is False:
        return 0
    size = store.get("bytes")
    return size if _is_whole(size) and size >= 0 and store.get("exists", True) else 0


def _stores_only_here(
    accounts: list[Pop3Account], local_mailboxes: list[dict[str, Any]]
) -> dict[str, tuple[int, bool | None]]:
    """Bytes and measured flag per local store, each once: Thunderbird accounts may share Local
    Folders."""
    stores: dict[str, tuple[int, bool | None]] = {}
    for account in accounts:
        if account.server_keeps_mail is False and account.local_store_path is not None:
            stores.setdefault(
                account.local_store_path,
                (account.local_store_bytes or 0, account.local_store_measured),
            )
    for mailbox in local_mailboxes:
        store = mailbox.get("local_store")
        if store:
            stores.setdefault(store["path"], (_measured_bytes(store), store.get("measured")))
    return stores


def _mailbox_key(account: Pop3Account) -> tuple[str, str] | None:
    login = account.username or account.email
    if not account.host or not login:
        return None  # without a server and a login there is nothing to match on
    # A trailing dot is the same DNS name written fully qualified.
    return account.host.lower().rstrip("."), login.lower()


def _split_mailboxes(accounts: list[Pop3Account]) -> tuple[SplitMailbox, ...]:
    by_mailbox: dict[tuple[str, str], list[Pop3Account]] = {}
    for account in accounts:
        key = _mailbox_key(account)
        if key is not None:
            by_mailbox.setdefault(key, []).append(account)
    split = []
    for (host, login), configured in sorted(by_mailbox.items(), key=lambda item: item[0]):
        machines = tuple(dict.fromkeys(account.machine for account in configured))
        if len(machines) > 1:
            split.append(SplitMailbox(host, login, machines, tuple(configured)))
    return tuple(split)
