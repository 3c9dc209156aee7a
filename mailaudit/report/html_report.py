"""The client-facing report as one self-contained HTML file: no scripts, no external assets,
styles inline and fit for printing. Every text is escaped."""

from __future__ import annotations

from html import escape

from mailaudit.model import MachineReport
from mailaudit.report.document import ACCOUNT_COLUMNS, document

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #111; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #eee; }
.high, .critical { color: #a00; font-weight: bold; }
.medium { color: #a60; }
.note { border: 2px solid #a60; padding: 0.5em; }
h3 { page-break-after: avoid; }
@media print { body { margin: 0; } section { page-break-inside: avoid; } }
"""


def render(report: MachineReport) -> str:
    doc = document(report)
    e = escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
        f"<title>{e(doc.title)}</title><style>{STYLE}</style></head>",
        "<body>",
        f"<h1>{e(doc.title)}</h1>",
        *(f'<p class="note"><strong>Note:</strong> {e(note)}</p>' for note in doc.notes),
        *(f"<p>{e(fact)}</p>" for fact in doc.facts),
        "<h2>Accounts</h2>",
        "<table><thead><tr>"
        + "".join(f"<th>{e(c)}</th>" for c in ACCOUNT_COLUMNS)
        + "</tr></thead><tbody>",
        *(
            "<tr>" + "".join(f'<td dir="auto">{e(c)}</td>' for c in row) + "</tr>"
            for row in doc.accounts
        ),
        "</tbody></table>",
        "<h2>Risks</h2>",
    ]
    if doc.risks:
        parts.append("<ul>")
        parts += [
            f'<li><span class="{e(sev)}">{e(sev)}</span>: {e(title)}. '
            f'<span dir="auto">{e(detail)}</span></li>'
            for sev, title, detail in doc.risks
        ]
        parts.append("</ul>")
    else:
        parts.append("<p>None found.</p>")
    parts.append("<h2>Plan</h2>")
    if not doc.plans:
        parts.append("<p>No change needed.</p>")
    for plan in doc.plans:
        parts += [
            f'<section><h3 dir="auto">{e(plan.account)}</h3><p>{e(plan.summary)}</p><ol>',
            *(f"<li>{e(step)}</li>" for step in plan.steps),
            "</ol></section>",
        ]
    if doc.skipped:
        parts += ["<h2>Not read</h2>", "<ul>", *(f"<li>{e(s)}</li>" for s in doc.skipped), "</ul>"]
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"
