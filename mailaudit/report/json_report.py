"""The JSON report, schema_version 1 (machine-checked by schema-v1.json beside this file), and
its way back: `load` reads a saved report into the MachineReport it was written from, so that
`mailaudit report` renders it again exactly as the scan would have.

Other tools rely on it: fields may be added, never renamed or removed without a new
schema_version.
"""

from __future__ import annotations

import dataclasses
import io
import json
import types
import typing
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Any

from mailaudit.advise import severity_counts
from mailaudit.errors import ReportFileError
from mailaudit.machine import visible
from mailaudit.model import Account, LocalMailbox, MachineReport
from mailaudit.report.words import TOOL_NAME

# A scan of a large office is a few megabytes; a bound keeps a wrong file from filling memory.
MAX_REPORT_BYTES = 256 * 1024 * 1024


def to_dict(report: MachineReport) -> dict[str, Any]:
    return {
        "schema_version": report.schema_version,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "machine": asdict(report.machine),
        "run": asdict(report.run) if report.run else None,
        "notes": [asdict(n) for n in report.notes],
        "accounts": [_account(a) for a in report.accounts],
        "local_mailboxes": [_local_mailbox(m) for m in report.local_mailboxes],
        "skipped": [asdict(s) for s in report.skipped],
        "findings": [asdict(f) for f in report.findings],
        "summary": {
            **asdict(report.summary),
            "findings": {s.value: n for s, n in severity_counts(report).items()},
        },
    }


def render(report: MachineReport) -> str:
    """Always valid UTF-8: a name whose bytes were not UTF-8 shows them as \\xNN."""
    # Written piece by piece: json.dumps with an indent joins a list of every piece, millions
    # for a large office, which took ten times the memory of the text it makes.
    text = io.StringIO()
    for piece in _ENCODER.iterencode(_valid_text(to_dict(report))):
        text.write(piece)
    text.write("\n")
    return text.getvalue()


_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False)


def _valid_text(value: Any) -> Any:
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {_valid_text(k): _valid_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_valid_text(v) for v in value]
    return value


def _account(account: Account) -> dict[str, Any]:
    fields = asdict(account)
    return {
        "id": account.id,
        "key": account.key,
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
        "recommendation": mailbox.recommendation,
        "platform": mailbox.platform,
    }


# ---------------------------------------------------------------- reading a saved report


def load(path: Path) -> MachineReport:
    """The MachineReport a saved `scan --format json` was written from, or ReportFileError."""
    shown = str(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_REPORT_BYTES + 1)
    except OSError as error:
        raise ReportFileError(shown, f"cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportFileError(shown, "too large for a mailaudit report")
    try:
        # From bytes, json detects UTF-8, UTF-16 and UTF-32 (RFC 8259 section 8.1).
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ReportFileError(shown, f"not JSON: {str(error).splitlines()[0]}") from None
    try:
        return from_dict(document)
    except _Mismatch as error:
        raise ReportFileError(shown, str(error)) from None


def from_dict(document: object) -> MachineReport:
    """The inverse of to_dict. Raises _Mismatch naming the first field that does not fit."""
    tool = document.get("tool") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(tool, dict):
        raise _Mismatch("not a mailaudit report")
    if tool.get("name") != TOOL_NAME:
        raise _Mismatch("not a mailaudit report")
    if "machine" not in document or "accounts" not in document:
        raise _Mismatch("not a scan report (a probe, lookup or fleet report cannot be rendered)")
    if document.get("schema_version") != 1:
        raise _Mismatch(f"schema_version {document.get('schema_version')!r} is not 1")
    accounts = document["accounts"]
    if isinstance(accounts, list) and any(isinstance(a, dict) and "key" not in a for a in accounts):
        raise _Mismatch("written by a mailaudit older than 0.2, which left out account keys")
    fields = {
        "tool_version": tool.get("version"),
        **{k: v for k, v in document.items() if k not in ("tool", "summary", "schema_version")},
    }
    report: MachineReport = _build(MachineReport, fields, "report")
    return report


class _Mismatch(ValueError):
    pass


# The JSON names a few fields differently from the model, for readers of the contract.
RENAMED = {LocalMailbox: {"store": "local_store"}}
DERIVED = {"id"}  # computed from the other fields; checked, never read back


def _build(kind: Any, value: Any, where: str) -> Any:
    """A model value from its JSON form, led by the dataclasses' own annotations."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None:
            if len(options) == len(typing.get_args(kind)):
                raise _Mismatch(f"{where} is missing")
            return None
        return _build(options[0], value, where)
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind, value, where)
    if origin is tuple:
        _expect(value, list, where, "a list")
        return tuple(
            _build(typing.get_args(kind)[0], v, f"{where}[{i}]") for i, v in enumerate(value)
        )
    if origin is dict:
        _expect(value, dict, where, "an object")
        return value
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            raise _Mismatch(f"{where}: {value!r} is not one of the known values") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise _Mismatch(f"{where} should be a number")
    _expect(value, kind, where, f"a {getattr(kind, '__name__', kind)}")
    return value


def _dataclass(kind: Any, value: Any, where: str) -> Any:
    _expect(value, dict, where, "an object")
    hints = typing.get_type_hints(kind)
    renamed = RENAMED.get(kind, {})
    arguments = {}
    for field in dataclasses.fields(kind):
        if not field.init:
            continue
        key = renamed.get(field.name, field.name)
        if key in value:
            arguments[field.name] = _build(hints[field.name], value[key], f"{where}.{key}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise _Mismatch(f"{where}.{key} is missing")
    built = kind(**arguments)
    if "id" in value and hasattr(built, "id") and built.id != value["id"]:
        raise _Mismatch(f"{where}.id does not match the record (edited by hand?)")
    return built


def _expect(value: Any, kind: type, where: str, wanted: str) -> None:
    if not isinstance(value, kind):
        raise _Mismatch(f"{where} should be {wanted}, not {type(value).__name__}")
