"""The live registry of a running Windows, behind the same RegistryKey interface.

Kept thin on purpose: it only opens keys read-only (KEY_READ) and maps winreg's value types to
their names. It cannot run on the Linux machines the suite runs on; everything above it (the
Outlook reader) is tested through the offline hive and .reg implementations instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from mailaudit.sources.registry import RegistryError, RegistryKey, RegValue

if sys.platform == "win32":  # pragma: no cover - Windows only
    import getpass
    import winreg
    from typing import Any

    PROFILE_LIST = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList"
    TYPES = {0: "REG_NONE", 1: "REG_SZ", 2: "REG_EXPAND_SZ", 3: "REG_BINARY", 4: "REG_DWORD",
             7: "REG_MULTI_SZ", 11: "REG_QWORD"}  # fmt: skip

    def live_hives() -> Iterator[tuple[str, RegistryKey]]:
        """(user name, root key) for the current user, and for every user whose hive is loaded
        under HKEY_USERS when we may read it (administrators)."""
        me = getpass.getuser()
        yield me, WinregKey(winreg.HKEY_CURRENT_USER, "", "HKCU")
        try:
            users = winreg.OpenKey(winreg.HKEY_USERS, "")
        except OSError:
            return
        for sid in _names(users, winreg.EnumKey):
            if not sid.startswith("S-1-5-21-") or sid.endswith("_Classes"):
                continue
            try:
                with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, f"{PROFILE_LIST}\\{sid}") as entry:
                    home = str(winreg.QueryValueEx(entry, "ProfileImagePath")[0])
            except OSError:
                home = sid
            name = home.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]
            if name.lower() != me.lower():
                yield name, WinregKey(winreg.HKEY_USERS, sid, f"HKU\\{sid}")

    def _names(handle: Any, enum: Any) -> Iterator[Any]:
        index = 0
        while True:
            try:
                yield enum(handle, index)
            except OSError:
                return
            index += 1

    class WinregKey:
        def __init__(self, top: Any, sub: str, path: str) -> None:
            self._top, self._sub, self._path = top, sub, path

        @property
        def name(self) -> str:
            return self._sub.rsplit("\\", 1)[-1]

        @property
        def path(self) -> str:
            return self._path

        def _open(self) -> Any:
            return winreg.OpenKey(self._top, self._sub, 0, winreg.KEY_READ)

        def _below(self, relative: str) -> WinregKey:
            sub = f"{self._sub}\\{relative}" if self._sub else relative
            return WinregKey(self._top, sub.strip("\\"), f"{self._path}\\{relative}")

        def subkey(self, relative: str) -> RegistryKey | None:
            key = self._below(relative)
            try:
                key._open().Close()
            except OSError:
                return None
            return key

        def subkeys(self) -> list[RegistryKey]:
            try:
                with self._open() as handle:
                    return [self._below(name) for name in _names(handle, winreg.EnumKey)]
            except OSError as exc:
                raise RegistryError(f"{self._path}: {exc}") from None

        def values(self) -> dict[str, RegValue]:
            try:
                with self._open() as handle:
                    entries = list(_names(handle, winreg.EnumValue))
            except OSError as exc:
                raise RegistryError(f"{self._path}: {exc}") from None
            return {
                name.lower(): RegValue(name, TYPES.get(kind, f"REG_{kind}"), data)
                for name, data, kind in entries
            }

else:

    def live_hives() -> Iterator[tuple[str, RegistryKey]]:
        """There is no live registry off Windows."""
        return iter(())
