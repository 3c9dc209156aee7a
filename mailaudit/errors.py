"""Exceptions that carry what went wrong and where. Sources turn them into `Skipped` records."""

from __future__ import annotations


class MailauditError(Exception):
    """Base class for every error mailaudit raises on purpose."""


class UsageError(MailauditError):
    """Bad input given on the command line (exit code 2)."""


class UnreadableFile(MailauditError):
    """A file or folder under the scanned machine could not be read."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class PrefsSyntaxError(MailauditError):
    """One statement of a prefs.js file that does not follow libpref's grammar."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class ReportFileError(MailauditError):
    """A saved JSON report that cannot be read back: where, and what is wrong."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class BackupRefused(UsageError):
    """The backup cannot start: DEST is inside the audited tree, too small, or not writable."""


class ArchiveUnreadable(MailauditError):
    """A backup archive that cannot be opened as a ZIP or holds no readable manifest."""
