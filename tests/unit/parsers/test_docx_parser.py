"""Word documents: headings, lists and tables as markdown; fakes and wrecks fail clearly."""

from __future__ import annotations

import io
import re
import zipfile

import docx
import pytest

from adapters.parsers import docx as word
from adapters.parsers.docx import DAMAGED, NOT_A_DOCX, TOO_LARGE, parse_docx
from domain.errors import PermanentError
from tests.corpus import corpus_bytes
from tests.unit.parsers.documents import word_document


def test_a_word_document_becomes_one_page_of_markdown_in_document_order() -> None:
    pages = parse_docx(word_document())
    assert [p.number for p in pages] == [1]
    assert pages[0].markdown == "\n".join([
        "# Sunrise Health Plan",
        "",
        "# Your costs",
        "",
        "You pay these amounts when you get care in the network.",
        "",
        "## Office visits",
        "",
        "- Primary care visits",
        "- Specialist visits",
        "",
        "Before you go:",
        "",
        "1. Call Member Services",
        "2. Bring your card",
        "",
        "| Service | You pay |",
        "| --- | --- |",
        "| Primary care | $20 copay |",
        "| Emergency \\| ER | $150 |",
        "",
        "Questions? Call 1-800-555-0199.",
    ])


def test_a_numbered_list_starts_again_after_ordinary_text() -> None:
    document = docx.Document()
    for text, style in [("Call", "List Number"), ("Wait", "List Number"), ("Then:", None),
                        ("Appeal", "List Number")]:
        document.add_paragraph(text, style=style)
    assert parse_docx(_saved(document))[0].markdown == "1. Call\n2. Wait\n\nThen:\n\n1. Appeal"


def test_word_numbering_gives_bullets_numbers_and_nesting() -> None:
    document = docx.Document()  # its template: numbering 1 is bullets, 5 is numbers
    for text, num_id, level in [("Doctor visits", 1, 0), ("Primary care", 1, 1),
                                ("Hospital", 1, 0), ("Call us", 5, 0), ("Bring your card", 5, 0)]:
        num_pr = document.add_paragraph(text)._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = level
        num_pr.get_or_add_numId().val = num_id
    assert parse_docx(_saved(document))[0].markdown == (
        "- Doctor visits\n  - Primary care\n- Hospital\n\n1. Call us\n2. Bring your card"
    )


def test_merged_table_cells_are_written_once() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "Tier 1 drugs"
    for cell, text in zip(table.rows[1].cells, ["$0", "$5", "$10"], strict=True):
        cell.text = text
    assert parse_docx(_saved(document))[0].markdown == (
        "| Tier 1 drugs |  |  |\n| --- | --- | --- |\n| $0 | $5 | $10 |"
    )


def test_the_plain_text_file_named_docx_in_the_corpus_is_not_a_word_document() -> None:
    with pytest.raises(PermanentError) as failure:
        parse_docx(corpus_bytes("fake_docx_plain_text.docx"))
    assert str(failure.value) == NOT_A_DOCX
    assert str(failure.value).startswith("this file is named like a Word document but is not one")


def test_a_zip_that_is_not_a_word_document_is_not_one() -> None:
    with pytest.raises(PermanentError, match=re.escape(NOT_A_DOCX)):
        parse_docx(_zip({"xl/workbook.xml": b"<workbook/>"}))


def test_a_word_document_with_broken_xml_is_damaged() -> None:
    entries = _entries(word_document())
    entries["word/document.xml"] = entries["word/document.xml"][:200]
    with pytest.raises(PermanentError, match=re.escape(DAMAGED)):
        parse_docx(_zip(entries))


def test_a_word_document_that_unpacks_past_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(word, "MAX_UNPACKED_BYTES", 10_000)
    with pytest.raises(PermanentError, match=re.escape(TOO_LARGE)):
        parse_docx(word_document())


def test_an_empty_word_document_has_no_pages() -> None:
    assert parse_docx(_saved(docx.Document())) == []


def _saved(document: object) -> bytes:
    out = io.BytesIO()
    document.save(out)  # type: ignore[attr-defined]
    return out.getvalue()


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()
