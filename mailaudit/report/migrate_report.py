"""The report of `mailaudit migrate`: per folder, what went where and what did not, and why."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tabulate import tabulate

from mailaudit.migrate.outcome import FolderOutcome, MigrationOutcome
from mailaudit.report import ResultsFormat, assert_never
from mailaudit.report.words import json_document, one_line
from mailaudit.units import human_bytes


def render(outcome: MigrationOutcome, fmt: ResultsFormat) -> str:
    if fmt is ResultsFormat.JSON:
        body: dict[str, Any] = {"migration": asdict(outcome)}
        body["migration"]["complete"] = outcome.complete
        return json_document(body)
    if fmt is ResultsFormat.TABLE:
        return _table(outcome)
    return assert_never(fmt)


def _table(outcome: MigrationOutcome) -> str:
    sent = "would upload" if outcome.dry_run else "uploaded"
    headers = ("Folder", "Goes to", "Messages", sent.capitalize(), "Already there", "Not moved")
    rows = [
        (
            one_line(f.source),
            one_line(f.target) if f.target else f"(left out: {f.skip})",
            f"{f.messages} ({human_bytes(f.bytes)})" if f.skip is None else "",
            f"{f.uploaded} ({human_bytes(f.uploaded_bytes)})" if f.skip is None else "",
            str(f.already_there) if f.skip is None else "",
            _not_moved(f),
        )
        for f in outcome.folders
    ]
    stores = ", ".join(dict.fromkeys(one_line(f.store) for f in outcome.folders))
    lines = [
        f"{'Plan (dry run)' if outcome.dry_run else 'Migration'} of {stores} "
        f"to {outcome.destination}"
    ]
    lines.append(tabulate(rows, headers=headers, tablefmt="simple"))
    lines.append(
        f"{outcome.total('messages')} message(s): {outcome.total('uploaded')} {sent}, "
        f"{outcome.total('already_there')} already there, "
        f"{sum(n for f in outcome.folders for _, n in f.skipped)} skipped, "
        f"{sum(n for f in outcome.folders for _, n in f.failed)} failed, "
        f"{outcome.total('not_sent')} not sent yet"
        + (f" in {outcome.seconds:.1f} s" if not outcome.dry_run else "")
    )
    notes = [
        f"  {one_line(f.source)}: {count} {one_line(note)}"
        for f in outcome.folders
        for note, count in f.notes
    ]
    if notes:
        lines += ["Notes (uploaded all the same):", *notes]
    if outcome.stopped:
        lines.append(f"Stopped early: {one_line(outcome.stopped)}")
    if not outcome.dry_run:
        lines.append(_verdict(outcome))
    return "\n".join(lines) + "\n"


def _not_moved(folder: FolderOutcome) -> str:
    parts = [f"{n} skipped: {one_line(reason)}" for reason, n in folder.skipped]
    parts += [f"{n} failed: {one_line(reason)}" for reason, n in folder.failed]
    if folder.not_sent:
        parts.append(f"{folder.not_sent} not sent yet")
    if folder.verified is False:
        parts.append(f"verification failed: {one_line(folder.verify_note or '')}")
    return "; ".join(parts)


def _verdict(outcome: MigrationOutcome) -> str:
    if outcome.complete:
        checked = {"none": "", "quick": ", checked by count and Message-ID", "full": ""}
        how = checked.get(outcome.verify.value, "")
        if outcome.verify.value == "full":
            how = f", {outcome.total('compared')} uploaded message(s) compared byte for byte"
        return f"Every message that should be on the server is there{how}."
    return "Not every message is on the server yet: run the same command again to continue."
