"""The fleet summary: twenty machines' reports read back, refused files, totals and renderers.

The reports start from the sample machine's real JSON and vary per machine; every expected
figure is counted here from the dicts written, not taken from mailaudit.fleet.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mailaudit.audit import AuditOptions, run_audit
from mailaudit.fleet import (
    MAX_REPORT_BYTES,
    FleetSummary,
    LoadedReport,
    Refused,
    read_reports,
    summarize,
)
from mailaudit.report.fleet_report import FORMATS, render
from mailaudit.report.json_report import to_dict
from mailaudit.units import human_bytes

from .conftest import SAMPLE

HOSTILE_NAME = "a|b <script>x</script>\nnext"
SHARED_HOST = "pop.shared-office.example"
SHARED_LOGIN = "team@shared-office.example"
SHARED_ON = (3, 7, 12)  # the machines where one POP3 mailbox is downloaded
BY_ADDRESS_ON = (1, 16)  # a mailbox whose clients name no username: matched by address
DUPLICATE_HOSTNAME_ON = (18, 19)  # two reports of machines both called "buero-pc"
# Sum of the local stores of the sample's POP3 accounts the server does not keep, by hand:
# anna 78339 + bernd 48848 (14 days) + bernd 4390 + carla 138904 + erika 50331648
# + frank 0 (not measured, on drive D:) + mia 32250 (7 days) + gerda 34162 (Windows Live Mail)
# + heinz 16530 (Evolution, 14 days) + heinz 14877 (Claws Mail, 7 days); and mia's On My Mac, a
# local mailbox of no account, 19 291 (find ... -type f -printf "%s" over its folder), and
# gerda's Windows Live Mail "Storage Folders", 5 152.
SAMPLE_BYTES_ONLY_ON_PC = 50_699_948 + 19_291 + 5_152


def load(paths: list[Path]) -> tuple[list[LoadedReport], list[Refused]]:
    items = list(read_reports(paths))
    loaded = [item for item in items if isinstance(item, LoadedReport)]
    return loaded, [item for item in items if isinstance(item, Refused)]


@pytest.fixture(scope="module")
def sample_document() -> dict[str, Any]:
    report = run_audit(AuditOptions(root=SAMPLE, offline=True))
    return json.loads(json.dumps(to_dict(report)))  # as a reader of the file gets it


def pop3_account(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    account = copy.deepcopy(base)
    incoming = changes.pop("incoming", {})
    account.update(changes)
    account["incoming"] = {**account["incoming"], **incoming}
    return account


def machine_document(sample: dict[str, Any], number: int) -> dict[str, Any]:
    """Machine `number` of the fleet: the sample with fewer accounts, bigger stores, own logins."""
    document = copy.deepcopy(sample)
    document["machine"]["hostname"] = (
        "buero-pc" if number in DUPLICATE_HOSTNAME_ON else f"pc-{number:02d}"
    )
    # Each machine keeps a different three quarters of the sample's accounts, each with a login
    # of its own: the sample's mailboxes must not look split across the fleet.
    accounts = [a for i, a in enumerate(document["accounts"]) if (i + number) % 4 != 0]
    for account in accounts:
        if account["protocol"] == "pop3":
            incoming = account["incoming"]
            incoming["username"] = f"m{number}-{incoming['username']}"
    template = next(a for a in sample["accounts"] if a["user"] == "carla")  # Thunderbird POP3
    if number in SHARED_ON:
        accounts.append(
            pop3_account(
                template,
                user=f"staff{number}",
                name="Team",
                # Case differs per machine: host names and logins are matched case-insensitively.
                incoming={
                    "host": SHARED_HOST.upper() if number == 7 else SHARED_HOST,
                    "username": SHARED_LOGIN.title() if number == 12 else SHARED_LOGIN,
                },
                local_store={**template["local_store"], "path": f"/team/{number}", "bytes": 1000},
            )
        )
    if number == 7:  # the same mailbox twice on one machine: still three machines
        accounts.append(
            pop3_account(
                template,
                user="second-user",
                name="Team too",
                incoming={"host": SHARED_HOST, "username": SHARED_LOGIN},
                local_store=None,
            )
        )
    if number in BY_ADDRESS_ON:
        accounts.append(
            pop3_account(
                template,
                name="Info",
                email="Info@Praxis.example" if number == 1 else "info@praxis.example",
                incoming={"host": "pop.praxis.example", "username": None},
            )
        )
    if number in DUPLICATE_HOSTNAME_ON:
        accounts.append(
            pop3_account(
                template, name="Dup", incoming={"host": "pop.dup.example", "username": "d"}
            )
        )
    if number == 15:  # two users of one machine share a mailbox: nothing split
        for user in ("lisa", "tom"):
            accounts.append(
                pop3_account(
                    template, user=user, incoming={"host": "pop.family.example", "username": "f"}
                )
            )
    if number == 9:
        # The shared mailbox's login on another server: a different mailbox.
        accounts.append(
            pop3_account(template, name="Other host", incoming={"username": SHARED_LOGIN})
        )
    if number == 5:
        # A second account delivering into carla's Local Folders: one store, counted once.
        accounts.append(
            pop3_account(
                template, name="Global Inbox too", incoming={"username": "second@ionos.example"}
            )
        )
        # Kept on the server for good: its store is not the only copy.
        accounts.append(
            pop3_account(
                template,
                name="Kept on server",
                leave_on_server=True,
                leave_on_server_days=None,
                incoming={"username": "kept"},
                local_store={**template["local_store"], "path": "/kept", "bytes": 999_999},
            )
        )
        # Not known whether the server keeps the mail: not counted either.
        accounts.append(
            pop3_account(
                template,
                name="Unknown",
                leave_on_server=None,
                incoming={"username": "unknown"},
                local_store={**template["local_store"], "path": "/unknown", "bytes": 555_555},
            )
        )
    if number == 4:
        accounts.append(
            pop3_account(template, name=HOSTILE_NAME, client="geary", incoming={"username": "h"})
        )
    for account in accounts:
        if account["local_store"] is not None:
            # Depends on the size only, so accounts sharing a store still agree on it.
            account["local_store"]["bytes"] = account["local_store"]["bytes"] * (number + 1) + 7
    document["accounts"] = accounts
    protocols = Counter(a["protocol"] for a in accounts)
    document["summary"] = {"accounts": len(accounts)} | {
        p: protocols[p] for p in ("pop3", "imap", "exchange", "other")
    }
    return document


@pytest.fixture(scope="module")
def fleet(sample_document, tmp_path_factory) -> dict[str, Any]:
    """Twenty machines' reports on disk, two files to refuse, and the summary of them all."""
    root = tmp_path_factory.mktemp("fleet")
    branch = root / "branch"  # passed as a folder
    branch.mkdir()
    documents = [machine_document(sample_document, number) for number in range(20)]
    paths = []
    for number, document in enumerate(documents):
        folder = branch if number >= 15 else root
        path = folder / f"machine-{number:02d}.json"
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    future = copy.deepcopy(documents[0])
    future["schema_version"] = 2
    (branch / "future.json").write_text(json.dumps(future))
    (branch / "notes.json").write_text("machine 21: ask Frank for the password\n")
    (branch / "readme.txt").write_text("not a report, not even looked at")
    given = [*paths[:15], paths[3], branch]  # machine 3 twice: read once
    loaded, refused = load(given)
    return {
        "documents": documents,
        "paths": paths,
        "branch": branch,
        "loaded": loaded,
        "refused": refused,
        "summary": summarize(loaded),
    }


