"""What the clients of the detection tier share: their account settings are kept in formats
with no public description (eM Client's and Mailbird's databases, The Bat!'s encrypted
ACCOUNT.CFN, the Windows Mail app's ESE store, the new Outlook's cloud), so their accounts are
listed by the name or address the files show, with the protocol left for the technician to
check in the client, and their local mail measured."""

from __future__ import annotations

from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
from mailaudit.model import UNKNOWN_TYPE, Account, Client, Endpoint, LocalStore, Protocol, Security

EVERYTHING = IgnoreRule(suffixes=(), names=frozenset())  # count every file: indexes too


def unknown_account(
    client: Client,
    user: UserHome,
    profile: str,
    key: str,
    name: str,
    origin: str,
    store: LocalStore | None,
    *,
    email: str | None = None,
    host: str | None = None,
    port: int | None = None,
    username: str | None = None,
    note: str = "protocol unknown: check in the client",
) -> Account:
    address = email or (name if "@" in name else None)
    return Account(
        client=client,
        user=user.name,
        profile=profile,
        key=key,
        name=name,
        email=address,
        protocol=Protocol.OTHER,
        declared_type=UNKNOWN_TYPE,
        incoming=Endpoint(host, port, Security.UNKNOWN, username, None, note),
        origin=origin,
        addresses=(address,) if address else (),
        local_store=store,
    )


def measure(
    files: MachineFiles, path: Path, note: str, ignore: IgnoreRule = EVERYTHING
) -> LocalStore:
    """The bytes of a folder (or one file) of a client's local store."""
    shown = files.display(path)
    try:
        real = files.check_inside(path)
        size = files.mail_bytes(real, ignore) if real.is_dir() else real.stat().st_size
    except UnreadableFile as exc:
        return LocalStore(shown, 0, exists=False, note=f"{note}; {exc.reason}")
    except OSError as exc:
        return LocalStore(shown, 0, exists=False, note=f"{note}; {exc.strerror}")
    return LocalStore(shown, size, note=note)
