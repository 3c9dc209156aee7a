"""The report of `mailaudit lookup`: per domain, what DNS, autoconfig and provider knowledge
say, and which IMAP candidates answered."""

from __future__ import annotations

from dataclasses import asdict

from tabulate import tabulate

from mailaudit.model import Candidate, Discovery
from mailaudit.report import ResultsFormat, assert_never
from mailaudit.report.words import json_document

VERDICTS = {
    "offered": "IMAP offered",
    "not offered": "IMAP not offered",
    "known": "IMAP known from provider data (not probed: --offline)",
    "unknown": "unknown",
}


def render(found: list[Discovery], fmt: ResultsFormat) -> str:
    if fmt is ResultsFormat.JSON:
        return json_document({"lookups": [asdict(d) for d in found]})
    if fmt is ResultsFormat.TABLE:
        return "\n".join(_block(d) for d in found)
    return assert_never(fmt)


def _answer(candidate: Candidate) -> str:
    if candidate.reachable is None:
        return "unknown" if candidate.message else "not probed"
    return "answers" if candidate.reachable else "no"


def _offers(candidate: Candidate) -> str:
    """What an answering candidate offers: transport, IMAP revision, IDLE, sign-in."""
    caps = {c.upper() for c in candidate.capabilities}
    revisions = [name for name in ("IMAP4rev1", "IMAP4rev2") if name.upper() in caps]
    parts = [candidate.transport or "?", *revisions]
    if "IDLE" in caps:
        parts.append("IDLE")
    parts.append("sign-in " + (" ".join(candidate.sign_in) or "LOGIN only"))
    if candidate.oauth_only:
        parts.append("OAuth only")
    return ", ".join(parts)


def _block(found: Discovery) -> str:
    lines = [f"{found.domain}: {VERDICTS.get(found.imap, found.imap)}"]
    if found.reason and found.imap != "known":
        lines[0] += f" ({found.reason})"
    if found.best is not None:
        best = found.best
        lines.append(f"  use: {best.host}:{best.port} ({best.security}), from {best.origin}")
    if found.provider:
        lines.append(
            f"  provider: {found.provider} ({found.recognised_by}); sign-in: {found.provider_auth}"
        )
        if found.provider_note:
            lines.append(f"    {found.provider_note}")
    for answer in found.dns:
        shown = ", ".join(answer.records) if answer.records else answer.status
        lines.append(f"  {answer.kind:4} {answer.name}: {shown}")
    for result in found.autoconfig:
        if result.status == "ok":
            servers = ", ".join(
                f"{s.protocol} {s.host}:{s.port} ({s.security})" for s in result.servers
            )
            lines.append(f"  autoconfig {result.url}: {servers}")
        else:
            lines.append(f"  autoconfig {result.url}: {result.status} ({result.message})")
    if found.candidates:
        rows = [
            (
                f"{c.host}:{c.port}",
                c.security,
                c.origin,
                _answer(c),
                ""
                if c.certificate_valid is None
                else ("valid" if c.certificate_valid else "INVALID"),
                c.message or "",
            )
            for c in found.candidates
        ]
        table = tabulate(
            rows, headers=("Candidate", "Security", "From", "IMAP", "Certificate", "Note")
        )
        lines += ["", *("  " + line for line in table.splitlines())]
    for c in found.candidates:
        if c.reachable:
            lines.append(f"  {c.host}:{c.port}: {_offers(c)}")
    return "\n".join(lines) + "\n"
