"""The terminal view under a real pseudo-terminal: it fits the width, colours severities only
on a terminal, honours NO_COLOR, and never writes an escape sequence to a file or a pipe."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from .conftest import REPO, SAMPLE

SCAN = [sys.executable, "-m", "mailaudit", "scan", "--root", str(SAMPLE), "--offline", "-q"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_on_pty(env: dict[str, str]) -> str:
    """The scan with a pty as its standard output, as a technician's terminal would be."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(SCAN, stdout=follower, stderr=subprocess.DEVNULL, cwd=REPO, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    # The pty turns each \n into \r\n on the way out.
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    return {**env, **values}


@pytest.mark.parametrize("width", [80, 200])
def test_no_line_is_wider_than_the_terminal(width):
    text = run_on_pty(environment(COLUMNS=str(width)))
    lines = ANSI.sub("", text).splitlines()
    assert lines[0].startswith("Mail only on this PC: 48.4 MB in 11 mailbox(es)")
    assert lines[1].startswith("Findings: 13 high, 1 medium, 13 low")
    assert lines[2].startswith("Accounts: 19 (10 POP3")
    assert max(len(line) for line in lines) <= width
    assert any("pop.gmx.net:995" in line for line in lines)
    if width == 200:  # room for the whole table
        assert any(line.startswith("User") and "Leave on server" in line for line in lines)
    else:  # each account stacked instead
        assert "anna / anna.weber@gmx.de (Thunderbird)" in lines


def test_colour_on_a_terminal_and_not_with_no_color():
    coloured = run_on_pty(environment(COLUMNS="120"))
    assert "\x1b[31mhigh\x1b[0m" in coloured
    plain = run_on_pty(environment(COLUMNS="120", NO_COLOR="1"))
    assert "\x1b" not in plain
    assert ANSI.sub("", coloured) == plain


def test_no_escape_in_a_pipe_or_a_file(tmp_path):
    piped = subprocess.run(
        SCAN, capture_output=True, cwd=REPO, env=environment(), check=True
    ).stdout
    assert b"\x1b" not in piped and b"high" in piped
    report = tmp_path / "report.txt"
    subprocess.run([*SCAN, "-o", str(report)], cwd=REPO, env=environment(), check=True)
    written = report.read_bytes()
    assert b"\x1b" not in written and b"Findings:" in written


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_hostile_names_do_not_widen_any_line(width):
    from mailaudit.report import Format, RenderOptions, render

    from .test_report import hostile_report

    text = render(hostile_report(), Format.TABLE, RenderOptions(width=width, colour=True))
    lines = ANSI.sub("", text).splitlines()
    assert max(len(line) for line in lines) <= width
    assert "<script>alert(1)</script>" in "".join(lines)  # shown, wrapped, not lost


def test_wide_characters_count_as_two_columns():
    from dataclasses import replace

    from mailaudit.report import Format, RenderOptions, render
    from mailaudit.report.words import display_width

    from .conftest import audit

    report = audit(SAMPLE)
    wide = replace(report.accounts[0], name="山田太郎の事務所メール" * 4)
    report = replace(report, accounts=(wide, *report.accounts[1:]))
    for width in (80, 120):
        lines = render(report, Format.TABLE, RenderOptions(width=width)).splitlines()
        assert max(display_width(line) for line in lines) <= width
        assert any("山田太郎" in line for line in lines)
