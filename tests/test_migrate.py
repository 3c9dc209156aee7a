"""`mailaudit migrate` against real Dovecot: fidelity, dedup, resume, server variants, safety.

Each test has its own user on the server; what arrived is read back with imaplib, and what the
server stored is counted from Dovecot's own log (the mail_log plugin writes each save).
"""

from __future__ import annotations

import imaplib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailaudit.cli import app
from mailaudit.migrate import utf7

from .conftest import tree_fingerprint
from .migrate_lab import (
    User,
    bump,
    bytes_in,
    message,
    migrate_conf,
    new_user,
    pool_users,
    read_back,
    saves,
    write_maildir,
)
from .storecheck import pull_with_mbsync

runner = CliRunner()
HOST = "mail.example.test"
WHEN = datetime(2019, 5, 17, 8, 30, 0, tzinfo=timezone.utc).timestamp()


def start_dovecot(lab, tmp: Path, name: str, plugin: str = "", top: str = "", kind=None):  # type: ignore[no-untyped-def]
    import labservers

    folder = tmp / name
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    return (kind or labservers.Dovecot)(
        folder,
        lab["certs"],
        "good",
        "imap",
        extra_conf=migrate_conf(plugin, top),
        users=labservers.USERS + pool_users(),
    ).start()


@pytest.fixture(scope="module")
def dovecot(lab, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = Path(lab["certs"]).parent  # under the lab's world-readable folder
    server = start_dovecot(lab, folder, f"migrate-{os.getpid()}")
    yield server
    server.stop()


@pytest.fixture
def variant(lab, request):  # type: ignore[no-untyped-def]
    """A Dovecot with other settings, for one test: request.param = (plugin lines, top lines)."""
    plugin, top = request.param
    folder = Path(lab["certs"]).parent
    server = start_dovecot(lab, folder, f"variant-{os.getpid()}-{time.monotonic_ns()}", plugin, top)
    yield server
    server.stop()


def corpus(root: Path) -> dict[str, list[bytes]]:
    """A small Maildir++: INBOX, Sent, Drafts, Trash, a non-ASCII folder, a nested folder.
    Returns what should arrive, per server folder (CRLF line ends)."""
    inbox = [
        (message(1), "S", WHEN),
        (message(2), "RS", WHEN + 60),
        (message(3), "", WHEN + 120),
        (message(4), "FS", WHEN + 180),
        (message(5), "ST", WHEN + 240),  # trashed: never uploaded
        (message(6, extra="X-Note: spät\n"), "S", WHEN),  # an 8-bit header
    ]
    write_maildir(root, "INBOX", inbox)
    write_maildir(root, "Sent", [(message(7, "Sent"), "S", WHEN), (message(8, "Sent"), "PS", WHEN)])
    write_maildir(root, "Drafts", [(message(9, "Drafts"), "DS", WHEN)])
    write_maildir(root, "Trash", [(message(10, "Trash"), "S", WHEN)])
    write_maildir(root, "Gr&APw-&AN8-e", [(message(11, "Gruesse"), "S", WHEN)])  # Grüße
    write_maildir(root, "Archive.2019", [(message(12, "Archive/2019"), "S", WHEN)])
    crlf = lambda data: data.replace(b"\n", b"\r\n")  # noqa: E731
    return {
        "INBOX": [crlf(m) for m, letters, _ in inbox if "T" not in letters],
        "Gesendet": [crlf(message(7, "Sent")), crlf(message(8, "Sent"))],
        "Entwurf": [crlf(message(9, "Drafts"))],
        "Grüße": [crlf(message(11, "Gruesse"))],
        "Archive/2019": [crlf(message(12, "Archive/2019"))],
    }


def migrate(lab, server, user: User, source: Path, state: Path, *extra: str, env=None):  # type: ignore[no-untyped-def]
    args = [
        "migrate",
        "--from",
        str(source),
        "--to",
        f"imaps://{user.name}@{HOST}:{server.ports['imaps']}",
        "--password-env",
        "MIGRATE_PASSWORD",
        "--ca-file",
        str(lab["certs"] / "ca.crt"),
        "--dns-server",
        f"127.0.0.1:{lab['dns'].port}",
        "--timeout",
        "10",
        "--state",
        str(state),
        *extra,
    ]
    before = tree_fingerprint(source) if source.is_dir() else source.read_bytes()
    result = runner.invoke(app, args, env={"MIGRATE_PASSWORD": user.password, **(env or {})})
    after = tree_fingerprint(source) if source.is_dir() else source.read_bytes()
    assert after == before, "the source changed"  # bytes, modes and mtimes: every run
    return result


def test_maildir_arrives_byte_identical_with_flags_dates_and_folders(lab, dovecot, tmp_path):
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    expected = corpus(source)
    before = tree_fingerprint(source)
    result = migrate(lab, dovecot, user, source, tmp_path / "state.sqlite", "--verify", "full")
    assert result.exit_code == 0, result.output + result.stderr
    on_server = read_back(dovecot, user, lab["certs"])
    for folder, messages in expected.items():
        assert sorted(m.data for m in on_server[folder]) == sorted(messages), folder
    assert "Papierkorb" not in on_server or not on_server["Papierkorb"]  # Trash left out
    inbox = {m.data.split(b"Subject: ")[1][:7]: m for m in on_server["INBOX"]}
    assert inbox[b"test 1\r"].flags == {"\\Seen"}
    assert inbox[b"test 2\r"].flags == {"\\Seen", "\\Answered"}
    assert inbox[b"test 3\r"].flags == frozenset()
    assert inbox[b"test 4\r"].flags == {"\\Seen", "\\Flagged"}
    assert inbox[b"test 2\r"].internal_date.timestamp() == WHEN + 60
    sent = {m.flags for m in on_server["Gesendet"]}
    assert sent == {frozenset({"\\Seen"}), frozenset({"\\Seen", "$Forwarded"})}
    assert on_server["Entwurf"][0].flags == {"\\Seen", "\\Draft"}
    assert "10 uploaded message(s) compared byte for byte" in result.stdout
    assert tree_fingerprint(source) == before
    # A finished migration run again uploads nothing.
    stored = saves(dovecot)
    again = migrate(lab, dovecot, user, source, tmp_path / "state.sqlite")
    assert again.exit_code == 0, again.output
    assert saves(dovecot) == stored
    assert " 0 uploaded, 10 already there" in again.stdout
    assert tree_fingerprint(source) == before


def logouts(log: Path, mark: int, user: User) -> list[str]:
    """The user's "Logged out" lines after `mark`: Dovecot writes them as the session ends, a
    moment after the client has gone."""
    deadline = time.monotonic() + 10
    while True:
        lines = log.read_text()[mark:].splitlines()
        found = [line for line in lines if f"imap({user.name})" in line and "Logged out" in line]
        opened = sum(f"Login: user=<{user.name}>," in line for line in lines)
        if (found and len(found) >= opened) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def migrated_and_run_again(lab, server, tmp_path):  # type: ignore[no-untyped-def]
    """The corpus migrated, then migrated again, which must find all 10 already there:
    (user, source, state, the Dovecot logout line of the second run's one session)."""
    user = new_user(server)
    source = tmp_path / "Maildir"
    corpus(source)
    state = tmp_path / "state.sqlite"
    assert migrate(lab, server, user, source, state, "--verify", "none").exit_code == 0
    log = server.folder / "dovecot.log"
    mark = len(log.read_text())
    again = migrate(lab, server, user, source, state, "--verify", "none")
    assert again.exit_code == 0 and " 0 uploaded, 10 already there" in again.stdout
    (session,) = logouts(log, mark, user)  # one look, no upload connection
    return user, source, state, session


def test_a_finished_migration_run_again_only_checks_its_uids(lab, dovecot, tmp_path):
    """The ledger knows the UID of every message it stored: a re-run asks each folder for its
    UIDs (one ESEARCH) instead of fetching every Message-ID, and a message deleted on the
    server since then goes again."""
    user, source, state, session = migrated_and_run_again(lab, dovecot, tmp_path)
    assert "headers=0 bodies=0" in session, session
    subprocess.run(
        ["doveadm", "-c", str(dovecot.folder / "dovecot.conf"), "expunge", "-u", user.name,
         "mailbox", "INBOX", "uid", "2"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    stored = saves(dovecot)
    third = migrate(lab, dovecot, user, source, state)
    assert third.exit_code == 0 and " 1 uploaded, 9 already there" in third.stdout
    assert saves(dovecot) == stored + 1
    assert len(read_back(dovecot, user, lab["certs"])["INBOX"]) == 5


def test_one_connection_is_one_login(lab, dovecot, tmp_path):
    """The session that looks at the server uploads and then checks (README, --connections)."""
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    corpus(source)
    log = dovecot.folder / "dovecot.log"
    mark = len(log.read_text())
    result = migrate(
        lab, dovecot, user, source, tmp_path / "s", "--connections", "1", "--verify", "full"
    )
    assert result.exit_code == 0 and " 10 uploaded" in result.stdout, result.output
    logins = [line for line in log.read_text()[mark:].splitlines() if "Login: user=<" in line]
    assert [f"user=<{user.name}>," in line for line in logins] == [True]


@pytest.mark.parametrize(
    "variant",
    [("", "imap_capability = IMAP4rev1 SASL-IR LITERAL+ NAMESPACE UIDPLUS SPECIAL-USE\n")],
    indirect=True,
)
def test_a_rerun_on_a_server_without_esearch(lab, variant, tmp_path):
    """Without ESEARCH our UIDs come one short FETCH line each; still no header is read, and a
    message deleted on the server since then goes again."""
    user, source, state, session = migrated_and_run_again(lab, variant, tmp_path)
    assert "headers=0 bodies=0" in session, session
    subprocess.run(
        ["doveadm", "-c", str(variant.folder / "dovecot.conf"), "expunge", "-u", user.name,
         "mailbox", "INBOX", "uid", "2"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    third = migrate(lab, variant, user, source, state)
    assert third.exit_code == 0 and " 1 uploaded, 9 already there" in third.stdout


def test_uids_too_scattered_to_name_get_the_full_look(lab, dovecot, tmp_path, monkeypatch):
    """UIDs that would make a command line longer than MAX_UID_SET are not asked about: the
    folder's Message-IDs are fetched instead, and the re-run still sends nothing."""
    monkeypatch.setattr("mailaudit.migrate.imap_client.MAX_UID_SET", 2)  # "1:5" is too long
    *_, session = migrated_and_run_again(lab, dovecot, tmp_path)
    assert "headers=0 " not in session, session  # the Message-IDs were fetched


def test_dry_run_shows_the_map_and_sends_nothing(lab, dovecot, tmp_path):
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    corpus(source)
    log_before = (dovecot.folder / "dovecot.log").read_text()
    result = migrate(lab, dovecot, user, source, tmp_path / "state.sqlite", "--dry-run")
    assert result.exit_code == 0, result.output
    new_log = (dovecot.folder / "dovecot.log").read_text()[len(log_before) :]
    assert ": save: " not in new_log and "Mailbox created: Archive" not in new_log
    assert f"imap({user.name})" in new_log  # it did log in and look
    out = result.stdout
    assert "Plan (dry run)" in out and "Would upload" in out
    assert "Sent" in out and "Gesendet" in out and "Grüße" in out and "Archive/2019" in out
    assert "trash: only with --include-trash" in out
    assert "10 would upload" in out and "1 skipped" in out
    assert not (tmp_path / "state.sqlite").exists()


def test_half_already_there_is_not_uploaded_again(lab, dovecot, tmp_path):
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    messages = [(message(n, size=n * 300), "S", WHEN + n) for n in range(20)]
    write_maildir(source, "INBOX", messages)
    for data, _, _ in messages[::2]:  # delivered earlier by the provider's own means
        dovecot.deliver(user.name, data.replace(b"\n", b"\r\n"))
    stored = saves(dovecot)
    result = migrate(lab, dovecot, user, source, tmp_path / "state.sqlite")
    assert result.exit_code == 0, result.output
    assert saves(dovecot) - stored == 10
    assert "10 uploaded, 10 already there" in result.stdout
    assert "total 20/20 messages" in result.stderr  # progress goes to stderr
    assert len(read_back(dovecot, user, lab["certs"])["INBOX"]) == 20


def test_password_and_token_never_in_output_state_or_log(lab, dovecot, tmp_path):
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    corpus(source)
    state = tmp_path / "state.sqlite"
    result = migrate(lab, dovecot, user, source, state, "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1 and document["migration"]["complete"] is True
    folders = {f["source"]: f for f in document["migration"]["folders"]}
    assert folders["Sent"]["target"] == "Gesendet" and folders["Sent"]["uploaded"] == 2
    assert folders["Trash"]["skip"] == "trash: only with --include-trash"
    token_user = new_user(dovecot)  # Dovecot takes the token as the passdb's password
    token = token_user.password
    counter = tmp_path / "token-runs"
    command = f"echo run >> {counter}; echo {token}"
    by_token = runner.invoke(
        app,
        [
            "migrate", "--from", str(source), "--to",
            f"imap://{token_user.name}@{HOST}:{dovecot.ports['imap']}",
            "--token-command", command, "--ca-file", str(lab["certs"] / "ca.crt"),
            "--dns-server", f"127.0.0.1:{lab['dns'].port}", "--state", str(state),
            "--connections", "2",
        ],
    )  # fmt: skip
    assert by_token.exit_code == 0, by_token.output + by_token.stderr
    # Each connection runs the command: the one that looks (and then uploads and checks), and
    # the second upload connection.
    assert len(counter.read_text().splitlines()) == 2
    texts = [result.output, result.stderr, by_token.output, by_token.stderr]
    stored = state.read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("state.sqlite*") if p != state
    )
    for secret in (user.password, token):
        assert all(secret not in text for text in texts)
        assert secret.encode() not in stored
    rows = sqlite3.connect(state).execute("SELECT count(*) FROM sent WHERE state='done'")
    assert rows.fetchone()[0] == 20


def test_plaintext_is_refused(lab, tmp_path):
    """imap:// to a server that offers no STARTTLS: no login, a clear one-line error."""
    import labservers

    class PlainDovecot(labservers.Dovecot):
        def services(self) -> list[str]:
            return ["imap"]  # no TLS anywhere: imaps cannot answer

    server = start_dovecot(
        lab, Path(lab["certs"]).parent, f"plain-{os.getpid()}", top="ssl = no\n", kind=PlainDovecot
    )
    try:
        user = new_user(server)
        source = tmp_path / "Maildir"
        write_maildir(source, "INBOX", [(message(1), "S", WHEN)])
        result = runner.invoke(
            app,
            [
                "migrate", "--from", str(source), "--to",
                f"imap://{user.name}@{HOST}:{server.ports['imap']}",
                "--password-env", "P", "--dns-server", f"127.0.0.1:{lab['dns'].port}",
                "--state", str(tmp_path / "s"),
            ],
            env={"P": user.password},
        )  # fmt: skip
        assert result.exit_code == 1
        assert "refusing to log in without encryption" in result.stderr
        assert "Login: user=" not in server.log()
    finally:
        server.stop()


def test_bad_certificate_is_refused_unless_insecure(lab, tmp_path):
    server = lab["wrongname"]
    user = User("bob", "bob-secret")
    source = tmp_path / "Maildir"
    write_maildir(source, "INBOX", [(message(1), "S", WHEN)])
    args = [
        "migrate", "--from", str(source), "--to",
        f"imaps://{user.name}@{HOST}:{server.ports['imaps']}",
        "--password-env", "P", "--ca-file", str(lab["certs"] / "ca.crt"),
        "--dns-server", f"127.0.0.1:{lab['dns'].port}", "--state", str(tmp_path / "s"),
    ]  # fmt: skip
    refused = runner.invoke(app, args, env={"P": user.password})
    assert refused.exit_code == 1
    assert "certificate failed verification" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    accepted = runner.invoke(app, [*args, "--insecure"], env={"P": user.password})
    assert accepted.exit_code == 0, accepted.output + accepted.stderr


@pytest.mark.parametrize(
    "variant",
    [("", "imap_literal_minus = yes\nimap_capability = IMAP4rev1 SASL-IR LITERAL- NAMESPACE "
      "UIDPLUS SPECIAL-USE\n")],
    indirect=True,
)  # fmt: skip
def test_no_literal_plus_and_no_multiappend(lab, variant, tmp_path):
    """LITERAL- (Gmail-like): small literals go at once, large ones wait for the go-ahead,
    also one sent from the store a chunk at a time (over 4 MB) and checked back in parts."""
    user = new_user(variant)
    source = tmp_path / "Maildir"
    messages = [(message(n, size=(n % 3) * 6000), "S", WHEN + n) for n in range(30)]
    messages.insert(12, (message(99, size=5_000_000), "S", WHEN + 99))
    write_maildir(source, "INBOX", messages)
    result = migrate(lab, variant, user, source, tmp_path / "s", "--verify", "full")
    assert result.exit_code == 0, result.output + result.stderr
    got = sorted(m.data for m in read_back(variant, user, lab["certs"])["INBOX"])
    assert got == sorted(m.replace(b"\n", b"\r\n") for m, _, _ in messages)


@pytest.mark.parametrize(
    "variant",
    [("quota_max_mail_size = 20k", ""), ("", "imap_capability = +APPENDLIMIT=20480\n")],
    indirect=True,
    ids=["refused-by-server", "appendlimit-advertised"],
)
def test_messages_over_the_size_limit_are_reported_not_sent(lab, variant, tmp_path):
    user = new_user(variant)
    source = tmp_path / "Maildir"
    write_maildir(
        source,
        "INBOX",
        [(message(1), "S", WHEN), (message(2, size=40_000), "S", WHEN), (message(3), "", WHEN)],
    )
    result = migrate(lab, variant, user, source, tmp_path / "s")
    assert result.exit_code == 1, result.output  # one message could not go: not complete
    assert "1 skipped: larger than the server takes" in result.stdout
    assert "2 uploaded" in result.stdout
    assert len(read_back(variant, user, lab["certs"])["INBOX"]) == 2
    if "APPENDLIMIT" in (variant.folder / "dovecot.conf").read_text():
        assert bytes_in(variant, user) < 40_000  # known too large: never sent


@pytest.mark.parametrize("variant", [("quota_rule = *:storage=60k", "")], indirect=True)
def test_quota_running_out_stops_cleanly_and_a_later_run_continues(lab, variant, tmp_path):
    user = new_user(variant)
    source = tmp_path / "Maildir"
    messages = [(message(n, size=10_000), "S", WHEN + n) for n in range(12)]
    write_maildir(source, "INBOX", messages)
    state = tmp_path / "s"
    result = migrate(lab, variant, user, source, state, "--connections", "1")
    assert result.exit_code == 1
    assert "run again tomorrow to continue" in result.stdout
    assert "not sent yet" in result.stdout
    first = len(read_back(variant, user, lab["certs"])["INBOX"])
    assert 0 < first < 12
    # The quota grows (a paid plan, a new day): the same command finishes the job.
    users = variant.folder / "users"
    users.write_text(users.read_text().replace(
        f"{user.name}:{{PLAIN}}{user.password}",
        f"{user.name}:{{PLAIN}}{user.password}::::::userdb_quota_rule=*:storage=10M",
    ))  # fmt: skip
    bump(users)
    again = migrate(lab, variant, user, source, state)
    assert again.exit_code == 0, again.output
    got = sorted(m.data for m in read_back(variant, user, lab["certs"])["INBOX"])
    assert got == sorted(m.replace(b"\n", b"\r\n") for m, _, _ in messages)


def test_connection_dropped_mid_append_loses_and_duplicates_nothing(lab, dovecot, tmp_path):
    import delayproxy

    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    messages = [(message(n, size=5000), "S", WHEN + n) for n in range(60)]
    write_maildir(source, "INBOX", messages)
    with delayproxy.DelayProxy("127.0.0.1", dovecot.ports["imaps"], cut_after=200_000) as proxy:
        server = type("S", (), {"ports": {"imaps": proxy.port}})()
        cut = migrate(lab, server, user, source, tmp_path / "s2", "--connections", "1")
        assert proxy.cuts == 1
    assert cut.exit_code == 0, cut.output + cut.stderr  # picked up again on its own
    assert "connection lost" in cut.stderr
    got = sorted(m.data for m in read_back(dovecot, user, lab["certs"])["INBOX"])
    assert got == sorted(m.replace(b"\n", b"\r\n") for m, _, _ in messages)
    assert "60 uploaded, 0 already there" in cut.stdout


def saves_since(log: Path, mark: int) -> int:
    with log.open("rb") as lines:
        lines.seek(mark)
        return lines.read().count(b": save: ")


def test_killed_at_several_points_then_resumed(lab, dovecot, tmp_path):
    """SIGKILL or Ctrl-C mid-run (the ledger and the server in any state), then the same
    command again: every message exactly once."""
    source = tmp_path / "Maildir"
    # Three times the bytes one connection keeps in flight (8 MB): a kill lands mid-run.
    messages = [(message(n, size=(n % 7) * 4000), "S", WHEN + n) for n in range(2000)]
    write_maildir(source, "INBOX", messages)
    before = tree_fingerprint(source)
    expected = sorted(m.replace(b"\n", b"\r\n") for m, _, _ in messages)
    for point, how in ((1, signal.SIGKILL), (150, signal.SIGINT), (330, signal.SIGKILL)):
        user = new_user(dovecot)
        state = tmp_path / f"state-{point}.sqlite"
        base = saves(dovecot)
        command = [
            sys.executable, "-m", "mailaudit", "migrate", "--from", str(source), "--to",
            f"imaps://{user.name}@{HOST}:{dovecot.ports['imaps']}", "--password-env", "P",
            "--ca-file", str(lab["certs"] / "ca.crt"),
            "--dns-server", f"127.0.0.1:{lab['dns'].port}", "--state", str(state),
            "--connections", "1", "-q",
        ]  # fmt: skip
        env = {**os.environ, "P": user.password}
        first_err = (tmp_path / f"first-{point}.err").open("wb")
        log = dovecot.folder / "dovecot.log"
        mark = log.stat().st_size  # only what this run adds is read: the poll keeps up
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=first_err)
        deadline = time.monotonic() + 60
        while saves_since(log, mark) < point and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.002)
        process.send_signal(how)  # SIGINT: Ctrl-C, which must end the run promptly
        process.wait(timeout=30)
        killed_at = saves(dovecot) - base
        assert killed_at < 2000, "the run finished before it could be killed"
        done = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr.decode()
        got = sorted(m.data for m in read_back(dovecot, user, lab["certs"])["INBOX"])
        twice = len(got) - len(set(got))
        lost = len(set(expected) - set(got))
        first = (tmp_path / f"first-{point}.err").read_text()
        assert (twice, lost) == (0, 0), f"killed after {killed_at}: {first!r} {done.stderr!r}"
        assert got == expected
    assert tree_fingerprint(source) == before


@pytest.mark.parametrize("utf8_accept", [True, False], ids=["utf8-accept", "refuses-8bit"])
def test_a_server_that_refuses_8bit_headers(lab, tmp_path, utf8_accept):
    """RFC 6855 §4: a UTF8=ACCEPT server refuses raw 8-bit header fields in a plain APPEND;
    they go as `UTF8 (~{n})` after ENABLE. A server without it that refuses them: reported."""
    from . import fake_imap

    source = tmp_path / "Maildir"
    messages = [(message(1), "S", WHEN), (message(2, extra="X-Note: spät\n"), "S", WHEN),
                (message(3, size=9000), "", WHEN)]  # fmt: skip
    write_maildir(source, "INBOX", messages)
    fake = fake_imap.FakeImap(lab["certs"] / "good.crt", lab["certs"] / "good.key", utf8_accept)
    with fake_imap.serving(fake) as server:
        shim = type("S", (), {"ports": {"imaps": server.port}})()
        result = migrate(lab, shim, User("pat", "pat-secret"), source, tmp_path / "s")
    stored = server.mailboxes["INBOX"]
    if utf8_accept:
        assert result.exit_code == 0, result.output + result.stderr
        assert sorted(s.data for s in stored) == sorted(
            m.replace(b"\n", b"\r\n") for m, _, _ in messages
        )
        assert [s.as_utf8 for s in stored].count(True) == 1
    else:
        assert result.exit_code == 1
        assert len(stored) == 2
        assert "1 failed: [CANNOT] 8-bit header fields need an UTF8 APPEND" in result.stdout


def test_a_30_mb_message_arrives_whole(lab, dovecot, tmp_path):
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    big = message(1, size=30 * 1024 * 1024)
    write_maildir(source, "INBOX", [(big, "S", WHEN), (message(2), "S", WHEN)])
    result = migrate(lab, dovecot, user, source, tmp_path / "s", "--verify", "full")
    assert result.exit_code == 0, result.output + result.stderr
    assert "2 uploaded message(s) compared byte for byte" in result.stdout
    got = sorted(len(m.data) for m in read_back(dovecot, user, lab["certs"])["INBOX"])
    assert got[-1] == len(big.replace(b"\n", b"\r\n"))


def test_account_from_a_scan_of_a_mounted_disk(lab, dovecot, tmp_path, machine):
    """--account ID: the account's local store from an offline scan under --root (a
    Thunderbird profile whose POP3 account keeps its mail in the maildir store)."""
    from .conftest import audit, by_name, pop_and_imap, write_profile

    profile = write_profile(machine / "home" / "pat", pop_and_imap())
    inbox = profile / "Mail" / "pop.pop.test" / "Inbox"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True)
    (inbox / "cur" / "1.eml").write_bytes(b"X-Mozilla-Status: 0001\n" + message(1))
    (inbox / "cur" / "2.eml").write_bytes(b"X-Mozilla-Status: 0000\n" + message(2))
    account = by_name(audit(machine))["POP account"]
    before = tree_fingerprint(machine)
    user = new_user(dovecot)
    result = runner.invoke(
        app,
        [
            "migrate", "--account", account.id, "--root", str(machine), "--to",
            f"imaps://{user.name}@{HOST}:{dovecot.ports['imaps']}", "--password-env", "P",
            "--ca-file", str(lab["certs"] / "ca.crt"),
            "--dns-server", f"127.0.0.1:{lab['dns'].port}", "--state", str(tmp_path / "s"),
        ],
        env={"P": user.password},
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    inbox_on_server = read_back(dovecot, user, lab["certs"])["INBOX"]
    assert sorted(m.flags for m in inbox_on_server) == [frozenset(), frozenset({"\\Seen"})]
    assert tree_fingerprint(machine) == before
    unknown = runner.invoke(
        app,
        ["migrate", "--account", "nope", "--root", str(machine), "--to", "imaps://u@h",
         "--password-env", "P"],
        env={"P": "x"},
    )  # fmt: skip
    assert unknown.exit_code == 2
    assert "--account nope: no such account" in unknown.stderr


REPO = Path(__file__).resolve().parent.parent
STORES = REPO / "tests" / "fixtures" / "mailstores"  # written by Outlook, Apple Mail (Tika)


def real_store(kind: str, tmp: Path) -> Path:
    """A store written by another program, or laid out as its client lays it out."""
    if kind == "thunderbird-mbox":  # a real Thunderbird's POP store, deleted-not-compacted mail
        return REPO / "tests" / "fixtures" / "thunderbird-pop" / "Mail" / "127.0.0.1"
    if kind == "thunderbird-maildir":  # the same account in Thunderbird's maildir store
        return REPO / "tests" / "fixtures" / "thunderbird-pop" / "maildir-store" / "127.0.0.1"
    if kind in ("pst", "pst-body-types"):
        return STORES / ("testPST.pst" if kind == "pst" else "testPST_variousBodyTypes.pst")
    if kind == "mbox":  # named as Thunderbird names its mbox files: no extension
        (tmp / "Mail").mkdir()
        (tmp / "Mail" / "Archive").write_bytes((STORES / "complex.mbox").read_bytes())
        return tmp / "Mail" / "Archive"
    if kind == "emlx":
        box = tmp / "Mail" / "INBOX.mbox" / "Messages"
        box.mkdir(parents=True)
        (box / "1234.emlx").write_bytes((STORES / "testEMLX.emlx").read_bytes())
        return tmp / "Mail"
    if kind == "mh":
        root = tmp / "Mail"
        for folder in ("inbox", "archive"):
            (root / folder).mkdir(parents=True)
        for n in (1, 2, 3):
            (root / "inbox" / str(n)).write_bytes(message(n))
            (root / "archive" / str(n)).write_bytes(message(n + 10))
        (root / "archive" / ".mh_sequences").write_bytes(b"unseen: 2\nflagged: 1\nreplied: 3\n")
        return root
    if kind == "eml":
        root = tmp / "Windows Live Mail" / "Storage Folders"
        (root / "Inbox").mkdir(parents=True)
        (root / "Sent Items").mkdir(parents=True)
        (root / "Inbox" / "00294823-00000147.eml").write_bytes(message(1))
        (root / "Sent Items" / "1.eml").write_bytes(message(2, "Sent"))
        return tmp / "Windows Live Mail"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "thunderbird-mbox",
        "thunderbird-maildir",
        "mbox",
        "emlx",
        "pst",
        "pst-body-types",
        "mh",
        "eml",
    ],
)
def test_every_reader_arrives_as_it_reads(lab, dovecot, tmp_path, kind):
    """Fidelity per reader: what each reader yields (bytes, flags, date) is what the server
    holds; what it marks never to upload (deleted, not compacted) is not there."""
    from mailaudit.migrate.stores import detect_format, open_store

    if kind.startswith("pst") and not os.environ.get("CI"):
        pytest.importorskip("pypff")  # the mailaudit[pst] extra, which the test extra brings
    source = real_store(kind, tmp_path)
    store = open_store(source, detect_format(source))
    wanted, never = [], []
    for folder in store.folders():
        for stored in store.messages(folder):
            data = stored.load()
            if stored.skip:
                never.append(data)
                continue
            when = int(stored.internal_date.timestamp()) if stored.internal_date else None
            wanted.append((data, frozenset(f.value for f in stored.flags), when))
    assert wanted
    before = tree_fingerprint(source)
    user = new_user(dovecot)
    result = migrate(lab, dovecot, user, source, tmp_path / "s", "--include-trash",
                     "--include-junk", "--verify", "full")  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    on_server = [
        m for messages in read_back(dovecot, user, lab["certs"]).values() for m in messages
    ]
    got = [
        (m.data, m.flags, int(m.internal_date.timestamp()) if w[2] is not None else None)
        for m, w in zip(
            sorted(on_server, key=lambda m: m.data), sorted(wanted, key=lambda w: w[0]), strict=True
        )
    ]
    assert sorted(got) == sorted(wanted)
    assert not any(data in {m.data for m in on_server} for data in never)
    if kind == "thunderbird-mbox":
        assert never, "the real store holds deleted, not yet compacted messages"
    assert tree_fingerprint(source) == before


def test_a_single_mbox_file_is_a_folder_named_without_its_extension(lab, dovecot, tmp_path):
    """`--from complex.mbox` fills a folder "complex": with the extension, Dovecot's Maildir++
    would refuse the name (its '.' is the hierarchy separator there)."""
    from mailaudit.migrate.stores import StoreFormat, open_store

    source = STORES / "complex.mbox"
    store = open_store(source, StoreFormat.MBOX)
    wanted = sorted(m.load() for f in store.folders() for m in store.messages(f) if not m.skip)
    user = new_user(dovecot)
    result = migrate(lab, dovecot, user, source, tmp_path / "s")
    assert result.exit_code == 0, result.output + result.stderr
    on_server = read_back(dovecot, user, lab["certs"])
    assert sorted(m.data for m in on_server["complex"]) == wanted
    assert "complex.mbox" not in on_server


def test_a_folder_name_the_server_refuses_fails_alone(lab, dovecot, tmp_path):
    """Dovecot's Maildir++ takes no '.' in a name: that folder is reported, the rest goes."""
    root = tmp_path / "Mail"
    for folder in ("inbox", "v1.2"):
        (root / folder).mkdir(parents=True)
        (root / folder / "1").write_bytes(message(1, folder))
    user = new_user(dovecot)
    result = migrate(lab, dovecot, user, root, tmp_path / "s")
    assert result.exit_code == 1
    assert "1 failed: the server refused the folder" in result.stdout
    assert len(read_back(dovecot, user, lab["certs"])["INBOX"]) == 1


def test_a_maildir_dovecot_wrote_moves_to_another_account(lab, dovecot, tmp_path):
    """A Maildir written by a real server (Dovecot's own store of one user, with its
    dovecot-keywords file for $Forwarded) arrives in another account as it is there."""
    first, second = new_user(dovecot), new_user(dovecot)
    source = tmp_path / "Maildir"
    corpus(source)
    assert migrate(lab, dovecot, first, source, tmp_path / "s1").exit_code == 0
    written = dovecot.folder / "home" / first.name / "Maildir"
    result = migrate(lab, dovecot, second, written, tmp_path / "s2", "--verify", "full")
    assert result.exit_code == 0, result.output + result.stderr
    want = read_back(dovecot, first, lab["certs"])
    got = read_back(dovecot, second, lab["certs"])
    for folder, messages in want.items():
        key = lambda m: m.data  # noqa: E731
        assert [(m.data, m.flags, m.internal_date) for m in sorted(got[folder], key=key)] == [
            (m.data, m.flags, m.internal_date) for m in sorted(messages, key=key)
        ], folder


def crlf_message(n: int, headers: bytes = b"", message_id: bool = True) -> bytes:
    ident = b"Message-ID: <w%d@example.test>\r\n" % n if message_id else b""
    return (
        b"From: Ann <ann@example.test>\r\nTo: pat@example.test\r\nSubject: written %d\r\n"
        b"%s%sDate: Tue, 3 Mar 2020 10:00:00 +0100\r\n\r\nBody %d\r\nFrom the start\r\n"
        % (n, ident, headers, n)
    )


# (server folder, message, flags, INTERNALDATE): what a real program then writes to a Maildir.
WRITTEN = [
    ("INBOX", crlf_message(1), ("\\Seen",), WHEN),
    ("INBOX", crlf_message(2), ("\\Seen", "\\Answered"), WHEN + 3600),
    ("INBOX", crlf_message(3, "X-Note: Grüße aus Köln\r\n".encode()), ("\\Flagged",), WHEN + 7200),
    ("INBOX", crlf_message(4, message_id=False), (), WHEN + 10800),
    ("INBOX", crlf_message(5), ("\\Seen", "\\Deleted"), WHEN),  # trashed there: never uploaded
    ("Grüße", crlf_message(6), ("\\Seen",), WHEN - 400 * 86400),
    ("Archive/2019", crlf_message(7), ("\\Seen", "\\Answered", "\\Flagged"), WHEN),
    ("Gesendet", crlf_message(8), ("\\Seen",), WHEN + 60),
    ("Entwurf", crlf_message(9), ("\\Draft",), WHEN + 120),
]


def write_with_mbsync(server, user: User, tmp: Path, layout: str) -> Path:  # type: ignore[no-untyped-def]
    """The user's mailbox pulled by mbsync (Debian's isync) into a local Maildir tree."""
    return pull_with_mbsync(server, user.name, user.password, tmp / "mbsync", layout)


def write_with_doveadm(server, user: User) -> Path:  # type: ignore[no-untyped-def]
    """The user's mailbox written by `doveadm backup` into a Maildir of its own."""
    dest = server.folder / "exports" / user.name  # doveadm writes as the user (nobody)
    dest.parent.mkdir(exist_ok=True)
    os.chown(dest.parent, 65534, 65534)  # the userdb's uid and gid (labservers)
    conf = str(server.folder / "dovecot.conf")
    run = subprocess.run(
        ["doveadm", "-c", conf, "backup", "-u", user.name, f"maildir:{dest}"],
        capture_output=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return dest


@pytest.mark.parametrize("writer", ["mbsync-verbatim", "mbsync-maildir++", "doveadm-backup"])
def test_a_maildir_written_by_another_program_arrives_as_it_was(lab, dovecot, tmp_path, writer):
    """Varied mail on one account, written to a Maildir by mbsync or doveadm, then migrated
    into a fresh account: the same bytes, flags, INTERNALDATE and folders, read back."""
    first, second = new_user(dovecot), new_user(dovecot)
    imap = imaplib.IMAP4("127.0.0.1", dovecot.ports["imap"])  # loopback: Dovecot allows it
    imap.login(first.name, first.password)
    for name in ("Grüße", "Archive", "Archive/2019"):
        assert imap.create(utf7.encode(name))[0] == "OK"
    for folder, data, flags, when in WRITTEN:
        mailbox = utf7.encode(folder)
        assert (
            imap.append(mailbox, " ".join(flags), imaplib.Time2Internaldate(when), data)[0] == "OK"
        )
    imap.logout()
    if writer == "doveadm-backup":
        source = write_with_doveadm(dovecot, first)
    else:
        source = write_with_mbsync(dovecot, first, tmp_path, writer.split("-")[1].title())
    on_disk = {
        path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for path in source.rglob("*")
        if path.parent.name in ("cur", "new") and path.is_file()
    }
    result = migrate(lab, dovecot, second, source, tmp_path / "s", "--verify", "full")
    assert result.exit_code == 0, result.output + result.stderr
    arrived = read_back(dovecot, second, lab["certs"])
    tuid = re.compile(rb"X-TUID: \S+\r\n")  # mbsync's mark to find its copy again
    for folder in {folder for folder, *_ in WRITTEN} | {"Papierkorb", "Spam"}:
        want = sorted(
            (data, frozenset(flags), when)
            for where, data, flags, when in WRITTEN
            if where == folder and "\\Deleted" not in flags
        )
        got = sorted(
            (tuid.sub(b"", m.data), m.flags, m.internal_date.timestamp()) for m in arrived[folder]
        )
        assert got == want, folder
        assert all(m.data in on_disk for m in arrived[folder]), folder  # the file's own bytes
    assert sum(len(messages) for messages in arrived.values()) == len(WRITTEN) - 1
    deleted = crlf_message(5)
    assert any(tuid.sub(b"", data) == deleted for data in on_disk)  # on disk, marked trashed
    assert "8 uploaded message(s) compared byte for byte" in result.stdout


def test_a_throttling_server_ends_the_run_cleanly(lab, tmp_path):
    from . import fake_imap

    source = tmp_path / "Maildir"
    write_maildir(source, "INBOX", [(message(n), "S", WHEN + n) for n in range(6)])
    fake = fake_imap.FakeImap(
        lab["certs"] / "good.crt", lab["certs"] / "good.key", False, throttle_after=2
    )
    with fake_imap.serving(fake) as server:
        shim = type("S", (), {"ports": {"imaps": server.port}})()
        result = migrate(lab, shim, User("pat", "pat-secret"), source, tmp_path / "s",
                         "--connections", "1")  # fmt: skip
    assert result.exit_code == 1
    assert "[THROTTLED]" in result.stdout and "run again tomorrow to continue" in result.stdout
    assert "4 not sent yet" in result.stdout
    assert len(server.mailboxes["INBOX"]) == 2


def _options(lab, dovecot, user, state: Path, **settings):  # type: ignore[no-untyped-def]
    from mailaudit.migrate import imap_client, request
    from mailaudit.migrate.run import MigrateOptions

    return MigrateOptions(
        destination=request.parse_destination(
            f"imaps://{user.name}@{HOST}:{dovecot.ports['imaps']}"
        ),
        credentials=imap_client.Credentials(password=lambda: user.password),
        session=imap_client.SessionOptions(
            timeout=10, ca_file=lab["certs"] / "ca.crt", dns_server=("127.0.0.1", lab["dns"].port)
        ),
        state=state,
        **settings,
    )


def test_a_message_larger_than_the_memory_bound_is_loaded_alone(lab, dovecot, tmp_path):
    """held_bytes bounds the message bytes loaded at once (queued or in flight): small ones
    share it, a larger one waits until nothing else is held, and nothing is lost or stuck."""
    from mailaudit.migrate import request
    from mailaudit.migrate.run import _Job, run_migration

    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    messages = [(message(n, size=20_000), "S", WHEN + n) for n in range(40)]
    big = message(99, size=300_000)
    messages.insert(17, (big, "S", WHEN + 99))
    write_maildir(source, "INBOX", messages)
    # Streaming off: this is the bound for a message the store can only give whole (PST).
    options = _options(
        lab, dovecot, user, tmp_path / "s", held_bytes=100_000, batch_bytes=45_000,
        stream_above=10**9,
    )  # fmt: skip
    held: list[int] = []  # what was held each time an answer freed some
    release = _Job.release

    def watched(job: _Job, items: list) -> None:  # type: ignore[type-arg]
        held.append(job.held)
        release(job, items)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Job, "release", watched)
        outcome = run_migration([request.store_at(source, "auto")], options)
    assert outcome.complete
    wire = len(big.replace(b"\n", b"\r\n"))
    assert wire in held  # it went alone
    assert max(h for h in held if h != wire) <= 100_000
    got = sorted(m.data for m in read_back(dovecot, user, lab["certs"])["INBOX"])
    assert got == sorted(m.replace(b"\n", b"\r\n") for m, _, _ in messages)


@pytest.mark.parametrize("fmt", ["maildir", "mbox"])
def test_a_message_above_stream_above_goes_from_the_store_and_is_never_held(
    lab, dovecot, tmp_path, fmt
):
    """A message larger than stream_above is read once for its size and hash, then again as
    its literal is written: it never counts in what is held, it arrives byte for byte (larger
    than in its file: LF -> CRLF, and mbox unescaping), and its hash knows it again (it has no
    Message-ID) when a fresh ledger runs the migration once more."""
    from mailaudit.migrate import request
    from mailaudit.migrate.outcome import Verify
    from mailaudit.migrate.run import _Job, run_migration

    user = new_user(dovecot)
    big = b"From: a@example.test\nSubject: big, no id\n\n" + b"a line of the big one\n" * 20_000
    big += b">From the body, escaped in the mbox\n"
    messages = [(message(n, size=20_000), "S", WHEN + n) for n in range(10)]
    messages.insert(4, (big, "S", WHEN + 99))
    if fmt == "maildir":
        source = tmp_path / "Maildir"
        write_maildir(source, "INBOX", messages)
        want = [m.replace(b"\n", b"\r\n") for m, _, _ in messages]
    else:
        source = tmp_path / "Inbox"
        escaped = [m.replace(b"\n>From ", b"\n>>From ") for m, _, _ in messages]
        source.write_bytes(
            b"".join(b"From - Fri May 17 08:30:00 2019\r\n" + m + b"\n" for m in escaped)
        )
        want = [m.replace(b"\n", b"\r\n") for m, _, _ in messages]
    wire = len(big.replace(b"\n", b"\r\n"))
    held: list[int] = []
    release = _Job.release

    def watched(job: _Job, items: list) -> None:  # type: ignore[type-arg]
        held.append(job.held)
        release(job, items)

    settings = {"held_bytes": 100_000, "stream_above": 50_000, "verify": Verify.FULL}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Job, "release", watched)
        outcome = run_migration(
            [request.store_at(source, fmt)],
            _options(lab, dovecot, user, tmp_path / "s", **settings),
        )
    assert outcome.complete, outcome
    assert outcome.folders[0].compared == 11  # --verify full: fetched back, hashes equal
    assert held and max(held) <= 100_000 < wire  # it was never held
    got = sorted(m.data for m in read_back(dovecot, user, lab["certs"])["INBOX"])
    assert got == sorted(want)
    again = run_migration(
        [request.store_at(source, fmt)], _options(lab, dovecot, user, tmp_path / "s2", **settings)
    )
    assert (again.folders[0].uploaded, again.folders[0].already_there) == (0, 11)


