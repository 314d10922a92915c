"""Cutting a parsed document into chunks sized for embedding.

The business rules:

- A document's text is its pages' markdown joined with a blank line
  (:func:`full_text`); every chunk is a verbatim slice of it, so
  ``full_text(parsed)[chunk.char_start:chunk.char_end] == chunk.text``.
- The text is read as markdown blocks: headings, paragraphs (tables and lists
  are paragraphs: consecutive non-blank lines) and fenced code. Consecutive
  blocks are packed into a chunk of about ``target_tokens``; a block that fits in
  a chunk is never cut. A block larger than that is cut between lines (a line
  that fits in a chunk is never cut; a table row may be larger, see Tables
  below), a line larger than that between sentences, and a sentence larger than
  that between words, as the last resort.
- A heading starts a new chunk once the current one is at least half full, and
  a chunk never ends on a heading that belongs to the text after it.
- Each chunk starts with about ``overlap_tokens`` of the previous chunk's end, so
  a sentence cut at a boundary is still whole in one of the two. The overlap
  shrinks when the chunk's first block needs the room.
- A chunk never exceeds ``max_tokens`` (the embedder's limit per input; checked
  with the real count), is never blank, and ``token_count`` is its exact count.
- ``page`` is the page on which the chunk's text starts; ``heading_path`` the
  headings (outermost first) of the section in which its first line of content
  (after the overlap and any leading headings) stands.
- Same input, same chunks: ``chunk_id = uuid5(document_id, str(ordinal))``, so a
  re-run writes exactly the same rows.

Before chunking, :func:`chunk_cleaned_document` (what the worker runs) removes the
page furniture (running headers and footers, repeated table headers: see
``domain.page_furniture``); its chunks' offsets are then into the cleaned
document's full text. Version 2 of the chunker added that: version 1 chunked
the parse as it came, page furniture and all.

Tables: a large table is cut between rows, never inside one. A table row is a
line: a markdown pipe-table line (``| ... |``), or cells separated by tabs (how
the PDF parser writes a benefits chart's rows: ``adapters.parsers.pdf_tables``).
So each row stays with its row heading (the service in a benefits chart stays
with its copayment). A row larger than a chunk but at most ``TABLE_ROW_FACTOR``
times ``target_tokens`` (and within ``max_tokens``) is a chunk of its own; only a
row larger than that is cut, between sentences. The table's header row is not
copied into the chunks that continue a table: chunks stay verbatim slices of the
text, and the overlap carries the rows just before, whole rows only (never the
last words of a row without its service).

Version 3 of the chunker is the line and table-row rules (version 2 cut a large
block between sentences, inside a line or a row too). Version 4 finds where to cut a
sentence over the limit in a window grown from the limit (version 3 searched the whole
rest of the sentence): the same cuts wherever a longer prefix never counts fewer tokens,
and a cut a few characters apart where it does.

Speed: each block (and each line or sentence of a large block) is counted once, plus one
exact count per chunk, so a 500-page document chunks in a fraction of a second; a line
with no sentence end (an image embedded in base64: 400 KiB) is cut in time in proportion
to its length.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from uuid import UUID, uuid5

import attrs

from domain.model import Chunk, ParsedDocument
from domain.outline import mark_headings
from domain.page_furniture import (
    DEFAULT_RULES,
    FurnitureRules,
    is_table_row,
    remove_page_furniture,
)
from domain.ports import Tokenizer

CHUNKER_NAME = "markdown-tokens"
CHUNKER_VERSION = "4"
CHUNKER = f"{CHUNKER_NAME}/{CHUNKER_VERSION}"

PAGE_SEPARATOR = "\n\n"

# A table row up to this many times target_tokens (and within max_tokens) is one
# piece, so a chart row a little larger than a chunk gets a chunk of its own.
TABLE_ROW_FACTOR = 2

# Below this, a chunk carries too little meaning to embed (and a single character
# can take up to 4 tokens, so the cutter needs room to make progress).
MIN_TARGET_TOKENS = 16


def _check_sizes(config: ChunkingConfig, _attribute: attrs.Attribute[int], _value: int) -> None:
    if not 0 <= config.overlap_tokens < config.target_tokens <= config.max_tokens:
        raise ValueError(
            "chunk sizes must satisfy 0 <= overlap_tokens < target_tokens <= max_tokens, "
            f"got {config.overlap_tokens}, {config.target_tokens}, {config.max_tokens}"
        )


@attrs.frozen
class ChunkingConfig:
    """Chunk sizes in tokens; ``max_tokens`` is the embedder's per-input limit."""

    target_tokens: int = attrs.field(
        default=512, validator=attrs.validators.ge(MIN_TARGET_TOKENS)
    )
    overlap_tokens: int = attrs.field(default=64)
    max_tokens: int = attrs.field(default=8191, validator=_check_sizes)


