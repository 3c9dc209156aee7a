"""Renderers: the JSON contract, golden files of the sample machine, and every format wired."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from mailaudit import providers
from mailaudit.advise import Policy, advise
from mailaudit.model import Machine, Run, RunOptions
from mailaudit.report import Format, RenderOptions, render
from mailaudit.report.catalog import LANGUAGES
from mailaudit.report.json_report import to_dict

from .conftest import REAL_TB, SAMPLE, audit

# From the package, as installed: the schema ships with it.
SCHEMA = json.loads(resources.files("mailaudit.report").joinpath("schema-v1.json").read_text())
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MAILAUDIT_UPDATE_GOLDEN") == "1"


# The formats whose words come from a language catalog; the others are the same in every one.
TRANSLATED = (Format.HTML, Format.MARKDOWN)


def frozen_sample():
    """The sample's report with the facts that change per run pinned down."""

    report = audit(SAMPLE)
    machine = Machine(
        hostname=report.machine.hostname,
        os=report.machine.os,
        root="fixtures/machines/sample",
        generated_at="2026-01-05T09:30:00+00:00",
    )
    run = Run(
        RunOptions(offline=True, timeout=10.0, concurrency=32, dns_server=None),
        started_at="2026-01-05T09:29:58+00:00",
        finished_at="2026-01-05T09:30:00+00:00",
        prepared_by="Jan Techniker",
    )
    # Advised again under the pinned root: the plan's commands name it (`--root ...`).
    advised = advise(replace(report, machine=machine), providers.load(), Policy())
    return replace(advised, run=run)


def golden_path(fmt: Format, lang: str) -> Path:
    translated = fmt in TRANSLATED and lang != "en"
    return GOLDEN / (f"sample.{lang}.{fmt.value}" if translated else f"sample.{fmt.value}")


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
    assert summary == {
        "accounts": 19,
        "pop3": 10,
        "imap": 7,
        "exchange": 1,
        "other": 1,
        "findings": {"critical": 0, "high": 13, "medium": 1, "low": 13, "info": 0},
    }


def test_local_mailboxes_beside_the_accounts():
    """On My Mac and an Outlook data file of no account are local mailboxes, not accounts."""
    document = json.loads(render(audit(SAMPLE), Format.JSON))
    assert not [a for a in document["accounts"] if a["declared_type"] == "local"]
    local = {(m["user"], m["client"], m["name"]) for m in document["local_mailboxes"]}
    assert local == {
        ("mia", "apple-mail", "On My Mac"),
        ("erika", "outlook", "Archiv 2019"),
        ("gerda", "windows-live-mail", "Storage Folders"),
    }
    on_my_mac = next(m for m in document["local_mailboxes"] if m["name"] == "On My Mac")
    assert on_my_mac["local_store"]["bytes"] > 0
    assert on_my_mac["recommendation"]["action"] == "back-up"
    for fmt in (Format.TABLE, Format.MARKDOWN, Format.HTML):
        assert "Local mailboxes" in render(audit(SAMPLE), fmt)


def test_ids_are_stable_and_unique():
    first = [a.id for a in audit(SAMPLE).accounts]
    assert first == [a.id for a in audit(SAMPLE).accounts]
    assert len(set(first)) == len(first)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_against_its_golden_file(fmt, lang):
    text = render(frozen_sample(), fmt, RenderOptions(lang=lang))
    golden = golden_path(fmt, lang)
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [80, 200])
def test_the_terminal_table_has_a_golden_file_per_width(width):
    text = render(frozen_sample(), Format.TABLE, RenderOptions(width=width))
    golden = GOLDEN / f"sample.{width}.table"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) <= width


def test_the_client_document_differs_by_language_and_nothing_else_does():
    report = frozen_sample()
    for fmt in Format:
        english, german = (render(report, fmt, RenderOptions(lang=lang)) for lang in ("en", "de"))
        assert (english != german) == (fmt in TRANSLATED), fmt


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

    report = audit(SAMPLE)
    first = replace(report.accounts[0], name=HOSTILE_NAME, email="=HYPERLINK(1)@x.example")
    return replace(report, accounts=(first, *report.accounts[1:]))


def test_hostile_strings_render_safely_in_every_format():
    report = hostile_report()
    markdown = render(report, Format.MARKDOWN)
    assert "<script>" not in markdown and "Büro \\| &lt;script&gt;" in markdown
    account_rows = [line for line in markdown.splitlines() if line.startswith("| anna | ")]
    assert len(account_rows) == 2
    assert all(line.count(" | ") == 6 for line in account_rows)  # no extra column from the pipe
    html = render(report, Format.HTML)
    assert "<script>" not in html and "&lt;script&gt;" in html and 'dir="auto"' in html
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(render(report, Format.CSV))))
    assert rows[0]["\ufeffmachine"] == "empfang-pc"  # the byte order mark Excel needs
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
    assert {m.user for m in hidden.local_mailboxes} <= {a.user for a in hidden.accounts}
    assert not any("/Users/mia/" in m.store.path for m in hidden.local_mailboxes)


class _TagChecker(HTMLParser):
    VOID = frozenset({"meta", "br", "wbr", "img", "hr", "input", "link"})

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

    report = audit(SAMPLE)
    evil = replace(report.accounts[0], name="x\x1b[2J\x1b]0;owned\x07y")
    text = render(replace(report, accounts=(evil, *report.accounts[1:])), Format.TABLE)
    assert "\x1b" not in text and "\x07" not in text
    assert "x\\x1b[2J\\x1b]0;owned\\x07y" in text
