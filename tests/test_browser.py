"""The client document in a real browser: Debian's Chromium, headless, prints it to PDF and
takes a PNG; poppler's pdftotext reads the PDF back. Chromium's own network log shows that the
page asks for nothing (the browser's own update checks start from no page and are told apart).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mailaudit.report import Format, RenderOptions, render
from mailaudit.report.document import document

from .test_report import frozen_sample

CHROMIUM = "/usr/bin/chromium"
# `make test` installs both (scripts/install-test-deps.sh); in CI their absence fails the run.
pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and shutil.which("pdftotext")) and not os.environ.get("CI"),
    reason="needs chromium and poppler-utils (apt-get install chromium poppler-utils)",
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium(page: Path, tmp_path: Path, *output: str) -> list[str]:
    """Open `page` once with the given output flags; the URLs the page itself requested."""
    net_log = tmp_path / f"{page.stem}-net.json"
    command = [
        # A network namespace of its own (only a down `lo`) on top of the suite's.
        *(["unshare", "-n"] if os.geteuid() == 0 else []),
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--log-net-log={net_log}",
        "--no-pdf-header-footer",
        *output,
        page.as_uri(),
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=True)
    return page_requests(net_log)


def page_requests(net_log: Path) -> list[str]:
    """URL requests started on behalf of a page. The browser's own requests (update checks)
    carry the initiator 'not an origin'; a page's carry its origin ('null' for file://)."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    started = [e.get("params", {}) for e in log["events"] if e["type"] == start]
    return [p["url"] for p in started if "url" in p and p.get("initiator") != "not an origin"]


def pdf_text(pdf: Path) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_the_request_detector_sees_a_page_that_asks_for_something(tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text('<p>x</p><img src="http://leak.test/pixel.png">')
    assert "http://leak.test/pixel.png" in chromium(
        page, tmp_path, f"--print-to-pdf={tmp_path / 'leaky.pdf'}"
    )


# The document leaves the paper size to the printer; the test prints on both.
PAPER = {"letter": ("", "(letter)"), "a4": ("@page { size: A4; }", "(A4)")}


@pytest.mark.parametrize("paper", list(PAPER))
@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_printed_document_reads_whole_and_asks_for_nothing(lang, paper, tmp_path):
    report = frozen_sample()
    page = tmp_path / f"report-{lang}.html"
    html = render(report, Format.HTML, RenderOptions(lang=lang))
    page_rule, page_size = PAPER[paper]
    page.write_text(html.replace("</style>", page_rule + "</style>", 1), encoding="utf-8")
    pdf, png = tmp_path / "report.pdf", tmp_path / "report.png"
    requests = chromium(page, tmp_path, f"--print-to-pdf={pdf}")
    requests += chromium(page, tmp_path, f"--screenshot={png}", "--window-size=1000,1400")
    assert requests == []
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000

    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert page_size in info.stdout
    text = pdf_text(pdf)
    doc = document(report, lang)
    words = [
        doc.title,
        doc.status_label,
        doc.verdict[0],  # the verdict sentence, on one line
        doc.meta[0][1],  # the date, in the language's words
        "Thunderbird",
        "Apple Mail",
        "Outlook",
        "pop.gmx.net:995",
        "mail.weber-partner.example:110",
        "imap.web.de:993",
        "anna.weber@gmx.de",
    ]
    flat = " ".join(text.split())  # a sentence may wrap onto a new line, never within a word
    for word in words:
        assert " ".join(word.split()) in flat, word
    for line in text.splitlines():
        for token in ("pop.gmx.net:995", "Thunderbird"):
            assert not line.rstrip().endswith(token[: len(token) // 2]), line  # no half a token
    # The appendix starts on a page of its own.
    pages = text.split("\f")
    start = next(i for i, p in enumerate(pages) if doc.appendix.heading in p)
    assert pages[start].lstrip().startswith(doc.appendix.heading)
