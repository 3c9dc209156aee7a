"""Names to addresses: the system's resolver, or with --dns-server every A/AAAA query through
dnspython to that server alone (`configure=False`: /etc/resolv.conf is never read).

All addresses of a name are returned, IPv6 and IPv4, so that the probe can try each in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mailaudit.model import ProbeError
from mailaudit.probe.wire import WireError

if TYPE_CHECKING:
    import dns.asyncresolver


def dns_resolver(dns_server: tuple[str, int] | None, timeout: float) -> dns.asyncresolver.Resolver:
    """dnspython's resolver for one run: --dns-server alone, or the system's configuration.

    The whole lifetime of a question is one timeout: a server that never answers costs one
    timeout per question, and the questions of a run are asked at once, so about one in all.
    """
    # Imported here: a run that resolves through the system (a migrate, mostly) starts 30 ms
    # sooner without dnspython.
    import dns.asyncresolver
    import dns.resolver

    if dns_server is None:
        try:
            resolver = dns.asyncresolver.Resolver()  # the system's configuration
        except dns.resolver.NoResolverConfiguration:
            # No resolv.conf (a bare container): every question fails as "no DNS server".
            resolver = dns.asyncresolver.Resolver(configure=False)
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns_server[0]]
        resolver.port = dns_server[1]
    resolver.timeout = timeout  # each try
    resolver.lifetime = timeout  # all tries
    return resolver


class Resolver:
    """Names to addresses, each name asked once per run; discovery and probes share one."""

    def __init__(self, dns_server: tuple[str, int] | None, timeout: float) -> None:
        self.dns_server = dns_server
        self.timeout = timeout
        self._cache: dict[str, asyncio.Task[list[str]]] = {}

    def prefetch(self, names: Iterable[str]) -> None:
        """Start asking for `names` now, so that later questions find their answers waiting."""
        for name in names:
            try:
                ipaddress.ip_address(name.strip("[]"))
            except ValueError:
                self._task(name).add_done_callback(_retrieved)

    async def addresses(self, name: str) -> list[str]:
        """Every address of `name`; a literal address is its own answer. Asked once per run."""
        try:
            return [str(ipaddress.ip_address(name.strip("[]")))]
        except ValueError:
            pass
        return await asyncio.shield(self._task(name))

    def _task(self, name: str) -> asyncio.Task[list[str]]:
        key = name.lower().rstrip(".")
        if key not in self._cache:
            self._cache[key] = asyncio.ensure_future(self._lookup(name))
        return self._cache[key]

    async def _lookup(self, name: str) -> list[str]:
        if self.dns_server is None:
            return await self._system(name)
        return await self._dnspython(name)

    async def _system(self, name: str) -> list[str]:
        try:
            infos = await asyncio.wait_for(_getaddrinfo(name), self.timeout)
        except asyncio.TimeoutError:
            raise WireError(
                ProbeError.DNS, f"no answer for {name} within {self.timeout:g} s"
            ) from None
        except socket.gaierror as exc:
            # Only "no such name" and "no address" are answers; the rest says DNS failed.
            reason = ProbeError.NO_SUCH_HOST if exc.errno in NO_SUCH_NAME else ProbeError.DNS
            raise WireError(reason, f"{name}: {exc.strerror or exc}") from None
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def _dnspython(self, name: str) -> list[str]:
        import dns.exception
        import dns.resolver

        resolver = dns_resolver(self.dns_server, self.timeout)
        answers = await asyncio.gather(
            resolver.resolve(name, "AAAA"), resolver.resolve(name, "A"), return_exceptions=True
        )
        found = [r.to_text() for a in answers if isinstance(a, dns.resolver.Answer) for r in a]
        if found:
            return found
        problems = [a for a in answers if isinstance(a, BaseException)]
        if any(isinstance(p, dns.resolver.NXDOMAIN) for p in problems):
            raise WireError(ProbeError.NO_SUCH_HOST, f"{name} does not exist (NXDOMAIN)")
        if all(isinstance(p, dns.resolver.NoAnswer) for p in problems):
            raise WireError(ProbeError.NO_SUCH_HOST, f"{name} has no A or AAAA record")
        if any(isinstance(p, dns.exception.Timeout) for p in problems):
            raise WireError(ProbeError.DNS, f"the DNS server did not answer for {name} in time")
        if any(isinstance(p, dns.resolver.NoNameservers) for p in problems):
            raise WireError(ProbeError.DNS, f"the DNS server failed to answer for {name}")
        unexpected = next(p for p in problems if not isinstance(p, dns.resolver.NoAnswer))
        if isinstance(unexpected, dns.exception.DNSException):
            raise WireError(ProbeError.DNS, f"{name}: {unexpected}")
        raise unexpected


def _getaddrinfo(name: str) -> asyncio.Future[list[Any]]:
    """The system's getaddrinfo in a daemon thread of its own. The C library cannot be
    interrupted: when DNS packets are dropped it blocks for resolv.conf's timeout times its
    attempts (10 s by default), whatever our timeout says. asyncio's default executor would make
    the run wait for every such thread at its end, and its few threads would queue the names;
    a daemon thread per name is abandoned instead, and the run ends on time."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[Any]] = loop.create_future()

    def settle(result: list[Any] | None, error: BaseException | None) -> None:
        if future.done():  # timed out and cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or [])

    def ask() -> None:
        try:
            result, error = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM), None
        except (OSError, ValueError) as exc:  # handed to the waiting coroutine to sort out
            result, error = None, exc
        # RuntimeError: the run is over and its loop closed; nobody waits any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=ask, name=f"getaddrinfo {name}", daemon=True).start()
    return future


# getaddrinfo's answers that the name has no address (EAI_NODATA is glibc's, not everywhere).
NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _retrieved(task: asyncio.Task[list[str]]) -> None:
    """A prefetch nobody asked for again still ends quietly: its failure is read here."""
    if not task.cancelled():
        task.exception()
