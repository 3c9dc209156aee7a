"""What a migration did, per folder: the data the report renders and the exit code reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

# Skip reasons for mail that should have gone and could not: the run is not complete.
LEFT_BEHIND = ("larger than the server takes", "unreadable", "empty message")


class Verify(str, Enum):
    NONE = "none"
    QUICK = "quick"  # counts and Message-IDs
    FULL = "full"  # a hash of every uploaded message, fetched back with BODY.PEEK[]


@dataclass(frozen=True)
class FolderOutcome:
    store: str  # the store's path
    source: str  # the folder as the client shows it
    target: str | None  # the server's folder, as a person reads it
    skip: str | None  # the whole folder left out, and why
    messages: int = 0
    bytes: int = 0
    uploaded: int = 0  # by this run (or, in a dry run, what would be)
    uploaded_bytes: int = 0
    already_there: int = 0
    skipped: tuple[tuple[str, int], ...] = ()  # (reason, count): deleted, too large, unreadable
    failed: tuple[tuple[str, int], ...] = ()  # (server's reason, count)
    not_sent: int = 0  # left for the next run: the run stopped first
    verified: bool | None = None  # None: not verified
    verify_note: str | None = None
    compared: int = 0  # --verify full: fetched back and found byte-identical
    notes: tuple[tuple[str, int], ...] = ()  # reported, uploaded all the same

    @property
    def complete(self) -> bool:
        """Deleted mail is rightly left behind; mail too large or unreadable is not."""
        return self.skip is not None or (
            not self.failed
            and not self.not_sent
            and self.verified is not False
            and not any(reason.startswith(LEFT_BEHIND) for reason, _ in self.skipped)
        )


@dataclass(frozen=True)
class MigrationOutcome:
    destination: str
    dry_run: bool
    verify: Verify
    folders: tuple[FolderOutcome, ...]
    stopped: str | None = None  # why the run ended early ("the server's quota is full ...")
    seconds: float = 0.0
    server: dict[str, object] = field(default_factory=dict)  # capabilities that shaped the run

    @property
    def complete(self) -> bool:
        """Every message that should be on the server is there (exit code 0)."""
        return not self.dry_run and self.stopped is None and all(f.complete for f in self.folders)

    def total(self, name: str) -> int:
        return sum(int(getattr(folder, name)) for folder in self.folders)
