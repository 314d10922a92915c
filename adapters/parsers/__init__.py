"""Local (offline) parsers: PDF, Word, HTML, markdown and plain text to markdown pages."""

from adapters.parsers.local import LocalParser, parse_bytes
from adapters.parsers.pdf import PdfEngine

__all__ = ["LocalParser", "PdfEngine", "parse_bytes"]
