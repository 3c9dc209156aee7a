"""One migration: map the folders, find what is already there, upload the rest, verify.

    list + inventory (one session) -> decide per message -> upload (1..N sessions) -> verify

Safe to stop at any moment and to run again: every intent is in the ledger before its bytes
leave, every message already on the server is found by the ledger's UID or by its Message-ID
(or a hash of its bytes), so a re-run sends only what is missing. The source is only read; on
the server nothing is deleted or changed, folders are only created.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mailaudit import aio
from mailaudit.migrate import identity
from mailaudit.migrate.folders import FolderMap, ServerFolders, map_folders, special_use_pairs
from mailaudit.migrate.imap_client import (
    Credentials,
    Destination,
    ImapError,
    Outgoing,
    Session,
    SessionOptions,
    Stored,
    Streamed,
    tls_context,
)
from mailaudit.migrate.imap_syntax import Response, response_code
from mailaudit.migrate.ledger import Entry, Intent, Ledger
from mailaudit.migrate.outcome import FolderOutcome, MigrationOutcome, Verify
from mailaudit.migrate.progress import Meter, Progress, Reading, daily_quota
from mailaudit.migrate.stores.base import StoredMessage, StoreReader
from mailaudit.model import ProbeError
from mailaudit.probe.wire import WireError

# Answers after which sending more only makes it worse (RFC 5530 codes; Gmail and Microsoft
# say it in words): stop cleanly, keep the ledger, run again later.
STOP_CODES = {"OVERQUOTA", "LIMIT"}
STOP_WORDS = ("quota",)
# Slow down now: no retry of anything in this run.
THROTTLE_CODES = {"THROTTLED", "INUSE", "UNAVAILABLE"}
THROTTLE_WORDS = ("throttl", "bandwidth", "too many", "try again later")
CHECK_CHUNK = 200  # messages fetched back at once for hashing
CHECK_BYTES = 4 * 1024 * 1024  # bytes fetched back at once; a larger message comes in parts
KEEP_LISTED = 20_000  # messages of one folder kept from the survey (about 1 KB each)
IN_DOUBT_WAIT = 3.0  # seconds a server may still be storing what a dead client sent
TURN = 0.1  # seconds of reading the store before the event loop gets a turn
SAY_READING = 2.0  # seconds between progress lines while the store is listed


@dataclass(frozen=True)
class Source:
    """One local store: a reader and the name its messages are known by in the ledger."""

    name: str  # the store's path, as given
    reader: StoreReader


@dataclass(frozen=True)
class MigrateOptions:
    destination: Destination
    credentials: Credentials = field(repr=False)
    session: SessionOptions
    state: Path
    connections: int = 2
    window_bytes: int = 8 * 1024 * 1024  # in flight per connection, unanswered
    # Message bytes held at once, loaded, queued or in flight on any connection. A message
    # larger than stream_above is not held: it is read again from the store as it is sent
    # (except where the store builds it whole, PST: then it waits until nothing else is held).
    held_bytes: int = 16 * 1024 * 1024
    stream_above: int = 4 * 1024 * 1024
    batch_messages: int = 50  # per MULTIAPPEND; per ledger transaction otherwise
    batch_bytes: int = 4 * 1024 * 1024
    include_trash: bool = False
    include_junk: bool = False
    folders: tuple[str, ...] = ()  # --folder globs
    dry_run: bool = False
    verify: Verify = Verify.QUICK
    attempts: int = 3  # runs after a lost connection, each picking up where the last stopped


class StopRun(Exception):
    """The server asked us to stop (quota, throttling): the run ends cleanly."""


def run_migration(
    sources: Sequence[Source], options: MigrateOptions, progress: Progress | None = None
) -> MigrationOutcome:
    return aio.run(migrate(sources, options, progress))


async def migrate(
    sources: Sequence[Source], options: MigrateOptions, progress: Progress | None = None
) -> MigrationOutcome:
    started = time.monotonic()
    ledger = None if options.dry_run and not options.state.exists() else Ledger(options.state)
    memory = _Memory()
    try:
        for attempt in range(1, options.attempts + 1):
            job = _Job(sources, options, ledger, memory, progress)
            try:
                outcome = await job.run()
            except WireError as exc:
                # Only a connection lost mid-run is worth another go; a refused connection,
                # a bad certificate or a failed login will be the same in a minute.
                lost = exc.reason in (ProbeError.CLOSED, ProbeError.TIMEOUT)
                if not (lost and job.surveyed) or attempt == options.attempts or options.dry_run:
                    raise
                if progress is not None:
                    progress(f"connection lost ({exc.message}); picking up again ({attempt})")
                await asyncio.sleep(min(2.0**attempt, 30.0))
                continue
            return replace(outcome, seconds=time.monotonic() - started)
        raise AssertionError("unreachable")
    finally:
        if ledger is not None:
            ledger.close()


@dataclass
class _Memory:
    """What this process sent, across attempts: a message found on the server after a lost
    connection was uploaded by us, not 'already there'. Kept as hashes of (mailbox, folder,
    key), a few bytes each for a store of a hundred thousand messages; a collision could only
    count one message as uploaded rather than already there."""

    sent: set[int] = field(default_factory=set)

    @staticmethod
    def mark(mailbox: str, source: str, key: str) -> int:
        return hash((mailbox, source, key))


@dataclass
class _Expected:
    """What should now be on one server folder, as the check after the upload needs it: no
    more per message than its Message-ID (or UID) and, where known, its hash."""

    count: int = 0
    ids: Counter[str] = field(default_factory=Counter)
    uids_without_id: list[int] = field(default_factory=list)
    digests: dict[int, str] = field(default_factory=dict)  # by UID

    def add(self, message_id: str | None, digest: str | None, uid: int | None) -> None:
        self.count += 1
        if message_id:
            self.ids[message_id] += 1
        elif uid:
            self.uids_without_id.append(uid)
        if uid and digest:
            self.digests[uid] = digest


@dataclass
class _Inventory:
    """One server mailbox: what is there, for dedup. Each source message takes one copy."""

    uidvalidity: int | None
    by_uid: dict[int, str | None] = field(default_factory=dict)  # UID: its Message-ID
    ids: Counter[str] = field(default_factory=Counter)
    digests: Counter[str] = field(default_factory=Counter)
    digest_of: dict[int, str] = field(default_factory=dict)

    def add(self, uid: int, message_id: str | None) -> None:
        self.by_uid[uid] = message_id
        if message_id:
            self.ids[message_id] += 1

    def claim(self, uid: int) -> bool:
        if uid not in self.by_uid:
            return False
        message_id = self.by_uid.pop(uid)
        if message_id:
            self.ids[message_id] -= 1
        elif uid in self.digest_of:
            self.digests[self.digest_of[uid]] -= 1
        return True

    def take(self, message_id: str | None, digest: str) -> bool:
        counter, key = (self.ids, message_id) if message_id else (self.digests, digest)
        if counter[key] > 0:
            counter[key] -= 1
            return True
        return False


@dataclass
class _Tally:
    mapping: FolderMap
    source: str  # the ledger's name for the folder: store and folder path
    store: str
    reader: StoreReader
    listed: list[StoredMessage] | None = field(default_factory=list)  # None: read again
    entries: dict[str, Entry] | None = None  # the ledger's, when read before the decision
    messages: int = 0
    bytes: int = 0
    uploaded: int = 0
    uploaded_bytes: int = 0
    already_there: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    not_sent: int = 0
    present: _Expected = field(default_factory=_Expected)
    verified: bool | None = None
    verify_note: str | None = None
    compared: int = 0
    refused: str | None = None  # the server would not create the folder

    def outcome(self) -> FolderOutcome:
        return FolderOutcome(
            store=self.store,
            source=self.mapping.source_name,
            target=self.mapping.target,
            skip=self.mapping.skip,
            messages=self.messages,
            bytes=self.bytes,
            uploaded=self.uploaded,
            uploaded_bytes=self.uploaded_bytes,
            already_there=self.already_there,
            skipped=tuple(sorted(self.skipped.items())),
            failed=tuple(sorted(self.failed.items())),
            not_sent=self.not_sent,
            verified=self.verified,
            verify_note=self.verify_note,
            compared=self.compared,
            notes=tuple(sorted(self.notes.items())),
        )


@dataclass
class _Item:
    """A message decided for upload, bytes loaded."""

    tally: _Tally
    key: str
    stored: int  # the message's size in the store: what the report and the progress count
    outgoing: Outgoing
    message_id: str | None
    digest: str

    @property
    def size(self) -> int:
        return self.outgoing.size

    @property
    def holds(self) -> int:
        """Bytes held in memory until it is answered for: none when streamed."""
        return 0 if isinstance(self.outgoing.data, Streamed) else self.outgoing.size


@dataclass
class _Batch:
    mailbox: str
    source: str
    items: list[_Item]
    multi: bool  # one MULTIAPPEND; else one APPEND each, pipelined

    @property
    def size(self) -> int:
        return sum(item.size for item in self.items)


class _Job:
    def __init__(
        self,
        sources: Sequence[Source],
        options: MigrateOptions,
        ledger: Ledger | None,
        memory: _Memory,
        progress: Progress | None,
    ) -> None:
        self.sources = sources
        self.options = options
        self.ledger = ledger
        self.memory = memory
        self.progress = progress
        self.destination = str(options.destination)
        self.stopped: str | None = None
        self.tallies: list[_Tally] = []
        self.inventories: dict[str, _Inventory] = {}
        self.server: dict[str, object] = {}
        self.utf8 = False
        self.multiappend = False
        self.append_limit: int | None = None
        self.surveyed = False
        self.context = tls_context(options.session)  # one for every connection of the run
        self.spare: Session | None = None
        self.held = 0  # bytes of the messages loaded and not yet answered for
        self.freed = asyncio.Event()

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)

    async def connect(self) -> Session:
        o = self.options
        return await Session.connect(o.destination, o.credentials, o.session, self.context)

    async def run(self) -> MigrationOutcome:
        control = await self.connect()
        try:
            await self.survey(control)
        except BaseException:
            control.abort()
            raise
        # The session that looked goes on to upload, then to check: one login where one
        # connection is asked for, not three.
        self.spare = control
        try:
            outcome = await self.work()
        except BaseException:
            if self.spare is not None:
                self.spare.abort()
            raise
        if self.spare is not None:
            await self.spare.logout()
        return outcome

    async def session(self) -> Session:
        """The spare session (the one that looked, or the one an upload left), else a new one."""
        spare, self.spare = self.spare, None
        return spare if spare is not None else await self.connect()

    async def work(self) -> MigrationOutcome:
        self.surveyed = True
        for tally in self.tallies:
            if tally.refused:
                tally.failed[tally.refused] += tally.messages
        plan = [t for t in self.tallies if t.mapping.skip is None and not t.refused]
        meter = Meter(
            self.progress,
            sum(t.messages for t in plan),
            sum(t.bytes for t in plan),
            daily_quota(self.options.destination.host),
        )
        if self.options.dry_run:
            for tally in plan:  # decided and counted; a dry run yields nothing to send
                async for _ in self.decide_all(tally, meter, None):
                    raise AssertionError("a dry run has nothing to send")
        else:
            await self.upload(plan, meter)
            meter.finish()
            for tally in plan:  # whatever a stop left unsettled waits for the next run
                settled = tally.uploaded + tally.already_there
                settled += sum(tally.skipped.values()) + sum(tally.failed.values())
                tally.not_sent = max(0, tally.messages - settled)
            if self.options.verify is not Verify.NONE and self.stopped is None:
                await self.verify(plan)
        return MigrationOutcome(
            destination=self.destination,
            dry_run=self.options.dry_run,
            verify=self.options.verify,
            folders=tuple(t.outcome() for t in self.tallies),
            stopped=self.stopped,
            server=self.server,
        )

    # -- 1. what is where -------------------------------------------------------------------

    async def survey(self, control: Session) -> None:
        (prefix, delimiter), listed = await asyncio.gather(control.namespace(), control.list_all())
        if delimiter is None:
            delimiter = next((m.delimiter for m in listed if m.delimiter), None)
        server = ServerFolders(
            prefix=prefix,
            delimiter=delimiter,
            utf8=control.utf8,
            existing=frozenset(m.name for m in listed if "\\NOSELECT" not in m.attributes)
            | {"INBOX"},
            special_use=special_use_pairs((m.name, m.attributes) for m in listed),
        )
        self.utf8 = control.utf8
        self.multiappend = "MULTIAPPEND" in control.capabilities
        self.append_limit = control.append_limit
        self.server = {
            "multiappend": self.multiappend,
            "literal": "LITERAL+"
            if "LITERAL+" in control.capabilities
            else "LITERAL-"
            if "LITERAL-" in control.capabilities
            else "synchronising",
            "uidplus": "UIDPLUS" in control.capabilities,
            "utf8_accept": control.utf8,
            "append_limit": self.append_limit,
            "delimiter": delimiter,
            "prefix": prefix,
        }
        o = self.options
        turns = _Turns()
        reading = Reading(self.progress, SAY_READING)
        for source in self.sources:
            folders = list(source.reader.folders())
            for mapping in map_folders(folders, server, o.include_trash, o.include_junk, o.folders):
                tally = _Tally(mapping, _source_name(source, mapping), source.name, source.reader)
                self.tallies.append(tally)
                if mapping.skip is not None:
                    continue
                # Kept until the folder is decided (a reader's messages() may read every file
                # to know its size): the store is read once for the plan, not twice; except
                # for a folder so large that keeping its list would cost the memory bound.
                for message in source.reader.messages(mapping.source):
                    tally.messages += 1
                    tally.bytes += message.size
                    if tally.listed is not None:
                        tally.listed.append(message)
                        if len(tally.listed) > KEEP_LISTED:
                            tally.listed = None
                    await turns.take()
                    reading.counted(mapping.source_name, tally.messages, tally.bytes)
        self.inventories = await self.settled_by_ledger(control)
        refused: dict[str, str] = {}
        for tally in self.tallies:
            wire = tally.mapping.wire
            if wire in refused:
                tally.refused = refused[wire]
            if wire is None or wire in self.inventories or wire in refused:
                continue
            if tally.mapping.exists:
                self.inventories[wire] = await self.inventory(control, wire)
            elif o.dry_run:
                self.inventories[wire] = _Inventory(None, {})
            else:
                try:
                    await control.create(wire)
                except ImapError as exc:
                    # A name this server cannot take ('.' in a Maildir++ name): that folder
                    # fails, the others go on.
                    refused[wire] = tally.refused = f"the server refused the folder: {exc}"[:200]
                    continue
                self.say(f"created {tally.mapping.target} on the server")
                self.inventories[wire] = _Inventory(None, {})
        await self.await_in_doubt(control)

    async def settled_by_ledger(self, control: Session) -> dict[str, _Inventory]:
        """The server folders for which the ledger holds every listed message as stored, under
        a UID: when those UIDs are all still there, nothing else about the folder matters (a
        finished migration run again). Asked of all such folders at once, in one round trip;
        any other folder gets the full inventory."""
        if self.ledger is None:
            return {}
        known: dict[str, dict[int, Entry]] = {}
        validity: dict[str, set[int | None]] = {}
        unsettled = set()
        for tally in self.tallies:
            wire = tally.mapping.wire
            if wire is None or tally.mapping.skip is not None or not tally.mapping.exists:
                continue
            if tally.listed is None:
                unsettled.add(wire)
                continue
            # Kept for the decision (a folder kept listed: as bounded as its list).
            entries = tally.entries = self.ledger.entries(self.destination, wire, tally.source)
            for message in tally.listed:
                entry = entries.get(message.key)
                if message.skip:
                    continue
                if entry is None or not entry.done or entry.uid is None:
                    unsettled.add(wire)
                    break
                known.setdefault(wire, {})[entry.uid] = entry
                validity.setdefault(wire, set()).add(entry.uidvalidity)
        wires = [w for w in known if w not in unsettled and len(validity[w]) == 1]
        if not wires:
            return {}
        try:
            found = await control.still_there({wire: list(known[wire]) for wire in wires})
        except ImapError:
            return {}  # a server that will not search UIDs so: the full inventory tells
        settled = {}
        for wire, (uidvalidity, count) in found.items():
            if {uidvalidity} == validity[wire] and count == len(known[wire]):
                settled[wire] = _Inventory(uidvalidity)
                for uid, entry in known[wire].items():
                    settled[wire].add(uid, entry.message_id)
        return settled

    async def await_in_doubt(self, control: Session) -> None:
        """An APPEND sent whole just before the last run died may still be being stored: the
        server finishes a command its client has left. When a message in doubt is not there
        yet, look once more after a pause rather than send it a second time."""
        if self.ledger is None:
            return
        missing = set()
        for tally in self.tallies:
            wire = tally.mapping.wire
            inventory = self.inventories.get(wire) if wire else None
            if wire is None or inventory is None:
                continue
            if self.ledger.in_doubt(self.destination, wire, tally.source) - set(inventory.ids):
                missing.add(wire)
        if missing:
            await asyncio.sleep(IN_DOUBT_WAIT)
            for wire in missing:
                self.inventories[wire] = await self.inventory(control, wire)

    async def inventory(self, control: Session, wire: str) -> _Inventory:
        uidvalidity, exists = await control.examine(wire)
        found = _Inventory(uidvalidity)
        without_id: list[int] = []

        def each(stored: Stored) -> None:
            found.add(stored.uid, stored.message_id)
            if stored.message_id is None:
                without_id.append(stored.uid)

        if exists:
            await control.inventory(each)
        # Messages without a Message-ID are known by a hash of their bytes: fetched here,
        # a chunk at a time, only for the few that have none.
        for start in range(0, len(without_id), CHECK_CHUNK):
            bodies = await control.bodies(without_id[start : start + CHECK_CHUNK])
            for uid, body in bodies.items():
                digest = identity.digest(body)
                found.digest_of[uid] = digest
                found.digests[digest] += 1
        return found

    # -- 2. decide ---------------------------------------------------------------------------

    def decide_all(
        self, tally: _Tally, meter: Meter, make_room: Callable[[int], Awaitable[None]] | None
    ) -> AsyncIterator[_Item]:
        """Every message of one folder: skipped, already there, or (yielded) to upload, each
        loaded once `make_room` lets it (held_bytes)."""
        mapping = tally.mapping
        assert mapping.wire is not None
        wire = mapping.wire
        inventory = self.inventories[wire]
        entries, tally.entries = tally.entries, None
        if entries is None:
            ledger = self.ledger
            entries = ledger.entries(self.destination, wire, tally.source) if ledger else {}
        # Copies this ledger put there, still under the same UIDVALIDITY, are ours: claimed
        # first, so that Message-ID matching never hands them to another message.
        claimed = {
            key
            for key, entry in entries.items()
            if entry.done
            and entry.uid is not None
            and entry.uidvalidity == inventory.uidvalidity
            and inventory.claim(entry.uid)
        }
        meter.start_folder(mapping.target or tally.source, tally.messages)
        return self._decide(tally, meter, entries, claimed, inventory, wire, make_room)

    async def _decide(
        self,
        tally: _Tally,
        meter: Meter,
        entries: dict[str, Entry],
        claimed: set[str],
        inventory: _Inventory,
        wire: str,
        make_room: Callable[[int], Awaitable[None]] | None,
    ) -> AsyncIterator[_Item]:
        listed, tally.listed = tally.listed, []
        turns = _Turns()
        for message in (
            _draining(listed) if listed is not None else tally.reader.messages(tally.mapping.source)
        ):
            await turns.take()
            if message.note:
                tally.notes[message.note] += 1
            if message.skip:
                tally.skipped[message.skip] += 1
                meter.advance(1, message.size)
                continue
            if message.key in claimed:
                entry = entries[message.key]
                self._there(tally, message.key, entry.message_id, entry.digest, entry.uid, wire)
                meter.advance(1, message.size)
                continue
            streams = message.chunks is not None and message.size > self.options.stream_above
            if make_room is not None and not streams:
                await make_room(message.size)
            item = self._load(tally, message, streams)
            if item is None:
                meter.advance(1, message.size)
                continue
            if self.append_limit is not None and item.size > self.append_limit:
                tally.skipped[f"larger than the server takes ({self.append_limit} bytes)"] += 1
                meter.advance(1, message.size)
                continue
            if inventory.take(item.message_id, item.digest):
                self._there(tally, item.key, item.message_id, item.digest, None, wire)
                if self.ledger is not None and item.key in entries and not self.options.dry_run:
                    self.ledger.done(self.destination, wire, tally.source, [item.key], None, [None])
                meter.advance(1, message.size)
                continue
            if self.options.dry_run:
                tally.uploaded += 1
                tally.uploaded_bytes += item.stored
                meter.advance(1, message.size)
                continue
            self.held += item.holds
            yield item

    async def room_for(self, size: int, workers: Sequence[asyncio.Future[None]]) -> None:
        """Wait until `size` more bytes fit in held_bytes, or nothing else is held (all of it
        queued or sent, so that it will be answered for). A worker that died (a lost
        connection) ends the wait, and the run, at once."""
        while self.held and self.held + size > self.options.held_bytes and not self.stopped:
            _raise_failure(workers)
            self.freed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.freed.wait(), 0.5)

    def release(self, items: Sequence[_Item]) -> None:
        self.held -= sum(item.holds for item in items)
        self.freed.set()

    def _there(
        self,
        tally: _Tally,
        key: str,
        message_id: str | None,
        digest: str | None,
        uid: int | None,
        wire: str,
    ) -> None:
        if self.memory.mark(wire, tally.source, key) in self.memory.sent:
            tally.uploaded += 1  # sent by this process before a lost connection
        else:
            tally.already_there += 1
        tally.present.add(message_id, digest, uid)

    def _load(self, tally: _Tally, message: StoredMessage, streams: bool) -> _Item | None:
        """The message's bytes, or for one too large to hold (`streams`) what it takes to send
        it a chunk at a time later: its size, its header and a hash, in one reading."""
        data: bytes | Streamed
        try:
            if streams:
                assert message.chunks is not None
                size, head, digest = identity.measured(message.chunks())
                data = Streamed(size, identity.unchanged(message.chunks, digest))
            else:
                data = head = message.load()
                size, digest = len(data), ""
        except (OSError, ValueError) as exc:
            tally.skipped[f"unreadable: {exc}"[:120]] += 1
            return None
        if not size:
            tally.skipped["empty message"] += 1  # RFC 3501 §6.3.11: a server must refuse it
            return None
        message_id = identity.message_id(identity.header_block(head))
        # The hash is what knows a message without a Message-ID, and what --verify full
        # compares; for the rest it would only cost time.
        hashed = message_id is None or self.options.verify is Verify.FULL
        if hashed and isinstance(data, bytes):
            digest = identity.digest(data)
        return _Item(
            tally=tally,
            key=message.key,
            stored=message.size,
            outgoing=Outgoing(
                data=data,
                flags=tuple(flag.value for flag in sorted(message.flags, key=lambda f: f.value)),
                internal_date=message.internal_date,
                utf8=self.utf8 and identity.has_8bit_header(head),
            ),
            message_id=message_id,
            digest=digest if hashed else "",
        )

    # -- 3. upload ---------------------------------------------------------------------------

    async def upload(self, plan: list[_Tally], meter: Meter) -> None:
        connections = max(1, self.options.connections)
        queue: asyncio.Queue[_Batch | None] = asyncio.Queue(maxsize=connections)
        sessions: list[Session] = []
        workers = [
            asyncio.ensure_future(self.worker(sessions, queue, meter)) for _ in range(connections)
        ]
        try:
            await self.produce(plan, queue, meter, workers)
            for _ in workers:
                await self.put(queue, None, workers)
            await asyncio.gather(*workers)
        except BaseException:
            for worker in workers:
                worker.cancel()
            for session in sessions:
                session.abort()
            raise
        finally:
            if self.ledger is not None:
                self.ledger.flush()
        if sessions and self.options.verify is not Verify.NONE and self.stopped is None:
            self.spare = sessions.pop()  # the check comes next
        await asyncio.gather(*(session.logout() for session in sessions))

    async def put(
        self,
        queue: asyncio.Queue[_Batch | None],
        batch: _Batch | None,
        workers: Sequence[asyncio.Future[None]],
    ) -> None:
        """Queue a batch; a worker that died (a lost connection) ends the run at once."""
        while True:
            _raise_failure(workers)
            try:
                await asyncio.wait_for(queue.put(batch), 0.5)
                return
            except asyncio.TimeoutError:
                continue

    async def produce(
        self,
        plan: list[_Tally],
        queue: asyncio.Queue[_Batch | None],
        meter: Meter,
        workers: Sequence[asyncio.Future[None]],
    ) -> None:
        o = self.options
        for tally in plan:
            batch: list[_Item] = []
            batch_bytes = 0

            async def send(tally: _Tally = tally) -> None:
                nonlocal batch, batch_bytes
                if batch and not self.stopped:
                    await self.put(queue, self.batch(tally, batch), workers)
                batch, batch_bytes = [], 0

            async def make_room(size: int) -> None:
                if self.held + size > o.held_bytes:
                    await send()  # a batch still being put together holds bytes too
                    await self.room_for(size, workers)

            async for item in self.decide_all(tally, meter, make_room):
                if self.stopped:
                    return  # what is left is counted as not sent
                if batch and (
                    len(batch) >= o.batch_messages or batch_bytes + item.size > o.batch_bytes
                ):
                    await send()
                batch.append(item)
                batch_bytes += item.size
            await send()

    def batch(self, tally: _Tally, items: list[_Item]) -> _Batch:
        assert tally.mapping.wire is not None
        return _Batch(tally.mapping.wire, tally.source, items, self.multiappend and len(items) > 1)

    async def worker(
        self, sessions: list[Session], queue: asyncio.Queue[_Batch | None], meter: Meter
    ) -> None:
        """One connection, opened when there is something to send (a re-run sends nothing)."""
        in_flight: deque[tuple[asyncio.Future[Response], _Batch, list[_Item]]] = deque()
        flying = 0
        session: Session | None = None
        selected = None
        while True:
            # Answers are booked as they come while the next batch is awaited: their bytes are
            # freed for the producer (held_bytes), which may be waiting for just that.
            waiting = asyncio.ensure_future(queue.get())
            try:
                while in_flight and session is not None and not waiting.done():
                    oldest = in_flight[0][0]
                    either: set[asyncio.Future[Any]] = {waiting, oldest}
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                    if oldest.done():
                        flying -= await self.settle(session, *in_flight.popleft(), meter)
                batch = await waiting
            finally:
                waiting.cancel()
            if batch is None:
                break
            if self.stopped:
                self.release(batch.items)
                continue
            if session is None:
                session = await self.session()
                sessions.append(session)
            if batch.mailbox != selected:
                # Only for speed (see Session.select): the APPENDs name their mailbox, and go
                # ahead when the server will not select it.
                with contextlib.suppress(ImapError):
                    await session.select(batch.mailbox)
                selected = batch.mailbox
            if self.ledger is not None:
                self.ledger.sending(
                    self.destination,
                    batch.mailbox,
                    batch.source,
                    [Intent(i.key, i.message_id, i.size, i.digest) for i in batch.items],
                )
            commands = [batch.items] if batch.multi else [[item] for item in batch.items]
            for items in commands:
                size = sum(i.size for i in items)
                while in_flight and flying + size > self.options.window_bytes:
                    flying -= await self.settle(session, *in_flight.popleft(), meter)
                if self.stopped:
                    self.forget(batch, items)
                    self.release(items)
                    continue
                for item in items:
                    self.memory.sent.add(self.memory.mark(batch.mailbox, batch.source, item.key))
                done = await session.append(batch.mailbox, [i.outgoing for i in items])
                in_flight.append((done, batch, items))
                flying += size
        while in_flight and session is not None:
            await self.settle(session, *in_flight.popleft(), meter)

    async def settle(
        self,
        session: Session,
        done: asyncio.Future[Response],
        batch: _Batch,
        items: list[_Item],
        meter: Meter,
    ) -> int:
        """Book one APPEND's answer; the bytes it had in flight."""
        response = await session.completion(done)
        size = sum(i.size for i in items)
        status, _, text = response.text.partition(" ")
        code, value = response_code(response.text)
        if status.upper() == "OK":
            uidvalidity, uids = _appenduid(value, len(items)) if code == "APPENDUID" else (None, [])
            if not uids:
                uids = [None] * len(items)
            if self.ledger is not None:
                self.ledger.done(
                    self.destination,
                    batch.mailbox,
                    batch.source,
                    [i.key for i in items],
                    uidvalidity,
                    uids,
                )
            for item, uid in zip(items, uids, strict=True):
                item.tally.uploaded += 1
                item.tally.uploaded_bytes += item.stored
                item.tally.present.add(item.message_id, item.digest, uid)
            meter.advance(len(items), sum(i.stored for i in items))
            self.release(items)
            return size
        # Refused: nothing of this APPEND is stored (RFC 3502: all or nothing).
        self.forget(batch, items)
        reason = text.strip()[:160] or status
        throttled = code in THROTTLE_CODES or any(w in reason.lower() for w in THROTTLE_WORDS)
        if len(items) > 1 and not throttled:
            # One message too large, or the quota filling up, refuses a whole MULTIAPPEND:
            # one by one, whatever fits goes and the rest is told apart.
            for item in items:
                if self.stopped:
                    break
                self.ledger_again(batch, [item])
                done_one = await session.append(batch.mailbox, [item.outgoing])
                await self.settle(session, done_one, batch, [item], meter)  # releases it
            return size
        if _too_large(code, reason):
            items[0].tally.skipped["larger than the server takes"] += 1
            meter.advance(1, items[0].stored)
        elif throttled or code in STOP_CODES or any(w in reason.lower() for w in STOP_WORDS):
            self.stopped = f"the server said: {reason}; run again tomorrow to continue"
        else:
            items[0].tally.failed[reason] += 1
            meter.advance(1, items[0].stored)
        self.release(items)
        return size

    def ledger_again(self, batch: _Batch, items: list[_Item]) -> None:
        if self.ledger is not None:
            self.ledger.sending(
                self.destination,
                batch.mailbox,
                batch.source,
                [Intent(i.key, i.message_id, i.size, i.digest) for i in items],
            )

    def forget(self, batch: _Batch, items: list[_Item]) -> None:
        if self.ledger is not None:
            self.ledger.forget(
                self.destination, batch.mailbox, batch.source, [i.key for i in items]
            )
        for item in items:
            self.memory.sent.discard(self.memory.mark(batch.mailbox, batch.source, item.key))

    # -- 4. verify ---------------------------------------------------------------------------

    async def verify(self, plan: list[_Tally]) -> None:
        session = await self.session()
        try:
            for tally in plan:
                if tally.mapping.wire is None:
                    continue
                tally.verified, tally.verify_note = await self.check(session, tally)
        finally:
            await session.logout()

    async def check(self, session: Session, tally: _Tally) -> tuple[bool, str | None]:
        assert tally.mapping.wire is not None
        _, exists = await session.examine(tally.mapping.wire)
        present = tally.present
        # Used up as the server's list goes by (the check is their last use): each copy on
        # the server takes one expected Message-ID; nothing of the list is kept but sizes.
        expected = present.ids
        lost = set(present.uids_without_id)
        wanted = present.digests if self.options.verify is Verify.FULL else {}
        sizes: dict[int, int] = {}
        count = 0

        def each(stored: Stored) -> None:
            nonlocal count
            count += 1
            if stored.message_id and expected[stored.message_id] > 0:
                expected[stored.message_id] -= 1
            lost.discard(stored.uid)
            if stored.uid in wanted:
                sizes[stored.uid] = stored.size

        if exists:
            await session.inventory(each)
        missing = sum(expected.values())
        if count < present.count:
            return False, f"{count} on the server, {present.count} expected"
        if missing or lost:
            return False, f"{missing + len(lost)} message(s) not found on the server"
        if self.options.verify is Verify.FULL:
            bad = 0
            for group in _check_groups(sorted(wanted), sizes):
                if len(group) == 1 and sizes.get(group[0], 0) > CHECK_BYTES:
                    digest = await _digest_in_parts(session, group[0], sizes[group[0]])
                    bad += digest != wanted[group[0]]
                    continue
                bodies = await session.bodies(group)
                bad += sum(
                    1 for uid in group if identity.digest(bodies.get(uid, b"")) != wanted[uid]
                )
            if bad:
                return False, f"{bad} message(s) differ from the source"
            tally.compared = len(wanted)
            unchecked = present.count - len(wanted)
            note = f"{len(wanted)} compared byte for byte"
            return True, note + (f", {unchecked} by Message-ID" if unchecked else "")
        return True, None


