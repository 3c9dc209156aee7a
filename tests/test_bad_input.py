"""Broken, hostile and unreadable input: each becomes a skipped entry with a reason, the scan
completes, no exception escapes, and nothing under the root changes."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from mailaudit.report import json_report

from .conftest import audit, pop_and_imap, pref_line, tree_fingerprint, write_profile

GOOD = "\n".join(pref_line(k, v) for k, v in pop_and_imap().items()) + "\n"


def build_bad_machine(root: Path) -> dict[str, str]:
    """One user per kind of damage. Returns user -> a phrase its skipped entry must contain."""
    expect = {}

    def profile(user: str) -> Path:
        return write_profile(root / "home" / user, pop_and_imap())

    p = profile("truncated")
    (p / "prefs.js").write_text(GOOD[: GOOD.index("mail.server.server3.type") + 10])
    expect["truncated"] = "ends in the middle of a statement"

    p = profile("junk")
    (p / "prefs.js").write_bytes(random.Random(7).randbytes(200_000))
    expect["junk"] = "holds no readable prefs"

    p = profile("huge")
    with (p / "prefs.js").open("wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: 200 MB to read, nothing on disk
    expect["huge"] = "over the 32.0 MB limit"

    p = profile("latin1")
    (p / "prefs.js").write_bytes(GOOD.replace("POP account", "B\xfcro").encode("latin-1"))
    expect["latin1"] = "not UTF-8"

    base = profile("outside").parent
    (base / "profiles.ini").write_text(
        "[Profile0]\nName=x\nIsRelative=1\nPath=../../../../../../etc\n"
    )
    expect["outside"] = "points outside the scanned root"

    base = profile("escape").parent
    (root / "home" / "escape" / "link").symlink_to("/usr")
    (base / "profiles.ini").write_text("[Profile0]\nName=x\nIsRelative=0\nPath=/home/escape/link\n")
    expect["escape"] = "points outside the scanned root"

    base = profile("missing").parent
    (base / "profiles.ini").write_text("[Profile0]\nName=x\nIsRelative=1\nPath=not-there\n")
    expect["missing"] = "does not exist"

    p = profile("loop")
    (p / "prefs.js").unlink()
    (p / "prefs.js").symlink_to("other.js")
    (p / "other.js").symlink_to("prefs.js")
    expect["loop"] = "symbolic link loop"

    p = profile("folder")
    (p / "prefs.js").unlink()
    (p / "prefs.js").mkdir()
    expect["folder"] = "prefs.js"

    p = profile("noini").parent
    (p / "profiles.ini").unlink()
    expect["noini"] = "profiles.ini does not exist"

    p = profile("emptyini").parent
    (p / "profiles.ini").write_bytes(b"\x00\xff\xfe garbage")
    expect["emptyini"] = ""  # no profile at all: nothing to skip, nothing to find

    return expect


@pytest.fixture(scope="module")
def bad_machine(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    return root, build_bad_machine(root)


def test_every_damage_is_reported_and_the_scan_completes(bad_machine):
    root, expect = bad_machine
    before = tree_fingerprint(root)
    report = audit(root)
    assert tree_fingerprint(root) == before
    for user, phrase in expect.items():
        reasons = [s.reason for s in report.skipped if f"/home/{user}/" in s.origin]
        if phrase:
            assert any(phrase in r for r in reasons), (user, reasons)
        else:
            assert reasons == [], (user, reasons)


def test_accounts_survive_where_the_damage_allows(bad_machine):
    root, _ = bad_machine
    users = {a.user for a in audit(root).accounts}
    # latin1 is read with replacement characters; the others lost their prefs or profile.
    assert users == {"latin1", "truncated"}


def test_truncated_prefs_keeps_what_came_before_the_cut(bad_machine):
    root, _ = bad_machine
    report = audit(root)
    truncated = {a.name for a in report.accounts if a.user == "truncated"}
    assert truncated == {"POP account", "IMAP account"}
    reasons = [s.reason for s in report.skipped if "/home/truncated/" in s.origin]
    assert "account account3 (server3) has no server type" in reasons


def test_latin1_bytes_are_read_with_replacement(bad_machine):
    root, _ = bad_machine
    names = {a.name for a in audit(root).accounts if a.user == "latin1"}
    assert names == {"B\ufffdro", "IMAP account"}


def test_a_file_without_read_permission(tmp_path):
    """Root reads everything, so as root the scan runs in a forked child as user nobody."""
    root = Path(tempfile.mkdtemp(prefix="mailaudit-perm-"))
    try:
        root.chmod(0o755)
        profile = write_profile(root / "home" / "pat", pop_and_imap())
        (profile / "prefs.js").chmod(0o000)
        report = json.loads(_audit_as_nobody(root))
        assert report["accounts"] == []
        assert [s["reason"] for s in report["skipped"]] == [
            "prefs.js cannot be read (permission denied)"
        ]
    finally:
        shutil.rmtree(root)


def _audit_as_nobody(root: Path) -> str:
    if os.geteuid() != 0:
        return json_report.render(audit(root))
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, scan, send the JSON, leave without cleanup
        code = 1
        try:
            os.close(readable)
            os.setgid(65534)
            os.setuid(65534)
            with os.fdopen(writable, "w") as out:
                out.write(json_report.render(audit(root)))
            code = 0
        finally:
            os._exit(code)
    os.close(writable)
    with os.fdopen(readable) as received:
        text = received.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return text
