"""The JSON report, schema_version 1 (machine-checked by schema-v1.json beside this file).

Other tools rely on it: fields may be added, never renamed or removed without a new
schema_version.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from mailaudit.model import Account, LocalMailbox, MachineReport
from mailaudit.report.words import TOOL_NAME


def to_dict(report: MachineReport) -> dict[str, Any]:
    return {
        "schema_version": report.schema_version,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "machine": asdict(report.machine),
        "notes": [asdict(n) for n in report.notes],
        "accounts": [_account(a) for a in report.accounts],
        "local_mailboxes": [_local_mailbox(m) for m in report.local_mailboxes],
        "skipped": [asdict(s) for s in report.skipped],
        "findings": [asdict(f) for f in report.findings],
        "summary": asdict(report.summary),
    }


def render(report: MachineReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _account(account: Account) -> dict[str, Any]:
    fields = asdict(account)
    return {
        "id": account.id,
        "client": account.client,
        "user": account.user,
        "profile": account.profile,
        "name": account.name,
        "email": account.email,
        "protocol": account.protocol,
        "declared_type": account.declared_type,
        "addresses": fields["addresses"],
        "incoming": fields["incoming"],
        "classification": fields["classification"] or {"basis": "not classified", "conflicts": []},
        "leave_on_server": account.leave_on_server,
        "leave_on_server_days": account.leave_on_server_days,
        "leave_on_server_detail": account.leave_on_server_detail,
        "local_store": fields["local_store"],
        "origin": account.origin,
        "probes": fields["probes"],
        "findings": fields["findings"],
        "discovery": fields["discovery"],
        "recommendation": account.recommendation,
        "platform": account.platform,
    }


def _local_mailbox(mailbox: LocalMailbox) -> dict[str, Any]:
    return {
        "id": mailbox.id,
        "client": mailbox.client,
        "user": mailbox.user,
        "profile": mailbox.profile,
        "name": mailbox.name,
        "local_store": asdict(mailbox.store),
        "origin": mailbox.origin,
    }
