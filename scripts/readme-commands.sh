#!/bin/sh
# Runs every command the README shows, with an installed `mailaudit`, against the sample machine:
#   scripts/readme-commands.sh MAILAUDIT SAMPLE_DIR
# Run it from a folder outside the checkout, so that only the installed package can answer (a
# data file missing from the wheel fails here). Commands that need the Internet in the README
# (probing example.com) run here against loopback. Exits non-zero on the first failure.
set -eu
mailaudit=$1
sample=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

step() {
    echo "+ mailaudit $*" >&2
    "$mailaudit" "$@" >"$out/stdout" 2>"$out/stderr" || {
        code=$?
        cat "$out/stderr" >&2
        echo "FAILED (exit $code): mailaudit $*" >&2
        exit 1
    }
}

expect() {  # expect CODE ARGS...: the command ends with this exit code and no traceback
    code=$1
    shift
    echo "+ mailaudit $* (expecting exit $code)" >&2
    set +e
    "$mailaudit" "$@" >"$out/stdout" 2>"$out/stderr"
    got=$?
    set -e
    if [ "$got" != "$code" ] || grep -q Traceback "$out/stderr"; then
        cat "$out/stderr" >&2
        echo "FAILED (exit $got, expected $code): mailaudit $*" >&2
        exit 1
    fi
}

step --version
grep -q '^mailaudit ' "$out/stdout"
step --help
for command in scan probe lookup fleet; do
    step "$command" --help
done

step scan --root "$sample" --offline
grep -q '^Accounts: ' "$out/stdout"
for format in table json markdown html csv; do
    step scan --root "$sample" --offline --format "$format" --quiet
done
step scan --root "$sample" --offline --format json -o "$out/PC7.json"
step scan --root "$sample" --offline --redact
step scan --root "$sample" --offline --redact --redact-domains --format json -o "$out/shared.json"
expect 1 scan --root "$sample" --offline --fail-on high --quiet
cat >"$out/policy.toml" <<'TOML'
[probe]
timeout = 5
concurrency = 8

[advice]
uplink_mbit = 10
expiring_days = 30

[severity]
MA001 = "info"

[ignore]
rules = ["MA004"]
accounts = ["anna@example.com"]

[providers.example]
name = "Example Mail"
domains = ["example.com"]
imap = "imap.example.com:993"
auth = "password"
TOML
step scan --root "$sample" --offline --config "$out/policy.toml"

step lookup kanzlei@gmx.de --offline
grep -q 'imap.gmx.net:993' "$out/stdout"  # the provider data shipped in the wheel
step lookup kanzlei@gmx.de --offline --format json

# probe: a closed loopback port, the only server this script may reach.
step probe 127.0.0.1:9 --timeout 1
step probe 127.0.0.1:9 --timeout 1 --format json

step fleet "$out/PC7.json"
step fleet "$out" --format markdown

# A mistake is one line and exit 2.
expect 2 scan --root "$sample/Users" --offline
expect 2 scan --root "$sample" --offline --dns-server --format json
echo "every README command ran" >&2
