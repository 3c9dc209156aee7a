"""Renderers: the JSON contract, golden files of the sample machine, and every format wired."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
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
    assert summary == {"accounts": 20, "pop3": 10, "imap": 7, "exchange": 1, "other": 2}


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


def test_every_format_is_wired():
    report = audit(SAMPLE)
    for fmt in Format:
        assert render(report, fmt).strip()


def test_html_is_self_contained_and_well_formed():
    text = render(frozen_sample(), Format.HTML)
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    assert checker.stack == [] and checker.errors == []
    lowered = text.lower()
    for external in ("<script", "<link", "src=", "http://", "https://", "@import", "url("):
        assert external not in lowered


RIGHT_TO_LEFT = "\u05e9\u05dc\u05d5\u05dd"  # Hebrew "shalom"
HOSTILE_NAME = "Büro | <script>alert(1)</script> **x** =cmd()\n" + RIGHT_TO_LEFT + "x" * 300


def hostile_report():
    from dataclasses import replace

    report = audit(SAMPLE)
    first = replace(report.accounts[0], name=HOSTILE_NAME, email="=HYPERLINK(1)@x.example")
    return replace(report, accounts=(first, *report.accounts[1:]))


def test_hostile_strings_render_safely_in_every_format():
    report = hostile_report()
    markdown = render(report, Format.MARKDOWN)
    assert "<script>" not in markdown and "Büro \\| &lt;script&gt;" in markdown
    account_rows = [line for line in markdown.splitlines() if line.startswith("| anna")]
    assert all(line.count(" | ") == 8 for line in account_rows)  # no extra column from the pipe
    html = render(report, Format.HTML)
    assert "<script>" not in html and "&lt;script&gt;" in html and 'dir="auto"' in html
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(render(report, Format.CSV))))
    assert rows[0]["account"] == HOSTILE_NAME  # quoted, newline and all
    assert rows[0]["email"].startswith("'=")  # no formula for a spreadsheet to run
    assert json.loads(render(report, Format.JSON))["accounts"][0]["name"] == HOSTILE_NAME
    assert "alert(1)" in render(report, Format.TABLE)


def test_redacted_report_hides_people_and_keeps_its_shape():
    from mailaudit.redact import redact

    report = audit(SAMPLE)
    hidden = redact(report)
    for fmt in Format:
        text = render(hidden, fmt)
        for secret in ("anna.weber", "bernd.kraus", "/Users/anna/", "empfang-pc", str(SAMPLE)):
            assert secret not in text, (fmt, secret)
    assert hidden.accounts[0].email == "mailbox1@gmx.de"  # the provider's domain stays
    users = [a.user for a in hidden.accounts]
    assert users[0] == users[1] == "user1" and users[2] == "user2"  # the same input, the same token
    assert hidden.accounts[0].local_store.path.startswith("/Users/user1/")
    assert len(hidden.accounts) == len(report.accounts)


class _TagChecker(HTMLParser):
    VOID = frozenset({"meta", "br", "img", "hr", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def test_the_terminal_table_shows_control_characters_instead_of_obeying_them():
    from dataclasses import replace

    report = audit(SAMPLE)
    evil = replace(report.accounts[0], name="x\x1b[2J\x1b]0;owned\x07y")
    text = render(replace(report, accounts=(evil, *report.accounts[1:])), Format.TABLE)
    assert "\x1b" not in text and "\x07" not in text
    assert "x\\x1b[2J\\x1b]0;owned\\x07y" in text