@pytest.mark.parametrize("change", ["bytes", "longer", "shorter", "unreadable"])
def test_a_streamed_message_that_changes_while_sent_cuts_the_connection(
    lab, dovecot, tmp_path, change
):
    """The file behind a streamed literal changes between its measuring and its sending: the
    connection is cut before the APPEND ends, and the server keeps nothing of it."""
    from mailaudit import aio
    from mailaudit.migrate import identity
    from mailaudit.migrate.imap_client import Outgoing, Session, Streamed, tls_context
    from mailaudit.migrate.stores.shared import file_chunks
    from mailaudit.probe.wire import WireError

    user = new_user(dovecot)
    path = tmp_path / "big.eml"
    original = b"Subject: big\n\n" + b"0123456789abcdef\n" * 40_000
    path.write_bytes(original)
    size, _, digest = identity.measured(file_chunks(path))
    if change == "bytes":
        path.write_bytes(original.replace(b"0123", b"3210", 1))
    elif change == "longer":
        path.write_bytes(original + b"more\n")
    elif change == "shorter":
        path.write_bytes(original[:-100])
    else:
        path.unlink()
    o = _options(lab, dovecot, user, tmp_path / "s")

    async def send() -> str:
        session = await Session.connect(
            o.destination, o.credentials, o.session, tls_context(o.session)
        )
        streamed = Streamed(size, identity.unchanged(lambda: file_chunks(path), digest))
        try:
            done = await session.append("INBOX", [Outgoing(streamed, (), None)])
            await session.completion(done)
        except WireError as error:
            assert session.broken is error
            return error.message
        finally:
            session.abort()
        return "sent"

    said = aio.run(send())
    assert said.startswith("a message changed in the store while it was sent"), said
    time.sleep(0.2)  # Dovecot ends the session it lost
    assert read_back(dovecot, user, lab["certs"])["INBOX"] == []


