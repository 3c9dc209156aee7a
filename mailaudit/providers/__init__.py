"""Provider knowledge: who runs a domain's mail, where their IMAP is, and how one signs in.

Two files beside this module, both data:

- `ispdb.json`: a snapshot of Thunderbird's ISPDB (thunderbird/autoconfig, MPL-2.0, licence in
  `ISPDB-LICENSE`; rebuilt by `scripts/build-ispdb.py`): domains and servers of ~160 providers.
- `policies.toml`: what the ISPDB lacks, each fact with its source: sign-in policies ("OAuth2
  only", "app password"), "switch IMAP on in web mail first" notes, the host and MX suffixes of
  hosting providers whose customers use their own domains (Google Workspace, Microsoft 365,
  IONOS, STRATO, ...). An entry with `ispdb = "<id>"` completes that ISPDB provider.

A provider is found by the address's domain, the configured server's host name, or the
domain's MX hosts. Names are matched as suffixes (`pop.gmx.net` is under `gmx.net`), and the
longest matching suffix wins: AOL's MX `mx-aol.mail.gm0.yahoodns.net` is AOL's, not Yahoo's
(`yahoodns.net`). Like Thunderbird (its guess by MX looks the MX's domain up in the ISPDB), an
MX host also matches a provider's domains.

The audit loads this once and hands it to discovery and to advice; neither loads it itself.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SOCKET_TYPES = {"SSL": "tls", "STARTTLS": "starttls", "plain": "none"}
SECURITY_ORDER = ("tls", "starttls", "none")


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    domains: tuple[str, ...]
    hosts: tuple[str, ...]  # suffixes of the provider's server names
    mx: tuple[str, ...]  # suffixes of the MX hosts of domains hosted there
    imap: tuple[str, int] | None
    pop3: tuple[str, int] | None
    auth: str  # "password", "app-password" or "oauth2"
    note: str | None
    sign_in: tuple[str, ...] = ()  # the IMAP server's methods as the ISPDB lists them
    source: str = "mailaudit"  # "ISPDB <id>", "mailaudit", or both joined by " + "


def load(overrides: dict[str, dict[str, object]] | None = None) -> list[Provider]:
    """Every provider: the ISPDB, completed by policies.toml, then `overrides` (from the policy
    file) replacing or adding entries by key."""
    table = {key: dict(entry) for key, entry in _merged().items()}
    for key, entry in (overrides or {}).items():
        table[key] = {**table.get(key, {}), **entry}
    return [_provider(key, entry) for key, entry in table.items()]


@lru_cache(maxsize=1)
def _merged() -> dict[str, dict[str, Any]]:
    here = resources.files(__name__)
    snapshot = json.loads(here.joinpath("ispdb.json").read_text("utf-8"))
    table: dict[str, dict[str, Any]] = {
        entry["id"]: _from_ispdb(entry) for entry in snapshot["providers"]
    }
    own = tomllib.loads(here.joinpath("policies.toml").read_text("utf-8"))
    for key, entry in own.items():
        base = table.pop(str(entry["ispdb"]), {}) if "ispdb" in entry else {}
        merged = {**base, **{k: v for k, v in entry.items() if k != "ispdb"}}
        for field in ("domains", "hosts", "mx"):
            merged[field] = list(dict.fromkeys([*base.get(field, []), *entry.get(field, [])]))
        merged["source"] = " + ".join(s for s in (base.get("source"), "mailaudit") if s)
        table[key] = merged
    return table


def _from_ispdb(entry: dict[str, Any]) -> dict[str, Any]:
    """An ISPDB file as a table entry: its best IMAP and POP3 server (TLS before STARTTLS)."""
    servers: dict[str, dict[str, Any]] = {}
    for server in entry.get("incoming", []):
        kind, host, port = server.get("type"), server.get("hostname"), server.get("port")
        security = SOCKET_TYPES.get(server.get("socketType") or "", "none")
        # %EMAILDOMAIN% hosts (inbox.lv, mail.ee) depend on the address: no fixed server.
        if kind not in ("imap", "pop3") or not host or "%" in host or not str(port).isdigit():
            continue
        known = servers.get(kind)
        if known is None or SECURITY_ORDER.index(security) < SECURITY_ORDER.index(
            known["security"]
        ):
            servers[kind] = {"at": f"{host}:{port}", "security": security, "host": host, **server}
    imap, pop3 = servers.get("imap"), servers.get("pop3")
    methods = list(imap.get("authentication", [])) if imap else []
    enable = [
        i.get("text")
        for e in entry.get("enable", [])
        for i in e.get("instruction", [])
        if i.get("lang") in (None, "en") and i.get("text")
    ]
    return {
        "name": entry.get("displayName") or entry["id"],
        "domains": [d for d in entry.get("domains", []) if d],
        "hosts": [s["host"] for s in servers.values()],
        "mx": [],
        **({"imap": imap["at"]} if imap else {}),
        **({"pop3": pop3["at"]} if pop3 else {}),
        # The ISPDB lists OAuth2 alone where the provider refuses passwords (Microsoft).
        "auth": "oauth2" if methods == ["OAuth2"] else "password",
        "sign_in": methods,
        **({"note": enable[0]} if enable else {}),
        "source": f"ISPDB {entry['id']}",
    }


def _provider(key: str, entry: dict[str, object]) -> Provider:
    def names(field: str) -> tuple[str, ...]:
        value = entry.get(field, [])
        return tuple(str(v).lower().strip(".") for v in value) if isinstance(value, list) else ()

    sign_in = entry.get("sign_in", [])
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
        sign_in=tuple(str(m) for m in sign_in) if isinstance(sign_in, list) else (),
        source=str(entry.get("source", "policy file")),
    )


def _endpoint(value: object) -> tuple[str, int] | None:
    if not isinstance(value, str) or ":" not in value:
        return None
    host, port = value.rsplit(":", 1)
    return (host, int(port)) if port.isdigit() else None


def _match(name: str, suffixes: tuple[str, ...]) -> int:
    """The length of the longest suffix `name` is under (0: none)."""
    name = name.lower().rstrip(".")
    return max((len(s) for s in suffixes if name == s or name.endswith("." + s)), default=0)


def _best(providers: list[Provider], name: str, fields: tuple[str, ...]) -> Provider | None:
    scored = [(max(_match(name, getattr(p, f)) for f in fields), p) for p in providers]
    score, found = max(scored, key=lambda pair: pair[0], default=(0, None))
    return found if score else None


def identify(
    providers: list[Provider], domain: str | None, host: str | None, mx_hosts: list[str]
) -> tuple[Provider, str] | None:
    """The provider and how it was recognised: "address domain", "server name" or "MX"."""
    if domain and (found := _best(providers, domain, ("domains",))):
        return found, f"address domain {domain}"
    if host and (found := _best(providers, host, ("hosts",))):
        return found, f"server name {host}"
    for mx in mx_hosts:
        if found := _best(providers, mx, ("mx", "domains")):
            return found, f"MX {mx.rstrip('.')}"
    return None
