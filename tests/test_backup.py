"""`mailaudit backup`: one verified ZIP of the local stores, the source untouched."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mailaudit.backup import BackupOptions, Outcome, back_up, manifest, select
from mailaudit.backup.archive import check_destination
from mailaudit.backup.overlap import ahead
from mailaudit.cli import EXIT_DAMAGED, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, app
from mailaudit.errors import ArchiveUnreadable, BackupRefused
from mailaudit.machine import MachineFiles
from mailaudit.model import Account, Endpoint, Protocol, Security
from mailaudit.report import ResultsFormat, backup_report

from .conftest import (
    REPO,
    SAMPLE,
    audit,
    file_states,
    pop_and_imap,
    tree_fingerprint,
    write_profile,
)

runner = CliRunner()

ANNA = "Users/anna/AppData/Roaming/Thunderbird/Profiles/8x2kq1ma.default-release"
BERND = "Users/bernd/AppData/Roaming/Thunderbird/Profiles/q7w1zt0c.default-release"
CARLA = "home/carla/.thunderbird/w2k5sn8d.default"
MIA = "Users/mia/Library/Mail/V10"
SAMPLE_MEMBERS = {
    f"{ANNA}/Mail/pop.gmx.net/Inbox",
    f"{ANNA}/Mail/pop.gmx.net/Inbox.msf",
    f"{ANNA}/Mail/pop.gmx.net/Sent",
    f"{ANNA}/Mail/pop.gmx.net/popstate.dat",
    f"{BERND}/Mail/mail.weber-partner.example/Inbox",
    f"{BERND}/Mail/mail.weber-partner.example/Inbox.sbd/Mandanten",
    f"{BERND}/Mail/securepop.t-online.de/Inbox",
    f"{CARLA}/Mail/Local Folders/Inbox",  # Buchhaltung Lenz delivers into Local Folders
    f"{CARLA}/Mail/Local Folders/Archives.sbd/2024",
    "Users/erika/Documents/Outlook Files/erika.sommer@web.de.pst",
    f"{MIA}/MailData/Envelope Index",  # Apple Mail's index, beside the account folders
}
MIA_POP = f"{MIA}/3F887B96-4C1A-4E0B-9D3A-8A1B2C3D4E5F"  # Atelier Mia
ON_MY_MAC = f"{MIA}/8B0E6D2A-1C3F-4E5A-9B7C-0D1E2F3A4B5C"
# Whole store folders of the POP3 accounts of the other clients: gerda's Windows Live Mail
# account, heinz's Evolution (its local Maildir) and Claws Mail (its MH folder).
OTHER_POP = (
    "Users/gerda/AppData/Local/Microsoft/Windows Live Mail/T-Online",
    "home/heinz/.local/share/evolution/mail/local",
    "home/heinz/Mail",
)
POP_STORE = "home/pat/.thunderbird/abcd1234.default/Mail/pop.pop.test"


def files_under(root: Path, folder: str) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / folder).rglob("*") if p.is_file()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def only_archive(dest: Path) -> Path:
    archives = list(dest.glob("mailaudit-backup-*.zip"))
    assert len(archives) == 1, archives
    return archives[0]


def older_atimes(root: Path) -> None:
    """Access times a day before the modification times: under relatime (Linux's default) the
    kernel then updates the access time on the next plain read, so a read shows."""
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            info = path.stat()
            os.utime(path, ns=(info.st_mtime_ns - 86_400 * 10**9, info.st_mtime_ns))


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE, copy, symlinks=True)
    return copy


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    folder = tmp_path / "dest"
    folder.mkdir()
    return folder


def pop_machine(root: Path, files: dict[str, bytes]) -> Path:
    """A Thunderbird profile with one POP3 account whose folder holds `files`."""
    write_profile(root / "home" / "pat", pop_and_imap())
    store = root / POP_STORE
    store.mkdir(parents=True)
    for name, data in files.items():
        (store / name).parent.mkdir(parents=True, exist_ok=True)
        (store / name).write_bytes(data)
    return store


def test_the_sample_machine_backed_up_whole_and_untouched(sample: Path, dest: Path) -> None:
    before_tree = tree_fingerprint(sample)  # reads every file: before the access times are set
    older_atimes(sample)
    before_files = file_states(sample)

    result = runner.invoke(app, ["backup", "--root", str(sample), "--to", str(dest)])
    # Frank's PST is on drive D:, not on this disk: named, and the run is not clean.
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert "D:\\Mail\\Outlook.pst: is on drive D:, which is not the scanned disk" in result.stdout
    checked = runner.invoke(app, ["backup", "--verify", str(only_archive(dest))])
    assert checked.exit_code == EXIT_OK, checked.output
    assert "verified" in checked.stdout

    # Nothing on the source changed: no access time moved, no byte, name, mode or mtime.
    assert file_states(sample) == before_files
    assert tree_fingerprint(sample) == before_tree
    # ... which the first check would have seen: the fingerprint's plain reads moved them.
    assert file_states(sample) != before_files

    archive = only_archive(dest)
    with zipfile.ZipFile(archive) as zipped:
        members = set(zipped.namelist())
        inside = json.loads(zipped.read("manifest.json"))
    expected = SAMPLE_MEMBERS | files_under(sample, MIA_POP) | files_under(sample, ON_MY_MAC)
    for folder in OTHER_POP:
        expected |= files_under(sample, folder)
    report = audit(sample)  # local mailboxes the scan knows beyond On My Mac (Local Folders, ...)
    for mailbox in report.local_mailboxes:
        if mailbox.store.path:  # erika's "Archiv 2019": its place is not recorded
            expected |= files_under(sample, mailbox.store.path.lstrip("/"))
    assert members == expected | {"manifest.json"}

    # The manifest: every file's hash right, beside the archive as inside it.
    beside = archive.with_name(archive.stem + ".manifest.json")
    assert json.loads(beside.read_text()) == inside
    assert {f["path"] for f in inside["files"]} == expected
    for entry in inside["files"]:
        assert entry["sha256"] == sha256(sample / entry["path"]), entry["path"]
        assert entry["size"] == (sample / entry["path"]).stat().st_size
        assert entry["accounts"]
    erika = next(a for a in report.accounts if a.name == "erika.sommer@web.de")
    pst = next(f for f in inside["files"] if f["path"].endswith(".pst"))
    assert pst["accounts"] == [erika.id]
    assert inside["machine"]["hostname"] == "empfang-pc"
    assert inside["tool"]["name"] == "mailaudit" and inside["created_at"].endswith("Z")


def test_the_archive_is_private_and_unzip_accepts_it(sample: Path, dest: Path) -> None:
    result = back_up(BackupOptions(dest=dest, root=sample))
    assert result.outcome is Outcome.INCOMPLETE  # Frank's PST on D:
    assert result.verification.ok and result.verification.checked == len(result.copied)
    assert result.archive.stat().st_mode & 0o777 == 0o600  # someone's private mail
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [result.archive.name, result.manifest.name]
    )
    tested = unzip_test(result.archive)
    assert "No errors detected" in tested


def unzip_test(archive: Path) -> str:
    if shutil.which("unzip") is None and not os.environ.get("CI"):
        pytest.skip("needs unzip (apt-get install unzip)")
    run = subprocess.run(["unzip", "-tq", str(archive)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_zip64_above_65535_members(machine: Path, dest: Path) -> None:
    count = 65_600
    store = pop_machine(machine, {})
    cur = store / "Inbox" / "cur"
    cur.mkdir(parents=True)
    for n in range(count):
        (cur / f"{n}.eml").write_bytes(b"Subject: %d\n\nx\n" % n)
    result = back_up(BackupOptions(dest=dest, root=machine))
    assert result.outcome is Outcome.COMPLETE
    assert len(result.copied) == count
    with zipfile.ZipFile(result.archive) as zipped:
        assert len(zipped.infolist()) == count + 1
        assert zipped.testzip() is None
    with result.archive.open("rb") as handle:
        handle.seek(-200, os.SEEK_END)
        assert b"PK\x06\x06" in handle.read()  # the ZIP64 end of central directory
    unzip_test(result.archive)


def test_verify_names_a_damaged_and_a_missing_member(sample: Path, dest: Path) -> None:
    made = back_up(BackupOptions(dest=dest, root=sample))
    assert made.verification.ok
    damaged_name = f"{ANNA}/Mail/pop.gmx.net/Inbox"
    missing_name = f"{BERND}/Mail/securepop.t-online.de/Inbox"
    broken = dest / "broken.zip"
    with zipfile.ZipFile(made.archive) as source, zipfile.ZipFile(broken, "w") as copy:
        for info in source.infolist():
            if info.filename != missing_name:
                copy.writestr(info, source.read(info))
    with zipfile.ZipFile(broken) as zipped:
        info = zipped.getinfo(damaged_name)
    with broken.open("r+b") as handle:  # one byte flipped in the member's data
        handle.seek(info.header_offset + 26)
        name_length = int.from_bytes(handle.read(2), "little")
        extra_length = int.from_bytes(handle.read(2), "little")
        spot = info.header_offset + 30 + name_length + extra_length + 100
        handle.seek(spot)
        byte = handle.read(1)
        handle.seek(spot)
        handle.write(bytes([byte[0] ^ 0x01]))

    result = runner.invoke(app, ["backup", "--verify", str(broken)])
    assert result.exit_code == EXIT_DAMAGED
    assert f"- {damaged_name}: damaged" in result.stdout
    assert f"- {missing_name}: missing" in result.stdout
    assert "VERIFICATION FAILED, 2 member(s) damaged or missing" in result.stdout
    as_json = runner.invoke(app, ["backup", "--verify", str(broken), "--format", "json", "-q"])
    problems = json.loads(as_json.stdout)["verification"]["problems"]
    assert {p["member"] for p in problems} == {damaged_name, missing_name}
    assert as_json.stderr == ""


def test_verify_refuses_what_is_no_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    result = runner.invoke(app, ["backup", "--verify", str(junk)])
    assert result.exit_code == EXIT_DAMAGED
    assert "cannot be read as a ZIP archive" in result.stderr
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zipped:
        zipped.writestr("a.txt", "a")
    result = runner.invoke(app, ["backup", "--verify", str(plain)])
    assert result.exit_code == EXIT_DAMAGED
    assert "manifest.json cannot be read" in result.stderr


class Appender:
    """Thunderbird at work: appends to an mbox until stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        while not self.stop.is_set():
            with self.path.open("ab") as handle:
                handle.write(b"From - Mon Sep 01 09:00:00 2025\nSubject: new\n\nmore\n")
            time.sleep(0.0005)

    def __enter__(self) -> Appender:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def test_a_file_growing_during_the_copy_is_named_and_the_archive_stays_whole(
    machine: Path, dest: Path
) -> None:
    store = pop_machine(
        machine, {"Inbox": b"From - x\n\n" + b"m" * (24 << 20), "Sent": b"From - y\n\nsent\n"}
    )
    with Appender(store / "Inbox"):
        result = back_up(BackupOptions(dest=dest, root=machine))
    assert result.outcome is Outcome.INCOMPLETE
    [left] = [n for n in result.not_copied if n.failed]
    assert left.path == f"/{POP_STORE}/Inbox"
    assert left.reason == "changed while it was copied, twice: close Thunderbird and run again"
    assert [f.name for f in result.copied] == [f"{POP_STORE}/Sent"]
    with zipfile.ZipFile(result.archive) as zipped:  # the cut-out attempts left no trace
        assert zipped.namelist() == [f"{POP_STORE}/Sent", "manifest.json"]
        assert zipped.testzip() is None
    assert result.archive.stat().st_size < 1 << 20
    cli = runner.invoke(app, ["backup", "--verify", str(result.archive)])
    assert cli.exit_code == EXIT_OK


def test_an_unreadable_file_is_named_with_its_reason(machine: Path, dest: Path) -> None:
    store = pop_machine(machine, {"Inbox": b"From - x\n\nhello\n", "Sent": b"secret mail"})
    (store / "Sent").chmod(0)
    command = [sys.executable, "-m", "mailaudit", "backup", "--root", str(machine)]
    command += ["--to", str(dest)]
    if os.geteuid() == 0:  # root reads anything: run it without the capabilities that allow it
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    run = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == EXIT_INCOMPLETE, run.stdout + run.stderr
    assert f"/{POP_STORE}/Sent: cannot be read (permission denied)" in run.stdout
    with zipfile.ZipFile(only_archive(dest)) as zipped:
        assert zipped.namelist() == [f"{POP_STORE}/Inbox", "manifest.json"]


def test_fifos_and_links_are_listed_never_followed(
    machine: Path, dest: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not this machine's")
    store = pop_machine(machine, {"Inbox": b"From - x\n\nhello\n"})
    os.mkfifo(store / "Drafts")  # nobody writes to it: opening it would block forever
    (store / "Archive").symlink_to(outside)
    (store / "Trash").symlink_to("/etc/passwd")
    command = [sys.executable, "-m", "mailaudit", "backup", "--root", str(machine), "--to"]
    run = subprocess.run([*command, str(dest)], capture_output=True, text=True, timeout=120)
    assert run.returncode == EXIT_OK, run.stdout + run.stderr  # left out on purpose: clean
    assert f"/{POP_STORE}/Drafts: is a FIFO, not a file: not read" in run.stdout
    assert f"/{POP_STORE}/Archive: is a symbolic link (to {outside}): not followed" in run.stdout
    assert f"/{POP_STORE}/Trash: is a symbolic link (to /etc/passwd): not followed" in run.stdout
    with zipfile.ZipFile(only_archive(dest)) as zipped:
        assert zipped.namelist() == [f"{POP_STORE}/Inbox", "manifest.json"]


def test_a_store_that_is_a_link_out_of_the_root_is_not_followed(
    machine: Path, dest: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "Inbox").write_text("From - x\n\nnot this machine's\n")
    pop_machine(machine, {})
    (machine / POP_STORE).rmdir()
    (machine / POP_STORE).symlink_to(elsewhere)
    result = back_up(BackupOptions(dest=dest, root=machine))
    assert result.copied == ()
    [left] = [n for n in result.not_copied if n.path == f"/{POP_STORE}"]
    assert "points outside the scanned root" in left.reason


def test_secrets_beside_the_stores_are_never_copied(machine: Path, dest: Path) -> None:
    planted = b"PLANTED-SECRET-4711"
    store = pop_machine(
        machine,
        {
            "Inbox": b"From - x\n\nhello\n",
            "logins.json": planted,
            "key4.db": planted,
            "POP3 Password": planted,
            "Inbox.sbd/login.keychain-db": planted,
        },
    )
    (store.parent.parent / "logins.json").write_bytes(planted)  # the profile's own
    result = back_up(BackupOptions(dest=dest, root=machine, everything=True))
    assert [f.name for f in result.copied] == [f"{POP_STORE}/Inbox"]
    left = {n.path: n.reason for n in result.not_copied}
    for name in ("logins.json", "key4.db", "POP3 Password", "Inbox.sbd/login.keychain-db"):
        assert left[f"/{POP_STORE}/{name}"] == "holds saved passwords or keys: never copied"
    for written in dest.iterdir():
        assert planted not in written.read_bytes()


def test_dest_inside_the_audited_tree_is_refused(sample: Path) -> None:
    inside = sample / "Users" / "anna"
    before = tree_fingerprint(sample)
    result = runner.invoke(app, ["backup", "--root", str(sample), "--to", str(inside)])
    assert result.exit_code == EXIT_USAGE
    assert "is inside the audited machine's files" in result.stderr
    assert tree_fingerprint(sample) == before


def test_dest_inside_a_store_or_profile_is_refused_on_a_live_machine(machine: Path) -> None:
    # Without --root the tree is the whole machine: the mail folders and profiles are refused.
    store = pop_machine(machine, {"Inbox": b"From - x\n\nhello\n", "backup/keep": b"x"})
    report = audit(machine)
    selection = select(report, MachineFiles(machine))
    for inside in (store / "backup", store.parent.parent):
        with pytest.raises(BackupRefused, match="inside a mail folder being backed up"):
            check_destination(inside, None, selection)


def test_dest_too_small_is_refused_before_copying(sample: Path) -> None:
    if os.geteuid() != 0 and not shutil.which("unshare"):
        pytest.skip("needs unshare")
    mount = Path(tempfile.mkdtemp(prefix="mailaudit-small-"))
    try:
        script = (
            'mount -t tmpfs -o size=1m tmpfs "$1" || exit 99; shift; '
            '"$@"; code=$?; ls -A "$DEST"; exit $code'
        )
        command = [sys.executable, "-m", "mailaudit", "backup", "--root", str(sample)]
        command += ["--to", str(mount)]
        run = subprocess.run(
            ["unshare", "-r", "-m", "sh", "-c", script, "sh", str(mount), *command],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "DEST": str(mount)},
            timeout=120,
        )
        if run.returncode == 99 and not os.environ.get("CI"):
            pytest.skip(f"cannot mount a tmpfs here: {run.stderr.strip()}")
        assert run.returncode == EXIT_USAGE, run.stdout + run.stderr
        assert f"--to {mount} has 1.0 MB free; the backup needs 48.6 MB" in run.stderr
        assert run.stdout == ""  # nothing was written to DEST, not even a partial file
    finally:
        mount.rmdir()


def test_account_picks_stores_and_all_adds_the_caches(sample: Path, dest: Path) -> None:
    report = audit(sample)
    imap = next(a for a in report.accounts if a.name == "Kanzlei (Microsoft 365)")
    erika = next(a for a in report.accounts if a.name == "erika.sommer@web.de")
    picked = select(report, MachineFiles(sample), [imap.id, erika.id])
    assert [f.name for f in picked.files] == [
        f"{ANNA}/ImapMail/outlook.office365.com/INBOX",
        "Users/erika/Documents/Outlook Files/erika.sommer@web.de.pst",
    ]
    everything = {f.name for f in select(report, MachineFiles(sample), everything=True).files}
    default = {f.name for f in select(report, MachineFiles(sample)).files}
    assert everything - default == {
        f"{ANNA}/ImapMail/outlook.office365.com/INBOX",
        f"{BERND}/ImapMail/mail.weber-partner.example/INBOX",
        f"{CARLA}/Mail/Feeds/Heise",
        f"{CARLA}/Mail/Feeds/feeds.json",
        "Users/erika/AppData/Local/Microsoft/Outlook/info@praxis-sommer.example.ost",
        *files_under(sample, f"{MIA}/4D2F1A9C-7B3E-4F21-A5D6-0E1F2A3B4C5D"),  # iCloud's cache
        # gerda's WEB.DE, an IMAP account of Windows Live Mail: its cache and account file
        *files_under(sample, "Users/gerda/AppData/Local/Microsoft/Windows Live Mail/WEB.DE"),
    }
    wrong = runner.invoke(app, ["backup", "--root", str(sample), "--to", str(dest), "--account"])
    assert wrong.exit_code == EXIT_USAGE
    unknown = ["backup", "--root", str(sample), "--to", str(dest), "--account", "0000"]
    result = runner.invoke(app, unknown)
    assert result.exit_code == EXIT_USAGE
    assert "--account 0000: no account or local mailbox has this id" in result.stderr
    assert list(dest.iterdir()) == []


def test_progress_goes_to_stderr_and_quiet_silences_it(machine: Path, dest: Path) -> None:
    pop_machine(machine, {"Inbox": b"From - x\n\nhello\n"})
    loud = runner.invoke(app, ["backup", "--root", str(machine), "--to", str(dest)])
    assert loud.exit_code == EXIT_OK
    assert "copying 16 B of 16 B" in loud.stderr and "verifying 16 B of 16 B" in loud.stderr
    assert loud.stdout.rstrip().splitlines()[-1].startswith("1 file(s), 16 B in ")
    quiet = runner.invoke(
        app, ["backup", "--root", str(machine), "--to", str(dest), "-q", "--format", "json"]
    )
    assert quiet.exit_code == EXIT_OK and quiet.stderr == ""
    document = json.loads(quiet.stdout)["backup"]
    assert document["outcome"] == "complete" and document["files"] == 1
    assert document["verification"]["ok"] is True
    assert len(list(dest.glob("*.zip"))) == 2  # each run its own archive


def test_to_and_verify_go_alone(dest: Path) -> None:
    neither = runner.invoke(app, ["backup"])
    assert neither.exit_code == EXIT_USAGE
    assert "give either --to DEST" in neither.stderr


def test_the_reading_thread_stops_and_its_errors_reach_the_caller() -> None:
    produced: list[int] = []

    def numbers() -> Iterator[int]:
        for n in range(1000):
            produced.append(n)
            yield n

    for n in ahead(numbers(), lambda n: 1, 1, 4):
        if n == 2:
            break
    assert len(produced) < 10  # stopped a few items ahead, not at the end
    assert list(ahead(numbers(), lambda n: 1, 100, 2)) == list(range(1000))  # in batches

    def failing() -> Iterator[int]:
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(ahead(failing(), lambda n: 1, 1, 4))


def test_every_results_format_renders_a_backup_and_a_verification(
    machine: Path, dest: Path
) -> None:
    pop_machine(machine, {"Inbox": b"From - x\n\nhello\n"})
    result = back_up(BackupOptions(dest=dest, root=machine))
    for fmt in ResultsFormat:
        assert str(result.archive) in backup_report.render(result, fmt)
        assert str(result.archive) in backup_report.render_verification(result.verification, fmt)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        ["format", "manifest_version", "files", "path", "size", "sha256"]
                    ),
                    inner,
                    max_size=6,
                )
            ),
            max_leaves=20,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_a_manifest_from_anywhere_is_read_or_refused_with_a_reason(data: bytes) -> None:
    # --verify reads manifests out of archives that may come from anywhere.
    try:
        expected = manifest.parse(data, "archive.zip:manifest.json")
    except ArchiveUnreadable as exc:
        assert str(exc).startswith("archive.zip:manifest.json: ")
        return
    assert all(isinstance(e.name, str) and isinstance(e.size, int) for e in expected)