def test_a_session_held_up_longer_than_its_timeout_is_not_called_silent(lab, dovecot, tmp_path):
    """Reading a large store can keep the event loop from the session for longer than its
    timeout (a 5 GB mbox is listed in half a minute). The command sent right after must get
    its answer: silence counts from what was last sent, not from when the reader began waiting."""
    from dataclasses import replace

    from mailaudit import aio
    from mailaudit.migrate.imap_client import Session, tls_context

    user = new_user(dovecot)
    o = _options(lab, dovecot, user, tmp_path / "s")
    quick = replace(o.session, timeout=1.0)

    async def held_up() -> tuple[int | None, int]:
        session = await Session.connect(o.destination, o.credentials, quick, tls_context(quick))
        try:
            await session.examine("INBOX")
            time.sleep(1.5)  # the loop held up, as a long listing of the store holds it
            return await session.examine("INBOX")
        finally:
            session.abort()

    _, exists = aio.run(held_up())
    assert exists == 0


def test_verify_full_fetches_a_large_message_back_in_parts(lab, dovecot, tmp_path, monkeypatch):
    """--verify full holds at most CHECK_BYTES of what it fetches back: a larger message is
    hashed a part at a time (BODY.PEEK[]<start.count>), and a byte changed on the server in
    its middle is still found."""
    from mailaudit.migrate.imap_client import Session

    monkeypatch.setattr("mailaudit.migrate.run.CHECK_BYTES", 50_000)
    parts: list[tuple[int, int]] = []
    real_body_part = Session.body_part

    async def body_part(session: Session, uid: int, start: int, count: int) -> bytes:
        part = await real_body_part(session, uid, start, count)
        parts.append((start, len(part)))
        return part

    monkeypatch.setattr(Session, "body_part", body_part)
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    big = message(99, size=230_000)
    messages = [(message(n, size=20_000), "S", WHEN + n) for n in range(6)] + [(big, "S", WHEN)]
    write_maildir(source, "INBOX", messages)
    result = migrate(lab, dovecot, user, source, tmp_path / "s", "--verify", "full")
    assert result.exit_code == 0, result.output
    assert "7 uploaded message(s) compared byte for byte" in result.stdout
    wire = len(big.replace(b"\n", b"\r\n"))
    assert parts == [(start, min(50_000, wire - start)) for start in range(0, wire, 50_000)]
    (stored,) = [
        path
        for path in (dovecot.folder / "home" / user.name / "Maildir" / "cur").iterdir()
        if b"Subject: test 99" in path.read_bytes()
    ]
    data = bytearray(stored.read_bytes())
    data[150_000] ^= 0x20  # a letter's case, deep inside the third part
    stored.write_bytes(bytes(data))
    again = migrate(lab, dovecot, user, source, tmp_path / "s", "--verify", "full")
    assert again.exit_code != 0
    assert "1 message(s) differ from the source" in again.stdout


