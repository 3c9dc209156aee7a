"""Hostile file systems and malformed values: one case per class of attack found on copies of
the sample machine. Each case is scanned in a child process, as root and as `nobody`, under a
bound on time and memory; each checks the skipped entry it must produce and that the good
accounts beside the bad file are still reported.

The bounds are far above what a scan of these machines costs (about a second, tens of MB) and
far below what the attacks cost without the fixes (minutes to hours, gigabytes).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import plistlib
import resource
import select
import shutil
import signal
import sqlite3
import stat
import struct
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from macbuild import MacAccount, accounts_database
from regbuild import build_hive, reg_text, write_export

from mailaudit.audit import AuditOptions, run_audit
from mailaudit.machine import MachineFiles, open_read_only
from mailaudit.report import Format, render
from mailaudit.sources.keyed_archive import NotAnArchive, NotAPlist, parse_plist, unarchive
from mailaudit.sources.reg_export import NotARegExport, parse_reg_export
from mailaudit.sources.thunderbird import parse_profiles_ini

from .conftest import pop_and_imap, pref_line, tree_fingerprint, write_profile
from .outlook_data import OFFICE16, pop3_account, profile_keys

SECONDS = 60.0  # per scan; each takes about a second
EXTRA_RSS_MB = 300  # above the test process at the fork
GOOD_NAMES = {"POP account", "IMAP account"}  # pop_and_imap()'s accounts
SECRET = "SECRET-hunter2-PLANTED"
NOBODY = 65534


@pytest.fixture(params=["root", "nobody"])
def as_nobody(request: pytest.FixtureRequest) -> bool:
    return request.param == "nobody"


@pytest.fixture
def machine() -> Iterator[Path]:
    """A root folder `nobody` may read (pytest's tmp_path is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="mailaudit-hostile-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for folder, dirs, _ in os.walk(root):  # give back what a case locked
            for name in dirs:
                path = Path(folder) / name
                if len(str(path)) < 4000 and not path.is_symlink():
                    path.chmod(0o755)
        shutil.rmtree(root)


# ---------------------------------------------------------------- the bounded scan


@dataclass
class Scan:
    report: dict[str, object]
    outputs: dict[str, str]  # every format, rendered in the child
    seconds: float
    extra_rss_mb: float

    def reasons(self, where: str) -> list[str]:
        return [s["reason"] for s in self.report["skipped"] if where in s["origin"]]  # type: ignore[index,union-attr]

    def account_names(self, user: str) -> set[str]:
        return {a["name"] for a in self.report["accounts"] if a["user"] == user}  # type: ignore[index,union-attr]


def scan(root: Path, as_nobody: bool, reg_files: tuple[Path, ...] = ()) -> Scan:
    """Audit `root` in a child process (as `nobody` when asked and when we are root), and check
    the bounds. The child renders every format: the JSON must be valid UTF-8."""
    _load_everything()
    readable, writable = os.pipe()
    baseline = _rss_mb()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(readable)
            space = _address_space() + 1024 * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (space, space))
            if as_nobody and os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            report = run_audit(AuditOptions(root=root, offline=True, reg_files=reg_files))
            outputs = {fmt.value: render(report, fmt) for fmt in Format}
            data = json.dumps(outputs, ensure_ascii=False).encode("utf-8")  # strict: valid UTF-8
            with os.fdopen(writable, "wb") as out:
                out.write(data)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(writable)
    received = bytearray()
    try:
        while True:
            left = start + SECONDS - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"the scan took more than {SECONDS} s")
            ready, _, _ = select.select([readable], [], [], left)
            if ready:
                piece = os.read(readable, 1 << 20)
                if not piece:
                    break
                received += piece
    finally:
        os.close(readable)
        _, status, usage = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the scan raised (traceback above)"
    outputs = json.loads(received.decode("utf-8"))
    result = Scan(
        json.loads(outputs["json"]),
        outputs,
        time.monotonic() - start,
        usage.ru_maxrss / 1024 - baseline,
    )
    assert result.seconds < SECONDS
    assert result.extra_rss_mb < EXTRA_RSS_MB, f"{result.extra_rss_mb:.0f} MB"
    for text in outputs.values():
        assert "cannot handle" not in text, "a source tripped its last-resort boundary"
    return result


