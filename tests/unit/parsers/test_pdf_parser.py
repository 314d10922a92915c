"""PDFs: text page by page with page numbers kept; clear reasons when we cannot read one.

Every behaviour holds for both engines: pdfium (the fast default) and pypdf.
"""

from __future__ import annotations

import logging
import re

import pytest

from adapters.parsers.pdf import (
    DAMAGED,
    DAMAGED_NO_TEXT,
    LOCKED,
    NO_TEXT,
    NOT_A_PDF,
    PdfEngine,
    parse_pdf,
)
from domain.errors import PermanentError
from domain.model import ParsedPage
from tests.corpus import corpus_bytes
from tests.unit.parsers.documents import locked_pdf, text_pdf

ENGINES = pytest.mark.parametrize("engine", list(PdfEngine))
CLAIM = "Claim 2025-0117\nAmount billed: $240.00 (office visit)"


@ENGINES
def test_each_page_with_text_keeps_its_page_number(engine: PdfEngine) -> None:
    pdf = text_pdf(CLAIM, None, "Page three: appeal rights")
    assert parse_pdf(pdf, engine) == [
        ParsedPage(number=1, markdown=CLAIM),
        ParsedPage(number=3, markdown="Page three: appeal rights"),
    ]


@ENGINES
def test_the_one_page_sample_policy_reads_in_full(engine: PdfEngine) -> None:
    pages = parse_pdf(corpus_bytes("simulated_insurance_document.pdf"), engine)
    assert [p.number for p in pages] == [1]
    text = pages[0].markdown
    assert text.startswith("1. Introduction\nThis document outlines the terms")
    assert "3.2 Out-of-Network Services" in text
    assert text.endswith("contact Accessa Support at 1-800-555-1234 or email support@accessa.org.")


@ENGINES
def test_the_232_page_evidence_of_coverage_reads_page_by_page(engine: PdfEngine) -> None:
    pages = parse_pdf(corpus_bytes("scan_classic_hmo.pdf"), engine)
    numbers = [p.number for p in pages]
    assert numbers == sorted(numbers) and numbers[0] == 1 and numbers[-1] == 232
    assert len(pages) == 230  # two pages of the file carry no text
    assert sum(len(p.markdown) for p in pages) > 450_000
    moop = [p.number for p in pages if "maximum out-of-pocket (MOOP)" in p.markdown]
    assert moop == [57]
    page_57 = next(p for p in pages if p.number == 57)
    assert "For calendar year 2025 this amount is $1,500." in page_57.markdown


def test_pdfium_line_end_hyphens_come_back_as_hyphens() -> None:
    pages = parse_pdf(corpus_bytes("scan_classic_hmo.pdf"), PdfEngine.PDFIUM)
    text = "\n".join(p.markdown for p in pages)
    assert "\ufffe" not in text and "\r" not in text
    assert "out-of-pocket costs might be" in text  # hyphenated across a line in the file
    assert not re.search(r"[ \t]$", text, re.MULTILINE)


@ENGINES
def test_the_damaged_sample_fails_as_damaged_with_no_readable_text(engine: PdfEngine) -> None:
    with pytest.raises(PermanentError) as failure:
        parse_pdf(corpus_bytes("broken_startxref.pdf"), engine)
    assert str(failure.value) == DAMAGED_NO_TEXT
    assert "damaged" in DAMAGED_NO_TEXT and "upload" in DAMAGED_NO_TEXT


@ENGINES
def test_a_truncated_pdf_is_damaged(engine: PdfEngine) -> None:
    with pytest.raises(PermanentError, match=re.escape(DAMAGED)):
        parse_pdf(text_pdf(CLAIM)[:-70], engine)


@ENGINES
def test_a_pdf_of_pages_without_text_looks_scanned(engine: PdfEngine) -> None:
    with pytest.raises(PermanentError) as failure:
        parse_pdf(text_pdf(None, None), engine)
    assert str(failure.value) == NO_TEXT
    assert "scanned image" in NO_TEXT


@ENGINES
def test_a_password_protected_pdf_asks_for_an_unlocked_copy(engine: PdfEngine) -> None:
    with pytest.raises(PermanentError) as failure:
        parse_pdf(locked_pdf(text_pdf(CLAIM), user_password="s3cret"), engine)
    assert str(failure.value) == LOCKED == "this PDF is password-protected; upload an unlocked copy"


@ENGINES
def test_a_pdf_encrypted_with_an_empty_password_still_reads(engine: PdfEngine) -> None:
    pages = parse_pdf(locked_pdf(text_pdf(CLAIM), user_password=""), engine)
    assert pages == [ParsedPage(number=1, markdown=CLAIM)]


@ENGINES
@pytest.mark.parametrize("data", [b"Claim 2025-0117, plain text", b"PK\x03\x04zip", b""])
def test_bytes_that_are_not_a_pdf_fail_as_not_a_pdf(engine: PdfEngine, data: bytes) -> None:
    with pytest.raises(PermanentError, match=re.escape(NOT_A_PDF)):
        parse_pdf(data, engine)


@ENGINES
def test_a_little_junk_before_the_pdf_header_is_tolerated(engine: PdfEngine) -> None:
    pages = parse_pdf(b"\r\n%junk from a mail gateway\r\n" + text_pdf(CLAIM), engine)
    assert pages == [ParsedPage(number=1, markdown=CLAIM)]


class _ApplicationLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_pypdf_repair_warnings_stay_out_of_the_application_log() -> None:
    application_log = _ApplicationLog()
    root = logging.getLogger()
    root.addHandler(application_log)
    try:
        with pytest.raises(PermanentError):
            parse_pdf(corpus_bytes("broken_startxref.pdf"), PdfEngine.PYPDF)
    finally:
        root.removeHandler(application_log)
    assert not [r for r in application_log.records if r.name.startswith("pypdf")]
