"""Names to addresses: the system's resolver, or with --dns-server every A/AAAA query through
dnspython to that server alone (`configure=False`: /etc/resolv.conf is never read).

All addresses of a name are returned, IPv6 and IPv4, so that the probe can try each in turn.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import dns.asyncresolver
import dns.exception
import dns.resolver

from mailaudit.model import ProbeError
from mailaudit.probe.wire import WireError


class Resolver:
    def __init__(self, dns_server: tuple[str, int] | None, timeout: float) -> None:
        self.dns_server = dns_server
        self.timeout = timeout
        self._cache: dict[str, asyncio.Task[list[str]]] = {}

    async def addresses(self, name: str) -> list[str]:
        """Every address of `name`; a literal address is its own answer. Asked once per run."""
        try:
            return [str(ipaddress.ip_address(name.strip("[]")))]
        except ValueError:
            pass
        if name not in self._cache:
            self._cache[name] = asyncio.ensure_future(self._lookup(name))
        return await asyncio.shield(self._cache[name])

    async def _lookup(self, name: str) -> list[str]:
        if self.dns_server is None:
            return await self._system(name)
        return await self._dnspython(name)

    async def _system(self, name: str) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(name, None, type=socket.SOCK_STREAM), self.timeout
            )
        except asyncio.TimeoutError:
            raise WireError(
                ProbeError.DNS, f"no answer for {name} within {self.timeout:g} s"
            ) from None
        except socket.gaierror as exc:
            raise WireError(ProbeError.DNS, f"{name}: {exc.strerror or exc}") from None
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def _dnspython(self, name: str) -> list[str]:
        assert self.dns_server is not None
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [self.dns_server[0]]
        resolver.port = self.dns_server[1]
        resolver.timeout = self.timeout
        resolver.lifetime = self.timeout * 2
        found: list[str] = []
        missing = 0
        for kind in ("AAAA", "A"):
            try:
                answer = await resolver.resolve(name, kind)
            except dns.resolver.NXDOMAIN:
                raise WireError(ProbeError.DNS, f"{name} does not exist (NXDOMAIN)") from None
            except (dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                missing += 1
                continue
            except dns.exception.Timeout:
                raise WireError(
                    ProbeError.DNS, f"the DNS server did not answer for {name} in time"
                ) from None
            except dns.exception.DNSException as exc:
                raise WireError(ProbeError.DNS, f"{name}: {exc}") from None
            found += [record.to_text() for record in answer]
        if not found:
            raise WireError(ProbeError.DNS, f"{name} has no A or AAAA record")
        return found