@functools.cache
def _load_everything() -> None:
    """Import what a scan imports lazily, while we may still read the interpreter's files:
    `nobody` may not read a Python installed under /root."""
    empty = Path(tempfile.mkdtemp(prefix="mailaudit-empty-"))
    try:
        report = run_audit(AuditOptions(root=empty, offline=True))
        for fmt in Format:
            render(report, fmt)
    finally:
        shutil.rmtree(empty)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 4 * 1024**3


# ---------------------------------------------------------------- building bad machines


def good_profile(home: Path) -> Path:
    """The good Thunderbird profile every bad user also has: its accounts must survive."""
    return write_profile(home, pop_and_imap(), root=".thunderbird", folder="good.default")


def bad_profile(home: Path, prefs_js: bytes | None = None) -> Path:
    """A second profile root (the snap one), for a prefs.js of our making."""
    profile = write_profile(
        home, pop_and_imap(), root="snap/thunderbird/common/.thunderbird", folder="bad.default"
    )
    if prefs_js is not None:
        (profile / "prefs.js").write_bytes(prefs_js)
    return profile


def prefs_bytes(prefs: dict[str, object], middle: bytes = b"") -> bytes:
    """pop_and_imap()'s prefs with `middle` between the first and the other statements."""
    lines = [pref_line(k, v).encode() for k, v in prefs.items()]
    return lines[0] + b"\n" + middle + b"\n" + b"\n".join(lines[1:]) + b"\n"


def mac_home(root: Path, user: str) -> Path:
    home = root / "Users" / user
    (home / "Library" / "Mail" / "V10").mkdir(parents=True)
    (home / "Library" / "Accounts").mkdir(parents=True)
    good_profile(home)
    return home


def accounts_schema(database: Path, replace: dict[str, str]) -> None:
    """An Accounts4.sqlite with one POP account, and some tables swapped for hostile SQL."""
    accounts_database(
        database,
        [
            MacAccount(
                "com.apple.account.POP",
                "P0P",
                "Mac POP",
                "m",
                properties={"Hostname": "pop.m.test"},
            )
        ],
    )
    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode = DELETE")
    for table, sql in replace.items():
        db.execute(f"DROP TABLE {table}")
        db.execute(sql)
    db.commit()
    db.close()


def hive_for(home: Path, first_values: dict[str, object] | None = None) -> Path:
    """A hive with one POP3 account, under the key 0000BEEF, whose first values are given."""
    keys = profile_keys(
        OFFICE16, "Outlook", {"0000BEEF": {**(first_values or {}), **pop3_account()}}
    )
    hive = home / "NTUSER.DAT"
    build_hive(hive, keys)
    return hive


def nk_offset(data: bytes, name: bytes) -> int:
    """The file position of the 'nk' signature of the key named `name` (compressed names)."""
    at = data.find(name)
    while at >= 0:
        start = at - 76
        if data[start : start + 2] == b"nk" and struct.unpack_from("<H", data, start + 72)[
            0
        ] == len(name):
            return start
        at = data.find(name, at + 1)
    raise AssertionError(f"no key {name!r} in the hive")


def append_cell(data: bytearray, payload: bytes) -> int:
    """Append a cell at the end of the file; returns its hive offset (from the first hbin).
    regipy reads cells by offset and never checks that they lie in an hbin."""
    offset = len(data) - 4096
    data += struct.pack("<i", -(len(payload) + 4)) + payload
    return offset


def fan_out_subkeys(hive: Path, key: bytes, child: bytes) -> None:
    """`key` lists its child 65535 x 65535 times: an ri index of 65535 lh lists, each of 65535
    entries pointing at `child`. Without a cap, reading the subkeys never ends."""
    data = bytearray(hive.read_bytes())
    parent, target = nk_offset(data, key), nk_offset(data, child)
    target_offset = target - 4 - 4096
    leaf = append_cell(
        data, b"lh" + struct.pack("<H", 65535) + struct.pack("<II", target_offset, 0) * 65535
    )
    index = append_cell(data, b"ri" + struct.pack("<H", 65535) + struct.pack("<I", leaf) * 65535)
    struct.pack_into("<II", data, parent + 20, 65535 * 65535 % 2**32 or 1, 0)
    struct.pack_into("<I", data, parent + 28, index)
    hive.write_bytes(bytes(data))


def repeat_first_value(hive: Path, key: bytes, times: int) -> None:
    """`key`'s first value listed `times` times."""
    data = bytearray(hive.read_bytes())
    nk = nk_offset(data, key)
    _, values = struct.unpack_from("<II", data, nk + 36)
    first = struct.unpack_from("<I", data, 4096 + 4 + values)[0]
    listed = append_cell(data, struct.pack("<I", first) * times)
    struct.pack_into("<II", data, nk + 36, times, listed)
    hive.write_bytes(bytes(data))


