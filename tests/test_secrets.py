"""Passwords, tokens and saved logins never reach the model or any output."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mailaudit.report import Format, render

from .conftest import audit, pop_and_imap, write_profile

SECRETS = ("hunter2-PLANTED", "ya29.PLANTED-oauth-token", "PLANTED-logins-json", "PLANTED-key4")


@pytest.fixture
def planted(machine):
    prefs = pop_and_imap() | {
        "mail.server.server1.password": SECRETS[0],
        "mail.server.server2.oauth2.refreshToken": SECRETS[1],
        "mail.smtpserver.smtp1.password": SECRETS[0],
    }
    profile = write_profile(machine / "home" / "pat", prefs)
    (profile / "logins.json").write_text(
        json.dumps({"logins": [{"encryptedPassword": SECRETS[2]}]})
    )
    (profile / "key4.db").write_text(SECRETS[3])
    return machine


@pytest.mark.parametrize("fmt", list(Format))
def test_no_secret_in_any_output(planted, fmt):
    text = render(audit(planted), fmt)
    assert "pop.pop.test" in text  # the report itself is there
    for secret in SECRETS:
        assert secret not in text


def test_no_secret_in_the_model(planted):
    report = audit(planted)
    everything = repr(report) + repr([dataclasses.asdict(a) for a in report.accounts])
    for secret in SECRETS:
        assert secret not in everything
