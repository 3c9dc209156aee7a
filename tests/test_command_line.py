"""Every bad command-line input ends in one line on stderr and a documented exit code, never a
traceback; a report is never written into the machine being audited.

The installed console script runs in a subprocess (as a technician runs it), so that the
standard streams, the exit code and Python's own last words are the real ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mailaudit.cli import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

from .conftest import SAMPLE, tree_fingerprint

MAILAUDIT = [sys.executable, "-m", "mailaudit"]


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAILAUDIT, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # no terminal, as in CI and scripts
        cwd=cwd,
        env={**os.environ, **env},
        timeout=60,
    )


def one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The run failed with `code` and said so in one line naming `words`, with no traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mailaudit"), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("machine") / "sample"
    shutil.copytree(SAMPLE, copy, symlinks=True)
    return copy


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--dns-server", "garbage"], ["--dns-server", "IP address"]),
        (["--dns-server", "dns.example.com:53"], ["--dns-server", "IP address"]),
        (["--dns-server", "127.0.0.1:99999"], ["port", "65535"]),
        (["--dns-server", "--format", "json"], ["--dns-server needs a value", "--format"]),
        (["--timeout", "-q"], ["--timeout needs a value", "-q"]),
        (["--timeout", "soon"], ["Invalid value for '--timeout'"]),
        (["--timeout", "0"], ["--timeout"]),
        (["--concurrency", "0"], ["--concurrency"]),
        (["--format", "pdf"], ["--format", "pdf", "(see mailaudit scan --help)"]),
        (["--format"], ["--format", "requires an argument", "(see mailaudit scan --help)"]),
        (["--fail-on", "worst"], ["--fail-on"]),
        (["--no-such-option"], ["--no-such-option"]),
        (["--redact-domains"], ["--redact-domains", "--redact"]),
        (["--password-env", "MAILAUDIT_NO_SUCH_VARIABLE"], ["--password-env", "--login"]),
        (["--login"], ["--login", "terminal", "--password-env"]),
        (["--login", "--password-env", "MAILAUDIT_NO_SUCH_VARIABLE"], ["not set"]),
        (["--config", "/no/such/policy.toml"], ["--config", "does not exist"]),
        (["--reg-file", "/no/such/anna.reg"], ["--reg-file", "does not exist"]),
    ],
)
def test_bad_scan_options_are_one_line_and_exit_2(args, words):
    # --offline: the values are checked before anything runs, network or not.
    one_line(run("scan", "--root", str(SAMPLE), "--offline", *args), EXIT_USAGE, *words)


def test_a_ca_file_that_is_not_pem(tmp_path):
    not_pem = tmp_path / "company-ca.pem"
    not_pem.write_text("this is not a certificate\n")
    result = run("scan", "--root", str(SAMPLE), "--offline", "--ca-file", str(not_pem))
    one_line(result, EXIT_USAGE, "--ca-file", "PEM")
    missing = run("lookup", "gmx.de", "--offline", "--ca-file", str(tmp_path / "none.pem"))
    one_line(missing, EXIT_USAGE, "--ca-file", "does not exist")


def test_a_ca_file_in_the_policy_file_is_checked_too(tmp_path):
    (tmp_path / "ca.pem").write_bytes(b"\x00\x01junk")
    policy = tmp_path / "policy.toml"
    policy.write_text('[probe]\nca_file = "ca.pem"\n')
    result = run("scan", "--root", str(SAMPLE), "--offline", "--config", str(policy))
    one_line(result, EXIT_USAGE, "ca.pem", "PEM")


def test_a_good_ca_file_and_dns_server_are_accepted(lab):
    result = run(
        "lookup",
        "full.test",
        "--ca-file",
        str(lab["certs"] / "ca.crt"),
        "--dns-server",
        f"127.0.0.1:{lab['dns'].port}",
        "--timeout",
        "2",
        "-q",
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert "mail.example.test" in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["probe"], ["Missing argument"]),
        (["probe", "imap.example.com:0"], ["port", "65535"]),
        (["probe", "imap.example.com", "--protocol", "smtp"], ["--protocol"]),
        (["probe", "imap.example.com", "--login"], ["--login", "terminal"]),
        (["probe", "imap.example.com", "--login", "--password-env", "HOME"], ["--user"]),
        (["probe", "imap.example.com", "--dns-server", "nonsense"], ["--dns-server"]),
        (["lookup", "gmx.de", "--dns-server", "--offline"], ["--dns-server needs a value"]),
        (["fleet", "/no/such/folder"], ["no report could be read"]),
        (["no-such-command"], ["no-such-command"]),
    ],
)
def test_bad_input_to_the_other_commands(args, words):
    result = run(*args)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr
    assert "─" not in result.stderr and "╭" not in result.stderr  # no boxed panel
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("mailaudit"), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def test_root_at_the_level_of_users(sample_copy):
    line = one_line(run("scan", "--root", str(sample_copy / "Users"), "--offline"), EXIT_USAGE)
    assert "folder of users' homes" in line
    assert f"--root {sample_copy}" in line  # the level to pass instead


def test_root_at_the_level_of_one_users_home(sample_copy):
    anna = sample_copy / "Users" / "anna"
    line = one_line(run("scan", "--root", str(anna), "--offline"), EXIT_USAGE)
    assert "user's home" in line
    assert line.endswith(f"--root {sample_copy}")


def test_root_at_a_linux_home(sample_copy):
    line = one_line(run("scan", "--root", str(sample_copy / "home"), "--offline"), EXIT_USAGE)
    assert f"--root {sample_copy}" in line


def test_a_home_copied_without_its_parent_folder(tmp_path):
    home = tmp_path / "frank-backup"
    (home / "AppData" / "Roaming").mkdir(parents=True)
    (home / "NTUSER.DAT").write_bytes(b"")
    line = one_line(run("scan", "--root", str(home), "--offline"), EXIT_USAGE, "user's home")
    assert "the folder that holds its Users or home folder" in line


def test_an_empty_root_and_a_random_folder(tmp_path):
    one_line(run("scan", "--root", str(tmp_path), "--offline"), EXIT_USAGE, "empty", "mounted")
    (tmp_path / "photos").mkdir()
    line = one_line(run("scan", "--root", str(tmp_path), "--offline"), EXIT_USAGE)
    assert "no Users, home or Documents and Settings folder" in line


def test_an_xp_disk_and_a_linux_disk_are_the_right_level(tmp_path):
    for parent in ("Documents and Settings", "home"):
        root = tmp_path / parent.split()[0]
        (root / parent / "someone").mkdir(parents=True)
        result = run("scan", "--root", str(root), "--offline", "-q")
        assert result.returncode == EXIT_OK, result.stderr


def test_output_under_root_is_refused_and_the_evidence_is_untouched(sample_copy):
    before = tree_fingerprint(sample_copy)
    prefs = next(sample_copy.rglob("prefs.js"))
    for target in (prefs, sample_copy / "report.json", sample_copy / "Users" / "new.html"):
        for force in ([], ["--force"]):
            result = run("scan", "--root", str(sample_copy), "--offline", "-o", str(target), *force)
            one_line(result, EXIT_USAGE, "--output", "machine being audited")
    assert tree_fingerprint(sample_copy) == before


def test_output_through_a_link_into_the_root_is_refused(sample_copy, tmp_path):
    link = tmp_path / "reports"
    link.symlink_to(sample_copy / "Users")
    result = run("scan", "--root", str(sample_copy), "--offline", "-o", str(link / "r.txt"))
    one_line(result, EXIT_USAGE, "machine being audited")
    assert not (sample_copy / "Users" / "r.txt").exists()


def test_output_onto_a_link_to_a_client_file_is_refused_even_with_force(sample_copy, tmp_path):
    prefs = next(sample_copy.rglob("prefs.js"))
    before = prefs.read_bytes()
    link = tmp_path / "report.txt"
    link.symlink_to(prefs)
    result = run("scan", "--root", str(sample_copy), "--offline", "-o", str(link), "--force")
    one_line(result, EXIT_USAGE, "machine being audited")
    assert prefs.read_bytes() == before


def test_output_into_a_live_users_mail_client_folder_is_refused(tmp_path):
    home = tmp_path / "home"
    profile = home / ".thunderbird" / "abcd.default"
    profile.mkdir(parents=True)
    (home / "AppData" / "Roaming").mkdir(parents=True)
    for target in (profile / "prefs.js", home / "AppData" / "Roaming" / "report.json"):
        result = run("lookup", "gmx.de", "--offline", "-o", str(target), HOME=str(home))
        one_line(result, EXIT_USAGE, "machine being audited")
        assert not target.exists()
    allowed = home / "report.txt"  # the home itself is fine
    result = run("lookup", "gmx.de", "--offline", "-q", "-o", str(allowed), HOME=str(home))
    assert result.returncode == EXIT_OK, result.stderr
    assert "imap.gmx.net" in allowed.read_text()


def test_an_existing_report_is_kept_without_force(tmp_path):
    out = tmp_path / "report.json"
    out.write_text("yesterday's report\n")
    args = ["scan", "--root", str(SAMPLE), "--offline", "--format", "json", "-q", "-o", str(out)]
    one_line(run(*args), EXIT_USAGE, "exists", "--force")
    assert out.read_text() == "yesterday's report\n"
    assert run(*args, "--force").returncode == EXIT_OK
    assert '"schema_version": 1' in out.read_text()


def test_output_to_a_missing_folder_or_a_folder(tmp_path):
    base = ["scan", "--root", str(SAMPLE), "--offline", "-o"]
    one_line(run(*base, str(tmp_path / "no" / "r.txt")), EXIT_USAGE, "does not exist")
    one_line(run(*base, str(tmp_path)), EXIT_USAGE, "--output")


def test_output_to_a_folder_that_takes_no_files(tmp_path):
    # A read-only bind mount, in a private mount namespace: even root cannot write there.
    folder = tmp_path / "read-only"
    folder.mkdir()
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("unshare -m is needed for this test")
        pytest.skip("unshare -m is not allowed here")
    mount = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'
    lookup = ["lookup", "gmx.de", "--offline", "-o", str(folder / "report.txt")]
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", mount, "sh", str(folder), *MAILAUDIT, *lookup],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    one_line(result, EXIT_USAGE, "--output", "cannot be written to")


def test_dash_is_standard_output():
    result = run("lookup", "gmx.de", "--offline", "-q", "-o", "-")
    assert result.returncode == EXIT_OK
    assert "imap.gmx.net" in result.stdout


def test_a_full_standard_output_is_a_clean_error():
    with Path("/dev/full").open("w") as full:
        result = subprocess.run(
            [*MAILAUDIT, "scan", "--root", str(SAMPLE), "--offline", "-q"],
            stdout=full,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
    one_line(result, EXIT_USAGE, "cannot write to standard output", "no space left")


def test_a_closed_standard_output_is_a_clean_error():
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [*MAILAUDIT, "scan", "--root", str(SAMPLE), "--offline", "-q"],
            stdout=writer,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
    finally:
        os.close(writer)
    one_line(result, EXIT_USAGE, "standard output", "closed")


def test_ctrl_c_says_so_and_exits_130():
    # A server that accepts and never speaks keeps the probe waiting for its greeting.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        process = subprocess.Popen(
            [*MAILAUDIT, "probe", f"127.0.0.1:{port}", "--timeout", "30"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        silent.settimeout(30)
        connection, _ = silent.accept()  # the probe is connected, waiting for a greeting
        with connection:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "mailaudit: interrupted"


def test_an_internal_error_is_one_line_with_where_to_report_it():
    # A bug planted in a renderer, in the subprocess only: mailaudit's files stay untouched.
    plant = (
        "import mailaudit.report.table as table; "
        "table.render = lambda *a, **k: {}['a planted bug quoting a secret: hunter2']; "
        "from mailaudit.cli import main; main()"
    )
    scan = ["scan", "--root", str(SAMPLE), "--offline", "-q"]
    result = subprocess.run(
        [sys.executable, "-c", plant, *scan],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    line = one_line(result, EXIT_INTERNAL, "internal error", "KeyError", "report it at")
    assert "hunter2" not in result.stderr  # an exception's message may quote input: never shown
    assert "--debug" in line
    debug = subprocess.run(
        [sys.executable, "-c", plant, "--debug", *scan],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert debug.returncode == EXIT_INTERNAL
    assert "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("mailaudit: internal error")
