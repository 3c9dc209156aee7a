"""A small IMAP server over TLS for what Dovecot 2.3 cannot show: a server that refuses raw
8-bit header fields in APPEND (Gmail and RFC 6855 servers with UTF8=ACCEPT; Exchange's "invalid
header"), and takes them only in an RFC 6855 `UTF8 (~{n})` APPEND after ENABLE UTF8=ACCEPT;
and one that throttles (Microsoft 365's answer, imapsync FAQ).

Just enough IMAP for an uploader: login, NAMESPACE, LIST, CREATE, EXAMINE, UID FETCH of sizes
and Message-IDs, APPEND (synchronising or not). Runs on its own loop in a thread, like
tests/hostile.py.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_APPEND = re.compile(
    r'^(\S+) APPEND "?([^"]*?)"?(?: \(([^)]*)\))?(?: "([^"]*)")? (UTF8 \()?~?\{(\d+)(\+?)\}$',
    re.IGNORECASE,
)


@dataclass
class Stored:
    data: bytes
    flags: str
    as_utf8: bool  # came in an RFC 6855 UTF8 literal


@dataclass
class FakeImap:
    cert: Path
    key: str | Path
    utf8_accept: bool
    throttle_after: int | None = None  # then every APPEND is refused as Microsoft 365 does
    garbled_fetch: bool = False  # a FETCH answer no parser can read
    mailboxes: dict[str, list[Stored]] = field(default_factory=lambda: {"INBOX": []})
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        caps = "IMAP4rev1 AUTH=PLAIN SASL-IR NAMESPACE UIDPLUS LITERAL-" + (
            " ENABLE UTF8=ACCEPT" if self.utf8_accept else ""
        )
        writer.write(f"* OK [CAPABILITY {caps}] fake ready\r\n".encode())
        enabled = False
        selected = "INBOX"
        while True:
            line = (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                return
            tag, _, rest = line.partition(" ")
            verb = rest.split(" ", 1)[0].upper()
            if verb == "CAPABILITY":
                writer.write(f"* CAPABILITY {caps}\r\n{tag} OK done\r\n".encode())
            elif verb == "AUTHENTICATE":
                writer.write(f"{tag} OK [CAPABILITY {caps}] logged in\r\n".encode())
            elif verb == "ENABLE":
                enabled = self.utf8_accept
                writer.write(f"* ENABLED UTF8=ACCEPT\r\n{tag} OK enabled\r\n".encode())
            elif verb == "NAMESPACE":
                writer.write(f'* NAMESPACE (("" "/")) NIL NIL\r\n{tag} OK done\r\n'.encode())
            elif verb == "LIST":
                for name in self.mailboxes:
                    writer.write(f'* LIST () "/" "{name}"\r\n'.encode())
                writer.write(f"{tag} OK done\r\n".encode())
            elif verb == "CREATE":
                self.mailboxes.setdefault(rest.split(" ", 1)[1].strip('"'), [])
                writer.write(f"{tag} OK created\r\n".encode())
            elif verb == "EXAMINE":
                selected = rest.split(" ", 1)[1].strip('"')
                count = len(self.mailboxes.get(selected, []))
                writer.write(
                    f"* {count} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-ONLY] done\r\n"
                    .encode()
                )  # fmt: skip
            elif verb == "UID" and self.garbled_fetch:
                writer.write(f'* 1 FETCH (UID 1 BODY[] "cut off\r\n{tag} OK done\r\n'.encode())
            elif verb == "UID":
                for uid, stored in enumerate(self.mailboxes.get(selected, []), 1):
                    found = re.search(rb"(?im)^message-id:.*\r\n", stored.data)
                    header = (found.group(0) if found else b"") + b"\r\n"
                    writer.write(
                        f"* {uid} FETCH (UID {uid} RFC822.SIZE {len(stored.data)} "
                        f"BODY[HEADER.FIELDS (MESSAGE-ID)] {{{len(header)}}}\r\n".encode()
                        + header
                        + b")\r\n"
                    )
                writer.write(f"{tag} OK done\r\n".encode())
            elif verb == "APPEND":
                await self.append(line, reader, writer, enabled)
            elif verb == "LOGOUT":
                writer.write(f"* BYE bye\r\n{tag} OK done\r\n".encode())
                await writer.drain()
                writer.close()
                return
            else:
                writer.write(f"{tag} BAD not here\r\n".encode())
            await writer.drain()

    async def append(
        self,
        line: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        enabled: bool,
    ) -> None:
        found = _APPEND.match(line)
        if found is None:
            writer.write(f"{line.split(' ')[0]} BAD what APPEND\r\n".encode())
            return
        tag, mailbox, flags, _date, utf8, size, plus = found.groups()
        if not plus:
            writer.write(b"+ go ahead\r\n")
            await writer.drain()
        data = await reader.readexactly(int(size))
        await reader.readline()  # ")" of the UTF8 form, then the line end
        header = data.split(b"\r\n\r\n", 1)[0]
        if any(byte >= 0x80 for byte in header) and not (utf8 and enabled):
            writer.write(
                f"{tag} NO [CANNOT] 8-bit header fields need an UTF8 APPEND (RFC 6855)\r\n".encode()
            )
            return
        stored = sum(len(box) for box in self.mailboxes.values())
        if self.throttle_after is not None and stored >= self.throttle_after:
            writer.write(
                f"{tag} NO [THROTTLED] Request is throttled. "
                "Suggested Backoff Time: 299961 milliseconds\r\n".encode()
            )
            return
        box = self.mailboxes.setdefault(mailbox, [])
        box.append(Stored(data, flags or "", bool(utf8)))
        writer.write(f"{tag} OK [APPENDUID 7 {len(box)}] stored\r\n".encode())


@contextmanager
def serving(server: FakeImap) -> Iterator[FakeImap]:
    loop = asyncio.new_event_loop()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(server.cert), str(server.key))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        listening = loop.run_until_complete(
            asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=context)
        )
        server.port = listening.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()
        listening.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
