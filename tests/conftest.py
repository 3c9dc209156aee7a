"""Shared helpers: run an audit on a folder, fingerprint a tree, write profiles by hand."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mailaudit.audit import AuditOptions, run_audit
from mailaudit.model import Account, MachineReport
from mailaudit.probe.runner import ProbeOptions

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "fixtures" / "machines" / "sample"
REAL_TB = REPO / "tests" / "fixtures" / "thunderbird-real"

sys.path.insert(0, str(REPO / "fixtures"))  # regbuild: hives and .reg exports for the tests

PREFS_HEADER = "// Mozilla User Preferences\n\n"


def audit(root: Path) -> MachineReport:
    return run_audit(AuditOptions(root=root, offline=True))


def by_name(report: MachineReport) -> dict[str, Account]:
    return {account.name: account for account in report.accounts}


def tree_fingerprint(root: Path) -> str:
    """Names, modes, sizes, mtimes and contents of everything under root; links not followed."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(folder) / name
            try:
                info = path.lstat()
            except OSError:  # nested beyond PATH_MAX: named, not read
                digest.update(
                    f"{path.relative_to(root)}|unreachable\n".encode(errors="surrogateescape")
                )
                continue
            digest.update(
                f"{path.relative_to(root)}|{info.st_mode}|{info.st_size}|{info.st_mtime_ns}\n".encode(
                    errors="surrogateescape"  # a name that is not UTF-8
                )
            )
            if path.is_file() and not path.is_symlink() and os.access(path, os.R_OK):
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            elif path.is_symlink():
                digest.update(str(path.readlink()).encode())
    return digest.hexdigest()


