"""Postbox: Thunderbird's reader on Postbox's profile folders, with Postbox's own default of
leaving POP3 mail on the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailaudit.model import Client, Protocol

from .conftest import audit, by_name, pop_and_imap, write_profile


@pytest.mark.parametrize(
    ("home", "root"),
    [
        ("Users/pat", "AppData/Roaming/Postbox"),
        ("Users/pat", "AppData/Roaming/PostboxApp"),
        ("Users/pat", "Library/Application Support/Postbox"),
        ("Users/pat", "Library/Application Support/PostboxApp"),
    ],
)
def test_postbox_profiles_are_found(tmp_path: Path, home: str, root: str):
    write_profile(tmp_path / home, pop_and_imap(), root=root, folder="Profiles/x.default")
    accounts = by_name(audit(tmp_path))
    assert {a.client for a in accounts.values()} == {Client.POSTBOX}
    assert accounts["POP account"].protocol is Protocol.POP3


def test_postbox_leaves_pop3_mail_on_the_server_by_default(tmp_path: Path):
    prefs = pop_and_imap()  # no leave_on_server pref: the product's default applies
    write_profile(tmp_path / "Users/pat", prefs, root="AppData/Roaming/Postbox")
    write_profile(tmp_path / "Users/tom", prefs, root="AppData/Roaming/Thunderbird")
    pops = {a.client: a for a in audit(tmp_path).accounts if a.protocol is Protocol.POP3}
    assert pops[Client.POSTBOX].leave_on_server is True
    assert pops[Client.THUNDERBIRD].leave_on_server is False


def test_postbox_pref_saying_no_wins(tmp_path: Path):
    prefs = pop_and_imap() | {"mail.server.server1.leave_on_server": False}
    write_profile(tmp_path / "Users/pat", prefs, root="AppData/Roaming/Postbox")
    assert by_name(audit(tmp_path))["POP account"].leave_on_server is False
