"""One module per mail client. Each reads one user's files and yields Account or Skipped records."""

from mailaudit.sources import (
    applemail,
    claws,
    evolution,
    fetchmail,
    getmail,
    kmail,
    mutt,
    outlook,
    outlook_express,
    outlook_mac,
    thunderbird,
    windows_live_mail,
)
from mailaudit.sources.base import Found, Source

# (what progress messages call it, the source). Order is the order of the report.
SOURCES: tuple[tuple[str, Source], ...] = (
    ("Thunderbird/SeaMonkey", thunderbird.scan_user),
    ("Outlook", outlook.scan_user),
    ("Apple Mail", applemail.scan_user),
    ("Outlook for Mac", outlook_mac.scan_user),
    ("Windows Live Mail/Windows Mail", windows_live_mail.scan_user),
    ("Outlook Express", outlook_express.scan_user),
    ("Evolution", evolution.scan_user),
    ("KMail", kmail.scan_user),
    ("Claws Mail/Sylpheed", claws.scan_user),
    ("fetchmail", fetchmail.scan_user),
    ("getmail", getmail.scan_user),
    ("mutt/NeoMutt", mutt.scan_user),
)

__all__ = ["SOURCES", "Found", "Source"]
