"""Outlook for Mac (2016 and later): the accounts its Outlook.sqlite index lists.

`~/Library/Group Containers/UBF8T346G9.Office/Outlook/Outlook 15 Profiles/<profile>/Data/
Outlook.sqlite` has the tables AccountsMail and AccountsExchange with a name, an address and,
for mail accounts, a FourCC server type ("IMAP", "POP3"). The servers, ports and security are
kept in Outlook's own binary account records, which have no public format; they are reported
as unknown rather than guessed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import ABSENT, IgnoreRule, MachineFiles, UserHome
from mailaudit.model import Account, Client, Endpoint, LocalStore, Protocol, Security, Skipped
from mailaudit.sources.base import Found
from mailaudit.sources.sqlite_snapshot import describe, snapshot

SOURCE = Client.OUTLOOK_MAC.value
PROFILES = "Library/Group Containers/UBF8T346G9.Office/Outlook/Outlook 15 Profiles"
UNKNOWN_SERVER = "not stored in Outlook.sqlite: see Outlook > Settings > Accounts"
# Account_ServerType is a FourCC: 0x494D4150 is "IMAP" in the fixtures seen; "POP3" is inferred.
FOURCC = {"IMAP": ("imap", Protocol.IMAP), "POP3": ("pop3", Protocol.POP3)}

MAIL_ACCOUNTS = (
    "SELECT Record_RecordID, Account_Name, Account_EmailAddress, Account_ServerType "
    "FROM AccountsMail"
)
EXCHANGE_ACCOUNTS = (
    "SELECT Record_RecordID, Account_Name, Account_EmailAddress FROM AccountsExchange"
)


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    profiles = user.home.joinpath(*PROFILES.split("/"))
    if files.find_folder(profiles) is None:
        return
    for profile in files.children(profiles):
        database = profile / "Data" / "Outlook.sqlite"
        if files.is_folder(profile) and files.is_folder(database.parent):
            yield from _profile(files, user, database)


def _profile(files: MachineFiles, user: UserHome, database: Path) -> Iterator[Found]:
    shown = files.display(database)
    profile = database.parent.parent.name
    try:
        with snapshot(files, database) as snap:
            for note in snap.notes:
                yield Skipped(SOURCE, shown, note)
            tables = snap.tables()  # real tables only: a view of the same name is not read
            mail = snap.rows(MAIL_ACCOUNTS) if "AccountsMail" in tables else []
            exchange = snap.rows(EXCHANGE_ACCOUNTS) if "AccountsExchange" in tables else []
    except UnreadableFile as exc:
        if exc.reason != ABSENT:
            yield Skipped(SOURCE, shown, f"Outlook.sqlite {exc.reason}")
        return
    except sqlite3.DatabaseError as exc:
        yield Skipped(
            SOURCE, shown, f"Outlook.sqlite is not a readable Outlook database ({describe(exc)})"
        )
        return
    if not {"AccountsMail", "AccountsExchange"} & tables:
        yield Skipped(SOURCE, shown, "Outlook.sqlite has no account tables this version knows")
        return

    store = _profile_store(files, database.parent)
    for record, name, address, server_type in mail:
        declared, protocol = FOURCC.get(_fourcc(server_type), ("unknown", Protocol.OTHER))
        yield _account(
            user,
            profile,
            f"mail/{record}",
            name,
            address,
            declared,
            protocol,
            f"{shown}: AccountsMail {record}",
            store,
        )
    for record, name, address in exchange:
        yield _account(
            user,
            profile,
            f"exchange/{record}",
            name,
            address,
            "exchange",
            Protocol.EXCHANGE,
            f"{shown}: AccountsExchange {record}",
            store,
        )


def _account(
    user: UserHome,
    profile: str,
    key: str,
    name: object,
    address: object,
    declared: str,
    protocol: Protocol,
    origin: str,
    store: LocalStore,
) -> Account:
    email = address if isinstance(address, str) and address and "\0" not in address else None
    return Account(
        client=Client.OUTLOOK_MAC,
        user=user.name,
        profile=profile,
        key=key,
        name=name if isinstance(name, str) and name and "\0" not in name else (email or key),
        email=email,
        protocol=protocol,
        declared_type=declared,
        incoming=Endpoint(
            host=None, port=None, security=Security.UNKNOWN, security_raw=UNKNOWN_SERVER
        ),
        origin=origin,
        addresses=(email,) if email else (),
        local_store=store,
    )


def _profile_store(files: MachineFiles, data: Path) -> LocalStore:
    """The profile's Data folder: every account of the profile keeps its mail there."""
    shown = files.display(data)
    note = "shared by every account of this Outlook profile"
    try:
        size = files.measure_mail(data, IgnoreRule(suffixes=(), names=frozenset()))
    except UnreadableFile as exc:
        return LocalStore(shown, 0, note=f"{note}; profile folder {exc.reason}", measured=False)
    return LocalStore(shown, size.bytes, note="; ".join(n for n in (note, size.note) if n))


def _fourcc(value: object) -> str:
    if isinstance(value, int) and 0 <= value < 2**32:
        return value.to_bytes(4, "big").decode("latin-1")
    return str(value or "")
