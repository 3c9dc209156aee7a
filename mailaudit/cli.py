"""The command line. Parses options, runs the audit, picks the renderer and the exit code.

Each command imports what it runs when it runs: `migrate` or `backup` start without the
audit, the probes and the renderers (a third of a second and tens of megabytes otherwise).
"""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from mailaudit import __version__, arguments, exits
from mailaudit.errors import ArchiveUnreadable, ReportFileError, UsageError
from mailaudit.migrate.outcome import Verify
from mailaudit.model import Account, MachineReport, Severity
from mailaudit.report import FleetFormat, Format, RenderOptions, ResultsFormat, format_of, render
from mailaudit.report.catalog import Language
from mailaudit.report.words import one_line

if TYPE_CHECKING:
    from mailaudit.audit import PasswordFor
    from mailaudit.backup import Progress
    from mailaudit.policy import Settings
    from mailaudit.probe.runner import ProbeOptions

app = typer.Typer(
    help="Audit the mail accounts of a PC: which clients, POP or IMAP, where the mail lives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK = exits.EXIT_OK
EXIT_FINDINGS = exits.EXIT_FINDINGS  # a finding at or above --fail-on
EXIT_USAGE = exits.EXIT_USAGE  # bad usage, or unreadable input named on the command line
EXIT_INTERNAL = exits.EXIT_INTERNAL  # mailaudit's own bug
EXIT_INTERRUPTED = exits.EXIT_INTERRUPTED
EXIT_INCOMPLETE = exits.EXIT_INCOMPLETE  # backup: not every store file is in the archive;
# migrate: not every message that should be on the server is there yet
EXIT_DAMAGED = exits.EXIT_DAMAGED  # backup: the archive differs from its source or manifest


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
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="On an internal error, print the traceback (give it before the command).",
        ),
    ] = False,
) -> None:
    """Audit the mail accounts of a PC: which clients, POP or IMAP, where the mail lives."""


def _root_option(help_text: str) -> Any:
    """--root, checked alike for every command that reads a mounted machine."""
    return typer.Option(
        "--root",
        help=help_text,
        metavar="DIR",
        exists=True,
        file_okay=False,
        dir_okay=True,
        readable=True,
        resolve_path=True,
    )


# Options scan and probe share.
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        metavar="SECONDS",
        help="Time limit for each network step (connect, TLS handshake, each line); "
        "each probe as a whole gets three times as long. Default 10.",
    ),
]
Concurrency = Annotated[
    int | None,
    typer.Option("--concurrency", min=1, metavar="N", help="Probes running at once. Default 32."),
]
DnsServer = Annotated[
    str | None,
    typer.Option(
        "--dns-server",
        metavar="IP[:PORT]",
        help="Resolve every name through the DNS server at this address instead of the system's.",
    ),
]
CaFile = Annotated[
    Path | None,
    typer.Option(
        "--ca-file",
        metavar="PEM",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Extra trusted certificates (a PEM file) for checking servers.",
    ),
]
Login = Annotated[
    bool,
    typer.Option(
        "--login",
        help="Log in to POP3 servers over verified TLS and count the mail "
        "left there. Asks for each password (or see --password-env).",
    ),
]
PasswordEnv = Annotated[
    str | None,
    typer.Option(
        "--password-env",
        metavar="VAR",
        help="With --login: take the password from this environment variable.",
    ),
]
InsecureLogin = Annotated[
    bool,
    typer.Option(
        "--insecure-login",
        help="With --login: log in even where the certificate "
        "failed verification. Never over plaintext.",
    ),
]
ResultsFormatOption = Annotated[
    ResultsFormat, typer.Option("--format", help="Report format.", case_sensitive=False)
]
Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        dir_okay=False,
        help="Write the report to FILE instead of standard output (- is standard output). "
        "An existing file is kept unless --force.",
    ),
]
ReportFormat = Annotated[
    Format | None,
    typer.Option(
        "--format",
        help="Report format on standard output (default table). With --output, the file's "
        "extension tells the format, and --format must agree with it.",
        case_sensitive=False,
    ),
]
Outputs = Annotated[
    list[Path] | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        dir_okay=False,
        help="Write the report to FILE, in the format its extension names: .json, .html, .md, "
        ".csv, .txt (the table). Repeat it for several formats from one run.",
    ),
]
Lang = Annotated[
    Language | None,
    typer.Option(
        "--lang",
        case_sensitive=False,
        help="Language of the client document (html, markdown): en or de. "
        "Default: the locale's (LC_ALL, LC_MESSAGES, LANG), else en.",
    ),
]
PreparedBy = Annotated[
    str | None,
    typer.Option(
        "--prepared-by", metavar="NAME", help="Who prepared the report, for the client document."
    ),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress messages on standard error.")
]
Force = Annotated[bool, typer.Option("--force", help="Replace the --output file when it exists.")]


