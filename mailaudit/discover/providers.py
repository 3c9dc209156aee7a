"""Provider knowledge: who runs a domain's mail, where their IMAP is, and how one signs in.

The facts are in providers.toml beside this file, each with its source. A provider is found
by the address's domain, by the configured server's host name, or by the domain's MX hosts
(suffix matches: `pop.gmx.net` belongs to gmx.net).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    domains: tuple[str, ...]
    hosts: tuple[str, ...]
    mx: tuple[str, ...]
    imap: tuple[str, int] | None
    pop3: tuple[str, int] | None
    auth: str  # "password", "app-password" or "oauth2"
    note: str | None


def load(overrides: dict[str, dict[str, object]] | None = None) -> list[Provider]:
    """The bundled providers, with `overrides` (from the policy file) replacing or adding."""
    text = resources.files("mailaudit.discover").joinpath("providers.toml").read_text("utf-8")
    table = tomllib.loads(text)
    for key, entry in (overrides or {}).items():
        table[key] = {**table.get(key, {}), **entry}
    return [_provider(key, entry) for key, entry in table.items()]


def _provider(key: str, entry: dict[str, object]) -> Provider:
    def names(field: str) -> tuple[str, ...]:
        value = entry.get(field, [])
        return tuple(str(v).lower().strip(".") for v in value) if isinstance(value, list) else ()

    return Provider(
        key=key,
        name=str(entry.get("name", key)),
        domains=names("domains"),
        hosts=names("hosts"),
        mx=names("mx"),
        imap=_endpoint(entry.get("imap")),
        pop3=_endpoint(entry.get("pop3")),
        auth=str(entry.get("auth", "password")),
        note=str(entry["note"]) if entry.get("note") else None,
    )


def _endpoint(value: object) -> tuple[str, int] | None:
    if not isinstance(value, str) or ":" not in value:
        return None
    host, port = value.rsplit(":", 1)
    return (host, int(port)) if port.isdigit() else None


def _under(name: str, suffixes: tuple[str, ...]) -> bool:
    name = name.lower().rstrip(".")
    return any(name == s or name.endswith("." + s) for s in suffixes)


def identify(
    providers: list[Provider], domain: str | None, host: str | None, mx_hosts: list[str]
) -> tuple[Provider, str] | None:
    """The provider and how it was recognised: "address domain", "server name" or "MX"."""
    for provider in providers:
        if domain and _under(domain, provider.domains):
            return provider, f"address domain {domain}"
    for provider in providers:
        if host and _under(host, provider.hosts):
            return provider, f"server name {host}"
    for provider in providers:
        for mx in mx_hosts:
            if _under(mx, provider.mx):
                return provider, f"MX {mx.rstrip('.')}"
    return None
