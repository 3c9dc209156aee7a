"""The machine being audited: its users, and read-only access to its files.

Every file a source reads goes through `MachineFiles`, which keeps three promises in one place:
nothing is opened for writing, nothing outside `--root` is read (a symlink or a config path
pointing out of a disk image is refused), and no read is unbounded.
"""

from __future__ import annotations

import errno
import getpass
import os
import platform
import re
import socket
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from mailaudit.errors import UnreadableFile
from mailaudit.units import human_bytes

# Profile folders that belong to no person (Windows, macOS). Compared case-insensitively.
NOT_USERS = {
    "all users",
    "default",
    "default user",
    "defaultapppool",
    "public",
    "shared",
    ".localized",
    "desktop.ini",
    "lost+found",
    "localservice",
    "networkservice",
}

_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass(frozen=True)
class UserHome:
    name: str  # the OS user name (the folder name under Users/ or home/)
    home: Path


@dataclass(frozen=True)
class MachineFiles:
    """Read-only, bounded access to a machine's files, live (`root` None) or under a --root."""

    root: Path | None

    def users(self) -> list[UserHome]:
        """Every person's home on the machine, sorted by name."""
        if self.root is None:
            return _live_users()
        found: dict[Path, UserHome] = {}
        for parent in ("Users", "Documents and Settings", "home"):  # the middle one: Windows XP
            for home in _subfolders(self.root / parent):
                if home.name.lower() not in NOT_USERS and not home.name.startswith("."):
                    found.setdefault(home, UserHome(home.name, home))
        if (self.root / "root").is_dir():
            found.setdefault(self.root / "root", UserHome("root", self.root / "root"))
        return sorted(found.values(), key=lambda u: (u.name.lower(), str(u.home)))

    def client_path(self, written: str, base: Path) -> Path:
        """Map a path as a client wrote it onto this machine.

        Under --root, `C:\\Users\\a\\...` and `/home/a/...` both land inside the root: the config
        was written on the original machine, whose disk is now mounted here. Another drive
        letter is another disk, not under the root: UnreadableFile. A relative path is taken
        against `base`.
        """
        if _WINDOWS_ABSOLUTE.match(written):
            if self.root is None:
                return Path(written)
            drive = written[:2].upper()
            if drive != "C:":
                raise UnreadableFile(written, f"is on drive {drive}, which is not the scanned disk")
            return self.root.joinpath(*PureWindowsPath(written).parts[1:])
        if written.startswith("/"):
            if self.root is None:
                return Path(written)
            return self.root.joinpath(*PurePosixPath(written).parts[1:])
        relative = PurePosixPath(written.replace("\\", "/"))
        return base.joinpath(*relative.parts)

    def display(self, path: Path) -> str:
        """A path as it reads on the audited machine: under --root, from the root's '/'."""
        if self.root is None:
            return str(path)
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return str(path)
        return "/" + relative.as_posix().removeprefix(".")

    def check_inside(self, path: Path) -> Path:
        """The real path of `path`, refused when it leaves the root (through '..' or a symlink)."""
        if self.root is not None:
            lexical = os.path.normpath(Path(path).absolute())
            if not _is_within(lexical, os.path.normpath(self.root.absolute())):
                raise UnreadableFile(str(path), f"points outside the scanned root (to {lexical})")
        try:
            real = os.path.realpath(path, strict=True)
        except FileNotFoundError:
            raise UnreadableFile(str(path), "does not exist") from None
        except (OSError, RuntimeError) as exc:
            raise UnreadableFile(str(path), _reason(exc)) from None
        if self.root is not None and not _is_within(real, os.path.realpath(self.root)):
            raise UnreadableFile(str(path), f"points outside the scanned root (to {real})")
        return Path(real)

    def read_bytes(self, path: Path, limit: int) -> bytes:
        """The whole file, or UnreadableFile when it is missing, unreadable or over `limit`."""
        real = self.check_inside(path)
        try:
            fd = open_read_only(real)
        except OSError as exc:
            raise UnreadableFile(str(path), _reason(exc)) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise UnreadableFile(str(path), "is not a regular file")
            if info.st_size > limit:
                size, most = human_bytes(info.st_size), human_bytes(limit)
                raise UnreadableFile(str(path), f"is {size}, over the {most} limit")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(limit + 1)  # the file may grow while we read it
        except OSError as exc:
            raise UnreadableFile(str(path), _reason(exc)) from None
        finally:
            os.close(fd)
        if len(data) > limit:
            raise UnreadableFile(str(path), f"is over the {human_bytes(limit)} limit")
        return data

    def mail_bytes(self, folder: Path, ignore: IgnoreRule) -> int:
        """Bytes of the mail files under `folder`; no symlink followed, unreadable parts omitted."""
        total = 0
        for entry in _walk(folder):
            if not ignore(entry.name):
                try:
                    total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
        return total


