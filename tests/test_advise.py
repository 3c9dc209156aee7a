"""Every advice rule over hand-built accounts, the recommendations, and the policy's effects."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mailaudit.report
from mailaudit import providers
from mailaudit.advise import (
    HOW_TO_MOVE,
    RULES,
    Policy,
    advise,
    at_least,
    highest,
    recommend,
    set_up_in,
    shell_word,
)
from mailaudit.model import (
    PRODUCT_NAMES,
    Account,
    Candidate,
    Certificate,
    Classification,
    Client,
    Discovery,
    Endpoint,
    LocalMailbox,
    LocalStore,
    Machine,
    MachineReport,
    ProbeError,
    ProbeResult,
    ProbeStatus,
    Protocol,
    Security,
    Severity,
    Skipped,
    TlsSession,
)

from .conftest import SAMPLE, audit

KNOWN = providers.load()
GB = 1024**3


def pop(**changes) -> Account:
    base = Account(
        client=Client.THUNDERBIRD,
        user="anna",
        profile="p",
        key="k",
        name="Home",
        email="anna@mail.example",
        protocol=Protocol.POP3,
        declared_type="pop3",
        incoming=Endpoint("pop.mail.example", 995, Security.TLS, "anna", "password"),
        origin="o",
        leave_on_server=True,
        local_store=LocalStore("/Users/anna/Mail", 4 * GB),
        classification=Classification("declared type POP3, confirmed by port 995"),
    )
    return replace(base, **changes)


def imap(**changes) -> Account:
    return replace(
        pop(
            protocol=Protocol.IMAP,
            declared_type="imap",
            leave_on_server=None,
            incoming=Endpoint("imap.mail.example", 993, Security.TLS, "anna", "password"),
        ),
        **changes,
    )


def probe(**changes) -> ProbeResult:
    tls = TlsSession(
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        True,
        None,
        None,
        Certificate(
            "CN=x", "CN=ca", ("pop.mail.example",), "2030-01-01T00:00:00+00:00", 400, False
        ),
    )
    base = ProbeResult(
        "pop.mail.example", 995, "pop3", True, ProbeStatus.COMPLETED, protocol="pop3", tls=tls
    )
    return replace(base, **changes)


def rules(account: Account, policy: Policy | None = None) -> list[str]:
    report = MachineReport("0", Machine("pc", "Windows", None, "2026"), (account,))
    return [f.rule for f in advise(report, KNOWN, policy or Policy()).accounts[0].findings]


def test_every_rule_is_documented():
    readme = (SAMPLE.parent.parent.parent / "README.md").read_text()
    for rule in RULES:
        assert f"| {rule} |" in readme


def test_ma001_pop_account_and_not_for_imap():
    assert "MA001" in rules(pop())
    assert "MA001" not in rules(imap())


@pytest.mark.parametrize(
    ("leave", "days", "expected"), [(False, None, True), (True, 14, True), (True, None, False)]
)
def test_ma002_mail_only_on_this_pc(leave, days, expected):
    assert ("MA002" in rules(pop(leave_on_server=leave, leave_on_server_days=days))) is expected


def test_ma003_plaintext_configured_and_probed():
    assert "MA003" in rules(
        pop(incoming=Endpoint("pop.mail.example", 110, Security.NONE, "anna", "password"))
    )
    assert "MA003" in rules(pop(probes=(probe(tls=None),)))
    assert "MA003" not in rules(pop())


def test_ma004_starttls_where_implicit_tls_is_known():
    starttls = Endpoint("pop.gmx.net", 110, Security.STARTTLS, "a", "password")
    assert "MA004" in rules(
        pop(incoming=starttls, email="a@gmx.de")
    )  # provider data: 995 on that host
    unknown = Endpoint("pop.mail.example", 110, Security.STARTTLS, "a", "password")
    assert "MA004" not in rules(pop(incoming=unknown))


@pytest.mark.parametrize("reason", ["expired", "name mismatch", "self-signed", "untrusted chain"])
def test_ma005_certificate_not_valid(reason):
    bad = probe(tls=replace(probe().tls, verified=False, verify_error=reason, verify_detail="x"))
    assert "MA005" in rules(pop(probes=(bad,)))


def test_ma006_certificate_expiring_and_the_threshold_from_policy():
    soon = probe(
        tls=replace(probe().tls, certificate=replace(probe().tls.certificate, days_left=20))
    )
    assert "MA006" in rules(pop(probes=(soon,)))
    assert "MA006" not in rules(pop(probes=(soon,)), Policy(expiring_days=10))


def test_ma007_old_tls():
    old = probe(tls=replace(probe().tls, version="TLSv1"))
    assert "MA007" in rules(pop(probes=(old,)))


def test_ma008_conflict():
    conflicted = Classification(
        "declared type POP3", ("declared POP3 but port 993 is the standard IMAP port",)
    )
    assert "MA008" in rules(pop(classification=conflicted))


@pytest.mark.parametrize("error", [ProbeError.REFUSED, ProbeError.TIMEOUT, ProbeError.DNS])
def test_ma009_unreachable(error):
    failed = ProbeResult(
        "pop.mail.example", 995, "pop3", True, ProbeStatus.ERROR, error=error, message="x"
    )
    assert "MA009" in rules(pop(probes=(failed,)))


def test_ma010_provider_declines_imap():
    declined = Discovery("mail.example", "not offered", reason="the SRV record says so")
    account = pop(discovery=declined)
    assert "MA010" in rules(account)
    assert recommend(account, None, Policy())["action"] == "keep"  # the server keeps a copy


def test_not_offered_with_the_only_copy_here_stays_in_the_plan():
    declined = Discovery("mail.example", "not offered", reason="the SRV record says so")
    plan = recommend(pop(discovery=declined, leave_on_server=False), None, Policy())
    assert plan["action"] == "back-up"
    assert "/Users/anna/Mail (4.0 GB)" in plan["steps"][0]


@pytest.mark.parametrize("imap", ["unknown", "known"])
def test_unknown_is_never_keep(imap):
    unknown = Discovery(
        "mail.example", imap, reason="could not check: the DNS server did not answer"
    )
    for leave in (True, False):
        plan = recommend(pop(discovery=unknown, leave_on_server=leave), None, Policy())
        assert plan["action"] == "find-imap"


@pytest.mark.parametrize("discovery", [
    None,
    Discovery("mail.example", "not offered", reason="the SRV record says so"),
    Discovery("mail.example", "offered",
              best=Candidate("imap.mail.example", 993, "tls", "guess", True, True)),
])  # fmt: skip
def test_ma003_pop3_secures_the_connection_first_whatever_happens_with_imap(discovery):
    plain = pop(
        incoming=Endpoint("pop.mail.example", 110, Security.NONE, "anna", "password"),
        discovery=discovery,
    )
    assert "MA003" in rules(plain)
    plan = recommend(plain, None, Policy())
    assert plan["action"] != "keep"
    assert "SSL/TLS on port 995 (or STARTTLS on port 110)" in plan["steps"][0]
    assert "change the password" in plan["steps"][1]


def test_leave_on_server_for_days_is_not_the_only_copy():
    report = MachineReport(
        "0", Machine("pc", "Windows", None, "2026"), (pop(leave_on_server_days=14),)
    )
    (finding,) = [
        f for f in advise(report, KNOWN, Policy()).accounts[0].findings if f.rule == "MA002"
    ]
    assert finding.detail.startswith("Mail older than 14 days exists only on this computer")
    assert "only copy" not in finding.detail


def test_a_store_on_another_drive_is_named_by_its_path():
    elsewhere = LocalStore("D:\\Mail\\Outlook.pst", 0, exists=False, measured=False)
    account = pop(client=Client.OUTLOOK, leave_on_server=False, local_store=elsewhere)
    report = advise(
        MachineReport("0", Machine("pc", "Windows", None, "2026"), (account,)), KNOWN, Policy()
    )
    (finding,) = [f for f in report.accounts[0].findings if f.rule == "MA002"]
    assert "D:\\Mail\\Outlook.pst: not on this disk, not measured" in finding.detail
    steps = " ".join(report.accounts[0].recommendation["steps"])
    assert "D:\\Mail\\Outlook.pst (not on this disk, not measured)" in steps


def test_windows_accounts_show_windows_paths():
    store = LocalStore("/Users/anna/AppData/Roaming/Thunderbird/Profiles/p/Mail/pop", 1000)
    account = pop(leave_on_server=False, local_store=store, platform="windows")
    report = advise(
        MachineReport("0", Machine("pc", "Windows", None, "2026"), (account,)), KNOWN, Policy()
    )
    text = " ".join(f.detail for f in report.accounts[0].findings)
    assert "C:\\Users\\anna\\AppData\\Roaming\\Thunderbird\\Profiles\\p\\Mail\\pop" in text
    assert "/Users/anna" not in text
    mac = advise(
        MachineReport(
            "0", Machine("pc", "macOS", None, "2026"), (replace(account, platform="macos"),)
        ),
        KNOWN,
        Policy(),
    )
    assert "/Users/anna/AppData" in " ".join(f.detail for f in mac.accounts[0].findings)


def test_the_sample_names_the_store_on_drive_d_in_every_format():
    from mailaudit.report import Format, render

    report = audit(SAMPLE)
    frank = next(a for a in report.accounts if a.user == "frank")
    assert frank.platform == "windows"
    for fmt in Format:
        text = render(report, fmt)
        assert "D:\\Mail\\Outlook.pst" in text.replace("\\\\", "\\"), fmt
        if fmt is not Format.CSV:  # a CSV's local_bytes cell stays empty: a number or nothing
            assert "not on this disk" in text, fmt


def test_ma011_oauth_required_with_a_password():
    m365 = imap(
        incoming=Endpoint("outlook.office365.com", 993, Security.TLS, "a", "password"),
        email="a@firma.onmicrosoft.com",
    )
    assert "MA011" in rules(m365)
    assert "MA011" not in rules(replace(m365, incoming=replace(m365.incoming, auth="oauth2")))
    assert (
        recommend(m365, next(p for p in KNOWN if p.key == "microsoft365"), Policy())["action"]
        == "use-oauth"
    )


def test_ma012_unreadable_sources_are_machine_findings():
    report = MachineReport(
        "0",
        Machine("pc", "Windows", None, "2026"),
        (),
        (Skipped("thunderbird", "/x/prefs.js", "damaged"),),
    )
    advised = advise(report, KNOWN, Policy())
    assert [f.rule for f in advised.findings] == ["MA012"]
    assert advised.findings[0].detail == "/x/prefs.js: damaged"


def test_switch_plan_with_settings_backup_client_way_and_overnight_upload():
    best = Candidate("imap.mail.example", 993, "tls", "SRV _imaps._tcp.mail.example", True, True)
    account = pop(leave_on_server=False, discovery=Discovery("mail.example", "offered", best=best))
    plan = recommend(account, None, Policy(uplink_mbit=10))
    assert plan["action"] == "switch-to-imap"
    assert plan["settings"] == {
        "server": "imap.mail.example",
        "port": 993,
        "security": "SSL/TLS",
        "username": "anna",
        "sign_in": "password",
    }
    steps = "\n".join(plan["steps"])
    assert "from SRV _imaps._tcp.mail.example, probed and answering" in steps
    assert (
        "Back up first: `mailaudit backup --to E:\\` copies the local mail store "
        "/Users/anna/Mail (4.0 GB)." in steps
    )
    assert "Copy To" in steps  # Thunderbird's way
    assert "about 58 minutes" in steps and "overnight" not in steps  # 4 GiB at 10 Mbit/s
    slow = recommend(account, None, Policy(uplink_mbit=2))
    assert "overnight" in "\n".join(slow["steps"]) and slow["upload_hours"] > 4


@pytest.mark.parametrize(
    ("client", "phrase"),
    [(Client.OUTLOOK, "drag the folders"), (Client.APPLE_MAIL, "drag the mailboxes")],
)
def test_the_way_to_move_folders_depends_on_the_client(client, phrase):
    best = Candidate("imap.mail.example", 993, "tls", "guess", True, True)
    plan = recommend(
        pop(client=client, discovery=Discovery("mail.example", "offered", best=best)),
        None,
        Policy(),
    )
    assert phrase in "\n".join(plan["steps"])


def test_policy_changes_severity_and_ignores_rules_and_accounts():
    account = pop(leave_on_server=False)
    report = MachineReport("0", Machine("pc", "W", None, "2026"), (account,))
    advised = advise(
        report,
        KNOWN,
        Policy(severities={"MA002": Severity.CRITICAL}, ignored_rules=frozenset({"MA001"})),
    )
    assert [(f.rule, f.severity) for f in advised.accounts[0].findings] == [
        ("MA002", Severity.CRITICAL)
    ]
    assert highest(advised) is Severity.CRITICAL and at_least(Severity.CRITICAL, Severity.HIGH)
    quiet = advise(report, KNOWN, Policy(ignored_accounts=frozenset({"anna@mail.example"})))
    assert quiet.accounts[0].findings == ()


def test_the_sample_machine_gets_a_plan():
    report = audit(SAMPLE)
    actions = {a.name: a.recommendation["action"] for a in report.accounts}
    assert actions["anna.weber@gmx.de"] == "switch-to-imap"
    assert actions["Kanzlei (Microsoft 365)"] == "keep"  # already IMAP with OAuth2
    assert actions["Büro (POP)"] == "find-imap"  # the office's own server: offline, unknown
    gmx = next(a for a in report.accounts if a.name == "anna.weber@gmx.de")
    assert gmx.recommendation["settings"]["server"] == "imap.gmx.net"
    assert {f.rule for f in gmx.findings} == {"MA001", "MA002"}


@pytest.mark.parametrize("client", list(Client))
def test_every_client_has_a_name_a_way_to_move_and_a_schema_entry(client):
    schema = json.loads((Path(mailaudit.report.__file__).parent / "schema-v1.json").read_text())
    clients = schema["$defs"]["account"]["properties"]["client"]["enum"]
    assert client.value in clients
    assert PRODUCT_NAMES[client].strip() and set_up_in(client).strip()
    assert client in HOW_TO_MOVE


def commands(report: MachineReport) -> list[str]:
    """Every `mailaudit ...` command the plan names, accounts' and local mailboxes' alike."""
    plans = [a.recommendation for a in report.accounts] + [
        m.recommendation for m in report.local_mailboxes
    ]
    steps = [step for plan in plans if plan for step in plan["steps"]]
    return [
        "mailaudit " + found.split("`")[0].rstrip(".")
        for step in steps
        for found in step.split("mailaudit ")[1:]
        if found.startswith(("backup ", "migrate "))
    ]


@pytest.mark.parametrize(
    ("root", "written", "drive"),
    [
        (None, "", None),
        ("/mnt/client", " --root /mnt/client", "/media/backup"),
        ("/mnt/Anna's PC (2)", " --root '/mnt/Anna'\"'\"'s PC (2)'", "/media/backup"),
        ("/Volumes/Client", " --root /Volumes/Client", "/Volumes/Backup"),
        ("E:\\", " --root E:\\", "F:\\"),
        ("D:\\Client PC\\", ' --root "D:\\Client PC"', "E:\\"),
        ("\\\\nas\\client", " --root \\\\nas\\client", "E:\\"),  # a UNC path: Windows
    ],
)
def test_the_plans_commands_read_the_same_mounted_disk(root, written, drive):
    """Without --root, `mailaudit backup` and `migrate` would read the workbench itself. With
    it, they run on the workbench: the example backup drive is named as the workbench names
    one (its mount point tells which system it is), not as the audited machine does."""
    best = Candidate("imap.mail.example", 993, "tls", "guess", True, True)
    offered = pop(leave_on_server=False, discovery=Discovery("mail.example", "offered", best=best))
    unknown = pop(key="k2", discovery=Discovery("mail.example", "unknown", reason="offline"))
    declined = pop(
        key="k3", leave_on_server=False, discovery=Discovery("mail.example", "not offered")
    )
    on_my_mac = LocalMailbox(
        Client.APPLE_MAIL, "mia", "V10", "On My Mac", LocalStore("/Users/mia/Library/Mail", 9), "o"
    )
    report = MachineReport(
        "0",
        Machine("pc", "Windows", root, "2026"),
        (offered, unknown, declined),
        local_mailboxes=(on_my_mac,),
    )
    found = commands(advise(report, KNOWN, Policy()))
    windows, mac = drive or "E:\\", drive or "/Volumes/Backup"
    assert found == [
        f"mailaudit backup{written} --to {windows}",  # the plan to move to IMAP: back up first
        f"mailaudit migrate --account {offered.id}{written} "
        "--to imaps://anna@imap.mail.example:993",
        f"mailaudit backup{written} --to {windows}",  # IMAP not known yet: back up until then
        f"mailaudit backup{written} --to {windows}",  # no IMAP: the only copy, backed up
        f"mailaudit backup{written} --to {mac}",  # a local mailbox
    ]
    if root is None:
        assert not any("--root" in command for command in found)


def test_the_sample_machines_commands_name_its_root():
    report = audit(SAMPLE)
    found = commands(report)
    assert found and all(f" --root {shell_word(str(SAMPLE))} --to " in c for c in found)


@pytest.mark.parametrize(
    "path",
    ["/mnt/client", "/mnt/Anna's PC", '/mnt/$HOME `id` \\n "x"', "/mnt/a;b&c|d*", "-dash"],
)
def test_a_posix_root_is_read_back_by_a_real_shell(path):
    shown = subprocess.run(
        ["sh", "-c", f"printf %s {shell_word(path)}"], capture_output=True, check=True
    ).stdout.decode()
    assert shown == path


@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])))
def test_any_posix_root_is_one_word(path):
    if path[1:2] == ":" or path.startswith("\\\\"):  # a Windows path: quoted its own way
        return
    assert shlex.split(f"mailaudit backup --root {shell_word(path)} --to x") == [
        "mailaudit", "backup", "--root", path, "--to", "x"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "word"),
    [
        ("E:\\", "E:\\"),
        ("E:\\disk\\pc-7", "E:\\disk\\pc-7"),
        ("D:\\Client PC\\", '"D:\\Client PC"'),  # a '\\"' would escape the quote
        ("D:\\a,b", '"D:\\a,b"'),  # ',' makes an array in PowerShell
        ("D:\\50% $off", "'D:\\50% $off'"),  # expanded in double quotes
        ("D:\\Anna's $x", "'D:\\Anna''s $x'"),
        ("\\\\nas\\Client PC", '"\\\\nas\\Client PC"'),
    ],
)
def test_a_windows_root_is_quoted_for_cmd_and_powershell(path, word):
    assert shell_word(path) == word