def test_the_server_s_list_of_a_folder_is_read_in_bounded_memory(lab, dovecot):
    """What is on a server folder (for dedup, and for the check after the upload) is handed
    on a FETCH response at a time, and the socket is read only as fast as that goes: a folder
    whose Message-IDs alone make 6 MB is listed in less than half of that (held whole, the
    list of a 5 GB mbox's folder cost 70 MB)."""
    import tracemalloc
    from collections import Counter

    from mailaudit import aio
    from mailaudit.migrate.imap_client import Session, tls_context

    user = new_user(dovecot)
    source = Path(lab["certs"]).parent / f"import-{user.name}"
    long_ids = [
        (f"Subject: {n}\nMessage-ID: <{n}.{'x' * 580}@example.test>\n\nbody\n".encode(), "S", WHEN)
        for n in range(10_000)
    ]
    write_maildir(source, "INBOX", long_ids)
    subprocess.run(["chown", "-R", "65534:65534", str(source)], check=True)  # its indexes
    conf = str(dovecot.folder / "dovecot.conf")
    subprocess.run(
        ["doveadm", "-c", conf, "import", "-u", user.name, f"maildir:{source}", "", "all"],
        check=True,
        capture_output=True,
    )
    o = _options(lab, dovecot, user, Path("unused"))

    async def listed() -> tuple[int, int]:
        session = await Session.connect(
            o.destination, o.credentials, o.session, tls_context(o.session)
        )
        seen = Counter[bool]()
        try:
            await session.examine("INBOX")
            tracemalloc.start()
            await session.inventory(lambda stored: seen.update([stored.message_id is not None]))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        finally:
            session.abort()
        return seen[True], peak

    found, peak = aio.run(listed())
    assert found == 10_000
    assert peak < 3_000_000, peak


