"""How much memory do the store readers need for a huge mbox and for a huge message?

Writes, in a temporary folder, a Thunderbird-style mbox of `--gigabytes` (default 5) of
messages of mixed sizes (2 KB to 300 KB, a 40 MB one in the middle), and a Maildir holding one
40 MB message. Each is then read in a child process the way `migrate` reads a store: every
folder, every message's metadata, and every message's bytes through load(), one at a time. The
child's peak resident memory (ru_maxrss) and its speed are printed beside the target of 100 MB.
Nothing is asserted: the numbers are for reading.

    .venv/bin/python bench/bench_stores.py [--gigabytes 5] [--folder /var/tmp]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 100
BIG = 40 * 1024 * 1024
LINE = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\n"

READER = """
import resource, sys, time
from pathlib import Path
from mailaudit.migrate.stores import StoreFormat, open_store
store = open_store(Path(sys.argv[1]), StoreFormat(sys.argv[2]))
count = total = 0
started = time.perf_counter()
for folder in store.folders():
    for message in store.messages(folder):
        data = message.load()
        assert len(data) == message.size
        count += 1
        total += len(data)
        del data
seconds = time.perf_counter() - started
print(count, total, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def message(number: int, body_lines: int) -> bytes:
    head = (
        f"From - Mon Jan 01 00:00:00 2024\r\n"
        f"X-Mozilla-Status: 0001\r\nX-Mozilla-Status2: 00000000\r\n"
        f"Message-ID: <bench{number}@example.test>\r\nFrom: a@example.test\r\n"
        f"Subject: message {number}\r\n\r\n"
    ).encode()
    return head + LINE * body_lines + b"\r\n"


def write_mbox(path: Path, size: int) -> int:
    rng = random.Random(15)
    written = count = 0
    big_at = size // 2
    with path.open("wb", buffering=1024 * 1024) as out:
        while written < size:
            if written >= big_at > 0:
                lines, big_at = BIG // len(LINE), 0
            else:
                lines = rng.choice([25, 40, 60, 100, 400, 1500, 4000])  # 2 KB .. 300 KB
            block = message(count, lines)
            out.write(block)
            written += len(block)
            count += 1
    return count


def write_maildir(root: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    body = LINE * (BIG // len(LINE))
    (root / "cur" / "1700000000.big.host:2,S").write_bytes(b"Subject: big\n\n" + body)


def measure(store: Path, fmt: str) -> tuple[int, int, float, float]:
    """(messages, bytes, seconds, peak RSS in MB) of reading the store in a fresh process."""
    run = subprocess.run(
        [sys.executable, "-c", READER, str(store), fmt], capture_output=True, text=True, check=True
    )
    count, total, seconds, peak_kb = run.stdout.split()
    return int(count), int(total), float(seconds), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigabytes", type=float, default=5.0)
    parser.add_argument("--folder", type=Path, default=None, help="where the test stores go")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-stores-", dir=args.folder))
    try:
        maildir = folder / "Maildir"
        write_maildir(maildir)
        count, total, seconds, peak = measure(maildir, "maildir")
        print(
            f"one 40 MB message (Maildir): {total / 1e6:.1f} MB in {seconds:.2f} s, "
            f"peak RSS {peak:.0f} MB (target < {TARGET_MB} MB: "
            f"{'met' if peak < TARGET_MB else 'NOT met'})"
        )
        mbox = folder / "Inbox"
        started = time.perf_counter()
        messages = write_mbox(mbox, int(args.gigabytes * 1024**3))
        print(
            f"wrote a {mbox.stat().st_size / 1024**3:.2f} GB mbox of {messages:,} messages "
            f"in {time.perf_counter() - started:.0f} s"
        )
        count, total, seconds, peak = measure(mbox, "mbox")
        print(
            f"{args.gigabytes:g} GB mbox: {count:,} messages, {total / 1e9:.2f} GB loaded in "
            f"{seconds:.1f} s ({total / 1e6 / seconds:.0f} MB/s, {count / seconds:,.0f} msg/s), "
            f"peak RSS {peak:.0f} MB (target < {TARGET_MB} MB: "
            f"{'met' if peak < TARGET_MB else 'NOT met'})"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