def test_every_machine_is_read_once_and_in_order(fleet):
    assert [report.path for report in fleet["loaded"]] == fleet["paths"]
    assert [r.document["machine"]["hostname"] for r in fleet["loaded"]] == [
        d["machine"]["hostname"] for d in fleet["documents"]
    ]


def test_a_newer_schema_and_a_file_that_is_not_json_are_refused(fleet):
    reasons = {Path(refused.path).name: refused.reason for refused in fleet["refused"]}
    assert reasons["future.json"] == (
        "schema_version 2 is newer than this mailaudit reads (1): update mailaudit"
    )
    assert reasons["notes.json"].startswith("not JSON: ")
    assert set(reasons) == {"future.json", "notes.json"}


def test_totals_by_protocol_and_client(fleet):
    accounts = [a for d in fleet["documents"] for a in d["accounts"]]
    protocols = Counter(a["protocol"] for a in accounts)
    totals = fleet["summary"].totals
    assert totals.machines == 20
    assert totals.accounts == len(accounts)
    assert (totals.pop3, totals.imap, totals.exchange, totals.other) == (
        protocols["pop3"],
        protocols["imap"],
        protocols["exchange"],
        protocols["other"],
    )
    by_client = {c.client: c.accounts for c in totals.by_client}
    assert by_client == dict(Counter(a["client"] for a in accounts))
    assert by_client["geary"] == 1  # a client this mailaudit has no enum member for
    counts = [c.accounts for c in totals.by_client]
    assert counts == sorted(counts, reverse=True)


