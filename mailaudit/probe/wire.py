"""A connection that reads bounded lines under timeouts, and can switch to TLS mid-stream.

asyncio's own streams cannot be upgraded to TLS before Python 3.11 and buffer without a byte
budget, so this is a small asyncio.Protocol: every line has a length limit and a time limit
(for the whole line, so a server sending one byte a second cannot hold it open), and the
whole connection has a budget of received bytes, past which it is closed.
"""

from __future__ import annotations

import asyncio
import ssl

from mailaudit.model import ProbeError

READ_AHEAD = 1024 * 1024  # bytes received and not yet read, past which the socket is not read


class WireError(Exception):
    """A connection-level failure, with the reason it will be reported under."""

    def __init__(self, reason: ProbeError, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Wire(asyncio.Protocol):
    def __init__(self, line_limit: int, byte_budget: int) -> None:
        self.line_limit = line_limit
        self.byte_budget = byte_budget
        self.buffer = bytearray()
        self.received = 0
        self.closed = False
        self.over_budget = False
        self.paused = False  # reading paused: READ_AHEAD bytes wait to be read
        self.transport: asyncio.Transport | None = None
        self._data = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.byte_budget:
            self.over_budget = True
            if self.transport is not None:
                self.transport.abort()
        else:
            self.buffer += data
            if len(self.buffer) >= READ_AHEAD and self.transport is not None:
                self.transport.pause_reading()
                self.paused = True
        self._data.set()

    def _wanting(self) -> None:
        """About to wait for more bytes: reading goes on. It stops while READ_AHEAD bytes wait
        to be read, so that a server answering faster than its answers are read (a FETCH over
        100,000 messages) fills its own buffers, not ours."""
        if self.paused and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        self.paused = False

    def eof_received(self) -> bool:
        self.closed = True
        self._data.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._data.set()
        self._writable.set()  # a writer waiting in drain() must wake up and see the close

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # used by the dialogues
    async def read_line(self, timeout: float) -> str:
        """One line, without its line end. Decoded as UTF-8 with replacement: greetings and
        capabilities are ASCII by the RFCs, anything else is shown, not trusted."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            end = self.buffer.find(b"\n")
            if 0 <= end < self.line_limit:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line.rstrip(b"\r\n").decode("utf-8", "replace")
            if end >= self.line_limit or len(self.buffer) >= self.line_limit:
                self.abort()
                raise WireError(ProbeError.TOO_LARGE, f"a line longer than {self.line_limit} bytes")
            if self.over_budget:
                raise WireError(
                    ProbeError.TOO_LARGE, f"the server sent more than {self.byte_budget} bytes"
                )
            if self.closed:
                raise WireError(ProbeError.CLOSED, "the server closed the connection")
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.abort()
                raise WireError(ProbeError.TIMEOUT, f"no complete line within {timeout:g} s")
            self._wanting()
            self._data.clear()
            try:
                await asyncio.wait_for(self._data.wait(), remaining)
            except asyncio.TimeoutError:
                continue  # the loop reports the timeout

    def send(self, line: str) -> None:
        if self.transport is None or self.transport.is_closing():
            raise WireError(ProbeError.CLOSED, "the server closed the connection")
        self.transport.write(line.encode("ascii") + b"\r\n")

    async def wait_data(self, timeout: float) -> bool:
        """Wait for the next bytes without a verdict: False when `timeout` passed in silence.
        For a session that may rightly stay quiet (nothing asked of the server)."""
        if self.buffer or self.closed or self.over_budget:
            return True
        self._wanting()
        self._data.clear()
        try:
            await asyncio.wait_for(self._data.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def pending_writes(self) -> int:
        """Bytes written but not yet handed to the kernel."""
        if self.transport is None or self.transport.is_closing():
            return 0
        return self.transport.get_write_buffer_size()

    def write(self, data: bytes | memoryview) -> None:
        """Raw bytes (an IMAP literal); drain() before writing much more."""
        if self.transport is None or self.transport.is_closing():
            raise WireError(ProbeError.CLOSED, "the server closed the connection")
        self.transport.write(data)

    async def drain(self, timeout: float) -> None:
        """Wait until the transport's write buffer is below its high-water mark again, so that
        a slow server holds the sender back instead of the sender's memory growing."""
        if self._writable.is_set() and not self.closed:
            return  # the common case, without the cost of a timer
        try:
            await asyncio.wait_for(self._writable.wait(), timeout)
        except asyncio.TimeoutError:
            self.abort()
            raise WireError(
                ProbeError.TIMEOUT, f"the server took no data for {timeout:g} s"
            ) from None
        if self.closed:
            raise WireError(ProbeError.CLOSED, "the server closed the connection")

    async def read_exact(self, size: int, timeout: float) -> bytes:
        """The `size` bytes of a literal the server announced; `timeout` is the longest wait
        for the next chunk, so a large literal that keeps flowing is never cut short."""
        while len(self.buffer) < size:
            if self.over_budget:
                raise WireError(
                    ProbeError.TOO_LARGE, f"the server sent more than {self.byte_budget} bytes"
                )
            if self.closed:
                raise WireError(ProbeError.CLOSED, "the server closed the connection")
            self._wanting()
            self._data.clear()
            try:
                await asyncio.wait_for(self._data.wait(), timeout)
            except asyncio.TimeoutError:
                self.abort()
                raise WireError(
                    ProbeError.TIMEOUT, f"no data for {timeout:g} s inside a literal"
                ) from None
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def start_tls(self, context: ssl.SSLContext, server_name: str, timeout: float) -> None:
        """Upgrade this connection in place (STARTTLS / STLS)."""
        if self.buffer:
            # RFC 3207 §6 / CVE-2011-0411: bytes sent before the handshake must not be read
            # as if they had come through TLS.
            self.abort()
            raise WireError(ProbeError.PROTOCOL, "the server sent data before the TLS handshake")
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        upgraded = await asyncio.wait_for(
            loop.start_tls(
                self.transport,
                self,
                context,
                server_hostname=server_name,
                ssl_handshake_timeout=timeout,
            ),
            timeout + 1,
        )
        if upgraded is None:
            raise WireError(ProbeError.CLOSED, "the connection closed during the TLS handshake")
        self.transport = upgraded

    def ssl_object(self) -> ssl.SSLObject | None:
        if self.transport is None:
            return None
        found = self.transport.get_extra_info("ssl_object")
        return found if isinstance(found, ssl.SSLObject) else None

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def open_connection(
    address: str,
    port: int,
    context: ssl.SSLContext | None,
    server_name: str,
    timeout: float,
    line_limit: int,
    byte_budget: int,
) -> Wire:
    """A connected Wire, with TLS from the first byte when `context` is given. Every failure is
    a WireError; a certificate that fails verification is ProbeError.TLS with its reason."""
    loop = asyncio.get_running_loop()
    wire = Wire(line_limit, byte_budget)
    try:
        await asyncio.wait_for(
            loop.create_connection(
                lambda: wire,
                host=address,
                port=port,
                ssl=context,
                server_hostname=server_name if context else None,
                ssl_handshake_timeout=timeout if context else None,
            ),
            timeout * (2 if context else 1),  # the connect, then the handshake
        )
    except ssl.SSLCertVerificationError as exc:
        detail = getattr(exc, "verify_message", "") or exc
        raise WireError(ProbeError.TLS, f"the certificate failed verification: {detail}") from None
    except ssl.SSLError as exc:
        raise WireError(ProbeError.TLS, f"TLS handshake failed: {exc.reason or exc}") from None
    except asyncio.TimeoutError:
        raise WireError(ProbeError.TIMEOUT, f"no connection within {timeout:g} s") from None
    except ConnectionRefusedError:
        raise WireError(ProbeError.REFUSED, "connection refused") from None
    except OSError as exc:
        raise WireError(ProbeError.CLOSED, exc.strerror or str(exc)) from None
    return wire


class Channel:
    """A Wire plus what a dialogue needs to know about it: timeouts, the name to verify the
    certificate against, the TLS context in use, and whether that context verifies."""

    def __init__(
        self,
        wire: Wire,
        timeout: float,
        server_name: str,
        context: ssl.SSLContext,
        verifying: bool,
        try_starttls: bool,
    ) -> None:
        self.wire = wire
        self.timeout = timeout
        self.server_name = server_name
        self.context = context
        self.verifying = verifying
        self.try_starttls = try_starttls

    @property
    def encrypted(self) -> bool:
        return self.wire.ssl_object() is not None

    async def line(self) -> str:
        return await self.wire.read_line(self.timeout)

    def send(self, text: str) -> None:
        self.wire.send(text)

    async def upgrade(self) -> None:
        await self.wire.start_tls(self.context, self.server_name, self.timeout)
