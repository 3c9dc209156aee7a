"""The hostile-file classes of test_hostile_files.py, against the clients added later: Windows
Live Mail, Outlook Express, Evolution, Claws Mail/Sylpheed, KMail, fetchmail/getmail/mutt,
Postbox and the detection tier (the new Outlook, Mailbird, The Bat!). Each bad file sits beside
a good configuration of the same client; the scan runs in a child process as root and as
`nobody`, under the same bounds on time and memory, and must report the bad file with its
reason, keep the good accounts, quote no input and change nothing under the root.
"""

from __future__ import annotations

import codecs
import json
import os
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wlmbuild import dbx, oeaccount, write_messages

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles
from mailaudit.sources.kmail import parse_kconfig
from mailaudit.sources.local_store import measure_store
from mailaudit.sources.numbers import port_number, small_int

from .conftest import tree_fingerprint
from .test_hostile_files import GOOD_NAMES, Scan, as_nobody, good_profile, machine, scan

__all__ = ["as_nobody", "machine"]  # fixtures, used by name

SECRET = "SECRET-hunter2-PLANTED"
WLM_STORE = "AppData/Local/Microsoft/Windows Live Mail"
HUGE = 40 * 1024 * 1024  # sparse: over every configuration file's limit, no disk used
FIFO = "is a FIFO (named pipe), not a regular file"
OUTSIDE = "points outside the scanned root"


@pytest.fixture(autouse=True)
def codecs_loaded() -> None:
    """Load the codecs the readers look up lazily while we may still read the interpreter's
    files (as test_hostile_files._load_everything does for modules): `nobody` may not read a
    Python installed under /root, and would see 'unknown encoding' instead of the file."""
    for name in ("utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"):
        codecs.lookup(name)


# ---------------------------------------------------------------- good configurations


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def wlm_account(name: str, server: str, **more: object) -> bytes:
    return oeaccount(
        {
            "Account_Name": name,
            "POP3_Server": server,
            "POP3_User_Name": f"u@{server}",
            "POP3_Port": 995,
            "POP3_Secure_Connection": 1,
            "SMTP_Email_Address": f"u@{server}",
            **more,
        }
    )


def good_wlm(home: Path) -> Path:
    """A WLM store (the default folder: no hive) with one POP3 account and its messages."""
    store = home / WLM_STORE
    write(store / "Good" / "account{600D}.oeaccount", wlm_account("WLM good", "pop.wlm.example"))
    write_messages(store / "Good" / "Inbox", 3, "u@pop.wlm.example")
    return store


def evolution_source(uid: str, host: str, port: str = "995") -> dict[str, str]:
    return {
        f"{uid}.source": f"[Data Source]\nDisplayName=Evo {uid}\nEnabled=true\nParent=\n\n"
        f"[Mail Account]\nBackendName=pop\nIdentityUid={uid}-identity\n\n"
        f"[Authentication]\nHost={host}\nMethod=none\nPort={port}\nUser=e\n\n"
        "[Security]\nMethod=ssl-on-alternate-port\n\n"
        "[Pop Backend]\nKeepOnServer=true\nDeleteAfterDays=7\n",
        f"{uid}-identity.source": f"[Data Source]\nDisplayName=e@{host}\nEnabled=true\n"
        f"Parent={uid}\n\n[Mail Identity]\nAddress=e@{host}\n",
    }


def good_evolution(home: Path) -> Path:
    sources = home / ".config/evolution/sources"
    for name, text in evolution_source("good", "pop.evo.example").items():
        write(sources / name, text)
    local = home / ".local/share/evolution/mail/local"
    write(local / "cur" / "1.host:2,S", "Subject: a\n\n" + "x\n" * 100)
    return sources


def claws_account(number: int, name: str, **more: object) -> str:
    keys = {
        "account_name": name,
        "address": f"c@{name.lower().replace(' ', '')}.example",
        "protocol": 0,
        "receive_server": "pop.claws.example",
        "user_id": "c",
        "config_version": 4,
        "inbox": "#mh/Mailbox/inbox",
        **more,
    }
    return f"[Account: {number}]\n" + "".join(f"{k}={v}\n" for k, v in keys.items())


