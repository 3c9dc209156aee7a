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

# The reasons MachineFiles gives that callers tell apart.
ABSENT = "does not exist"
NOT_A_FOLDER = "is not a folder"
DENIED = "cannot be read (permission denied)"

COPY_PIECE = 1024 * 1024

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
        return self.users_and_notes()[0]

    def users_and_notes(self) -> tuple[list[UserHome], list[UnreadableFile]]:
        """Every person's home, and each user folder that exists but cannot be listed (an
        unlistable `Users/` would otherwise drop every user without a word)."""
        if self.root is None:
            return _live_users(), []
        found: dict[Path, UserHome] = {}
        notes: list[UnreadableFile] = []
        for parent in ("Users", "Documents and Settings", "home"):  # the middle one: Windows XP
            try:
                homes = [p for p in self.children(self.root / parent) if self.is_folder(p)]
            except UnreadableFile as exc:
                if exc.reason != ABSENT:
                    notes.append(exc)
                continue
            for home in homes:
                if home.name.lower() not in NOT_USERS and not home.name.startswith("."):
                    found.setdefault(home, UserHome(visible(home.name), home))
        if self.is_folder(self.root / "root"):
            found.setdefault(self.root / "root", UserHome("root", self.root / "root"))
        return sorted(found.values(), key=lambda u: (u.name.lower(), str(u.home))), notes

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
            return visible(str(path))
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return visible(str(path))
        return visible("/" + relative.as_posix().removeprefix("."))

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

    def copy_file(self, path: Path, destination: Path, limit: int) -> None:
        """Stream a file into a private `destination` (a reader that wants a path of its own:
        SQLite, regipy) in pieces, so that the file is never held in memory twice. Raises
        UnreadableFile as read_bytes does."""
        real = self.check_inside(path)
        try:
            fd = open_read_only(real)
        except OSError as exc:
            raise UnreadableFile(str(path), _reason(exc)) from None
        try:
            size = os.fstat(fd).st_size
            if size > limit:
                raise UnreadableFile(
                    str(path), f"is {human_bytes(size)}, over the {human_bytes(limit)} limit"
                )
            copied = 0
            with os.fdopen(fd, "rb", closefd=False) as source, destination.open("xb") as out:
                while piece := source.read(COPY_PIECE):
                    copied += len(piece)
                    if copied > limit:  # the file grew while we read it
                        raise UnreadableFile(str(path), f"is over the {human_bytes(limit)} limit")
                    out.write(piece)
        except OSError as exc:
            raise UnreadableFile(str(path), _reason(exc)) from None
        finally:
            os.close(fd)

    def is_folder(self, path: Path) -> bool:
        """True for a folder inside the root; never raises (absent, unreadable, outside: False)."""
        try:
            return self.find_folder(path) is not None
        except UnreadableFile:
            return False

    def find_folder(self, path: Path) -> Path | None:
        """`path` when it is a folder inside the root, None when it is absent or not a folder.

        Raises UnreadableFile when it may exist but cannot be reached: a parent that may not be
        searched (a 0700 home or Library without root), a link out of the root, a loop. The
        error names the folder that blocks the way, so that one note covers every path below it.
        """
        try:
            Path(path).lstat()  # cheap first: most of the places looked at do not exist
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            pass  # permission, loop, name too long: check_inside says which
        try:
            real = self.check_inside(path)
        except UnreadableFile as exc:
            if exc.reason in (ABSENT, NOT_A_FOLDER):
                return None
            if exc.reason == DENIED:
                blocker = _blocking_folder(path)
                raise UnreadableFile(str(blocker), exc.reason) from None
            raise
        return path if stat.S_ISDIR(real.stat().st_mode) else None

    def children(self, folder: Path) -> list[Path]:
        """The entries of a folder inside the root, sorted, listed without moving its access
        time. Raises UnreadableFile (reason ABSENT when it does not exist)."""
        real = self.check_inside(folder)
        try:
            names = sorted(name for name, _ in _entries(Path(real)))
        except OSError as exc:
            raise UnreadableFile(str(folder), _reason(exc)) from None
        return [folder / name for name in names]

    def find_file(self, path: Path) -> Path | None:
        """`path` when something other than a folder is there, None when nothing (or a folder)
        is. A FIFO, a device or a link counts as something: reading it then fails with a reason
        instead of being passed over in silence. Raises UnreadableFile, as find_folder does,
        when the way to it is blocked (a parent that may not be searched, a link loop)."""
        try:
            info = Path(path).lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except PermissionError:
            raise UnreadableFile(str(_blocking_folder(path)), DENIED) from None
        except OSError as exc:
            raise UnreadableFile(str(path), _reason(exc)) from None
        return None if stat.S_ISDIR(info.st_mode) else path

    def entries(self, folder: Path) -> list[tuple[Path, bool]]:
        """children(), each with whether it is a folder. A link is never taken for a folder:
        what lies behind it is not listed. Raises UnreadableFile as children() does."""
        real = self.check_inside(folder)
        try:
            found = sorted(
                (name, entry.is_dir(follow_symlinks=False)) for name, entry in _entries(Path(real))
            )
        except OSError as exc:
            raise UnreadableFile(str(folder), _reason(exc)) from None
        return [(folder / name, is_folder) for name, is_folder in found]

    def mail_bytes(self, folder: Path, ignore: IgnoreRule) -> int:
        """Bytes of the mail files under `folder` (see `measure_mail`)."""
        return self.measure_mail(folder, ignore).bytes

    def measure_mail(self, folder: Path, ignore: IgnoreRule) -> MailSize:
        """Bytes of the mail files under `folder`; no symlink followed, no access time moved.
        What could not be read is counted, never taken as empty. Raises UnreadableFile when
        `folder` itself cannot be listed."""
        top = Path(self.check_inside(folder))
        total, unreadable, too_deep = 0, 0, 0
        pending = [top]
        while pending:
            current = pending.pop()
            try:
                for name, entry in _entries(current):
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(current / name)
                    elif entry.is_file(follow_symlinks=False) and not ignore(name):
                        total += entry.stat(follow_symlinks=False).st_size
            except OSError as exc:
                if current == top:
                    raise UnreadableFile(str(folder), _reason(exc)) from None
                if exc.errno == errno.ENAMETOOLONG:
                    too_deep += 1
                else:
                    unreadable += 1
        return MailSize(total, unreadable, too_deep)


