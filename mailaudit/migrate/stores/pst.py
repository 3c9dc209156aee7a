"""Outlook PST and OST files, read through libpff (PyPI `libpff-python`, the optional extra
`mailaudit[pst]`).

Folders: the tree under the store's IPM subtree (the "Top of Outlook data file", whose name is
localised; found through the message store's PR_IPM_SUBTREE_ENTRYID 0x35E0), so the search
folders and views beside it are left out. Trash and Sent are known from the store's
PR_IPM_WASTEBASKET_ENTRYID 0x35E3 and PR_IPM_SENTMAIL_ENTRYID 0x35E4, other roles by name.

A PST holds no RFC 822 message, only MAPI properties, so each message is rebuilt (research
`migration.md` §3.5): the header fields from PR_TRANSPORT_MESSAGE_HEADERS (received mail) less
those describing the old MIME structure, or made from MAPI properties (Sent items, drafts);
the body: plain text and HTML as multipart/alternative (RTF when it is the only body); the
attachments in multipart/mixed. The rebuilt bytes are the same on every run (readpst's are not:
`srand(time)` boundaries): boundaries are a hash of the content, dates come from the message,
and every encoding is fixed. They are not the bytes the message had on the wire; its Message-ID
is. An attached Outlook item (attach method 5) cannot be read through libpff: the message goes
up without it, with a note.

State: PR_MESSAGE_FLAGS 0x0E07 (1 read, 8 unsent -> draft), PR_LAST_VERB_EXECUTED 0x1081
(102/103 reply, 104 forward; MS-OXOMSG), PR_FLAG_STATUS 0x1090 (2 flagged). INTERNALDATE:
PR_MESSAGE_DELIVERY_TIME 0x0E06, else the submit time.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import os
import quopri
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from mailaudit.machine import open_read_only
from mailaudit.migrate.stores.base import Flag, Role, SourceFolder, StoredMessage
from mailaudit.migrate.stores.shared import (
    MAX_DEPTH,
    UnreadableStore,
    add_folder,
    read_head,
    refusing_load,
    role_for,
    unreadable_as_store_error,
)

INSTALL_HINT = "reading PST files needs the optional PST support: pip install 'mailaudit[pst]'"

IPM_SUBTREE, WASTEBASKET, SENTMAIL = 0x35E0, 0x35E3, 0x35E4
MESSAGE_FLAGS, LAST_VERB, FLAG_STATUS = 0x0E07, 0x1081, 0x1090
INTERNET_MESSAGE_ID, INTERNET_CPID, MESSAGE_CLASS = 0x1035, 0x3FDE, 0x001A
SENDER_NAME, SENDER_SMTP, SENDER_ADDRESS = 0x0C1A, 0x5D01, 0x0C1F
SENT_AS_SMTP, SENT_AS_ADDRESS = 0x5D02, 0x0065
DISPLAY_NAME, SMTP_ADDRESS, EMAIL_ADDRESS, RECIPIENT_TYPE = 0x3001, 0x39FE, 0x3003, 0x0C15
ATTACH_METHOD, ATTACH_MIME_TAG, ATTACH_CONTENT_ID, ATTACH_FILENAME = 0x3705, 0x370E, 0x3712, 0x3704
READ, UNSENT = 0x1, 0x8
REPLY_VERBS, FORWARD_VERB, FLAGGED_STATUS = (102, 103), 104, 2
EMBEDDED_MESSAGE = 5
MIME_FIELDS = re.compile(rb"(?i)^(mime-version|content-[a-z-]+|x-mimeole)\s*:")
CODEPAGES = {65001: "utf-8", 20127: "us-ascii", 1200: "utf-16-le", 50220: "iso-2022-jp",
             51932: "euc-jp", 936: "gbk", 949: "euc-kr", 950: "big5",
             **{28590 + n: f"iso-8859-{n}" for n in range(1, 16)}}  # fmt: skip


def _pypff() -> Any:
    try:
        import pypff  # type: ignore[import-not-found]  # LGPL C extension, an optional extra
    except ImportError:
        return None
    return pypff


def is_pst_file(path: Path) -> bool:
    """PST and OST files start with "!BDN" ([MS-PST] 2.2.2.6, dwMagic)."""
    try:
        return path.is_file() and read_head(path, 4) == b"!BDN"
    except OSError:
        return False


class PstStore:
    """One PST or OST file."""

    def __init__(self, path: Path) -> None:
        pypff = _pypff()
        if pypff is None:
            raise UnreadableStore(path, INSTALL_HINT)
        if not path.is_file():
            raise UnreadableStore(path, "not a file")
        self.path = path
        self._stream = os.fdopen(open_read_only(path), "rb")
        self._file = pypff.file()
        try:
            self._file.open_file_object(self._stream)
            self._places: dict[SourceFolder, Any] = {}
            self._walk_store()
        except OSError as error:
            self._stream.close()
            raise UnreadableStore(path, f"not a readable PST/OST file ({error})") from error

    def _walk_store(self) -> None:
        store = self._file.get_message_store()
        special = {
            _node_of(_value(store, WASTEBASKET)): Role.TRASH,
            _node_of(_value(store, SENTMAIL)): Role.SENT,
        }
        subtree_node = _node_of(_value(store, IPM_SUBTREE))
        root = self._file.get_root_folder()
        top = next(
            (f for f in root.sub_folders if f.identifier == subtree_node),
            root,  # no IPM subtree named: a damaged or unusual file, take it all
        )
        if top.number_of_sub_messages:
            path = (top.name or "Top",)
            add_folder(self._places, path, role_for(path), top)
        self._walk(top, (), special)

    def _walk(self, folder: Any, parent: tuple[str, ...], special: dict[int | None, Role]) -> None:
        for child in folder.sub_folders:
            path = (*parent, child.name or f"folder {child.identifier}")
            role = special.get(child.identifier) or role_for(path)
            add_folder(self._places, path, role, child)
            if len(path) < MAX_DEPTH:
                self._walk(child, path, special)

    def folders(self) -> Iterator[SourceFolder]:
        yield from self._places

    def messages(self, folder: SourceFolder) -> Iterator[StoredMessage]:
        place = self._places[folder]
        try:
            count = place.number_of_sub_messages
        except OSError:
            count = 0  # a damaged folder table: listed, empty
        for index in range(count):
            yield self._message(folder, place, index)

    def _message(self, folder: SourceFolder, place: Any, index: int) -> StoredMessage:
        try:
            item = place.get_sub_message(index)
            key = f"pst:{item.identifier}"
            rebuilt, note = rebuild(item)
            flags = _flags(item)
            date = _utc(item.delivery_time) or _utc(item.client_submit_time)
        except (OSError, ValueError, UnicodeError) as error:
            key = f"pst:{place.identifier}:{index}"
            reason = f"unreadable: {error}"
            return StoredMessage(
                folder, key, 0, frozenset(), None, refusing_load(self.path, reason), reason
            )

        def load() -> bytes:
            with unreadable_as_store_error(self.path):
                return rebuild(place.get_sub_message(index))[0]

        return StoredMessage(
            folder=folder,
            key=key,
            size=len(rebuilt),
            flags=flags,
            internal_date=date,
            load=load,
            note=note,
        )


def rebuild(item: Any) -> tuple[bytes, str | None]:
    """The message as RFC 5322 bytes with CRLF line ends, and a note of what could not be kept."""
    headers = _transport_headers(item) or _made_headers(item)
    if not any(line.lower().startswith(b"message-id:") for line in headers):
        message_id = _value(item, INTERNET_MESSAGE_ID)
        if isinstance(message_id, str) and message_id.strip():
            headers.append(b"Message-ID: " + message_id.strip().encode("utf-8"))
    body, note = _body(item)
    return b"\r\n".join(headers) + b"\r\nMIME-Version: 1.0\r\n" + body, note


def _transport_headers(item: Any) -> list[bytes]:
    """The received header fields, less the old MIME ones (the body is new), unfolded lines
    kept as they were."""
    text = item.transport_headers
    if not text or not text.strip():
        return []
    raw = text.encode("utf-8").replace(b"\r\n", b"\n").strip(b"\n").split(b"\n")
    fields: list[list[bytes]] = []
    for line in raw:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        elif line.strip():
            fields.append([line])
    return [line for field in fields if not MIME_FIELDS.match(field[0]) for line in field]


def _made_headers(item: Any) -> list[bytes]:
    """Header fields from MAPI properties, for items that never crossed the Internet."""
    headers = []
    sender_name = _value(item, SENDER_NAME)
    smtp = _smtp(item, SENDER_SMTP, SENT_AS_SMTP, SENDER_ADDRESS, SENT_AS_ADDRESS)
    sender = _address(sender_name, smtp)
    if sender:
        headers.append(b"From: " + sender)
    elif isinstance(sender_name, str) and sender_name.strip():
        # Only an Exchange (X.500) address is known: an empty group names the sender without
        # making up an address (RFC 6854 allows a group in From).
        phrase = re.sub(r'[",:;<>@()\[\]\\]', "", sender_name).strip()
        headers.append(b"From: " + _encoded_word(phrase) + b":;")
    recipients: dict[int, list[bytes]] = {1: [], 2: [], 3: []}
    if item.recipients is not None:
        for record in item.recipients.record_sets:
            kind = _entry_value(record, RECIPIENT_TYPE)
            smtp = _entry_value(record, SMTP_ADDRESS) or _entry_value(record, EMAIL_ADDRESS)
            address = _address(
                _entry_value(record, DISPLAY_NAME), smtp if _is_internet(smtp) else None
            )
            if address and kind in recipients:
                recipients[kind].append(address)
    for kind, name in ((1, b"To"), (2, b"Cc"), (3, b"Bcc")):
        if recipients[kind]:
            headers.append(name + b": " + b", ".join(recipients[kind]))
    if item.subject:
        headers.append(b"Subject: " + _encoded_word(item.subject))
    date = _utc(item.client_submit_time) or _utc(item.delivery_time) or _utc(item.creation_time)
    if date is not None:
        headers.append(b"Date: " + format_datetime(date).encode())
    return headers


def _body(item: Any) -> tuple[bytes, str | None]:
    """Content-Type and body: the text alternatives, in multipart/mixed with the attachments."""
    texts = []
    if item.plain_text_body:
        texts.append(_text_part(b"text/plain", item.plain_text_body, "utf-8"))
    if item.html_body:
        texts.append(_text_part(b"text/html", item.html_body, _codec(_value(item, INTERNET_CPID))))
    if not item.html_body and item.rtf_body:  # RTF carries the formatting only when no HTML does
        texts.append(_text_part(b"text/rtf", item.rtf_body, None))
    if not texts:
        texts.append(_text_part(b"text/plain", b"", "utf-8"))
    body = texts[0] if len(texts) == 1 else _multipart(b"alternative", texts)
    parts, lost = [], []
    for index in range(item.number_of_attachments):
        attachment = item.get_attachment(index)
        name = _value(attachment, ATTACH_FILENAME) or attachment.long_filename
        if _value(attachment, ATTACH_METHOD) == EMBEDDED_MESSAGE:
            lost.append(_value(attachment, DISPLAY_NAME) or name or f"item {index + 1}")
            continue
        parts.append(_attachment_part(attachment, name, index))
    note = None
    if lost:
        note = "attached Outlook item(s) left out (libpff cannot read them): " + ", ".join(
            repr(str(n)) for n in lost
        )
    return (_multipart(b"mixed", [body, *parts]) if parts else body), note


def _text_part(content_type: bytes, data: bytes, charset: str | None) -> bytes:
    """Quoted-printable text with CRLF line ends: readable, 7-bit, the same bytes every run."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    encoded = quopri.encodestring(lines).replace(b"\n", b"\r\n")
    kind = content_type + (b"; charset=" + charset.encode() if charset else b"")
    return (
        b"Content-Type: "
        + kind
        + b"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + encoded
    )