def good_claws(home: Path) -> Path:
    write(home / ".claws-mail/accountrc", claws_account(1, "Claws good"))
    for number in (1, 2):
        write(home / "Mail/inbox" / str(number), "Subject: c\n\n" + "y\n" * 50)
    return home / ".claws-mail"


def kmail_rc(host: str, port: str = "995") -> str:
    return f"[General]\nhost={host}\nlogin=k\nname=KMail {host}\nport={port}\nuseSSL=true\n"


def good_kmail(home: Path) -> Path:
    write(home / ".config/akonadi_pop3_resource_0rc", kmail_rc("pop.kmail.example"))
    write(home / ".local/share/local-mail/cur/1.host:2,S", "Subject: k\n\n" + "z\n" * 80)
    return home / ".config"


GETMAILRC = """[retriever]
type = SimplePOP3SSLRetriever
server = pop.getmail.example
username = g@getmail.example
port = {port}

[destination]
type = Maildir
path = ~/Maildir/
"""


def good_fetchers(home: Path) -> None:
    """getmail and mutt accounts, each beside a file of theirs that a case spoils."""
    write(home / ".config/getmail/getmailrc", GETMAILRC.format(port=995))
    write(home / "Maildir/cur/1.host:2,S", "Subject: g\n\n" + "w\n" * 60)
    write(
        home / ".muttrc",
        'set pop_host="pops://m%40mutt.example@pop.mutt.example"\nsource ~/.mutt/extra\n',
    )


def good_detection(home: Path) -> None:
    """The Bat!: an account named by its folder, its message base measured."""
    account = home / "AppData/Roaming/The Bat!/MAIL/Bat good"
    write(account / "ACCOUNT.CFN", bytes(range(64)))
    write(account / "Inbox/MESSAGES.TBB", bytes(3000))


