"""Hostile files built in the test: small to store, costly to read."""

from __future__ import annotations

import io
import zipfile

from tests.unit.parsers.documents import word_document

PARAGRAPH = b"<w:p><w:r><w:t>Your deductible is $250 a year.</w:t></w:r></w:p>"


def word_document_with_paragraphs(count: int) -> bytes:
    """A real Word document with ``count`` more short paragraphs: it deflates to a
    tiny file, while python-docx builds an object for each paragraph and run."""
    with zipfile.ZipFile(io.BytesIO(word_document())) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    xml = parts["word/document.xml"]
    body = xml.index(b"<w:body>") + len(b"<w:body>")
    parts["word/document.xml"] = xml[:body] + PARAGRAPH * count + xml[body:]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()
