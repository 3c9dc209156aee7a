"""fetchmail, getmail and mutt/NeoMutt: our parsers checked against the programs' own reading of
the same files (`fetchmail --configdump`, `getmail --dump`, `mutt -Q`, `neomutt -Q`), run on
hand-written files as these files are written in real life. The dumps stay in memory: fetchmail
prints passwords, so no dump is ever written to a file."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.model import Client, Protocol, Security
from mailaudit.report import Format, render
from mailaudit.sources.fetchmail import RcSyntaxError, parse_rc
from mailaudit.sources.getmail import NotAnRcFile, parse_ini
from mailaudit.sources.mutt import words

from .conftest import audit, file_states, tree_fingerprint

PLANTED = "PLANTED-fetcher-secret"


def need(program: str) -> pytest.MarkDecorator:
    # `make test` installs these; in CI their absence must fail the run, not skip it.
    return pytest.mark.skipif(
        shutil.which(program) is None and not os.environ.get("CI"),
        reason=f"needs {program} (scripts/install-test-deps.sh)",
    )


def run(home: Path, *command: str) -> str:
    """A mail program run on test files only, with no network (the suite runs in unshare -n)."""
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8", "USER": home.name}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    return done.stdout


# ---------------------------------------------------------------- fetchmail

FETCHMAILRC = f"""# fetchmail for the family PC
set daemon 300
set logfile "~/.fetchmail.log"
set no bouncemail
defaults proto pop3 fetchlimit 50

poll pop.gmx.example with proto POP3 port 995
    user "fred@gmx.example" there with password "{PLANTED}" is fred here options keep ssl sslcertck

poll imap.isp.example protocol imap:
    user fred.f pass '{PLANTED}' is fred here nokeep fetchall sslproto TLS1.2+
        mda "/usr/bin/procmail -d %T"

poll pop.plain.example service 110 auth password envelope 1 "Delivered-To":
    user plain, with password {PLANTED}, is fred here; no keep
    user other with password {PLANTED} is * here keep

