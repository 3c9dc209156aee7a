"""The client-facing report in Markdown: summary, accounts, risks, the plan."""

from __future__ import annotations

from mailaudit.model import MachineReport
from mailaudit.report.document import ACCOUNT_COLUMNS, document
from mailaudit.report.words import markdown_text


def render(report: MachineReport) -> str:
    doc = document(report)
    lines = [f"# {markdown_text(doc.title)}", ""]
    lines += [f"> **Note:** {markdown_text(note)}\n" for note in doc.notes]
    lines += [*(markdown_text(f) for f in doc.facts), ""]
    lines += ["## Accounts", "", _row(ACCOUNT_COLUMNS), _row(tuple("---" for _ in ACCOUNT_COLUMNS))]
    lines += [_row(row) for row in doc.accounts] or ["(none)"]
    lines += ["", "## Risks", ""]
    lines += [
        f"- **{markdown_text(sev)}**: {markdown_text(title)}. {markdown_text(detail)}"
        for sev, title, detail in doc.risks
    ] or ["None found."]
    lines += ["", "## Plan", ""]
    if not doc.plans:
        lines.append("No change needed.")
    for plan in doc.plans:
        lines += [f"### {markdown_text(plan.account)}", "", markdown_text(plan.summary), ""]
        lines += [f"{n}. {markdown_text(step)}" for n, step in enumerate(plan.steps, start=1)]
        lines.append("")
    if doc.skipped:
        lines += ["## Not read", ""] + [f"- {markdown_text(s)}" for s in doc.skipped] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(markdown_text(c) for c in cells) + " |"
