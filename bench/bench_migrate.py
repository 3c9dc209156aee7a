"""How fast does `mailaudit migrate` upload, against mbsync and a one-at-a-time imaplib loop?

On loopback only: one Dovecot over TLS offering MULTIAPPEND and one that does not advertise it
(the same Dovecot otherwise), a dnsmasq naming them, and a generated Maildir++ corpus (default
5,000 messages of mixed sizes in three folders). Each tool uploads the whole corpus into a
fresh user's mailbox, directly (0 ms) and through a loopback proxy adding a delay each way
(default 15 ms: about 30 ms round trip, because a client's uplink is not loopback):

1. `mailaudit migrate`, one connection, without MULTIAPPEND and with it; then 2 and 4
   connections with it (the measurement behind the default of --connections);
2. `mbsync` (Debian isync), `Sync Push`, `Create Far`, `CopyArrivalDate yes`;
3. a stdlib imaplib loop, one APPEND at a time, on the first 300 messages only (the whole
   corpus would take many minutes; the rate is what counts);
4. a finished migration run again (it must upload nothing, in < 5 % of the first run's time);
5. peak memory of one 40 MB message, and of a whole mbox of `--mbox-gigabytes` (default 5; the
   store readers' benchmark writes it: messages of 2 KB to 300 KB and one of 40 MB), uploaded
   with the defaults (two connections, `--verify quick`) as a user would run it (target: under
   100 MB for both). The speed runs above use `--verify none`, as mbsync checks nothing.

Every run is checked on the server (message count per folder). Prints every figure and the
ratios the issue sets as targets. Run as root (Dovecot): `make bench`, or
`.venv/bin/python bench/bench_migrate.py [--messages N] [--delay S]`.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import os
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))

from bench_stores import write_mbox  # noqa: E402  (beside this file)
from delayproxy import DelayProxy  # noqa: E402  (from fixtures/, on the path just above)
from labservers import USERS, Dnsmasq, Dovecot, make_certs, missing_tools, stop_all  # noqa: E402

HOST = "mail.example.test"
FOLDERS = (("INBOX", 0.6), ("Archive", 0.3), ("Sent", 0.1))
NO_MULTIAPPEND = (
    "imap_capability = IMAP4rev1 SASL-IR LITERAL+ ENABLE IDLE NAMESPACE UIDPLUS CHILDREN "
    "SPECIAL-USE LIST-EXTENDED\n"
)
PLAIN_CONF = """
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
}
"""
USER_POOL = 200


@dataclass
class Run:
    name: str
    rtt_ms: int
    seconds: float
    messages: int
    megabytes: float
    rss_mb: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def make_corpus(root: Path, count: int, seed: int = 15) -> tuple[int, int]:
    """Deterministic Maildir++: 90 % text 2-16 KB, 9 % 30-150 KB, 1 % 0.5-1.5 MB (base64),
    flags in the names, mtime = the message's date. (messages, bytes)"""
    rng = random.Random(seed)
    total = 0
    for folder, _ in FOLDERS:
        where = root if folder == "INBOX" else root / f".{folder}"
        for sub in ("cur", "new", "tmp"):
            (where / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        pick = rng.random()
        folder = next(name for name, cut in _cumulative(FOLDERS) if pick < cut)
        kind = rng.random()
        size = (
            rng.randint(2_000, 16_000)
            if kind < 0.90
            else rng.randint(30_000, 150_000)
            if kind < 0.99
            else rng.randint(500_000, 1_500_000)
        )
        when = 1_500_000_000 + n * 3600
        head = (
            f"From: Sender {n % 97} <s{n % 97}@example.test>\nTo: pat@example.test\n"
            f"Subject: message {n}\nMessage-ID: <bench.{n}@example.test>\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(when))}\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
        )
        line = "The quick brown fox jumps over the lazy dog, message body line. " * 1
        body = (line + "\n") * max(1, (size - len(head)) // (len(line) + 1))
        data = (head + body).encode()
        letters = rng.choice(["S", "S", "S", "RS", "FS", ""])
        where = root if folder == "INBOX" else root / f".{folder}"
        path = where / "cur" / f"{when}.M{n}P1.bench:2,{letters}"
        path.write_bytes(data)
        os.utime(path, (when, when))
        total += len(data) + data.count(b"\n")  # CRLF on the wire
    return count, total


def _cumulative(pairs: tuple[tuple[str, float], ...]) -> list[tuple[str, float]]:
    found, running = [], 0.0
    for name, share in pairs:
        running += share
        found.append((name, running))
    found[-1] = (found[-1][0], 1.01)
    return found


# A child's peak RSS on Linux includes what its parent held when it forked (exec keeps the
# high-water mark), and this process holds corpora: each tool is started from a small Python
# that reports its child's own figure.
MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of a child process."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, check=False
    )
    seconds = time.monotonic() - started
    code_text, rss_kb = done.stdout.decode().split()
    code = int(code_text)
    if code != 0:
        error = done.stderr.decode().strip()[-400:]
        print(f"  ! {command[0]} exited {code}: {error}", file=sys.stderr)
    return seconds, int(rss_kb) / 1024, code


def count_on_server(port: int, user: str, certs: Path) -> int:
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    context.check_hostname = False
    client = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context)
    try:
        client.login(user, "bench-secret")
        total = 0
        for folder, _ in FOLDERS:
            status, data = client.status(folder, "(MESSAGES)")
            if status == "OK":
                total += int(data[0].split(b"MESSAGES ")[1].rstrip(b")"))
        return total
    finally:
        client.logout()


