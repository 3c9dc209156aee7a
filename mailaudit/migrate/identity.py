"""What makes two copies of a message the same one: its Message-ID, else a hash of its bytes.

Message-IDs are not unique in practice (a list copy and the sender's copy), so the uploader
counts them: each source message with an ID takes one server copy with that ID.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator

_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_ANGLE = re.compile(rb"<[^<>\s]+>")
HEADER_LIMIT = 256 * 1024  # a header past this is pathological; the ID is looked for before it


def header_block(message: bytes) -> bytes:
    """The header fields, without the empty line that ends them."""
    end = message.find(b"\r\n\r\n", 0, HEADER_LIMIT)
    if end < 0:
        end = message.find(b"\n\n", 0, HEADER_LIMIT)
    return message[: end if end >= 0 else HEADER_LIMIT]


def message_id(header: bytes) -> str | None:
    """The first Message-ID field's `<id>` (RFC 5322 §3.6.4), unfolded; None when absent."""
    found = _MESSAGE_ID.search(header)
    if found is None:
        return None
    value = re.sub(rb"\s+", b"", found.group(1))
    angle = _ANGLE.search(value)
    chosen = angle.group(0) if angle else value
    return chosen.decode("utf-8", "replace") if chosen else None


def digest(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


class Digest:
    """digest() of a message that comes in parts."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, part: bytes) -> None:
        self._hash.update(part)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def has_8bit_header(message: bytes) -> bool:
    return any(byte >= 0x80 for byte in header_block(message))


def measured(chunks: Iterable[bytes]) -> tuple[int, bytes, str]:
    """(size, the first HEADER_LIMIT bytes, digest) of a message read a chunk at a time: what
    the functions above need of a message too large to hold."""
    size = 0
    head = bytearray()
    hashed = Digest()
    for chunk in chunks:
        size += len(chunk)
        if len(head) < HEADER_LIMIT:
            head += chunk[: HEADER_LIMIT - len(head)]
        hashed.update(chunk)
    return size, bytes(head), hashed.hexdigest()


def unchanged(
    chunks: Callable[[], Iterator[bytes]], expected: str
) -> Callable[[], Iterator[bytes]]:
    """`chunks`, failing with ValueError after the last chunk when the bytes are not those
    `measured` hashed (the store changed in between): the sender can still cut the command."""

    def again() -> Iterator[bytes]:
        hashed = Digest()
        for chunk in chunks():
            hashed.update(chunk)
            yield chunk
        if hashed.hexdigest() != expected:
            raise ValueError("its bytes are not those read before")

    return again
