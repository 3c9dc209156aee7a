"""The policy file (`--config FILE`, TOML): network settings, advice settings, severities,
what to ignore, provider overrides. Every key is checked: a bad value is an error naming the
key and its line, and an unknown key is an error too, so that a typo never passes silently.

    [probe]
    timeout = 10            # seconds, each network step
    concurrency = 32
    dns_server = "192.0.2.53"    # IP[:PORT]
    ca_file = "company-ca.pem"   # relative to the policy file

    [advice]
    uplink_mbit = 10        # the client's upload speed, for the upload estimate
    expiring_days = 30      # certificate expiry warning

    [severity]
    MA001 = "info"          # any rule id -> info, low, medium, high, critical

    [ignore]
    rules = ["MA004"]
    accounts = ["anna@example.com", "3f2a9c0d1e4b5a6c"]   # addresses or account ids

    [providers.example]     # add or override a provider (see mailaudit/providers)
    name = "Example Mail"
    domains = ["example.com"]
    imap = "imap.example.com:993"
    auth = "password"
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailaudit.advise import RULES, Policy
from mailaudit.errors import UnreadableFile, UsageError
from mailaudit.machine import MachineFiles
from mailaudit.model import Severity
from mailaudit.probe.targets import dns_server

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "probe": {"timeout": (int, float), "concurrency": int, "dns_server": str, "ca_file": str},
    "advice": {"uplink_mbit": (int, float), "expiring_days": int},
    "ignore": {"rules": list, "accounts": list},
}
PROVIDER_KEYS = {
    "name": str,
    "domains": list,
    "hosts": list,
    "mx": list,
    "imap": str,
    "pop3": str,
    "auth": str,
    "note": str,
}
AUTH_VALUES = ("password", "app-password", "oauth2")


@dataclass(frozen=True)
class Settings:
    """What a policy file sets; None where it says nothing and the command line decides."""

    timeout: float | None = None
    concurrency: int | None = None
    dns_server: tuple[str, int] | None = None
    ca_file: Path | None = None
    policy: Policy = field(default_factory=Policy)
    providers: dict[str, dict[str, object]] = field(default_factory=dict)


POLICY_LIMIT = 1024 * 1024  # a policy file is a few lines


def load(path: Path) -> Settings:
    try:
        # Through the one read-only open: a FIFO or a device named by mistake is refused.
        text = MachineFiles(None).read_bytes(path, POLICY_LIMIT).decode("utf-8")
    except UnreadableFile as exc:
        raise UsageError(f"{path} {exc.reason}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: cannot be read (not UTF-8 text)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    checker = _Checker(path, text)
    return checker.settings(data)


class _Checker:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def fail(self, section: str, key: str, problem: str) -> UsageError:
        return UsageError(
            f"{self.path}, line {self.line_of(section, key)}: [{section}] {key}: {problem}"
        )

    def line_of(self, section: str, key: str) -> int | str:
        """TOML parsers give no positions for keys: find the key's line inside its table."""
        inside = False
        header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
        for number, line in enumerate(self.lines, start=1):
            found = header.match(line)
            if found:
                inside = found.group(1).strip('"') == section
                if inside and not key:
                    return number
                continue
            if inside and re.match(rf'^\s*"?{re.escape(key)}"?\s*=', line):
                return number
        return "?"

    def settings(self, data: dict[str, Any]) -> Settings:
        for section in data:
            if section not in (*SECTIONS, "severity", "providers"):
                raise self.fail(
                    section,
                    "",
                    f"unknown section; expected one of "
                    f"{', '.join([*SECTIONS, 'severity', 'providers'])}",
                )
        for section, keys in SECTIONS.items():
            table = data.get(section, {})
            if not isinstance(table, dict):
                raise self.fail(section, "", "must be a table")
            for key, value in table.items():
                if key not in keys:
                    raise self.fail(section, key, f"unknown key; expected one of {', '.join(keys)}")
                if isinstance(value, bool) or not isinstance(value, keys[key]):
                    raise self.fail(section, key, f"has the wrong type ({type(value).__name__})")
        probe, advice, ignore = (data.get(s, {}) for s in ("probe", "advice", "ignore"))
        for key in ("timeout", "concurrency", "uplink_mbit", "expiring_days"):
            section = "probe" if key in probe else "advice"
            value = {**probe, **advice}.get(key)
            if value is not None and value <= 0:
                raise self.fail(section, key, "must be greater than 0")
        severities = {}
        for rule, value in data.get("severity", {}).items():
            if rule not in RULES:
                raise self.fail("severity", rule, "unknown rule id")
            if value not in [s.value for s in Severity]:
                raise self.fail(
                    "severity", rule, f"{value!r} is not one of info, low, medium, high, critical"
                )
            severities[rule] = Severity(value)
        for rule in ignore.get("rules", []):
            if rule not in RULES:
                raise self.fail("ignore", "rules", f"{rule!r} is not a rule id")
        providers = data.get("providers", {})
        for key, entry in providers.items():
            if not isinstance(entry, dict):
                raise self.fail(f"providers.{key}", "", "must be a table")
            for name, value in entry.items():
                if name not in PROVIDER_KEYS:
                    raise self.fail(
                        f"providers.{key}",
                        name,
                        f"unknown key; expected one of {', '.join(PROVIDER_KEYS)}",
                    )
                if not isinstance(value, PROVIDER_KEYS[name]):
                    raise self.fail(f"providers.{key}", name, "has the wrong type")
            if entry.get("auth", "password") not in AUTH_VALUES:
                raise self.fail(
                    f"providers.{key}", "auth", f"must be one of {', '.join(AUTH_VALUES)}"
                )
        try:
            server = dns_server(probe["dns_server"]) if "dns_server" in probe else None
        except UsageError as exc:
            raise self.fail("probe", "dns_server", str(exc)) from None
        ca_file = (self.path.parent / probe["ca_file"]) if "ca_file" in probe else None
        if ca_file is not None and not ca_file.is_file():
            raise self.fail("probe", "ca_file", f"{ca_file} does not exist")
        policy = Policy(
            uplink_mbit=float(advice.get("uplink_mbit", 10.0)),
            expiring_days=int(advice.get("expiring_days", 30)),
            severities=severities,
            ignored_rules=frozenset(str(r) for r in ignore.get("rules", [])),
            ignored_accounts=frozenset(str(a) for a in ignore.get("accounts", [])),
        )
        return Settings(
            timeout=float(probe["timeout"]) if "timeout" in probe else None,
            concurrency=int(probe["concurrency"]) if "concurrency" in probe else None,
            dns_server=server,
            ca_file=ca_file,
            policy=policy,
            providers=providers,
        )