@app.command()
def scan(
    root: Annotated[
        Path | None,
        _root_option(
            "Audit the machine whose file system is mounted at DIR (a disk image or a copy) "
            "instead of this one."
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
    fmt: ReportFormat = None,
    outputs: Outputs = None,
    lang: Lang = None,
    prepared_by: PreparedBy = None,
    timeout: Timeout = None,
    concurrency: Concurrency = None,
    dns: DnsServer = None,
    ca_file: CaFile = None,
    login: Login = False,
    password_env: PasswordEnv = None,
    insecure_login: InsecureLogin = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Policy file (TOML): timeouts, DNS server, CA file, uplink speed, "
            "severities, ignored rules and accounts, provider overrides.",
        ),
    ] = None,
    fail_on: Annotated[
        Severity | None,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            case_sensitive=False,
            help="Exit with 1 when a finding is at least this severe "
            "(info, low, medium, high, critical).",
        ),
    ] = None,
    redact_report: Annotated[
        bool,
        typer.Option(
            "--redact",
            help="Replace addresses, user names (in every path too), login names, account "
            "names, the machine's name and the --root folder by tokens, to share the report.",
        ),
    ] = False,
    redact_domains: Annotated[
        bool,
        typer.Option("--redact-domains", help="With --redact: replace the mail domains too."),
    ] = False,
    quiet: Quiet = False,
    force: Force = False,
) -> None:
    """List every mail account of every user, classified POP3 or IMAP, with where its mail lives.

    Read-only: nothing on the audited machine is changed, and passwords are never read.
    """
    from mailaudit import policy
    from mailaudit.advise import at_least, highest
    from mailaudit.audit import AuditOptions, run_audit
    from mailaudit.redact import redact

    progress = None if quiet else _progress
    try:
        root = arguments.machine_root(root) if root else None
        destinations = _destinations(outputs, fmt, force=force, root=root)
        arguments.redact_options(redact_report, redact_domains)
        arguments.login_source(login, password_env, interactive=arguments.has_terminal())
        settings = policy.load(config) if config else policy.Settings()
        probe = _probe_options(
            timeout, concurrency, dns, ca_file, settings, insecure_login=insecure_login
        )
        password_for = _password_source(password_env) if login else None
        options = AuditOptions(
            root=root,
            offline=offline,
            reg_files=tuple(reg_files or ()),
            probe=probe,
            password_for=password_for,
            provider_overrides=settings.providers,
            policy=settings.policy,
            prepared_by=prepared_by,
        )
        report = run_audit(options, progress)
    except UsageError as exc:
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    worst = highest(report)
    shown = redact(report, domains=redact_domains) if redact_report else report
    _write_all(shown, destinations, lang)
    written = [str(path) for path, _ in destinations if path is not None]
    if not quiet and (written or fmt not in (None, Format.TABLE)):  # the table starts with it
        summary = report.summary
        typer.echo(
            f"{summary.accounts} account(s) ({summary.pop3} POP3, {summary.imap} IMAP, "
            f"{summary.exchange} Exchange, {summary.other} other), "
            f"{len(report.skipped)} skipped"
            + (f"; report written to {', '.join(written)}" if written else ""),
            err=True,
        )
    if fail_on is not None and worst is not None and at_least(worst, fail_on):
        if not quiet:
            typer.echo(
                f"mailaudit: a finding is {worst.value}, at or above --fail-on {fail_on.value}",
                err=True,
            )
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


