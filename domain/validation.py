"""The validate step: is a parse good enough to chunk and embed?"""

from __future__ import annotations

import attrs

from domain.errors import PermanentError
from domain.model import ParsedDocument


@attrs.frozen
class ParseValidation:
    """``min_characters`` of real text, mostly printable, pages numbered upward from 1."""

    min_characters: int = 1
    min_printable_ratio: float = 0.85

    def check(self, parsed: ParsedDocument) -> str:
        """Raise ``PermanentError`` with a member-readable reason; return a summary."""
        numbers = [p.number for p in parsed.pages]
        if any(n < 1 for n in numbers) or numbers != sorted(set(numbers)):
            raise PermanentError(f"the parser returned pages out of order: {numbers[:10]}")
        text = "".join(p.markdown for p in parsed.pages)
        visible = [ch for ch in text if not ch.isspace()]
        if len(visible) < self.min_characters:
            raise PermanentError("we could not find any text in this document")
        printable = sum(1 for ch in visible if ch.isprintable())
        if printable / len(visible) < self.min_printable_ratio:
            raise PermanentError(
                "the text we extracted from this document is unreadable (mostly control "
                "characters); upload a text-based copy"
            )
        return f"{len(parsed.pages)} pages, {len(visible)} characters of text"
