"""How long does `--redact` take on a report of 1,000 accounts?

Builds the same machine as bench_scan.py (100 users, 10 Thunderbird accounts each), audits it
once offline, then times `redact` (with and without --redact-domains) several times. Every
user name, login, address and account name becomes a token, searched for in every text of the
report: the time must grow with the size of the report, not with its square. Nothing is
asserted: the numbers are for reading.

    .venv/bin/python bench/bench_redact.py [--users 100] [--accounts 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_scan import build  # the same machine as the scan benchmark (bench/ is on the path)

from mailaudit.audit import AuditOptions, run_audit
from mailaudit.redact import redact


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        built = build(root, args.users, args.accounts)
        report = run_audit(AuditOptions(root=root, offline=True))
    for domains in (False, True):
        timings = []
        for _ in range(args.runs):
            start = time.perf_counter()
            redact(report, domains=domains)
            timings.append(time.perf_counter() - start)
        label = "--redact --redact-domains" if domains else "--redact"
        print(
            f"{label} on {built} accounts ({args.users} users), {args.runs} runs: "
            f"median {statistics.median(timings) * 1000:.0f} ms, "
            f"min {min(timings) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
