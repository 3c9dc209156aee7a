"""Helpers for the store-reader tests: read a whole store, prove the source untouched, a lab."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mailaudit.migrate.stores.base import StoredMessage, StoreReader

from .conftest import file_states, tree_fingerprint


def read_all(store: StoreReader) -> dict[tuple[str, ...], list[StoredMessage]]:
    """Every folder and message; each message loaded once and checked against its size in the
    store, which the wire form exceeds by at most a CR per line (LF made CRLF)."""
    result: dict[tuple[str, ...], list[StoredMessage]] = {}
    for folder in store.folders():
        messages = result.setdefault(folder.path, [])
        for message in store.messages(folder):
            assert message.folder == folder
            if message.skip is None:
                data = message.load()
                assert message.size <= len(data) <= message.size + data.count(b"\r\n"), message.key
                assert b"\n" not in data.replace(b"\r\n", b""), "a bare LF went on the wire"
            messages.append(message)
    keys = [m.key for ms in result.values() for m in ms]
    assert len(keys) == len(set(keys)), "keys must tell messages apart"
    return result


@contextmanager
def untouched(root: Path) -> Iterator[None]:
    """The tree's names, modes, sizes, contents, mtimes (and atimes) are the same afterwards."""
    before = tree_fingerprint(root)
    states = file_states(root)
    yield
    assert file_states(root) == states
    assert tree_fingerprint(root) == before


def to_crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def encode_modified_utf7(text: str) -> str:
    """RFC 3501 §5.1.3, the way an IMAP client names a mailbox."""
    out, pending = [], ""

    def flush() -> None:
        nonlocal pending
        if pending:
            raw = base64.b64encode(pending.encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + raw.replace("/", ",") + "-")
            pending = ""

    for char in text:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending += char
    flush()
    return "".join(out)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[object]:
    """One real Dovecot (IMAP only) on loopback, for the tests of one module."""
    import labservers

    missing = labservers.missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"needs {missing}")
        pytest.skip(f"needs {missing}")
    folder = Path(tempfile.mkdtemp(prefix="mailaudit-st-"))
    folder.chmod(0o755)
    server = None
    try:
        certs = labservers.make_certs(folder / "certs")
        server = labservers.Dovecot(folder / "imap", certs, "good", "imap").start()
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


MBSYNC_PULL = """\
IMAPAccount lab
Host 127.0.0.1
Port {port}
User {user}
Pass {password}
SSLType IMAPS
CertificateFile {cert}

IMAPStore remote
Account lab

MaildirStore local
{path}Inbox {dest}/INBOX
SubFolders {layout}

Channel everything
Far :remote:
Near :local:
Patterns *
Create Near
Sync Pull
CopyArrivalDate yes
SyncState *
"""


def pull_with_mbsync(server, user: str, password: str, dest: Path, layout: str) -> Path:  # type: ignore[no-untyped-def]
    """A Dovecot user's mailbox pulled by mbsync (Debian's isync) into a Maildir tree at
    `dest`, laid out `Verbatim` or `Maildir++`; the top of the tree (INBOX for Maildir++).
    Missing mbsync fails the test in CI, skips it elsewhere."""
    if shutil.which("mbsync") is None:
        if os.environ.get("CI"):
            pytest.fail("mbsync is missing (apt-get install isync)")
        pytest.skip("needs mbsync (apt-get install isync)")
    dest.mkdir()
    conf = dest.parent / f"{dest.name}.mbsyncrc"
    conf.write_text(
        MBSYNC_PULL.format(
            port=server.ports["imaps"],
            user=user,
            password=password,
            cert=server.certs / "good.crt",
            dest=dest,
            path=f"Path {dest}/\n" if layout == "Verbatim" else "",  # Maildir++: under Inbox
            layout=layout,
        )
    )
    conf.chmod(0o600)
    run = subprocess.run(
        ["mbsync", "-c", str(conf), "-a", "-q"],
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(dest.parent)},
    )
    assert run.returncode == 0, run.stderr
    return dest if layout == "Verbatim" else dest / "INBOX"