def mailbird_store(path: Path, rows: list[tuple[object, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE Accounts (Id INTEGER, Username TEXT, DisplayName TEXT, Server_Host TEXT, "
        "Server_Port INTEGER)"
    )
    connection.executemany("INSERT INTO Accounts VALUES (?, ?, ?, ?, ?)", rows)
    connection.commit()
    connection.close()


# ---------------------------------------------------------------- the machine of one case


@dataclass
class Expect:
    """A skipped entry whose origin contains `origin` and whose reason contains `phrase`."""

    origin: str
    phrase: str


@dataclass
class Clients:
    """One user per client family, each with a good configuration; `bad` maps the files a case
    spoils (by client) to what the scan must say about them."""

    root: Path
    homes: dict[str, Path] = field(default_factory=dict)
    bad: dict[str, Path] = field(default_factory=dict)

    def home(self, user: str, windows: bool = False) -> Path:
        home = self.root / ("Users" if windows else "home") / user
        good_profile(home)  # every user also has the good Thunderbird profile
        self.homes[user] = home
        return home


GOOD_ACCOUNTS = {
    "wl": {"WLM good"},
    "ev": {"Evo good"},
    "cl": {"Claws good"},
    "km": {"KMail pop.kmail.example"},
    "fe": {"getmailrc: g@getmail.example@pop.getmail.example", "m@mutt.example@pop.mutt.example"},
    "dt": {"Bat good"},
}


def build_clients(root: Path) -> Clients:
    """The good configurations, and where each client's bad file goes (not created yet)."""
    clients = Clients(root)
    store = good_wlm(clients.home("wl", windows=True))
    clients.bad["wl"] = store / "Bad" / "account{BAD}.oeaccount"
    clients.bad["ev"] = good_evolution(clients.home("ev")) / "bad.source"
    good_claws(home := clients.home("cl"))
    clients.bad["cl"] = home / ".sylpheed-2.0" / "accountrc"  # a second program's accountrc
    clients.bad["km"] = good_kmail(clients.home("km")) / "akonadi_pop3_resource_1rc"
    good_fetchers(home := clients.home("fe"))
    clients.bad["fe-fetchmail"] = home / ".fetchmailrc"
    clients.bad["fe-getmail"] = home / ".config/getmail/getmailrc-bad"
    clients.bad["fe-mutt"] = home / ".mutt/extra"
    good_detection(home := clients.home("dt", windows=True))
    clients.bad["dt-outlook"] = home / "AppData/Local/Microsoft/Olk/UserSettings.json"
    clients.bad["dt-mailbird"] = home / "AppData/Local/Mailbird/Store/Store.db"
    clients.bad["dt-postbox"] = home / "AppData/Roaming/Postbox/profiles.ini"
    for path in clients.bad.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return clients


def where(clients: Clients, key: str) -> str:
    """The origin a bad file's skipped entry carries (mutt names the file that sources it)."""
    if key == "fe-mutt":
        return "/home/fe/.muttrc"
    return "/" + clients.bad[key].relative_to(clients.root).as_posix()


def check_scan(result: Scan, clients: Clients, expect: dict[str, str]) -> None:
    for key, phrase in expect.items():
        reasons = result.reasons(where(clients, key))
        assert any(phrase in reason for reason in reasons), (key, reasons)
    for user, names in GOOD_ACCOUNTS.items():
        assert result.account_names(user) >= names | GOOD_NAMES, user
    for fmt, text in result.outputs.items():
        assert SECRET not in text, fmt


# ---------------------------------------------------------------- files where configs belong


def plant_fifo(path: Path, outside: Path) -> None:
    os.mkfifo(path)


def plant_link_out(path: Path, outside: Path) -> None:
    """A link to a file of the workbench, which holds a secret: never read, never shown."""
    target = outside / path.name
    target.write_text(f"password={SECRET}\n")
    path.symlink_to(target)


def plant_huge(path: Path, outside: Path) -> None:
    with path.open("wb") as sparse:
        sparse.truncate(HUGE)


def plant_random_bytes(path: Path, outside: Path) -> None:
    # Starts with a byte no UTF-8 text starts with, so that the readers' first check is known.
    path.write_bytes(b"\x80\xfe" + random.Random(path.name).randbytes(4000) + SECRET.encode())


RANDOM_BYTES = {
    "wl": "not well-formed XML",
    "ev": "is not UTF-8 text",
    "cl": "accountrc is not text",
    "km": "is not UTF-8 text",
    "fe-fetchmail": "has a syntax error",
    "fe-getmail": "is not an rc file",
    "dt-outlook": "is not UTF-8 text",
    "dt-mailbird": "is not a readable database",
}

PLANTS: dict[str, tuple[Callable[[Path, Path], None], dict[str, str]]] = {
    "fifo": (plant_fifo, dict.fromkeys([*RANDOM_BYTES, "fe-mutt", "dt-postbox"], FIFO)),
    "link-out": (plant_link_out, dict.fromkeys([*RANDOM_BYTES, "fe-mutt", "dt-postbox"], OUTSIDE)),
    "huge": (
        plant_huge,
        {key: "over the" for key in RANDOM_BYTES if key != "dt-mailbird"}
        | {"fe-mutt": "over", "dt-postbox": "over the"},
    ),
    "random-bytes": (plant_random_bytes, RANDOM_BYTES),
}


@pytest.fixture
def outside() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="mailaudit-outside-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize("kind", list(PLANTS))
def test_a_bad_file_where_a_config_belongs(
    kind: str, machine: Path, outside: Path, as_nobody: bool
) -> None:
    plant, expect = PLANTS[kind]
    clients = build_clients(machine)
    for key, path in clients.bad.items():
        if kind == "huge" and key == "dt-mailbird":
            continue  # a database may be 512 MB: its bound is tested with Apple Mail's
        plant(path, outside)
    before = tree_fingerprint(machine)
    result = scan(machine, as_nobody)
    assert tree_fingerprint(machine) == before  # nothing under the root changed
    check_scan(result, clients, expect)


# ---------------------------------------------------------------- permissions


def test_unreadable_folders_are_named_never_0_bytes(machine: Path, as_nobody: bool) -> None:
    """Without root: a 0700 store is "not measured" with the reason, a 0700 subfolder makes the
    size a lower bound, a 0700 folder of configurations is a skipped entry; never a crash."""
    clients = build_clients(machine)
    wl, ev, cl = clients.homes["wl"], clients.homes["ev"], clients.homes["cl"]
    km, fe, dt = clients.homes["km"], clients.homes["fe"], clients.homes["dt"]
    write_messages(wl / WLM_STORE / "Good" / "Inbox" / "Sub", 2, "u@pop.wlm.example")
    locked_account = wl / WLM_STORE / "Locked"
    write(locked_account / "account{10CC}.oeaccount", wlm_account("WLM locked", "pop.l.example"))
    write(dt / "AppData/Roaming/The Bat!/MAIL/Bat good/Sent/MESSAGES.TBB", bytes(500))
    bat_locked = dt / "AppData/Roaming/The Bat!/MAIL/Bat locked"
    write(bat_locked / "ACCOUNT.CFN", bytes(64))
    em = dt / "AppData/Roaming/eM Client"
    write(em / "accounts.dat", b"SQLite format 3\0")
    write(em / "0001/0002/em@open.example.acn", "")
    write(em / "0003/0004/em@locked.example.acn", "")
    locked_config = clients.home("lk")
    for name, text in evolution_source("hidden", "pop.hidden.example").items():
        write(locked_config / ".config/evolution/sources" / name, text)
    # Places read after the locked .config: still read.
    write(locked_config / ".config/neomutt/neomuttrc", 'set pop_host="pop.hidden.example"\n')
    write(locked_config / ".muttrc", 'set pop_host="pops://m%40lk.example@pop.lk.example"\n')
    write(locked_config / ".kde/share/config/akonadi_pop3_resource_0rc", kmail_rc("pop.lk.example"))
    locked = [
        wl / WLM_STORE / "Good" / "Inbox" / "Sub",
        locked_account,
        ev / ".local/share/evolution/mail",  # the store's parent: it cannot even be looked at
        cl / "Mail",
        km / ".local/share/local-mail",
        fe / "Maildir",
        dt / "AppData/Roaming/The Bat!/MAIL/Bat good/Sent",
        locked_config / ".config",
        bat_locked,
        em / "0003",
    ]
    for folder in locked:
        folder.chmod(0o700)
    result = scan(machine, as_nobody)
    stores = {
        (a["user"], a["name"]): a["local_store"]  # type: ignore[index]
        for a in result.report["accounts"]  # type: ignore[union-attr]
    }
    not_measured = [
        ("ev", "Evo good"),
        ("cl", "Claws good"),
        ("km", "KMail pop.kmail.example"),
        ("fe", "getmailrc: g@getmail.example@pop.getmail.example"),
    ]
    lower_bound = [("wl", "WLM good"), ("dt", "Bat good")]
    check_scan(result, clients, {})
    if not as_nobody or os.geteuid() != 0:  # the owner or root reads everything
        for key in not_measured + lower_bound:
            assert stores[key]["measured"] and stores[key]["bytes"] > 0, key
        assert "WLM locked" in result.account_names("wl")
        assert {"Bat locked", "em@locked.example"} <= result.account_names("dt")
        assert "Evo hidden" in result.account_names("lk")
        return
    for key in not_measured:
        store = stores[key]
        assert store["measured"] is False and store["bytes"] == 0, key
        assert "permission denied" in store["note"], key
    for key in lower_bound:
        assert stores[key]["bytes"] > 0 and "lower bound" in stores[key]["note"], key
    for fmt in ("table", "markdown", "html"):
        assert "not measured" in result.outputs[fmt], fmt
    assert "permission denied" in " ".join(result.reasons(f"/Users/wl/{WLM_STORE}/Locked"))
    assert "permission denied" in " ".join(result.reasons("/home/lk/.config"))
    assert result.account_names("lk") >= {"m@lk.example@pop.lk.example", "KMail pop.lk.example"}
    assert "WLM locked" not in result.account_names("wl")
    bat = "/Users/dt/AppData/Roaming/The Bat!/MAIL/Bat locked"
    assert "permission denied" in " ".join(result.reasons(bat))
    assert "permission denied" in " ".join(
        result.reasons("/Users/dt/AppData/Roaming/eM Client/0003")
    )
    assert "em@open.example" in result.account_names("dt")


# ---------------------------------------------------------------- malformed values


def test_malformed_values_are_left_out_and_never_quoted(machine: Path, as_nobody: bool) -> None:
    """Digits str.isdigit() accepts but int() refuses ('²'), 5,000-digit numbers, a secret where
    a number belongs, values of the wrong type: each value is left out (the default applies),
    the account is still listed, and the value appears in no message."""
    clients = build_clients(machine)
    cl = clients.homes["cl"]
    write(
        clients.bad["wl"],
        wlm_account(
            "WLM odd",
            "pop.odd.example",
            POP3_Port="²",
            Expire_Days="9" * 5000,
            Leave_Mail_On_Server=SECRET,
        ),
    )
    for name, text in evolution_source("odd", "pop.odd.example", port="²").items():
        text = text.replace("DeleteAfterDays=7", "DeleteAfterDays=" + "9" * 5000)
        write(clients.bad["ev"].parent / name, text)
    gconf_accounts = [
        f'<account name="No scheme" uid="1"><source><url>o:{SECRET}@pop.x.example/</url>'
        "</source></account>",
        '<account name="GConf odd" uid="2"><source keep-on-server="true">'
        "<url>pop://o@pop.g.example:²/;delete_after=99999999999999999</url></source></account>",
    ]
    items = "".join(
        f'<li type="string"><stringvalue>{escape(a)}</stringvalue></li>' for a in gconf_accounts
    )
    write(
        clients.homes["ev"] / ".gconf/apps/evolution/mail/%gconf.xml",
        f'<gconf><entry name="accounts" type="list" ltype="string">{items}</entry></gconf>',
    )
    write(
        cl / ".claws-mail/accountrc",
        claws_account(1, "Claws good")
        + claws_account(2, "Claws odd", set_popport=1, pop_port=SECRET, message_leave_time="²")
        + claws_account(3, "Claws long", protocol="9" * 5000),
    )
    write(clients.bad["km"], kmail_rc("pop.odd.example", port="9" * 5000))
    write(clients.bad["fe-getmail"], GETMAILRC.format(port="²"))
    write(clients.bad["fe-fetchmail"], "poll pop.odd.example proto pop3 port ²\n  user f\n")
    write(
        clients.bad["fe-mutt"],
        f'set pop_host="pops://m%40mutt.example@pop.mutt.example:{SECRET}"\n',
    )
    write(
        clients.bad["dt-outlook"],
        json.dumps(
            {
                "Identities": {
                    "a": {"EmailAddress": 5},
                    "b": {"EmailAddress": ["x@list.example"]},
                    "c": {"EmailAddress": "new@outlook.example", "Token": SECRET},
                    "d": "not an entry",
                }
            }
        ),
    )
    mailbird_store(
        clients.bad["dt-mailbird"],
        [
            (1, b"\x00\xff", "Bird\x00NUL", "pop.bird.example", "²"),
            (2, "bird@bird.example", None, 3.5, 99_999_999_999),
        ],
    )
    result = scan(machine, as_nobody)
    check_scan(result, clients, {})
    accounts = {(a["user"], a["name"]): a for a in result.report["accounts"]}  # type: ignore[index,union-attr]
    ports = {
        ("wl", "WLM odd"): 995,  # POP3_Secure_Connection=1: the TLS default
        ("ev", "Evo odd"): 995,
        ("ev", "GConf odd"): 110,
        ("cl", "Claws odd"): 110,
        ("km", "KMail pop.odd.example"): 110,
        ("fe", "getmailrc-bad: g@getmail.example@pop.getmail.example"): 995,
        ("fe", "f@pop.odd.example"): 110,
    }
    for key, port in ports.items():
        assert accounts[key]["incoming"]["port"] == port, key  # type: ignore[index]
    assert "new@outlook.example" in result.account_names("dt")
    assert "x@list.example" not in result.account_names("dt")
    assert result.account_names("dt") >= {"account 1", "bird@bird.example"}
    assert any("not a hexadecimal DWORD" in r for r in result.reasons("/Users/wl"))
    assert any("without a scheme" in r for r in result.reasons("/home/ev/.gconf"))
    assert accounts[("ev", "GConf odd")]["leave_on_server_days"] is None  # type: ignore[index]
    assert any("is not a number" in r for r in result.reasons("/home/cl/.claws-mail"))
    assert any("protocol is not a number" in r for r in result.reasons("/home/cl/.claws-mail"))
    assert accounts[("fe", "m@mutt.example@pop.mutt.example")]["incoming"]["port"] == 995  # type: ignore[index]


# ---------------------------------------------------------------- Outlook Express's .dbx folder

OE_GUID = "{3A1F0C2E-5B6D-4E7F-8091-A2B3C4D5E6F7}"
OE_STORE = f"Local Settings/Application Data/Identities/{OE_GUID}/Microsoft/Outlook Express"


def outlook_express_user(root: Path, user: str) -> Path:
    """An XP user whose identity has one POP3 account (its port a value OE never writes) and a
    store folder with one message .dbx; returns the store folder."""
    from regbuild import Raw, build_hive

    store_root = rf"%UserProfile%\{OE_STORE}".replace("/", "\\") + "\0"
    home = root / "Documents and Settings" / user
    home.mkdir(parents=True)
    good_profile(home)
    build_hive(
        home / "NTUSER.DAT",
        {
            f"Identities\\{OE_GUID}": {"Username": "Main", "User ID": OE_GUID},
            f"Identities\\{OE_GUID}\\Software\\Microsoft\\Outlook Express\\5.0": {
                "Store Root": Raw(
                    "hex(2):" + ",".join(f"{b:02x}" for b in store_root.encode("utf-16-le"))
                ),
            },
            r"Software\Microsoft\Internet Account Manager\Accounts\00000001": {
                "Account Name": "OE POP",
                "POP3 Server": "pop.oe.example",
                "POP3 User Name": "o",
                "POP3 Port": f"²{SECRET}",
                "SMTP Email Address": "o@oe.example",
            },
        },
    )
    store = home / OE_STORE
    store.mkdir(parents=True)
    (store / "Inbox.dbx").write_bytes(dbx("messages", 3, "", "Inbox", size=30_000))
    return store


def test_outlook_express_store_folders_that_cannot_be_read(
    machine: Path, outside: Path, as_nobody: bool
) -> None:
    """A FIFO and a link out among the .dbx files make the size a lower bound; a store folder
    `nobody` may not list is "not measured", never 0 B; the port that is no number is left out
    and not quoted."""
    if shutil.which("hivexregedit") is None:
        if os.environ.get("CI"):
            pytest.fail("hivexregedit is missing")
        pytest.skip("needs hivexregedit")
    odd = outlook_express_user(machine, "odd")
    os.mkfifo(odd / "Deleted Items.dbx")
    (outside / "Outside.dbx").write_bytes(dbx("messages", 3, "", "Outside", size=123_457))
    (odd / "Outside.dbx").symlink_to(outside / "Outside.dbx")
    outlook_express_user(machine, "locked").chmod(0o700)
    before = tree_fingerprint(machine)
    result = scan(machine, as_nobody)
    assert tree_fingerprint(machine) == before
    stores = {a["user"]: a for a in result.report["accounts"] if a["name"] == "OE POP"}  # type: ignore[index,union-attr]
    odd_store = stores["odd"]["local_store"]
    assert odd_store["bytes"] == 30_000  # Inbox.dbx; the link out is not followed
    assert "2 .dbx file(s) could not be read" in odd_store["note"]
    assert stores["odd"]["incoming"]["port"] == 110
    assert any("POP3 Port is not a hexadecimal DWORD" in r for r in result.reasons("/odd/"))
    for fmt, text in result.outputs.items():
        assert SECRET not in text, fmt
    locked = stores["locked"]["local_store"]
    if as_nobody and os.geteuid() == 0:
        assert locked["measured"] is False and "permission denied" in locked["note"]
    else:
        assert locked["measured"] is True and locked["bytes"] == 30_000
    for user in ("odd", "locked"):
        assert result.account_names(user) >= GOOD_NAMES | {"OE POP"}


# ---------------------------------------------------------------- cost


def test_a_store_shared_by_many_accounts_is_measured_once(machine: Path) -> None:
    """1,000 POP3 accounts delivering into one store of 20,000 messages, in Claws Mail, Evolution
    and Windows Live Mail: measured once per scan, not once per account (measured again for
    each account, the scan overran its bound of a minute)."""
    accounts, messages = 1000, 20_000
    claws = machine / "home" / "many"
    write(
        claws / ".claws-mail/accountrc", "".join(claws_account(n, f"C{n}") for n in range(accounts))
    )
    evolution = machine / "home" / "many"
    for n in range(accounts):
        for name, text in evolution_source(f"s{n}", "pop.evo.example").items():
            write(evolution / ".config/evolution/sources" / name, text)
    store = machine / "Users" / "many" / WLM_STORE
    for n in range(accounts):
        write(store / f"account{{{n:08X}}}.oeaccount", wlm_account(f"W{n}", "pop.wlm.example"))
    for folder in (claws / "Mail/inbox", evolution / ".local/share/evolution/mail/local/cur"):
        folder.mkdir(parents=True)
        for n in range(messages):
            (folder / str(n + 1)).write_bytes(b"x")
    shared = store / "Storage Folders" / "Inbox"
    shared.mkdir(parents=True)
    for n in range(messages):
        (shared / f"{n:08X}.eml").write_bytes(b"x")
    result = scan(machine, as_nobody=False)
    stores = [a["local_store"] for a in result.report["accounts"]]  # type: ignore[index,union-attr]
    assert len(stores) == 3 * accounts
    assert all(store["bytes"] == messages for store in stores)


def test_a_kconfig_key_with_endless_brackets_is_no_key() -> None:
    """KConfig writes a locale and a few $-options after a key; one with 200,000 of them is
    left out (peeling them one by one copied the key each time: quadratic)."""
    text = "[General]\nhost" + "[$e]" * 200_000 + "=x\nPath[$e]=$HOME/mail\nname[de]=y\nport=995\n"
    groups = parse_kconfig(text, Path("/home/k"))
    assert groups["General"] == {"Path": "/home/k/mail", "port": "995"}


# ---------------------------------------------------------------- the helpers, on any input


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_small_int_reads_only_short_ascii_numbers(text: str) -> None:
    number = small_int(text)
    digits = text.strip().removeprefix("-")
    if digits.isascii() and digits.isdigit() and len(digits) <= 10:
        assert number == int(text.strip())
    else:
        assert number is None
    port = port_number(text)
    assert port is None or (0 < port < 65536 and port == number)


def test_small_int_refuses_what_int_would_choke_on() -> None:
    assert small_int("²") is None and small_int("٣") is None  # isdigit() says yes, int() no
    assert small_int("9" * 5000) is None  # int() refuses over 4,300 digits
    assert (small_int(" 995 "), small_int("-1"), port_number("70000")) == (995, -1, None)


def test_find_file_and_entries_never_follow_a_link(machine: Path, outside: Path) -> None:
    """A FIFO and a link count as files (reading them then says why not); a link to a folder
    is not a folder to descend into; a link out of the root is refused when listed."""
    home = machine / "home" / "f"
    (home / "real").mkdir(parents=True)
    os.mkfifo(home / "fifo")
    (home / "to-outside").symlink_to(outside)
    (home / "to-real").symlink_to(home / "real")
    files = MachineFiles(machine)
    assert files.find_file(home / "fifo") == home / "fifo"
    assert files.find_file(home / "to-outside") == home / "to-outside"
    assert files.find_file(home / "real") is None and files.find_file(home / "absent") is None
    assert files.entries(home) == [
        (home / "fifo", False),
        (home / "real", True),
        (home / "to-outside", False),
        (home / "to-real", False),
    ]
    with pytest.raises(UnreadableFile, match="outside the scanned root"):
        files.entries(home / "to-outside")


def test_measure_store_tells_absent_unreadable_and_not_a_file_apart(machine: Path) -> None:
    files = MachineFiles(machine)
    os.mkfifo(machine / "spool")
    (machine / "mail").mkdir()
    (machine / "mail" / "1").write_bytes(b"x" * 10)
    everything = IgnoreRule((), frozenset())
    absent = measure_store(files, machine / "nothing", everything, "note")
    assert (absent.exists, absent.measured, absent.note) == (
        False,
        True,
        "note; mail folder does not exist",
    )
    fifo = measure_store(files, machine / "spool", everything, None, what="the spool file")
    assert fifo.measured is False and fifo.note == (
        "the spool file is a FIFO (named pipe), not a regular file"
    )
    folder = measure_store(files, machine / "mail", everything, "n")
    assert (folder.bytes, folder.measured, folder.note) == (10, True, "n")
