#!/bin/sh
# CI: the lowest versions pyproject.toml declares are true floors.
#   scripts/check-minimums.sh TEST_FILE...
# Installs every runtime dependency at its floor (name>=X becomes name==X) into a fresh venv
# with the test tools, and runs the given tests against it.
set -eu
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/venv"
"$work/venv/bin/python" - pyproject.toml >"$work/minimums.txt" <<'PY'
import re
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

with open(sys.argv[1], "rb") as handle:
    dependencies = tomllib.load(handle)["project"]["dependencies"]
for dependency in dependencies:
    requirement, _, marker = dependency.partition(";")
    floor = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)\s*", requirement)
    if floor is None:
        sys.exit(f"{dependency}: every dependency needs a floor (name>=version)")
    print(f"{floor[1]}=={floor[2]}" + (f"; {marker.strip()}" if marker else ""))
PY
echo "== minimums: $(grep -v '^$' "$work/minimums.txt" | tr '\n' ' ')" >&2
"$work/venv/bin/pip" install -q --disable-pip-version-check -r "$work/minimums.txt" ".[test]"
if unshare -n true 2>/dev/null; then
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
        "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
else
    "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
fi
