"""KMail (KDE): the Akonadi resources' rc files, akonadi_pop3_resource_N rc and
akonadi_imap_resource_N rc, and the maildir resource that holds the local folders.

What the reader relies on (the resources' .kcfg files in kdepim-runtime; files written by
Akonadi 22.12, see tests/fixtures/kmail):

- KConfig writes only values that differ from the default, so an absent key means the
  default: POP3 `port` 110, `useSSL` and `useTLS` false, `leaveOnServer` false,
  `leaveOnServerDays` -1 (no limit); IMAP `ImapPort` 993, `Safety` SSL (SSL, STARTTLS, NONE).
- A key written `Key[$e]=` has $HOME and $VARIABLES expanded (against the audited user's home);
  `Key[de]=` is a translation, skipped. Keys are case-sensitive.
- POP3 mail goes to an Akonadi collection (`targetCollection`), normally KMail's local folders:
  the maildir resource's `Path`, ~/.local/share/local-mail by default. The collection id is
  resolved only in Akonadi's database, which is not read: the maildir is reported as the store.
- The name a resource is shown by is [Agent] Name in akonadi/agent_config_<instance>; the POP3
  resource also keeps it as `name` in its own rc file.
- Passwords are in KWallet or the Secret Service, never here; password keys are dropped anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
from mailaudit.model import (
    Account,
    Client,
    Endpoint,
    LocalMailbox,
    LocalStore,
    Protocol,
    Security,
    Skipped,
)
from mailaudit.sources.base import Found

SOURCE = Client.KMAIL.value
CONFIG_DIRS = (".config", ".kde/share/config", ".kde4/share/config")
RC_LIMIT = 1024 * 1024
SECRET_WORDS = ("password", "passwd", "secret", "token")
DEFAULT_MAILDIR = ".local/share/local-mail"
SAFETY = {"ssl": Security.TLS, "starttls": Security.STARTTLS, "none": Security.NONE}
NOT_MAIL = IgnoreRule(suffixes=(".index", ".index.ids", ".sorted"), names=frozenset())
RESOURCE = re.compile(r"^akonadi_(pop3|imap|maildir)_resource_(\d+)rc$")


def parse_kconfig(text: str, home: Path) -> dict[str, dict[str, str]]:
    """KConfig's format: [Group] (nested as [A][B]), key=value, '#' comments; `[$e]` expands
    $HOME/$VAR against `home`; localized keys are skipped; secrets are dropped unread."""
    groups: dict[str, dict[str, str]] = {}
    current = groups.setdefault("", {})
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = groups.setdefault(stripped[1:-1], {})
            continue
        key, equals, value = stripped.partition("=")
        if not equals:
            continue
        key = key.strip()
        expand = False
        while key.endswith("]") and "[" in key:
            key, marker = key[: key.rindex("[")], key[key.rindex("[") + 1 : -1]
            if marker.startswith("$"):
                expand |= "e" in marker
            else:
                key = ""  # a translation: Key[de]=...
                break
        if not key or any(word in key.lower() for word in SECRET_WORDS):
            continue
        value = _unescape(value.strip())
        current[key] = _expand(value, home) if expand else value
    return groups


def _unescape(value: str) -> str:
    escapes = {"s": " ", "t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), value)


def _expand(value: str, home: Path) -> str:
    known = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share")}
    return re.sub(
        r"\$\{?(\w+)\}?", lambda m: known.get(m.group(1), m.group(0)), value.replace("~", "$HOME")
    )


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    for relative in CONFIG_DIRS:
        folder = user.home / relative
        if not folder.is_dir():
            continue
        try:
            names = sorted(p.name for p in folder.iterdir() if RESOURCE.match(p.name))
        except OSError:
            continue
        if names:
            yield from _scan_folder(files, user, folder, names)


def _scan_folder(
    files: MachineFiles, user: UserHome, folder: Path, names: list[str]
) -> Iterator[Found]:
    resources: dict[str, tuple[str, Path, dict[str, dict[str, str]]]] = {}
    for name in names:
        path = folder / name
        try:
            text = files.read_bytes(path, RC_LIMIT).decode("utf-8")
        except UnreadableFile as exc:
            yield Skipped(SOURCE, files.display(path), f"{name} {exc.reason}")
            continue
        except UnicodeDecodeError:
            yield Skipped(SOURCE, files.display(path), f"{name} is not UTF-8 text; left out")
            continue
        kind_match = RESOURCE.match(name)
        assert kind_match is not None  # the names were picked by this pattern
        # $HOME as the audited machine wrote it; client_path maps it under --root again.
        home = Path(files.display(user.home))
        resources[name[:-2]] = (kind_match.group(1), path, parse_kconfig(text, home))
    maildir = _local_folders(files, user, resources)
    pop_used = False
    names_of = _agent_names(files, user, folder)
    for instance, (kind, path, groups) in resources.items():
        if kind == "pop3":
            pop_used = True
            yield _pop3(files, user, instance, path, groups, names_of, maildir)
        elif kind == "imap":
            yield _imap(files, user, instance, path, groups, names_of)
    if not pop_used and maildir.exists and maildir.bytes:
        yield LocalMailbox(
            client=Client.KMAIL,
            user=user.name,
            profile=files.display(folder),
            name="Local Folders",
            store=maildir,
            origin=maildir.path,
        )


def _agent_names(files: MachineFiles, user: UserHome, folder: Path) -> dict[str, str]:
    """Instance -> the name the user gave it: [Agent] Name in akonadi/agent_config_<instance>
    (written by Akonadi's AgentManager.setAgentInstanceName)."""
    found = {}
    for config in sorted((folder / "akonadi").glob("agent_config_akonadi_*_resource_*")):
        if config.suffix:
            continue  # the _changes.dat replay logs beside them
        try:
            text = files.read_bytes(config, RC_LIMIT).decode("utf-8", "replace")
        except UnreadableFile:
            continue
        name = parse_kconfig(text, user.home).get("Agent", {}).get("Name")
        if name:
            found[config.name.removeprefix("agent_config_")] = name
    return found


def _flag(values: dict[str, str], key: str) -> bool:
    return values.get(key, "false").lower() == "true"


def _number(values: dict[str, str], key: str, default: int) -> int:
    text = values.get(key, "")
    return int(text) if text.lstrip("-").isdigit() else default


def _pop3(
    files: MachineFiles,
    user: UserHome,
    instance: str,
    path: Path,
    groups: dict[str, dict[str, str]],
    names_of: dict[str, str],
    maildir: LocalStore,
) -> Account:
    values = groups.get("General", {})
    if values.get("useSSL", "false") == "true":
        security, raw = Security.TLS, "useSSL=true"
    elif _flag(values, "useTLS"):
        security, raw = Security.STARTTLS, "useTLS=true"
    else:
        security, raw = Security.NONE, "useSSL and useTLS false (or absent: the defaults)"
    port = _number(values, "port", 110)
    leave = _flag(values, "leaveOnServer")
    days = _number(values, "leaveOnServerDays", -1)
    login = values.get("login") or None
    if leave:
        detail = "keep a copy on the server" + (
            f", remove it after {days} days" if days > 0 else ""
        )
    else:
        detail = "mail is removed from the server once downloaded"
    detail += f" (leaveOnServer={values.get('leaveOnServer', 'absent: false')}"
    detail += f", leaveOnServerDays={values.get('leaveOnServerDays', 'absent: -1')})"
    store = LocalStore(
        maildir.path,
        maildir.bytes,
        maildir.exists,
        note="KMail's local folders, where POP3 mail is delivered (the target folder itself is "
        "known only to Akonadi's database)",
    )
    return Account(
        client=Client.KMAIL,
        user=user.name,
        profile=files.display(path.parent),
        key=instance,
        name=values.get("name") or names_of.get(instance) or instance,
        email=login if login and "@" in login else None,
        protocol=Protocol.POP3,
        declared_type="pop3",
        incoming=Endpoint(values.get("host") or None, port, security, login, "password", raw),
        origin=files.display(path),
        addresses=(login,) if login and "@" in login else (),
        leave_on_server=leave,
        leave_on_server_days=days if leave and days > 0 else None,
        leave_on_server_detail=detail,
        local_store=store,
    )


def _imap(
    files: MachineFiles,
    user: UserHome,
    instance: str,
    path: Path,
    groups: dict[str, dict[str, str]],
    names_of: dict[str, str],
) -> Account:
    network = groups.get("network", {})
    safety = network.get("Safety", "SSL")
    login = network.get("UserName") or None
    return Account(
        client=Client.KMAIL,
        user=user.name,
        profile=files.display(path.parent),
        key=instance,
        name=groups.get("General", {}).get("name") or names_of.get(instance) or instance,
        email=login if login and "@" in login else None,
        protocol=Protocol.IMAP,
        declared_type="imap",
        incoming=Endpoint(
            network.get("ImapServer") or None,
            _number(network, "ImapPort", 993),
            SAFETY.get(safety.lower(), Security.UNKNOWN),
            login,
            "password",
            f"Safety={safety}",
        ),
        origin=files.display(path),
        addresses=(login,) if login and "@" in login else (),
    )


def _local_folders(
    files: MachineFiles,
    user: UserHome,
    resources: dict[str, tuple[str, Path, dict[str, dict[str, str]]]],
) -> LocalStore:
    written = next(
        (
            groups.get("General", {}).get("Path")
            for kind, _, groups in resources.values()
            if kind == "maildir" and groups.get("General", {}).get("Path")
        ),
        None,
    )
    path = user.home / DEFAULT_MAILDIR
    if written:
        try:
            path = files.client_path(written, base=user.home)
        except UnreadableFile as exc:
            return LocalStore(written, 0, exists=False, note=exc.reason, measured=False)
    shown = files.display(path)
    try:
        real = files.check_inside(path)
    except UnreadableFile as exc:
        return LocalStore(shown, 0, exists=False, note=f"local folders {exc.reason}")
    return LocalStore(shown, files.mail_bytes(real, NOT_MAIL), note="KMail's local folders")