def file_states(root: Path) -> dict[str, tuple[int, int, int]]:
    """Size, modification and access time of every file: reading must change none of them."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_atime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def pref_line(name: str, value: object) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    else:
        text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f'user_pref("{name}", {text});'


def write_profile(
    home: Path,
    prefs: dict[str, object],
    *,
    root: str = ".thunderbird",
    folder: str = "abcd1234.default",
    extra: str = "",
) -> Path:
    """A profiles.ini with one relative profile, and its prefs.js. Returns the profile folder."""
    base = home / root
    profile = base / folder
    profile.mkdir(parents=True, exist_ok=True)
    (base / "profiles.ini").write_text(
        f"[Profile0]\nName=default\nIsRelative=1\nPath={folder}\nDefault=1\n\n[General]\nVersion=2\n"
    )
    lines = [pref_line(k, v) for k, v in prefs.items()]
    (profile / "prefs.js").write_text(PREFS_HEADER + "\n".join(lines) + "\n" + extra)
    return profile


def pop_and_imap() -> dict[str, object]:
    """A small profile: one POP3 account, one IMAP account and Local Folders."""
    return {
        "mail.accountmanager.accounts": "account1,account2,account3",
        "mail.accountmanager.localfoldersserver": "server3",
        "mail.account.account1.server": "server1",
        "mail.account.account1.identities": "id1",
        "mail.account.account2.server": "server2",
        "mail.account.account2.identities": "id2",
        "mail.account.account3.server": "server3",
        "mail.identity.id1.useremail": "pat@pop.test",
        "mail.identity.id2.useremail": "pat@imap.test",
        "mail.server.server1.type": "pop3",
        "mail.server.server1.hostname": "pop.pop.test",
        "mail.server.server1.userName": "pat",
        "mail.server.server1.name": "POP account",
        "mail.server.server1.socketType": 3,
        "mail.server.server2.type": "imap",
        "mail.server.server2.hostname": "imap.imap.test",
        "mail.server.server2.userName": "pat",
        "mail.server.server2.name": "IMAP account",
        "mail.server.server2.socketType": 2,
        "mail.server.server3.type": "none",
        "mail.server.server3.hostname": "Local Folders",
    }


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Real Dovecot and dnsmasq on loopback, started once for the whole run."""
    import labservers

    missing = labservers.missing_tools()
    if missing:
        message = f"needs {missing}: apt-get install dovecot-imapd dovecot-pop3d dnsmasq-base"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's private tmp: Dovecot's mail processes run as nobody and must reach
    # the users' homes; and a short path keeps Dovecot's socket names under their limit.
    folder = Path(tempfile.mkdtemp(prefix="mailaudit-lab-"))
    folder.chmod(0o755)
    certs = labservers.make_certs(folder / "certs")
    servers: dict[str, object] = {}
    started: list = []
    try:
        for name, cert, listen, protocols in (
            ("good", "good", "127.0.0.1", "imap pop3"),
            ("strict", "good", "127.0.0.2", "imap pop3"),  # remote-like: LOGINDISABLED
            ("wrongname", "wrongname", "127.0.0.1", "imap pop3"),
            ("expired", "expired", "127.0.0.1", "imap pop3"),
            ("selfsigned", "selfsigned", "127.0.0.1", "imap pop3"),
            ("poponly", "good", "127.0.0.1", "pop3"),
        ):
            server = labservers.Dovecot(folder / name, certs, cert, protocols, listen).start()
            started.append(server)
            servers[name] = server
        good, poponly = servers["good"].ports, servers["poponly"].ports  # type: ignore[attr-defined]
        dns = labservers.Dnsmasq(folder / "dns", [
            "host-record=mail.example.test,127.0.0.1,::1",
            "host-record=strict.example.test,127.0.0.2",
            # full.test: a provider with every RFC 6186 record, pointing at the good Dovecot
            "mx-host=full.test,mail.example.test,10",
            f"srv-host=_imaps._tcp.full.test,mail.example.test,{good['imaps']},0,1",
            f"srv-host=_imap._tcp.full.test,mail.example.test,{good['imap']},10,1",
            f"srv-host=_pop3s._tcp.full.test,mail.example.test,{good['pop3s']},0,1",
            f"srv-host=_pop3._tcp.full.test,mail.example.test,{good['pop3']},10,1",
            "srv-host=_submission._tcp.full.test,mail.example.test,587,0,1",
            # poponly.test: IMAP declared "not offered" (target "."), POP3 only
            "host-record=pop.poponly.test,127.0.0.1",
            "mx-host=poponly.test,pop.poponly.test,10",
            "srv-host=_imaps._tcp.poponly.test",
            "srv-host=_imap._tcp.poponly.test",
            f"srv-host=_pop3s._tcp.poponly.test,pop.poponly.test,{poponly['pop3s']},0,1",
            # mxonly.test: an MX and nothing else; nomail.test: nothing at all (NXDOMAIN)
            "mx-host=mxonly.test,mx.mxonly.test,10",
            # autoconfig hosts, served by tests/webserver.py on 127.0.0.2
            *[f"host-record=autoconfig.{d}.test,127.0.0.2" for d in WEB_DOMAINS],
        ], zones=("example.test", "full.test", "poponly.test", "mxonly.test", "nomail.test",
                  *[f"{d}.test" for d in WEB_DOMAINS])).start()  # fmt: skip
        started.append(dns)
        servers["dns"] = dns
        servers["certs"] = certs
        yield servers
    finally:
        labservers.stop_all(started)
        shutil.rmtree(folder, ignore_errors=True)


def lab_options(lab, **changes) -> ProbeOptions:  # type: ignore[no-untyped-def]
    """Probe options for the lab: its CA trusted, its dnsmasq asked, a short timeout."""
    settings = {
        "timeout": 2,
        "ca_file": lab["certs"] / "ca.crt",
        "dns_server": ("127.0.0.1", lab["dns"].port),
    } | changes
    return ProbeOptions(**settings)


WEB_DOMAINS = ("ac", "redirect", "loop", "huge", "bomb", "notxml")


@pytest.fixture(scope="session")
def web(lab):  # type: ignore[no-untyped-def]
    """The autoconfig web server on 127.0.0.2:443 and :80 (root only)."""
    import labservers

    from . import webserver

    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the autoconfig server needs root for ports 443 and 80")
        pytest.skip("the autoconfig server needs root for ports 443 and 80")
    cert, key = labservers.make_leaf(
        lab["certs"], "web", [f"autoconfig.{d}.test" for d in WEB_DOMAINS]
    )
    with webserver.serving(cert, key, lab["good"].ports["imaps"]):
        yield


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    root = tmp_path / "machine"
    root.mkdir()
    return root


MakeProfile = Callable[..., Path]
