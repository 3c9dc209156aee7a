"""Declared type first, port as the second witness, conflicts reported."""

from __future__ import annotations

import pytest

from mailaudit.classify import classify
from mailaudit.model import Account, Client, Endpoint, Protocol, Security


def account(
    protocol: Protocol, port: int | None, security: Security = Security.TLS, declared: str = ""
) -> Account:
    return Account(
        client=Client.THUNDERBIRD,
        user="u",
        profile="p",
        key="k",
        name="n",
        email=None,
        protocol=protocol,
        declared_type=declared or protocol.value,
        incoming=Endpoint(host="h", port=port, security=security),
        origin="o",
    )


@pytest.mark.parametrize(
    ("protocol", "port", "security", "basis", "conflicts"),
    [
        (Protocol.POP3, 995, Security.TLS, "declared type POP3, confirmed by port 995", []),
        (Protocol.POP3, 110, Security.STARTTLS, "declared type POP3, confirmed by port 110", []),
        (Protocol.IMAP, 993, Security.TLS, "declared type IMAP, confirmed by port 993", []),
        (Protocol.IMAP, 143, Security.NONE, "declared type IMAP, confirmed by port 143", []),
        (
            Protocol.POP3,
            993,
            Security.TLS,
            "declared type POP3",
            ["declared POP3 but port 993 is the standard IMAP port"],
        ),
        (
            Protocol.IMAP,
            110,
            Security.NONE,
            "declared type IMAP",
            ["declared IMAP but port 110 is the standard POP3 port"],
        ),
        (
            Protocol.POP3,
            2110,
            Security.STARTTLS,
            "declared type POP3; port 2110 is not a standard POP3 port",
            [],
        ),
        (Protocol.IMAP, None, Security.UNKNOWN, "declared type IMAP; no port configured", []),
        (
            Protocol.POP3,
            995,
            Security.NONE,
            "declared type POP3, confirmed by port 995",
            ["port 995 expects implicit TLS but the client is set to none"],
        ),
        (
            Protocol.IMAP,
            143,
            Security.TLS,
            "declared type IMAP, confirmed by port 143",
            ["port 143 is a plaintext/STARTTLS port but the client expects implicit TLS"],
        ),
    ],
)
def test_classification(protocol, port, security, basis, conflicts):
    result = classify(account(protocol, port, security))
    assert result.protocol is protocol  # the declared type always decides
    assert result.classification.basis == basis
    assert list(result.classification.conflicts) == conflicts


def test_other_types_keep_their_own_word():
    result = classify(account(Protocol.OTHER, 119, Security.NONE, declared="nntp"))
    assert result.classification.basis == "declared type 'nntp'"
    assert result.classification.conflicts == ()