@attrs.frozen
class _Piece:
    """A span of the full text that is never cut further when packing."""

    start: int
    end: int
    tokens: int
    headings: tuple[str, ...]
    is_heading: bool = False


def full_text(parsed: ParsedDocument) -> str:
    """The document's text: its pages' markdown joined with a blank line."""
    return PAGE_SEPARATOR.join(page.markdown for page in parsed.pages)


def chunk_document(
    parsed: ParsedDocument,
    tokenizer: Tokenizer,
    config: ChunkingConfig,
    *,
    document_id: UUID,
    user_id: str,
) -> list[Chunk]:
    """Cut ``parsed`` into chunks (see the module docstring for the rules).

    A document without any non-blank text gives no chunks; deciding that this is
    an error is the caller's business.
    """
    text = full_text(parsed)
    pieces = list(_pieces(parsed, text, tokenizer, config))
    page_starts, page_numbers = _page_index(parsed)
    chunks: list[Chunk] = []
    for start, end, tokens, headings in _pack(pieces, text, tokenizer, config):
        ordinal = len(chunks)
        chunks.append(
            Chunk(
                chunk_id=uuid5(document_id, str(ordinal)),
                document_id=document_id,
                user_id=user_id,
                ordinal=ordinal,
                text=text[start:end],
                token_count=tokens,
                heading_path=headings,
                page=page_numbers[bisect.bisect_right(page_starts, start) - 1],
                char_start=start,
                char_end=end,
                chunker=CHUNKER,
            )
        )
    return chunks


def chunk_cleaned_document(
    parsed: ParsedDocument,
    tokenizer: Tokenizer,
    config: ChunkingConfig,
    *,
    document_id: UUID,
    user_id: str,
    furniture: FurnitureRules = DEFAULT_RULES,
) -> list[Chunk]:
    """The worker's chunking: page furniture removed first, numbered headings of a
    parse without headings marked (``domain.outline``), then :func:`chunk_document`
    on the result (offsets into that cleaned text)."""
    cleaned = mark_headings(remove_page_furniture(parsed, furniture))
    return chunk_document(cleaned, tokenizer, config, document_id=document_id,
                          user_id=user_id)


def _page_index(parsed: ParsedDocument) -> tuple[list[int], list[int]]:
    starts, numbers, offset = [], [], 0
    for page in parsed.pages:
        starts.append(offset)
        numbers.append(page.number)
        offset += len(page.markdown) + len(PAGE_SEPARATOR)
    return starts, numbers


# -- packing -------------------------------------------------------------------


def _pack(
    pieces: list[_Piece], text: str, tokenizer: Tokenizer, config: ChunkingConfig
) -> Iterator[tuple[int, int, int, tuple[str, ...]]]:
    """Greedy packing of pieces into (start, end, exact tokens, headings) spans."""
    target, half = config.target_tokens, config.target_tokens // 2
    i, previous = 0, None
    while i < len(pieces):
        first = pieces[i]
        join = _join(text, previous[-1], first) if previous else 0
        room = min(config.overlap_tokens, target - first.tokens - join)
        overlap = _overlap(previous, text, tokenizer, room) if previous else None
        start, estimate = (first.start, first.tokens) if overlap is None else (
            overlap[0], overlap[1] + join + first.tokens
        )
        j = i + 1
        while j < len(pieces):
            piece = pieces[j]
            if piece.is_heading and estimate >= half:
                break
            cost = _join(text, pieces[j - 1], piece) + piece.tokens
            if estimate + cost > target:
                break
            estimate += cost
            j += 1
        if j < len(pieces):  # leave a trailing heading to the text it introduces
            while j - 1 > i and pieces[j - 1].is_heading:
                j -= 1
        tokens = tokenizer.count(text[start : pieces[j - 1].end])
        while tokens > config.max_tokens:
            # Only when target_tokens is close to max_tokens and the estimate was low.
            if j - 1 > i:
                j -= 1
            elif start != first.start:
                start = first.start
            else:  # cannot happen: every piece is counted and within target
                raise RuntimeError(f"a piece of {tokens} tokens exceeds the chunk limit")
            tokens = tokenizer.count(text[start : pieces[j - 1].end])
        content = next((p for p in pieces[i:j] if not p.is_heading), pieces[j - 1])
        yield start, pieces[j - 1].end, tokens, content.headings
        previous = pieces[i:j]
        i = j


