"""What `mailaudit probe HOST[:PORT]` means in endpoints, and how --dns-server is written."""

from __future__ import annotations

import ipaddress

from mailaudit.errors import UsageError
from mailaudit.model import Target

# Without a port: IMAP over TLS, IMAP with STARTTLS, POP3 over TLS, POP3 with STLS.
DEFAULT_ENDPOINTS = (
    ("imap", 993, True),
    ("imap", 143, False),
    ("pop3", 995, True),
    ("pop3", 110, False),
)
IMPLICIT_TLS_PORTS = {993, 995}
STANDARD_PORTS = {993, 995, 143, 110}
PROTOCOLS = ("auto", "imap", "pop3")
SECURITIES = ("auto", "tls", "starttls", "none")


def split_host_port(text: str, default_port: int | None) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port`, a bare IPv6 address."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise UsageError(f"{text!r}: no host name")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"{text!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


def probe_targets(spec: str, protocol: str, security: str) -> list[Target]:
    if protocol not in PROTOCOLS or security not in SECURITIES:
        raise UsageError(f"--protocol is one of {PROTOCOLS}, --security one of {SECURITIES}")
    host, port = split_host_port(spec, None)
    wanted = None if protocol == "auto" else protocol
    if port is None:
        return [
            Target(host, default, name, implicit, try_starttls=security != "none")
            for name, default, implicit in DEFAULT_ENDPOINTS
            if (wanted is None or name == wanted)
            and (security == "auto" or (security == "tls") == implicit)
        ]
    if security == "auto" and port not in STANDARD_PORTS:
        # An unusual port says nothing: try TLS first, plaintext when the handshake fails.
        return [Target(host, port, wanted, True, guess_tls=True)]
    implicit = security == "tls" or (security == "auto" and port in IMPLICIT_TLS_PORTS)
    return [Target(host, port, wanted, implicit, try_starttls=security != "none")]


def dns_server(text: str) -> tuple[str, int]:
    """--dns-server: an IP address with an optional port. A name is refused rather than
    resolved: resolving it would ask the system's resolver, which the option is there to avoid."""
    host, port = split_host_port(text, 53)
    assert port is not None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(
            f"--dns-server {text}: give the DNS server's IP address, with an optional port "
            "(192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:5353), not a name"
        ) from None
    return str(address), port
