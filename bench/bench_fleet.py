"""How long and how much memory does `fleet` take for 10,000 machines' reports?

Writes, in a temporary folder spread over sub-folders, N reports of the sample machine's size
(each its own hostname and time, so none is a copy of another), then runs side by side, each in
a fresh Python process, several times:

- the floor: a Python process that merely `json.load`s every file;
- `mailaudit fleet FOLDER --format json` (the installed command's code, in-process).

It prints wall time and peak RSS of each, and the ratios against the targets (peak RSS under
200 MB; wall time at most 2x the floor). Nothing leaves this machine; nothing is asserted.

    .venv/bin/python bench/bench_fleet.py [--reports 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailaudit.audit import AuditOptions, run_audit
from mailaudit.report.json_report import to_dict

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "machines" / "sample"

JSON_LOAD_ONLY = """
import json, os, sys
count = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith(".json"):
            with open(os.path.join(folder, name), "rb") as stream:
                json.load(stream)
            count += 1
print(count)
"""

FLEET = """
import sys
from mailaudit.cli import main
sys.argv = ["mailaudit", "fleet", sys.argv[1], "--format", "json", "-o", os.devnull, "-q"]
main()
"""


def build(folder: Path, count: int) -> int:
    sample = to_dict(run_audit(AuditOptions(root=SAMPLE, offline=True)))
    text = json.dumps(sample, indent=2, ensure_ascii=False)
    hostname = f'"hostname": "{sample["machine"]["hostname"]}"'
    generated = sample["machine"]["generated_at"]
    for number in range(count):
        site = folder / f"site-{number % 20:02d}"
        site.mkdir(exist_ok=True)
        body = text.replace(hostname, f'"hostname": "pc-{number:05d}"').replace(
            generated, f"2026-11-{1 + number % 28:02d}T{number % 24:02d}:00:00+00:00"
        )
        (site / f"pc-{number:05d}.json").write_text(body, encoding="utf-8")
    return len(text.encode())


def measure(code: str, folder: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh Python running `code` on the folder."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", "import os\n" + code, str(folder)],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark process failed with {status}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailaudit-bench-fleet-") as name:
        folder = Path(name)
        size = build(folder, args.reports)
        floor, fleet = [], []
        for _ in range(args.runs):  # interleaved, so that a busy moment hurts both alike
            floor.append(measure(JSON_LOAD_ONLY, folder))
            fleet.append(measure(FLEET, folder))
    floor_time = statistics.median(t for t, _ in floor)
    fleet_time = statistics.median(t for t, _ in fleet)
    fleet_rss = max(rss for _, rss in fleet)
    print(
        f"fleet of {args.reports} reports of {size / 1024:.0f} KB each, {args.runs} runs (median):"
    )
    print(
        f"  json.load of every file:  {floor_time:6.2f} s, "
        f"peak RSS {max(r for _, r in floor):5.0f} MB"
    )
    print(f"  mailaudit fleet:          {fleet_time:6.2f} s, peak RSS {fleet_rss:5.0f} MB")
    print(
        f"  ratio {fleet_time / floor_time:.2f}x the json.load floor (target <= 2.0x); "
        f"peak RSS {fleet_rss:.0f} MB (target < 200 MB)"
    )


if __name__ == "__main__":
    main()