@app.command("report")
def report_command(
    saved: Annotated[
        Path,
        typer.Argument(
            metavar="REPORT.json",
            help="A report saved by `mailaudit scan -o REPORT.json`.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    fmt: ReportFormat = None,
    outputs: Outputs = None,
    lang: Lang = None,
    prepared_by: PreparedBy = None,
    force: Force = False,
) -> None:
    """Render a saved JSON report again, in any format, without scanning: the same bytes the
    scan would have written."""
    from mailaudit.report import json_report

    try:
        destinations = _destinations(outputs, fmt, force=force, root=None)
        report = json_report.load(saved)
    except (UsageError, ReportFileError) as exc:
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if prepared_by is not None and report.run is not None:
        report = replace(report, run=replace(report.run, prepared_by=prepared_by))
    _write_all(report, destinations, lang)
    raise typer.Exit(EXIT_OK)


@app.command()
def probe(
    servers: Annotated[
        list[str],
        typer.Argument(
            metavar="HOST[:PORT]...",
            help="Servers to check. Without a port: 993, 143, 995 and 110.",
        ),
    ],
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol",
            metavar="auto|imap|pop3",
            help="Expect this protocol; auto tells it from the greeting.",
        ),
    ] = "auto",
    security: Annotated[
        str,
        typer.Option(
            "--security",
            metavar="auto|tls|starttls|none",
            help="tls: TLS from the first byte; starttls: upgrade a plain "
            "connection; none: do not upgrade; auto: by the port.",
        ),
    ] = "auto",
    fmt: ResultsFormatOption = ResultsFormat.TABLE,
    output: Output = None,
    timeout: Timeout = None,
    concurrency: Concurrency = None,
    dns: DnsServer = None,
    ca_file: CaFile = None,
    user: Annotated[
        str | None, typer.Option("--user", help="With --login: the POP3 user name.")
    ] = None,
    login: Login = False,
    password_env: PasswordEnv = None,
    insecure_login: InsecureLogin = False,
    quiet: Quiet = False,
    force: Force = False,
) -> None:
    """Check mail servers: IMAP or POP3, TLS or STARTTLS, the certificate, the capabilities."""
    from mailaudit import policy
    from mailaudit.probe.pop3 import Credentials
    from mailaudit.probe.runner import run_probes
    from mailaudit.probe.targets import probe_targets
    from mailaudit.report import probe_report

    try:
        output = arguments.output_file(output, force=force, root=None)
        arguments.login_source(login, password_env, interactive=arguments.has_terminal())
        targets = [t for server in servers for t in probe_targets(server, protocol, security)]
        credentials = {}
        if login:
            if not user:
                raise UsageError("--login needs --user")
            password = _password_source(password_env)(None)
            if password:
                credentials = {
                    t: Credentials(user, password) for t in targets if t.protocol in (None, "pop3")
                }
        options = _probe_options(
            timeout,
            concurrency,
            dns,
            ca_file,
            policy.Settings(),
            insecure_login=insecure_login,
            credentials=credentials,
        )
    except UsageError as exc:
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    results = run_probes(targets, options, None if quiet else _progress)
    _write(probe_report.render([results[t] for t in dict.fromkeys(targets)], fmt), output)
    raise typer.Exit(EXIT_OK)


