"""The command line. Parses options, runs the audit, picks the renderer and the exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mailaudit import __version__
from mailaudit.audit import AuditOptions, run_audit
from mailaudit.errors import UsageError
from mailaudit.report import Format, render

app = typer.Typer(
    help="Audit the mail accounts of a PC: which clients, POP or IMAP, where the mail lives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK = 0
EXIT_FINDINGS = 1  # a finding at or above --fail-on
EXIT_USAGE = 2  # bad usage, or unreadable input named on the command line


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mailaudit {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Audit the mail accounts of a PC: which clients, POP or IMAP, where the mail lives."""


@app.command()
def scan(
    root: Annotated[
        Path | None,
        typer.Option(
            "--root",
            help="Audit the machine whose file system is mounted at DIR (a disk image or a copy) "
            "instead of this one.",
            metavar="DIR",
            exists=True,
            file_okay=False,
            dir_okay=True,
            readable=True,
            resolve_path=True,
        ),
    ] = None,
    reg_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--reg-file",
            help="Read Outlook accounts from a regedit export of HKEY_CURRENT_USER (repeatable). "
            "The file's name is taken as the user's (export as anna.reg). Without --root, "
            "only the exports are read.",
            metavar="FILE",
            exists=True,
            file_okay=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Send nothing over the network: no probes, no DNS.")
    ] = False,
    fmt: Annotated[
        Format, typer.Option("--format", help="Report format.", case_sensitive=False)
    ] = Format.TABLE,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the report to FILE instead of standard output.",
            metavar="FILE",
            dir_okay=False,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress messages on standard error.")
    ] = False,
) -> None:
    """List every mail account of every user, classified POP3 or IMAP, with where its mail lives.

    Read-only: nothing on the audited machine is changed, and passwords are never read.
    """
    progress = None if quiet else _progress
    options = AuditOptions(root=root, offline=offline, reg_files=tuple(reg_files or ()))
    try:
        report = run_audit(options, progress)
    except UsageError as exc:
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    text = render(report, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            typer.echo(f"mailaudit: cannot write {output}: {exc.strerror or exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
    if not quiet and (output is not None or fmt is not Format.TABLE):  # the table ends with it
        summary = report.summary
        typer.echo(
            f"{summary.accounts} account(s) ({summary.pop3} POP3, {summary.imap} IMAP, "
            f"{summary.exchange} Exchange, {summary.other} other), "
            f"{len(report.skipped)} skipped" + (f"; report written to {output}" if output else ""),
            err=True,
        )
    raise typer.Exit(EXIT_OK)


def _progress(message: str) -> None:
    typer.echo(f"  {message}", err=True)


def main() -> None:
    app()