@dataclass
class Case:
    """What a case built, and what the scan of it must show."""

    expect: dict[str, str] = field(default_factory=dict)  # origin part -> reason part
    good_users: tuple[str, ...] = ()  # users whose good Thunderbird accounts must survive
    reg_files: tuple[Path, ...] = ()
    check: Callable[[Scan, bool], None] | None = None


# ---------------------------------------------------------------- the cases, class by class


def unbounded_sqlite(root: Path) -> Case:
    """A 'table' that is a recursive view spills gigabytes into TMPDIR; a view or a generated
    column returns zeroblob(900000000). Only real tables are read, within limits."""
    home = mac_home(root, "view")
    accounts_schema(
        home / "Library/Accounts/Accounts4.sqlite",
        {
            "ZACCOUNT": "CREATE VIEW ZACCOUNT AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL "
            "SELECT n + 1 FROM r) SELECT n AS Z_PK, 1 AS ZACCOUNTTYPE, NULL AS ZPARENTACCOUNT, "
            "hex(randomblob(500)) AS ZIDENTIFIER, 'x' AS ZACCOUNTDESCRIPTION, 'u' AS ZUSERNAME "
            "FROM r ORDER BY ZIDENTIFIER"
        },
    )
    home = mac_home(root, "zeroview")
    accounts_schema(
        home / "Library/Accounts/Accounts4.sqlite",
        {
            "ZACCOUNTPROPERTY": "CREATE VIEW ZACCOUNTPROPERTY AS SELECT 1 AS Z_PK, 1 AS ZOWNER, "
            "'Hostname' AS ZKEY, zeroblob(900000000) AS ZVALUE"
        },
    )
    home = mac_home(root, "generated")
    accounts_schema(
        home / "Library/Accounts/Accounts4.sqlite",
        {
            "ZACCOUNTPROPERTY": "CREATE TABLE ZACCOUNTPROPERTY (Z_PK INTEGER PRIMARY KEY, "
            "ZOWNER INTEGER, ZKEY VARCHAR, ZVALUE AS (zeroblob(900000000)))"
        },
    )
    sqlite3.connect(home / "Library/Accounts/Accounts4.sqlite").execute(
        "INSERT INTO ZACCOUNTPROPERTY (Z_PK, ZOWNER, ZKEY) VALUES (1, 1, 'Hostname')"
    ).connection.commit()
    return Case(
        expect={
            "/Users/view/Library/Accounts": "no table ZACCOUNT (a view",
            "/Users/zeroview/Library/Accounts": "no table ZACCOUNTPROPERTY (a view",
            "/Users/generated/Library/Accounts": "is not a readable Accounts database",
        },
        good_users=("view", "zeroview", "generated"),
    )


def unbounded_hives(root: Path) -> Case:
    """An `ri` list fanning out 65535 x 65535; one value (16 KB: what hivex writes in one cell)
    listed 200,000 times."""
    home = root / "Users" / "fanout"
    home.mkdir(parents=True)
    good_profile(home)
    fan_out_subkeys(hive_for(home), b"Profiles", b"Outlook")
    home = root / "Users" / "values"
    home.mkdir(parents=True)
    good_profile(home)
    repeat_first_value(hive_for(home, {"AAA Big": b"\x01" * 16_000}), b"0000BEEF", 200_000)
    return Case(
        expect={
            "/Users/fanout/NTUSER.DAT": "lists over 20000 subkeys",
            "/Users/values/NTUSER.DAT": "holds over 2000 values or 16 MB",
        },
        good_users=("fanout", "values"),
    )


