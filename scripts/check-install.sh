#!/bin/sh
# CI: mailaudit as users install it, not as an editable checkout.
#   scripts/check-install.sh TEST_FILE...
# Builds the sdist and, from it, the wheel; installs the wheel (no -e) into a fresh venv; runs
# every README command from a folder outside the checkout; then runs the given tests from the
# unpacked sdist with its own mailaudit/ removed, so that they exercise the installed wheel. A
# file left out of the wheel or the sdist fails here.
set -eu
cd "$(dirname "$0")/.."
checkout=$(pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/build"
"$work/build/bin/pip" install -q --disable-pip-version-check build
"$work/build/bin/python" -m build -q --outdir "$work/dist" . >/dev/null
wheel=$(echo "$work"/dist/mailaudit-*.whl)
echo "== built $(basename "$wheel") and $(basename "$work"/dist/mailaudit-*.tar.gz)" >&2

"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check "$wheel[test]"
mkdir "$work/sdist"
tar -xzf "$work"/dist/mailaudit-*.tar.gz -C "$work/sdist"
source=$(echo "$work"/sdist/mailaudit-*)
rm -r "$source/mailaudit"

isolated() {  # only loopback, when this machine allows a private network namespace
    if unshare -n true 2>/dev/null; then
        unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
    else
        "$@"
    fi
}

echo "== README commands with the installed wheel" >&2
cd "$work"
isolated "$checkout/scripts/readme-commands.sh" "$work/venv/bin/mailaudit" \
    "$source/fixtures/machines/sample"

echo "== tests from the sdist against the installed wheel" >&2
cd "$source"
isolated "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