def _overlap(
    previous: list[_Piece], text: str, tokenizer: Tokenizer, room: int
) -> tuple[int, int] | None:
    """Where the overlap taken from the end of ``previous`` starts, and its tokens.

    Whole trailing pieces first; then the trailing sentences of the next one; then
    its trailing words (never part of a table row). None when nothing fits in
    ``room`` tokens.
    """
    used, start = 0, None
    for k in range(len(previous) - 1, -1, -1):
        piece = previous[k]
        join = _join(text, piece, previous[k + 1]) if start is not None else 0
        if used + join + piece.tokens > room:
            tail = _tail(text, piece.start, piece.end, tokenizer, room - used - join)
            if tail is not None:
                return tail[0], used + join + tail[1]
            break
        used, start = used + join + piece.tokens, piece.start
    return None if start is None else (start, used)


def _join(text: str, left: _Piece, right: _Piece) -> int:
    """Tokens estimated for the whitespace between two pieces: a line break is a
    token of its own, while a space merges into the next word's token. The
    estimate only steers packing; the hard limit is checked on the real count."""
    return 1 if "\n" in text[left.end : right.start] else 0


def _next_start(text: str, position: int) -> int:
    """The first non-whitespace position at or after ``position``."""
    match = _NON_SPACE.search(text, position)
    return match.start() if match else position


def _tail(
    text: str, start: int, end: int, tokenizer: Tokenizer, room: int
) -> tuple[int, int] | None:
    """The longest run of whole sentences (or else words) ending at ``end`` that
    fits in ``room`` tokens: (its start, its tokens), or None."""
    if room <= 0:
        return None
    best = None
    for s_start, _ in reversed(list(_sentences(text, start, end))):
        if _inside_row(text, s_start):  # a row's last words without its service
            continue
        tokens = tokenizer.count(text[s_start:end])
        if tokens > room:
            break
        best = (s_start, tokens)
    if best is not None:
        return best
    if _inside_row(text, end - 1):
        return None
    # No whole sentence fits: the trailing words that do.
    lo, hi = max(start, end - room * 16), end  # the suffix from hi fits (it is empty)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if tokenizer.count(text[mid:end]) <= room:
            hi = mid
        else:
            lo = mid
    cut = hi
    if start < cut < end and not text[cut - 1].isspace():  # inside a word: skip it
        word = _WORD_START.search(text, cut, end)
        cut = word.start() if word else end
    cut = _next_start(text, cut)
    if cut >= end:
        return None
    return cut, tokenizer.count(text[cut:end])


def _inside_row(text: str, position: int) -> bool:
    """Whether ``position`` is inside a table row, past the row's first character."""
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    first = line_start + len(line) - len(line.lstrip())
    return is_table_row(line) and position > first


# -- blocks and pieces -----------------------------------------------------------

_NON_SPACE = re.compile(r"\S")
_WORD_START = re.compile(r"(?<=\s)\S")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# A sentence ends after . ! ? (and any closing quotes or brackets) before
# whitespace; a line break always ends one (table rows, list items, pdf lines).
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*([ \t]+)|(\n)")


def _pieces(
    parsed: ParsedDocument, text: str, tokenizer: Tokenizer, config: ChunkingConfig
) -> Iterator[_Piece]:
    target = config.target_tokens
    row_limit = min(config.max_tokens, TABLE_ROW_FACTOR * target)
    headings: list[tuple[int, str]] = []
    offset = 0
    for page in parsed.pages:
        for start, end, heading in _blocks(page.markdown, offset):
            if heading is not None:
                level, title = heading
                headings = [h for h in headings if h[0] < level] + [(level, title)]
            path = tuple(title for _, title in headings)
            tokens = tokenizer.count(text[start:end])
            if tokens <= target:
                yield _Piece(start, end, tokens, path, heading is not None)
                continue
            for l_start, l_end, is_row in _lines(text, start, end):
                l_tokens = tokenizer.count(text[l_start:l_end])
                if l_tokens <= (row_limit if is_row else target):
                    yield _Piece(l_start, l_end, l_tokens, path)
                    continue
                yield from _sentence_pieces(text, l_start, l_end, tokenizer, target, path)
        offset += len(page.markdown) + len(PAGE_SEPARATOR)


def _sentence_pieces(text: str, start: int, end: int, tokenizer: Tokenizer, target: int,
                     path: tuple[str, ...]) -> Iterator[_Piece]:
    """Pieces of a line too large for a chunk: its sentences, and of a sentence too
    large, its windows of words."""
    for s_start, s_end in _sentences(text, start, end):
        s_tokens = tokenizer.count(text[s_start:s_end])
        if s_tokens <= target:
            yield _Piece(s_start, s_end, s_tokens, path)
            continue
        for w_start, w_end, w_tokens in _windows(text, s_start, s_end, tokenizer, target):
            yield _Piece(w_start, w_end, w_tokens, path)


