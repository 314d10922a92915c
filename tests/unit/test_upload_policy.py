"""What a member may upload: type from contents, size, quota, clear refusals."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from domain.errors import (
    EmptyFile,
    FileTooLarge,
    QuotaExceeded,
    UnsupportedFileType,
    UploadRejected,
)
from domain.model import MediaType, Usage
from domain.units import GIB, MIB
from domain.upload_policy import UploadPolicy, sniff_media_type
from tests.corpus import corpus_bytes

NEW_MEMBER = Usage(documents=0, bytes=0)
PDF_BYTES = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(20)


def word_document(text: str = "Summary of benefits: primary care $0 copay.") -> bytes:
    document = docx.Document()
    document.add_heading("Evidence of Coverage", level=1)
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_of(**files: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name.replace("__", "/"), content)
    return buffer.getvalue()


# -- type from contents ---------------------------------------------------------------


def test_a_pdf_is_recognised_by_its_header():
    assert sniff_media_type(PDF_BYTES, "policy.pdf", "application/pdf") is MediaType.PDF


def test_a_pdf_header_after_whitespace_or_a_byte_order_mark_is_still_a_pdf():
    assert sniff_media_type(b"\r\n  \n" + PDF_BYTES, "policy.pdf") is MediaType.PDF
    assert sniff_media_type(b"\xef\xbb\xbf" + PDF_BYTES, "policy.pdf") is MediaType.PDF


def test_a_pdf_header_past_the_first_kilobyte_does_not_count():
    with pytest.raises(UnsupportedFileType):
        sniff_media_type(b" " * 2000 + PDF_BYTES, "policy.pdf")


def test_a_real_word_document_is_recognised():
    assert sniff_media_type(word_document(), "benefits.docx") is MediaType.DOCX


def test_a_pdf_or_word_document_with_the_wrong_name_is_read_for_what_it_is():
    assert sniff_media_type(PDF_BYTES, "scan.docx", MediaType.DOCX.value) is MediaType.PDF
    assert sniff_media_type(word_document(), "letter.txt", "text/plain") is MediaType.DOCX


def test_plain_text_named_like_a_word_document_is_refused_with_the_reason():
    data = corpus_bytes("fake_docx_plain_text.docx")
    with pytest.raises(UnsupportedFileType) as refused:
        sniff_media_type(data, "fake_docx_plain_text.docx", MediaType.DOCX.value)
    message = str(refused.value)
    assert "'fake_docx_plain_text.docx' is named like a Word document" in message
    assert "its contents are not one" in message
    assert "save it as PDF" in message


def test_a_file_declared_as_pdf_that_is_not_one_is_refused():
    with pytest.raises(UnsupportedFileType, match="'download' is named like a PDF"):
        sniff_media_type(b"<html><body>Session expired</body></html>", "download",
                         "application/pdf")


def test_a_damaged_word_document_is_refused_as_not_being_one():
    damaged = word_document()[:300]
    with pytest.raises(UnsupportedFileType, match="damaged or incomplete"):
        sniff_media_type(damaged, "benefits.docx")


def test_a_zip_without_a_word_document_inside_is_refused():
    workbook = zip_of(**{"[Content_Types].xml": "<Types/>", "xl__workbook.xml": "<workbook/>"})
    with pytest.raises(UnsupportedFileType, match="an Excel workbook, which we cannot read"):
        sniff_media_type(workbook, "claims.xlsx")
    with pytest.raises(UnsupportedFileType, match="a ZIP archive"):
        sniff_media_type(zip_of(readme="hello"), "bundle.zip")


def test_an_image_is_refused_with_what_we_accept():
    with pytest.raises(UnsupportedFileType) as refused:
        sniff_media_type(PNG_BYTES, "insurance-card.png", "image/png")
    message = str(refused.value)
    assert "'insurance-card.png' is a PNG image" in message
    assert "We accept PDF, Word (.docx), HTML, Markdown and plain text files." in message


def test_binary_data_is_refused_whatever_its_name():
    with pytest.raises(UnsupportedFileType, match="a binary file"):
        sniff_media_type(bytes(range(256)) * 4, "notes.txt", "text/plain")


@pytest.mark.parametrize("data", [
    "Résumé des garanties: franchise 500 €".encode("cp1252"),
    "Deductible: $500\r\nCopay: $20\r\n".encode("utf-16"),  # Notepad's "Unicode"
    b"<html><meta charset=windows-1252><p>Caf\xe9 plan</p></html>",
])
def test_text_that_is_not_utf8_is_refused_saying_to_save_it_as_utf8(data: bytes):
    with pytest.raises(UnsupportedFileType) as refused:
        sniff_media_type(data, "garanties.txt")
    message = str(refused.value)
    assert "is text in an encoding other than UTF-8" in message
    assert "Save it as UTF-8 text" in message
    assert "binary" not in message


def test_what_a_file_that_is_not_utf8_is_comes_from_the_part_that_is_not():
    utf8 = "Cobertura: la franquicia es de 500 dólares. Índice de servicios.\n".encode()
    stray = utf8 * 2000 + "Café".encode("cp1252") + utf8  # one Windows-1252 word, far in
    padded = utf8 * 2000 + b"\x00" * 64  # NUL bytes after 64 KiB of UTF-8

    with pytest.raises(UnsupportedFileType, match="an encoding other than UTF-8"):
        sniff_media_type(stray, "cobertura.txt")
    with pytest.raises(UnsupportedFileType, match="a binary file"):
        sniff_media_type(padded, "cobertura.txt")


def test_an_html_page_is_recognised_by_its_start_whatever_its_name():
    page = b"\n  <!DOCTYPE html>\n<html><body><h1>Benefits</h1></body></html>"
    assert sniff_media_type(page, "benefits.txt") is MediaType.HTML
    assert sniff_media_type(b"<HTML>\n<p>Plan</p></HTML>", "plan") is MediaType.HTML


def test_an_html_fragment_named_html_is_html():
    fragment = b"<h2>Copays</h2>\n<table><tr><td>$35</td></tr></table>"
    assert sniff_media_type(fragment, "copays.html") is MediaType.HTML
    assert sniff_media_type(fragment, "copays", "text/html; charset=utf-8") is MediaType.HTML


def test_text_named_html_that_has_no_markup_is_plain_text():
    assert sniff_media_type(b"Copay: $35", "copays.htm") is MediaType.TEXT


def test_markdown_is_recognised_by_its_name_or_its_headings():
    assert sniff_media_type(b"Copay: $35", "notes.md") is MediaType.MARKDOWN
    assert sniff_media_type(b"Copay: $35", "notes.markdown") is MediaType.MARKDOWN
    assert sniff_media_type(b"Intro\n\n## Copays\n\n$35", "notes.txt") is MediaType.MARKDOWN


def test_other_utf8_text_is_plain_text():
    text = "\ufeffDeductible: $1,500 per year. Coinsurance 20 %.".encode()
    assert sniff_media_type(text, "summary.txt", "text/plain") is MediaType.TEXT


# -- the policy ------------------------------------------------------------------------


def test_the_defaults_are_fifty_megabytes_every_type_and_generous_quotas():
    policy = UploadPolicy()
    assert policy.max_bytes == 50 * MIB
    assert policy.allowed_types == frozenset(MediaType)
    assert (policy.max_documents_per_member, policy.max_bytes_per_member) == (1000, 2 * GIB)


def test_an_acceptable_upload_gets_its_type():
    assert UploadPolicy().check(word_document(), "eoc.docx", None, NEW_MEMBER) is MediaType.DOCX


def test_an_empty_file_is_refused_before_anything_else():
    policy = UploadPolicy(max_documents_per_member=1)
    with pytest.raises(EmptyFile, match=r"^The file is empty: 'policy\.pdf' has 0 bytes"):
        policy.check(b"", "policy.pdf", "application/pdf", Usage(documents=5, bytes=0))


def test_a_file_over_the_size_limit_is_refused_with_both_sizes():
    policy = UploadPolicy(max_bytes=1 * MIB)
    data = PNG_BYTES + bytes(int(1.5 * MIB))  # too large is said before wrong type
    with pytest.raises(FileTooLarge) as refused:
        policy.check(data, "scan.png", None, NEW_MEMBER)
    message = str(refused.value)
    assert "'scan.png' is 1.5 MB" in message
    assert "the largest file we accept is 1 MB" in message


def test_a_file_of_exactly_the_limit_is_accepted():
    policy = UploadPolicy(max_bytes=len(PDF_BYTES))
    assert policy.check(PDF_BYTES, "policy.pdf", None, NEW_MEMBER) is MediaType.PDF


def test_the_size_can_be_checked_while_the_upload_is_still_streaming():
    policy = UploadPolicy()
    policy.check_size(50 * MIB)
    with pytest.raises(FileTooLarge, match="50 MB"):
        policy.check_size(50 * MIB + 1, "huge.pdf")


def test_the_type_is_checked_before_the_quota():
    with pytest.raises(UnsupportedFileType):
        UploadPolicy(max_documents_per_member=1).check(
            PNG_BYTES, "card.png", None, Usage(documents=1, bytes=0)
        )


def test_a_type_left_out_of_the_policy_is_refused_naming_what_is_accepted():
    policy = UploadPolicy(allowed_types=[MediaType.PDF, MediaType.DOCX])
    with pytest.raises(UnsupportedFileType) as refused:
        policy.check(b"# Notes", "notes.md", None, NEW_MEMBER)
    assert "not accepted here. We accept PDF and Word (.docx) files." in str(refused.value)


def test_a_member_at_the_document_limit_cannot_upload_more():
    policy = UploadPolicy(max_documents_per_member=3)
    with pytest.raises(QuotaExceeded, match="You have 3 documents; a member can keep at most 3"):
        policy.check(PDF_BYTES, "policy.pdf", None, Usage(documents=3, bytes=0))
    assert policy.check(PDF_BYTES, "policy.pdf", None, Usage(2, 0)) is MediaType.PDF


def test_an_upload_that_would_pass_the_storage_limit_is_refused():
    policy = UploadPolicy(max_bytes_per_member=10 * MIB)
    nearly_full = Usage(documents=4, bytes=10 * MIB - len(PDF_BYTES) + 1)
    with pytest.raises(QuotaExceeded, match=r"use 10 MB of your 10 MB\."):
        policy.check(PDF_BYTES, "policy.pdf", None, nearly_full)
    exactly_full = Usage(documents=4, bytes=10 * MIB - len(PDF_BYTES))
    assert policy.check(PDF_BYTES, "policy.pdf", None, exactly_full) is MediaType.PDF


def test_the_storage_refusal_says_how_big_the_file_is_and_how_much_is_used():
    policy = UploadPolicy(max_bytes_per_member=GIB)
    with pytest.raises(QuotaExceeded) as refused:
        policy.check(PDF_BYTES + bytes(3 * MIB), "eob.pdf", None, Usage(9, GIB - 2 * MIB))
    assert "This file (3 MB) does not fit in your storage: your documents use 1022 MB of " \
           "your 1 GB." in str(refused.value)


def test_messages_show_the_file_name_without_the_clients_folders():
    with pytest.raises(UnsupportedFileType, match=r"^'card.png' is a PNG image"):
        sniff_media_type(PNG_BYTES, "C:\\Users\\member\\Desktop\\card.png")


def test_every_refusal_is_an_upload_rejection():
    for error in (EmptyFile, FileTooLarge, UnsupportedFileType, QuotaExceeded):
        assert issubclass(error, UploadRejected)


@pytest.mark.parametrize(
    "changes",
    [{"max_bytes": 0}, {"allowed_types": []}, {"max_documents_per_member": 0},
     {"max_bytes_per_member": 0}, {"allowed_types": ["image/png"]}],
)
def test_a_policy_with_impossible_limits_is_refused(changes: dict[str, object]):
    with pytest.raises(ValueError):
        UploadPolicy(**changes)  # type: ignore[arg-type]
