"""A verified copy of every local mail store, before anything changes.

    offline scan -> selection (which files: POP3 stores, local mailboxes; --all: caches)
                 -> archive (read once, hash, write one ZIP; changed files read again once)
                 -> verify (read the archive back, compare every SHA-256)

Read-only on the source: every file is opened with `machine.open_read_only`, nothing is written
inside the audited tree, and a DEST there is refused. Nothing here prints: progress goes to a
callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailaudit.audit import AuditOptions, run_audit
from mailaudit.backup.archive import BackupResult, Outcome, write_backup
from mailaudit.backup.progress import Progress, ProgressCallback
from mailaudit.backup.selection import NotCopied, Selection, select
from mailaudit.backup.verify import Verification, verify
from mailaudit.machine import MachineFiles

__all__ = [
    "BackupOptions",
    "BackupResult",
    "NotCopied",
    "Outcome",
    "Progress",
    "Selection",
    "Verification",
    "back_up",
    "select",
    "verify",
    "verify_archive",
]


@dataclass(frozen=True)
class BackupOptions:
    dest: Path
    root: Path | None = None  # None: the live machine
    reg_files: tuple[Path, ...] = ()
    accounts: tuple[str, ...] = ()  # stable ids of accounts or local mailboxes; empty: all at risk
    everything: bool = False  # --all: IMAP and Exchange caches too
    progress_interval: float = 1.0  # seconds between progress reports


def back_up(options: BackupOptions, progress: ProgressCallback | None = None) -> BackupResult:
    """Scan offline, pick the stores, write and verify one archive in `options.dest`."""
    report = run_audit(AuditOptions(root=options.root, offline=True, reg_files=options.reg_files))
    files = MachineFiles(options.root)
    selection = select(report, files, options.accounts, options.everything)
    return write_backup(
        selection, options.dest, report.machine, options.root, progress, options.progress_interval
    )


def verify_archive(
    archive: Path, progress: ProgressCallback | None = None, interval: float = 1.0
) -> Verification:
    """`--verify ARCHIVE`: every member the manifest lists, read back and hashed."""
    return verify(archive, None, progress, interval)