@app.command()
def lookup(
    entries: Annotated[
        list[str],
        typer.Argument(metavar="DOMAIN-OR-ADDRESS...", help="Mail domains or addresses."),
    ],
    offline: Annotated[
        bool, typer.Option("--offline", help="Answer from provider data only: no DNS, no probes.")
    ] = False,
    fmt: ResultsFormatOption = ResultsFormat.TABLE,
    output: Output = None,
    timeout: Timeout = None,
    concurrency: Concurrency = None,
    dns: DnsServer = None,
    ca_file: CaFile = None,
    quiet: Quiet = False,
    force: Force = False,
) -> None:
    """Does this provider offer IMAP, and where? MX, SRV, autoconfig, provider data, probes."""
    from mailaudit import discover, policy
    from mailaudit.report import lookup_report

    try:
        output = arguments.output_file(output, force=force, root=None)
        options = _probe_options(timeout, concurrency, dns, ca_file, policy.Settings())
    except UsageError as exc:
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    found = discover.lookup(entries, options, offline, progress=None if quiet else _progress)
    _write(lookup_report.render(found, fmt), output)
    raise typer.Exit(EXIT_OK)


@app.command()
def fleet(
    reports: Annotated[
        list[Path],
        typer.Argument(
            metavar="REPORT.json|FOLDER...",
            help="JSON reports of `mailaudit scan --format json`, or folders of them.",
        ),
    ],
    fmt: Annotated[
        FleetFormat, typer.Option("--format", help="Report format.", case_sensitive=False)
    ] = FleetFormat.TABLE,
    output: Output = None,
    quiet: Quiet = False,
    force: Force = False,
) -> None:
    """Summarise many machines: POP3 accounts, mail held only on PCs, mailboxes split across PCs.

    Folders are searched for *.json reports, sub-folders too; reports are read one at a time.
    """
    from mailaudit.fleet import read_reports, summarize
    from mailaudit.report import fleet_report

    try:
        output = arguments.output_file(output, force=force, root=None)
    except UsageError as exc:
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    summary = summarize(read_reports(reports))
    for refusal in summary.refused:
        typer.echo(f"mailaudit: {refusal.path}: {refusal.reason}", err=True)
    for duplicate in summary.duplicates:
        typer.echo(
            f"mailaudit: {duplicate.path}: the same report as {duplicate.same_as}, counted once",
            err=True,
        )
    for warning in summary.warnings:
        typer.echo(f"mailaudit: {warning}", err=True)
    if not summary.machines:
        typer.echo("mailaudit: no report could be read", err=True)
        raise typer.Exit(EXIT_USAGE)
    _write_stream(lambda stream: fleet_report.write(summary, fmt.value, stream), output)
    if not quiet:
        typer.echo(
            f"{len(summary.machines)} report(s) read, {len(summary.refused)} refused"
            + (f", {len(summary.duplicates)} duplicate(s)" if summary.duplicates else ""),
            err=True,
        )
    raise typer.Exit(EXIT_OK)


