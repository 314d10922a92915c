"""Numbered headings of a plain-text parse become markdown headings."""

from __future__ import annotations

import pytest

from domain.chunking import ChunkingConfig, chunk_cleaned_document
from domain.model import ParsedDocument, ParsedPage
from domain.outline import heading_level, mark_headings
from tests.unit.test_chunking import MEMBER, POLICY, TOKENIZER


@pytest.mark.parametrize(("line", "level"), [
    ("CHAPTER 2: Important phone numbers and resources", 1),
    ("SECTION 1 SCAN Classic contacts", 2),
    ("Section 5.2 Can we change your monthly plan premium during the year?", 3),
    ("3. Coverage Details", 2),
    ("3.1 In-Network Services", 3),
    ("1 to September 30, 8 a.m. to 8 p.m., Monday through Friday.", None),
    ("12 months of your Welcome to Medicare preventive visit.", None),
    ("SECTION 4 Your monthly costs for SCAN Classic . . . . . . . . 9", None),
    ("Section 2.1 You can end your membership during the Annual Enrollment Period,", None),
    ("CHAPTER 9: " + "What to do if you have a problem " * 4, None),
    ("3. Office visits\t$20 copayment", None),  # a chart's row, cells tab-separated
])
def test_numbered_heading_lines_are_recognised_and_others_are_not(line: str,
                                                                  level: int | None):
    assert heading_level(line) == level


def test_a_parse_with_markdown_headings_is_left_alone():
    parsed = ParsedDocument([ParsedPage(1, "# Benefits\n\n3. Coverage Details\ntext")])
    assert mark_headings(parsed) == parsed


def test_chunks_of_a_plain_booklet_carry_their_section_path():
    parsed = ParsedDocument([
        ParsedPage(1, "CHAPTER 2: Important phone numbers\nSECTION 1 Plan contacts\n"
                      "How to contact our plan's Member Services\nCALL 1-800-559-3500"),
        ParsedPage(2, "SECTION 2 Medicare\nCALL 1-800-MEDICARE"),
    ])
    chunks = chunk_cleaned_document(parsed, TOKENIZER, ChunkingConfig(target_tokens=20,
                                    overlap_tokens=0), document_id=POLICY, user_id=MEMBER)

    by_text = {c.text.splitlines()[-1]: c.heading_path for c in chunks}
    assert by_text["CALL 1-800-559-3500"] == ("CHAPTER 2: Important phone numbers",
                                              "SECTION 1 Plan contacts")
    assert by_text["CALL 1-800-MEDICARE"] == ("CHAPTER 2: Important phone numbers",
                                              "SECTION 2 Medicare")
