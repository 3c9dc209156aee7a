"""Which mail exists only on this PC: the fact every report leads with."""

from __future__ import annotations

from dataclasses import dataclass

from mailaudit.model import PRODUCT_NAMES, Account, MachineReport, Protocol


@dataclass(frozen=True)
class OnlyCopy:
    """A mailbox whose mail exists only on this PC."""

    user: str
    program: str
    name: str
    bytes: int | None  # None: not measured (the files are not on this machine)


def only_here(account: Account) -> bool:
    """A POP3 account whose server deletes what it delivered: at once, or after some days."""
    return account.protocol is Protocol.POP3 and (
        account.leave_on_server is False or account.leave_on_server_days is not None
    )


def only_copies(report: MachineReport) -> list[OnlyCopy]:
    """Mailboxes held only here, largest first, each store once (Thunderbird's Global Inbox
    serves several accounts): POP3 stores the server does not keep, and local mailboxes."""
    found: dict[str, OnlyCopy] = {}
    for account in report.accounts:
        store = account.local_store
        if only_here(account) and store is not None:
            size = store.bytes if store.measured and store.exists else None
            found.setdefault(
                store.path,
                OnlyCopy(account.user, PRODUCT_NAMES[account.client], account.name, size),
            )
    for mailbox in report.local_mailboxes:
        store = mailbox.store
        if store.exists and (store.bytes > 0 or not store.measured):
            found.setdefault(
                store.path,
                OnlyCopy(
                    mailbox.user,
                    PRODUCT_NAMES[mailbox.client],
                    mailbox.name,
                    store.bytes if store.measured else None,
                ),
            )
    return sorted(found.values(), key=lambda c: (-(c.bytes or 0), c.user, c.name))
