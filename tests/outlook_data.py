"""Outlook registry content for the tests, as Outlook (or a PRF file) writes it."""

from __future__ import annotations

from regbuild import utf16

OFFICE16 = r"Software\Microsoft\Office\16.0\Outlook\Profiles"
OFFICE15 = r"Software\Microsoft\Office\15.0\Outlook\Profiles"
MESSAGING = r"Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem\Profiles"
ACCOUNTS = "9375CFF0413111d3B88A00104B2A6676"

POP3 = "{ED475411-B0D6-11D2-8C3B-00104B2A6676}"
IMAP = "{ED475412-B0D6-11D2-8C3B-00104B2A6676}"
MAPI = "{ED475414-B0D6-11D2-8C3B-00104B2A6676}"
LDAP = "{4DB5CBF2-3B77-4852-BC8E-BB81908861F3}"

MUIDSTOREWRAP = bytes.fromhex("38a1bb1005e5101aa1bb08002b2a56c2")
MSPST_UID = bytes.fromhex("4e495441f9bfb80100aa0037d96e0000")
EXCHANGE_SERVICE_UID = bytes.fromhex("0123456789abcdef0123456789abcdef")
PLANTED_PASSWORD = bytes.fromhex("02") + b"PLANTED-DPAPI-BLOB-0xC0FFEE"


def pst_entry_id(path: str) -> bytes:
    """A wrapped store EntryID of a Unicode PST (mspst.dll): the path in UTF-16LE at byte 54."""
    return (
        b"\0" * 4
        + MUIDSTOREWRAP
        + b"\0\0"
        + b"mspst.dll".ljust(14, b"\0")
        + MSPST_UID
        + b"\0\0"
        + utf16(path)
    )


def ost_entry_id(path: str) -> bytes:
    """The pstprx.dll form Outlook 2013+ uses for an IMAP account's OST."""
    return (
        b"\0" * 4 + MUIDSTOREWRAP + b"\0\0" + b"pstprx.dll".ljust(14, b"\0")
        + b"\0" * 4 + bytes(range(16)) + b"\0" + b"\0" + utf16(path)
    )  # fmt: skip


def pop3_account(**extra: object) -> dict[str, object]:
    return {
        "clsid": POP3,
        "Account Name": utf16("anna@example.test"),
        "Display Name": utf16("Anna Weber"),
        "Email": utf16("anna@example.test"),
        "POP3 Server": utf16("pop.example.test"),
        "POP3 User": utf16("anna"),
        "POP3 Port": 995,
        "POP3 Use SSL": 1,
        "POP3 Password2": PLANTED_PASSWORD,
        "SMTP Server": utf16("smtp.example.test"),
        "SMTP Port": 587,
        "SMTP Secure Connection": 2,
        "Leave on Server": 0x000E0003,
        "Delivery Store EntryID": pst_entry_id(r"C:\Users\anna\Documents\Outlook Files\anna.pst"),
        **extra,
    }


def imap_account(**extra: object) -> dict[str, object]:
    return {
        "clsid": IMAP,
        "Account Name": utf16("jane@imap.test"),
        "Email": utf16("jane@imap.test"),
        "IMAP Server": utf16("imap.imap.test"),
        "IMAP User": utf16("jane@imap.test"),
        "IMAP Port": 993,
        "IMAP Use SSL": 1,
        "IMAP Password": PLANTED_PASSWORD,
        "IMAP Store EID": ost_entry_id(
            r"C:\Users\anna\AppData\Local\Microsoft\Outlook\jane@imap.test.ost"
        ),
        **extra,
    }


def exchange_account() -> dict[str, object]:
    return {
        "clsid": MAPI,
        "Account Name": utf16("chef@kanzlei.example"),
        "Service Name": utf16("MSEMS"),
        "Service UID": EXCHANGE_SERVICE_UID,
    }


def exchange_section() -> dict[str, object]:
    return {
        "001f6641": utf16("chef@kanzlei.example"),
        "001f6602": utf16("mail.kanzlei.example"),
        "001f6610": utf16(
            r"C:\Users\anna\AppData\Local\Microsoft\Outlook\chef@kanzlei.example.ost"
        ),
    }


def not_accounts() -> dict[str, dict[str, object]]:
    """What also lives under the accounts key: a PST data file, an address book, LDAP."""
    return {
        "00000005": {"clsid": MAPI, "Service Name": utf16("MSUPST MS"),
                     "Account Name": utf16("Archiv")},
        "00000006": {"clsid": MAPI, "Service Name": utf16("CONTAB"),
                     "Account Name": utf16("Outlook Address Book")},
        "00000007": {"clsid": LDAP, "Account Name": utf16("Directory")},
    }  # fmt: skip


def profile_keys(
    base: str, profile: str, accounts: dict[str, dict[str, object]]
) -> dict[str, dict[str, object]]:
    keys: dict[str, dict[str, object]] = {f"{base}\\{profile}\\{ACCOUNTS}": {"NextAccountID": 9}}
    for number, values in accounts.items():
        keys[f"{base}\\{profile}\\{ACCOUNTS}\\{number}"] = values
    return keys


def office_machine() -> dict[str, dict[str, object]]:
    """One user's hive: Outlook 16.0 with two profiles, and an Outlook 2010 profile."""
    keys = profile_keys(OFFICE16, "Outlook", {
        "00000002": pop3_account(),
        "00000003": imap_account(),
        **not_accounts(),
    })  # fmt: skip
    keys |= profile_keys(OFFICE16, "Büro", {"00000002": exchange_account()})
    keys[f"{OFFICE16}\\Büro\\{EXCHANGE_SERVICE_UID.hex()}"] = exchange_section()
    keys |= profile_keys(MESSAGING, "Alt", {
        "00000001": pop3_account(**{
            "Account Name": "Müller & Söhne (alt)",   # REG_SZ with non-ASCII text
            "Email": "info@mueller-soehne.example",   # REG_SZ, as a PRF file writes it
            "POP3 Server": "mail.mueller-soehne.example",
            "POP3 User": "info",
            "POP3 Port": None, "POP3 Use SSL": None,   # absent: 110, no TLS
            "Leave on Server": None,
            "Delivery Store EntryID": pst_entry_id(r"C:\Users\anna\AppData\Local\alt.pst"),
        }),
    })  # fmt: skip
    return {k: {n: v for n, v in values.items() if v is not None} for k, values in keys.items()}
