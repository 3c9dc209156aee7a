"""--redact hides the people: every user name in every path (users without accounts too), login
names, account names, the machine's name; the provider's domain stays unless --redact-domains."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import string
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit import providers
from mailaudit.advise import Policy, advise
from mailaudit.machine import NOT_USERS
from mailaudit.model import Machine, MachineReport, Skipped
from mailaudit.redact import redact
from mailaudit.report import Format, render

from .conftest import SAMPLE, audit

# On the sample machine: dieter has no account (his prefs.js is damaged: he appears only in
# paths under skipped), Frank's Outlook account is named after him.
PEOPLE = ("anna", "bernd", "carla", "dieter", "erika", "frank", "Frank Ott", "Büro", "empfang")
ADDRESSES = ("anna.weber@", "bernd.kraus@", "frank.ott@", "carla.lenz@")
# The same addresses as a migrate command's imaps:// URL writes them (RFC 3986: %40 for @).
ADDRESSES += tuple(a.replace("@", "%40") for a in (*ADDRESSES, "b.kraus@", "carla@"))
DOMAINS = ("weber-partner.example", "buchhaltung-lenz.example", "atelier-mia.example")


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return audit(SAMPLE)


def as_read(report, fmt):  # type: ignore[no-untyped-def]
    """The report as its reader reads it: HTML without its tags, whose break opportunities
    inside addresses and paths would otherwise hide a name from a plain search."""
    text = render(report, fmt)
    if fmt is Format.HTML:
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


@pytest.mark.parametrize("fmt", list(Format))
def test_no_person_in_any_format(report, fmt):
    shown = as_read(report, fmt)
    assert "Frank Ott (Büro)" in shown  # the test can fail
    assert "dieter" in shown or fmt is Format.CSV  # one row per account: no skipped files
    hidden = as_read(redact(report), fmt)
    for secret in (*PEOPLE, *ADDRESSES, str(SAMPLE)):
        assert secret.lower() not in hidden.lower(), (fmt, secret)
    for domain in DOMAINS:  # they name the provider: kept unless asked
        assert domain in hidden, (fmt, domain)


@pytest.mark.parametrize("fmt", list(Format))
def test_redact_domains_hides_the_domains_too(report, fmt):
    hidden = as_read(redact(report, domains=True), fmt)
    for secret in (*PEOPLE, *ADDRESSES, *DOMAINS):
        assert secret.lower() not in hidden.lower(), (fmt, secret)
    assert "pop.gmx.net" in hidden  # a provider's server under no address's domain stays


def test_tokens_are_consistent(report):
    hidden = redact(report)
    dieter = [s for s in hidden.skipped if "/home/user" in s.origin]
    assert dieter, [s.origin for s in hidden.skipped]
    token = dieter[0].origin.split("/")[2]
    assert all(f"/home/{token}/" in s.origin for s in dieter)
    assert token not in {a.user for a in hidden.accounts}  # a user of their own
    frank = [a for a in hidden.accounts if a.email and a.email.startswith("mailbox")]
    assert len({a.email for a in frank}) == len(frank)
    names = {a.name for a in hidden.accounts}
    assert "account1" in names
    with_domains = redact(report, domains=True)
    hosts = {a.incoming.host for a in with_domains.accounts if a.incoming.host}
    assert any(h.startswith("mail.domain") and h.endswith(".example") for h in hosts)


def test_an_account_name_changes_only_in_its_own_record(report):
    hidden = redact(report)
    google = [a for a in hidden.accounts if a.incoming.host == "imap.gmail.com"]
    assert all(a.name != "Google" for a in google)
    # Provider names are not account names: they stay in the other accounts' discovery.
    text = render(hidden, Format.JSON)
    assert "GMX" in text and "STRATO" in text


def test_the_command_line_redacts_every_format(tmp_path):
    for fmt in ("table", "json", "markdown", "html", "csv"):
        scan = ["scan", "--root", str(SAMPLE), "--offline", "--redact", "--redact-domains"]
        result = subprocess.run(
            [sys.executable, "-m", "mailaudit", *scan, "-q", "--format", fmt],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        for secret in (*PEOPLE, *ADDRESSES, *DOMAINS):
            assert secret.lower() not in result.stdout.lower(), (fmt, secret)
        if fmt == "json":
            assert json.loads(result.stdout)["summary"]["accounts"] == 19


def plan_steps(report: MachineReport) -> str:
    return "\n".join(step for a in report.accounts if a.recommendation
                     for step in a.recommendation["steps"])  # fmt: skip


def test_the_root_in_the_plans_commands_is_hidden(report):
    """The plan's commands repeat --root, quoted for the shell: hidden in that form too."""
    root = "/mnt/Zeno Quast's PC"  # no user's name: only the --root rule can hide it
    machine = dataclasses.replace(report.machine, root=root)
    mounted = advise(dataclasses.replace(report, machine=machine), providers.load(), Policy())
    assert "--root '/mnt/Zeno Quast'\"'\"'s PC' --to" in plan_steps(mounted)  # it can fail
    hidden = redact(mounted)
    assert "--root <root> --to" in plan_steps(hidden)
    for fmt in Format:
        shown = as_read(hidden, fmt)
        for secret in ("Zeno", "Quast", "/mnt"):
            assert secret not in shown, (fmt, secret)


NAME = st.text(alphabet=string.ascii_letters + "äöüßÉ -_.'", min_size=2, max_size=24).filter(
    lambda n: n == n.strip(" .,;)'") and not n.startswith(".") and n.lower() not in NOT_USERS
)


@settings(max_examples=60, deadline=None)
@given(names=st.lists(NAME, min_size=1, max_size=6, unique_by=str.lower))
def test_any_user_name_in_any_path_is_hidden(names):
    # Users with no account: they appear only in the paths of what could not be read.
    skipped = tuple(
        Skipped("Outlook", f"C:\\Users\\{name}\\NTUSER.DAT", "cannot be read")
        if index % 2
        else Skipped("Thunderbird", f"/home/{name}/.thunderbird/prefs.js", "cut off")
        for index, name in enumerate(names)
    )
    report = MachineReport(
        "0.1.0", Machine("pc", "Windows", None, "2026-12-03T09:00:00+00:00"), (), skipped
    )
    for item in redact(report).skipped:
        for name in names:
            assert f"/home/{name}/" not in item.origin
            assert f"\\Users\\{name}\\" not in item.origin
        assert item.origin.startswith(("/home/user", "C:\\Users\\user")), item.origin