IMAPLIB_LOOP = r"""
import imaplib, os, ssl, sys, time
port, user, root, limit, ca = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
context = ssl.create_default_context(cafile=ca); context.check_hostname = False
client = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=context)
client.login(user, "bench-secret")
folders = {"INBOX": root, "Archive": os.path.join(root, ".Archive"),
           "Sent": os.path.join(root, ".Sent")}
done = 0
for name, path in folders.items():
    if name != "INBOX":
        client.create(name)
    for file in sorted(os.listdir(os.path.join(path, "cur"))):
        if done >= limit:
            break
        full = os.path.join(path, "cur", file)
        letters = file.rsplit(":2,", 1)[1]
        flags = " ".join(f for l, f in (("S", "\\Seen"), ("R", "\\Answered"),
                                        ("F", "\\Flagged")) if l in letters)
        data = open(full, "rb").read().replace(b"\n", b"\r\n")
        date = imaplib.Time2Internaldate(os.stat(full).st_mtime)
        client.append(name, f"({flags})", date, data)
        done += 1
client.logout()
"""


def mbsync_config(folder: Path, port: int, user: str, corpus: Path, certs: Path) -> Path:
    (folder / "state").mkdir(parents=True, exist_ok=True)
    (folder / "pass").write_text("bench-secret\n")
    config = folder / "mbsyncrc"
    config.write_text(
        f"IMAPAccount far\nHost 127.0.0.1\nPort {port}\nUser {user}\n"
        f'PassCmd "cat {folder / "pass"}"\nSSLType IMAPS\n'
        f"CertificateFile {certs / 'good.crt'}\n"  # the server's own: trusted as-is (isync)
        "PipelineDepth 1000000\n\n"
        "IMAPStore far\nAccount far\n\n"
        f"MaildirStore near\nInbox {corpus}\nSubFolders Maildir++\n\n"
        "Channel push\nFar :far:\nNear :near:\nPatterns *\nSync Push\nCreate Far\n"
        f"Expunge None\nCopyArrivalDate yes\nSyncState {folder / 'state'}/\n"
    )
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.015, help="one-way delay, seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--mbox-gigabytes", type=float, default=5.0, help="the large mbox's size; 0 leaves it out"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each; the ratios use the medians"
    )
    parser.add_argument(
        "--fsync",
        choices=("optimized", "never"),
        default="optimized",
        help="Dovecot's mail_fsync: optimized (its default) syncs each APPEND to disk, which "
        "on a shared disk makes every figure a disk figure; never measures the protocol",
    )
    args = parser.parse_args()
    if missing_tools() or shutil.which("mbsync") is None or os.geteuid() != 0:
        print("needs root, Dovecot, dnsmasq, openssl and mbsync (scripts/install-test-deps.sh)")
        return 2
    lab = Path(tempfile.mkdtemp(prefix="mailaudit-bench-migrate-"))
    lab.chmod(0o755)
    servers: list[Dovecot | Dnsmasq] = []
    users = iter(f"bench{n}" for n in range(USER_POOL))
    pool = USERS + "".join(f"bench{n}:{{PLAIN}}bench-secret\n" for n in range(USER_POOL))
    runs: list[Run] = []
    try:
        certs = make_certs(lab / "certs")
        conf = PLAIN_CONF + f"mail_fsync = {args.fsync}\n"
        multi = Dovecot(lab / "multi", certs, "good", "imap", extra_conf=conf, users=pool)
        single = Dovecot(
            lab / "single", certs, "good", "imap", extra_conf=conf + NO_MULTIAPPEND, users=pool
        )
        servers += [multi.start(), single.start()]
        dns = Dnsmasq(lab / "dns", [f"host-record={HOST},127.0.0.1"]).start()
        servers.append(dns)
        corpus = lab / "corpus"
        count, size = make_corpus(corpus, args.messages)
        megabytes = size / 1e6
        print(
            f"corpus: {count} messages, {megabytes:.0f} MB (CRLF), Maildir++ in 3 folders; "
            f"Dovecot mail_fsync = {args.fsync}"
        )
        python = sys.executable

        def mailaudit(
            server: Dovecot, port: int, user: str, connections: int, state: Path
        ) -> tuple[float, float, int]:
            env = {**os.environ, "BENCH_PASSWORD": "bench-secret"}
            return timed(
                [
                    python, "-m", "mailaudit", "migrate", "--from", str(corpus),
                    "--to", f"imaps://{user}@{HOST}:{port}", "--password-env", "BENCH_PASSWORD",
                    "--ca-file", str(certs / "ca.crt"), "--dns-server", f"127.0.0.1:{dns.port}",
                    "--connections", str(connections), "--state", str(state), "--verify",
                    "none", "-q",
                ],
                env,
            )  # fmt: skip

        def record(name: str, rtt: int, server: Dovecot, user: str, took: tuple[float, float, int],
                   expected: int = count) -> None:  # fmt: skip
            seconds, rss, code = took
            found = count_on_server(server.ports["imaps"], user, certs)
            ok = code == 0 and found == expected
            mark = "" if ok else f"  !! exit {code}, {found}/{expected} on the server"
            share = megabytes * expected / count
            runs.append(Run(name, rtt, seconds, expected, share, rss))
            print(
                f"  {name:<42} {rtt:>3} ms  {seconds:7.2f} s  {expected / seconds:8.0f} msg/s  "
                f"{share / seconds:6.1f} MB/s  RSS {rss:5.0f} MB{mark}",
                flush=True,
            )

        rtt_ms = round(args.delay * 2000)
        for delay in (0.0, args.delay):
            rtt = 0 if delay == 0 else rtt_ms
            with DelayProxy("127.0.0.1", multi.ports["imaps"], delay) as via_multi, DelayProxy(
                "127.0.0.1", single.ports["imaps"], delay
            ) as via_single:  # fmt: skip
                print(f"round trip +{rtt} ms:")
                for _ in range(args.repeat):
                    user = next(users)
                    took = mailaudit(single, via_single.port, user, 1, lab / f"s-{user}")
                    record("mailaudit, 1 conn, no MULTIAPPEND", rtt, single, user, took)
                    user = next(users)
                    state = lab / f"s-{user}"
                    took = mailaudit(multi, via_multi.port, user, 1, state)
                    record("mailaudit, 1 conn, MULTIAPPEND", rtt, multi, user, took)
                    first = took[0]
                    again = mailaudit(multi, via_multi.port, user, 1, state)
                    record("mailaudit re-run (nothing to send)", rtt, multi, user, again)
                    runs[-1].messages = 0
                    print(f"    re-run took {again[0] / first:.1%} of the first run (target < 5 %)")
                    for connections in (2, 4):
                        user = next(users)
                        took = mailaudit(
                            multi, via_multi.port, user, connections, lab / f"s-{user}"
                        )
                        record(
                            f"mailaudit, {connections} conn, MULTIAPPEND", rtt, multi, user, took
                        )
                    user = next(users)
                    config = mbsync_config(
                        lab / f"mbsync-{user}", via_multi.port, user, corpus, certs
                    )
                    took = timed(["mbsync", "-c", str(config), "-q", "push"])
                    record("mbsync (Sync Push)", rtt, multi, user, took)
                    user = next(users)
                    limit = min(count, 300)  # the rate is what counts; all of it takes minutes
                    script = lab / "imaplib_loop.py"
                    script.write_text(IMAPLIB_LOOP)
                    took = timed(
                        [python, str(script), str(via_multi.port), user, str(corpus), str(limit),
                         str(certs / "ca.crt")]
                    )  # fmt: skip
                    record(
                        f"imaplib, 1 APPEND at a time ({limit} msgs)", rtt, multi, user, took, limit
                    )
        big = lab / "big"
        (big / "cur").mkdir(parents=True)
        (big / "new").mkdir()
        (big / "tmp").mkdir()
        payload = ("A" * 76 + "\n") * (40 * 1024 * 1024 // 77)
        (big / "cur" / "1.M1P1.big:2,S").write_text(
            "From: a@example.test\nSubject: big\nMessage-ID: <big@example.test>\n\n" + payload
        )
        user = next(users)
        env = {**os.environ, "BENCH_PASSWORD": "bench-secret"}
        took = timed(
            [
                python, "-m", "mailaudit", "migrate", "--from", str(big),
                "--to", f"imaps://{user}@{HOST}:{multi.ports['imaps']}",
                "--password-env", "BENCH_PASSWORD", "--ca-file", str(certs / "ca.crt"),
                "--dns-server", f"127.0.0.1:{dns.port}", "--state", str(lab / "s-big"), "-q",
            ],
            env,
        )  # fmt: skip
        print(f"one 40 MB message: {took[0]:.2f} s, peak RSS {took[1]:.0f} MB (target < 100 MB)")
        if args.mbox_gigabytes > 0:
            mbox = lab / "Inbox.mbox"
            messages = write_mbox(mbox, int(args.mbox_gigabytes * 1e9))
            user = next(users)
            took = timed(
                [
                    python, "-m", "mailaudit", "migrate", "--from", str(mbox),
                    "--to", f"imaps://{user}@{HOST}:{multi.ports['imaps']}",
                    "--password-env", "BENCH_PASSWORD", "--ca-file", str(certs / "ca.crt"),
                    "--dns-server", f"127.0.0.1:{dns.port}", "--state", str(lab / "s-mbox"),
                    "-q",
                ],
                env,
            )  # fmt: skip
            mbox.unlink()
            print(
                f"a {args.mbox_gigabytes:g} GB mbox ({messages} messages, 2 connections): "
                f"{took[0]:.1f} s ({messages / took[0]:.0f} msg/s), exit {took[2]}, "
                f"peak RSS {took[1]:.0f} MB (target < 100 MB)"
            )
        summary(runs, rtt_ms)
        if args.json:
            args.json.write_text(json.dumps([r.__dict__ for r in runs], indent=2) + "\n")
    finally:
        stop_all(servers)
        shutil.rmtree(lab, ignore_errors=True)
    return 0


def summary(runs: list[Run], rtt_ms: int) -> None:
    def rate(name: str, rtt: int) -> float:
        found = [r.rate for r in runs if r.name.startswith(name) and r.rtt_ms == rtt]
        return statistics.median(found) if found else 0.0

    print("targets (median messages/s against mbsync's median):")
    for rtt in (0, rtt_ms):
        mbsync = rate("mbsync", rtt)
        if not mbsync:
            continue
        for name, goal in (
            ("mailaudit, 1 conn, no MULTIAPPEND", 1.0),
            ("mailaudit, 1 conn, MULTIAPPEND", 2.0),
            ("mailaudit, 2 conn, MULTIAPPEND", None),
            ("mailaudit, 4 conn, MULTIAPPEND", None),
            ("imaplib", None),
        ):
            ratio = rate(name, rtt) / mbsync
            verdict = "" if goal is None else ("  met" if ratio >= goal else "  NOT MET")
            target = f" (target >= {goal:.1f}x)" if goal else ""
            print(f"  {rtt:>3} ms  {name:<36} {ratio:5.2f}x mbsync{target}{verdict}")


if __name__ == "__main__":
    sys.exit(main())