def test_each_machine_is_summarised(fleet):
    machines = fleet["summary"].machines
    for machine, document, path in zip(machines, fleet["documents"], fleet["paths"], strict=True):
        assert machine.hostname == document["machine"]["hostname"]
        assert machine.generated_at == document["machine"]["generated_at"]
        assert machine.report == str(path)
        assert machine.accounts == len(document["accounts"])
        assert machine.pop3 == sum(a["protocol"] == "pop3" for a in document["accounts"])
        assert machine.bytes_only_here == expected_bytes_only_on_pc([document])
    # Two reports of machines both called buero-pc: told apart by their report file.
    labels = [machine.machine for machine in machines]
    assert labels[0] == "pc-00"
    assert labels[18] == f"buero-pc ({fleet['paths'][18]})"
    assert len(set(labels)) == 20


def expected_bytes_only_on_pc(documents: list[dict[str, Any]]) -> int:
    """Each machine's distinct stores of POP3 accounts whose server does not keep the mail, and
    its local mailboxes (in reports before 0.2: accounts of declared type "local")."""
    total = 0
    for document in documents:
        stores: dict[str, int] = {}
        for account in document["accounts"]:
            deletes = account["leave_on_server"] is False or (
                account["leave_on_server"] and account["leave_on_server_days"] is not None
            )
            if account["protocol"] == "pop3" and deletes and account["local_store"]:
                stores[account["local_store"]["path"]] = account["local_store"]["bytes"]
            if account["declared_type"] == "local":
                stores[account["local_store"]["path"]] = account["local_store"]["bytes"]
        for mailbox in document.get("local_mailboxes", []):
            stores[mailbox["local_store"]["path"]] = mailbox["local_store"]["bytes"]
        total += sum(stores.values())
    return total


