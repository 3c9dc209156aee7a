"""Provider knowledge: the bundled ISPDB snapshot, completed by mailaudit's own table."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from mailaudit import providers

KNOWN = providers.load()


def test_the_ispdb_snapshot_loads_with_its_licence():
    folder = resources.files("mailaudit.providers")
    snapshot = json.loads(folder.joinpath("ispdb.json").read_text("utf-8"))
    assert "Mozilla Public License" in folder.joinpath("ISPDB-LICENSE").read_text("utf-8")
    assert snapshot["counts"]["providers_parsed"] == len(snapshot["providers"]) == 163
    # Every ISPDB file is a provider, either as itself or completed by the own table.
    sources = " ".join(p.source for p in KNOWN)
    assert all(f"ISPDB {entry['id']}" in sources for entry in snapshot["providers"])
    domains = {d for p in KNOWN for d in p.domains}
    assert len(domains) >= 962


def test_a_provider_only_the_ispdb_knows():
    found, how = providers.identify(KNOWN, "posteo.de", None, [])
    assert (found.imap, found.source, how) == (
        ("posteo.de", 993),
        "ISPDB posteo.de",
        "address domain posteo.de",
    )


def test_zoho_eu_answers_its_own_servers():
    found, _ = providers.identify(KNOWN, "zoho.eu", None, [])
    assert found.imap == ("imap.zoho.eu", 993) and found.pop3 == ("pop.zoho.eu", 995)
    assert providers.identify(KNOWN, "zoho.com", None, [])[0].imap == ("imap.zoho.com", 993)


def test_aol_mx_is_aol_not_yahoo():
    found, how = providers.identify(KNOWN, "firma.example", None, ["mx-aol.mail.gm0.yahoodns.net"])
    assert found.name == "AOL Mail" and found.imap == ("imap.aol.com", 993)
    assert how == "MX mx-aol.mail.gm0.yahoodns.net"
    yahoo, _ = providers.identify(KNOWN, "firma.example", None, ["mta7.am0.yahoodns.net."])
    assert yahoo.name == "Yahoo Mail"


@pytest.mark.parametrize(("mx", "name", "imap"), [
    ("aspmx.l.google.com", "Google (Gmail, Google Workspace)", "imap.gmail.com"),
    ("firma-example.mail.protection.outlook.com", "Microsoft 365 (Exchange Online)",
     "outlook.office365.com"),
    ("mx00.ionos.de", "IONOS (1&1)", "imap.ionos.de"),
    ("smtpin.rzone.de", "STRATO", "imap.strato.de"),
    ("mailstore1.secureserver.net", "GoDaddy Workspace Email", "imap.secureserver.net"),
    ("mx1.mail.ovh.net", "OVHcloud MX Plan", "ssl0.ovh.net"),
    ("mx.zoho.eu", "Zoho Mail (EU)", "imap.zoho.eu"),
    ("mx01.emig.gmx.net", "GMX", "imap.gmx.net"),
])  # fmt: skip
def test_a_custom_domain_is_recognised_by_its_mx(mx, name, imap):
    found, how = providers.identify(KNOWN, "firma.example", "mail.firma.example", [mx])
    assert (found.name, found.imap[0], how) == (name, imap, f"MX {mx}")


def test_sign_in_policy_comes_from_the_own_table_and_methods_from_the_ispdb():
    microsoft = next(p for p in KNOWN if p.key == "microsoft365")
    assert microsoft.auth == "oauth2" and microsoft.sign_in == ("OAuth2",)
    gmx = next(p for p in KNOWN if p.key == "gmx")
    assert "switched on" in (gmx.note or "") and gmx.source == "ISPDB gmx.net + mailaudit"


def test_no_provider_for_an_unknown_domain():
    assert providers.identify(KNOWN, "firma.example", "mail.firma.example", []) is None
    assert providers.identify(KNOWN, "firma.example", None, ["mx.firma.example"]) is None


def test_the_policy_file_overrides_by_own_key_or_ispdb_name():
    changed = providers.load(
        {"posteo.de": {"auth": "app-password"}, "gmx": {"imap": "imap.gmx.example:993"}}
    )
    posteo = next(p for p in changed if p.key == "posteo.de")
    assert posteo.auth == "app-password" and posteo.imap == ("posteo.de", 993)
    assert next(p for p in changed if p.key == "gmx").imap == ("imap.gmx.example", 993)
    assert next(p for p in KNOWN if p.key == "gmx").imap == ("imap.gmx.net", 993)  # untouched
