"""Small asyncio servers that misbehave in ways no real server does, for the probe's bounds.

They run on their own event loop in a thread, on 127.0.0.1 and ports picked by the kernel,
and stop when the `with` block ends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


async def endless_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"* OK ")
    while True:
        writer.write(b"a" * 65536)
        await writer.drain()
        await asyncio.sleep(0)


async def huge_capability(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"* OK ready\r\n")
    await reader.readline()
    writer.write(b"* CAPABILITY ")
    for _ in range(160):  # 10 MB in 64 KB pieces: the server itself stays small
        writer.write(b"X" * 65536)
        await writer.drain()
    writer.write(b"\r\nma1 OK done\r\n")
    await writer.drain()
    await asyncio.sleep(3600)


async def one_byte_a_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for byte in b"* OK [CAPABILITY IMAP4rev1] slow server ready\r\n":
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1)


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)  # the ClientHello
    writer.write(bytes(range(256)) * 4)
    await writer.drain()
    await asyncio.sleep(3600)


async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)  # an HTTP server answers whatever arrives
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    writer.close()


async def hang_up_after_greeting(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(b"+OK POP3 ready\r\n")
    await writer.drain()
    writer.close()


async def starttls_then_plaintext(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
    while line := await reader.readline():
        tag = line.split(b" ", 1)[0]
        if b"STARTTLS" in line.upper():
            writer.write(tag + b" OK Begin TLS negotiation now\r\n")
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.write(b"* OK this is not TLS at all\r\n")
        elif b"CAPABILITY" in line.upper():
            writer.write(b"* CAPABILITY IMAP4rev1 STARTTLS\r\n" + tag + b" OK done\r\n")
        else:
            writer.write(tag + b" BAD\r\n")
        await writer.drain()


async def odd_capabilities(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Lower case, tabs, doubled spaces, a token that looks like a tag, and a non-ASCII greeting."""
    writer.write("* OK [CAPABILITY imap4rev1 idle] Bienvenue sur le serveur ✉ prêt\r\n".encode())
    while line := await reader.readline():
        tag = line.split(b" ", 1)[0]
        if b"CAPABILITY" in line.upper():
            writer.write(b"* CAPABILITY imap4rev1\tidle  auth=plain Auth=XOAUTH2 IMAP4rev2 ma1\r\n")
            writer.write(b"* 3 EXISTS\r\n" + tag + b" OK capability done\r\n")
        elif b"LOGOUT" in line.upper():
            writer.write(b"* BYE\r\n" + tag + b" OK bye\r\n")
        await writer.drain()


async def pop3_without_capa(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An old POP3 server: RFC 1939 only, no CAPA (RFC 2449) and no STLS."""
    writer.write(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n")
    while line := await reader.readline():
        writer.write(
            b"+OK bye\r\n" if line.upper().startswith(b"QUIT") else b"-ERR unknown command\r\n"
        )
        await writer.drain()


async def imap_bye(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"* BYE Too many connections from your address\r\n")
    await writer.drain()
    writer.close()


@contextmanager
def serving(handlers: dict[str, Handler]) -> Iterator[dict[str, int]]:
    """Run each handler as a server; yields name -> port."""
    loop = asyncio.new_event_loop()
    ports: dict[str, int] = {}
    servers: list[asyncio.base_events.Server] = []
    ready = threading.Event()

    async def start() -> None:
        for name, handler in handlers.items():
            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            servers.append(server)
            ports[name] = server.sockets[0].getsockname()[1]
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    ready.wait(10)
    try:
        yield ports
    finally:

        async def stop() -> None:
            for server in servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
