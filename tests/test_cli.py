"""The command line as a technician uses it: formats, --output, progress, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from mailaudit import __version__
from mailaudit.cli import EXIT_OK, EXIT_USAGE, app

from .conftest import REPO, SAMPLE

runner = CliRunner()


def test_scan_prints_the_table_and_a_summary():
    result = runner.invoke(app, ["scan", "--root", str(SAMPLE), "--offline"])
    assert result.exit_code == EXIT_OK, result.output
    assert "pop.gmx.net:995" in result.stdout
    assert result.stdout.endswith("20 account(s): 10 POP3, 7 IMAP, 1 Exchange, 2 other.\n")
    assert "anna: reading Thunderbird/SeaMonkey" in result.stderr  # progress goes to stderr


def test_json_on_stdout_gets_its_summary_on_stderr():
    result = runner.invoke(app, ["scan", "--root", str(SAMPLE), "--offline", "--format", "json"])
    assert result.exit_code == EXIT_OK
    assert "20 account(s) (10 POP3, 7 IMAP, 1 Exchange, 2 other), 3 skipped" in result.stderr


def test_json_to_a_file(tmp_path):
    out = tmp_path / "report.json"
    result = runner.invoke(
        app, ["scan", "--root", str(SAMPLE), "--offline", "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == EXIT_OK
    assert result.stdout == ""
    assert json.loads(out.read_text())["summary"]["accounts"] == 20
    assert f"report written to {out}" in result.stderr


def test_quiet_prints_only_the_report():
    result = runner.invoke(
        app, ["scan", "--root", str(SAMPLE), "--offline", "--format", "JSON", "-q"]
    )
    assert result.exit_code == EXIT_OK
    assert result.stderr == ""
    json.loads(result.stdout)


def test_missing_root_is_a_usage_error():
    result = runner.invoke(app, ["scan", "--root", "/no-such-disk-image", "--offline"])
    assert result.exit_code == EXIT_USAGE
    assert "does not exist" in result.stderr


def test_unwritable_output_is_a_usage_error(tmp_path):
    result = runner.invoke(
        app, ["scan", "--root", str(SAMPLE), "--offline", "-o", str(tmp_path / "no" / "r.txt")]
    )
    assert result.exit_code == EXIT_USAGE
    assert "cannot write" in result.stderr


def test_unknown_format_is_a_usage_error():
    result = runner.invoke(app, ["scan", "--root", str(SAMPLE), "--format", "pdf"])
    assert result.exit_code == EXIT_USAGE


def test_version_and_help():
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"mailaudit {__version__}"
    help_text = runner.invoke(app, ["scan", "--help"], terminal_width=120).stdout
    for option in ("--root", "--offline", "--format", "--output", "--quiet"):
        assert option in help_text


def test_python_dash_m_and_the_console_script_agree():
    via_module = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailaudit",
            "scan",
            "--root",
            str(SAMPLE),
            "--offline",
            "--format",
            "json",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert json.loads(via_module.stdout)["summary"]["pop3"] == 10