def test_listing_a_large_store_says_how_far_it_has_got(lab, dovecot, tmp_path, monkeypatch):
    """A 5 GB mbox takes half a minute to list before anything is sent: progress lines say
    how far the listing has got (here every message, instead of every two seconds)."""
    monkeypatch.setattr("mailaudit.migrate.run.SAY_READING", 0.0)
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    write_maildir(source, "INBOX", [(message(n, size=2000), "S", WHEN + n) for n in range(3)])
    result = migrate(lab, dovecot, user, source, tmp_path / "s")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "reading INBOX" in line]
    assert [line.split(": ", 1)[1].split(",")[0] for line in lines] == [
        "1 message(s)",
        "2 message(s)",
        "3 message(s)",
    ], result.stderr
    assert "KB so far" in lines[-1]


def test_a_folder_too_large_to_keep_listed_is_read_again(lab, dovecot, tmp_path, monkeypatch):
    monkeypatch.setattr("mailaudit.migrate.run.KEEP_LISTED", 3)
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    messages = [(message(n), "S", WHEN + n) for n in range(8)]
    write_maildir(source, "INBOX", messages)
    result = migrate(lab, dovecot, user, source, tmp_path / "s")
    assert result.exit_code == 0, result.output
    got = sorted(m.data for m in read_back(dovecot, user, lab["certs"])["INBOX"])
    assert got == sorted(m.replace(b"\n", b"\r\n") for m, _, _ in messages)


