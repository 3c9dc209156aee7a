"""The client document in Markdown: the same content as the HTML, the charts as tables with
bars of block characters (Markdown viewers strip inline SVG)."""

from __future__ import annotations

from collections.abc import Sequence

from mailaudit.model import MachineReport
from mailaudit.report.document import ACCOUNT_COLUMNS, LOCAL_COLUMNS, Chart, document
from mailaudit.report.words import markdown_text

STATUS_MARKS = {"red": "🔴", "amber": "🟡", "green": "🟢"}
BAR_CHARS = 24


def render(report: MachineReport, lang: str = "en") -> str:
    doc = document(report, lang)
    m = markdown_text
    lines = [f"# {m(doc.title)}", ""]
    lines += [f"> **Note:** {m(note)}\n" for note in doc.notes]
    lines += [f"- **{m(label)}:** {m(value)}" for label, value in doc.meta]
    lines += [
        "",
        f"**{STATUS_MARKS[doc.status]} {m(doc.status_label)}.** "
        + " ".join(m(s) for s in doc.verdict),
        "",
    ]
    for chart in doc.charts:
        lines += [f"## {m(chart.title)}", "", *_chart(chart), ""]
    for heading, paragraphs in doc.explain:
        lines += [f"## {m(heading)}", ""]
        for paragraph in paragraphs:
            lines += [m(paragraph), ""]
    lines += [f"## {m(doc.actions_heading)}", ""]
    if not doc.people:
        lines += [m(doc.no_actions), ""]
    for person in doc.people:
        risk = f" ({m(person.at_risk)})" if person.at_risk else ""
        lines += [f"### {m(person.name)}{risk}", ""]
        lines += [f"{n}. {m(a)}" for n, a in enumerate(person.actions, start=1)]
        lines.append("")

    appendix = doc.appendix
    lines += ["---", "", f"# {m(appendix.heading)}", "", "## Accounts", ""]
    lines += _table(ACCOUNT_COLUMNS, appendix.accounts)
    if appendix.local_mailboxes:
        lines += ["", "## Local mailboxes", ""]
        lines += _table(LOCAL_COLUMNS, appendix.local_mailboxes)
    lines += ["", "## Findings", ""]
    lines += _table(("Severity", "Rule", "Account", "Detail"), appendix.findings) or ["None."]
    lines += ["", "## Plan", ""]
    if not appendix.plans:
        lines += ["No change needed.", ""]
    for plan in appendix.plans:
        lines += [f"### {m(plan.account)}", "", m(plan.summary), ""]
        lines += [f"{n}. {m(step)}" for n, step in enumerate(plan.steps, start=1)]
        lines.append("")
    for heading, items in (("Servers", appendix.probes), ("Not read", appendix.skipped)):
        if items:
            lines += [f"## {heading}", "", *(f"- {m(i)}" for i in items), ""]
    if appendix.paths:
        lines += ["## Paths", "", *_table(("What", "Path"), appendix.paths), ""]
    lines += ["## This report", "", *(f"- {m(k)}: {m(v)}" for k, v in appendix.run)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _chart(chart: Chart) -> list[str]:
    if not chart.bars:
        return [markdown_text(chart.empty)]
    largest = max(bar.value for bar in chart.bars) or 1
    rows = [
        (bar.label, bar.shown, "█" * max(1, round(BAR_CHARS * bar.value / largest)))
        for bar in chart.bars
    ]
    lines = _table(("", "", ""), rows)
    return lines + (["", markdown_text(chart.note)] if chart.note else [])


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    if not rows:
        return []
    return [_row(headers), _row(tuple("---" for _ in headers)), *(_row(r) for r in rows)]


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(markdown_text(c) for c in cells) + " |"
