"""One audit of one machine, in one direction:

    users -> sources -> classify -> [probe + discover: the network stages] -> MachineReport

Nothing here prints; progress goes to the callback the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from mailaudit import __version__
from mailaudit.classify import classify
from mailaudit.machine import MachineFiles, describe_machine
from mailaudit.model import Account, Machine, MachineReport, Skipped
from mailaudit.sources import SOURCES, Found, outlook

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AuditOptions:
    root: Path | None = None  # None: the live machine
    offline: bool = False  # no socket, no DNS query
    reg_files: tuple[Path, ...] = ()  # regedit exports to read Outlook accounts from


def run_audit(options: AuditOptions, progress: Progress | None = None) -> MachineReport:
    tell = progress or (lambda message: None)
    files = MachineFiles(options.root)
    if options.root is None and options.reg_files:
        hostname, system = "unknown", "Windows (read from registry exports)"
    else:
        hostname, system = describe_machine(files)

    accounts: list[Account] = []
    skipped: list[Skipped] = []
    found: list[Found] = []
    # Exports alone, without --root, mean the accounts of another machine: leave this one out.
    if options.root is not None or not options.reg_files:
        users = files.users()
        tell(f"{len(users)} user(s) found" + (f" under {options.root}" if options.root else ""))
        for user in users:
            for source_name, source in SOURCES:
                tell(f"{user.name}: reading {source_name}")
                found.extend(source(files, user))
    for reg_file in options.reg_files:
        tell(f"reading {reg_file}")
        found.extend(outlook.scan_reg_file(files, reg_file))
    for item in found:
        if isinstance(item, Account):
            accounts.append(item)
        else:
            skipped.append(item)

    classified = tuple(classify(account) for account in accounts)
    # The probe and discovery stages plug in here: they take the classified accounts and
    # return them with `probes` filled, unless options.offline.

    return MachineReport(
        tool_version=__version__,
        machine=Machine(
            hostname=hostname,
            os=system,
            root=str(options.root) if options.root else None,
            generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        ),
        accounts=classified,
        skipped=tuple(skipped),
    )
