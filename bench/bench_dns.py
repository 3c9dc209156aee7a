"""How long do `lookup` and an online `scan` take when DNS never answers?

A UDP socket on loopback that reads nothing stands in for a name server whose answers are
dropped (a captive portal, a firewall, a dead router). Then, as a user runs them:

1. `mailaudit lookup slow.test --dns-server <it> --timeout T`: goal, within 2x T;
2. `mailaudit scan --root fixtures/machines/sample --dns-server <it> --timeout T` (online, so
   every account's server and every POP3 account's provider are looked up): goal, within 3x T.

Each is run as its own process, so the figures include the interpreter's start. No name ever
resolves, so nothing leaves this machine. Prints the wall times beside the goals.

    .venv/bin/python bench/bench_dns.py [--timeout 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "machines" / "sample"


def timed(command: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1):  # 1: findings at or above --fail-on, a normal end
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=5.0, help="--timeout for each run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command")
    args = parser.parse_args()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never read
    silent.bind(("127.0.0.1", 0))
    server = f"127.0.0.1:{silent.getsockname()[1]}"
    common = ["--dns-server", server, "--timeout", f"{args.timeout:g}", "--format", "json"]
    base = [sys.executable, "-m", "mailaudit"]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.json"
        cases = {
            "lookup slow.test": ([*base, "lookup", "slow.test", *common], 2),
            "online scan of the sample": (
                [*base, "scan", "--root", str(SAMPLE), *common, "-q", "--output", str(out)],
                3,
            ),
        }
        print(f"DNS server that never answers; --timeout {args.timeout:g} s; {args.runs} runs each")
        for name, (command, factor) in cases.items():
            times = []
            for _ in range(args.runs):
                elapsed, stdout = timed(command)
                times.append(elapsed)
            worst, median = max(times), statistics.median(times)
            goal = factor * args.timeout
            print(
                f"  {name}: median {median:.2f} s, worst {worst:.2f} s "
                f"({worst / args.timeout:.2f}x the timeout); goal within {factor}x = {goal:g} s "
                f"-> {'met' if worst <= goal else 'NOT met'}"
            )
            if name.startswith("lookup"):
                verdict = json.loads(stdout)["lookups"][0]["imap"]
            else:
                report = json.loads(out.read_text("utf-8"))
                notes = [n["kind"] for n in report["notes"]]
                pop3 = [a for a in report["accounts"] if a["protocol"] == "pop3"]
                moved = sum((a["recommendation"] or {}).get("action") != "keep" for a in pop3)
                verdict = f"notes {notes}, {moved} of {len(pop3)} POP3 accounts in the plan"
            print(f"    result: {verdict}")
    silent.close()


if __name__ == "__main__":
    main()