def unbounded_text(root: Path) -> Case:
    """A 30 MB string in prefs.js (regex backtracking, > 4 GB); a .reg key 40,000 levels deep
    (quadratic); a 33 MB hex value in a .reg (3.2 GB)."""
    home = root / "home" / "long"
    good_profile(home)
    huge = pref_line("mail.server.server1.description", "x" * 30_000_000).encode()
    bad_profile(home, prefs_bytes(pop_and_imap(), huge))
    keys = profile_keys(OFFICE16, "Outlook", {"00000001": pop3_account()})
    deep = root / "deep.reg"
    write_export(deep, reg_text(keys) + "\r\n[HKEY_CURRENT_USER" + "\\k" * 40_000 + "]\r\n")
    wide = root / "wide.reg"
    hex_value = ",".join(["41"] * 11_000_000)
    write_export(
        wide, reg_text(keys) + f'\r\n[HKEY_CURRENT_USER\\Wide]\r\n"Big"=hex:{hex_value}\r\n'
    )

    def check(result: Scan, _: bool) -> None:
        # The statement with the huge string is left out, the accounts around it are read.
        assert result.account_names("long") == GOOD_NAMES  # both profiles, deduplicated by name
        assert len([a for a in result.report["accounts"] if a["user"] == "long"]) == 4  # type: ignore[index,union-attr]
        for export in ("deep", "wide"):
            assert "anna@example.test" in result.account_names(export)

    return Case(
        expect={
            "/home/long/snap": "a string over 1 MB; left out",
            str(deep): "a key over 512 levels deep",
            str(wide): "a value over 1 MB",
        },
        good_users=("long",),
        reg_files=(deep, wide),
        check=check,
    )


def fifos_and_devices(root: Path) -> Case:
    """Every file the scan opens, as a FIFO: the scan would wait for a writer forever."""
    home = root / "home" / "pipes"
    good = good_profile(home)
    os.mkfifo(good / "user.js")
    (bad_profile(home) / "prefs.js").unlink()
    os.mkfifo(home / "snap/thunderbird/common/.thunderbird/bad.default/prefs.js")
    (home / ".mozilla-thunderbird").mkdir()
    os.mkfifo(home / ".mozilla-thunderbird" / "profiles.ini")
    mac = mac_home(root, "macpipes")
    os.mkfifo(mac / "Library/Mail/PersistenceInfo.plist")
    accounts_schema(mac / "Library/Accounts/Accounts4.sqlite", {})
    os.mkfifo(mac / "Library/Accounts/Accounts4.sqlite-wal")
    win = root / "Users" / "winpipe"
    win.mkdir(parents=True)
    good_profile(win)
    os.mkfifo(win / "NTUSER.DAT")
    (root / "etc").mkdir()
    os.mkfifo(root / "etc" / "hostname")

    def check(result: Scan, _: bool) -> None:
        assert "Mac POP" in result.account_names("macpipes")  # the database without its -wal
        assert result.report["machine"]["hostname"] == root.name  # type: ignore[index]

    fifo = "is a FIFO (named pipe), not a regular file"
    return Case(
        expect={
            "/home/pipes/.thunderbird/good.default/user.js": fifo,
            "/home/pipes/snap/thunderbird/common/.thunderbird/bad.default/prefs.js": fifo,
            "/home/pipes/.mozilla-thunderbird/profiles.ini": fifo,
            "/Users/macpipes/Library/Mail": f"PersistenceInfo.plist {fifo}",
            "/Users/macpipes/Library/Accounts/Accounts4.sqlite": f"Accounts4.sqlite-wal {fifo}",
            "/Users/winpipe/NTUSER.DAT": fifo,
        },
        good_users=("pipes", "macpipes", "winpipe"),
        check=check,
    )


def permissions(root: Path) -> Case:
    """Without root: a 0700 home or Library, an unreadable mail folder, an unlistable Users/."""
    locked = root / "home" / "locked"
    good_profile(locked)
    library = root / "home" / "library"
    (library / "Library" / "Mail" / "V10").mkdir(parents=True)
    good_profile(library)
    hidden = root / "Users" / "hidden"
    good_profile(hidden)
    mail = good_profile(root / "home" / "mailbox") / "Mail"
    (mail / "pop.pop.test").mkdir(parents=True)
    (mail / "pop.pop.test" / "Inbox").write_bytes(b"From x\n" * 1000)
    imap = mail.parent / "ImapMail" / "imap.imap.test"
    (imap / "sub").mkdir(parents=True)
    (imap / "INBOX").write_bytes(b"From y\n" * 100)
    (imap / "sub" / "More").write_bytes(b"From z\n" * 100)
    locked.chmod(0o700)
    (library / "Library").chmod(0o700)
    (mail / "pop.pop.test").chmod(0o700)
    (imap / "sub").chmod(0o700)
    (root / "Users").chmod(0o711)  # may be entered, not listed

    def check(result: Scan, as_nobody: bool) -> None:
        stores = {
            a["name"]: a["local_store"]
            for a in result.report["accounts"]  # type: ignore[union-attr]
            if a["user"] == "mailbox"  # type: ignore[index]
        }
        users = {a["user"] for a in result.report["accounts"]}  # type: ignore[index,union-attr]
        if not as_nobody or os.geteuid() != 0:  # the owner or root reads everything
            assert stores["POP account"]["bytes"] == 7000 and stores["POP account"]["measured"]
            assert users >= {"locked", "mailbox", "library", "hidden"}
            return
        pop, imap = stores["POP account"], stores["IMAP account"]
        assert pop["measured"] is False and "permission denied" in pop["note"]  # never "0 B"
        for fmt in ("table", "markdown", "html"):
            assert "not measured" in result.outputs[fmt], fmt
        assert imap["bytes"] == 700 and "lower bound" in imap["note"]
        assert users == {"mailbox", "library"}
        assert "run as administrator" in " ".join(result.reasons("/home/locked"))
        assert "run as administrator" in " ".join(result.reasons("/home/library/Library"))
        assert "run as administrator" in " ".join(result.reasons("/Users"))

    return Case(good_users=("mailbox", "library"), check=check)


