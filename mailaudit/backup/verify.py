"""Read an archive back and check every member against what the source held.

Used twice: right after writing (against the hashes taken while reading the source) and by
`--verify ARCHIVE` later (against the manifest inside). zipfile checks each member's CRC-32 as
it reads; the SHA-256 is compared here, in the other thread.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailaudit.backup import manifest
from mailaudit.backup.manifest import Expected
from mailaudit.backup.overlap import ahead
from mailaudit.backup.progress import Meter, ProgressCallback
from mailaudit.errors import ArchiveUnreadable

CHUNK = 1 << 20
DEPTH = 3  # batches of about a chunk in flight between the reading and the hashing thread


@dataclass(frozen=True)
class Problem:
    name: str  # the member
    problem: str  # "missing", or what is wrong with it


@dataclass(frozen=True)
class Verification:
    archive: Path
    checked: int  # members read back
    bytes: int
    seconds: float
    problems: tuple[Problem, ...]
    unexpected: tuple[str, ...] = ()  # members the manifest does not list

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Chunk:
    data: bytes


@dataclass(frozen=True, slots=True)
class _End:
    expected: Expected
    error: str | None  # the member could not be read whole


def verify(
    archive: Path,
    expected: list[Expected] | None = None,
    progress: ProgressCallback | None = None,
    interval: float = 1.0,
) -> Verification:
    """Every expected member read back and hashed; without `expected`, the manifest inside.

    ArchiveUnreadable when the archive is no ZIP at all or (without `expected`) its manifest
    cannot be read from inside nor from beside it.
    """
    try:
        zipped = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveUnreadable(f"{archive}: cannot be read as a ZIP archive ({exc})") from None
    with zipped:
        wanted = expected if expected is not None else _manifest(zipped, archive)
        members = {info.filename: info for info in zipped.infolist()}
        problems = [Problem(e.name, "missing") for e in wanted if e.name not in members]
        present = [e for e in wanted if e.name in members]
        present.sort(key=lambda e: members[e.name].header_offset)  # one pass front to back
        listed = {e.name for e in wanted} | {manifest.NAME}
        unexpected = tuple(name for name in members if name not in listed)
        meter = Meter(progress, "verifying", sum(e.size for e in present), interval)
        digest = hashlib.sha256()
        read = 0
        for item in ahead(_read(zipped, members, present), _payload, CHUNK, DEPTH):
            if isinstance(item, _Chunk):
                digest.update(item.data)
                read += len(item.data)
                meter.add(len(item.data))
                continue
            problem = item.error or _compare(item.expected, read, digest.hexdigest())
            if problem:
                problems.append(Problem(item.expected.name, problem))
            digest, read = hashlib.sha256(), 0
        seconds = meter.finish()
    order = {e.name: i for i, e in enumerate(wanted)}
    problems.sort(key=lambda p: order.get(p.name, -1))
    return Verification(
        archive=archive,
        checked=len(present),
        bytes=meter.done,
        seconds=seconds,
        problems=tuple(problems),
        unexpected=unexpected,
    )


def _payload(item: _Chunk | _End) -> int:
    return len(item.data) if isinstance(item, _Chunk) else 0


def _read(
    zipped: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], present: list[Expected]
) -> Iterator[_Chunk | _End]:
    for expected in present:
        error = None
        try:
            with zipped.open(members[expected.name]) as member:
                while data := member.read(CHUNK):
                    yield _Chunk(data)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
            error = f"damaged ({_words(exc)})"
        yield _End(expected, error)


def _compare(expected: Expected, size: int, digest: str) -> str | None:
    if size != expected.size:
        return f"damaged (holds {size} bytes, the source had {expected.size})"
    if digest != expected.sha256:
        return "damaged (SHA-256 differs from the source's)"
    return None


def _manifest(zipped: zipfile.ZipFile, archive: Path) -> list[Expected]:
    """The manifest inside; when that one is lost or damaged, the copy beside the archive."""
    try:
        return manifest.parse(zipped.read(manifest.NAME), f"{archive}:{manifest.NAME}")
    except (KeyError, zipfile.BadZipFile, OSError, ArchiveUnreadable) as inside:
        beside = manifest_beside(archive)
        try:
            data = beside.read_bytes()
        except OSError:
            raise ArchiveUnreadable(
                f"{archive}: its {manifest.NAME} cannot be read ({_words(inside)}) "
                f"and there is no {beside.name} beside it"
            ) from None
        return manifest.parse(data, str(beside))


def manifest_beside(archive: Path) -> Path:
    return archive.with_name(archive.stem + ".manifest.json")


def _words(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "not in the archive"
    return str(exc) or type(exc).__name__
