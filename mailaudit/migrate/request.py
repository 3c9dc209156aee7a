"""What `mailaudit migrate` was asked: the destination URL, the stores, the credentials."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mailaudit.errors import MailauditError, UnreadableFile, UsageError
from mailaudit.machine import MachineFiles
from mailaudit.migrate.imap_client import Destination
from mailaudit.migrate.ledger import default_path as ledger_path
from mailaudit.migrate.run import Source
from mailaudit.migrate.stores import StoreFormat, UnreadableStore, detect_format, open_store

TOKEN_COMMAND_TIMEOUT = 60.0
__all__ = ["ledger_path", "parse_destination", "store_at", "stores_of_account"]


def parse_destination(url: str) -> Destination:
    """imaps://USER@HOST[:PORT] (TLS, 993) or imap://USER@HOST[:PORT] (STARTTLS, 143)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("imaps", "imap"):
        raise UsageError(f"--to {url!r}: use imaps://USER@HOST or imap://USER@HOST (STARTTLS)")
    if parts.password is not None:
        raise UsageError("--to: no password in the URL; use --password-env or the prompt")
    if not parts.username:
        raise UsageError(f"--to {url!r}: the user name is missing (imaps://USER@HOST)")
    if not parts.hostname:
        raise UsageError(f"--to {url!r}: the host name is missing")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"--to {url!r}: nothing may follow the host and port")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"--to {url!r}: the port must be a number from 1 to 65535") from None
    implicit = scheme == "imaps"
    return Destination(
        parts.hostname, port or (993 if implicit else 143), unquote(parts.username), implicit
    )


def store_at(path: Path, fmt: str) -> Source:
    """--from PATH [--from-format F]: the store's reader; UsageError with the reason."""
    try:
        chosen = detect_format(path) if fmt == "auto" else StoreFormat(fmt)
        return Source(str(path), open_store(path, chosen))
    except ValueError:
        names = ", ".join(f.value for f in StoreFormat)
        raise UsageError(f"--from-format {fmt!r}: one of auto, {names}") from None
    except (UnreadableStore, OSError) as exc:
        raise UsageError(f"--from {path}: {exc}") from None


def stores_of_account(account_id: str, root: Path | None) -> list[Source]:
    """The local store of an account (or local mailbox) of an offline scan, same --root rules."""
    from mailaudit.audit import AuditOptions, run_audit  # a scan only when --account asks

    report = run_audit(AuditOptions(root=root, offline=True))
    found = [(a.name, a.local_store) for a in report.accounts if a.id == account_id]
    found += [(m.name, m.store) for m in report.local_mailboxes if m.id == account_id]
    if not found:
        known = ", ".join(f"{a.id} ({a.name})" for a in report.accounts) or "none"
        raise UsageError(f"--account {account_id}: no such account; accounts: {known}")
    name, store = found[0]
    if store is None or not store.exists:
        raise UsageError(f"--account {account_id} ({name}): no local mail store was found")
    files = MachineFiles(root)
    try:
        real = files.check_inside(files.client_path(store.path, root or Path("/")))
    except UnreadableFile as exc:
        raise UsageError(f"--account {account_id}: {exc}") from None
    return [store_at(real, "auto")]


def password_from_env(variable: str) -> Callable[[], str]:
    value = os.environ.get(variable)
    if not value:
        raise UsageError(f"--password-env {variable}: the variable is not set")
    return lambda: value


def token_from_env(variable: str) -> Callable[[], str]:
    def token() -> str:
        value = os.environ.get(variable, "").strip()
        if not value:
            raise TokenError(f"--token-env {variable}: the variable is not set")
        return value

    if not os.environ.get(variable, "").strip():  # a usage error now, not at the first connect
        raise UsageError(f"--token-env {variable}: the variable is not set")
    return token


class TokenError(MailauditError):
    """The access token could not be had (the command failed, printed nothing)."""


def token_from_command(command: str) -> Callable[[], str]:
    """Run the command at each connect: access tokens live about an hour, a night's run
    reconnects. Its output is the token; its error output is not shown (it may hold one)."""

    def token() -> str:
        try:
            done = subprocess.run(  # the technician's own command line, as mbsync's PassCmd
                command,
                shell=True,
                capture_output=True,
                timeout=TOKEN_COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TokenError(
                f"--token-command did not finish within {TOKEN_COMMAND_TIMEOUT:g} s"
            ) from None
        value = done.stdout.decode("utf-8", "replace").strip()
        if done.returncode != 0 or not value:
            raise TokenError(
                f"--token-command failed (exit code {done.returncode}"
                + (", no output)" if not value else ")")
            )
        return value

    return token