def secrets_in_messages(root: Path) -> Case:
    """Parse errors used to quote the offending token: a password pref with a missing comma,
    a .reg password value in an odd notation."""
    home = root / "home" / "secret"
    good_profile(home)
    odd = f'user_pref("mail.server.server1.password" "{SECRET}");'.encode()
    bad_profile(home, prefs_bytes(pop_and_imap(), odd + b"\nuser_pref(" + SECRET.encode() + b");"))
    keys = profile_keys(OFFICE16, "Outlook", {"00000001": pop3_account()})
    export = root / "secret.reg"
    write_export(
        export,
        reg_text(keys)
        + f'\r\n[HKEY_CURRENT_USER\\X]\r\n"POP3 Password2"=str:"{SECRET}"\r\n'
        + f'"IMAP Password"=hex:{SECRET}\r\n"SMTP Password"=dword:{SECRET}\r\n'
        + f'"{SECRET}\r\n',
    )

    def check(result: Scan, _: bool) -> None:
        for fmt, text in result.outputs.items():
            assert SECRET not in text, fmt
            assert SECRET[:10] not in text, fmt
        assert len(result.reasons(str(export))) >= 3

    return Case(
        expect={"/home/secret/snap": "could not be read and were left out"},
        good_users=("secret",),
        reg_files=(export,),
        check=check,
    )


def malformed_values(root: Path) -> Case:
    """Values that used to end the scan: [Profile²], a 5,000-digit number, an ews_url of
    https://[x/EWS, a NUL or a BLOB where text belongs, a plist nested 5,000 deep, a folder
    name longer than a file system allows."""
    home = root / "home" / "odd"
    good_profile(home)
    ini = home / ".thunderbird" / "profiles.ini"
    ini.write_text(
        ini.read_text() + "\n[Profile²]\nName=x\n\n[Profile" + "9" * 5000 + "]\nName=y\n"
    )
    prefs = pop_and_imap() | {
        "mail.accountmanager.accounts": "account1,account2,account3,account4",
        "mail.account.account4.server": "server4",
        "mail.server.server4.type": "ews",
        "mail.server.server4.name": "EWS",
        "mail.server.server4.ews_url": "https://[x/EWS",
    }
    digits = pref_line("mail.server.server1.port", 0).replace("0", "9" * 5000).encode()
    bad_profile(home, prefs_bytes(prefs, digits))

    mac = mac_home(root, "oddmac")
    database = mac / "Library/Accounts/Accounts4.sqlite"
    accounts_database(
        database,
        [
            MacAccount(
                "com.apple.account.POP",
                "P0P",
                "Mac POP",
                "m",
                properties={"Hostname": "pop.m.test"},
            ),
            MacAccount(
                "com.apple.account.IMAP", "NUL", "x", "u", properties={"Hostname": "i.test"}
            ),
            MacAccount(
                "com.apple.account.IMAP", "BLOB", "y", "u", properties={"Hostname": "j.test"}
            ),
            MacAccount(
                "com.apple.account.IMAP", "LONG", "z", "u", properties={"PortNumber": "9" * 5000}
            ),
        ],
    )
    db = sqlite3.connect(database)
    db.execute("UPDATE ZACCOUNT SET ZIDENTIFIER = 'a' || char(0) || 'b' WHERE ZIDENTIFIER = 'NUL'")
    db.execute("UPDATE ZACCOUNT SET ZACCOUNTDESCRIPTION = x'00ff' WHERE ZIDENTIFIER = 'BLOB'")
    db.execute("UPDATE ZACCOUNT SET ZIDENTIFIER = ? WHERE ZIDENTIFIER = 'LONG'", ("L" * 10_000,))
    db.commit()
    db.close()

    old = root / "Users" / "deepplist"
    (old / "Library/Mail/V2/MailData").mkdir(parents=True)
    good_profile(old)
    # Written by hand, unindented: plistlib would indent 5,000 levels into 72 MB.
    nested = "<dict><key>k</key>" * 5000 + "<string>YES</string>" + "</dict>" * 5000
    plain = plistlib.dumps(
        {
            "AccountType": "POPAccount",
            "uniqueId": "plain",
            "AccountName": "Plain POP",
            "Hostname": "pop.p.test",
            "Username": "p",
            "SSLEnabled": "YES",
        },
        fmt=plistlib.FMT_XML,
    ).decode()
    plain = plain[plain.index("<dict>") : plain.rindex("</plist>")]
    deep = (
        "<dict><key>AccountType</key><string>IMAPAccount</string>"
        f"<key>uniqueId</key><string>deep</string><key>AccountName</key>{nested}"
        "<key>Hostname</key><array><string>not text</string></array>"
        f"<key>SSLEnabled</key>{nested}<key>PortNumber</key><string>{'9' * 5000}</string></dict>"
    )
    (old / "Library/Mail/V2/MailData/Accounts.plist").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
        f"<key>MailAccounts</key><array>{plain}{deep}</array></dict></plist>\n"
    )

    def check(result: Scan, _: bool) -> None:
        assert "EWS" in result.account_names("odd")
        assert {"Mac POP", "x"} <= result.account_names("oddmac")
        assert "Plain POP" in result.account_names("deepplist")
        assert {"Mac POP", "x", "u", "z"} <= result.account_names("oddmac")  # BLOB name: "u"

    return Case(
        expect={"/home/odd/snap": "integer out of 32-bit range"},
        good_users=("odd", "oddmac", "deepplist"),
        check=check,
    )


