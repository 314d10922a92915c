"""Plain text and markdown: decoded from what the bytes are, kept as written."""

from __future__ import annotations

import codecs

import pytest

from adapters.parsers.text import NOT_TEXT, decode_text, parse_markdown, parse_text, pipe_table
from domain.errors import PermanentError
from domain.model import ParsedPage

POLICY = "Deductible: $500 per year.\nCopay: $20 per visit."


def test_utf8_text_is_one_page_numbered_one_with_its_words_unchanged() -> None:
    assert parse_text(POLICY.encode()) == [ParsedPage(number=1, markdown=POLICY)]


def test_windows_line_endings_and_trailing_spaces_are_tidied_in_plain_text() -> None:
    pages = parse_text(b"Deductible: $500 per year.   \r\nCopay: $20 per visit.\r\n\r\n\r\n")
    assert pages[0].markdown == POLICY


@pytest.mark.parametrize(
    ("bom", "codec"),
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
     (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_a_byte_order_mark_decides_the_encoding_and_is_dropped(bom: bytes, codec: str) -> None:
    text = "Café Señor coverage — “in network”"
    assert parse_text(bom + text.encode(codec))[0].markdown == text


def test_a_windows_1252_file_is_read_when_it_is_not_utf8() -> None:
    assert decode_text("Café coverage — “in network”".encode("cp1252")) == (
        "Café coverage — “in network”"
    )


def test_bytes_undefined_in_windows_1252_fall_back_to_latin1() -> None:
    assert decode_text(b"Plan \x81 name \xe9") == "Plan \x81 name é"


def test_a_declared_charset_is_used_when_the_bytes_are_not_utf8() -> None:
    assert decode_text("Привет".encode("koi8-r"), declared="koi8-r") == "Привет"


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\x02binary\x00data", b"PK\x03\x04" + bytes(range(256)) * 4,
     bytes(range(1, 9)) * 40 + b" some words"],
)
def test_binary_data_is_not_text_and_fails_permanently(data: bytes) -> None:
    with pytest.raises(PermanentError, match="not readable text"):
        parse_text(data)
    assert "upload a PDF" in NOT_TEXT


def test_a_stray_control_character_in_real_text_is_dropped_not_fatal() -> None:
    words = POLICY.encode() * 5
    text = parse_text(words + b"\x07 Bell.\x0cNext page")[0].markdown
    assert text == POLICY * 5 + " Bell.\nNext page"


def test_markdown_is_kept_as_written_including_hard_line_breaks() -> None:
    markdown = "# Benefits\n\n| Service | You pay |\n| --- | --- |\n| ER | $150 |\n\nLine  \nbreak"
    assert parse_markdown(markdown.replace("\n", "\r\n").encode()) == [
        ParsedPage(number=1, markdown=markdown)
    ]


def test_a_file_of_only_whitespace_has_no_pages() -> None:
    assert parse_text(b" \r\n\t\n") == []
    assert parse_markdown(b"\n\n") == []


def test_pipe_tables_pad_short_rows_escape_pipes_and_drop_empty_rows() -> None:
    assert pipe_table([["Service", "You pay"], ["", ""], ["ER | urgent"]]) == (
        "| Service | You pay |\n| --- | --- |\n| ER \\| urgent |  |"
    )
