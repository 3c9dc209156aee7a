#!/bin/sh
# Runs the suite with one Python: scripts/run-tests.sh PYTHON VENV
# Creates VENV with the project and its test extra when missing, then runs pytest inside a
# private network namespace (only loopback) when this machine allows it, so that no test can
# send a packet or a DNS query anywhere else.
set -eu
python=$1
venv=$2
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if [ ! -f "$venv/.installed-test" ] || [ pyproject.toml -nt "$venv/.installed-test" ]; then
    "$venv/bin/pip" install -q --disable-pip-version-check -e '.[test]'
    touch "$venv/.installed-test"
fi
echo "== tests on $("$venv/bin/python" --version)" >&2
if unshare -n true 2>/dev/null; then
    exec unshare -n sh -c 'ip link set lo up && exec "$0" -m pytest "$@"' "$venv/bin/python" -q
fi
echo "(unshare -n is not allowed here: running without a private network namespace)" >&2
exec "$venv/bin/python" -m pytest -q