skip old.isp.example proto pop3 user olduser password x is fred here
"""


def fetchmail_dump(home: Path, rc: Path) -> dict:
    text = run(home, "fetchmail", "-f", str(rc), "--configdump")
    literal = text[text.index("fetchmailrc = ") + len("fetchmailrc = ") :]
    literal = re.sub(r"^\s*#.*$", "", literal, flags=re.MULTILINE)
    literal = re.sub(r"\bTRUE\b", "True", re.sub(r"\bFALSE\b", "False", literal))
    return ast.literal_eval(literal.strip())


@pytest.fixture
def fetchmail_home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / "fred"
    home.mkdir(parents=True)
    rc = home / ".fetchmailrc"
    rc.write_text(FETCHMAILRC)
    rc.chmod(0o600)  # fetchmail refuses a file others may read
    return home


@need("fetchmail")
def test_fetchmailrc_read_as_fetchmail_reads_it(fetchmail_home):
    rc = fetchmail_home / ".fetchmailrc"
    dump = fetchmail_dump(fetchmail_home, rc)
    ours = parse_rc(rc.read_text())
    theirs = dump["servers"]
    assert [e.host for e in ours] == [s["pollname"] for s in theirs]
    for entry, server in zip(ours, theirs, strict=True):
        assert entry.active == bool(server["active"])
        assert entry.settings.values.get("proto", "auto").lower() == server["protocol"].lower()
        assert entry.settings.values.get("port") == server["service"]
        assert [u.remote for u in entry.users] == [u["remote"] for u in server["users"]]
        for user, their_user in zip(entry.users, server["users"], strict=True):
            flags = entry.settings.merged(user.settings).flags
            values = entry.settings.merged(user.settings).values
            assert flags.get("keep", False) == bool(their_user["keep"])
            assert flags.get("ssl", False) == bool(their_user["ssl"])
            assert values.get("sslproto") == their_user["sslproto"]


@need("fetchmail")
def test_fetchmail_syntax_error_is_refused_by_both(fetchmail_home):
    rc = fetchmail_home / ".fetchmailrc"
    rc.write_text("poll pop.example.test proto pop3\n  usr fred password x\n")
    done = subprocess.run(
        ["fetchmail", "-f", str(rc), "--configdump"],
        env={"HOME": str(fetchmail_home), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "syntax error" in done.stderr
    with pytest.raises(RcSyntaxError, match="line 2"):
        parse_rc(rc.read_text())
    report = audit(fetchmail_home.parent.parent)
    assert report.accounts == ()
    (skipped,) = report.skipped
    assert skipped.origin == "/home/fred/.fetchmailrc"
    assert "syntax error (line 2: a word fetchmail does not expect there)" in skipped.reason


def test_a_syntax_error_never_shows_the_word(fetchmail_home):
    rc = fetchmail_home / ".fetchmailrc"
    rc.write_text(f"poll pop.example.test proto pop3 user fred passwort {PLANTED} is fred\n")
    report = audit(fetchmail_home.parent.parent)
    assert len(report.skipped) == 1
    assert PLANTED not in repr(report) + render(report, Format.TABLE)


def test_fetchmail_accounts(fetchmail_home):
    spool = fetchmail_home.parent.parent / "var" / "mail" / "fred"
    spool.parent.mkdir(parents=True)
    spool.write_text("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n")
    report = audit(fetchmail_home.parent.parent)
    accounts = {a.name: a for a in report.accounts}
    assert sorted(accounts) == [
        "fred.f@imap.isp.example",
        "fred@gmx.example@pop.gmx.example",
        "other@pop.plain.example",
        "plain@pop.plain.example",
    ]
    gmx = accounts["fred@gmx.example@pop.gmx.example"]
    assert (gmx.client, gmx.protocol) == (Client.FETCHMAIL, Protocol.POP3)
    assert (gmx.incoming.port, gmx.incoming.security) == (995, Security.TLS)
    assert gmx.leave_on_server is True and gmx.email == "fred@gmx.example"
    imap = accounts["fred.f@imap.isp.example"]
    assert (imap.protocol, imap.incoming.port, imap.incoming.security) == (
        Protocol.IMAP,
        143,
        Security.STARTTLS,
    )
    plain = accounts["plain@pop.plain.example"]
    assert (plain.incoming.port, plain.leave_on_server) == (110, False)
    assert accounts["other@pop.plain.example"].leave_on_server is True
    assert gmx.local_store is not None and gmx.local_store.path == "/var/mail/fred"
    assert gmx.local_store.bytes == spool.stat().st_size
    assert any("old.isp.example" in s.reason and "skip" in s.reason for s in report.skipped)


# ---------------------------------------------------------------- getmail

GETMAILRC = f"""[retriever]
type = SimplePOP3SSLRetriever
server = pop.gmx.example
username = gina@gmx.example
password = {PLANTED}

[destination]
type = Maildir
path = ~/Maildir/

[options]
delete = false
delete_after = 14
read_all = false
"""

GETMAILRC_IMAP = """[retriever]
type = SimpleIMAPRetriever
server = imap.isp.example
port = 1143
username = gina
password_command = ("/usr/bin/pass", "show", "mail/work")
mailboxes = ("INBOX",)

[destination]
type = MDA_external
path = /bin/sh
arguments = ("-c", "cat > /dev/null")

