"""Open a client's SQLite database without touching it, and read it with bounded cost.

Opening the original, even read-only, can create `-wal`/`-shm` files beside it or wait on a
lock held by the running client; `immutable=1` avoids both but ignores committed changes that
still sit in the `-wal` file. So the database and its `-wal` are streamed (through
MachineFiles, bounded and contained) into a private temporary folder, and that copy is opened:
SQLite replays the WAL into the copy, and the client's files stay as they were.

A database file is input like any other, and SQL can be made expensive: a "table" that is a
recursive view, a view returning zeroblob(900000000), a generated column. So the copy is read
with the schema distrusted (`trusted_schema=OFF`), temporary data kept in memory instead of
spilled to disk, every statement under a deadline, only real tables queried (`sqlite_master`
type 'table', never a view of the same name) and at most `MAX_ROWS` rows taken from each.
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailaudit.errors import UnreadableFile
from mailaudit.machine import ABSENT, MachineFiles

DATABASE_LIMIT = 512 * 1024 * 1024  # Outlook for Mac's index can be large; Accounts4 is small
DEADLINE_SECONDS = 10.0  # for everything read from one database
MAX_ROWS = 100_000  # per query: a real account database has dozens
MAX_VALUE_BYTES = 1024 * 1024  # any string or blob longer than this ends the statement
CACHE_KIB = 8 * 1024  # the page cache, in KiB
HEAP_LIMIT = 64 * 1024 * 1024  # SQLite's whole heap, where the length limit is not available


class DatabaseTooCostly(sqlite3.DatabaseError):
    """The database needs more time or rows than a real one ever does, or lacks a table."""


def describe(exc: sqlite3.DatabaseError) -> str:
    """Why a database could not be read, without quoting it (SQLite's messages may quote
    the schema, which is input)."""
    if isinstance(exc, DatabaseTooCostly):
        return str(exc)
    if "interrupted" in str(exc):
        return f"took longer than {DEADLINE_SECONDS:g} s to read"
    if "too big" in str(exc):
        return f"holds a value over {MAX_VALUE_BYTES // 1024 // 1024} MB"
    return "damaged or not a database"


@dataclass
class Snapshot:
    connection: sqlite3.Connection
    notes: list[str]  # what could not be copied (a -wal that cannot be read)

    def require(self, *names: str) -> None:
        """Raise DatabaseTooCostly unless each name is a real table."""
        missing = sorted(set(names) - self.tables())
        if missing:
            raise DatabaseTooCostly(f"no table {missing[0]} (a view of that name is not read)")

    def tables(self) -> set[str]:
        """The names of the real tables: a view or virtual table of the same name is not one."""
        return {
            name
            for (name,) in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
            if isinstance(name, str)
        }

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """At most MAX_ROWS rows of a query; more is refused as not a real database."""
        found = list(itertools.islice(self.connection.execute(sql), MAX_ROWS + 1))
        if len(found) > MAX_ROWS:
            raise DatabaseTooCostly(f"more than {MAX_ROWS} rows in one table")
        return found


@contextmanager
def snapshot(files: MachineFiles, database: Path) -> Iterator[Snapshot]:
    """A connection to a private copy of `database`. Raises UnreadableFile when the database
    itself cannot be read, sqlite3.DatabaseError when it is not a database or costs too much."""
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mailaudit-db-") as private:
        copy = Path(private) / "copy.sqlite"
        files.copy_file(database, copy, DATABASE_LIMIT)
        wal = database.with_name(database.name + "-wal")
        try:
            files.copy_file(wal, Path(f"{copy}-wal"), DATABASE_LIMIT)
        except UnreadableFile as exc:
            Path(f"{copy}-wal").unlink(missing_ok=True)
            if exc.reason != ABSENT:
                notes.append(
                    f"{wal.name} {exc.reason}: changes not yet merged into the database are missing"
                )
        connection = sqlite3.connect(copy)
        restore = _distrust(connection)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fail early
            yield Snapshot(connection, notes)
        except MemoryError:  # SQLite's NOMEM under the heap limit of Python 3.10
            raise DatabaseTooCostly(f"holds a value over {MAX_VALUE_BYTES // 2**20} MB") from None
        finally:
            connection.close()
            restore()


def _distrust(connection: sqlite3.Connection) -> Callable[[], None]:
    """Set the connection up to read untrusted SQL; returns what undoes the process-wide part."""
    # Text that is not UTF-8 is read with replacement characters instead of failing the row.
    connection.text_factory = lambda data: data.decode("utf-8", "replace")
    for pragma in (
        "trusted_schema = OFF",  # no SQL functions with side effects from views or triggers
        "temp_store = MEMORY",  # no spill into TMPDIR (the client's disk on a live scan)
        f"cache_size = -{CACHE_KIB}",
        "mmap_size = 0",
        "query_only = ON",
    ):
        connection.execute(f"PRAGMA {pragma}")
    deadline = time.monotonic() + DEADLINE_SECONDS
    # A non-zero answer interrupts the statement: sqlite3.OperationalError("interrupted").
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    set_limit = getattr(connection, "setlimit", None)  # Python 3.11+
    if set_limit is not None:
        set_limit(getattr(sqlite3, "SQLITE_LIMIT_LENGTH"), MAX_VALUE_BYTES)  # noqa: B009
        return _nothing
    # Python 3.10 cannot set a length limit: bound SQLite's heap instead, process-wide, and put
    # the old limit back when the snapshot closes.
    row = connection.execute("PRAGMA hard_heap_limit").fetchone()
    if row is None:  # SQLite before 3.31: no such pragma; the deadline still holds
        return _nothing
    before = int(row[0])
    connection.execute(f"PRAGMA hard_heap_limit = {HEAP_LIMIT}")

    def restore() -> None:
        other = sqlite3.connect(":memory:")
        try:
            other.execute(f"PRAGMA hard_heap_limit = {before}")
        finally:
            other.close()

    return restore


def _nothing() -> None:
    return None