@app.command()
def backup(
    root: Annotated[
        Path | None,
        _root_option("Back up the machine whose file system is mounted at DIR, not this one."),
    ] = None,
    reg_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--reg-file",
            help="Find Outlook data files through a regedit export of HKEY_CURRENT_USER "
            "(repeatable), as scan does.",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    dest: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help="Write the archive and its manifest into this folder (on another disk).",
            metavar="DEST",
            exists=True,
            file_okay=False,
            dir_okay=True,
        ),
    ] = None,
    accounts: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            help="Copy only this account's or local mailbox's store (its id in the scan's "
            "report; repeatable).",
            metavar="ID",
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Also copy IMAP and Exchange caches (OST files).")
    ] = False,
    archive: Annotated[
        Path | None,
        typer.Option(
            "--verify",
            help="Check an archive made earlier against the manifest inside it.",
            metavar="ARCHIVE",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    fmt: ResultsFormatOption = ResultsFormat.TABLE,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """Copy every local mail store into one verified ZIP archive, before anything changes.

    By default the stores of POP3 accounts and local-only mailboxes: the mail whose only copy
    is on this machine. Read-only on the source; passwords and key files are never copied.
    Exit codes: 0 copied and verified; 1 verified, but some files could not be copied (listed);
    2 bad usage or DEST refused; 3 the archive is damaged or missing members.
    """
    from mailaudit.backup import BackupOptions, Outcome, back_up, verify_archive
    from mailaudit.report import backup_report

    progress = None if quiet else _backup_progress()
    try:
        if (dest is None) == (archive is None):
            raise UsageError("give either --to DEST (make a backup) or --verify ARCHIVE")
        if archive is not None:
            checked = verify_archive(archive, progress)
            _end_progress(progress)
            _write(backup_report.render_verification(checked, fmt), output)
            if not quiet and (output is not None or fmt is not ResultsFormat.TABLE):
                typer.echo(backup_report.verification_line(checked), err=True)
            raise typer.Exit(EXIT_OK if checked.ok else EXIT_DAMAGED)
        assert dest is not None
        options = BackupOptions(
            dest=dest,
            root=root,
            reg_files=tuple(reg_files or ()),
            accounts=tuple(accounts or ()),
            everything=everything,
        )
        result = back_up(options, progress)
    except UsageError as exc:
        _end_progress(progress)
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except ArchiveUnreadable as exc:
        _end_progress(progress)
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_DAMAGED) from None
    _end_progress(progress)
    _write(backup_report.render(result, fmt), output)
    if not quiet and (output is not None or fmt is not ResultsFormat.TABLE):
        typer.echo(backup_report.summary_line(result), err=True)
    exit_code = {
        Outcome.COMPLETE: EXIT_OK,
        Outcome.INCOMPLETE: EXIT_INCOMPLETE,
        Outcome.DAMAGED: EXIT_DAMAGED,
    }
    raise typer.Exit(exit_code[result.outcome])


class _BackupProgress:
    """Bytes, rate and time left on stderr: redrawn in place on a terminal, a line each
    report otherwise (the backup calls at most once a second)."""

    def __init__(self) -> None:
        self.redraw = sys.stderr.isatty()
        self.drawn = False

    def __call__(self, progress: Progress) -> None:
        from mailaudit.report import backup_report

        line = f"  {backup_report.progress_line(progress)}"
        if self.redraw:
            sys.stderr.write("\r" + line.ljust(78))
            self.drawn = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            self.drawn = False


def _backup_progress() -> _BackupProgress:
    return _BackupProgress()


def _end_progress(progress: _BackupProgress | None) -> None:
    if progress is not None:
        progress.end()


@app.command()
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="URL",
            help="imaps://USER@HOST[:PORT] (TLS, port 993) or imap://USER@HOST[:PORT] "
            "(STARTTLS required, port 143). Never plaintext.",
        ),
    ],
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            metavar="ID",
            help="Move this account's local mail (its id from `mailaudit scan`).",
        ),
    ] = None,
    root: Annotated[
        Path | None, _root_option("With --account: the machine's file system is mounted at DIR.")
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option("--from", metavar="PATH", help="Move the mail store at PATH."),
    ] = None,
    from_format: Annotated[
        str,
        typer.Option(
            "--from-format",
            metavar="auto|mbox|maildir|mh|emlx|pst|eml",
            help="The store's format; auto tells it from the files.",
        ),
    ] = "auto",
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show the folder map, counts and bytes, what is already there; send no mail.",
        ),
    ] = False,
    folders: Annotated[
        list[str] | None,
        typer.Option(
            "--folder", metavar="GLOB", help="Only folders matching (repeatable): 'Archive/*'."
        ),
    ] = None,
    include_trash: Annotated[
        bool, typer.Option("--include-trash", help="Move the Trash folder too.")
    ] = False,
    include_junk: Annotated[
        bool, typer.Option("--include-junk", help="Move the Junk folder too.")
    ] = False,
    password_env: Annotated[
        str | None,
        typer.Option("--password-env", metavar="VAR", help="Take the password from this variable."),
    ] = None,
    token_env: Annotated[
        str | None,
        typer.Option(
            "--token-env",
            metavar="VAR",
            help="Log in with an OAuth2 access token (XOAUTH2/OAUTHBEARER) from this variable.",
        ),
    ] = None,
    token_command: Annotated[
        str | None,
        typer.Option(
            "--token-command",
            metavar="CMD",
            help="Log in with the access token this command prints; run again on each connect.",
        ),
    ] = None,
    ca_file: CaFile = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Accept a server certificate that fails verification."),
    ] = False,
    dns: DnsServer = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, metavar="SECONDS", help="Time limit for each step."),
    ] = 30.0,
    connections: Annotated[
        int,
        typer.Option("--connections", min=1, max=16, metavar="N", help="Upload connections."),
    ] = 2,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            metavar="FILE",
            dir_okay=False,
            help="The ledger that makes a run resumable (default: the user's state folder).",
        ),
    ] = None,
    verify: Annotated[
        Verify,
        typer.Option(
            "--verify",
            case_sensitive=False,
            help="After the upload: quick (counts, Message-IDs), full (compare every "
            "uploaded message byte for byte), none.",
        ),
    ] = Verify.QUICK,
    fmt: ResultsFormatOption = ResultsFormat.TABLE,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """Upload a POP3 account's local mail into its IMAP account: resumable, no duplicates.

    The source is only read; nothing on the server is deleted or overwritten.
    """
    from mailaudit.migrate import imap_client, request
    from mailaudit.migrate.run import MigrateOptions, run_migration
    from mailaudit.probe.targets import dns_server
    from mailaudit.probe.wire import WireError
    from mailaudit.report import migrate_report

    try:
        if (account is None) == (source is None):
            raise UsageError("give either --account ID or --from PATH")
        if token_env and token_command:
            raise UsageError("give --token-env or --token-command, not both")
        destination = request.parse_destination(to)
        if account is not None:
            sources = request.stores_of_account(account, root)
        else:
            assert source is not None  # one of the two, checked above
            sources = [request.store_at(source, from_format)]
        if token_env or token_command:
            credentials = imap_client.Credentials(
                token=request.token_from_env(token_env)
                if token_env
                else request.token_from_command(token_command or "")
            )
        elif password_env:
            credentials = imap_client.Credentials(password=request.password_from_env(password_env))
        else:
            typed = getpass.getpass(f"Password for {destination}: ")
            if not typed:
                raise UsageError("no password given")
            credentials = imap_client.Credentials(password=lambda: typed)
        options = MigrateOptions(
            destination=destination,
            credentials=credentials,
            session=imap_client.SessionOptions(
                timeout=timeout,
                ca_file=arguments.ca_file(ca_file),
                insecure=insecure,
                dns_server=dns_server(dns) if dns else None,
            ),
            state=state or request.ledger_path(),
            connections=connections,
            include_trash=include_trash,
            include_junk=include_junk,
            folders=tuple(folders or ()),
            dry_run=dry_run,
            verify=verify,
        )
    except UsageError as exc:
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        outcome = run_migration(sources, options, None if quiet else _progress)
    except (imap_client.ImapError, request.TokenError) as exc:
        typer.echo(f"mailaudit: {exc}", err=True)
        raise typer.Exit(EXIT_INCOMPLETE) from None
    except WireError as exc:
        typer.echo(f"mailaudit: {destination.host}: {exc.message}", err=True)
        raise typer.Exit(EXIT_INCOMPLETE) from None
    _write(migrate_report.render(outcome, fmt), output)
    raise typer.Exit(EXIT_OK if outcome.complete or dry_run else EXIT_INCOMPLETE)


