"""The client-facing report in Markdown: summary, accounts, risks, the plan."""

from __future__ import annotations

from mailaudit.model import MachineReport
from mailaudit.report.document import ACCOUNT_COLUMNS, document


def cell(text: str) -> str:
    """Safe inside a table cell and as text: no column break, no HTML, no line break."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def render(report: MachineReport) -> str:
    doc = document(report)
    lines = [f"# {cell(doc.title)}", "", *(cell(f) for f in doc.facts), ""]
    lines += ["## Accounts", "", _row(ACCOUNT_COLUMNS), _row(tuple("---" for _ in ACCOUNT_COLUMNS))]
    lines += [_row(row) for row in doc.accounts] or ["(none)"]
    lines += ["", "## Risks", ""]
    lines += [
        f"- **{cell(sev)}**: {cell(title)}. {cell(detail)}" for sev, title, detail in doc.risks
    ] or ["None found."]
    lines += ["", "## Plan", ""]
    if not doc.plans:
        lines.append("No change needed.")
    for plan in doc.plans:
        lines += [f"### {cell(plan.account)}", "", cell(plan.summary), ""]
        lines += [f"{n}. {cell(step)}" for n, step in enumerate(plan.steps, start=1)]
        lines.append("")
    if doc.skipped:
        lines += ["## Not read", ""] + [f"- {cell(s)}" for s in doc.skipped] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"