def test_bytes_held_only_on_pcs(fleet, sample_document, tmp_path):
    summary = fleet["summary"]
    assert summary.totals.bytes_only_on_pcs == expected_bytes_only_on_pc(fleet["documents"])
    # Machine 5: Local Folders shared by two accounts counts once; the stores of the account
    # the server keeps and of the one nobody knows about not at all.
    stores = {
        a["name"]: a["local_store"]
        for a in fleet["documents"][5]["accounts"]
        if a["protocol"] == "pop3" and a["local_store"]
    }
    sharing = [
        a
        for a in summary.pop3_accounts
        if a.hostname == "pc-05" and a.local_store_path == stores["Buchhaltung Lenz"]["path"]
    ]
    assert [a.name for a in sharing] == ["Buchhaltung Lenz", "Global Inbox too"]
    every_pop3_store_once_per_account = sum(store["bytes"] for store in stores.values())
    local = expected_bytes_only_on_pc(
        [
            {"accounts": [], **fleet["documents"][5]}
            | {
                "accounts": [
                    a for a in fleet["documents"][5]["accounts"] if a["protocol"] != "pop3"
                ]
            }
        ]
    )
    assert summary.machines[5].bytes_only_here == (
        local
        + every_pop3_store_once_per_account
        - stores["Global Inbox too"]["bytes"]
        - stores["Kept on server"]["bytes"]
        - stores["Unknown"]["bytes"]
    )
    # The sample alone, against the sum done by hand.
    alone = summarize(loaded_from(tmp_path, sample_document))
    assert alone.totals.bytes_only_on_pcs == SAMPLE_BYTES_ONLY_ON_PC
    # Ten POP3 stores, On My Mac, gerda's Storage Folders and erika's "Archiv 2019", a PST of
    # no account whose place the Outlook profile does not record: not measured, like frank's
    # PST on drive D:.
    assert alone.totals.stores_only_on_pcs == 13
    assert alone.totals.stores_not_measured == 2


def loaded_from(folder: Path, document: dict[str, Any]):
    folder.mkdir(exist_ok=True)
    (folder / "report.json").write_text(json.dumps(document))
    loaded, refused = load([folder])
    assert refused == []
    return loaded


def test_pop3_accounts_carry_their_machine(fleet):
    summary = fleet["summary"]
    pop3 = [
        (d["machine"]["hostname"], a)
        for d in fleet["documents"]
        for a in d["accounts"]
        if a["protocol"] == "pop3"
    ]
    assert len(summary.pop3_accounts) == len(pop3) == summary.totals.pop3
    for listed, (hostname, account) in zip(summary.pop3_accounts, pop3, strict=True):
        assert (listed.hostname, listed.user, listed.client, listed.name) == (
            hostname,
            account["user"],
            account["client"],
            account["name"],
        )
        assert (listed.host, listed.port, listed.email) == (
            account["incoming"]["host"],
            account["incoming"]["port"],
            account["email"],
        )
        assert listed.leave_on_server == account["leave_on_server"]
        assert listed.leave_on_server_days == account["leave_on_server_days"]
        store = account["local_store"] or {}
        assert (listed.local_store_path, listed.local_store_bytes) == (
            store.get("path"),
            store.get("bytes"),
        )


def test_a_mailbox_downloaded_on_several_machines_is_found(fleet):
    split = {(m.host, m.login): m for m in fleet["summary"].split_mailboxes}
    assert set(split) == {
        (SHARED_HOST, SHARED_LOGIN),
        ("pop.praxis.example", "info@praxis.example"),
        ("pop.dup.example", "d"),
    }
    shared = split[(SHARED_HOST, SHARED_LOGIN)]
    assert shared.machines == ("pc-03", "pc-07", "pc-12")
    assert [(a.machine, a.user, a.client) for a in shared.accounts] == [
        ("pc-03", "staff3", "thunderbird"),
        ("pc-07", "staff7", "thunderbird"),
        ("pc-07", "second-user", "thunderbird"),
        ("pc-12", "staff12", "thunderbird"),
    ]
    assert split[("pop.praxis.example", "info@praxis.example")].machines == ("pc-01", "pc-16")
    assert split[("pop.dup.example", "d")].machines == tuple(
        f"buero-pc ({fleet['paths'][number]})" for number in DUPLICATE_HOSTNAME_ON
    )


def test_every_format_renders(fleet):
    summary: FleetSummary = fleet["summary"]
    for fmt in FORMATS:
        assert "pc-12" in render(summary, fmt)
    document = json.loads(render(summary, "json"))
    assert document["schema_version"] == 1
    assert document["tool"]["name"] == "mailaudit"
    assert document["fleet"]["totals"]["bytes_only_on_pcs"] == summary.totals.bytes_only_on_pcs
    assert len(document["fleet"]["split_mailboxes"]) == 3
    table = render(summary, "table")
    assert f"{summary.totals.machines} machine(s), {summary.totals.accounts} account(s)" in table
    assert f"- {SHARED_LOGIN} at {SHARED_HOST}: pc-03: staff3 (thunderbird, Team);" in table
    with pytest.raises(ValueError, match="table, json, markdown or html, not pdf"):
        render(summary, "pdf")