def _probe_options(
    timeout: float | None,
    concurrency: int | None,
    dns: str | None,
    ca_file: Path | None,
    settings: Settings,
    **rest: Any,
) -> ProbeOptions:
    """Each value from the command line, else the policy file, else the default."""
    from mailaudit.probe.runner import ProbeOptions
    from mailaudit.probe.targets import dns_server

    return ProbeOptions(
        timeout=timeout if timeout is not None else settings.timeout or ProbeOptions.timeout,
        concurrency=concurrency or settings.concurrency or ProbeOptions.concurrency,
        ca_file=arguments.ca_file(ca_file or settings.ca_file),
        dns_server=dns_server(dns) if dns else settings.dns_server,
        **rest,
    )


def _password_source(variable: str | None) -> PasswordFor:
    """--login's passwords: from the named environment variable, else asked at a prompt."""

    def password_for(account: Account | None) -> str | None:
        if variable is not None:
            value = os.environ.get(variable)
            if not value:
                raise UsageError(f"--password-env {variable}: the variable is not set")
            return value
        where = f" for {account.incoming.username} at {account.incoming.host}" if account else ""
        return getpass.getpass(f"Password{where} (empty to skip): ") or None

    return password_for


def _destinations(
    outputs: list[Path] | None, fmt: Format | None, *, force: bool, root: Path | None
) -> list[tuple[Path | None, Format]]:
    """Where each rendering goes (None: standard output) and in which format, checked before
    anything runs: a wrong name fails in a second, not after a minute of probing."""
    found: list[tuple[Path | None, Format]] = []
    wanted: list[Path | None] = list(dict.fromkeys(outputs or [])) or [None]
    for path in wanted:
        checked = arguments.output_file(path, force=force, root=root)
        found.append(
            (None, fmt or Format.TABLE)
            if checked is None
            else (checked, _output_format(checked, fmt))
        )
    return found


