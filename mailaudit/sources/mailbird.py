"""Mailbird (Windows): detected, accounts listed from its Store.db, local mail measured.

Store.db is SQLite; its `Accounts` table's columns differ between versions (one read-only tool
reads `Server_Host`, another `Server`, `Port`, `Username`) [I], so columns are picked by name
from `PRAGMA table_info`, from an allow-list; a column naming a password or token is never
selected. Mail bodies live in the same database: its size is the local mail.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

from mailaudit.errors import UnreadableFile
from mailaudit.machine import MachineFiles, UserHome
from mailaudit.model import Client, Skipped
from mailaudit.sources.base import Found
from mailaudit.sources.detection import measure, unknown_account
from mailaudit.sources.sqlite_snapshot import snapshot

STORE = "AppData/Local/Mailbird/Store/Store.db"
SECRET = re.compile(r"pass|token|secret|credential|oauth", re.IGNORECASE)
WANTED = {
    "address": re.compile(r"^(email|emailaddress|address|username|user_name)$", re.IGNORECASE),
    "name": re.compile(r"^(name|displayname|display_name|accountname|senderName)$", re.IGNORECASE),
    "host": re.compile(r"^(server_host|server|host|incomingserver|incoming_host)$", re.IGNORECASE),
    "port": re.compile(r"^(server_port|port|incomingport|incoming_port)$", re.IGNORECASE),
}
MOST_ACCOUNTS = 200


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    database = user.home / STORE
    if not database.is_file():
        return
    origin = files.display(database)
    store = measure(files, database.parent, "Mailbird's store, shared by all its accounts")
    try:
        with snapshot(files, database) as opened:
            rows = list(_accounts(opened.connection))
    except UnreadableFile as exc:
        yield Skipped(Client.MAILBIRD.value, origin, f"Store.db {exc.reason}")
        return
    except sqlite3.Error as exc:
        yield Skipped(Client.MAILBIRD.value, origin, f"Store.db is not a readable database ({exc})")
        return
    for number, row in enumerate(rows):
        address = row.get("address")
        name = row.get("name") or address or f"account {number + 1}"
        port = row.get("port")
        yield unknown_account(
            Client.MAILBIRD,
            user,
            files.display(database.parent),
            f"Accounts/{number}",
            name,
            f"{origin}: Accounts",
            store,
            email=address if address and "@" in address else None,
            host=row.get("host"),
            port=int(port) if port and port.isdigit() else None,
        )


def _accounts(connection: sqlite3.Connection) -> Iterator[dict[str, str]]:
    columns = [row[1] for row in connection.execute("PRAGMA table_info(Accounts)")]
    chosen: dict[str, str] = {}
    for column in columns:
        if SECRET.search(column):
            continue
        for field, pattern in WANTED.items():
            if field not in chosen and pattern.match(column):
                chosen[field] = column
    if not chosen:
        return
    selected = ", ".join(f'"{c}"' for c in chosen.values())
    query = f"SELECT {selected} FROM Accounts LIMIT {MOST_ACCOUNTS}"  # names from the allow-list
    for row in connection.execute(query):
        yield {
            field: str(value)
            for field, value in zip(chosen, row, strict=True)
            if value is not None and str(value).strip()
        }
