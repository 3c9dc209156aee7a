"""One module per mail client. Each reads one user's files and yields Account, LocalMailbox or
Skipped records."""

from mailaudit.model import Client
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
from mailaudit.sources.base import Found, Source, guarded

# (what progress messages call it, the source). Order is the order of the report. Each source
# runs behind its own boundary: one hostile file cannot end the scan.
SOURCES: tuple[tuple[str, Source], ...] = (
    ("Thunderbird/SeaMonkey", guarded(Client.THUNDERBIRD.value, thunderbird.scan_user)),
    ("Outlook", guarded(Client.OUTLOOK.value, outlook.scan_user)),
    ("Apple Mail", guarded(Client.APPLE_MAIL.value, applemail.scan_user)),
    ("Outlook for Mac", guarded(Client.OUTLOOK_MAC.value, outlook_mac.scan_user)),
    (
        "Windows Live Mail/Windows Mail",
        guarded(Client.WINDOWS_LIVE_MAIL.value, windows_live_mail.scan_user),
    ),
    ("Outlook Express", guarded(Client.OUTLOOK_EXPRESS.value, outlook_express.scan_user)),
    ("Evolution", guarded(Client.EVOLUTION.value, evolution.scan_user)),
    ("KMail", guarded(Client.KMAIL.value, kmail.scan_user)),
    ("Claws Mail/Sylpheed", guarded(Client.CLAWS_MAIL.value, claws.scan_user)),
    ("fetchmail", guarded(Client.FETCHMAIL.value, fetchmail.scan_user)),
    ("getmail", guarded(Client.GETMAIL.value, getmail.scan_user)),
    ("mutt/NeoMutt", guarded(Client.MUTT.value, mutt.scan_user)),
    ("eM Client", guarded(Client.EM_CLIENT.value, em_client.scan_user)),
    ("Mailbird", guarded(Client.MAILBIRD.value, mailbird.scan_user)),
    ("The Bat!", guarded(Client.THE_BAT.value, the_bat.scan_user)),
    ("Windows Mail app", guarded(Client.WINDOWS_MAIL_APP.value, windows_mail_app.scan_user)),
    ("new Outlook", guarded(Client.OUTLOOK_NEW.value, new_outlook.scan_user)),
)

__all__ = ["SOURCES", "Found", "Source", "guarded"]
