"""Checks of command-line values, made before any work starts (also with --offline), so that a
mistake is one clear line and exit code 2 rather than a traceback or a wrong report.

Each check takes one value and returns it in the form the run needs, or raises UsageError with
a sentence that names the option. They touch no network: a --dns-server must be an address,
since resolving its name would ask the very resolver the option is there to avoid.
"""

from __future__ import annotations

import itertools
import os
import ssl
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import typer.core

from mailaudit.errors import UsageError
from mailaudit.machine import MachineFiles

# Where a machine keeps its users' homes (machine.MachineFiles.users reads the same folders).
USER_FOLDERS = ("Users", "home", "Documents and Settings")
# What a user's home holds on Windows, macOS and Linux; two of them make a folder look like one.
HOME_MARKERS = (
    "NTUSER.DAT",
    "AppData",
    "Library",
    "Desktop",
    "Documents",
    "Downloads",
    ".thunderbird",
    ".bashrc",
    ".profile",
    ".config",
)
# Profile folders Windows and macOS create in every Users folder.
USERS_FOLDER_MARKERS = ("Public", "Default", "All Users", "Default User", "Shared")
# Under a live user's home: where mail clients keep their data (AppData on Windows, Library on
# macOS, dot-folders and snap on Linux) and Outlook's data files. A report is never written there.
CLIENT_DATA_FOLDERS = ("AppData", "Library", "snap", "Documents/Outlook Files")

STDOUT = "-"


def machine_root(root: Path) -> Path:
    """A --root must be the top of a machine's disk: the folder that holds Users/ or home/.

    A --root one level too deep is the likeliest mistake on a workbench, and would otherwise end
    in "no mail accounts found", a clean bill of health for a machine nobody looked at.
    """
    try:
        names = sorted(entry.name for entry in os.scandir(root))
    except OSError as exc:
        raise UsageError(f"--root {root}: cannot be listed ({exc.strerror or exc})") from None
    if not names:
        raise UsageError(f"--root {root}: the folder is empty (is the disk mounted there?)")
    if any(_is_folder(root / name) for name in USER_FOLDERS):
        return root
    raise UsageError(
        f"--root {root}: no Users, home or Documents and Settings folder in it, so it is not "
        f"the top of a machine's disk; {_level_hint(root, names)}"
    )


def _level_hint(root: Path, names: Sequence[str]) -> str:
    if root.parent.name in USER_FOLDERS or sum(name in HOME_MARKERS for name in names) >= 2:
        top = root.parent.parent if root.parent.name in USER_FOLDERS else None
        where = f"--root {top}" if top else "the folder that holds its Users or home folder"
        return f"it looks like a user's home: pass {where}"
    if root.name in USER_FOLDERS or any(name in USERS_FOLDER_MARKERS for name in names):
        return f"it looks like a folder of users' homes: pass --root {root.parent}"
    return "pass the folder where the disk is mounted, the one that holds Users or home"


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def evidence(root: Path | None) -> list[Path]:
    """What a report must not be written into: the --root, or on the live machine the mail
    clients' folders of every user this run can see."""
    if root is not None:
        return [root]
    return client_data_folders(user.home for user in MachineFiles(None).users())


def client_data_folders(homes: Iterable[Path]) -> list[Path]:
    """The folders of a live machine a report must not be written into: the mail clients' own."""
    found = []
    for home in homes:
        found += [home / relative for relative in CLIENT_DATA_FOLDERS]
        try:
            found += [Path(e.path) for e in os.scandir(home) if e.name.startswith(".")]
        except OSError:
            continue
    return found


def output_file(value: Path | None, *, force: bool, root: Path | None) -> Path | None:
    """Where to write one report (one -o): None for standard output (no -o, or `-o -`).

    The folder must exist and take files; a file already there is kept unless --force; and
    nothing is written under --root or into a mail client's folder: the machine being audited
    is evidence, and a report written over a client's prefs.js would destroy what it describes.
    """
    if value is None or str(value) == STDOUT:
        return None
    folder = value.parent
    if not folder.is_dir():
        raise UsageError(f"--output {value}: the folder {folder} does not exist")
    real = Path(os.path.realpath(value))  # through links, also a file that links into --root
    for protected in evidence(root):
        if _is_within(real, Path(os.path.realpath(protected))):
            raise UsageError(
                f"--output {value}: it is inside {protected}, on the machine being audited; "
                "write the report somewhere else"
            )
    try:
        info = value.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"--output {value}: {exc.strerror or exc}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"--output {value}: is a folder; name a file")
    if info is not None and stat.S_ISREG(info.st_mode) and not force:
        raise UsageError(f"--output {value}: the file exists; add --force to replace it")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--output {value}: the folder {folder} cannot be written to")
    return value


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def ca_file(path: Path | None) -> Path | None:
    """A --ca-file (or a policy's ca_file) must load as PEM certificates, checked before any
    probe, so that a wrong file is named once instead of failing every probe."""
    if path is None:
        return None
    try:
        # A bare context: the system's own certificates (20 ms to load) are not in question.
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except ssl.SSLError:
        raise UsageError(f"--ca-file {path}: holds no PEM certificate") from None
    except OSError as exc:
        raise UsageError(f"--ca-file {path}: cannot be read ({exc.strerror or exc})") from None
    return path


def redact_options(redact: bool, domains: bool) -> None:
    if domains and not redact:
        raise UsageError("--redact-domains is used with --redact")


def has_terminal() -> bool:
    """Whether passwords can be asked for (stdin may even be missing, as under pythonw)."""
    return sys.stdin is not None and sys.stdin.isatty()


def login_source(login: bool, password_env: str | None, *, interactive: bool) -> None:
    """--login asks for passwords at the terminal unless --password-env names where they are."""
    if not login:
        if password_env is not None:
            raise UsageError("--password-env is only used with --login")
        return
    if password_env is not None:
        if not os.environ.get(password_env):
            raise UsageError(f"--password-env {password_env}: the variable is not set")
        return
    if not interactive:
        raise UsageError(
            "--login asks for passwords at a terminal and there is none: "
            "give --password-env VAR, or run it in a terminal"
        )


def swallowed_option(command: object, args: Sequence[str]) -> None:
    """Refuse an option value that is another option: in `--dns-server --format json` the parser
    would take `--format` as the server and `json` as a stray argument.

    `command` is Typer's command tree (typer.main.get_command): its classes are named through
    typer.core, since Typer either uses click or carries its own copy of it.
    """
    while isinstance(command, typer.core.TyperGroup):
        names = [a for a in args if not a.startswith("-")]
        sub = command.commands.get(names[0]) if names else None
        if sub is None:
            return
        args = args[list(args).index(names[0]) + 1 :]
        command = sub
    if not isinstance(command, typer.core.TyperCommand):
        return
    taking_value: set[str] = set()
    known: set[str] = {"--help"}
    for param in command.params:
        if isinstance(param, typer.core.TyperOption):
            known.update(param.opts, param.secondary_opts)
            if not param.is_flag and not param.count:
                taking_value.update(param.opts)
    for option, value in itertools.pairwise(args):
        if option == "--":
            return
        if option in taking_value and (value in known or value.startswith("--")):
            named = f"the option {value}" if value in known else "an option"
            raise UsageError(f"{option} needs a value, but is followed by {named}")