class IgnoreRule:
    """Which file names in a mail folder are not mail (indexes, filters, logs)."""

    def __init__(self, suffixes: tuple[str, ...], names: frozenset[str]) -> None:
        self.suffixes = suffixes
        self.names = names

    def __call__(self, name: str) -> bool:
        lower = name.lower()
        return (
            lower.startswith((".", "#"))
            or lower.endswith("~")
            or lower.endswith(self.suffixes)
            or lower in self.names
        )


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(folder: Path) -> Iterator[os.DirEntry[str]]:
    """Regular files under `folder`; symlinks are neither followed nor counted."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        yield entry
        except OSError:
            continue


def _subfolders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def open_read_only(path: Path) -> int:
    """Open for reading; on Linux without touching the access time when we are allowed to."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return os.open(path, flags | noatime)
        except PermissionError:
            pass  # O_NOATIME needs ownership or CAP_FOWNER; fall back to a plain read
    return os.open(path, flags)


def _live_users() -> list[UserHome]:
    """The current user; and, with administrator rights, every readable home."""
    me = UserHome(getpass.getuser(), Path.home())
    if not _is_admin():
        return [me]
    anchor = Path(Path.home().anchor)
    homes = {me.home: me}
    for user in MachineFiles(anchor).users():
        if os.access(user.home, os.R_OK | os.X_OK):
            homes.setdefault(user.home, user)
    return sorted(homes.values(), key=lambda u: (u.name.lower(), str(u.home)))


def _is_admin() -> bool:
    if sys.platform == "win32":
        import ctypes

        try:
            return bool(ctypes.windll.shell32.IsUserAnAdmin())
        except (AttributeError, OSError):
            return False
    else:
        return os.geteuid() == 0


def describe_machine(files: MachineFiles) -> tuple[str, str]:
    """(hostname, os) of the live machine, or as far as the files under the root tell."""
    root = files.root
    if root is None:
        return socket.gethostname(), platform.platform()
    hostname = _first_line(files, root / "etc" / "hostname") or root.resolve().name
    systems = []
    if (root / "Windows" / "System32").is_dir():
        systems.append("Windows")
    if (root / "System" / "Library" / "CoreServices").is_dir():
        systems.append("macOS")
    os_release = _os_release_name(files, root / "etc" / "os-release")
    if os_release:
        systems.append(os_release)
    return hostname, " + ".join(systems) or "unknown"


def _first_line(files: MachineFiles, path: Path) -> str | None:
    try:
        data = files.read_bytes(path, 4096)
    except UnreadableFile:
        return None
    line = data.decode("utf-8", "replace").strip().splitlines()
    return line[0].strip() if line else None


def _os_release_name(files: MachineFiles, path: Path) -> str | None:
    try:
        data = files.read_bytes(path, 65536)
    except UnreadableFile:
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "Linux" if data else None


def _reason(exc: BaseException) -> str:
    """The end of a sentence that starts with the file's name."""
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "is a symbolic link loop"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied)"
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot be read ({exc.strerror.lower()})"
    return f"cannot be read ({exc})"
