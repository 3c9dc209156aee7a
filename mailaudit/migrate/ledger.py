"""The only state that persists between runs: what was sent where (SQLite).

Each message's intent is committed before its APPEND leaves, and its UID after the
server's APPENDUID (RFC 4315). After a crash a row still "sending" is in doubt: the next run
looks for it on the server by Message-ID (or by a hash of its bytes) and sends it again only
when it is not there. No password, token or message content is ever stored here: identities,
sizes and hashes only.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    destination TEXT NOT NULL,   -- imaps://user@host:port, never a secret
    mailbox     TEXT NOT NULL,   -- wire name on the server
    source      TEXT NOT NULL,   -- the store and folder the message came from
    key         TEXT NOT NULL,   -- the reader's stable key within the store
    message_id  TEXT,
    size        INTEGER NOT NULL,
    digest      TEXT NOT NULL,   -- SHA-256 of the bytes sent; empty when a Message-ID suffices
    state       TEXT NOT NULL CHECK (state IN ('sending', 'done')),
    uidvalidity INTEGER,
    uid         INTEGER,
    PRIMARY KEY (destination, mailbox, source, key)
);
"""


@dataclass(frozen=True)
class Entry:
    key: str
    message_id: str | None
    size: int
    digest: str
    done: bool
    uidvalidity: int | None
    uid: int | None


@dataclass(frozen=True)
class Intent:
    key: str
    message_id: str | None
    size: int
    digest: str


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), isolation_level=None)
        # WAL with synchronous=NORMAL: a committed intent survives the process being killed
        # (it is in the operating system's hands before the APPEND leaves), without a disk
        # sync per batch, which on a busy disk cost more than the upload. What only a power
        # cut could lose is still found on the server by its Message-ID on the next run.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        if hasattr(os, "chmod"):
            path.chmod(0o600)  # folder names and Message-IDs are the user's business
        self._done: list[tuple[int | None, int | None, str, str, str, str]] = []

    def close(self) -> None:
        self.flush()
        self.db.close()

    def entries(self, destination: str, mailbox: str, source: str) -> dict[str, Entry]:
        rows = self.db.execute(
            "SELECT key, message_id, size, digest, state, uidvalidity, uid FROM sent "
            "WHERE destination = ? AND mailbox = ? AND source = ?",
            (destination, mailbox, source),
        )
        return {
            row[0]: Entry(row[0], row[1], row[2], row[3], row[4] == "done", row[5], row[6])
            for row in rows
        }

    def in_doubt(self, destination: str, mailbox: str, source: str) -> set[str]:
        """The Message-IDs of the messages sent without an answer (a run that died)."""
        rows = self.db.execute(
            "SELECT message_id FROM sent WHERE destination = ? AND mailbox = ? AND source = ? "
            "AND state = 'sending' AND message_id IS NOT NULL",
            (destination, mailbox, source),
        )
        return {row[0] for row in rows}

    def sending(
        self, destination: str, mailbox: str, source: str, intents: Iterable[Intent]
    ) -> None:
        """Record intents in one synced transaction, before any of them is sent (with the
        UIDs learnt since the last one)."""
        with self._transaction():
            self._write_done()
            self.db.executemany(
                "INSERT INTO sent (destination, mailbox, source, key, message_id, size, digest, "
                "state) VALUES (?, ?, ?, ?, ?, ?, ?, 'sending') "
                "ON CONFLICT (destination, mailbox, source, key) DO UPDATE SET "
                "message_id = excluded.message_id, size = excluded.size, "
                "digest = excluded.digest, state = 'sending', uidvalidity = NULL, uid = NULL",
                [
                    (destination, mailbox, source, i.key, i.message_id, i.size, i.digest)
                    for i in intents
                ],
            )

    def done(
        self,
        destination: str,
        mailbox: str,
        source: str,
        keys: Iterable[str],
        uidvalidity: int | None,
        uids: Iterable[int | None],
    ) -> None:
        """Note the UIDs; they reach the disk with the next intents or flush(). One sync per
        APPEND would cost more than the upload: a mark lost in a crash only leaves the message
        in doubt, and the next run finds it on the server by its Message-ID."""
        self._done += [
            (uidvalidity, uid, destination, mailbox, source, key)
            for key, uid in zip(keys, uids, strict=True)
        ]
        if len(self._done) >= 1000:
            self.flush()

    def flush(self) -> None:
        if self._done:
            with self._transaction():
                self._write_done()

    def _write_done(self) -> None:
        self.db.executemany(
            "UPDATE sent SET state = 'done', uidvalidity = ?, uid = ? "
            "WHERE destination = ? AND mailbox = ? AND source = ? AND key = ?",
            self._done,
        )
        self._done = []

    def forget(self, destination: str, mailbox: str, source: str, keys: Iterable[str]) -> None:
        """The server refused these (NO): nothing of them is stored, nothing is in doubt."""
        with self._transaction():
            self._write_done()
            self.db.executemany(
                "DELETE FROM sent WHERE destination = ? AND mailbox = ? AND source = ? "
                "AND key = ? AND state = 'sending'",
                [(destination, mailbox, source, key) for key in keys],
            )

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def default_path() -> Path:
    """The user's state folder: XDG_STATE_HOME on Linux, Application Support on macOS,
    LOCALAPPDATA on Windows."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "mailaudit" / "migrate.sqlite"
