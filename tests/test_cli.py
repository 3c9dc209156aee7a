"""The command line as a technician uses it: formats, --output, progress, exit codes."""

from __future__ import annotations

import json
import os
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
    assert result.stdout.startswith("Mail only on this PC: 48.4 MB in 11 mailbox(es)")
    assert "Accounts: 19 (10 POP3, 7 IMAP, 1 Exchange, 1 other); 8 to move to IMAP" in result.stdout
    assert "anna: reading Thunderbird/SeaMonkey" in result.stderr  # progress goes to stderr


def test_json_on_stdout_gets_its_summary_on_stderr():
    result = runner.invoke(app, ["scan", "--root", str(SAMPLE), "--offline", "--format", "json"])
    assert result.exit_code == EXIT_OK
    assert "19 account(s) (10 POP3, 7 IMAP, 1 Exchange, 1 other), 3 skipped" in result.stderr


def test_json_to_a_file(tmp_path):
    out = tmp_path / "report.json"
    result = runner.invoke(
        app, ["scan", "--root", str(SAMPLE), "--offline", "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == EXIT_OK
    assert result.stdout == ""
    assert json.loads(out.read_text())["summary"]["accounts"] == 19
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
    assert "does not exist" in result.stderr


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


def test_one_run_writes_several_formats_by_their_extensions(tmp_path):
    names = ["a.html", "a.json", "a.csv", "a.md", "a.txt"]
    result = runner.invoke(
        app,
        ["scan", "--root", str(SAMPLE), "--offline", *(f"-o{tmp_path / n}" for n in names)],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout == ""
    assert (tmp_path / "a.html").read_text().startswith("<!DOCTYPE html>")
    assert json.loads((tmp_path / "a.json").read_text())["summary"]["accounts"] == 19
    assert (tmp_path / "a.csv").read_text(encoding="utf-8").startswith("\ufeffmachine,")
    assert (tmp_path / "a.md").read_text().startswith("# ")
    assert (tmp_path / "a.txt").read_text().startswith("Mail only on this PC:")
    assert f"report written to {tmp_path / 'a.html'}, {tmp_path / 'a.json'}" in result.stderr


def test_a_format_and_an_extension_that_disagree_stop_before_the_scan(tmp_path):
    result = runner.invoke(
        app,
        [
            "scan",
            "--root",
            str(SAMPLE),
            "--offline",
            "--format",
            "html",
            "-o",
            str(tmp_path / "a.json"),
        ],
    )
    assert result.exit_code == EXIT_USAGE
    assert "the extension says json but --format says html" in result.stderr
    assert "reading" not in result.stderr  # refused before any source was read
    assert list(tmp_path.iterdir()) == []


def test_an_extension_without_a_format_needs_format(tmp_path):
    target = tmp_path / "report.out"
    result = runner.invoke(app, ["scan", "--root", str(SAMPLE), "--offline", "-o", str(target)])
    assert result.exit_code == EXIT_USAGE and "the extension names no format" in result.stderr
    result = runner.invoke(
        app, ["scan", "--root", str(SAMPLE), "--offline", "--format", "json", "-o", str(target)]
    )
    assert result.exit_code == EXIT_OK and json.loads(target.read_text())["schema_version"] == 1


def test_report_renders_a_saved_scan_byte_for_byte(tmp_path):
    for lang in ("en", "de"):
        scanned = tmp_path / lang
        again = tmp_path / f"{lang}-again"
        scanned.mkdir()
        again.mkdir()
        names = ["r.html", "r.md", "r.csv", "r.txt", "r.json"]
        result = runner.invoke(
            app,
            ["scan", "--root", str(SAMPLE), "--offline", "--lang", lang, "--prepared-by", "Jan"]
            + [f"-o{scanned / n}" for n in names],
        )
        assert result.exit_code == EXIT_OK, result.output
        result = runner.invoke(
            app,
            ["report", str(scanned / "r.json"), "--lang", lang] + [f"-o{again / n}" for n in names],
        )
        assert result.exit_code == EXIT_OK, result.output
        for name in names:
            assert (again / name).read_bytes() == (scanned / name).read_bytes(), (lang, name)
        assert "Jan" in (again / "r.html").read_text()


def test_report_refuses_a_probe_report_with_the_reason(tmp_path):
    saved = tmp_path / "probe.json"
    saved.write_text(json.dumps({"schema_version": 1, "tool": {"name": "mailaudit"}, "probes": []}))
    result = runner.invoke(app, ["report", str(saved), "--format", "html"])
    assert result.exit_code == EXIT_USAGE
    assert "not a scan report" in result.stderr


def test_the_language_follows_the_locale_unless_given(tmp_path):
    target = tmp_path / "r.md"
    args = ["scan", "--root", str(SAMPLE), "--offline", "--force", "-o", str(target)]
    assert runner.invoke(app, args, env={"LC_ALL": "", "LANG": "de_DE.UTF-8"}).exit_code == 0
    assert target.read_text().startswith("# E-Mail-Prüfung von")
    runner.invoke(app, [*args, "--lang", "en"], env={"LANG": "de_DE.UTF-8"})
    assert target.read_text().startswith("# Mail check of")
    runner.invoke(app, args, env={"LC_ALL": "C", "LANG": "de_DE.UTF-8"})
    assert target.read_text().startswith("# Mail check of")


def test_names_from_the_disk_never_drive_the_terminal_and_json_stays_utf8(tmp_path):
    """A user folder named with an escape sequence (OSC 52 writes the clipboard) reaches the
    progress lines escaped; a name that is not UTF-8 is written to the JSON file as \\xNN."""
    from .conftest import pop_and_imap, write_profile

    root = tmp_path / "machine"
    write_profile(root / "home" / "x\x1b]52;c;SGVsbG8=\x07", pop_and_imap())
    write_profile(root / "home" / os.fsdecode(b"caf\xe9"), pop_and_imap())
    out = tmp_path / "report.json"
    result = runner.invoke(
        app, ["scan", "--root", str(root), "--offline", "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "x\\x1b]52;c;SGVsbG8=\\x07: reading Thunderbird" in result.stderr
    document = json.loads(out.read_bytes().decode("utf-8"))  # strict: valid UTF-8
    assert {a["user"] for a in document["accounts"]} == {"caf\\xe9", "x\x1b]52;c;SGVsbG8=\x07"}
