"""Finding the headings of a parse that came without any (plain text from a PDF).

A hosted parser (LlamaParse) marks headings in markdown; the local PDF parser
gives plain lines. Insurance booklets number their sections in a standard way
(Medicare's Evidence of Coverage: "CHAPTER 2: ...", "SECTION 1 ...",
"Section 1.1 ..."; many policies: "3. Coverage Details", "3.1 In-Network
Services"), so those lines are marked as markdown headings before chunking.
The chunker then starts chunks at sections and gives every chunk its heading
path, which search results show.

The business rules:

- Only a document with no markdown heading at all is touched.
- A heading line is short (at most ``MAX_HEADING_CHARS``), starts with its
  number (``CHAPTER n``, ``SECTION n``, ``Section n.n``, ``n.`` or ``n.n``)
  followed by a capitalised word, and does not end like a sentence that goes
  on ("," ";" ":" or a lone number).
- A table row (cells separated by tabs: a chart's row as the PDF parser writes it)
  is never a heading, whatever its first cell says ("1. Office visits<TAB>$20").
- Levels: a chapter is 1, a section 2, a subsection (``n.n``) 3; ``n.`` is 2.
- Nothing else changes: the line gets a ``#`` prefix, its words stay.
"""

from __future__ import annotations

import re

from domain.model import ParsedDocument, ParsedPage

MAX_HEADING_CHARS = 100

_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_LEVELS = (
    (re.compile(r"^CHAPTER \d+[:.]?\s+[A-Z]"), 1),
    (re.compile(r"^SECTION \d+\s+[A-Z]"), 2),
    (re.compile(r"^Section \d+\.\d+\s+[A-Z]"), 3),
    (re.compile(r"^\d+\.\d+\.?\s+[A-Z][a-z]"), 3),
    (re.compile(r"^\d+\.\s+[A-Z][a-z]"), 2),
)
_GOES_ON = re.compile(r"([,;:]|\s\d+)$")


def heading_level(line: str) -> int | None:
    """The level of ``line`` as a numbered heading, or None when it is not one."""
    text = line.strip()
    if not text or len(text) > MAX_HEADING_CHARS or _GOES_ON.search(text) or "\t" in text:
        return None
    for pattern, level in _LEVELS:
        if pattern.match(text):
            return level
    return None


def mark_headings(parsed: ParsedDocument) -> ParsedDocument:
    """``parsed`` with its numbered heading lines marked as markdown headings (rules
    above); unchanged when it has markdown headings already."""
    if any(_MARKDOWN_HEADING.search(page.markdown) for page in parsed.pages):
        return parsed
    pages = []
    for page in parsed.pages:
        lines = page.markdown.split("\n")
        for position, line in enumerate(lines):
            level = heading_level(line)
            if level is not None:
                lines[position] = "#" * level + " " + line.strip()
        pages.append(ParsedPage(page.number, "\n".join(lines)))
    return ParsedDocument(pages, parser=parsed.parser)