def _attachment_part(attachment: Any, name: str | None, index: int) -> bytes:
    data = attachment.read_buffer(attachment.size) if attachment.size else b""
    mime = _value(attachment, ATTACH_MIME_TAG) or "application/octet-stream"
    filename = name or f"attachment-{index + 1}"
    header = [
        b"Content-Type: " + mime.encode("ascii", "replace") + b"; name=" + _quoted(filename),
        b"Content-Disposition: attachment; filename=" + _quoted(filename),
        b"Content-Transfer-Encoding: base64",
    ]
    content_id = _value(attachment, ATTACH_CONTENT_ID)
    if isinstance(content_id, str) and content_id.strip():
        header.append(b"Content-ID: <" + content_id.strip("<> ").encode("ascii", "replace") + b">")
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return b"\r\n".join(header) + b"\r\n\r\n" + encoded


def _multipart(subtype: bytes, parts: list[bytes]) -> bytes:
    """A multipart whose boundary is a hash of its parts: fixed for the same content, and a
    string the parts cannot contain."""
    digest = hashlib.sha256(b"\0".join(parts)).hexdigest()[:32]
    boundary = b"=_mailaudit_" + digest.encode()
    out = [b"Content-Type: multipart/" + subtype + b'; boundary="' + boundary + b'"\r\n\r\n']
    for part in parts:
        out += [b"--" + boundary + b"\r\n", part, b"" if part.endswith(b"\r\n") else b"\r\n"]
    out.append(b"--" + boundary + b"--\r\n")
    return b"".join(out)


