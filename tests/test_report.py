"""Renderers: the JSON contract, golden files of the sample machine, and every format wired."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from mailaudit.model import Machine
from mailaudit.report import Format, render
from mailaudit.report.json_report import to_dict

from .conftest import REAL_TB, SAMPLE, audit

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "mailaudit" / "report" / "schema-v1.json").read_text()
)
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MAILAUDIT_UPDATE_GOLDEN") == "1"


def frozen_sample():
    """The sample's report with the two facts that change per run pinned down."""
    report = audit(SAMPLE)
    machine = Machine(
        hostname=report.machine.hostname,
        os=report.machine.os,
        root="fixtures/machines/sample",
        generated_at="2026-01-01T00:00:00+00:00",
    )
    return type(report)(report.tool_version, machine, report.accounts, report.skipped)


@pytest.mark.parametrize("root", [SAMPLE, REAL_TB / "root"], ids=["sample", "real-thunderbird"])
def test_json_follows_the_contract(root):
    document = json.loads(render(audit(root), Format.JSON))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["summary"]["accounts"] == len(document["accounts"]) > 0


def test_schema_rejects_a_report_missing_a_contract_field():
    document = to_dict(audit(SAMPLE))
    del document["accounts"][0]["classification"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(json.dumps(document)), SCHEMA)


def test_summary_counts_protocols():
    summary = json.loads(render(audit(SAMPLE), Format.JSON))["summary"]
    assert summary == {"accounts": 16, "pop3": 7, "imap": 6, "exchange": 1, "other": 2}


def test_ids_are_stable_and_unique():
    first = [a.id for a in audit(SAMPLE).accounts]
    assert first == [a.id for a in audit(SAMPLE).accounts]
    assert len(set(first)) == len(first)


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_against_its_golden_file(fmt):
    text = render(frozen_sample(), fmt)
    golden = GOLDEN / f"sample.{fmt.value}"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
