"""Helpers for the migrate tests: Dovecot set up as a provider's IMAP server, Maildir sources
written by hand, and the server's copy read back with the stdlib's imaplib (another client)."""

from __future__ import annotations

import imaplib
import itertools
import os
import re
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

# A provider-like Dovecot: special-use folders under other names than the client's, the
# mail_log plugin writing every save and folder creation to the log (what --dry-run must not
# cause), XOAUTH2/OAUTHBEARER (Dovecot hands the token to the passdb as a password, so a
# passwd-file entry plays the token's introspection).
MIGRATE_CONF = r"""
auth_mechanisms = plain login xoauth2 oauthbearer
namespace inbox {
  inbox = yes
  separator = /
  mailbox Gesendet {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Entwurf {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Papierkorb {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Spam {
    special_use = \Junk
    auto = subscribe
  }
}
mail_plugins = $mail_plugins notify mail_log quota
# What each session fetched, on its "Logged out" line: a re-run must not read every header.
imap_logout_format = in=%%i out=%%o headers=%%{fetch_hdr_count} bodies=%%{fetch_body_count}
plugin {
  mail_log_events = save mailbox_create
  mail_log_fields = uid box msgid size
  quota = maildir:User quota
  quota_rule = *:storage=0
  %s
}
%s
"""

_users = itertools.count(1)


def migrate_conf(plugin: str = "", top: str = "") -> str:
    return MIGRATE_CONF % (plugin, top)


@dataclass(frozen=True)
class User:
    name: str
    password: str


POOL = 60  # users written before Dovecot starts: it re-reads a passwd-file at most once a second


def pool_users() -> str:
    return "".join(f"user{n}:{{PLAIN}}pw{n}-Zq8-secret\n" for n in range(1, POOL + 1))


def new_user(server) -> User:  # type: ignore[no-untyped-def]
    """A user of its own for each test, from the pool every migrate Dovecot has."""
    n = next(_users)
    assert n <= POOL, "raise POOL"
    return User(f"user{n}", f"pw{n}-Zq8-secret")


def bump(path: Path) -> None:
    """Dovecot re-reads a changed passwd-file, but checks at most once a second."""
    time.sleep(1.1)
    mtime = max(time.time(), path.stat().st_mtime + 1)
    os.utime(path, (mtime, mtime))


def message(n: int, folder: str = "INBOX", size: int = 0, extra: str = "") -> bytes:
    body = f"Message {n} in {folder}.\n" + ("x" * 70 + "\n") * (size // 71)
    return (
        f"From: Sender {n} <s{n}@example.test>\nTo: pat@example.test\n"
        f"Subject: test {n}\nMessage-ID: <m{n}.{folder.replace('/', '.')}@example.test>\n"
        f"Date: Mon, 2 Mar 2020 10:00:00 +0000\n{extra}\n{body}"
    ).encode()


def write_maildir(
    root: Path, folder: str, messages: list[tuple[bytes, str, float]], plus: bool = True
) -> None:
    """Maildir++ under `root`: INBOX is the root itself, other folders `.Name` (mUTF-7 names
    written by the caller). Each message: (bytes with LF ends, info letters, mtime)."""
    where = root if folder == "INBOX" else root / f".{folder}"
    for sub in ("cur", "new", "tmp"):
        (where / sub).mkdir(parents=True, exist_ok=True)
    for index, (data, letters, mtime) in enumerate(messages):
        path = where / "cur" / f"{int(mtime)}.M{index}P1.host:2,{letters}"
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))


@dataclass(frozen=True)
class ServerMessage:
    flags: frozenset[str]
    internal_date: datetime
    data: bytes


def read_back(server, user: User, certs: Path) -> dict[str, list[ServerMessage]]:  # type: ignore[no-untyped-def]
    """Every folder's messages as imaplib sees them (mailbox names decoded from mUTF-7)."""
    from mailaudit.migrate import utf7

    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    context.check_hostname = False  # by address: no name lookup outside the lab's dnsmasq
    client = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=context)
    found: dict[str, list[ServerMessage]] = {}
    try:
        client.login(user.name, user.password)
        _, listed = client.list()
        names = []
        for line in listed:
            text = line.decode() if isinstance(line, bytes) else str(line)
            found_name = re.match(r'\((.*?)\) (?:"[^"]*"|NIL) (.+)$', text)
            assert found_name is not None, text
            if "\\Noselect" not in found_name.group(1):
                names.append(found_name.group(2).strip('"'))
        for name in names:
            status, count = client.select(f'"{name}"', readonly=True)
            assert status == "OK", (name, count)
            found[utf7.decode(name)] = []
            if count[0] == b"0":
                continue
            _, data = client.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
            messages = []
            for part in data:
                if not isinstance(part, tuple):
                    continue
                meta = part[0].decode()
                flags = re.search(r"FLAGS \((.*?)\)", meta).group(1).split()  # type: ignore[union-attr]
                date = imaplib.Internaldate2tuple(part[0])
                assert date is not None
                messages.append(
                    ServerMessage(
                        frozenset(flags) - {"\\Recent"},
                        datetime.fromtimestamp(time.mktime(date), timezone.utc),
                        part[1],
                    )
                )
            found[utf7.decode(name)] = messages
    finally:
        client.logout()
    return found


def bytes_in(server, user: User) -> int:  # type: ignore[no-untyped-def]
    """Bytes the server received from this user's sessions, from its logout lines."""
    log = (server.folder / "dovecot.log").read_text()
    return sum(int(m) for m in re.findall(rf"imap\({re.escape(user.name)}\).*? in=(\d+) ", log))


def saves(server) -> int:  # type: ignore[no-untyped-def]
    """How many messages the server stored so far, from mail_log's lines."""
    log = server.folder / "dovecot.log"
    return log.read_text().count(": save: ") if log.exists() else 0
