"""The Windows registry behind one small interface, with three ways in:

- an offline hive file (NTUSER.DAT from a disk image), read with regipy;
- a `.reg` export, as regedit writes it (see reg_export.py);
- the live registry of a running Windows, through winreg (registry_live.py).

Sources see only `RegistryKey`: names are matched case-insensitively, as Windows does, and
values come back with their registry type so that a caller can tell REG_SZ from REG_BINARY.
Damage found while walking a key becomes a `RegistryError` for the caller to report.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from construct import ConstructError  # type: ignore[import-untyped,unused-ignore]
from regipy.exceptions import RegipyException
from regipy.recovery import apply_transaction_logs
from regipy.registry import NKRecord, RegistryHive

from mailaudit.errors import MailauditError, UnreadableFile
from mailaudit.machine import MachineFiles

# regipy holds a hive in memory whole. Real NTUSER.DAT files are a few MB, rarely over 100 MB.
HIVE_LIMIT = 256 * 1024 * 1024
# A damaged or hostile hive can list far more than any real key has: an `ri` index fanning out
# 65535 x 65535, one large value listed 200,000 times. Real Outlook keys have dozens.
MAX_SUBKEYS = 20_000
MAX_VALUES = 2_000
MAX_VALUE_BYTES = 16 * 1024 * 1024  # all values of one key together

RegData = str | int | bytes | list[str] | None


class RegistryError(MailauditError):
    """A hive or key that cannot be read: damaged, truncated or not a hive at all."""


@dataclass(frozen=True)
class RegValue:
    name: str
    kind: str  # "REG_SZ", "REG_BINARY", "REG_DWORD", ...
    data: RegData


class RegistryKey(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str:
        """The key's full path, for the report's `origin`."""
        ...

    def subkey(self, relative: str) -> RegistryKey | None:
        """The key at a backslash-separated path below this one, or None."""
        ...

    def subkeys(self) -> list[RegistryKey]: ...

    def values(self) -> dict[str, RegValue]:
        """Every value, by lower-cased name."""
        ...


# ---------------------------------------------------------------- offline hive (regipy)

# What regipy and construct raise on damaged hive data. regipy parses lazily, so these can come
# from any key access, not only from opening the file.
_HIVE_DAMAGE: tuple[type[BaseException], ...] = (
    RegipyException,
    ConstructError,
    struct.error,
    ValueError,
    IndexError,
    KeyError,
    EOFError,
    OverflowError,
    UnicodeError,
    AttributeError,  # a record that parsed to None
    TypeError,
)
_HIVE_DAMAGE_OR_IO: tuple[type[BaseException], ...] = (*_HIVE_DAMAGE, OSError)


@dataclass(frozen=True)
class OpenedHive:
    root: RegistryKey
    notes: tuple[str, ...]  # what the reader had to do or could not do (transaction logs)


def open_hive(files: MachineFiles, path: Path) -> OpenedHive:
    """The root key of an offline hive file. Raises UnreadableFile or RegistryError.

    regipy reads from a path; it gets a private copy made through MachineFiles, so that the
    client's file is read once, bounded, and without changing its access time.
    """
    with tempfile.TemporaryDirectory(prefix="mailaudit-hive-") as private:
        copy = Path(private) / "hive"
        files.copy_file(path, copy, HIVE_LIMIT)  # streamed: the hive is in memory once, in regipy
        try:
            hive = RegistryHive(str(copy))
        except _HIVE_DAMAGE as exc:
            raise RegistryError(f"not a readable registry hive ({_describe(exc)})") from None
        notes: list[str] = []
        if hive.header.primary_sequence_num != hive.header.secondary_sequence_num:
            hive, note = _replay_logs(files, path, copy, hive)
            notes.append(note)
    return OpenedHive(_HiveKey(hive.root, "HKCU"), tuple(notes))


def _replay_logs(files: MachineFiles, original: Path, copy: Path, hive: Any) -> tuple[Any, str]:
    """A hive not closed cleanly: apply its .LOG1/.LOG2 transaction logs to the private copy."""
    logs = []
    for suffix in (".LOG1", ".LOG2"):
        for name in (original.name + suffix, original.name + suffix.lower()):
            log = copy.with_name(copy.name + suffix)
            try:
                files.copy_file(original.with_name(name), log, HIVE_LIMIT)
            except UnreadableFile:
                log.unlink(missing_ok=True)
                continue
            logs.append(log)
            break
    if not logs:
        return hive, (
            f"{original.name} was not closed cleanly and has no transaction logs: "
            "its most recent changes may be missing"
        )
    restored = copy.with_name("restored")
    try:
        apply_transaction_logs(
            str(copy), str(logs[0]), str(logs[1]) if len(logs) > 1 else None, str(restored)
        )
        replayed = RegistryHive(str(restored))
    except _HIVE_DAMAGE_OR_IO as exc:
        return (
            hive,
            f"{original.name}: its transaction logs could not be applied ({_describe(exc)})",
        )
    return replayed, f"{original.name}: transaction logs applied to a private copy"


class _HiveKey:
    def __init__(self, record: Any, path: str) -> None:
        self._record = record
        self._path = path

    @property
    def name(self) -> str:
        return _key_name(self._record)

    @property
    def path(self) -> str:
        return self._path

    def subkey(self, relative: str) -> RegistryKey | None:
        key: _HiveKey | None = self
        for part in relative.strip("\\").split("\\"):
            if key is None:
                return None
            key = next((k for k in key._iter_subkeys() if k.name.lower() == part.lower()), None)
        return key

    def subkeys(self) -> list[RegistryKey]:
        return list(self._iter_subkeys())

    def _iter_subkeys(self) -> Iterator[_HiveKey]:
        """The subkeys one by one, at most MAX_SUBKEYS: a search stops at the one it wants."""
        try:
            records = self._record.iter_subkeys() or iter(())
            for count, record in enumerate(records):
                if count >= MAX_SUBKEYS:
                    raise RegistryError(f"{self._path} lists over {MAX_SUBKEYS} subkeys")
                if isinstance(record, NKRecord):
                    yield _HiveKey(record, f"{self._path}\\{_key_name(record)}")
        except _HIVE_DAMAGE as exc:
            raise RegistryError(f"damaged subkey list at {self._path} ({_describe(exc)})") from None

    def values(self) -> dict[str, RegValue]:
        found: dict[str, RegValue] = {}
        total = 0
        try:
            for count, value in enumerate(self._record.iter_values(trim_values=False)):
                total += len(value.value) if isinstance(value.value, (bytes, str)) else 8
                if count >= MAX_VALUES or total > MAX_VALUE_BYTES:
                    raise RegistryError(
                        f"{self._path} holds over {MAX_VALUES} values or "
                        f"{MAX_VALUE_BYTES // 1024 // 1024} MB of them"
                    )
                found[value.name.lower()] = RegValue(value.name, str(value.value_type), value.value)
        except _HIVE_DAMAGE as exc:
            raise RegistryError(f"damaged values at {self._path} ({_describe(exc)})") from None
        return found


def _key_name(record: Any) -> str:
    """Windows stores a "compressed" key name in Latin-1 (one byte a character); regipy reads
    it as ASCII, which would turn a profile called "Büro" into "B\ufffdro"."""
    if record.header.flags.KEY_COMP_NAME:
        return bytes(record.header.key_name_string).decode("latin-1")
    return str(record.name)


def _describe(exc: BaseException) -> str:
    """The kind of damage, by the parser's exception type: its message may quote hive bytes."""
    return type(exc).__name__
