"""One module per mail client. Each reads one user's files and yields Account, LocalMailbox or
Skipped records."""

from mailaudit.model import Client
from mailaudit.sources import applemail, outlook, outlook_mac, thunderbird
from mailaudit.sources.base import Found, Source, guarded

# (what progress messages call it, the source). Order is the order of the report. Each source
# runs behind its own boundary: one hostile file cannot end the scan.
SOURCES: tuple[tuple[str, Source], ...] = (
    ("Thunderbird/SeaMonkey", guarded(Client.THUNDERBIRD.value, thunderbird.scan_user)),
    ("Outlook", guarded(Client.OUTLOOK.value, outlook.scan_user)),
    ("Apple Mail", guarded(Client.APPLE_MAIL.value, applemail.scan_user)),
    ("Outlook for Mac", guarded(Client.OUTLOOK_MAC.value, outlook_mac.scan_user)),
)

__all__ = ["SOURCES", "Found", "Source", "guarded"]