def _check_groups(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    """The UIDs to fetch back together: at most CHECK_CHUNK messages and CHECK_BYTES (by the
    server's RFC822.SIZE), a larger message alone."""
    group: list[int] = []
    held = 0
    for uid in uids:
        size = max(sizes.get(uid, 0), 0)
        if group and (len(group) >= CHECK_CHUNK or held + size > CHECK_BYTES):
            yield group
            group, held = [], 0
        group.append(uid)
        held += size
    if group:
        yield group


async def _digest_in_parts(session: Session, uid: int, size: int) -> str:
    """The hash of a message as the server holds it (`size` bytes, its RFC822.SIZE), fetched
    CHECK_BYTES at a time: never more than the server said it holds."""
    hashed = identity.Digest()
    for start in range(0, size, CHECK_BYTES):
        count = min(CHECK_BYTES, size - start)
        part = await session.body_part(uid, start, count)
        hashed.update(part[:count])
        if len(part) < count:
            break
    return hashed.hexdigest()


class _Turns:
    """A turn for the event loop every TURN seconds of reading the store, which may not wait
    for anything in between (listing a 5 GB mbox takes half a minute): Ctrl-C and the
    sessions' timers are not held up."""

    def __init__(self) -> None:
        self.next = time.monotonic() + TURN

    async def take(self) -> None:
        if time.monotonic() >= self.next:
            await asyncio.sleep(0)
            self.next = time.monotonic() + TURN


def _raise_failure(workers: Sequence[asyncio.Future[None]]) -> None:
    for worker in workers:
        failure = worker.exception() if worker.done() else None
        if failure is not None:
            raise failure


def _draining(listed: list[StoredMessage]) -> Iterator[StoredMessage]:
    """The list's messages in order, each let go of once handed out."""
    listed.reverse()
    while listed:
        yield listed.pop()


def _too_large(code: str, reason: str) -> bool:
    """TOOBIG (RFC 4469, 7889); Dovecot says LIMIT with words about the size."""
    words = reason.lower()
    return code == "TOOBIG" or (
        "size" in words and any(w in words for w in ("larger", "too large", "too big"))
    )


def _source_name(source: Source, mapping: FolderMap) -> str:
    return f"{source.name}:{'/'.join(mapping.source.path)}"


def _appenduid(value: str, count: int) -> tuple[int | None, list[int | None]]:
    """`APPENDUID uidvalidity uid-set` (RFC 4315 §3); the UIDs in order, when they add up."""
    words = value.split()
    if len(words) != 2 or not words[0].isdigit():
        return None, []
    uids: list[int | None] = []
    with contextlib.suppress(ValueError):
        for part in words[1].split(","):
            low, _, high = part.partition(":")
            first, last = int(low), int(high or low)
            step = 1 if last >= first else -1
            uids.extend(range(first, last + step, step))
            if len(uids) > count:
                break
    return int(words[0]), uids if len(uids) == count else []