def _lines(text: str, start: int, end: int) -> Iterator[tuple[int, int, bool]]:
    """The trimmed, non-blank lines of ``text[start:end]``, each flagged when it is a
    table row (:func:`domain.page_furniture.is_table_row`)."""
    position = start
    while position < end:
        line_end = text.find("\n", position, end)
        line_end = end if line_end < 0 else line_end
        for l_start, l_end in _trimmed(text, position, line_end):
            yield l_start, l_end, is_table_row(text[l_start:l_end])
        position = line_end + 1


def _blocks(markdown: str, offset: int) -> Iterator[tuple[int, int, tuple[int, str] | None]]:
    """Markdown blocks of one page as (start, end, (level, title) if a heading),
    offsets into the full text, trimmed of surrounding whitespace."""
    open_start = -1  # start of the paragraph or fenced code being read; -1: none
    open_end = 0
    fence: str | None = None
    position = 0
    for line in markdown.splitlines(keepends=True):
        line_start, position = position, position + len(line)
        content = line.strip()
        first = line_start + len(line) - len(line.lstrip())
        last = line_start + len(line.rstrip())
        if fence is not None:  # inside fenced code everything, blank lines too, is code
            open_end = last if content else open_end
            if content.startswith(fence):
                fence = None
                yield offset + open_start, offset + open_end, None
                open_start = -1
            continue
        heading = _heading(line)
        fence_match = _FENCE.match(line)
        if open_start >= 0 and (not content or heading or fence_match):
            yield offset + open_start, offset + open_end, None
            open_start = -1
        if heading:
            yield offset + first, offset + last, heading
        elif content:
            open_start = first if open_start < 0 else open_start
            open_end = last
            fence = fence_match.group(1) if fence_match else None
    if open_start >= 0:
        yield offset + open_start, offset + open_end, None


def _heading(line: str) -> tuple[int, str] | None:
    """(level, title) of an ATX heading line such as ``## **Medical benefits**``."""
    match = _HEADING.match(line.rstrip("\r\n"))
    if match is None:
        return None
    title = match.group(2).strip().strip("*_").strip()
    return (len(match.group(1)), title) if title else None


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Sentence (or line) spans of ``text[start:end]``, trimmed, none blank."""
    position = start
    for match in _SENTENCE_END.finditer(text, start, end):
        gap = 1 if match.group(1) is not None else 2
        yield from _trimmed(text, position, match.start(gap))
        position = match.end(gap)
    yield from _trimmed(text, position, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    segment = text[start:end]
    stripped = segment.strip()
    if stripped:
        first = start + len(segment) - len(segment.lstrip())
        yield first, first + len(stripped)


def _windows(
    text: str, start: int, end: int, tokenizer: Tokenizer, limit: int
) -> Iterator[tuple[int, int, int]]:
    """Cut an over-long sentence into spans of at most ``limit`` tokens, between
    words where possible (a single word longer than that is cut inside)."""
    position = start
    while position < end:
        # A prefix that does not fit, found by doubling from ``limit`` characters: each
        # window costs in proportion to its own length, not to what is left of the line
        # (a 400 KiB line without spaces, an embedded image, took minutes).
        lo, size = position + 1, limit  # lo fits (a code point is at most 4 tokens)
        hi = min(end, position + size)
        while tokenizer.count(text[position:hi]) <= limit:
            if hi == end:
                yield from _counted(text, position, end, tokenizer)
                return
            lo, size = hi, size * 2
            hi = min(end, position + size)
        # Longest prefix that fits: lo fits, hi not.
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if tokenizer.count(text[position:mid]) <= limit:
                lo = mid
            else:
                hi = mid
        cut = lo
        if not text[lo].isspace():  # inside a word: cut before it if the span has another
            cut = _last_word_start(text, position + 1, lo) or lo
        span = next(_counted(text, position, cut, tokenizer))
        if span[2] > limit:  # the shorter span tokenised longer: take the exact fit
            cut, span = lo, next(_counted(text, position, lo, tokenizer))
        yield span
        position = _next_start(text, cut)


def _last_word_start(text: str, lo: int, hi: int) -> int | None:
    """The last position in [lo, hi) where a word starts, if any."""
    for position in range(hi - 1, lo - 1, -1):
        if text[position - 1].isspace() and not text[position].isspace():
            return position
    return None


def _counted(
    text: str, start: int, end: int, tokenizer: Tokenizer
) -> Iterator[tuple[int, int, int]]:
    for t_start, t_end in _trimmed(text, start, end):
        yield t_start, t_end, tokenizer.count(text[t_start:t_end])
