"""Write the backup: one ZIP per run, read back and verified before it gets its final name.

One thread opens each source file read-only, reads it once and hashes it; the other computes the
CRC-32 and writes the member (see overlap.py). A file that changed while it was read (its size
or modification time moved, or it ended early) is cut out of the archive and read again once;
the second failure leaves it out with "close <client> and run again". Members are stored, not
deflated: the README gives the measurement behind that.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import sys
import time
import zipfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import IO, BinaryIO

from mailaudit.backup import manifest
from mailaudit.backup.manifest import CopiedFile, Expected
from mailaudit.backup.overlap import ahead
from mailaudit.backup.progress import Meter, ProgressCallback
from mailaudit.backup.selection import NotCopied, Owner, Selection, SourceFile
from mailaudit.backup.verify import Verification, manifest_beside, verify
from mailaudit.errors import ArchiveUnreadable, BackupRefused
from mailaudit.machine import open_read_only
from mailaudit.model import PRODUCT_NAMES, Machine
from mailaudit.units import human_bytes

CHUNK = 1 << 20  # files up to this size are read whole, then written in one call
DEPTH = 3  # batches of about a chunk in flight between reading and writing: bounded memory
SHARING_VIOLATION = 32  # Windows: the file is open in another program that denies sharing


class Outcome(str, Enum):
    COMPLETE = "complete"  # every file copied, the archive read back and verified
    INCOMPLETE = "incomplete"  # verified, but some store files are not in it (listed)
    DAMAGED = "damaged"  # the archive read back differs from what was read from the source


@dataclass(frozen=True)
class BackupResult:
    archive: Path
    manifest: Path
    machine: Machine
    owners: tuple[Owner, ...]
    copied: tuple[CopiedFile, ...]
    not_copied: tuple[NotCopied, ...]
    seconds: float  # copying and verifying
    verification: Verification

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.copied)

    @property
    def outcome(self) -> Outcome:
        if not self.verification.ok:
            return Outcome.DAMAGED
        if any(n.failed for n in self.not_copied):
            return Outcome.INCOMPLETE
        return Outcome.COMPLETE


def write_backup(
    selection: Selection,
    dest: Path,
    machine: Machine,
    root: Path | None,
    progress: ProgressCallback | None = None,
    interval: float = 1.0,
) -> BackupResult:
    """Copy the selection into a new archive in `dest`; BackupRefused before anything is written
    when `dest` lies inside the audited files or cannot hold the copy."""
    check_destination(dest, root, selection)
    started = datetime.now(timezone.utc)
    final = _archive_path(dest, machine.hostname, started)
    partial = final.with_name(final.name + ".partial")
    begun = time.monotonic()
    try:
        with _create(partial) as handle:
            copied, failed = _copy(handle, selection, machine, started, progress, interval)
            handle.flush()
            _settle(handle)
    except BaseException as exc:  # nothing half-written stays behind, whatever stopped us
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise BackupRefused(f"cannot write the backup to {dest}: {_why(exc)}") from None
        raise
    expected = [Expected(f.name, f.size, f.sha256) for f in copied]
    try:
        checked = verify(partial, expected, progress, interval)
    except ArchiveUnreadable:  # what was written does not read back as a ZIP at all
        partial.unlink(missing_ok=True)
        raise
    beside = manifest_beside(final)
    try:
        with _create(beside) as handle:
            for piece in _manifest(selection, machine, started, copied, failed):
                handle.write(piece)
            os.fsync(handle.fileno())
        partial.replace(final)
        _sync_folder(dest)
    except OSError as exc:
        raise BackupRefused(f"cannot finish the backup in {dest}: {_why(exc)}") from None
    return BackupResult(
        archive=final,
        manifest=beside,
        machine=machine,
        owners=selection.owners,
        copied=tuple(copied),
        not_copied=selection.not_copied + tuple(failed),
        seconds=time.monotonic() - begun,
        verification=replace(checked, archive=final),
    )


def check_destination(dest: Path, root: Path | None, selection: Selection) -> None:
    """Refuse a DEST inside the audited files or too small for the copy, before copying."""
    real = os.path.realpath(dest)
    if root is not None and _within(real, os.path.realpath(root)):
        raise BackupRefused(
            f"--to {dest} is inside the audited machine's files ({root}): "
            "write the backup to another disk"
        )
    for folder in selection.folders:
        if _within(real, str(folder)):
            raise BackupRefused(
                f"--to {dest} is inside a mail folder being backed up ({folder}): "
                "write the backup to another disk"
            )
    if not os.access(dest, os.W_OK):
        raise BackupRefused(f"--to {dest}: cannot write there (permission denied)")
    needed = selection.bytes + _overhead(selection)
    free = shutil.disk_usage(dest).free
    if free < needed:
        raise BackupRefused(
            f"--to {dest} has {human_bytes(free)} free; the backup needs {human_bytes(needed)}"
        )


def _copy(
    handle: BinaryIO,
    selection: Selection,
    machine: Machine,
    started: datetime,
    progress: ProgressCallback | None,
    interval: float,
) -> tuple[list[CopiedFile], list[NotCopied]]:
    copied: list[CopiedFile] = []
    failed: list[NotCopied] = []
    meter = Meter(progress, "copying", selection.bytes, interval)
    # No `with`: after a failure the caller deletes the file, and closing would write an end.
    archive = zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True)
    writer: IO[bytes] | None = None
    mark = 0
    for event in ahead(_read_all(selection.files), _payload, CHUNK, DEPTH):
        if isinstance(event, _Chunk):
            assert writer is not None  # a _Begin came first
            writer.write(event.data)
            meter.add(len(event.data))
        elif isinstance(event, _Begin):
            mark = archive.start_dir
            info = _member_info(event.source.name, event.size, event.mtime_ns)
            writer = archive.open(info, "w")
        elif isinstance(event, _End):
            assert writer is not None
            writer.close()
            writer = None
            if event.problem is None:
                copied.append(event.copied())
                continue
            _cut(archive, mark, event.source.name)
            meter.add(-event.read)
            if not event.retry:
                failed.append(NotCopied("/" + event.source.name, event.problem, failed=True))
        elif isinstance(event, _Whole):
            if event.problem is not None:
                failed.append(NotCopied("/" + event.source.name, event.problem, failed=True))
                continue
            info = _member_info(event.source.name, len(event.data), event.mtime_ns)
            _append_whole(archive, info, event.data)
            meter.add(len(event.data))
            copied.append(event.copied())
        else:
            failed.append(NotCopied("/" + event.source.name, event.reason, failed=True))
    meter.finish()
    info = zipfile.ZipInfo(manifest.NAME, date_time=_dos_time(time.time_ns()))
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    with archive.open(info, "w") as member:
        for piece in _manifest(selection, machine, started, copied, failed):
            member.write(piece)
    archive.close()
    return copied, failed


def _manifest(
    selection: Selection,
    machine: Machine,
    started: datetime,
    copied: list[CopiedFile],
    failed: list[NotCopied],
) -> Iterator[bytes]:
    created = started.isoformat(timespec="seconds").replace("+00:00", "Z")
    not_copied = list(selection.not_copied) + failed
    return manifest.render(machine, created, selection.owners, copied, not_copied)


# What the reading thread hands to the writing one.


@dataclass(frozen=True, slots=True)
class _Begin:
    source: SourceFile
    size: int  # when opened
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class _Chunk:
    data: bytes


@dataclass(frozen=True, slots=True)
class _End:
    source: SourceFile
    sha256: str
    read: int
    mtime_ns: int
    problem: str | None
    retry: bool  # the reader reads it again next

    def copied(self) -> CopiedFile:
        return CopiedFile(
            self.source.name, self.read, self.mtime_ns, self.sha256, self.source.accounts
        )


@dataclass(frozen=True, slots=True)
class _Whole:
    """A small file read whole: written in one call, never cut out again."""

    source: SourceFile
    data: bytes
    sha256: str
    mtime_ns: int
    problem: str | None

    def copied(self) -> CopiedFile:
        return CopiedFile(
            self.source.name, len(self.data), self.mtime_ns, self.sha256, self.source.accounts
        )


@dataclass(frozen=True, slots=True)
class _Unreadable:
    source: SourceFile
    reason: str


_Event = _Begin | _Chunk | _End | _Whole | _Unreadable


def _payload(event: _Event) -> int:
    return len(event.data) if isinstance(event, _Chunk | _Whole) else 0


def _read_all(sources: tuple[SourceFile, ...]) -> Iterator[_Event]:
    for source in sources:
        changed = yield from _read_one(source, last=False)
        if changed:
            yield from _read_one(source, last=True)


def _read_one(source: SourceFile, last: bool) -> Generator[_Event, None, bool]:
    """Read and hash one file; True when it changed meanwhile (the caller reads it again)."""
    try:
        fd = open_read_only(Path(source.path))
    except OSError as exc:
        yield _Unreadable(source, _open_reason(exc, source))
        return False
    begun = False
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            yield _Unreadable(source, "is no longer a regular file: not read")
            return False
        size = before.st_size
        digest = hashlib.sha256()
        if size <= CHUNK:
            data = _read_up_to(fd, size)
            changed = len(data) != size or _moved(before, os.fstat(fd))
            if changed and not last:
                return True
            digest.update(data)
            problem = _changed_reason(source) if changed else None
            yield _Whole(source, data, digest.hexdigest(), before.st_mtime_ns, problem)
            return changed
        yield _Begin(source, size, before.st_mtime_ns)
        begun = True
        read = 0
        # Never past the size it had when opened: a file that keeps growing ends the read.
        while read < size and (data := os.read(fd, min(CHUNK, size - read))):
            digest.update(data)
            read += len(data)
            yield _Chunk(data)
        changed = read != size or _moved(before, os.fstat(fd))
        problem = _changed_reason(source) if changed else None
        retry = changed and not last
        yield _End(source, digest.hexdigest(), read, before.st_mtime_ns, problem, retry)
        return retry
    except OSError as exc:
        reason = f"could not be read to the end ({_why(exc)})"
        if begun:
            yield _End(source, "", 0, 0, reason, retry=False)
        else:
            yield _Unreadable(source, reason)
        return False
    finally:
        os.close(fd)


def _read_up_to(fd: int, size: int) -> bytes:
    parts = []
    left = size
    while left > 0 and (data := os.read(fd, left)):
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def _moved(before: os.stat_result, after: os.stat_result) -> bool:
    return (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)


def _changed_reason(source: SourceFile) -> str:
    client = PRODUCT_NAMES[source.client]
    return f"changed while it was copied, twice: close {client} and run again"


def _open_reason(exc: OSError, source: SourceFile) -> str:
    client = PRODUCT_NAMES[source.client]
    if getattr(exc, "winerror", None) == SHARING_VIOLATION:
        return f"is open in {client} (sharing violation): close {client} and run again"
    if isinstance(exc, FileNotFoundError):
        return "disappeared before it was copied"
    return f"cannot be read ({_why(exc)})"


def _member_info(name: str, size: int, mtime_ns: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_dos_time(mtime_ns))
    info.file_size = size  # zipfile picks ZIP64 for the member from this (reads stop there)
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def _dos_time(mtime_ns: int) -> tuple[int, int, int, int, int, int]:
    """ZIP's local date and time, which only spans 1980 to 2107."""
    moment = time.localtime(mtime_ns / 1e9)
    if moment.tm_year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    if moment.tm_year > 2107:
        return (2107, 12, 31, 23, 59, 58)
    return (
        moment.tm_year,
        moment.tm_mon,
        moment.tm_mday,
        moment.tm_hour,
        moment.tm_min,
        moment.tm_sec,
    )


