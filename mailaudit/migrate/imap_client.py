"""An asyncio IMAP client for uploading: TLS always, pipelined APPENDs, bounded everything.

Built on the probe's Wire (bounded lines, a timeout on every read). One task reads every
response and hands it to the command waiting for it, so that APPENDs can be sent back to back
without waiting for each answer (RFC 9051 §5.5); the uploader bounds how much is in flight.

Secrets: the password or token goes onto the wire inside the TLS session and nowhere else. No
error message here quotes what was sent, only what the server answered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mailaudit.migrate.identity import message_id
from mailaudit.migrate.imap_syntax import (
    LITERAL_MARK,
    ImapSyntaxError,
    Item,
    Response,
    pairs,
    parse,
    quote,
    response_code,
)
from mailaudit.model import ProbeError
from mailaudit.probe import tls
from mailaudit.probe.resolve import Resolver
from mailaudit.probe.wire import Wire, WireError, open_connection

_LITERAL_AT_END = re.compile(r"~?\{(\d{1,12})\}$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LITERAL_MINUS_LIMIT = 4096  # RFC 7888 §5: LITERAL- allows non-synchronising literals up to this
WRITE_CHUNK = 256 * 1024
# A UID set named in one command line: servers cut lines at 8 KB (RFC 7162 §4 asks clients
# to keep them that short); Dovecot takes 64 KB.
MAX_UID_SET = 8000
MAX_LINES = 200  # untagged lines tolerated before the answer to STARTTLS
MAX_UNTAGGED = 2_000_000  # untagged responses kept for one command (a FETCH of a huge mailbox)


class ImapError(Exception):
    """A command the server refused (NO/BAD), or a session that could not be set up."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code  # the response code, upper-cased: OVERQUOTA, THROTTLED, TOOBIG...


@dataclass(frozen=True)
class Destination:
    """Where the mail goes: imaps:// (TLS from the first byte) or imap:// (STARTTLS required)."""

    host: str
    port: int
    user: str
    implicit_tls: bool

    def __str__(self) -> str:
        scheme = "imaps" if self.implicit_tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class Credentials:
    """How to log in. Each callable is asked again on every connect (a token command is re-run,
    since access tokens live about an hour). Nothing here is ever printed or stored."""

    password: Callable[[], str] | None = field(default=None, repr=False)
    token: Callable[[], str] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SessionOptions:
    timeout: float = 30.0  # each step: connect, handshake, each response line, each write
    ca_file: Path | None = None
    insecure: bool = False  # accept a certificate that fails verification (--insecure)
    dns_server: tuple[str, int] | None = None
    line_limit: int = 64 * 1024
    byte_budget: int = 256 * 1024 * 1024  # received per connection; fetched bodies add theirs


@dataclass(frozen=True)
class Streamed:
    """A message too large to hold: its exact size on the wire, and its bytes, read again a
    chunk at a time while its literal is written. A chunk may fail (OSError, ValueError: the
    store changed or could not be read): the connection is then cut before the command ends,
    so that the server stores nothing of it."""

    size: int
    chunks: Callable[[], Iterator[bytes]]


@dataclass(frozen=True)
class Outgoing:
    """One message for APPEND."""

    data: bytes | Streamed
    flags: tuple[str, ...]
    internal_date: datetime | None
    utf8: bool = False  # send as RFC 6855 `UTF8 (~{n})`: 8-bit headers to a UTF8=ACCEPT server

    @property
    def size(self) -> int:
        return self.data.size if isinstance(self.data, Streamed) else len(self.data)


@dataclass(frozen=True)
class Listed:
    name: str  # as on the wire (modified UTF-7 unless UTF8=ACCEPT is enabled)
    delimiter: str | None
    attributes: frozenset[str]  # upper-cased: \NOSELECT, \SENT, \DRAFTS...


@dataclass(frozen=True)
class Stored:
    """A message already on the server, from one bulk FETCH."""

    uid: int
    size: int
    message_id: str | None


