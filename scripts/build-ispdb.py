#!/usr/bin/env python3
"""Build ispdb.json, an offline snapshot of Thunderbird's ISPDB (repository thunderbird/autoconfig).

usage: scripts/build-ispdb.py SRC [-o OUT] [--repo NAME] [--commit SHA] [--date ISO]

OUT defaults to mailaudit/providers/ispdb.json, the copy mailaudit ships (MPL-2.0, with the
licence beside it in ISPDB-LICENSE). The snapshot shipped was built from commit c6ad796 of
thunderbird/autoconfig (2026-03-12); re-running on a newer checkout refreshes it.

SRC is a checkout or an export (git archive) of the repository, or its ispdb/ folder itself.
Every *.xml file in the ispdb folder becomes one provider entry, in file-name order. Values are
copied as the XML text says them (strings, never rewritten: "993" stays "993", placeholders such
as %EMAILADDRESS% stay as written, typos stay); an element that is absent is null. Comments and
<webMail> (web login page automation) are left out; everything else a mail client needs is kept.

When SRC is a git checkout and --commit/--date are not given, they are read with `git`.
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SERVER_FIELDS = ("hostname", "port", "socketType", "username")


def text(element: ET.Element | None) -> str | None:
    return None if element is None else (element.text or "")


def descrs(element: ET.Element) -> list[dict]:
    return [{"lang": d.get("lang"), "text": text(d)} for d in element.findall("descr")]


def server(element: ET.Element) -> dict:
    entry = {"type": element.get("type")}
    for field in SERVER_FIELDS:
        entry[field] = text(element.find(field))
    entry["authentication"] = [text(a) for a in element.findall("authentication")]
    # Any other child (pop3/leaveMessagesOnServer, addThisServer, useGlobalPreferredServer,
    # restriction, url, owaURL, ewsURL, ...), path -> text, in document order.
    other = {}
    for child in element:
        if not isinstance(child.tag, str) or child.tag in (*SERVER_FIELDS, "authentication"):
            continue
        if len(child):
            for grandchild in child:
                other[f"{child.tag}/{grandchild.tag}"] = text(grandchild)
                for name, value in grandchild.attrib.items():
                    other[f"{child.tag}/{grandchild.tag}@{name}"] = value
        else:
            key = child.tag
            while key in other:  # a repeated element (two <restriction>) keeps every value
                key += "+"
            other[key] = text(child)
    if other:
        entry["other"] = other
    order = ("type", "hostname", "port", "socketType", "authentication", "username", "other")
    return {k: entry[k] for k in order if k in entry}


def provider(path: Path, raw: bytes) -> dict:
    if b"<!DOCTYPE" in raw:
        raise ValueError("has a document type declaration; refused")
    root = ET.fromstring(raw)
    if root.tag != "clientConfig":
        raise ValueError(f"root element is <{root.tag}>")
    providers = root.findall("emailProvider")
    if len(providers) != 1:
        raise ValueError(f"{len(providers)} <emailProvider> elements, expected 1")
    ep = providers[0]
    entry = {
        "id": path.name[: -len(".xml")],
        "emailProviderId": ep.get("id"),
        "displayName": text(ep.find("displayName")),
        "displayShortName": text(ep.find("displayShortName")),
        "domains": [text(d) for d in ep.findall("domain")],
        "incoming": [server(s) for s in ep.findall("incomingServer")],
        "outgoing": [server(s) for s in ep.findall("outgoingServer")],
        "documentation": [
            {"url": d.get("url"), "descr": descrs(d)} for d in ep.findall("documentation")
        ],
    }
    # Provider-level <instruction url=...> (a documentation-like link), rare.
    instructions = [
        {"url": i.get("url"), "text": (i.text or "").strip() or None, "descr": descrs(i)}
        for i in ep.findall("instruction")
    ]
    if instructions:
        entry["instruction"] = instructions
    # <enable visiturl=...><instruction>: "switch IMAP/POP on in the web settings first".
    # It sits under <emailProvider> in most files and under <clientConfig> in a few.
    enable = [
        {
            "visiturl": e.get("visiturl"),
            "instruction": [
                {"lang": i.get("lang"), "text": text(i)} for i in e.findall("instruction")
            ],
        }
        for e in ep.findall("enable") + root.findall("enable")
    ]
    if enable:
        entry["enable"] = enable
    oauth = root.find("oAuth2")
    if oauth is not None:
        entry["oAuth2"] = {child.tag: text(child) for child in oauth if isinstance(child.tag, str)}
    entry["blob"] = git_blob_id(raw)
    return entry


def git_blob_id(raw: bytes) -> str:
    """The file's git object id, so each entry can be traced to the exact file in the commit."""
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def counts(providers: list[dict], files: int, unparsed: list) -> dict:
    domains = [d for p in providers for d in p["domains"]]
    kinds = [{s["type"] for s in p["incoming"]} for p in providers]
    auth = [
        {a for s in p["incoming"] + p["outgoing"] for a in s["authentication"]} for p in providers
    ]
    return {
        "files": files,
        "providers_parsed": len(providers),
        "files_not_parsed": len(unparsed),
        "domain_entries": len(domains),
        "distinct_domains": len(set(domains)),
        "offer_imap": sum("imap" in k for k in kinds),
        "imap_and_pop3": sum({"imap", "pop3"} <= k for k in kinds),
        "imap_only": sum("imap" in k and "pop3" not in k for k in kinds),
        "pop3_only": sum("pop3" in k and "imap" not in k for k in kinds),
        "neither_imap_nor_pop3": sum(not ({"imap", "pop3"} & k) for k in kinds),
        "oauth2_authentication": sum("OAuth2" in a for a in auth),
        "oauth2_element": sum("oAuth2" in p for p in providers),
        "oauth2_either": sum(
            "OAuth2" in a or "oAuth2" in p for p, a in zip(providers, auth, strict=False)
        ),
        "incoming_servers": sum(len(p["incoming"]) for p in providers),
        "outgoing_servers": sum(len(p["outgoing"]) for p in providers),
    }