def _output_format(path: Path, fmt: Format | None) -> Format:
    """One --output's format: its extension's, which --format, when given, must agree with."""
    named = format_of(path)
    if named is None:
        if fmt is None:
            raise UsageError(
                f"--output {path}: the extension names no format; use .json, .html, .md, "
                ".csv or .txt, or give --format"
            )
        return fmt
    if fmt is not None and fmt is not named:
        raise UsageError(
            f"--output {path}: the extension says {named.value} but --format says {fmt.value}"
        )
    return named


def _write_all(
    report: MachineReport, destinations: list[tuple[Path | None, Format]], lang: Language | None
) -> None:
    language = (lang or _locale_language()).value
    for path, fmt in destinations:
        if path is None:
            _write(render(report, fmt, _terminal_options(language)), None)
        else:  # a file: the whole table, never an escape sequence
            _write(render(report, fmt, RenderOptions(lang=language)), path)


def _terminal_options(language: str) -> RenderOptions:
    """On a terminal (or with COLUMNS set) the table fits its width; colour only on a
    terminal, and never with NO_COLOR set (https://no-color.org)."""
    tty = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if tty or "COLUMNS" in os.environ else None
    colour = tty and not os.environ.get("NO_COLOR")
    return RenderOptions(lang=language, width=width, colour=colour)


def _locale_language() -> Language:
    """The first of LC_ALL, LC_MESSAGES, LANG that is set, as gettext reads them."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            code = value.split("_")[0].split(".")[0].lower()
            return next((lang for lang in Language if lang.value == code), Language.EN)
    return Language.EN


def _write(text: str, output: Path | None) -> None:
    if output is None:
        exits.write_stdout(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"mailaudit: cannot write {output}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _write_stream(writer: Callable[[TextIO], None], output: Path | None) -> None:
    """Like _write, for a renderer that writes piece by piece rather than returning text."""
    if output is None:
        writer(sys.stdout)
        return
    try:
        with output.open("w", encoding="utf-8") as stream:
            writer(stream)
    except OSError as exc:
        typer.echo(f"mailaudit: cannot write {output}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _progress(message: str) -> None:
    # Progress names users and folders of the audited disk: escaped like the table, so that a
    # folder named with an escape sequence cannot drive the terminal (OSC 52 writes clipboards).
    typer.echo(f"  {one_line(message)}", err=True)


def main() -> None:
    sys.exit(exits.run(app))