def imap_date(when: datetime) -> str:
    """INTERNALDATE as APPEND takes it (RFC 9051 §9 date-time): English month, numeric zone."""
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return (
        f'"{when.day:02d}-{_MONTHS[when.month - 1]}-{when.year:04d} '
        f'{when:%H:%M:%S} {sign}{minutes // 60:02d}{minutes % 60:02d}"'
    )


def tls_context(options: SessionOptions) -> ssl.SSLContext:
    if options.insecure:
        return tls.unverified_context()
    context = tls.verifying_context(options.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # a password goes over it
    return context


class Session:
    """One logged-in connection. A command is answered before the next one leaves, except
    APPENDs (pipelined, see append()) and the commands sent together by commands()."""

    def __init__(self, wire: Wire, timeout: float) -> None:
        self.wire = wire
        self.timeout = timeout
        self.capabilities: frozenset[str] = frozenset()
        self.utf8 = False  # UTF8=ACCEPT enabled
        self._tags = 0
        # Each command's completion, and the list its untagged responses go to: those that
        # arrive after the previous completion and before its own (the server answers in order).
        self._pending: dict[str, tuple[asyncio.Future[Response], list[Response]]] = {}
        self._untagged: list[Response] = []
        self._continuation: asyncio.Future[str] | None = None
        self._each: Callable[[Response], None] | None = None  # see command_each()
        self._write_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._last_write = time.monotonic()
        self.broken: WireError | None = None

    # -- setting up --------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        destination: Destination,
        credentials: Credentials,
        options: SessionOptions,
        context: ssl.SSLContext | None = None,
    ) -> Session:
        """A logged-in session. `context`: from tls_context(options), made once for many
        connections (loading the system's certificates costs 20 ms each time)."""
        context = context or tls_context(options)
        resolver = Resolver(options.dns_server, options.timeout)
        failures: list[str] = []
        for address in await resolver.addresses(destination.host):
            try:
                wire = await open_connection(
                    address,
                    destination.port,
                    context if destination.implicit_tls else None,
                    destination.host,
                    options.timeout,
                    options.line_limit,
                    options.byte_budget,
                )
            except WireError as exc:
                if exc.reason is ProbeError.TLS:
                    raise
                failures.append(f"{address}: {exc.message}")
                continue
            session = cls(wire, options.timeout)
            try:
                await session._start(destination, context)
                await session._login(destination.user, credentials)
            except BaseException:
                session.abort()
                raise
            return session
        raise WireError(
            ProbeError.REFUSED, f"cannot connect to {destination.host}: {'; '.join(failures)}"
        )

    async def _start(self, destination: Destination, context: ssl.SSLContext) -> None:
        greeting = await self.wire.read_line(self.timeout)
        if not greeting.upper().startswith("* OK"):
            raise ImapError(f"not an IMAP server ready for a login: {greeting[:200]!r}")
        if not destination.implicit_tls:
            # STARTTLS is required: a plaintext login is never an option (RFC 8314 §3).
            self.wire.send("s1 STARTTLS")
            for _ in range(MAX_LINES):
                line = await self.wire.read_line(self.timeout)
                if line.upper().startswith("S1 "):
                    break
            else:
                raise ImapError(f"no answer to STARTTLS within {MAX_LINES} lines")
            if not line[3:].upper().startswith("OK"):
                raise ImapError(
                    f"the server refused STARTTLS ({line[3:][:120]}); "
                    "refusing to log in without encryption"
                )
            try:
                await self.wire.start_tls(context, destination.host, self.timeout)
            except ssl.SSLCertVerificationError as exc:
                detail = getattr(exc, "verify_message", "") or exc
                raise WireError(
                    ProbeError.TLS, f"the certificate failed verification: {detail}"
                ) from None
            except (ssl.SSLError, ConnectionError) as exc:
                raise WireError(ProbeError.TLS, f"TLS handshake failed: {exc}") from None
        self._reader = asyncio.ensure_future(self._read_loop())
        # The greeting's CAPABILITY code saves a round trip; after STARTTLS it must be asked
        # again (RFC 9051 §6.2.1: what was said in plaintext may have been forged).
        advertised = _capability_code(greeting) if destination.implicit_tls else None
        if advertised is None:
            await self.refresh_capabilities()
        else:
            self.capabilities = advertised

    async def refresh_capabilities(self) -> None:
        found: set[str] = set()
        for response in await self.command("CAPABILITY"):
            words = response.text.split(" ")
            if len(words) > 1 and words[0] == "*" and words[1].upper() == "CAPABILITY":
                found.update(word.upper() for word in words[2:])
        self.capabilities = frozenset(found)

    async def _login(self, user: str, credentials: Credentials) -> None:
        caps = self.capabilities
        if credentials.token is not None:
            token = credentials.token()
            if "AUTH=XOAUTH2" in caps:
                mechanism, blob = "XOAUTH2", f"user={user}\x01auth=Bearer {token}\x01\x01"
            elif "AUTH=OAUTHBEARER" in caps:
                mechanism = "OAUTHBEARER"
                blob = f"n,a={user},\x01auth=Bearer {token}\x01\x01"
            else:
                raise ImapError("the server offers neither XOAUTH2 nor OAUTHBEARER for a token")
            answer = await self._authenticate(mechanism, blob.encode("utf-8"))
        elif credentials.password is not None:
            password = credentials.password()
            if "AUTH=PLAIN" in caps:
                answer = await self._authenticate("PLAIN", f"\x00{user}\x00{password}".encode())
            elif "LOGINDISABLED" in caps:
                raise ImapError("the server allows neither LOGIN nor AUTHENTICATE PLAIN")
            elif "\r" in password or "\n" in password:
                raise ImapError("the password holds a line break, which LOGIN cannot carry")
            else:
                answer = await self.command(f"LOGIN {quote(user)} {quote(password)}", secret=True)
        else:
            raise ImapError("no password and no token to log in with")
        # Capabilities change after login (RFC 9051 §6.2): the login's own CAPABILITY code
        # says which (RFC 9051 §7.1), else ask again.
        advertised = _capability_code(answer[-1].text)
        if advertised is None:
            await self.refresh_capabilities()
        else:
            self.capabilities = advertised
        if "UTF8=ACCEPT" in self.capabilities and "ENABLE" in self.capabilities:
            await self.command("ENABLE UTF8=ACCEPT")
            self.utf8 = True

    async def _authenticate(self, mechanism: str, blob: bytes) -> list[Response]:
        encoded = base64.b64encode(blob).decode("ascii")
        if "SASL-IR" in self.capabilities:
            return await self.command(f"AUTHENTICATE {mechanism} {encoded}", secret=True)
        sent = False

        def respond(_challenge: str) -> bytes:
            # First challenge: the credentials. Any later one is an error report (XOAUTH2
            # sends its JSON error as a challenge): answer empty so the server says NO.
            nonlocal sent
            if sent:
                return b"\r\n"
            sent = True
            return encoded.encode("ascii") + b"\r\n"

        return await self.command(f"AUTHENTICATE {mechanism}", secret=True, respond=respond)

    # -- commands ----------------------------------------------------------------------------

    def _tag(self) -> str:
        self._tags += 1
        return f"m{self._tags}"

    async def command(
        self,
        text: str,
        *,
        secret: bool = False,
        respond: Callable[[str], bytes] | None = None,
    ) -> list[Response]:
        """Send one command, wait for its completion; its untagged responses. NO/BAD raise
        ImapError quoting the server, never the command when it is `secret`."""
        if self.broken is not None:
            raise self.broken
        untagged: list[Response] = []
        async with self._write_lock:
            tag = self._tag()
            done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            self._pending[tag] = (done, untagged)
            self._write(f"{tag} {text}\r\n".encode())
            while respond is not None and not done.done():
                challenge = await self._await_continuation(done)
                if challenge is None:
                    break
                self._write(respond(challenge))
        return await self._finish(text, secret, done, untagged)

    async def command_each(self, text: str, each: Callable[[Response], None]) -> None:
        """command(), with each untagged response handed to `each` as it arrives instead of
        kept: a FETCH over 100,000 messages is read in the memory of one. Sent when nothing
        else is pending, so that every untagged response before its completion is its own.
        An ImapError raised by `each` is raised here once the command has completed."""
        failures: list[ImapError] = []

        def deliver(response: Response) -> None:
            if failures:
                return
            try:
                each(response)
            except ImapError as exc:
                failures.append(exc)

        if self.broken is not None:
            raise self.broken
        async with self._write_lock:
            if self._pending:
                raise RuntimeError("command_each() while other commands are pending")
            tag = self._tag()
            done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            self._pending[tag] = (done, [])
            self._each = deliver
            self._write(f"{tag} {text}\r\n".encode())
        try:
            await self._finish(text, False, done, [])
        finally:
            self._each = None
        if failures:
            raise failures[0]

    async def commands(self, texts: Sequence[str]) -> list[list[Response]]:
        """Several commands sent back to back and then awaited, in one round trip; each one's
        untagged responses and completion, as command() gives them. The first NO/BAD raises."""
        if self.broken is not None:
            raise self.broken
        sent = []
        async with self._write_lock:
            for text in texts:
                tag = self._tag()
                done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
                untagged: list[Response] = []
                self._pending[tag] = (done, untagged)
                self._write(f"{tag} {text}\r\n".encode())
                sent.append((text, done, untagged))
        return [await self._finish(text, False, done, untagged) for text, done, untagged in sent]

    async def _finish(
        self, text: str, secret: bool, done: asyncio.Future[Response], untagged: list[Response]
    ) -> list[Response]:
        completion = await self._wait(done)
        status = completion.text.split(" ", 1)[0].upper()
        if status != "OK":
            what = text.split(" ", 1)[0] if secret else text[:80]
            code, _ = response_code(completion.text)
            raise ImapError(f"{what}: the server answered {completion.text[:300]}", code)
        untagged.append(completion)  # last: the completion, for its response code
        return untagged

    async def append(self, mailbox: str, messages: Sequence[Outgoing]) -> asyncio.Future[Response]:
        """Send one APPEND (MULTIAPPEND when there are several messages, RFC 3502) and return
        the future of its completion without waiting for it. Literals are non-synchronising
        where the server allows (LITERAL+, or LITERAL- up to 4 KiB: RFC 7888), else each waits
        for the server's go-ahead, while earlier APPENDs are still being answered."""
        if self.broken is not None:
            raise self.broken
        plus = "LITERAL+" in self.capabilities
        minus = "LITERAL-" in self.capabilities
        async with self._write_lock:
            tag = self._tag()
            done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            self._pending[tag] = (done, [])  # what an APPEND causes (EXISTS) is not kept
            # Small pieces are gathered into one write: one TLS record and one system call for
            # a command line, its literal and what follows, instead of one each.
            out = _Gather(self)
            out.add(f"{tag} APPEND {self.mailbox_argument(mailbox)}".encode())
            for message in messages:
                size = message.size
                quick = plus or (minus and size <= LITERAL_MINUS_LIMIT)
                flags = f" ({' '.join(message.flags)})"
                date = f" {imap_date(message.internal_date)}" if message.internal_date else ""
                literal = f"{{{size}{'+' if quick else ''}}}"
                if message.utf8:
                    literal = f"UTF8 (~{literal}"
                out.add(f"{flags}{date} {literal}\r\n".encode())
                if not quick:
                    await out.flush()
                    if await self._await_continuation(done) is None:
                        return done  # refused before the literal: the completion says why
                if isinstance(message.data, bytes) and size <= WRITE_CHUNK:
                    out.add(message.data)
                else:
                    await out.flush()
                    await self._write_literal(message.data)
                if message.utf8:
                    out.add(b")")
                if out.size >= WRITE_CHUNK:
                    await out.flush()
            out.add(b"\r\n")
            await out.flush()
        return done

    async def completion(self, done: asyncio.Future[Response]) -> Response:
        return await self._wait(done)

    async def _write_literal(self, data: bytes | Streamed) -> None:
        """A piece at a time, each handed on before the next: the TLS layer would otherwise
        hold a second, encrypted copy of a large message."""
        if isinstance(data, bytes):
            await self._write_chunks([data])
            return
        try:
            await self._write_chunks(_exactly(data))
        except (OSError, ValueError) as error:
            # The command never ends: the server drops what it had of it. Like a lost
            # connection, what else was in flight on this one is in doubt for the next run.
            failure = WireError(
                ProbeError.CLOSED, f"a message changed in the store while it was sent ({error})"
            )
            if self._reader is not None:
                self._reader.cancel()
            self._fail(failure)
            raise failure from error

    async def _write_chunks(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            view = memoryview(chunk)
            for start in range(0, len(view), WRITE_CHUNK):
                self._write(view[start : start + WRITE_CHUNK])
                await self.wire.drain(self.timeout)

    def _write(self, data: bytes | memoryview) -> None:
        if self.broken is not None:
            raise self.broken
        self.wire.write(data)
        self._last_write = time.monotonic()

    async def _await_continuation(self, done: asyncio.Future[Response]) -> str | None:
        """The server's `+ ...` for the literal just announced; None when the command completed
        instead (refused before its literal)."""
        continuation: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._continuation = continuation
        try:
            waiting: set[asyncio.Future[str] | asyncio.Future[Response]] = {continuation, done}
            await asyncio.wait(waiting, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._continuation = None
        if continuation.done() and not continuation.cancelled():
            return continuation.result()
        if done.done():
            return None
        if self.broken is not None:
            raise self.broken
        self.abort()
        raise WireError(ProbeError.TIMEOUT, f"no go-ahead for a literal within {self.timeout:g} s")

    async def _wait(self, done: asyncio.Future[Response]) -> Response:
        # The reader's line timeout bounds each step; this bounds a reader that died silently.
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            if self.broken is not None:
                raise self.broken from None
            raise

    async def _read_loop(self) -> None:
        try:
            while True:
                while not await self.wire.wait_data(self._patience()):
                    # Silence is fine while nothing is asked, or while our own bytes are still
                    # leaving (a large literal); past that, the server has stopped answering.
                    # Counted from our last write, not from the wait: a long read of the store
                    # can hold this loop up past the timeout just before a command leaves.
                    silent = time.monotonic() - self._last_write
                    if self._pending and not self.wire.pending_writes() and silent >= self.timeout:
                        raise WireError(ProbeError.TIMEOUT, f"no answer within {self.timeout:g} s")
                response = await self._read_response()
                first, _, rest = response.text.partition(" ")
                if first == "*" and self._each is not None:
                    self._each(response)
                elif first == "*":
                    if len(self._untagged) >= MAX_UNTAGGED:
                        raise WireError(ProbeError.TOO_LARGE, "too many untagged responses")
                    self._untagged.append(response)
                elif first == "+":
                    if self._continuation is not None and not self._continuation.done():
                        self._continuation.set_result(rest)
                else:
                    waiting, untagged = self._pending.pop(first, (None, []))
                    untagged += self._untagged
                    self._untagged = []
                    if waiting is not None and not waiting.done():
                        waiting.set_result(Response(rest, response.literals))
        except WireError as exc:
            self._fail(exc)
        except Exception as exc:  # a response we cannot read: the session cannot go on
            self._fail(WireError(ProbeError.PROTOCOL, f"unreadable response: {exc}"))

    def _patience(self) -> float:
        """How long the reader waits in silence before it looks again."""
        if not self._pending:
            return self.timeout
        return max(0.05, self.timeout - (time.monotonic() - self._last_write))

    async def _read_response(self) -> Response:
        """One response: a line, and while it ends in a literal, the literal and the next line."""
        parts: list[str] = []
        literals: list[bytes] = []
        while True:
            # A NUL (which IMAP forbids) must not pass for a literal's place.
            line = (await self.wire.read_line(self.timeout)).replace(LITERAL_MARK, "\ufffd")
            found = _LITERAL_AT_END.search(line)
            if found is None:
                parts.append(line)
                return Response("".join(parts), tuple(literals))
            parts.append(line[: found.start()] + LITERAL_MARK)
            size = int(found.group(1))
            self.wire.byte_budget += size  # a literal we asked for is not the server flooding us
            literals.append(await self.wire.read_exact(size, self.timeout))

    def _fail(self, error: WireError) -> None:
        self.broken = error
        futures: list[asyncio.Future[Response] | asyncio.Future[str]] = [
            done for done, _ in self._pending.values()
        ]
        if self._continuation is not None:
            futures.append(self._continuation)
        self._pending.clear()
        for waiting in futures:
            if not waiting.done():
                waiting.set_exception(error)
                # Marked as seen: an APPEND nobody waits for any more (its worker ended on the
                # same error) must not be logged as an unhandled failure.
                waiting.exception()
        self.wire.abort()

    # -- what the uploader asks --------------------------------------------------------------

    def mailbox_argument(self, name: str) -> str:
        if self.utf8 or name.isascii():
            return quote(name)
        raise ImapError(f"mailbox name {name!r} is not modified UTF-7")

    async def namespace(self) -> tuple[str, str | None]:
        """The personal namespace's prefix and delimiter (RFC 2342); ("", None) when unknown."""
        if "NAMESPACE" not in self.capabilities:
            return "", None
        for response in await self.command("NAMESPACE"):
            items = _parsed(response)
            if len(items) >= 3 and isinstance(items[1], str) and items[1].upper() == "NAMESPACE":
                personal = items[2]
                if isinstance(personal, list) and personal and isinstance(personal[0], list):
                    first = personal[0]
                    prefix = first[0] if first and isinstance(first[0], str) else ""
                    delimiter = first[1] if len(first) > 1 and isinstance(first[1], str) else None
                    return prefix, delimiter
        return "", None

    async def list_all(self) -> list[Listed]:
        found: list[Listed] = []
        for response in await self.command('LIST "" "*"'):
            items = _parsed(response)
            if len(items) < 5 or not isinstance(items[1], str) or items[1].upper() != "LIST":
                continue
            attributes, delimiter, name = items[2], items[3], items[4]
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            if not isinstance(name, str) or not isinstance(attributes, list):
                continue
            found.append(
                Listed(
                    name,
                    delimiter if isinstance(delimiter, str) else None,
                    frozenset(a.upper() for a in attributes if isinstance(a, str)),
                )
            )
        return found

    async def create(self, name: str) -> None:
        try:
            await self.command(f"CREATE {self.mailbox_argument(name)}")
        except ImapError as exc:
            if exc.code != "ALREADYEXISTS":  # RFC 5530: someone made it meanwhile
                raise

    async def examine(self, name: str) -> tuple[int | None, int]:
        """(UIDVALIDITY, number of messages), read-only: EXAMINE never changes \\Seen."""
        return await self._open("EXAMINE", name)

    async def select(self, name: str) -> tuple[int | None, int]:
        """Open a mailbox to APPEND to: a server keeps a selected mailbox open, where an
        APPEND to any other opens, syncs and closes it each time (Dovecot: a third of the time
        of an upload without MULTIAPPEND). Nothing in the mailbox changes."""
        return await self._open("SELECT", name)

    async def _open(self, verb: str, name: str) -> tuple[int | None, int]:
        return _opened(await self.command(f"{verb} {self.mailbox_argument(name)}"))

    async def still_there(
        self, wanted: dict[str, Sequence[int]]
    ) -> dict[str, tuple[int | None, int]]:
        """Each mailbox's UIDVALIDITY and how many of the given UIDs it still holds: what a
        re-run needs to see that nothing is missing. With ESEARCH, asked of all mailboxes at
        once (EXAMINE and a counting UID SEARCH in turn, one round trip, one short answer
        each); without it, a mailbox at a time, its `UID FETCH (UID)` answers counted as they
        arrive. Either way, whatever else the mailbox holds is never listed. A mailbox whose
        UIDs are too scattered to name in a command line of MAX_UID_SET is left out."""
        sets = {name: _uid_set(uids) for name, uids in wanted.items() if uids}
        sets = {name: text for name, text in sets.items() if len(text) <= MAX_UID_SET}
        found: dict[str, tuple[int | None, int]] = {}
        if "ESEARCH" in self.capabilities:
            texts = []
            for name, text in sets.items():
                texts += [
                    f"EXAMINE {self.mailbox_argument(name)}",
                    f"UID SEARCH RETURN (COUNT) UID {text}",
                ]
            answers = await self.commands(texts)
            for name, opened, counted in zip(sets, answers[::2], answers[1::2], strict=True):
                found[name] = (_opened(opened)[0], _esearch_count(counted))
            return found
        for name, text in sets.items():
            uidvalidity, _ = await self.examine(name)
            asked = set(wanted[name])
            seen: set[int] = set()

            def one(response: Response, asked: set[int] = asked, seen: set[int] = seen) -> None:
                for attributes in _fetched([response]):
                    uid = attributes.get("UID")
                    if isinstance(uid, str) and uid.isdigit() and int(uid) in asked:
                        seen.add(int(uid))

            await self.command_each(f"UID FETCH {text} (UID)", one)
            found[name] = (uidvalidity, len(seen))
        return found

    async def inventory(self, each: Callable[[Stored], None]) -> None:
        """Every message of the examined mailbox (UID, size, Message-ID) in one FETCH, each
        handed to `each` as it arrives."""

        def one(response: Response) -> None:
            for attributes in _fetched([response]):
                uid, size = attributes.get("UID"), attributes.get("RFC822.SIZE")
                header = next((v for k, v in attributes.items() if k.startswith("BODY[")), None)
                if not (isinstance(uid, str) and uid.isdigit()):
                    continue
                text = header if isinstance(header, bytes) else _text(header).encode()
                number = int(size) if isinstance(size, str) and size.isdigit() else -1
                each(Stored(int(uid), number, message_id(text)))

        command = "UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
        await self.command_each(command, one)

    async def bodies(self, uids: Sequence[int]) -> dict[int, bytes]:
        """The full bytes of these messages of the examined mailbox (BODY.PEEK: \\Seen stays)."""
        if not uids:
            return {}
        found: dict[int, bytes] = {}
        for attributes in _fetched(
            await self.command(f"UID FETCH {_uid_set(uids)} (UID BODY.PEEK[])")
        ):
            uid, body = attributes.get("UID"), attributes.get("BODY[]")
            if isinstance(uid, str) and uid.isdigit():
                found[int(uid)] = body if isinstance(body, bytes) else _text(body).encode()
        return found

    async def body_part(self, uid: int, start: int, count: int) -> bytes:
        """Up to `count` bytes of one message from `start` (BODY.PEEK[]<start.count>, RFC 9051
        §6.4.5): a message too large to hold is checked a part at a time."""
        command = f"UID FETCH {uid} (UID BODY.PEEK[]<{start}.{count}>)"
        for attributes in _fetched(await self.command(command)):
            if attributes.get("UID") == str(uid):
                body = next((v for k, v in attributes.items() if k.startswith("BODY[]")), None)
                return body if isinstance(body, bytes) else _text(body).encode()
        return b""

    async def logout(self) -> None:
        with contextlib.suppress(WireError, ImapError, asyncio.TimeoutError):
            await asyncio.wait_for(self.command("LOGOUT"), self.timeout)
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self.wire.close()

    def abort(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self.wire.abort()

    @property
    def append_limit(self) -> int | None:
        """APPENDLIMIT=n (RFC 7889 §3); None when the server names no global limit."""
        for capability in self.capabilities:
            if capability.startswith("APPENDLIMIT="):
                value = capability.partition("=")[2]
                if value.isdigit():
                    return int(value)
        return None


class _Gather:
    """Bytes waiting to be written together."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pieces: list[bytes] = []
        self.size = 0

    def add(self, piece: bytes) -> None:
        self.pieces.append(piece)
        self.size += len(piece)

    async def flush(self) -> None:
        if self.pieces:
            self.session._write(b"".join(self.pieces))
            self.pieces, self.size = [], 0
            await self.session.wire.drain(self.session.timeout)


def _fetched(responses: list[Response]) -> list[dict[str, Item]]:
    found = []
    for response in responses:
        words = response.text.split(" ", 3)
        if len(words) < 4 or words[2].upper() != "FETCH":
            continue
        items = _parsed(Response(words[3], response.literals))
        if items and isinstance(items[0], list):
            found.append(pairs(items[0]))
    return found


def _parsed(response: Response) -> list[Item]:
    """An answer the client cannot read ends the session: guessing at a FETCH could make a
    message look absent and send it twice."""
    try:
        return parse(response.text, response.literals)
    except ImapSyntaxError as exc:
        raise ImapError(
            f"the server's answer cannot be read ({exc}): {response.text[:120]!r}"
        ) from None


def _opened(responses: list[Response]) -> tuple[int | None, int]:
    """(UIDVALIDITY, EXISTS) from the answer to SELECT or EXAMINE."""
    uidvalidity: int | None = None
    exists = 0
    for response in responses:
        words = response.text.split(" ")
        code, value = response_code(response.text)
        if code == "UIDVALIDITY" and value.isdigit():
            uidvalidity = int(value)
        if len(words) >= 3 and words[2].upper() == "EXISTS" and words[1].isdigit():
            exists = int(words[1])
    return uidvalidity, exists


def _exactly(data: Streamed) -> Iterator[bytes]:
    """The chunks of a streamed message; ValueError before a byte past its announced size
    (the server would read it as commands), or at its end when it came short."""
    written = 0
    for chunk in data.chunks():
        written += len(chunk)
        if written > data.size:
            raise ValueError("it grew")
        yield chunk
    if written != data.size:
        raise ValueError("it shrank")


def _esearch_count(responses: list[Response]) -> int:
    """COUNT from an ESEARCH answer (RFC 4731 §3.1): `* ESEARCH (TAG "A5") UID COUNT 17`."""
    for response in responses:
        words = response.text.split(" ")
        if len(words) > 2 and words[1].upper() == "ESEARCH":
            upper = [w.upper() for w in words]
            if "COUNT" in upper[2:-1] and words[upper.index("COUNT") + 1].isdigit():
                return int(words[upper.index("COUNT") + 1])
            return 0  # no COUNT: nothing matched
    raise ImapError("the server answered a counting UID SEARCH without ESEARCH")


def _capability_code(text: str) -> frozenset[str] | None:
    """The capabilities in a `[CAPABILITY ...]` response code (a greeting, a login's OK)."""
    code, value = response_code(text)
    if code != "CAPABILITY":
        return None
    return frozenset(word.upper() for word in value.split())


def _text(item: Item) -> str:
    return item if isinstance(item, str) else ""


def _uid_set(uids: Sequence[int]) -> str:
    """Ranges where UIDs follow each other: 1:5,9,12:13."""
    ordered = sorted(set(uids))
    ranges: list[str] = []
    start = previous = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        ranges.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(ranges)