def test_on_my_mac_is_copied_as_a_local_mailbox_or_as_an_old_style_account(sample: Path) -> None:
    # Reports before local mailboxes listed On My Mac as an account declared "local": either
    # way it is backed up, under the id the report gives it.
    report = audit(sample)
    mailbox = next(m for m in report.local_mailboxes if m.name == "On My Mac")
    as_account = Account(
        client=mailbox.client,
        user=mailbox.user,
        profile=mailbox.profile,
        key="On My Mac",
        name="On My Mac",
        email=None,
        protocol=Protocol.OTHER,
        declared_type="local",
        incoming=Endpoint(host=None, port=None, security=Security.UNKNOWN),
        origin=mailbox.origin,
        local_store=mailbox.store,
    )
    old_style = replace(
        report,
        accounts=(*report.accounts, as_account),
        local_mailboxes=tuple(m for m in report.local_mailboxes if m is not mailbox),
    )
    files = MachineFiles(sample)
    for shown, owner in ((report, mailbox.id), (old_style, as_account.id)):
        picked = {f.name: f.accounts for f in select(shown, files).files}
        on_my_mac = files_under(sample, ON_MY_MAC)
        assert on_my_mac <= set(picked)
        assert all(picked[name] == (owner,) for name in on_my_mac)
        assert owner in picked[f"{MIA}/MailData/Envelope Index"]
        only = select(shown, files, [owner])
        assert {f.name for f in only.files} == on_my_mac | {f"{MIA}/MailData/Envelope Index"}


def test_verify_falls_back_to_the_manifest_beside_the_archive(machine: Path, dest: Path) -> None:
    pop_machine(machine, {"Inbox": b"From - x\n\nhello\n", "Sent": b"From - y\n\nsent\n"})
    made = back_up(BackupOptions(dest=dest, root=machine))
    stripped = dest / "stripped.zip"
    with zipfile.ZipFile(made.archive) as source, zipfile.ZipFile(stripped, "w") as copy:
        for info in source.infolist():
            if info.filename != "manifest.json":
                copy.writestr(info, source.read(info))
    shutil.copy(made.manifest, dest / "stripped.manifest.json")
    result = runner.invoke(app, ["backup", "--verify", str(stripped)])
    assert result.exit_code == EXIT_OK, result.output
    assert "2 member(s)" in result.stdout
