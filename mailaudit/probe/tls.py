"""TLS contexts and what a session tells: version, cipher, the certificate and its checks.

Verification is always on, against the host name the client is configured with (RFC 7817:
the name, not the address that answered). When it fails, the reason is kept and the probe
connects again without verification, only to read what the server offers; nothing secret is
ever sent over such a connection.
"""

from __future__ import annotations

import contextlib
import ssl
import warnings
from datetime import datetime, timezone
from pathlib import Path

from mailaudit.model import Certificate, TlsSession

# OpenSSL X509_V_ERR_* codes, in the words a technician uses.
VERIFY_ERRORS = {
    9: "not yet valid",
    10: "expired",
    18: "self-signed",
    19: "self-signed certificate in chain",
    20: "untrusted chain",
    21: "untrusted chain",
    62: "name mismatch",
}


def verifying_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    _allow_old_versions(context)
    return context


def unverified_context() -> ssl.SSLContext:
    """Only to read what a server with a bad certificate offers. Never used to log in."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _allow_old_versions(context)
    return context


def _allow_old_versions(context: ssl.SSLContext) -> None:
    # An audit must reach a server stuck on TLS 1.0/1.1 to report it; nothing secret is sent.
    with contextlib.suppress(ValueError, ssl.SSLError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deliberate, see above
        context.minimum_version = ssl.TLSVersion.TLSv1


def verify_failure(exc: ssl.SSLCertVerificationError) -> tuple[str, str]:
    """(short reason, the library's message) for a failed verification."""
    code = getattr(exc, "verify_code", None)
    detail = str(getattr(exc, "verify_message", "") or exc)
    return VERIFY_ERRORS.get(code, "verification failed") if code else "verification failed", detail


def describe(
    ssl_object: ssl.SSLObject | None, verified: bool, failure: tuple[str, str] | None
) -> TlsSession:
    if ssl_object is None:
        return TlsSession(None, None, verified, None, None, None)
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    return TlsSession(
        version=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        verified=verified,
        verify_error=failure[0] if failure else None,
        verify_detail=failure[1] if failure else None,
        certificate=certificate(der) if der else None,
    )


def certificate(der: bytes) -> Certificate | None:
    # Imported here: only a probe reads certificates, and `migrate` starts 25 ms sooner.
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = tuple(extension.value.get_values_for_type(x509.DNSName))
    except (x509.ExtensionNotFound, ValueError):
        names = ()
    not_after = cert.not_valid_after_utc
    days_left = (not_after - datetime.now(timezone.utc)).days
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        names=names,
        not_after=not_after.isoformat(timespec="seconds"),
        days_left=days_left,
        self_signed=cert.subject == cert.issuer,
    )