def test_markdown_summary_and_tables(fleet):
    summary: FleetSummary = fleet["summary"]
    markdown = render(summary, "markdown")
    assert markdown.startswith("# Mail accounts on 20 machine(s)\n")
    assert f"Mail held only on PCs: {human_bytes(summary.totals.bytes_only_on_pcs)}" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    # Header and rule for three tables, then one row per machine, POP3 account and split mailbox.
    assert len(rows) == 6 + 20 + summary.totals.pop3 + 3


def test_markdown_and_table_make_hostile_names_inert(fleet):
    summary: FleetSummary = fleet["summary"]
    markdown = render(summary, "markdown")
    assert "a\\|b &lt;script&gt;x&lt;/script&gt; next" in markdown
    assert "<script" not in markdown
    hostile_row = next(line for line in markdown.splitlines() if "script" in line)
    unescaped_pipes = re.findall(r"(?<!\\)\|", hostile_row)
    assert len(unescaped_pipes) == 10  # nine cells, as in every POP3 row
    table = render(summary, "table")
    assert "a|b <script>x</script> next" in table  # one line in the terminal


def test_a_backslash_cannot_unescape_a_pipe(sample_document, tmp_path):
    document = copy.deepcopy(sample_document)
    document["accounts"][0]["name"] = (
        "ends in \\|pipe"  # its own backslash must not undo the escape
    )
    markdown = render(summarize(loaded_from(tmp_path, document)), "markdown")
    row = next(line for line in markdown.splitlines() if "pipe" in line)
    assert "ends in \\\\\\|pipe" in row
    assert len(re.findall(r"(?<!\\)\|", row.replace("\\\\", ""))) == 10
    assert "D:\\\\Mail\\\\Outlook.pst" in markdown  # frank's PST path reads as on Windows


def test_control_characters_do_not_reach_the_terminal(sample_document, tmp_path):
    document = copy.deepcopy(sample_document)
    document["accounts"][0]["name"] = "evil\x1b[2J\x07name\u2028x"
    summary = summarize(loaded_from(tmp_path / "one", document))
    table = render(summary, "table")
    assert "\x1b" not in table and "\x07" not in table and "\u2028" not in table
    assert "evil\\x1b[2J\\x07name x" in table


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    loaded, refused = load([path])
    assert loaded == []
    assert [r.path for r in refused] == [str(path)]
    assert "\n" not in refused[0].reason
    return refused[0].reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"schema_version": 7}, "schema_version 7 is newer than this mailaudit reads (1)"),
        ({"schema_version": None}, "schema_version missing is unknown"),
        ({"schema_version": "1"}, 'schema_version "1" is unknown'),
        ({"schema_version": True}, "schema_version true is unknown"),
        ({"schema_version": 0}, "schema_version 0 is unknown"),
        ({"tool": {"name": "pip-audit"}}, 'not a mailaudit report (tool.name is "pip-audit")'),
        ({"tool": None}, "not a mailaudit report (no tool.name)"),
        ({"machine": None}, "machine should be an object, not null"),
        ({"accounts": {}}, "accounts should be a list, not {}"),
    ],
)
def test_reports_that_cannot_be_read_are_refused(sample_document, tmp_path, change, reason):
    document = {**sample_document, **change}
    if document["schema_version"] is None:
        del document["schema_version"]
    assert reason in refusal(write(tmp_path / "r.json", json.dumps(document)))


