"""The client document as one self-contained HTML file: no script, no external asset, the two
charts drawn here as inline SVG, styles inline and fit for printing on A4 and Letter.

Every text is escaped. Words never break in the middle: long tokens (paths, addresses, host
names) get break opportunities after `/`, `\\`, `.` and `@` only, each piece kept whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from mailaudit.model import MachineReport
from mailaudit.report.document import ACCOUNT_COLUMNS, LOCAL_COLUMNS, Chart, Document, document

# The page is 180 mm wide at most: it fits A4 (210 mm) and Letter (216 mm) with the margins
# below, and @page leaves the paper size to the printer's setting.
STYLE = """
@page { margin: 15mm 15mm 18mm 15mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", system-ui, sans-serif; color: #1a1a1a;
       max-width: 180mm; margin: 1.5em auto; padding: 0 1em; line-height: 1.4; font-size: 11pt;
       overflow-wrap: normal; word-break: normal; hyphens: manual; }
h1 { font-size: 1.6em; margin: 0 0 0.3em; }
h2 { font-size: 1.2em; margin: 1.2em 0 0.4em; break-after: avoid; }
h3 { font-size: 1.05em; margin: 0.9em 0 0.2em; break-after: avoid; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.1em 1em; margin: 0;
        color: #444; }
.meta dt { font-weight: bold; } .meta dd { margin: 0; }
.verdict { display: flex; gap: 1em; align-items: center; border: 2px solid; border-radius: 6px;
           padding: 0.7em 1em; margin: 1em 0; break-inside: avoid; }
.verdict p { margin: 0.15em 0; }
.verdict .light { flex: none; }
.verdict .label { font-weight: bold; font-size: 1.1em; }
.red { border-color: #b3261e; } .amber { border-color: #b26a00; } .green { border-color: #2e7d32; }
.charts { display: flex; flex-wrap: wrap; gap: 1em 2em; break-inside: avoid; }
.charts figure { margin: 0; flex: 1 1 75mm; }
.charts figcaption { font-weight: bold; margin-bottom: 0.3em; }
.charts p { margin: 0.3em 0; color: #444; font-size: 0.9em; }
.person { break-inside: avoid; }
.person ol { margin: 0.2em 0 0.6em; padding-left: 1.6em; }
.risk { color: #b3261e; font-weight: normal; }
.appendix { break-before: page; font-size: 8.5pt; }
.appendix h1 { font-size: 1.4em; }
table { border-collapse: collapse; width: 100%; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border: 1px solid #aaa; padding: 0.2em 0.4em; text-align: left; vertical-align: top; }
th { background: #eee; }
.nb { white-space: nowrap; }
.sev-critical, .sev-high { color: #b3261e; font-weight: bold; }
.sev-medium { color: #b26a00; }
li { break-inside: avoid; }
.note { border: 2px solid #b26a00; border-radius: 6px; padding: 0.5em 0.8em; margin: 0.8em 0; }
"""
LIGHT_COLOURS = {"red": "#d32f2f", "amber": "#f9a825", "green": "#388e3c"}
# A token this long (characters), or an address, may be split after / \\ . @; a shorter one
# with a hyphen is kept whole, so that "mail.weber-partner.example:110" never breaks at all.
LONG_TOKEN = 36
TOKEN = re.compile(r"\S+")


def render(report: MachineReport, lang: str = "en") -> str:
    doc = document(report, lang)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(doc.lang)}">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
        f"<title>{escape(doc.title)}</title><style>{STYLE}</style></head>",
        "<body>",
        "<main>",
        f"<h1>{text(doc.title)}</h1>",
        *(f'<p class="note"><strong>Note:</strong> {text(note)}</p>' for note in doc.notes),
        '<dl class="meta">',
        *(f"<dt>{text(label)}</dt><dd>{text(value)}</dd>" for label, value in doc.meta),
        "</dl>",
        f'<section class="verdict {doc.status}">{traffic_light(doc.status)}<div>',
        f'<p class="label">{text(doc.status_label)}</p>',
        *(f"<p>{text(sentence)}</p>" for sentence in doc.verdict),
        "</div></section>",
        '<section class="charts">',
        *(_figure(chart) for chart in doc.charts),
        "</section>",
    ]
    for heading, paragraphs in doc.explain:
        parts += [f"<h2>{text(heading)}</h2>", *(f"<p>{text(p)}</p>" for p in paragraphs)]
    parts.append(f"<h2>{text(doc.actions_heading)}</h2>")
    if not doc.people:
        parts.append(f"<p>{text(doc.no_actions)}</p>")
    for person in doc.people:
        risk = f' <span class="risk">({text(person.at_risk)})</span>' if person.at_risk else ""
        parts += [
            f'<section class="person"><h3 dir="auto">{text(person.name)}{risk}</h3><ol>',
            *(f'<li dir="auto">{text(action)}</li>' for action in person.actions),
            "</ol></section>",
        ]
    parts += ["</main>", *_appendix(doc), "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _appendix(doc: Document) -> list[str]:
    appendix = doc.appendix
    parts = [
        '<section class="appendix" lang="en">',  # the technical words stay English
        f"<h1>{text(appendix.heading)}</h1>",
        "<h2>Accounts</h2>",
        _table(ACCOUNT_COLUMNS, appendix.accounts),
    ]
    if appendix.local_mailboxes:
        parts += [
            "<h2>Local mailboxes</h2>",
            _table(LOCAL_COLUMNS, appendix.local_mailboxes),
        ]
    parts.append("<h2>Findings</h2>")
    if appendix.findings:
        rows = [
            (f'<span class="sev-{sev}">{sev}</span>', escape(rule), text(where), text(detail))
            for sev, rule, where, detail in appendix.findings
        ]
        parts.append(_table(("Severity", "Rule", "Account", "Detail"), rows, escaped=True))
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Plan</h2>")
    if not appendix.plans:
        parts.append("<p>No change needed.</p>")
    for plan in appendix.plans:
        parts += [
            f'<section class="person"><h3 dir="auto">{text(plan.account)}</h3>',
            f"<p>{text(plan.summary)}</p><ol>",
            *(f"<li>{text(step)}</li>" for step in plan.steps),
            "</ol></section>",
        ]
    for heading, items in (("Servers", appendix.probes), ("Not read", appendix.skipped)):
        if items:
            parts += [f"<h2>{heading}</h2>", "<ul>", *(f"<li>{text(i)}</li>" for i in items)]
            parts.append("</ul>")
    if appendix.paths:
        parts += ["<h2>Paths</h2>", _table(("What", "Path"), appendix.paths)]
    parts += ["<h2>This report</h2>", _table(("", ""), appendix.run), "</section>"]
    return parts


def _table(
    headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, escaped: bool = False
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers) if any(headers) else ""
    body = "".join(
        "<tr>" + "".join(f'<td dir="auto">{c if escaped else text(c)}</td>' for c in row) + "</tr>"
        for row in rows
    )
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def text(value: str) -> str:
    """Escaped, with long tokens breakable only after / \\ . @ and each piece kept whole."""
    return TOKEN.sub(_breakable, escape(value, quote=True))


def _breakable(match: re.Match[str]) -> str:
    token = match.group(0)
    if len(token) < LONG_TOKEN and "@" not in token:  # addresses may wrap at their @
        return f'<span class="nb">{token}</span>' if "-" in token else token
    # Entities (&amp;) hold no / \ . @, so splitting after those never cuts one in two.
    pieces = [p for p in re.split(r"(?<=[/\\.@])", token) if p]
    return "<wbr>".join(f'<span class="nb">{p}</span>' for p in pieces)


# ---------------------------------------------------------------- drawings


def traffic_light(status: str) -> str:
    """Three lamps, the one of the status lit; the status is also written beside it in words."""
    lamps = "".join(
        f'<circle cx="14" cy="{14 + 26 * i}" r="10" '
        f'fill="{LIGHT_COLOURS[name] if name == status else "#ddd"}"/>'
        for i, name in enumerate(("red", "amber", "green"))
    )
    return (
        '<svg class="light" width="28" height="80" viewBox="0 0 28 80" role="img" '
        f'aria-label="{escape(status)}"><rect x="1" y="1" width="26" height="78" rx="6" '
        f'fill="#333"/>{lamps}</svg>'
    )


def _figure(chart: Chart) -> str:
    caption = f"<figcaption>{text(chart.title)}</figcaption>"
    body = bar_chart(chart) if chart.bars else f"<p>{text(chart.empty)}</p>"
    note = f"<p>{text(chart.note)}</p>" if chart.note else ""
    return f"<figure>{caption}{body}{note}</figure>"


CHART_WIDTH = 300
LABEL_CHARS = 44  # a label longer than this is cut at a word with an ellipsis; the appendix has it


def bar_chart(chart: Chart) -> str:
    """Horizontal bars, one per entry in the given order, each with its label above it and its
    value at its end. Lengths are linear; a bar never shrinks below 2 px, so none disappears."""
    row, bar_room = 34, CHART_WIDTH - 70
    largest = max(bar.value for bar in chart.bars) or 1
    shapes = []
    for i, bar in enumerate(chart.bars):
        y = i * row
        length = max(2, round(bar_room * bar.value / largest))
        shapes += [
            f'<text x="0" y="{y + 12}" font-size="11">{escape(_label(bar.label))}</text>',
            f'<rect class="bar" x="0" y="{y + 16}" width="{length}" height="12" '
            f'fill="#4a6fa5" data-value="{bar.value}"/>',
            f'<text x="{length + 4}" y="{y + 26}" font-size="11">{escape(bar.shown)}</text>',
        ]
    height = row * len(chart.bars)
    return (
        f'<svg width="{CHART_WIDTH}" height="{height}" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'role="img" aria-label="{escape(chart.title)}" font-family="sans-serif">'
        f"<title>{escape(chart.title)}</title>{''.join(shapes)}</svg>"
    )


def _label(label: str) -> str:
    if len(label) <= LABEL_CHARS:
        return label
    cut = label[: LABEL_CHARS - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[LABEL_CHARS // 2 :] else cut) + "…"