[options]
delete = true
"""


@pytest.fixture
def getmail_home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / "gina"
    folder = home / ".config" / "getmail"
    folder.mkdir(parents=True)
    (folder / "getmailrc").write_text(GETMAILRC)
    (folder / "getmailrc-work").write_text(GETMAILRC_IMAP)
    (folder / "oldmail-pop.gmx.example-995-gina@gmx.example").write_text("abc\x000\n")
    for part in ("cur", "new", "tmp"):
        (home / "Maildir" / part).mkdir(parents=True)
    (home / "Maildir" / "cur" / "1.host:2,S").write_text("Subject: x\n\n" + "y\n" * 50)
    return home


def getmail_dump(home: Path, name: str) -> str:
    folder = home / ".config" / "getmail"
    return run(home, "getmail", "--getmaildir", str(folder), "--rcfile", name, "--dump")


@need("getmail")
def test_getmail_rc_read_as_getmail_reads_it(getmail_home):
    accounts = {a.key: a for a in audit(getmail_home.parent.parent).accounts}
    for name, account in accounts.items():
        dump = getmail_dump(getmail_home, name)
        assert PLANTED not in dump  # getmail masks the password: safe as an oracle
        retriever = re.search(r"retriever:\s+(\w+)\((.*)\)", dump)
        assert retriever is not None
        fields = dict(re.findall(r'(\w+)="([^"]*)"', retriever.group(2)))
        assert account.declared_type == retriever.group(1)
        assert account.incoming.host == fields["server"]
        assert account.incoming.port == int(fields["port"])
        assert account.incoming.username == fields["username"]
        delete = re.search(r"delete : (\w+)", dump)
        assert delete is not None
        if account.protocol is Protocol.POP3:
            assert account.leave_on_server is (delete.group(1) == "False")
            after = re.search(r"delete_after : (\d+)", dump)
            assert after is not None
            assert account.leave_on_server_days == (int(after.group(1)) or None)
        destination = re.search(r'destination:\s+(\w+)\(.*?path="([^"]*)"', dump)
        assert destination is not None
        if destination.group(1) == "Maildir":
            assert account.local_store is not None
            shown = destination.group(2).replace(str(getmail_home.parent.parent), "")
            assert account.local_store.path.rstrip("/") == shown.rstrip("/")


def test_getmail_accounts(getmail_home):
    accounts = {a.key: a for a in audit(getmail_home.parent.parent).accounts}
    assert sorted(accounts) == ["getmailrc", "getmailrc-work"]  # not the oldmail- state file
    pop = accounts["getmailrc"]
    assert (pop.client, pop.protocol, pop.incoming.security) == (
        Client.GETMAIL,
        Protocol.POP3,
        Security.TLS,
    )
    assert (pop.leave_on_server, pop.leave_on_server_days) == (True, 14)
    assert pop.local_store is not None
    assert pop.local_store.bytes == len("Subject: x\n\n" + "y\n" * 50)
    imap = accounts["getmailrc-work"]
    assert (imap.protocol, imap.incoming.port, imap.incoming.security) == (
        Protocol.IMAP,
        1143,
        Security.NONE,  # getmail has no STARTTLS
    )
    assert imap.local_store is not None and imap.local_store.measured is False


def test_getmail_damaged_rc_is_skipped(getmail_home):
    (getmail_home / ".config" / "getmail" / "getmailrc-broken").write_bytes(os.urandom(300))
    (getmail_home / ".config" / "getmail" / "getmailrc-notes").write_text("just some notes\n")
    report = audit(getmail_home.parent.parent)
    assert len(report.accounts) == 2
    reasons = {Path(s.origin).name: s.reason for s in report.skipped}
    assert "is not an rc file" in reasons["getmailrc-broken"]
    assert "is not an rc file" in reasons["getmailrc-notes"]


# ---------------------------------------------------------------- mutt / NeoMutt


@pytest.fixture
def mutt_home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / "mo"
    (home / ".mutt").mkdir(parents=True)
    (home / ".muttrc").write_text(
        '# mutt\nset realname="Mo Example"\nsource ~/.mutt/accounts   # the accounts\n'
        "set pop_delete = no\n"
    )
    (home / ".mutt" / "accounts").write_text(
        'set pop_host="pops://mo%40gmx.example@pop.gmx.example"\n'
        f'set pop_pass="{PLANTED}"; set spoolfile=+inbox\n'
        "set folder = ~/Mail \\\n  # continued\n"
    )
    (home / "Mail").mkdir()
    (home / "Mail" / "inbox").write_text("From a@b Mon Jan  1 00:00:00 2024\n\nbody\n")
    return home


def mutt_query(home: Path, program: str, variable: str) -> str:
    text = run(home, program, "-n", "-F", str(home / ".muttrc"), "-Q", variable)
    match = re.search(rf'{variable}\s*=\s*"?([^"\n]*)"?', text)
    assert match is not None, text
    return match.group(1)


@need("mutt")
def test_muttrc_read_as_mutt_reads_it(mutt_home):
    (account,) = audit(mutt_home.parent.parent).accounts
    pop_host = mutt_query(mutt_home, "mutt", "pop_host")
    assert pop_host.startswith("pops://") and pop_host.endswith("@" + account.incoming.host)
    assert mutt_query(mutt_home, "mutt", "pop_delete") == "no"
    assert account.leave_on_server is True


@need("neomutt")
def test_spool_file_followed_through_source_as_neomutt_does(mutt_home):
    (account,) = audit(mutt_home.parent.parent).accounts
    spool = mutt_query(mutt_home, "neomutt", "spool_file")  # NeoMutt prints it expanded
    assert account.local_store is not None
    assert account.local_store.path == spool.replace(str(mutt_home.parent.parent), "")
    assert account.local_store.bytes == (mutt_home / "Mail" / "inbox").stat().st_size


def test_mutt_account(mutt_home):
    (account,) = audit(mutt_home.parent.parent).accounts
    assert (account.client, account.protocol) == (Client.MUTT, Protocol.POP3)
    assert (account.incoming.host, account.incoming.port, account.incoming.security) == (
        "pop.gmx.example",
        995,
        Security.TLS,
    )
    assert account.incoming.username == "mo@gmx.example"


def test_mutt_source_loop_and_command_are_reported(mutt_home):
    (mutt_home / ".mutt" / "accounts").write_text(
        "source ~/.muttrc\nsource 'gpg -d ~/.mutt/secret.gpg |'\nset pop_host=pop.example.test\n"
    )
    report = audit(mutt_home.parent.parent)
    assert [a.incoming.host for a in report.accounts] == ["pop.example.test"]
    reasons = " ".join(s.reason for s in report.skipped)
    assert "a loop" in reasons and "runs a command; not followed" in reasons


def test_passwords_of_every_fetcher_never_leave(fetchmail_home, getmail_home, mutt_home):
    (mutt_home / ".mutt" / "accounts").write_text(
        f'set pop_host="pop://mo:{PLANTED}@pop.gmx.example"\nset imap_pass={PLANTED}\n'
    )
    root = fetchmail_home.parent.parent
    assert getmail_home.parent.parent == root == mutt_home.parent.parent
    before, states = tree_fingerprint(root), file_states(root)
    report = audit(root)
    assert {a.client for a in report.accounts} == {Client.FETCHMAIL, Client.GETMAIL, Client.MUTT}
    everything = repr(report) + "".join(render(report, fmt) for fmt in Format)
    assert PLANTED not in everything
    assert tree_fingerprint(root) == before and file_states(root) == states


@given(st.text(max_size=300))
def test_any_text_is_a_fetchmailrc_or_a_clean_syntax_error(text):
    try:
        entries = parse_rc(text)
    except RcSyntaxError:
        return
    assert all(entry.host for entry in entries)


@given(st.text(max_size=300))
def test_any_text_is_an_ini_or_cleanly_refused(text):
    try:
        sections = parse_ini(text)
    except NotAnRcFile:
        return
    assert not any("password" in key for keys in sections.values() for key in keys)


@given(st.text(max_size=200))
def test_any_muttrc_line_splits(line):
    assert all(isinstance(word, str) for word in words(line))