def test_a_broken_account_is_named_by_its_place(sample_document, tmp_path):
    document = copy.deepcopy(sample_document)
    document["accounts"][2]["incoming"]["port"] = "pop3"
    assert refusal(write(tmp_path / "r.json", json.dumps(document))) == (
        "not a usable mailaudit report: accounts[2].incoming.port should be a port number "
        'or null, not "pop3"'
    )
    document["accounts"][2]["incoming"]["port"] = 110
    document["accounts"][4]["local_store"]["bytes"] = -1
    assert "accounts[4].local_store.bytes should be a byte count, not -1" in refusal(
        write(tmp_path / "r.json", json.dumps(document))
    )


def test_files_that_are_no_report_are_refused(sample_document, tmp_path):
    assert refusal(write(tmp_path / "empty.json", "")) == "not JSON: the file is empty"
    assert refusal(write(tmp_path / "list.json", "[1, 2]")) == (
        "not a mailaudit report (JSON, but not an object)"
    )
    assert refusal(write(tmp_path / "latin1.json", b'{"a": "\xe4"}')).startswith("not JSON")
    deep = write(tmp_path / "deep.json", "[" * 200_000 + "]" * 200_000)
    assert refusal(deep) == "not a mailaudit report (JSON nested too deeply)"
    fleet_json = render(summarize([]), "json")
    assert refusal(write(tmp_path / "fleet.json", fleet_json)) == (
        "a mailaudit fleet summary, not a machine report"
    )
    assert refusal(tmp_path / "missing.json") == "no such file or folder"
    empty_folder = tmp_path / "nothing"
    empty_folder.mkdir()
    assert refusal(empty_folder) == "no *.json report in this folder or below"


def test_a_file_over_the_bound_is_refused_unread(tmp_path):
    huge = tmp_path / "huge.json"
    with huge.open("wb") as stream:
        stream.truncate(MAX_REPORT_BYTES + 1)  # sparse: takes no disk space
    assert refusal(huge) == "larger than 64 MB: not a mailaudit report"


def test_a_powershell_redirected_report_is_read(sample_document, tmp_path):
    # Windows PowerShell 5 writes `mailaudit scan --format json > r.json` as UTF-16 with a BOM.
    path = write(
        tmp_path / "r.json",
        "\ufeff".encode("utf-16-le")
        + json.dumps(sample_document, ensure_ascii=False).encode("utf-16-le"),
    )
    loaded, refused = load([path])
    assert refused == []
    assert summarize(loaded).totals.accounts == 19


def test_fleet_command(tmp_path):
    from typer.testing import CliRunner

    from mailaudit.cli import EXIT_OK, EXIT_USAGE, app
    from mailaudit.report.json_report import render as render_json

    from .conftest import SAMPLE, audit

    (tmp_path / "one.json").write_text(render_json(audit(SAMPLE)))
    (tmp_path / "newer.json").write_text('{"schema_version": 2, "tool": {"name": "mailaudit"}}')
    result = CliRunner().invoke(app, ["fleet", str(tmp_path), "--format", "markdown"])
    assert result.exit_code == EXIT_OK, result.output
    assert "schema_version 2 is newer than this mailaudit reads (1)" in result.stderr
    assert "1 report(s) read, 1 refused" in result.stderr
    assert result.stdout.startswith("#")
    nothing = CliRunner().invoke(app, ["fleet", str(tmp_path / "newer.json")])
    assert nothing.exit_code == EXIT_USAGE and "no report could be read" in nothing.stderr


def test_fleet_command_warns_when_two_reports_share_a_hostname(tmp_path):
    from typer.testing import CliRunner

    from mailaudit.cli import EXIT_OK, app
    from mailaudit.report.json_report import render as render_json

    from .conftest import SAMPLE, audit

    monday = json.loads(render_json(audit(SAMPLE)))
    tuesday = copy.deepcopy(monday)
    tuesday["machine"]["generated_at"] = "2026-12-01T09:00:00+00:00"  # scanned again
    (tmp_path / "monday.json").write_text(json.dumps(monday))
    (tmp_path / "tuesday.json").write_text(json.dumps(tuesday))
    result = CliRunner().invoke(app, ["fleet", str(tmp_path)])
    assert result.exit_code == EXIT_OK
    assert "several reports are of empfang-pc" in result.stderr
    assert "2 report(s) read, 0 refused\n" in result.stderr


def test_a_copy_of_a_report_counts_once_with_a_warning(sample_document, tmp_path):
    """The same report copied twice (same machine, time and accounts) is one machine, not two:
    the mail held only there is counted once."""
    from typer.testing import CliRunner

    from mailaudit.cli import EXIT_OK, app

    write(tmp_path / "a" / "empfang.json", json.dumps(sample_document))
    write(tmp_path / "b" / "copy.json", json.dumps(sample_document, indent=1))
    summary = summarize(read_reports([tmp_path]))
    assert len(summary.machines) == 1
    assert summary.totals.bytes_only_on_pcs == SAMPLE_BYTES_ONLY_ON_PC
    assert [(Path(d.path).name, Path(d.same_as).name) for d in summary.duplicates] == [
        ("copy.json", "empfang.json")
    ]
    assert summary.warnings == ()  # one machine: no shared hostname, nothing split
    result = CliRunner().invoke(app, ["fleet", str(tmp_path), "--format", "json"])
    assert result.exit_code == EXIT_OK
    assert "copy.json: the same report as" in result.stderr
    assert "1 report(s) read, 0 refused, 1 duplicate(s)" in result.stderr


def test_folders_are_searched_recursively(sample_document, tmp_path):
    paths = []
    for number, where in enumerate(("x.json", "site-a/pc1/x.JSON", "site-a/pc2/deep/er/x.json")):
        document = copy.deepcopy(sample_document)
        document["machine"]["hostname"] = f"pc-{number}"
        paths.append(write(tmp_path / where, json.dumps(document)))
    write(tmp_path / "site-a" / "notes.txt", "not a report")
    loaded, refused = load([tmp_path])
    assert refused == []
    assert sorted(r.path for r in loaded) == sorted(paths)
    assert summarize(read_reports([tmp_path])).totals.machines == 3


def test_probe_and_lookup_reports_are_refused_by_name(tmp_path):
    from mailaudit.report import ResultsFormat
    from mailaudit.report.lookup_report import render as render_lookup
    from mailaudit.report.probe_report import render as render_probe

    probe = write(tmp_path / "probe.json", render_probe([], ResultsFormat.JSON))
    lookup = write(tmp_path / "lookup.json", render_lookup([], ResultsFormat.JSON))
    assert refusal(probe) == (
        "this is a probe report, not a scan report: run `mailaudit scan --format json`"
    )
    assert refusal(lookup).startswith("this is a lookup report, not a scan report")


def test_a_machine_without_accounts_is_flagged(sample_document, tmp_path):
    empty = copy.deepcopy(sample_document)
    empty["machine"]["hostname"] = "leer-pc"
    empty["accounts"] = []
    empty.pop("local_mailboxes", None)
    write(tmp_path / "leer.json", json.dumps(empty))
    write(tmp_path / "sample.json", json.dumps(sample_document))
    summary = summarize(read_reports([tmp_path]))
    assert [w for w in summary.warnings if w.startswith("leer-pc")] == [
        "leer-pc: no mail account found; check that the scan ran as administrator "
        "or with --root at the disk's top folder"
    ]
    assert not any(w.startswith("empfang-pc") for w in summary.warnings)


