"""Exit codes, and the one place where whatever ends a run becomes one line on stderr.

    0   done, nothing reached --fail-on
    1   a finding at or above --fail-on
    2   bad usage, or unreadable input named on the command line (also an unwritable report)
    3   an internal error: mailaudit's own bug (one line and where to report it; the traceback
        only with --debug)
    4   backup: the archive read back differs from its source, or --verify found it damaged
    130 interrupted (Ctrl-C)

`backup` uses 1 for an archive that is verified but lacks some store files (named, with why).

Typer's own error panels (boxed, several lines) are replaced by the tool's one-line style, so a
script reading stderr sees the same shape whatever went wrong.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TextIO

import typer
import typer.core
import typer.main

from mailaudit import arguments
from mailaudit.errors import MailauditError, UsageError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_DAMAGED = 4
EXIT_INCOMPLETE = 1  # backup's word for 1: the copy is whole, but not everything was copied
EXIT_INTERRUPTED = 130

PROGRAM = "mailaudit"
ISSUES_FALLBACK = "the project's issue tracker"
# Typer either uses click or carries its own copy of it; its BadParameter derives from the
# ClickException of whichever it is, which is how the parser's errors are told apart here.
_PARSER_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


class OutputError(MailauditError):
    """The report could not be written (standard output full or closed, a disk full)."""


def run(app: typer.Typer, args: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code; nothing it raises gets past here."""
    args = list(sys.argv[1:] if args is None else args)
    debug = "--debug" in args[: _first_word(args)]
    command = typer.main.get_command(app)
    try:
        arguments.swallowed_option(command, args)
        code = command.main(args, prog_name=PROGRAM, standalone_mode=False)
        flush_stdout()  # a full stdout shows here, not in the interpreter's last flush
    except UsageError as exc:
        return _say(str(exc), EXIT_USAGE)
    except OutputError as exc:
        _silence_stdout()
        return _say(str(exc), EXIT_USAGE)
    except _PARSER_ERROR as exc:
        return _parser_error(exc, command, args)
    except (KeyboardInterrupt, typer.Abort):
        return _say("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # the one boundary: any other exception is our bug
        return _internal(exc, debug)
    if code == EXIT_INTERRUPTED:  # Typer turns Ctrl-C into a silent Exit(130)
        _say("interrupted", EXIT_INTERRUPTED)
    return code if isinstance(code, int) else EXIT_OK


def _first_word(args: Sequence[str]) -> int:
    """Where the command's name is: --debug is an option of mailaudit itself, before it."""
    return next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))


def _say(message: str, code: int, stream: TextIO | None = None) -> int:
    one_line = " ".join(message.split())
    print(f"{PROGRAM}: {one_line}", file=stream or sys.stderr)
    return code


def _parser_error(exc: Exception, command: object, args: Sequence[str]) -> int:
    if type(exc).__name__ == "NoArgsIsHelpError":  # `mailaudit` alone, `mailaudit probe` alone
        context = getattr(exc, "ctx", None)
        if context is not None:
            text = context.get_help()  # with rich installed, Typer prints it itself
            if text:
                print(text)
            return EXIT_USAGE
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    # The parser may blame the main command for a subcommand's option: name the subcommand.
    commands = getattr(command, "commands", {})
    named = next((a for a in args if not a.startswith("-")), None)
    where = f"{PROGRAM} {named}" if named in commands else PROGRAM
    hint = f" (see {where} --help)" if hasattr(exc, "ctx") else ""
    return _say(f"{message}{hint}", EXIT_USAGE)


def _internal(exc: BaseException, debug: bool) -> int:
    """One line: the kind of error and where in mailaudit, never its message, which could quote
    a value read from the machine (a password in a damaged file)."""
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}mailaudit{os.sep}" in f.filename]
    place = ""
    if ours:
        frame = ours[-1]
        place = f" in {Path(frame.filename).name}:{frame.lineno}"
    more = "" if debug else "; run it again with `mailaudit --debug ...` for the details"
    return _say(
        f"internal error ({type(exc).__name__}{place}): this is a bug in mailaudit, please "
        f"report it at {_issues_url()} with the command you ran{more}",
        EXIT_INTERNAL,
    )


def _issues_url() -> str:
    try:
        urls = metadata.metadata("mailaudit").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return ISSUES_FALLBACK
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "issues":
            return str(url).strip()
    return ISSUES_FALLBACK


def write_stdout(text: str) -> None:
    """Write a report to standard output; a full or closed one is an OutputError."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        raise _stdout_error(exc) from None


def flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except OSError as exc:
        raise _stdout_error(exc) from None


def _stdout_error(exc: OSError) -> OutputError:
    reason = "it was closed" if isinstance(exc, BrokenPipeError) else exc.strerror or str(exc)
    return OutputError(f"cannot write to standard output ({reason.lower()})")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still buffered
    cannot fail a second time with a traceback."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass
