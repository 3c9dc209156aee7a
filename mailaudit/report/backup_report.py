"""The report of `mailaudit backup` and `--verify`, its progress line and its final line."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from mailaudit.backup import BackupResult, Outcome, Progress, Verification
from mailaudit.report import ResultsFormat, assert_never
from mailaudit.report.words import json_document, one_line
from mailaudit.units import human_bytes


def render(result: BackupResult, fmt: ResultsFormat) -> str:
    if fmt is ResultsFormat.JSON:
        return json_document({"backup": _backup_json(result)})
    if fmt is ResultsFormat.TABLE:
        return _terminal([*_backup_lines(result), "", summary_line(result)])
    return assert_never(fmt)


def render_verification(checked: Verification, fmt: ResultsFormat) -> str:
    if fmt is ResultsFormat.JSON:
        return json_document({"verification": _verification_json(checked)})
    if fmt is ResultsFormat.TABLE:
        return _terminal([*_problem_lines(checked), verification_line(checked)])
    return assert_never(fmt)


def summary_line(result: BackupResult) -> str:
    """The one line a run ends with: files, bytes, time, verified."""
    head = f"{len(result.copied)} file(s), {human_bytes(result.bytes)} in {result.seconds:.1f} s"
    failed = sum(1 for n in result.not_copied if n.failed)
    if result.outcome is Outcome.DAMAGED:
        count = len(result.verification.problems)
        return (
            f"{head}, VERIFICATION FAILED ({count} member(s) damaged or missing): {result.archive}"
        )
    left = f"; {failed} file(s) NOT copied (listed above)" if failed else ""
    return f"{head}, verified{left}: {result.archive}"


def verification_line(checked: Verification) -> str:
    head = (
        f"{checked.checked} member(s), {human_bytes(checked.bytes)} read in {checked.seconds:.1f} s"
    )
    if checked.ok:
        return f"{head}: verified, every SHA-256 matches the manifest: {checked.archive}"
    count = len(checked.problems)
    return f"{head}: VERIFICATION FAILED, {count} member(s) damaged or missing: {checked.archive}"


def progress_line(progress: Progress) -> str:
    eta = progress.eta
    left = (
        f", about {_duration(eta)} left"
        if eta is not None and progress.done < progress.total
        else ""
    )
    return (
        f"{progress.phase} {human_bytes(progress.done)} of {human_bytes(progress.total)}, "
        f"{human_bytes(int(progress.rate))}/s{left}"
    )


def _backup_lines(result: BackupResult) -> list[str]:
    machine = result.machine
    where = f" (files under {machine.root})" if machine.root else ""
    lines = [f"Backup of {machine.hostname}{where}", f"Archive:  {result.archive}"]
    lines += [f"Manifest: {result.manifest}", ""]
    rows = []
    for owner in result.owners:
        files = [f for f in result.copied if owner.id in f.accounts]
        size = human_bytes(sum(f.size for f in files))
        rows.append((owner.user, owner.client.value, owner.name, len(files), size, owner.store))
    if rows:
        headers = ("User", "Client", "Account or mailbox", "Files", "Size", "Store")
        lines.append(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))
    else:
        lines.append("No local mail store to copy.")
    failed = [n for n in result.not_copied if n.failed]
    if failed:
        lines += ["", f"NOT copied ({len(failed)}):"]
        lines += [f"- {n.path}: {n.reason}" for n in failed]
    left_out = [n for n in result.not_copied if not n.failed]
    if left_out:
        lines += ["", f"Left out on purpose ({len(left_out)}):"]
        lines += [f"- {n.path}: {n.reason}" for n in left_out]
    problems = _problem_lines(result.verification)
    if problems:
        lines += ["", *problems]
    return lines


def _problem_lines(checked: Verification) -> list[str]:
    lines = []
    if checked.problems:
        lines.append(f"Damaged or missing ({len(checked.problems)}):")
        lines += [f"- {p.name}: {p.problem}" for p in checked.problems]
    if checked.unexpected:
        lines.append(f"In the archive but not in the manifest ({len(checked.unexpected)}):")
        lines += [f"- {name}" for name in checked.unexpected]
    return lines


def _backup_json(result: BackupResult) -> dict[str, Any]:
    return {
        "archive": str(result.archive),
        "manifest": str(result.manifest),
        "outcome": result.outcome.value,
        "machine": {
            "hostname": result.machine.hostname,
            "os": result.machine.os,
            "root": result.machine.root,
        },
        "files": len(result.copied),
        "bytes": result.bytes,
        "seconds": round(result.seconds, 3),
        "accounts": [
            {
                "id": o.id,
                "client": o.client.value,
                "user": o.user,
                "name": o.name,
                "store": o.store,
                "files": sum(1 for f in result.copied if o.id in f.accounts),
                "bytes": sum(f.size for f in result.copied if o.id in f.accounts),
            }
            for o in result.owners
        ],
        "not_copied": [
            {"path": n.path, "reason": n.reason, "failed": n.failed} for n in result.not_copied
        ],
        "verification": _verification_json(result.verification),
    }


def _verification_json(checked: Verification) -> dict[str, Any]:
    return {
        "archive": str(checked.archive),
        "ok": checked.ok,
        "members": checked.checked,
        "bytes": checked.bytes,
        "seconds": round(checked.seconds, 3),
        "problems": [{"member": p.name, "problem": p.problem} for p in checked.problems],
        "unexpected": list(checked.unexpected),
    }


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _terminal(lines: list[str]) -> str:
    # Paths come from the audited machine: no control character reaches the terminal.
    return "\n".join(one_line(line) for line in "\n".join(lines).split("\n")) + "\n"