def _quoted(text: str) -> bytes:
    """A parameter value: plain when ASCII, else an RFC 2047 word in quotes (what mail
    clients read for file names)."""
    if text.isascii():
        return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'
    return b'"' + _encoded_word(text) + b'"'


def _encoded_word(text: str) -> bytes:
    charset = "us-ascii" if text.isascii() else "utf-8"
    return Header(text, charset).encode(linesep="\r\n").encode("ascii")


def _address(name: Any, address: Any) -> bytes | None:
    if not isinstance(address, str) or not address.strip():
        return None
    mailbox: str = address.strip()
    if not isinstance(name, str) or not name.strip() or name.strip() == mailbox:
        return mailbox.encode("utf-8")
    return formataddr((str(name).strip(), mailbox), charset="utf-8").encode("utf-8")


def _is_internet(address: Any) -> bool:
    return isinstance(address, str) and "@" in address and not address.startswith("/")


def _smtp(item: Any, *entry_types: int) -> str | None:
    """The first of these properties that holds an Internet address (not an Exchange DN)."""
    for entry_type in entry_types:
        value = _value(item, entry_type)
        if _is_internet(value):
            return str(value)
    return None


def _flags(item: Any) -> frozenset[Flag]:
    flags = set()
    message_flags = _value(item, MESSAGE_FLAGS) or 0
    if message_flags & READ:
        flags.add(Flag.SEEN)
    if message_flags & UNSENT:
        flags.add(Flag.DRAFT)
    verb = _value(item, LAST_VERB)
    if verb in REPLY_VERBS:
        flags.add(Flag.ANSWERED)
    elif verb == FORWARD_VERB:
        flags.add(Flag.FORWARDED)
    if _value(item, FLAG_STATUS) == FLAGGED_STATUS:
        flags.add(Flag.FLAGGED)
    return frozenset(flags)


