"""One module per mail client. Each reads one user's files and yields Account or Skipped records."""

from mailaudit.sources import (
    applemail,
    claws,
    em_client,
    evolution,
    fetchmail,
    getmail,
    kmail,
    mailbird,
    mutt,
    new_outlook,
    outlook,
    outlook_express,
    outlook_mac,
    the_bat,
    thunderbird,
    windows_live_mail,
    windows_mail_app,
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
    ("eM Client", em_client.scan_user),
    ("Mailbird", mailbird.scan_user),
    ("The Bat!", the_bat.scan_user),
    ("Windows Mail app", windows_mail_app.scan_user),
    ("new Outlook", new_outlook.scan_user),
)

__all__ = ["SOURCES", "Found", "Source"]
