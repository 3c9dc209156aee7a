"""Open a client's SQLite database without touching it.

Opening the original, even read-only, can create `-wal`/`-shm` files beside it or wait on a
lock held by the running client; `immutable=1` avoids both but ignores committed changes that
still sit in the `-wal` file. So the database and its `-wal` are read (through MachineFiles,
bounded and contained) into a private temporary folder, and that copy is opened: SQLite
replays the WAL into the copy, and the client's files stay as they were.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import MachineFiles

DATABASE_LIMIT = 512 * 1024 * 1024


@dataclass
class Snapshot:
    connection: sqlite3.Connection
    notes: list[str]  # what could not be copied (a -wal that cannot be read)


@contextmanager
def snapshot(files: MachineFiles, database: Path) -> Iterator[Snapshot]:
    """A connection to a private copy of `database`. Raises UnreadableFile when the database
    itself cannot be read, sqlite3.DatabaseError when it is not a database."""
    data = files.read_bytes(database, DATABASE_LIMIT)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mailaudit-db-") as private:
        copy = Path(private) / "copy.sqlite"
        copy.write_bytes(data)
        wal = database.with_name(database.name + "-wal")
        if wal.exists() or wal.is_symlink():
            try:
                Path(f"{copy}-wal").write_bytes(files.read_bytes(wal, DATABASE_LIMIT))
            except UnreadableFile as exc:
                notes.append(
                    f"{wal.name} {exc.reason}: changes not yet merged into the database are missing"
                )
        connection = sqlite3.connect(copy)
        try:
            connection.execute("PRAGMA query_only = ON")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fail early
            yield Snapshot(connection, notes)
        finally:
            connection.close()
