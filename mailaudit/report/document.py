"""The client document's content, once, for the Markdown and HTML renderers to dress.

Two parts: page one for the owner (in the catalog's language: the verdict, two charts, what POP
and IMAP mean, what happens next per person, most mail at risk first), then the technician's
appendix (English, as the technical words are: accounts, every finding, the full plan with its
tool instructions, probes, what was skipped, paths, how the run was made).

Everything here is plain text; each renderer escapes it for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailaudit.advise import SEVERITY_ORDER, highest, store_words
from mailaudit.model import (
    PRODUCT_NAMES,
    Account,
    LocalMailbox,
    MachineReport,
    Protocol,
    Severity,
    shown_path,
)
from mailaudit.report.at_risk import OnlyCopy, only_copies, only_here
from mailaudit.report.catalog import Catalog, catalog
from mailaudit.report.table import discovery_summary, probe_summary
from mailaudit.report.words import leave_on_server
from mailaudit.units import human_bytes

ACCOUNT_COLUMNS = (
    "User",
    "Program",
    "Account",
    "Type",
    "Server",
    "Copy on server",
    "Mail on this PC",
)
LOCAL_COLUMNS = ("User", "Program", "Mailbox", "Where and how big")
SERIOUS = (Severity.HIGH, Severity.CRITICAL)
# Rules whose meaning page one tells in its own words; any other serious finding is named.
TOLD_ON_PAGE_ONE = {"MA001", "MA002", "MA003", "MA010", "MA011"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    shown: str  # the value as the reader reads it: "48,0 MB", "7"


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    empty: str  # said instead of the chart when there are no bars
    note: str | None = None


@dataclass(frozen=True)
class Person:
    name: str
    at_risk: str | None  # "48.0 MB only on this PC"
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    account: str
    summary: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Appendix:
    heading: str
    accounts: tuple[tuple[str, ...], ...]  # rows under ACCOUNT_COLUMNS
    local_mailboxes: tuple[tuple[str, str, str, str], ...]  # user, program, name, size
    findings: tuple[tuple[str, str, str, str], ...]  # severity, rule, where, detail
    plans: tuple[Plan, ...]
    probes: tuple[str, ...]
    skipped: tuple[str, ...]
    paths: tuple[tuple[str, str], ...]  # what, path
    run: tuple[tuple[str, str], ...]  # option, value


@dataclass(frozen=True)
class Document:
    lang: str
    title: str
    notes: tuple[str, ...]  # about the whole run (no DNS answers): shown before everything
    meta: tuple[tuple[str, str], ...]  # label, value: date, computer, tool, prepared by
    status: str  # "red", "amber" or "green"
    status_label: str
    verdict: tuple[str, ...]
    charts: tuple[Chart, Chart]  # mail only on this PC per mailbox; accounts by type
    explain: tuple[tuple[str, tuple[str, ...]], ...]  # heading, paragraphs
    actions_heading: str
    people: tuple[Person, ...]  # most mail at risk first
    no_actions: str
    appendix: Appendix


def document(report: MachineReport, lang: str = "en") -> Document:
    words = catalog(lang)
    only = only_copies(report)
    machine = report.machine
    meta = [
        (words.text("meta.date"), words.date(machine.generated_at)),
        (words.text("meta.machine"), f"{machine.hostname} ({machine.os})"),
        (words.text("meta.tool"), f"mailaudit {report.tool_version}"),
    ]
    if report.run is not None and report.run.prepared_by:
        meta.append((words.text("meta.prepared_by"), report.run.prepared_by))
    status = _status(report)
    return Document(
        lang=lang,
        title=words.text("title", machine=machine.hostname),
        notes=tuple(note.text for note in report.notes),
        meta=tuple(meta),
        status=status,
        status_label=words.text(f"status.{status}"),
        verdict=_verdict(report, only, words),
        charts=(_only_here_chart(only, words), _types_chart(report, words)),
        explain=(
            (
                words.text("explain.heading"),
                (words.text("explain.pop"), words.text("explain.imap")),
            ),
            (words.text("backup.heading"), (words.text("backup.text"),)),
        ),
        actions_heading=words.text("actions.heading"),
        people=_people(report, words),
        no_actions=words.text("actions.none"),
        appendix=_appendix(report, words),
    )


def _status(report: MachineReport) -> str:
    worst = highest(report)
    if worst in SERIOUS:
        return "red"
    if worst in (Severity.MEDIUM, Severity.LOW):
        return "amber"
    return "green"


def _verdict(report: MachineReport, only: list[OnlyCopy], words: Catalog) -> tuple[str, ...]:
    """Two sentences at most: what is at risk, then what happens next."""
    measured = [c for c in only if c.bytes is not None]
    unmeasured = len(only) - len(measured)
    risks = []
    if measured:
        total = sum(c.bytes or 0 for c in measured)
        risks.append(words.count("verdict.only_here", len(measured), size=words.size(total)))
    if unmeasured:
        key = "verdict.unmeasured_more" if measured else "verdict.unmeasured"
        risks.append(words.count(key, unmeasured))
    unencrypted = [a for a in report.accounts if any(f.rule == "MA003" for f in a.findings)]
    if unencrypted:
        risks.append(words.count("verdict.unencrypted", len(unencrypted)))
    oauth = [a for a in report.accounts if any(f.rule == "MA011" for f in a.findings)]
    if oauth:
        risks.append(words.count("verdict.oauth", len(oauth)))
    others = [
        f
        for a in report.accounts
        for f in a.findings
        if f.severity in SERIOUS and f.rule not in TOLD_ON_PAGE_ONE
    ]
    if others:
        risks.append(words.count("verdict.other_serious", len(others)))
    if not risks and not _people_to_act(report):
        return (words.text("verdict.none"),)
    movable = len([a for a in report.accounts if _action(a) == "switch-to-imap"])
    if only and movable:
        then = words.count("verdict.next_backup_move", movable)
    elif only:
        then = words.text("verdict.next_backup")
    elif movable:
        then = words.count("verdict.next_move", movable)
    else:
        then = words.text("verdict.next")
    return (*([_sentence("; ".join(risks))] if risks else []), then)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _people_to_act(report: MachineReport) -> bool:
    return any(_action(a) not in (None, "keep") for a in report.accounts) or bool(
        report.local_mailboxes
    )


def _only_here_chart(only: list[OnlyCopy], words: Catalog) -> Chart:
    bars = tuple(
        Bar(f"{c.user}: {c.name}", c.bytes, words.size(c.bytes))
        for c in only
        if c.bytes is not None
    )
    unmeasured = [f"{c.user}: {c.name}" for c in only if c.bytes is None]
    note = words.text("chart.only_here.unmeasured", names=", ".join(unmeasured))
    return Chart(
        words.text("chart.only_here"),
        bars,
        words.text("chart.only_here.empty"),
        note if unmeasured else None,
    )


def _types_chart(report: MachineReport, words: Catalog) -> Chart:
    summary = report.summary
    counts = [
        ("pop3", summary.pop3),
        ("imap", summary.imap),
        ("exchange", summary.exchange),
        ("other", summary.other),
    ]
    bars = tuple(
        Bar(words.text(f"type.{kind}"), n, str(n))
        for kind, n in counts
        if n or kind != "other"  # "other" only when there is one: news and feeds are rare
    )
    return Chart(
        words.text("chart.types"), bars if summary.accounts else (), words.text("chart.types.empty")
    )


# ---------------------------------------------------------------- what happens next


def _people(report: MachineReport, words: Catalog) -> tuple[Person, ...]:
    """Per person, the accounts that need something, biggest only-copy first; people likewise."""
    plans: dict[str, list[tuple[int, int, list[str]]]] = {}  # user -> (bytes, severity, actions)
    for account in report.accounts:
        actions = _account_actions(account, words)
        if actions:
            size = _at_risk(account) or 0
            worst = max((SEVERITY_ORDER.index(f.severity) for f in account.findings), default=0)
            plans.setdefault(account.user, []).append((size, worst, actions))
    for mailbox in report.local_mailboxes:
        store = mailbox.store
        if not store.exists or (store.measured and store.bytes == 0):
            continue
        name = words.text("account", name=mailbox.name)
        shown = words.size(store.bytes) if store.measured else "?"
        program = PRODUCT_NAMES[mailbox.client]
        actions = [
            words.text("action.local", account=name, program=program, size=shown),
            words.text("action.local_move"),
        ]
        plans.setdefault(mailbox.user, []).append((store.bytes, 0, actions))
    people = []
    for user, items in plans.items():
        items.sort(key=lambda item: (-item[0], -item[1]))
        at_risk = sum(size for size, _, _ in items)
        people.append(
            (
                at_risk,
                max(worst for _, worst, _ in items),
                Person(
                    user,
                    words.text("actions.at_risk", size=words.size(at_risk)) if at_risk else None,
                    tuple(action for _, _, actions in items for action in actions),
                ),
            )
        )
    people.sort(key=lambda p: (-p[0], -p[1], p[2].name))
    return tuple(person for _, _, person in people)


def _at_risk(account: Account) -> int | None:
    store = account.local_store
    if not only_here(account) or store is None or not store.exists or not store.measured:
        return None
    return store.bytes


def _action(account: Account) -> str | None:
    return (account.recommendation or {}).get("action")


def _account_actions(account: Account, words: Catalog) -> list[str]:
    """What the owner reads for one account: short, in their language, no tool commands."""
    name = words.text("account", name=account.name)
    action = _action(account)
    actions = []
    if only_here(account):
        size = _at_risk(account)
        actions.append(
            words.text("action.backup", account=name, size=words.size(size))
            if size
            else words.text("action.backup_unmeasured", account=name)
        )
    rules = {f.rule for f in account.findings}
    if action == "switch-to-imap":
        settings = (account.recommendation or {}).get("settings", {})
        actions.append(
            words.text(
                "action.move",
                account=name,
                program=PRODUCT_NAMES[account.client],
                server=f"{settings.get('server')}:{settings.get('port')}",
            )
        )
        actions.append(words.text("action.check_moved"))
    elif action == "find-imap":
        actions.append(words.text("action.find_imap", account=name))
    elif action == "keep" and account.protocol is Protocol.POP3 and only_here(account):
        actions.append(words.text("action.keep_pop", account=name))
    elif action == "secure-connection":
        actions.append(words.text("action.secure", account=name))
    elif action == "use-oauth":
        actions.append(words.text("action.oauth", account=name))
    if "MA003" in rules and action in ("find-imap", "keep"):
        actions.append(words.text("action.encrypt", account=name))
    if "MA011" in rules and action != "use-oauth":
        actions.append(words.text("action.oauth", account=name))
    for finding in account.findings:
        if finding.severity in SERIOUS and finding.rule not in TOLD_ON_PAGE_ONE:
            problem = words.get(f"rule.{finding.rule}") or finding.title
            actions.append(words.text("action.technician", account=name, problem=problem))
    actions = list(dict.fromkeys(actions))  # two certificate findings ask the technician once
    if actions:  # the address once, where the account is first named
        actions[0] = actions[0].replace(name, _shown_name(account, words), 1)
    return actions


def _shown_name(account: Account, words: Catalog) -> str:
    if account.email and account.email != account.name:
        return words.text("account_with_address", name=account.name, address=account.email)
    return words.text("account", name=account.name)


# ---------------------------------------------------------------- the technician's appendix


def _appendix(report: MachineReport, words: Catalog) -> Appendix:
    accounts = tuple(
        (
            a.user,
            PRODUCT_NAMES[a.client],
            a.name + (f" <{a.email}>" if a.email and a.email != a.name else ""),
            (a.protocol.value.upper() if a.protocol is not Protocol.OTHER else a.declared_type)
            + f", {a.incoming.security.value}",
            f"{a.incoming.host}:{a.incoming.port}" if a.incoming.host else "",
            leave_on_server(a.leave_on_server, a.leave_on_server_days),
            _store_size(a),
        )
        for a in report.accounts
    )
    local = tuple(
        (m.user, PRODUCT_NAMES[m.client], m.name, store_words(m.store, m.platform))
        for m in report.local_mailboxes
    )
    findings = sorted(
        [
            (f.severity.value, f.rule, f"{a.user} / {a.name}", f.detail)
            for a in report.accounts
            for f in a.findings
        ]
        + [(f.severity.value, f.rule, "(machine)", f.detail) for f in report.findings],
        key=lambda r: -SEVERITY_ORDER.index(Severity(r[0])),
    )
    planned: list[Account | LocalMailbox] = [*report.accounts, *report.local_mailboxes]
    plans = tuple(
        Plan(
            f"{a.user} / {a.name}",
            str(a.recommendation.get("summary", "")),
            tuple(str(s) for s in a.recommendation.get("steps", [])),
        )
        for a in planned
        if a.recommendation and a.recommendation.get("action") != "keep"
    )
    probes = [
        f"{a.user} / {a.name}: {p.host}:{p.port}: {probe_summary(p)}"
        for a in report.accounts
        for p in a.probes
    ]
    probes += [
        f"{a.user} / {a.name}: {discovery_summary(a.discovery)}"
        for a in report.accounts
        if a.discovery is not None
    ]
    paths = [
        (f"{a.user} / {a.name}: mail", shown_path(a.local_store.path, a.platform))
        for a in report.accounts
        if a.local_store is not None
    ]
    paths += [
        (f"{m.user} / {m.name}: mail", shown_path(m.store.path, m.platform))
        for m in report.local_mailboxes
    ]
    paths += [(f"{a.user} / {a.name}: settings", a.origin) for a in report.accounts]
    run = report.run
    facts = [("generated", report.machine.generated_at)]
    if report.machine.root:
        facts.append(("root", report.machine.root))
    if run is not None:
        options = run.options
        facts += [
            ("started", run.started_at),
            ("finished", run.finished_at),
            ("offline", "yes" if options.offline else "no"),
            ("timeout", f"{options.timeout:g} s"),
            ("concurrency", str(options.concurrency)),
            ("DNS server", options.dns_server or "the system's"),
        ]
    return Appendix(
        heading=words.text("appendix.heading"),
        accounts=accounts,
        local_mailboxes=local,
        findings=tuple(findings),
        plans=plans,
        probes=tuple(probes),
        skipped=tuple(f"{s.origin}: {s.reason}" for s in report.skipped),
        paths=tuple(paths),
        run=tuple(facts),
    )


def _store_size(account: Account) -> str:
    """Its size; a store not on the scanned disk (or not readable) by its path and why."""
    store = account.local_store
    if store is None:
        return ""
    if not store.measured:
        return store_words(store, account.platform)
    return human_bytes(store.bytes) if store.exists else "missing"