def _value(item: Any, entry_type: int) -> Any:
    """A MAPI property of an item (first record set), as int, str or bytes; None when absent."""
    try:
        if not item.number_of_record_sets:
            return None
        return _entry_value(item.get_record_set(0), entry_type)
    except OSError:
        return None


def _entry_value(record: Any, entry_type: int) -> Any:
    for entry in record.entries:
        if entry.entry_type != entry_type:
            continue
        value_type = entry.value_type
        try:
            if value_type in (0x1F, 0x1E):  # PT_UNICODE, PT_STRING8
                return entry.data_as_string
            if value_type in (0x02, 0x03, 0x14, 0x0B):  # PT_SHORT, PT_LONG, PT_I8, PT_BOOLEAN
                return entry.data_as_integer
        except (OSError, UnicodeError):
            return None
        return entry.data
    return None


def _node_of(entry_id: Any) -> int | None:
    """The node id at the end of a PST entry id (4 flag bytes, 16-byte provider id, node id)."""
    if isinstance(entry_id, bytes) and len(entry_id) == 24:
        return int.from_bytes(entry_id[20:24], "little")
    return None


def _codec(codepage: Any) -> str | None:
    """The charset name of a Windows code page number, when Python knows it."""
    if not isinstance(codepage, int):
        return None
    if 1250 <= codepage <= 1258:
        return f"windows-{codepage}"
    name = CODEPAGES.get(codepage)
    if name is None:
        return None
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


def _utc(value: Any) -> datetime | None:
    """libpff gives FILETIMEs as naive datetimes in UTC; 1601 means "not set"."""
    if not isinstance(value, datetime) or value.year < 1971:
        return None
    whole: datetime = value.replace(microsecond=0)  # IMAP dates have whole seconds
    return whole.replace(tzinfo=timezone.utc) if whole.tzinfo is None else whole
