"""Run many probes at once, each ending as a result, never as an exception.

Every endpoint is probed once per run. A global cap and a per-host cap bound the concurrency;
every step has a timeout and each probe a deadline, all from one ProbeOptions. This module is
the one place that turns exceptions into results; an exception nobody expected becomes a
result with the reason `bug`, so that it is visible in the report instead of passing silently.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from mailaudit.model import ProbeError, ProbeResult, ProbeStatus, Target, TlsSession
from mailaudit.probe import imap, pop3, tls
from mailaudit.probe.pop3 import Credentials
from mailaudit.probe.resolve import Resolver
from mailaudit.probe.wire import Channel, Wire, WireError

Progress = Callable[[str], None]
_Facts = TypeVar("_Facts", imap.Facts, pop3.Facts)

UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}

# Server products a greeting names; the first match wins.
PRODUCTS = (
    "Dovecot",
    "Courier",
    "Cyrus",
    "Microsoft Exchange",
    "Gimap",
    "Zimbra",
    "Qpopper",
    "UW IMAP",
    "hMailServer",
    "MDaemon",
    "Kerio",
    "IceWarp",
    "Axigen",
    "Communigate",
    "Yahoo",
    "Apple",
)


@dataclass(frozen=True)
class ProbeOptions:
    timeout: float = 10.0  # each step: connect, TLS handshake, each line
    deadline: float | None = None  # each whole probe; default 3x the timeout
    concurrency: int = 32  # probes at once
    per_host: int = 4  # probes at once against one host name
    line_limit: int = 16 * 1024
    byte_budget: int = 1024 * 1024  # per connection; a login's UIDL listing gets 64x that
    ca_file: Path | None = None
    dns_server: tuple[str, int] | None = None
    insecure_login: bool = False  # log in even when the certificate failed verification
    credentials: dict[Target, Credentials] = field(default_factory=dict, hash=False)

    @property
    def probe_deadline(self) -> float:
        return self.deadline if self.deadline is not None else self.timeout * 3


def run_probes(
    targets: list[Target], options: ProbeOptions, progress: Progress | None = None
) -> dict[Target, ProbeResult]:
    """Probe every distinct target; a result for each."""
    return asyncio.run(probe_all(targets, options, progress))


async def probe_all(
    targets: list[Target],
    options: ProbeOptions,
    progress: Progress | None = None,
    resolver: Resolver | None = None,
) -> dict[Target, ProbeResult]:
    """run_probes, inside an event loop that is already running; `resolver` shares the names
    discovery has already asked (or started asking) for."""
    return await _Run(options, progress, resolver).all(targets)


def skipped(target: Target, why: str) -> ProbeResult:
    return ProbeResult(
        target.host,
        target.port,
        target.protocol,
        target.implicit_tls,
        ProbeStatus.SKIPPED,
        message=why,
    )


class _CertificateRejected(Exception):
    def __init__(self, failure: tuple[str, str]) -> None:
        super().__init__(failure[1])
        self.failure = failure


class _ConnectFailed(Exception):
    """This address did not take the connection; the next one may."""

    def __init__(self, error: WireError) -> None:
        super().__init__(error.message)
        self.error = error


class _Run:
    def __init__(
        self, options: ProbeOptions, progress: Progress | None, resolver: Resolver | None
    ) -> None:
        self.options = options
        self.progress = progress
        self.resolver = resolver or Resolver(options.dns_server, options.timeout)
        self.verifying = tls.verifying_context(options.ca_file)
        self.unverified = tls.unverified_context()

    async def all(self, targets: list[Target]) -> dict[Target, ProbeResult]:
        unique = list(dict.fromkeys(targets))
        everyone = asyncio.Semaphore(self.options.concurrency)
        per_host: dict[str, asyncio.Semaphore] = {}
        done = 0

        async def one(target: Target) -> ProbeResult:
            nonlocal done
            host = per_host.setdefault(
                target.host.lower(), asyncio.Semaphore(self.options.per_host)
            )
            async with everyone, host:
                result = await self.bounded(target)
            done += 1
            if self.progress is not None:
                self.progress(
                    f"probed {done}/{len(unique)}: {target.host}:{target.port} {_outcome(result)}"
                )
            return result

        results = await asyncio.gather(*(one(target) for target in unique))
        return dict(zip(unique, results, strict=True))

    async def bounded(self, target: Target) -> ProbeResult:
        """The probe under its deadline; the single place exceptions become results."""
        started = time.monotonic()
        deadline = self.options.probe_deadline
        try:
            result = await asyncio.wait_for(self.probe(target), deadline)
        except asyncio.TimeoutError:
            result = _failed(
                target, ProbeError.TIMEOUT, f"the probe did not finish within {deadline:g} s"
            )
        except WireError as exc:
            result = _failed(target, exc.reason, exc.message)
        except Exception as exc:  # our bug: reported as such, never hidden
            result = _failed(
                target, ProbeError.BUG, f"mailaudit failed: {type(exc).__name__}: {exc}"
            )
        return replace(result, elapsed_ms=int((time.monotonic() - started) * 1000))

    async def probe(self, target: Target) -> ProbeResult:
        try:
            return await self.every_address(target)
        except WireError as exc:
            if not (target.guess_tls and exc.reason is ProbeError.TLS):
                raise
        # TLS was only a guess for this port, and the handshake failed: try plaintext.
        result = await self.every_address(replace(target, implicit_tls=False, guess_tls=False))
        note = "no TLS from the first byte on this port; probed in plaintext"
        return replace(result, message="; ".join(filter(None, (note, result.message))))

    async def every_address(self, target: Target) -> ProbeResult:
        addresses = await self.resolver.addresses(target.host)
        failures: list[WireError] = []
        for address in addresses:  # IPv6 and IPv4 alike, in the resolver's order
            try:
                try:
                    return await self.session(target, address, self.verifying, None)
                except _CertificateRejected as rejected:
                    # Read what the server offers anyway; the result keeps the failure.
                    return await self.session(target, address, self.unverified, rejected.failure)
            except _ConnectFailed as exc:
                failures.append(exc.error)
        if not failures:
            raise WireError(ProbeError.NO_SUCH_HOST, f"{target.host} has no address")
        raise WireError(
            failures[-1].reason, f"{failures[-1].message} (tried {', '.join(addresses)})"
        )

    async def session(
        self, target: Target, address: str, context: ssl.SSLContext, failure: tuple[str, str] | None
    ) -> ProbeResult:
        credentials = self.options.credentials.get(target)
        budget = self.options.byte_budget * (64 if credentials else 1)
        wire = await self.connect(target, address, context, budget)
        channel = Channel(
            wire,
            self.options.timeout,
            target.host,
            context,
            verifying=failure is None,
            try_starttls=target.try_starttls,
        )
        try:
            greeting = await channel.line()
            if imap.is_greeting(greeting):
                facts: imap.Facts | pop3.Facts = await _tls_guarded(
                    imap.converse(channel, greeting)
                )
            elif pop3.is_greeting(greeting):
                may_login = failure is None or self.options.insecure_login
                facts = await _tls_guarded(pop3.converse(channel, greeting, credentials, may_login))
            else:
                raise WireError(
                    ProbeError.PROTOCOL, f"not an IMAP or POP3 greeting: {greeting[:120]!r}"
                )
            session = (
                tls.describe(wire.ssl_object(), failure is None, failure)
                if channel.encrypted
                else None
            )
        finally:
            wire.close()
        return _result(target, address, facts, session)

    async def connect(
        self, target: Target, address: str, context: ssl.SSLContext, budget: int
    ) -> Wire:
        loop = asyncio.get_running_loop()
        wire = Wire(self.options.line_limit, budget)
        timeout = self.options.timeout
        tls_now = context if target.implicit_tls else None
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: wire,
                    host=address,
                    port=target.port,
                    ssl=tls_now,
                    server_hostname=target.host if tls_now else None,
                    ssl_handshake_timeout=timeout if tls_now else None,
                ),
                timeout * (2 if tls_now else 1),  # the connect, then the handshake
            )
        except ssl.SSLCertVerificationError as exc:
            raise _CertificateRejected(tls.verify_failure(exc)) from None
        except ssl.SSLError as exc:
            raise WireError(ProbeError.TLS, f"TLS handshake failed: {exc.reason or exc}") from None
        except asyncio.TimeoutError:
            raise _ConnectFailed(
                WireError(ProbeError.TIMEOUT, f"no connection within {timeout:g} s")
            ) from None
        except ConnectionRefusedError:
            raise _ConnectFailed(WireError(ProbeError.REFUSED, "connection refused")) from None
        except ConnectionError as exc:
            if tls_now:  # reset or closed during the handshake: a TLS failure, not the network
                raise WireError(
                    ProbeError.TLS, f"TLS handshake failed: {exc.strerror or exc}"
                ) from None
            raise _ConnectFailed(WireError(ProbeError.CLOSED, exc.strerror or str(exc))) from None
        except OSError as exc:
            reason = ProbeError.UNREACHABLE if exc.errno in UNREACHABLE else ProbeError.CLOSED
            raise _ConnectFailed(WireError(reason, exc.strerror or str(exc))) from None
        return wire


async def _tls_guarded(dialogue: Awaitable[_Facts]) -> _Facts:
    """TLS failures inside a dialogue (after STARTTLS): a rejected certificate is retried
    without verification, any other handshake failure is a TLS error."""
    try:
        return await dialogue
    except ssl.SSLCertVerificationError as exc:
        raise _CertificateRejected(tls.verify_failure(exc)) from None
    except ssl.SSLError as exc:
        raise WireError(
            ProbeError.TLS, f"TLS handshake failed after STARTTLS: {exc.reason or exc}"
        ) from None
    except asyncio.TimeoutError:
        raise WireError(ProbeError.TIMEOUT, "the TLS handshake after STARTTLS timed out") from None
    except ConnectionError as exc:
        raise WireError(ProbeError.CLOSED, f"the connection broke: {exc}") from None


def _result(
    target: Target, address: str, facts: imap.Facts | pop3.Facts, session: TlsSession | None
) -> ProbeResult:
    protocol = "imap" if isinstance(facts, imap.Facts) else "pop3"
    effective = facts.after_tls if facts.after_tls is not None else (facts.before_tls or [])
    is_imap = protocol == "imap"
    sasl = imap.sasl(effective) if is_imap else pop3.sasl(effective)
    notes = list(facts.notes)
    if target.protocol and target.protocol != protocol:
        notes.append(f"expected {target.protocol.upper()}, the server speaks {protocol.upper()}")
    refused = facts.login_refused if isinstance(facts, pop3.Facts) else None
    if refused:
        notes.append(refused)
    login_failed = bool(refused and refused.startswith("login"))
    return ProbeResult(
        host=target.host,
        port=target.port,
        expected_protocol=target.protocol,
        implicit_tls=target.implicit_tls,
        status=ProbeStatus.ERROR if login_failed else ProbeStatus.COMPLETED,
        error=ProbeError.LOGIN if login_failed else None,
        message="; ".join(notes) or None,
        protocol=protocol,
        address=address,
        greeting=facts.greeting[:512],
        capabilities_before_tls=tuple(facts.before_tls) if facts.before_tls is not None else None,
        capabilities_after_tls=tuple(facts.after_tls) if facts.after_tls is not None else None,
        starttls_offered=facts.starttls_offered,
        starttls_enforced=facts.starttls_enforced,
        product=next((name for name in PRODUCTS if name.lower() in facts.greeting.lower()), None),
        tls=session,
        mailbox=facts.mailbox if isinstance(facts, pop3.Facts) else None,
        sasl=sasl,
        idle="IDLE" in effective if is_imap else None,
        imap4rev2="IMAP4REV2" in effective if is_imap else None,
        uidl=None if is_imap else pop3.has(effective, "UIDL"),
        top=None if is_imap else pop3.has(effective, "TOP"),
    )


def _failed(target: Target, reason: ProbeError, message: str) -> ProbeResult:
    return ProbeResult(
        target.host,
        target.port,
        target.protocol,
        target.implicit_tls,
        ProbeStatus.ERROR,
        error=reason,
        message=message,
    )


def _outcome(result: ProbeResult) -> str:
    if result.status is ProbeStatus.COMPLETED:
        return f"{result.protocol}, {'TLS' if result.tls else 'no TLS'}"
    return f"{result.status.value}: {result.error.value if result.error else ''}"
