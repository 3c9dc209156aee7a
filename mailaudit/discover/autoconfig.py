"""Mozilla autoconfig: fetch a domain's config-v1.1.xml and read its incoming servers.

Thunderbird asks https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=... and then
https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml, and both over http when https
fails. The fetch is a small HTTP/1.0 GET (so no chunked bodies) with a size limit, a redirect
limit and a timeout on every step; names resolve through the same resolver as the probes.
The XML is read by safe_xml, which refuses document type declarations, so no entity expands.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import quote, urljoin, urlsplit

from mailaudit.model import AutoconfigResult, ConfigServer, ProbeError
from mailaudit.probe.resolve import Resolver
from mailaudit.probe.wire import WireError
from mailaudit.safe_xml import parse_xml

MAX_BODY = 256 * 1024  # real files are a few KB
MAX_HEADER_LINES = 64
MAX_REDIRECTS = 3
SOCKET_TYPES = {"SSL": "tls", "STARTTLS": "starttls", "plain": "none"}


class FetchError(Exception):
    pass


def urls(domain: str, address: str | None) -> list[str]:
    query = f"?emailaddress={quote(address)}" if address else ""
    paths = [
        f"autoconfig.{domain}/mail/config-v1.1.xml{query}",
        f"{domain}/.well-known/autoconfig/mail/config-v1.1.xml{query}",
    ]
    return [f"{scheme}://{path}" for scheme in ("https", "http") for path in paths]


async def fetch_autoconfig(
    domain: str, address: str | None, resolver: Resolver, context: ssl.SSLContext, timeout: float
) -> list[AutoconfigResult]:
    """Each URL tried, in Thunderbird's order, up to the first that gives servers."""
    tried = []
    for url in urls(domain, address):
        result = await _one(url, domain, resolver, context, timeout)
        tried.append(result)
        if result.status == "ok":
            break
    return tried


async def _one(
    url: str, domain: str, resolver: Resolver, context: ssl.SSLContext, timeout: float
) -> AutoconfigResult:
    try:
        body = await asyncio.wait_for(fetch(url, resolver, context, timeout), timeout * 4)
    except asyncio.TimeoutError:
        return AutoconfigResult(url, "error", f"no complete answer within {timeout * 4:g} s")
    except FetchError as exc:
        status = "not-found" if str(exc).startswith(("HTTP 404", "no such host")) else "error"
        return AutoconfigResult(url, status, str(exc))
    try:
        servers = parse(body, domain)
    except ValueError as exc:
        return AutoconfigResult(url, "error", f"not a usable config-v1.1 file: {exc}")
    return AutoconfigResult(url, "ok", None, servers)


async def fetch(url: str, resolver: Resolver, context: ssl.SSLContext, timeout: float) -> bytes:
    """GET with bounded redirects (never from https down to http) and a bounded body."""
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body = await _get(url, resolver, context, timeout)
        if status in (301, 302, 303, 307, 308) and "location" in headers:
            target = urljoin(url, headers["location"])
            if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
                raise FetchError(f"redirect from https to {urlsplit(target).scheme} refused")
            url = target
            continue
        if status != 200:
            raise FetchError(f"HTTP {status}")
        return body
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


async def _get(
    url: str, resolver: Resolver, context: ssl.SSLContext, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"cannot fetch {url}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolver.addresses(host)
    except WireError as exc:
        # "not-found" only when DNS said so; a DNS server that did not answer is an error.
        known = exc.reason is ProbeError.NO_SUCH_HOST
        raise FetchError(f"{'no such host' if known else 'DNS failed'}: {exc.message}") from None
    last = "no address"
    for address in addresses:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    address,
                    port,
                    ssl=context if parts.scheme == "https" else None,
                    server_hostname=host if parts.scheme == "https" else None,
                    limit=16 * 1024,
                ),
                timeout,
            )
        except ssl.SSLError as exc:
            raise FetchError(
                f"TLS failed: {getattr(exc, 'verify_message', None) or exc.reason or exc}"
            ) from None
        except (OSError, asyncio.TimeoutError) as exc:
            last = str(exc) or type(exc).__name__
            continue
        try:
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            writer.write(
                f"GET {target} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: mailaudit\r\n"
                "Accept: application/xml, text/xml\r\nConnection: close\r\n\r\n".encode()
            )
            return await _response(reader, timeout)
        except (OSError, ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError) as exc:
            raise FetchError(f"the HTTP answer broke off: {exc}") from None
        finally:
            writer.close()
    raise FetchError(f"cannot connect to {host}:{port}: {last}")


async def _response(
    reader: asyncio.StreamReader, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    status_line = await asyncio.wait_for(reader.readline(), timeout)
    fields = status_line.split(b" ", 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        raise FetchError(f"not an HTTP answer: {status_line[:60]!r}")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        line = (await asyncio.wait_for(reader.readline(), timeout)).rstrip(b"\r\n")
        if not line:
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise FetchError(f"more than {MAX_HEADER_LINES} header lines")
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise FetchError(f"the file is {int(length)} bytes, over the {MAX_BODY} byte limit")
    body = bytearray()
    while len(body) <= MAX_BODY:
        chunk = await asyncio.wait_for(reader.read(65536), timeout)
        if not chunk:
            return int(fields[1]), headers, bytes(body)
        body += chunk
    raise FetchError(f"the file is over the {MAX_BODY} byte limit")


def parse(document: bytes, domain: str) -> tuple[ConfigServer, ...]:
    """The incomingServer entries of type imap and pop3. Raises ValueError on anything else."""
    root = parse_xml(document)
    if root.tag != "clientConfig":
        raise ValueError(f"the root element is <{root.tag}>, not <clientConfig>")
    servers = []
    for provider in root.all("emailProvider"):
        for entry in provider.all("incomingServer"):
            kind = entry.attributes.get("type", "")
            host = entry.text_of("hostname").replace("%EMAILDOMAIN%", domain)
            port = entry.text_of("port")
            socket_type = entry.text_of("socketType")
            if kind not in ("imap", "pop3") or not host or not port.isdigit():
                continue
            auth = tuple(e.text.strip() for e in entry.all("authentication") if e.text.strip())
            servers.append(
                ConfigServer(kind, host, int(port), SOCKET_TYPES.get(socket_type, "unknown"), auth)
            )
    if not servers:
        raise ValueError("no IMAP or POP3 incoming server in it")
    return tuple(servers)