def _append_whole(archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
    """A member whose size and CRC are known before it is written: its header goes out right
    the first time. (zipfile's writestr seeks back to patch every header, which costs as much
    as the copy itself for 20,000 small Maildir files.)"""
    assert archive.fp is not None and len(data) < zipfile.ZIP64_LIMIT
    info.CRC = zlib.crc32(data)
    info.compress_size = len(data)
    info.header_offset = archive.start_dir
    archive.fp.write(info.FileHeader(zip64=False))
    archive.fp.write(data)
    archive.start_dir = archive.fp.tell()
    archive.filelist.append(info)
    archive.NameToInfo[info.filename] = info


def _cut(archive: zipfile.ZipFile, mark: int, name: str) -> None:
    """Take the member just written out again: the archive ends where it began."""
    info = archive.NameToInfo.pop(name)
    archive.filelist.remove(info)
    archive.start_dir = mark
    assert archive.fp is not None
    archive.fp.seek(mark)
    archive.fp.truncate()


def _create(path: Path) -> BinaryIO:
    """A new file only its owner can read: the archive holds someone's private mail."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(path, flags, 0o600), "wb")


def _settle(handle: BinaryIO) -> None:
    """On the disk, not in memory, before it is read back: then drop it from the page cache so
    that the read-back reads the medium (a drive that loses writes fails here, not later)."""
    fd = handle.fileno()
    os.fsync(fd)
    if sys.platform != "win32" and sys.platform != "darwin":  # Linux and the BSDs have it
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _sync_folder(folder: Path) -> None:
    """Make the new names durable too. Windows cannot open a folder: its NTFS journal does."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _archive_path(dest: Path, hostname: str, started: datetime) -> Path:
    host = re.sub(r"[^A-Za-z0-9._-]+", "-", hostname).strip("-.") or "machine"
    stem = f"mailaudit-backup-{host}-{started.strftime('%Y%m%dT%H%M%SZ')}"
    candidate = dest / f"{stem}.zip"
    number = 1
    while candidate.exists() or candidate.with_name(candidate.name + ".partial").exists():
        number += 1
        candidate = dest / f"{stem}-{number}.zip"
    return candidate


def _overhead(selection: Selection) -> int:
    """Bytes beyond the files: ZIP64 local and central headers, and the manifest twice."""
    per_file = sum(
        2 * len(f.name.encode()) + 124 + 2 * (300 + len(f.name)) for f in selection.files
    )
    return per_file + 64 * 1024


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()