@dataclass(frozen=True)
class MailSize:
    bytes: int
    unreadable_folders: int = 0  # permission denied, vanished while listed
    too_deep_folders: int = 0  # nested beyond what a path can name (PATH_MAX)

    @property
    def note(self) -> str | None:
        """What the byte count leaves out, in words; None when nothing."""
        parts = []
        if self.unreadable_folders:
            parts.append(
                f"{self.unreadable_folders} folder(s) could not be read (run as administrator)"
            )
        if self.too_deep_folders:
            parts.append(f"{self.too_deep_folders} folder(s) nested too deep to read")
        if not parts:
            return None
        return "; ".join(parts) + ": the size is a lower bound"


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


_DIRECTORY_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _entries(folder: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(name, entry) of each entry of a folder. Where the platform allows, the folder is opened
    with O_NOATIME and O_NOFOLLOW and listed through its descriptor: listing leaves its access
    time as it was (evidence on a client's disk), and a folder swapped for a link is refused."""
    if os.scandir not in os.supports_fd:  # Windows: no descriptor listing
        with os.scandir(folder) as listing:
            for entry in listing:
                yield entry.name, entry
        return
    fd = _open_noatime(folder, _DIRECTORY_FLAGS)
    try:
        with os.scandir(fd) as listing:
            for entry in listing:
                yield entry.name, entry
    finally:
        os.close(fd)


def _open_noatime(path: Path, flags: int) -> int:
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return os.open(path, flags | noatime)
        except PermissionError:
            pass  # O_NOATIME needs ownership or CAP_FOWNER; fall back to a plain read
    return os.open(path, flags)


def _blocking_folder(path: Path) -> Path:
    """The deepest existing ancestor of `path` that may not be searched (or `path` itself)."""
    for step in [*reversed(path.parents), path]:
        try:
            os.lstat(step)
        except PermissionError:
            return step.parent
        except OSError:
            break
    return path


class NotARegularFile(OSError):
    """A FIFO, a device, a socket, a folder or a symbolic link where a file was expected."""

    def __init__(self, path: Path, mode: int) -> None:
        super().__init__(errno.EINVAL, f"is {_file_kind(mode)}, not a regular file", str(path))
        self.kind = _file_kind(mode)


def open_read_only(path: Path) -> int:
    """A descriptor for reading a regular file, opened so that nothing about it changes and
    nothing can hang: O_NOFOLLOW (a final symlink is refused, not followed), O_NONBLOCK (a FIFO
    cannot block the open), O_NOATIME on Linux when allowed (the access time stays as it was).
    The file is checked with lstat before the open and fstat after it; anything but a regular
    file (FIFO, device, socket, folder, link) raises NotARegularFile, so a device is never even
    opened. Raises OSError."""
    before = os.lstat(path)
    if not stat.S_ISREG(before.st_mode):
        raise NotARegularFile(path, before.st_mode)
    flags = (
        os.O_RDONLY
        | getattr(os, "O_BINARY", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    fd = _open_noatime(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(path, info.st_mode)
        if (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino):
            raise NotARegularFile(path, stat.S_IFLNK)  # swapped between the two looks
    except BaseException:
        os.close(fd)
        raise
    return fd


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def visible(text: str) -> str:
    """A name read from the disk with the bytes that were not UTF-8 (Python keeps them as lone
    surrogates) shown as \\xNN: JSON and terminals get valid text, and the reader sees the bytes."""
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    return "".join(
        f"\\x{ord(char) - 0xDC00:02x}"
        if "\udc80" <= char <= "\udcff"
        else ("\ufffd" if "\ud800" <= char <= "\udfff" else char)
        for char in text
    )


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
    hostname = _first_line(files, root / "etc" / "hostname") or visible(root.resolve().name)
    systems = []
    if files.is_folder(root / "Windows" / "System32"):
        systems.append("Windows")
    if files.is_folder(root / "System" / "Library" / "CoreServices"):
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
    return line[0].strip()[:255] or None if line else None


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
    if isinstance(exc, NotARegularFile):
        return f"{exc.strerror}"
    if isinstance(exc, NotADirectoryError):
        return NOT_A_FOLDER
    if getattr(exc, "errno", None) == errno.ENAMETOOLONG:
        return "is nested too deep to read (its path is too long)"
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "is a symbolic link loop"
    if isinstance(exc, PermissionError):
        return DENIED
    if isinstance(exc, FileNotFoundError):
        return ABSENT
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot be read ({exc.strerror.lower()})"
    return f"cannot be read ({exc})"
