"""The client document: what page one says, its charts, its languages, and the saved JSON that
brings it back."""

from __future__ import annotations

import functools
import json
import re
import string
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailaudit.errors import ReportFileError
from mailaudit.model import PRODUCT_NAMES, Client, LocalMailbox, LocalStore, Protocol
from mailaudit.report import EXTENSIONS, Format, RenderOptions, render
from mailaudit.report.at_risk import only_copies
from mailaudit.report.catalog import LANGUAGES, catalog
from mailaudit.report.document import document
from mailaudit.report.json_report import from_dict, load, to_dict

from .conftest import REAL_TB, SAMPLE, audit
from .test_report import HOSTILE_NAME, frozen_sample, hostile_report

CATALOGS = Path(__file__).parent.parent / "mailaudit" / "report" / "catalogs"


def client_part(html: str) -> str:
    """The owner's pages: everything before the technician's appendix."""
    return html.split('<section class="appendix" lang="en">')[0]


def svg_charts(html: str) -> list[str]:
    return re.findall(r'<svg width="\d+".*?</svg>', html, re.S)


def with_local_mailbox(report, name="On My Mac", size=5_000_000):
    mailbox = LocalMailbox(
        client=Client.APPLE_MAIL,
        user="mia",
        profile="/Users/mia/Library/Mail",
        name=name,
        store=LocalStore(path="/Users/mia/Library/Mail/V10/Mailboxes", bytes=size),
        origin="/Users/mia/Library/Mail/V10/Mailboxes",
    )
    return replace(report, local_mailboxes=(mailbox,))


# ---------------------------------------------------------------- page one


def test_the_verdict_names_the_mail_at_risk_and_the_unencrypted_accounts():
    doc = document(frozen_sample(), "en")
    assert doc.status == "red"
    assert doc.verdict == (
        "11 mailboxes, 48.4 MB, exist only on this PC; 1 more exists only here, its size not "
        "measured; 3 accounts connect to their mail server without encryption.",
        "Next, that mail is backed up; then 8 accounts move to IMAP, which keeps the mail on "
        "the server.",
    )
    assert ("Prepared by", "Jan Techniker") in doc.meta
    assert ("Date", "5 January 2026") in doc.meta


def test_a_machine_with_only_imap_is_green():
    report = frozen_sample()
    imap = tuple(
        replace(a, findings=(), recommendation=None)
        for a in report.accounts
        if a.protocol is Protocol.IMAP
    )
    doc = document(replace(report, accounts=imap, local_mailboxes=(), findings=()), "de")
    assert doc.status == "green" and doc.status_label == "In Ordnung"
    assert doc.verdict == (catalog("de").text("verdict.none"),)
    assert doc.people == ()


def test_a_provider_that_wants_oauth_is_named_in_the_verdict_and_the_actions():
    from mailaudit.model import Finding, Severity

    report = frozen_sample()
    imap = next(a for a in report.accounts if a.name == "carla.lenz@gmail.com")
    oauth = replace(
        imap,
        findings=(Finding("MA011", Severity.HIGH, "Provider requires OAuth", "Gmail"),),
        recommendation={"action": "use-oauth", "summary": "Sign in again", "steps": []},
    )
    only = replace(report, accounts=(oauth,), local_mailboxes=(), findings=())
    doc = document(only, "en")
    assert doc.status == "red"
    assert doc.verdict == (
        "1 account must sign in a new way, as its provider requires.",
        "The steps per person follow below.",
    )
    assert doc.people[0].actions == (
        "Sign “carla.lenz@gmail.com” in again through the provider's sign-in page; the saved "
        "password will stop working.",
    )


def test_actions_come_per_person_biggest_only_copy_first_without_tool_instructions():
    doc = document(frozen_sample(), "en")
    assert [p.name for p in doc.people] == [
        "erika",
        "carla",
        "anna",
        "bernd",
        "mia",
        "gerda",
        "heinz",
        "frank",
    ]
    assert doc.people[0].actions[0].startswith("Back up")
    html = render(frozen_sample(), Format.HTML)
    owner = client_part(html)
    for tool_words in ("mailaudit lookup", "--offline", "Run mailaudit", "MA00"):
        assert tool_words not in owner
    assert "Run mailaudit online" in html  # the technician's appendix keeps the full plan


def test_product_names_not_enum_values_reach_the_client():
    html = render(frozen_sample(), Format.HTML)
    owner = client_part(html)
    for product in ("Thunderbird", "Outlook", "Apple Mail"):
        assert product in owner
    appendix = html.split('<section class="appendix" lang="en">')[1]
    assert ">apple-mail<" not in appendix and ">thunderbird<" not in appendix


@pytest.mark.parametrize("client", list(Client))
def test_every_client_has_a_product_name(client):
    assert PRODUCT_NAMES[client].strip()


def test_local_mailboxes_count_as_mail_only_on_this_pc():
    report = with_local_mailbox(frozen_sample())
    doc = document(report, "en")
    assert doc.verdict[0].startswith("10 mailboxes, 53.1 MB, exist only on this PC; ")
    assert doc.charts[0].bars[1].label == "mia: On My Mac"
    mia = next(p for p in doc.people if p.name == "mia")
    assert any("“On My Mac” (Apple Mail)" in action for action in mia.actions)
    assert "Local mailboxes" in render(report, Format.HTML)
    table = render(report, Format.TABLE)
    assert "- mia / On My Mac (Apple Mail): /Users/mia/Library/Mail/V10/Mailboxes (4.8 MB)" in table
    assert table.startswith("Mail only on this PC: 53.1 MB in 10 mailbox(es)")


# ---------------------------------------------------------------- the charts


