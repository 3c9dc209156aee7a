"""The pure parts of migrate: modified UTF-7, IMAP response syntax, --to URLs, the folder map."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.errors import UsageError
from mailaudit.migrate import utf7
from mailaudit.migrate.folders import ServerFolders, map_folders
from mailaudit.migrate.identity import has_8bit_header, header_block, message_id
from mailaudit.migrate.imap_client import _uid_set, imap_date
from mailaudit.migrate.imap_syntax import ImapSyntaxError, pairs, parse
from mailaudit.migrate.request import parse_destination
from mailaudit.migrate.run import _appenduid
from mailaudit.migrate.stores.base import Role, SourceFolder


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("Grüße", "Gr&APwA3w-e"),  # Dovecot's own answer, research/migration.md §2.6
        ("A&B", "A&-B"),
        ("日本語", "&ZeVnLIqe-"),  # RFC 3501 §5.1.3's example
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("Sent", "Sent"),
    ],
)
def test_modified_utf7_known_answers(name: str, wire: str) -> None:
    assert utf7.encode(name) == wire
    assert utf7.decode(wire) == name


@given(st.text())
def test_modified_utf7_round_trip_and_ascii_only(name: str) -> None:
    wire = utf7.encode(name)
    assert wire.isascii()
    assert utf7.decode(wire) == name


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_decoding_untrusted_names_never_fails(wire: str) -> None:
    utf7.decode(wire)


def test_fetch_response_with_literals() -> None:
    items = parse(
        "* 3 FETCH (UID 7 RFC822.SIZE 120 BODY[HEADER.FIELDS (MESSAGE-ID)] \x00 FLAGS (\\Seen))",
        (b"Message-ID: <a@b>\r\n\r\n",),
    )
    assert items[:3] == ["*", "3", "FETCH"]
    found = pairs(items[3])  # type: ignore[arg-type]
    assert found["UID"] == "7" and found["RFC822.SIZE"] == "120"
    assert found["BODY[HEADER.FIELDS (MESSAGE-ID)]"] == b"Message-ID: <a@b>\r\n\r\n"
    assert found["FLAGS"] == ["\\Seen"]


def test_list_and_namespace_responses() -> None:
    assert parse('* LIST (\\HasNoChildren \\Sent) "/" "Gesendet"', ()) == [
        "*", "LIST", ["\\HasNoChildren", "\\Sent"], "/", "Gesendet",
    ]  # fmt: skip
    assert parse('* NAMESPACE (("INBOX." ".")) NIL NIL', ())[2] == [["INBOX.", "."]]
    assert parse('* LIST () NIL "a \\"q\\" \\\\ b"', ())[4] == 'a "q" \\ b'


@pytest.mark.parametrize("text", ["(", ")", '"open', "\x00", "(((" * 40])
def test_malformed_responses_raise_a_syntax_error(text: str) -> None:
    with pytest.raises(ImapSyntaxError):
        parse(text, ())


@given(st.text(max_size=300), st.lists(st.binary(max_size=20), max_size=3))
def test_the_parser_never_fails_otherwise(text: str, literals: list[bytes]) -> None:
    with contextlib.suppress(ImapSyntaxError):
        parse(text, tuple(literals))


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "tls"),
    [
        ("imaps://pat@mail.example.test", "mail.example.test", 993, "pat", True),
        ("imap://pat@mail.example.test", "mail.example.test", 143, "pat", False),
        ("imaps://pat%40example.test@imap.example.test:1993", "imap.example.test", 1993,
         "pat@example.test", True),
        ("IMAPS://pat@[::1]:993/", "::1", 993, "pat", True),
    ],
)  # fmt: skip
def test_destination_urls(url: str, host: str, port: int, user: str, tls: bool) -> None:
    found = parse_destination(url)
    assert (found.host, found.port, found.user, found.implicit_tls) == (host, port, user, tls)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("pop3://pat@host", "imaps://"),
        ("https://pat@host", "imaps://"),
        ("imaps://host", "user name is missing"),
        ("imaps://pat:secret@host", "no password in the URL"),
        ("imaps://pat@host:99999", "port"),
        ("imaps://pat@host/INBOX", "nothing may follow"),
    ],
)
def test_bad_destination_urls_say_why(url: str, says: str) -> None:
    with pytest.raises(UsageError, match=says) as error:
        parse_destination(url)
    assert "secret" not in str(error.value)


def folders(*paths: tuple[tuple[str, ...], Role | None]) -> list[SourceFolder]:
    return [SourceFolder(path, role) for path, role in paths]


GMAIL_LIKE = ServerFolders(
    prefix="",
    delimiter="/",
    utf8=False,
    existing=frozenset({"INBOX", "[Gmail]/Sent Mail", "[Gmail]/Drafts", "[Gmail]/Bin"}),
    special_use=(("\\SENT", "[Gmail]/Sent Mail"), ("\\DRAFTS", "[Gmail]/Drafts"),
                 ("\\TRASH", "[Gmail]/Bin")),
)  # fmt: skip
COURIER_LIKE = ServerFolders("INBOX.", ".", False, frozenset({"INBOX"}))


def test_roles_map_onto_special_use_whatever_the_names() -> None:
    source = folders(
        (("Inbox",), Role.INBOX),
        (("Inbox", "Lists"), None),
        (("Sent Items",), Role.SENT),
        (("Sent Items", "2019"), None),
        (("Drafts",), Role.DRAFTS),
        (("Deleted Items",), Role.TRASH),
        (("Deleted Items", "old"), None),
        (("Junk E-mail",), Role.JUNK),
        (("Grüße",), None),
    )
    mapped = {m.source.path: m for m in map_folders(source, GMAIL_LIKE)}
    assert mapped[("Inbox",)].wire == "INBOX"
    assert mapped[("Inbox", "Lists")].wire == "INBOX/Lists"
    assert mapped[("Sent Items",)].wire == "[Gmail]/Sent Mail" and mapped[("Sent Items",)].exists
    assert mapped[("Sent Items", "2019")].wire == "[Gmail]/Sent Mail/2019"
    assert mapped[("Drafts",)].wire == "[Gmail]/Drafts"
    assert mapped[("Deleted Items",)].skip == "trash: only with --include-trash"
    assert mapped[("Deleted Items", "old")].skip == "trash: only with --include-trash"
    assert mapped[("Junk E-mail",)].skip == "junk: only with --include-junk"
    assert mapped[("Grüße",)].wire == "Gr&APwA3w-e" and mapped[("Grüße",)].target == "Grüße"
    included = {m.source.path: m for m in map_folders(source, GMAIL_LIKE, True, True)}
    assert included[("Deleted Items",)].wire == "[Gmail]/Bin"
    assert included[("Junk E-mail",)].wire == "Junk" and not included[("Junk E-mail",)].exists


def test_namespace_prefix_and_delimiter() -> None:
    source = folders(
        (("Inbox",), Role.INBOX), (("Archive", "2019"), None), (("Sent",), Role.SENT),
        (("a.b",), None),
    )  # fmt: skip
    mapped = {m.source.path: m.wire for m in map_folders(source, COURIER_LIKE)}
    assert mapped == {
        ("Inbox",): "INBOX",
        ("Archive", "2019"): "INBOX.Archive.2019",
        ("Sent",): "INBOX.Sent",
        ("a.b",): "INBOX.a_b",  # the delimiter inside a name would make a level
    }


def test_utf8_accept_sends_names_as_they_are() -> None:
    server = ServerFolders("", "/", True, frozenset({"INBOX"}))
    (mapped,) = map_folders(folders((("Grüße",), None)), server)
    assert mapped.wire == "Grüße"


def test_folder_globs_choose_folders_and_their_children() -> None:
    source = folders(
        (("Inbox",), Role.INBOX), (("Archive",), None), (("Archive", "2019"), None),
        (("Other",), None),
    )  # fmt: skip
    chosen = [m.source.path for m in map_folders(source, COURIER_LIKE, patterns=["Archive"])
              if m.skip is None]  # fmt: skip
    assert chosen == [("Archive",), ("Archive", "2019")]
    chosen = [m.source.path for m in map_folders(source, COURIER_LIKE, patterns=["*/2019", "In*"])
              if m.skip is None]  # fmt: skip
    assert chosen == [("Inbox",), ("Archive", "2019")]


def test_internaldate_is_english_with_a_numeric_zone() -> None:
    when = datetime(2020, 3, 2, 9, 5, 7, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    assert imap_date(when) == '"02-Mar-2020 09:05:07 -0530"'


def test_uid_sets_and_appenduid() -> None:
    assert _uid_set([5, 1, 2, 3, 9, 12, 13]) == "1:3,5,9,12:13"
    assert _appenduid("38505 3955", 1) == (38505, [3955])
    assert _appenduid("38505 3955:3957,3960", 4) == (38505, [3955, 3956, 3957, 3960])
    assert _appenduid("38505 3955:3957", 2) == (38505, [])  # does not add up: not trusted
    assert _appenduid("junk", 1) == (None, [])


def test_message_identity() -> None:
    data = (
        b"Subject: a\r\nMessage-ID:\r\n  <x.1@example.test>\r\nX: \xe4\r\n\r\nbody Message-ID: <no>"
    )
    assert message_id(header_block(data)) == "<x.1@example.test>"
    assert has_8bit_header(data)
    assert message_id(b"Subject: none\r\n") is None
    assert not has_8bit_header(b"Subject: a\r\n\r\n\xe4")


def test_usage_errors_are_one_clear_line(tmp_path) -> None:
    from typer.testing import CliRunner

    from mailaudit.cli import app

    maildir = tmp_path / "Maildir"
    empty = tmp_path / "empty"
    empty.mkdir()
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    cases = [
        (["--from", str(tmp_path / "missing")], "no such file or folder"),
        (["--from", str(empty)], "not a mail store this tool can read"),
        (["--from", str(maildir), "--from-format", "floppy"], "one of auto, mbox"),
        (["--from", str(maildir), "--token-env", "NOPE_NOT_SET"], "the variable is not set"),
        (["--from", str(maildir), "--password-env", "NOPE_NOT_SET"], "the variable is not set"),
        ([], "give either --account ID or --from PATH"),
    ]
    for extra, says in cases:
        result = CliRunner().invoke(app, ["migrate", "--to", "imaps://u@h", *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, extra


def test_a_ca_file_that_holds_no_certificate_is_a_usage_error(tmp_path) -> None:
    from typer.testing import CliRunner

    from mailaudit.cli import app

    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    result = CliRunner().invoke(
        app,
        ["migrate", "--from", str(maildir), "--to", "imaps://u@h", "--password-env", "P",
         "--ca-file", str(junk)],
        env={"P": "x"},
    )  # fmt: skip
    assert result.exit_code == 2 and "holds no PEM certificate" in result.stderr
