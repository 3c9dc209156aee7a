"""The policy file: values applied, every mistake named with its key and line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mailaudit import policy
from mailaudit.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, app
from mailaudit.errors import UsageError
from mailaudit.model import Severity

from .conftest import SAMPLE


def write(tmp_path, text: str):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_a_full_policy_is_read(tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    settings = policy.load(
        write(
            tmp_path,
            """
[probe]
timeout = 4.5
concurrency = 8
dns_server = "127.0.0.1:5353"
ca_file = "ca.pem"
[advice]
uplink_mbit = 2
expiring_days = 14
[severity]
MA001 = "info"
[ignore]
rules = ["MA004"]
accounts = ["anna@example.com"]
[providers.acme]
name = "Acme Mail"
domains = ["acme.example"]
imap = "imap.acme.example:993"
auth = "oauth2"
""",
        )
    )
    assert (settings.timeout, settings.concurrency, settings.dns_server) == (
        4.5,
        8,
        ("127.0.0.1", 5353),
    )
    assert settings.ca_file == tmp_path / "ca.pem"
    assert settings.policy.uplink_mbit == 2 and settings.policy.expiring_days == 14
    assert settings.policy.severities == {"MA001": Severity.INFO}
    assert settings.policy.ignored_rules == {"MA004"}
    assert settings.providers["acme"]["auth"] == "oauth2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[probe]\n\ntimeout = 'slow'\n", "line 3: [probe] timeout: has the wrong type (str)"),
        ("[advice]\nuplink = 5\n", "line 2: [advice] uplink: unknown key"),
        ("[severity]\nMA001 = 'urgent'\n", "line 2: [severity] MA001: 'urgent' is not one of"),
        ("[severity]\nMA999 = 'low'\n", "line 2: [severity] MA999: unknown rule id"),
        ("[ignore]\nrules = ['MA000']\n", "line 2: [ignore] rules: 'MA000' is not a rule id"),
        ("[probes]\ntimeout = 1\n", "line 1: [probes] : unknown section"),
        ("[probe]\nconcurrency = 0\n", "line 2: [probe] concurrency: must be greater than 0"),
        ("[probe]\nca_file = 'missing.pem'\n", "[probe] ca_file:"),
        ("[providers.x]\nauth = 'token'\n", "line 2: [providers.x] auth: must be one of"),
        ("[providers.x]\nimapp = 'h:1'\n", "line 2: [providers.x] imapp: unknown key"),
        ("[probe\n", "not valid TOML"),
    ],
)
def test_mistakes_name_the_key_and_line(tmp_path, text, message):
    with pytest.raises(UsageError) as caught:
        policy.load(write(tmp_path, text))
    assert message in str(caught.value)


def test_the_policy_shapes_the_scan_and_fail_on_uses_it(tmp_path):
    path = write(tmp_path, '[severity]\nMA002 = "critical"\n[ignore]\nrules = ["MA001"]\n')
    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--root",
            str(SAMPLE),
            "--offline",
            "--config",
            str(path),
            "--format",
            "json",
            "-q",
            "--fail-on",
            "critical",
        ],
    )
    assert result.exit_code == EXIT_FINDINGS
    findings = [f for a in json.loads(result.stdout)["accounts"] for f in a["findings"]]
    assert {f["rule"] for f in findings} >= {"MA002"} and "MA001" not in {
        f["rule"] for f in findings
    }
    assert {f["severity"] for f in findings if f["rule"] == "MA002"} == {"critical"}


def test_fail_on_below_and_above_the_worst_finding():
    base = ["scan", "--root", str(SAMPLE), "--offline", "-q", "--fail-on"]
    assert CliRunner().invoke(app, [*base, "high"]).exit_code == EXIT_FINDINGS
    assert CliRunner().invoke(app, [*base, "critical"]).exit_code == EXIT_OK


def test_a_bad_policy_file_is_a_usage_error(tmp_path):
    path = write(tmp_path, "[advice]\nuplink = 5\n")
    result = CliRunner().invoke(
        app, ["scan", "--root", str(SAMPLE), "--offline", "--config", str(path)]
    )
    assert result.exit_code == EXIT_USAGE
    assert "uplink: unknown key" in result.stderr


def test_a_policy_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    import os
    import signal

    from mailaudit.errors import UsageError
    from mailaudit.policy import load

    os.mkfifo(tmp_path / "policy.toml")
    signal.alarm(20)  # a hang fails the test instead of the suite
    try:
        with pytest.raises(UsageError, match="is a FIFO"):
            load(tmp_path / "policy.toml")
    finally:
        signal.alarm(0)