def git(src: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(src), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", type=Path, help="ISPDB checkout/export, or its ispdb/ folder")
    default_out = here.parent / "mailaudit" / "providers" / "ispdb.json"
    ap.add_argument("-o", "--out", type=Path, default=default_out)
    ap.add_argument("--repo", default="thunderbird/autoconfig")
    ap.add_argument(
        "--commit", help="commit id of SRC (default: asked of git when SRC is a checkout)"
    )
    ap.add_argument("--date", help="commit date of SRC (ISO 8601)")
    args = ap.parse_args()

    folder = args.src / "ispdb" if (args.src / "ispdb").is_dir() else args.src
    files = sorted(folder.glob("*.xml"))
    if not files:
        print(f"no *.xml files in {folder}", file=sys.stderr)
        return 2
    providers, unparsed = [], []
    for path in files:
        try:
            providers.append(provider(path, path.read_bytes()))
        except (ET.ParseError, ValueError) as exc:
            unparsed.append({"file": path.name, "error": str(exc)})
    snapshot = {
        "source": {
            "repository": args.repo,
            "folder": "ispdb",
            "commit": args.commit or git(args.src, "rev-parse", "HEAD"),
            "commit_date": args.date or git(args.src, "log", "-1", "--format=%cI"),
            "license": "MPL-2.0 (see LICENSE beside this file)",
        },
        "counts": counts(providers, len(files), unparsed),
        "unparsed": unparsed,
    }
    # One provider per line: small, and a later refresh diffs line by line.
    head = json.dumps(snapshot, ensure_ascii=False, indent=1)[:-2]
    lines = [json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in providers]
    args.out.write_text(head + ',\n "providers": [\n' + ",\n".join(lines) + "\n ]\n}\n", "utf-8")
    json.loads(args.out.read_text("utf-8"))  # the file must read back
    c = snapshot["counts"]
    print(
        f"{args.out}: {c['providers_parsed']} providers, {c['distinct_domains']} domains, "
        f"{len(unparsed)} files not parsed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
