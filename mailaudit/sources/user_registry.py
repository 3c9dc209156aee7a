"""One user's registry, for the sources that read a little of it (Windows Live Mail, Outlook
Express): the live HKCU on Windows, else the NTUSER.DAT in the user's folder of the audited
disk."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import MachineFiles, UserHome
from mailaudit.sources.registry import RegistryError, RegistryKey, open_hive
from mailaudit.sources.registry_live import live_hives

HIVE_NAMES = ("NTUSER.DAT", "ntuser.dat", "NTUser.dat")


@dataclass(frozen=True)
class UserRegistry:
    root: RegistryKey | None  # None: no hive, or one that could not be opened
    origin: str  # "registry", or the hive file as the report shows it
    problems: tuple[str, ...] = ()  # why the hive could not be read, or what was repaired


def user_registry(files: MachineFiles, user: UserHome) -> UserRegistry:
    if files.root is None:
        live = dict(live_hives())  # empty off Windows
        if user.name in live:
            return UserRegistry(live[user.name], "registry")
    hive_path = next((user.home / n for n in HIVE_NAMES if (user.home / n).is_file()), None)
    if hive_path is None:
        return UserRegistry(None, "")
    try:
        info = hive_path.stat()
    except OSError:
        return UserRegistry(None, files.display(hive_path), (f"{hive_path.name} cannot be read",))
    return _open(files, hive_path, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=1)  # the sources of one user run one after another: parse the hive once
def _open(files: MachineFiles, hive_path: Path, mtime_ns: int, size: int) -> UserRegistry:
    """mtime_ns and size are only part of the cache key: a hive that changed is read again."""
    shown = files.display(hive_path)
    try:
        opened = open_hive(files, hive_path)
    except UnreadableFile as exc:
        return UserRegistry(None, shown, (f"{hive_path.name} {exc.reason}",))
    except RegistryError as exc:
        return UserRegistry(None, shown, (f"{hive_path.name} is {exc}",))
    return UserRegistry(opened.root, shown, opened.notes)


def is_windows_xp_home(home: Path) -> bool:
    """XP keeps profiles under "Documents and Settings" and has no AppData folder."""
    return home.parent.name.lower() == "documents and settings"
