"""How fast is `mailaudit backup`, against the same verified copy made with standard tools?

Generates, under a temporary folder (or --work), a machine with one Thunderbird POP3 account
whose mail folder holds about 2 GB: four large mbox files, one PST-sized file, and 20,000 small
Maildir files (text messages and base64 attachments of random bytes, as real mail has). Then,
in the same run, alternating, --runs times each:

1. `mailaudit backup --root MACHINE --to DEST -q` (the whole command: the offline scan, the
   copy, fsync, the read-back of every member from the disk);
2. the same verified copy with standard tools: `tar -cf` of the same files, `sha256sum` of
   every source file, `sha256sum` of the archive (one after another, as a script would).

Prints the median wall times, their ratio (the goal: at most 1.0), plain `tar -cf` alone for
reference, mailaudit's peak memory (the goal: under 100 MB), and, for the stored-or-deflated
choice, how long a deflated ZIP of the same files takes and how much smaller it is. Nothing is
asserted: the numbers are for reading. `make bench`, or
`.venv/bin/python bench/bench_backup.py [--runs 3] [--work DIR] [--keep]`.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

MB = 1 << 20
STORE = "home/pat/.thunderbird/p.default/Mail/pop.example.test"
PREFS = """// Mozilla User Preferences
user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account1.identities", "id1");
user_pref("mail.identity.id1.useremail", "pat@example.test");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server1.hostname", "pop.example.test");
user_pref("mail.server.server1.userName", "pat");
user_pref("mail.server.server1.name", "Pat");
"""
WORDS = [
    "invoice",
    "meeting",
    "tomorrow",
    "please",
    "find",
    "attached",
    "regards",
    "the",
    "project",
    "report",
    "draft",
    "offer",
    "contract",
    "delivery",
    "schedule",
    "thank",
    "you",
    "for",
    "your",
    "message",
    "best",
    "wishes",
    "kind",
    "order",
    "payment",
    "appointment",
    "confirmation",
    "monday",
    "friday",
    "office",
    "customer",
    "account",
    "update",
    "question",
    "answer",
]


def message(rng: random.Random, number: int) -> bytes:
    """One message: headers, a few paragraphs, and in six of ten an attachment."""
    text = "\n".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
        for _ in range(rng.randint(5, 40))
    )
    head = (
        f"From: sender{number % 97}@example.test\nTo: pat@example.test\n"
        f"Subject: {' '.join(rng.choice(WORDS) for _ in range(5))}\n"
        f"Message-ID: <{number}.{rng.getrandbits(48)}@example.test>\n"
        "MIME-Version: 1.0\n"
    )
    if rng.random() < 0.6:
        attachment = base64.encodebytes(rng.randbytes(rng.randint(2_000, 120_000))).decode()
        body = (
            'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
            f"{text}\n--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
            f"{attachment}--b--\n"
        )
    else:
        body = f"Content-Type: text/plain\n\n{text}\n"
    return (head + body).encode()


def write_mbox(path: Path, size: int, rng: random.Random) -> int:
    written = 0
    with path.open("wb") as out:
        number = 0
        while written < size:
            data = b"From - Mon Sep 01 09:00:00 2025\n" + message(rng, number) + b"\n"
            out.write(data)
            written += len(data)
            number += 1
    return written


def write_pst_like(path: Path, size: int, rng: random.Random) -> int:
    """PST-sized: 4 KB pages, half of them nearly empty, the rest of the stored mail's bytes
    (Outlook's "compressible encryption" leaves them about as random as compressed data)."""
    with path.open("wb") as out:
        for page in range(size // 4096):
            if page % 2:
                out.write(rng.randbytes(256) + bytes(4096 - 256))
            else:
                out.write(rng.randbytes(4096))
    return size // 4096 * 4096


def build(root: Path, mbox_mb: int, pst_mb: int, small: int) -> tuple[int, int]:
    """The machine; returns (files, bytes) of its store."""
    rng = random.Random(4711)
    profile = root / "home/pat/.thunderbird/p.default"
    profile.mkdir(parents=True)
    (root / "home/pat/.thunderbird/profiles.ini").write_text(
        "[Profile0]\nName=default\nIsRelative=1\nPath=p.default\nDefault=1\n"
    )
    (profile / "prefs.js").write_text(PREFS)
    store = root / STORE
    (store / "Archives.sbd").mkdir(parents=True)
    total = 0
    for name in ("Inbox", "Sent", "Archives.sbd/2023", "Archives.sbd/2024"):
        total += write_mbox(store / name, mbox_mb * MB, rng)
    total += write_pst_like(store / "Archive.pst", pst_mb * MB, rng)
    cur = store / "Maildir" / "cur"
    cur.mkdir(parents=True)
    for number in range(small):
        data = message(rng, number)[: rng.randint(2_000, 18_000)]
        (cur / f"{1700000000 + number}.{number}.host:2,S").write_bytes(data)
        total += len(data)
    return 5 + small, total


def run_mailaudit(root: Path, dest: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one `mailaudit backup` run."""
    command = [sys.executable, "-m", "mailaudit", "backup", "--root", str(root)]
    command += ["--to", str(dest), "-q"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"mailaudit backup exited with {code}")
    return seconds, usage.ru_maxrss * 1024


def run_tools(root: Path, dest: Path, listing: Path) -> tuple[float, float]:
    """Wall seconds of tar + sha256sum of the sources + sha256sum of the archive, and of tar
    alone."""
    archive = dest / "copy.tar"
    start = time.perf_counter()
    subprocess.run(["tar", "-cf", str(archive), "-C", str(root), "-T", str(listing)], check=True)
    tar_done = time.perf_counter()
    with listing.open("rb") as names:
        subprocess.run(
            ["xargs", "-d", "\n", "sha256sum"],
            stdin=names,
            cwd=root,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    subprocess.run(["sha256sum", str(archive)], check=True, stdout=subprocess.DEVNULL)
    end = time.perf_counter()
    return end - start, tar_done - start


def deflated(root: Path, names: list[str], dest: Path) -> tuple[float, int]:
    """Seconds to write a deflated ZIP (level 6, what most tools make) and its size."""
    target = dest / "deflated.zip"
    start = time.perf_counter()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zipped:
        for name in names:
            zipped.write(root / name, name)
    seconds = time.perf_counter() - start
    size = target.stat().st_size
    target.unlink()
    return seconds, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mbox-mb", type=int, default=300, help="size of each of 4 mbox files")
    parser.add_argument("--pst-mb", type=int, default=600)
    parser.add_argument("--small", type=int, default=20_000, help="small Maildir files")
    parser.add_argument("--work", type=Path, help="folder for the corpus (default: a temp one)")
    parser.add_argument("--keep", action="store_true", help="keep and reuse the corpus")
    args = parser.parse_args()
    for tool in ("tar", "sha256sum", "xargs"):
        if shutil.which(tool) is None:
            sys.exit(f"needs {tool}")
    work = args.work or Path(tempfile.mkdtemp(prefix="mailaudit-bench-backup-"))
    work.mkdir(parents=True, exist_ok=True)
    root, dest = work / "machine", work / "dest"
    try:
        if not (root / STORE).is_dir():
            started = time.perf_counter()
            files, total = build(root, args.mbox_mb, args.pst_mb, args.small)
            print(f"corpus: {files} files, {total / MB:.0f} MB, built in "
                  f"{time.perf_counter() - started:.0f} s under {root}")  # fmt: skip
        names = sorted(
            p.relative_to(root).as_posix() for p in (root / STORE).rglob("*") if p.is_file()
        )
        total = sum((root / n).stat().st_size for n in names)
        listing = work / "files.txt"
        listing.write_text("".join(f"{n}\n" for n in names))
        ours, theirs, tar_alone, rss = [], [], [], 0
        for _ in range(args.runs):
            for runner in ("mailaudit", "tools"):
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir()
                if runner == "mailaudit":
                    seconds, peak = run_mailaudit(root, dest)
                    ours.append(seconds)
                    rss = max(rss, peak)
                else:
                    seconds, tar_seconds = run_tools(root, dest, listing)
                    theirs.append(seconds)
                    tar_alone.append(tar_seconds)
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        deflate_seconds, deflate_size = deflated(root, names, dest)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    mine, tools, tar = (statistics.median(x) for x in (ours, theirs, tar_alone))
    print(f"backup of {len(names)} files, {total / MB:.0f} MB; medians of {args.runs} runs:")
    print(f"  mailaudit backup (scan, copy, fsync, read-back): {mine:6.2f} s")
    print(f"  tar -cf + sha256sum sources + sha256sum archive:  {tools:6.2f} s")
    print(f"  ratio: {mine / tools:.2f}x  (goal: at most 1.0x)")
    print(f"  tar -cf alone, for reference:                    {tar:6.2f} s")
    print(f"  mailaudit peak RSS: {rss / MB:.0f} MB  (goal: under 100 MB)")
    print(
        f"  deflated ZIP (level 6) of the same files: {deflate_seconds:.2f} s, "
        f"{deflate_size / total:.0%} of the stored size"
    )
    print(f"  all runs, mailaudit: {', '.join(f'{s:.2f}' for s in ours)}")
    print(f"  all runs, tools:     {', '.join(f'{s:.2f}' for s in theirs)}")


if __name__ == "__main__":
    main()
