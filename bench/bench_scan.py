"""How long does `scan` take on a machine with 1,000 Thunderbird accounts?

Builds, in a temporary folder, 100 users with one profile each; every profile holds 10 mail
accounts (POP3 and IMAP, half with a small mbox) plus the ~250 other prefs a real Thunderbird
writes. Then runs the whole audit (users, profiles.ini, prefs.js, folders, classify, JSON
render) several times and prints the timings. Nothing leaves this machine; nothing is asserted:
the numbers are for reading.

    .venv/bin/python bench/bench_scan.py [--users 100] [--accounts 10] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from mailaudit.audit import AuditOptions, run_audit
from mailaudit.report import Format, render


def build(root: Path, users: int, accounts: int) -> int:
    total = 0
    for u in range(users):
        base = root / "home" / f"user{u:03d}" / ".thunderbird"
        profile = base / "p.default"
        profile.mkdir(parents=True)
        (base / "profiles.ini").write_text(
            "[Profile0]\nName=default\nIsRelative=1\nPath=p.default\n"
        )
        profile_rel = ".thunderbird/p.default"
        prefs: dict[str, object] = {}
        keys = []
        for a in range(1, accounts + 1):
            kind = "pop3" if a % 2 else "imap"
            keys.append(f"account{a}")
            prefs |= {
                f"mail.account.account{a}.server": f"server{a}",
                f"mail.account.account{a}.identities": f"id{a}",
                f"mail.identity.id{a}.useremail": f"user{u}.{a}@example.test",
                f"mail.identity.id{a}.fullName": f"User {u}",
                f"mail.identity.id{a}.smtpServer": "smtp1",
                f"mail.server.server{a}.type": kind,
                f"mail.server.server{a}.hostname": f"{kind}.provider{a}.test",
                f"mail.server.server{a}.userName": f"user{u}.{a}",
                f"mail.server.server{a}.name": f"Account {a}",
                f"mail.server.server{a}.port": 995 if kind == "pop3" else 993,
                f"mail.server.server{a}.socketType": 3,
                f"mail.server.server{a}.directory-rel": f"[ProfD]Mail/host{a}",
                f"mail.server.server{a}.directory": f"/home/user{u:03d}/{profile_rel}/Mail/host{a}",
                f"mail.server.server{a}.login_at_startup": True,
                f"mail.server.server{a}.check_new_mail": True,
                f"mail.server.server{a}.storeContractID": "@mozilla.org/msgstore/berkeleystore;1",
            }
            folder = profile / "Mail" / f"host{a}"
            folder.mkdir(parents=True)
            if a % 4 == 1:
                (folder / "Inbox").write_bytes(
                    b"From - Mon Sep 01 09:00:00 2025\nSubject: x\n\nbody\n" * 50
                )
                (folder / "Inbox.msf").write_bytes(b"// mork" * 20)
            total += 1
        prefs["mail.accountmanager.accounts"] = ",".join(keys)
        for n in range(250):  # the unrelated prefs every real profile carries
            prefs[f"browser.some.setting{n}"] = f"value with some text {n}" if n % 3 else n
        lines = sorted(f'user_pref("{k}", {_literal(v)});' for k, v in prefs.items())
        (profile / "prefs.js").write_text(
            "// Mozilla User Preferences\n\n" + "\n".join(lines) + "\n"
        )
    return total


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f'"{value}"'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=10, help="accounts per user")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailaudit-bench-") as folder:
        root = Path(folder)
        built = build(root, args.users, args.accounts)
        timings = []
        for _ in range(args.runs):
            start = time.perf_counter()
            report = run_audit(AuditOptions(root=root, offline=True))
            render(report, Format.JSON)
            timings.append(time.perf_counter() - start)
        assert len(report.accounts) == built, (len(report.accounts), built)
    print(f"scan of {built} Thunderbird accounts ({args.users} users), {args.runs} runs:")
    print(
        f"  min {min(timings) * 1000:.0f} ms, median {statistics.median(timings) * 1000:.0f} ms, "
        f"max {max(timings) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