def test_messages_without_message_id_are_known_by_their_bytes(lab, dovecot, tmp_path):
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    messages = [
        (f"From: a@example.test\nSubject: no id {n}\n\nbody {n}\n".encode(), "S", WHEN + n)
        for n in range(10)
    ]
    write_maildir(source, "INBOX", messages)
    for data, _, _ in messages[:4]:
        dovecot.deliver(user.name, data.replace(b"\n", b"\r\n"))
    result = migrate(lab, dovecot, user, source, tmp_path / "s")
    assert result.exit_code == 0, result.output
    assert "6 uploaded, 4 already there" in result.stdout
    again = migrate(lab, dovecot, user, source, tmp_path / "s")
    assert " 0 uploaded, 10 already there" in again.stdout
    assert len(read_back(dovecot, user, lab["certs"])["INBOX"]) == 10


def test_a_changed_uidvalidity_falls_back_to_message_ids(lab, dovecot, tmp_path):
    """UIDs the ledger holds mean nothing under another UIDVALIDITY (RFC 9051 §2.3.1.1):
    the messages are then found by Message-ID, and none is sent again."""
    user = new_user(dovecot)
    source = tmp_path / "Maildir"
    write_maildir(source, "INBOX", [(message(n), "S", WHEN + n) for n in range(5)])
    state = tmp_path / "s"
    assert migrate(lab, dovecot, user, source, state).exit_code == 0
    with sqlite3.connect(state) as db:
        # Under the new UIDVALIDITY the old UIDs name other messages: trusted, they would
        # make the last message look absent and send it twice.
        changed = db.execute(
            "UPDATE sent SET uidvalidity = uidvalidity + 1, uid = uid + 1"
        ).rowcount
    assert changed == 5
    stored = saves(dovecot)
    again = migrate(lab, dovecot, user, source, state)
    assert again.exit_code == 0 and " 0 uploaded, 5 already there" in again.stdout
    assert saves(dovecot) == stored


def test_an_unreadable_fetch_answer_ends_the_run_in_one_line(lab, tmp_path):
    """Guessing at what is on the server could send a message twice: it stops instead."""
    from . import fake_imap

    source = tmp_path / "Maildir"
    write_maildir(source, "INBOX", [(message(1), "S", WHEN)])
    fake = fake_imap.FakeImap(
        lab["certs"] / "good.crt", lab["certs"] / "good.key", False, garbled_fetch=True
    )
    fake.mailboxes["INBOX"].append(fake_imap.Stored(b"Subject: x\r\n\r\ny\r\n", "", False))
    with fake_imap.serving(fake) as server:
        shim = type("S", (), {"ports": {"imaps": server.port}})()
        result = migrate(lab, shim, User("pat", "pat-secret"), source, tmp_path / "s")
    assert result.exit_code == 1
    assert "the server's answer cannot be read" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(server.mailboxes["INBOX"]) == 1  # nothing sent