def test_memory_does_not_grow_with_the_number_of_reports(sample_document, tmp_path):
    """The summary keeps the POP3 rows, never the reports: tracemalloc's peak for 2,000
    reports stays within a small step of its peak for 100, plus those rows."""
    import tracemalloc

    text = json.dumps(sample_document)

    def peak(count: int) -> tuple[int, int]:
        folder = tmp_path / str(count)
        for number in range(count):
            # Each machine its own time, so that none is a copy of another.
            write(
                folder / f"{number:05d}.json",
                text.replace(
                    sample_document["machine"]["generated_at"],
                    f"2026-01-01T00:00:{number % 60:02d}+00:00",
                ).replace('"hostname": "empfang-pc"', f'"hostname": "pc-{number}"'),
            )
        tracemalloc.start()
        summary = summarize(read_reports([folder]))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert summary.totals.machines == count
        return top, len(summary.pop3_accounts)

    small, rows_small = peak(100)
    large, rows_large = peak(2000)
    per_row = 2500  # a Pop3Account with its strings, generously
    assert large - small < (rows_large - rows_small) * per_row + 2 * 1024 * 1024
    # Holding every parsed report instead would cost far more than that bound.
    assert len(text) * 1900 > (rows_large - rows_small) * per_row + 2 * 1024 * 1024


def test_html_puts_the_risk_first_with_a_chart_of_the_machines(fleet):
    summary: FleetSummary = fleet["summary"]
    html = render(summary, "html")
    verdict = re.search(r'<section class="verdict red">.*?</section>', html)
    assert verdict is not None
    words = re.sub(r"<[^>]+>", "", verdict.group(0))
    assert (
        f"{human_bytes(summary.totals.bytes_only_on_pcs)} of mail exist only on these computers"
        in words
    )
    assert "3 mailbox(es) are downloaded by more than one computer" in words
    assert html.index("verdict") < html.index('class="bar"') < html.index("<h2>Computers</h2>")
    # One bar per machine holding mail only there, the largest first and longest.
    bars = re.findall(r'<rect class="bar" x="0" y="\d+" width="(\d+)"[^>]*data-value="(\d+)"', html)
    holding = sorted(
        (m.bytes_only_here for m in summary.machines if m.bytes_only_here), reverse=True
    )
    assert [int(value) for _, value in bars] == holding
    widths = [int(width) for width, _ in bars]
    assert widths == sorted(widths, reverse=True)
    # Hostile names are text, never markup; no script, no outside resource.
    assert "a|b &lt;script&gt;x&lt;/script&gt;" in html
    assert "<script" not in html and "src=" not in html and "href=" not in html
    assert html.count("<tr>") == 1 + len(summary.machines) + 1 + len(summary.pop3_accounts)


def test_a_report_from_before_local_mailboxes_is_read(sample_document, tmp_path):
    """Reports of 0.1 listed On My Mac as an account of protocol "other" declared "local" and
    had no local_mailboxes: fleet counts it as a local mailbox, not as an account."""
    old = copy.deepcopy(sample_document)
    on_my_mac = next(m for m in old.pop("local_mailboxes") if m["name"] == "On My Mac")
    template = next(a for a in old["accounts"] if a["user"] == "mia")
    old["accounts"].append(
        {
            **copy.deepcopy(template),
            "name": "On My Mac",
            "email": None,
            "protocol": "other",
            "declared_type": "local",
            "incoming": {"host": None, "port": None, "security": "unknown", "username": None},
            "local_store": on_my_mac["local_store"],
        }
    )
    new_path = write(tmp_path / "new.json", json.dumps(sample_document).encode())
    old_path = write(tmp_path / "old.json", json.dumps(old).encode())
    (new,), _ = load([new_path])
    (loaded,), refused = load([old_path])
    assert refused == []
    before, after = summarize([loaded]).totals, summarize([new]).totals
    assert (before.accounts, before.other) == (after.accounts, after.other) == (19, 1)
    assert before.local_mailboxes == 1 and after.local_mailboxes == 3  # + PST, Storage Folders
    assert before.local_mailbox_bytes == on_my_mac["local_store"]["bytes"] > 0


def test_a_broken_local_mailbox_list_is_refused(sample_document, tmp_path):
    broken = copy.deepcopy(sample_document)
    broken["local_mailboxes"][0]["local_store"] = {"path": "/x", "bytes": -5}
    path = write(tmp_path / "r.json", json.dumps(broken).encode())
    assert "local_mailboxes[0].local_store.bytes should be a byte count" in refusal(path)