def containment(root: Path, outside: Path) -> Case:
    """Links out of the image: a folder in Library/Mail/V10, Library/Mail itself, and the
    top-level home/ were followed, and the workbench's own files reached the report."""
    stranger = outside / "stranger"
    good_profile(stranger)
    (outside / "mail").mkdir()
    (outside / "mail" / "big").write_bytes(b"x" * 123_457)
    mac = mac_home(root, "linked")
    (mac / "Library/Mail/V10/ABCDEF").symlink_to(outside / "mail")
    other = root / "Users" / "mailink"
    (other / "Library").mkdir(parents=True)
    good_profile(other)
    (other / "Library" / "Mail").symlink_to(outside / "mail")
    (root / "home").symlink_to(outside)

    def check(result: Scan, _: bool) -> None:
        text = json.dumps(result.report)
        assert str(outside) not in text.replace(
            f"points outside the scanned root (to {outside}", ""
        )
        assert "stranger" not in {a["user"] for a in result.report["accounts"]}  # type: ignore[index,union-attr]
        assert "123457" not in text and "120.6 KB" not in text

    return Case(
        expect={"/Users/mailink/Library/Mail": "points outside the scanned root"},
        good_users=("linked", "mailink"),
        check=check,
    )


def quadratic(root: Path) -> Case:
    """An unclosed /* repeated through 1 MB of prefs.js (about an hour); 120,000 identities
    (46 s); a 1 MB account name (a table padded to 25 MB, 54 s)."""
    home = root / "home" / "slow"
    good_profile(home)
    bad_profile(home, prefs_bytes(pop_and_imap(), b"/* a;" * 200_000))
    many = root / "home" / "many"
    good_profile(many)
    prefs = pop_and_imap() | {
        "mail.account.account1.identities": ",".join(f"id{n}" for n in range(120_000)),
        "mail.server.server1.name": "N" * 1_000_000,
    }
    lines = [pref_line(k, v) for k, v in prefs.items()]
    lines += [pref_line(f"mail.identity.id{n}.useremail", f"u{n}@pop.test") for n in range(120_000)]
    bad_profile(many, ("\n".join(lines) + "\n").encode())

    def check(result: Scan, _: bool) -> None:
        named = next(a for a in result.report["accounts"] if a["name"].startswith("NNN"))  # type: ignore[index,union-attr]
        assert len(named["addresses"]) == 120_000
        accounts_table = result.outputs["table"].split("\n\n")[1]  # cells cut, not padded
        assert max(len(line) for line in accounts_table.splitlines()) < 1000

    return Case(
        expect={"/home/slow/snap": "ends in the middle of a statement"},
        good_users=("slow", "many"),
        check=check,
    )


