"""Which users a machine has, live or under --root, and how client paths map onto the root."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import pytest

from mailaudit.machine import MachineFiles, describe_machine

from .conftest import SAMPLE, audit, pop_and_imap, write_profile


def test_people_under_users_home_and_root_but_not_system_profiles(machine):
    for folder in (
        "Users/anna",
        "Documents and Settings/xaver",
        "Documents and Settings/LocalService",
        "Users/Public",
        "Users/Default",
        "Users/Default User",
        "Users/All Users",
        "Users/desktop.ini",
        "Users/.localized",
        "Users/Shared",
        "home/carla",
        "home/lost+found",
        "root",
    ):
        (machine / folder).mkdir(parents=True)
    names = [u.name for u in MachineFiles(machine).users()]
    assert names == ["anna", "carla", "root", "xaver"]


def test_each_account_records_its_os_user(machine):
    write_profile(machine / "Users" / "anna", pop_and_imap(), root="AppData/Roaming/Thunderbird")
    write_profile(machine / "home" / "carla", pop_and_imap())
    users = sorted({(a.user, a.profile.split("/")[1]) for a in audit(machine).accounts})
    assert users == [("anna", "Users"), ("carla", "home")]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("C:\\Users\\anna\\AppData\\x", "Users/anna/AppData/x"),
        ("c:/Users/anna/x", "Users/anna/x"),
        ("/home/carla/.thunderbird/x", "home/carla/.thunderbird/x"),
    ],
)
def test_absolute_client_paths_land_inside_the_root(machine, written, expected):
    assert MachineFiles(machine).client_path(written, machine / "elsewhere") == machine / expected


def test_relative_client_paths_use_the_base(machine):
    assert (
        MachineFiles(machine).client_path("Profiles\\x", machine / "tb")
        == machine / "tb" / "Profiles" / "x"
    )


def test_live_machine_reads_the_current_users_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_profile(tmp_path, pop_and_imap())
    if os.geteuid() == 0:  # as root every readable home is read too; ours must be among them
        assert any(u.home == tmp_path for u in MachineFiles(None).users())
    else:
        assert MachineFiles(None).users()[0].home == tmp_path
    report = audit(None)
    ours = [a for a in report.accounts if a.profile.startswith(str(tmp_path))]
    assert {a.user for a in ours} == {getpass.getuser()}
    assert len(ours) == 2
    assert report.machine.root is None


def test_sample_machine_description():
    hostname, system = describe_machine(MachineFiles(SAMPLE))
    assert hostname == "empfang-pc"
    assert system == "Windows + Debian GNU/Linux 12 (bookworm)"


def test_a_bare_folder_is_described_by_its_name(machine):
    assert describe_machine(MachineFiles(machine)) == ("machine", "unknown")


def test_display_paths_read_as_on_the_audited_machine(machine):
    files = MachineFiles(machine)
    assert files.display(machine / "Users" / "a b" / "x") == "/Users/a b/x"
    assert files.display(machine) == "/"
    assert MachineFiles(None).display(Path("/x/y")) == "/x/y"