def test_one_bar_per_mailbox_with_an_only_copy_largest_first():
    report = frozen_sample()
    html = render(report, Format.HTML)
    mail_chart, types_chart = svg_charts(html)
    values = [int(v) for v in re.findall(r'class="bar"[^>]*data-value="(\d+)"', mail_chart)]
    expected = [c.bytes for c in only_copies(report) if c.bytes is not None]
    assert values == sorted(values, reverse=True) == expected
    assert len(values) == 11  # nine measured POP3 stores, On My Mac, Storage Folders
    bar = r'<rect class="bar" x="0" y="\d+" width="(\d+)"'
    widths = [int(w) for w in re.findall(bar, mail_chart)]
    assert widths == sorted(widths, reverse=True) and widths[-1] >= 2  # none disappears
    assert re.findall(r'data-value="(\d+)"', types_chart) == ["10", "7", "1", "1"]  # the feed


def test_hostile_names_are_escaped_inside_the_svg():
    report = hostile_report()
    first = report.accounts[0]
    report = replace(
        report,
        accounts=(replace(first, name='<svg onload="x()">&amp;</text>'), *report.accounts[1:]),
    )
    html = render(report, Format.HTML)
    mail_chart = svg_charts(html)[0]
    assert "<svg onload" not in html and '</text>">' not in mail_chart
    assert "&lt;svg onload=&quot;x()&quot;&gt;&amp;amp;&lt;/text&gt;" in mail_chart


def test_the_hostile_name_stays_escaped_in_the_client_document():
    html = render(hostile_report(), Format.HTML, RenderOptions(lang="de"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert HOSTILE_NAME not in html


# ---------------------------------------------------------------- words and wrapping


def test_every_catalog_has_every_key_with_the_same_placeholders():
    english = json.loads((CATALOGS / "en.json").read_text(encoding="utf-8"))
    assert sorted(p.stem for p in CATALOGS.glob("*.json")) == sorted(LANGUAGES)
    for lang in LANGUAGES:
        other = json.loads((CATALOGS / f"{lang}.json").read_text(encoding="utf-8"))
        assert other.keys() == english.keys(), lang
        for key, text in english.items():
            assert _placeholders(other[key]) == _placeholders(text), (lang, key)


def _placeholders(entry: object) -> set[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {
        name
        for text in texts
        if isinstance(text, str)
        for _, name, _, _ in string.Formatter().parse(text)
        if name
    }


def test_words_break_only_after_slash_backslash_dot_or_at():
    html = render(frozen_sample(), Format.HTML)
    assert "overflow-wrap: anywhere" not in html and "word-break: break-all" not in html
    assert html.count("<wbr>") > 20
    for before in re.findall(r"(.)</span><wbr>", html):
        assert before in "/\\.@", before
    # A host and port with a hyphen is never split at all.
    assert '<span class="nb">mail.weber-partner.example:110</span>' in html


def test_markdown_says_what_the_html_says():
    report = frozen_sample()
    for lang in LANGUAGES:
        doc = document(report, lang)
        markdown = render(report, Format.MARKDOWN, RenderOptions(lang=lang))
        for sentence in (*doc.verdict, doc.status_label, doc.explain[0][1][0]):
            assert sentence in markdown.replace("\\", ""), sentence
        for person in doc.people:
            assert f"### {person.name}" in markdown


# ---------------------------------------------------------------- the saved report


@pytest.mark.parametrize("root", [SAMPLE, REAL_TB / "root"], ids=["sample", "real-thunderbird"])
def test_a_saved_report_loads_back_into_the_same_report(root):
    report = with_local_mailbox(audit(root))
    back = from_dict(json.loads(render(report, Format.JSON)))
    assert back == report
    for fmt in Format:
        assert render(back, fmt) == render(report, fmt)


def test_loading_refuses_what_is_not_a_scan_report_with_the_reason(tmp_path):
    cases = {
        "probe.json": ({"schema_version": 1, "tool": {"name": "mailaudit"}, "probes": []}, "scan"),
        "other.json": ({"hello": 1}, "not a mailaudit report"),
        "broken.json": (None, "not JSON"),
    }
    document_ = to_dict(audit(SAMPLE))
    document_["accounts"][0]["name"] = 42
    cases["typed.json"] = (document_, "report.accounts[0].name should be a str, not int")
    edited = to_dict(audit(SAMPLE))
    edited["accounts"][1]["user"] = "mallory"
    cases["edited.json"] = (edited, "report.accounts[1].id does not match")
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_text("{not json" if content is None else json.dumps(content))
        with pytest.raises(ReportFileError, match=re.escape(reason)):
            load(path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_saved_report_is_refused_with_a_reason_never_a_crash(data, tmp_path_factory):
    """Any one value of a real report replaced by any JSON value: loaded, or a clear refusal."""
    document_ = json.loads(saved_sample())
    parent, key = data.draw(_a_place(document_))
    parent[key] = data.draw(JSON_VALUES)
    path = tmp_path_factory.mktemp("saved") / "report.json"
    path.write_text(json.dumps(document_))
    try:
        load(path)
    except ReportFileError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)


@functools.cache
def saved_sample() -> str:
    return render(frozen_sample(), Format.JSON)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def _a_place(draw, document_):
    """A container in the document and one of its keys or indexes, walked down at random."""
    parent, key = document_, draw(st.sampled_from(sorted(document_)))
    while isinstance(parent[key], (dict, list)) and parent[key] and draw(st.booleans()):
        parent = parent[key]
        keys = sorted(parent) if isinstance(parent, dict) else list(range(len(parent)))
        key = draw(st.sampled_from(keys))
    return parent, key


def test_every_format_has_a_file_extension():
    assert set(EXTENSIONS.values()) == set(Format)
