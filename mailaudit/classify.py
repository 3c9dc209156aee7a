"""POP3 or IMAP: the client's declared type, with the port as a second witness. Pure.

The declared type decides; the port only confirms it or raises a conflict. A conflict is
reported, never hidden: a POP3 account on 993 is either a typo or a client talking to the
wrong service, and both need a technician's eyes.
"""

from __future__ import annotations

from dataclasses import replace

from mailaudit.model import Account, Classification, Protocol, Security

# (plain or STARTTLS port, implicit TLS port): RFC 1939 and 3501, with RFC 8314 for the TLS ports.
STANDARD_PORTS = {Protocol.POP3: (110, 995), Protocol.IMAP: (143, 993)}

PROTOCOL_OF_PORT = {port: protocol for protocol, ports in STANDARD_PORTS.items() for port in ports}
IMPLICIT_TLS_PORTS = {ports[1] for ports in STANDARD_PORTS.values()}
PLAIN_PORTS = {ports[0] for ports in STANDARD_PORTS.values()}

NAMES = {
    Protocol.POP3: "POP3",
    Protocol.IMAP: "IMAP",
    Protocol.EXCHANGE: "Exchange",
    Protocol.OTHER: "other",
}


def classify(account: Account) -> Account:
    """The account with its final protocol and the reasons for it."""
    declared = account.protocol
    port = account.incoming.port
    by_port = PROTOCOL_OF_PORT.get(port) if port is not None else None
    conflicts: list[str] = []

    if declared not in STANDARD_PORTS:
        basis = f"declared type {account.declared_type!r}"
    elif port is None:
        basis = f"declared type {NAMES[declared]}; no port configured"
    elif by_port is None:
        basis = (
            f"declared type {NAMES[declared]}; port {port} is not a standard {NAMES[declared]} port"
        )
    elif by_port is declared:
        basis = f"declared type {NAMES[declared]}, confirmed by port {port}"
    else:
        basis = f"declared type {NAMES[declared]}"
        conflicts.append(
            f"declared {NAMES[declared]} but port {port} is the standard {NAMES[by_port]} port"
        )

    if declared in STANDARD_PORTS and port is not None:
        conflicts.extend(_security_conflicts(port, account.incoming.security))
    return replace(account, classification=Classification(basis=basis, conflicts=tuple(conflicts)))


def _security_conflicts(port: int, security: Security) -> list[str]:
    """993 and 995 speak TLS from the first byte (RFC 8314 §3); 110 and 143 never do."""
    if port in IMPLICIT_TLS_PORTS and security in (Security.NONE, Security.STARTTLS):
        return [f"port {port} expects implicit TLS but the client is set to {security.value}"]
    if port in PLAIN_PORTS and security is Security.TLS:
        return [f"port {port} is a plaintext/STARTTLS port but the client expects implicit TLS"]
    return []