def encoding(root: Path) -> Case:
    """A user folder whose name is not UTF-8 made the JSON invalid; escape sequences in names."""
    good_profile(Path(os.fsdecode(bytes(root / "home") + b"/caf\xe9")))
    good_profile(root / "home" / "esc\x1b]52;c;SGVsbG8=\x07")

    def check(result: Scan, _: bool) -> None:
        users = {a["user"] for a in result.report["accounts"]}  # type: ignore[index,union-attr]
        assert "caf\\xe9" in users
        assert "\x1b" not in result.outputs["table"] and "\x07" not in result.outputs["markdown"]

    return Case(check=check)


def silent_omissions(root: Path) -> Case:
    """An NTUSER.DAT that is a link to /dev/zero, a folder or a device was ignored without a
    word; mail below PATH_MAX depth was not counted and not noted; a 1 GB hive cost 2 GB."""
    users = {}
    for user in ("zero", "folder", "device", "huge"):
        users[user] = root / "Users" / user
        users[user].mkdir(parents=True)
        good_profile(users[user])
    (users["zero"] / "NTUSER.DAT").symlink_to("/dev/zero")
    (users["folder"] / "ntuser.dat").mkdir()
    if os.geteuid() == 0:
        os.mknod(users["device"] / "NTUSER.DAT", stat.S_IFCHR | 0o644, os.makedev(1, 5))
    else:
        (users["device"] / "NTUSER.DAT").symlink_to("/dev/null")
    with (users["huge"] / "NTUSER.DAT").open("wb") as sparse:
        sparse.truncate(300 * 1024 * 1024)
    mail = good_profile(root / "home" / "deep") / "Mail" / "pop.pop.test"
    mail.mkdir(parents=True)
    (mail / "Inbox").write_bytes(b"From a\n" * 10)
    fd = os.open(mail, os.O_RDONLY)
    try:
        for _ in range(20):  # 20 x 250 characters: past PATH_MAX (4096) from the root
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with os.fdopen(os.open("Deep", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
            f.write(b"From b\n")
    finally:
        os.close(fd)

    def check(result: Scan, _: bool) -> None:
        store = next(
            a["local_store"]
            for a in result.report["accounts"]  # type: ignore[union-attr]
            if a["user"] == "deep" and a["name"] == "POP account"  # type: ignore[index]
        )
        assert store["bytes"] == 70 and "nested too deep" in store["note"]

    return Case(
        expect={
            "/Users/zero/NTUSER.DAT": "points outside the scanned root",
            "/Users/folder/ntuser.dat": "is a folder, not a regular file",
            "/Users/device/NTUSER.DAT": "not a regular file" if os.geteuid() == 0 else "outside",
            "/Users/huge/NTUSER.DAT": "over the 256.0 MB limit",
        },
        good_users=("zero", "folder", "device", "huge", "deep"),
        check=check,
    )


CASES: dict[str, Callable[[Path], Case]] = {
    "unbounded-sqlite": unbounded_sqlite,
    "unbounded-hives": unbounded_hives,
    "unbounded-text": unbounded_text,
    "fifos-and-devices": fifos_and_devices,
    "permissions": permissions,
    "secrets-in-messages": secrets_in_messages,
    "malformed-values": malformed_values,
    "quadratic-time": quadratic,
    "terminal-and-encoding": encoding,
    "silent-omissions": silent_omissions,
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_class(name: str, machine: Path, as_nobody: bool) -> None:
    build = CASES[name]
    if name == "unbounded-hives" and shutil.which("hivexregedit") is None:
        if os.environ.get("CI"):
            pytest.fail("hivexregedit is missing")
        pytest.skip("needs hivexregedit")
    case = build(machine)
    before = tree_fingerprint(machine)
    result = scan(machine, as_nobody, case.reg_files)
    assert tree_fingerprint(machine) == before  # nothing under the root changed
    for where, phrase in case.expect.items():
        reasons = result.reasons(where)
        assert any(phrase in reason for reason in reasons), (where, reasons)
    for user in case.good_users:
        assert result.account_names(user) >= GOOD_NAMES, user
    if case.check is not None:
        case.check(result, as_nobody)


def test_links_out_of_the_image_are_never_followed(machine: Path, as_nobody: bool) -> None:
    outside = Path(tempfile.mkdtemp(prefix="mailaudit-outside-"))
    outside.chmod(0o755)
    try:
        case = containment(machine, outside)
        result = scan(machine, as_nobody)
        for where, phrase in case.expect.items():
            assert any(phrase in r for r in result.reasons(where)), result.reasons(where)
        for user in case.good_users:
            assert result.account_names(user) >= GOOD_NAMES, user
        assert case.check is not None
        case.check(result, as_nobody)
    finally:
        shutil.rmtree(outside)


# ---------------------------------------------------------------- the one read-only open


def test_open_read_only_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    """Checked before the open: a FIFO is never opened (it would wait for a writer), a device
    never touched, a link never followed."""
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to("/dev/zero")
    (tmp_path / "file").write_bytes(b"mail")
    for name, kind in (("fifo", "FIFO"), ("folder", "folder"), ("link", "symbolic link")):
        with pytest.raises(OSError, match=kind):
            open_read_only(tmp_path / name)
    with pytest.raises(OSError, match="device"):
        open_read_only(Path("/dev/zero"))
    fd = open_read_only(tmp_path / "file")
    try:
        assert os.read(fd, 10) == b"mail"
    finally:
        os.close(fd)


def test_a_live_scan_refuses_a_link_to_a_device(tmp_path: Path) -> None:
    """Without --root nothing is outside: the link resolves to /dev/zero, which is refused."""
    (tmp_path / "NTUSER.DAT").symlink_to("/dev/zero")
    with pytest.raises(Exception, match="is a device, not a regular file"):
        MachineFiles(None).read_bytes(tmp_path / "NTUSER.DAT", 1024)


def test_a_reg_file_that_is_a_fifo_is_a_usage_error(tmp_path: Path) -> None:
    from mailaudit.errors import UsageError

    os.mkfifo(tmp_path / "anna.reg")
    signal.alarm(20)  # a hang fails the test instead of the suite
    try:
        with pytest.raises(UsageError, match="FIFO"):
            run_audit(AuditOptions(offline=True, reg_files=(tmp_path / "anna.reg",)))
    finally:
        signal.alarm(0)


def test_listing_folders_keeps_their_access_times(machine: Path) -> None:
    """Mail folders are listed through descriptors opened with O_NOATIME: evidence on the
    client's disk keeps its access times (needs ownership or root, as a scan by an
    administrator has)."""
    mail = good_profile(machine / "home" / "pat") / "Mail" / "pop.pop.test"
    (mail / "sub").mkdir(parents=True)
    (mail / "sub" / "Inbox").write_bytes(b"From a\n")
    old = time.time() - 10 * 86400  # older than relatime's day: a plain read would move it
    for folder in (mail, mail / "sub"):
        os.utime(folder, (old, folder.stat().st_mtime))
    result = scan(machine, as_nobody=False)
    assert result.account_names("pat") >= GOOD_NAMES
    for folder in (mail, mail / "sub"):
        assert folder.stat().st_atime == pytest.approx(old, abs=1)


# ---------------------------------------------------------------- parsers, on any input


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_reg_export_parser_never_raises_but_for_a_missing_header(data: bytes) -> None:
    for text in (data, b"REGEDIT4\r\n[HKEY_CURRENT_USER\\A]\r\n" + data):
        try:
            export = parse_reg_export(text)
        except NotARegExport:
            continue
        assert all("\n" not in p.message for p in export.problems)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('"=:,\\@-[]hexdword()01aF ;')), max_size=60))
def test_reg_export_problems_never_quote_the_line(data: str) -> None:
    line = f'"V"={data}{SECRET}' if not data.startswith("[") else data + SECRET
    export = parse_reg_export(f"REGEDIT4\r\n[HKEY_CURRENT_USER\\A]\r\n{line}\r\n".encode())
    for problem in export.problems:
        assert SECRET[:6] not in problem.message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_plist_and_archive_readers_never_raise_but_their_own_errors(data: bytes) -> None:
    for blob in (data, b"bplist00" + data, b"<?xml version='1.0'?><plist>" + data):
        with contextlib.suppress(NotAPlist):
            parse_plist(blob)
        with contextlib.suppress(NotAnArchive):
            unarchive(blob)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_profiles_ini_parser_never_raises(text: str) -> None:
    entries, hidden = parse_profiles_ini("[Profile0]\nIsRelative=1\n" + text)
    assert all(isinstance(name, str) for name in hidden)
    assert all(entry.path for entry in entries)
