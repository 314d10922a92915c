"""What a member may upload, decided before anything is stored.

The business rules:

- A file's type comes from its contents, never from its name or the type the
  browser declares: a PDF starts with ``%PDF-`` (after at most 1 KiB of
  whitespace or a byte-order mark, as PDF readers allow); a Word document is a
  ZIP holding ``word/document.xml`` and ``[Content_Types].xml``; everything else
  must be UTF-8 text (HTML, Markdown or plain text).
- A PDF or Word document with the wrong name is still read for what it is. A file
  *named* or *declared* as PDF or Word whose contents are something else (plain
  text renamed ``.docx``, a damaged download) is refused with that explanation.
- Checks run in a fixed order, so the member hears about the first problem:
  empty file, too large, type, then the member's quota (documents, bytes).
- Every refusal is an ``UploadRejected`` whose message says what to do about it.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Iterable

import attrs

from domain.errors import EmptyFile, FileTooLarge, QuotaExceeded, UnsupportedFileType
from domain.files import PART_BYTES, UploadedFile, as_uploaded_file
from domain.model import MediaType, Usage
from domain.units import GIB, KIB, MIB

_LABELS = {
    MediaType.PDF: "PDF",
    MediaType.DOCX: "Word (.docx)",
    MediaType.HTML: "HTML",
    MediaType.MARKDOWN: "Markdown",
    MediaType.TEXT: "plain text",
}
_CLAIMS = {
    MediaType.PDF: ("a PDF", (".pdf",), {"application/pdf", "application/x-pdf"}),
    MediaType.DOCX: ("a Word document", (".docx",), {MediaType.DOCX.value}),
}
_PDF_WINDOW = 1024
#: How much of the start of a file the signatures and the HTML test look at.
_HEAD_BYTES = 64 * KIB
#: How much of a text file (in characters) the Markdown test looks at. The whole file
#: is still checked to be UTF-8, block by block.
_TEXT_WINDOW = 1024 * 1024
_LEADING_JUNK = b" \t\r\n\f\x00\xef\xbb\xbf\xfe\xff"
_OTHER_FORMATS = (  # (signature, offset, what the member has)
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF8", 0, "a GIF image"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"WEBP", 8, "a WebP image"),
    (b"ftyphei", 4, "a HEIC photo"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "an older Microsoft Office file (.doc, .xls)"),
    (b"{\\rtf", 0, "an RTF document"),
)
_HTML_START = re.compile(r"\s*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"<(?:!doctype|html|head|body|div|p|span|table|h[1-6]|ul|ol|li|br|meta|title|a)[\s>/]",
    re.IGNORECASE,
)
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)


def sniff_media_type(
    data: bytes | UploadedFile, filename: str, declared: str | None = None
) -> MediaType:
    """The file's type from its contents; ``UnsupportedFileType`` if we cannot read it.

    Reads the file, never holds all of it: the first 64 KiB, a ZIP's directory, and
    a text file block by block."""
    file = as_uploaded_file(data)
    kind = _content_kind(file, filename, declared)
    if isinstance(kind, MediaType) and kind in (MediaType.PDF, MediaType.DOCX):
        return kind
    claim = _claimed_type(filename, declared)
    if claim is not None:
        what = _describe(kind) if isinstance(kind, MediaType) else kind
        raise UnsupportedFileType(
            f"{_shown(filename)} is named like {_CLAIMS[claim][0]} but its contents are not "
            f"one (it is {what}); upload the original file or save it as PDF."
        )
    if kind == _OTHER_ENCODING:
        raise UnsupportedFileType(
            f"{_shown(filename)} is {kind}, which we cannot read. Save it as UTF-8 text "
            "(in most editors: Save As, then the encoding UTF-8), or as PDF, and upload that."
        )
    if not isinstance(kind, MediaType):
        raise UnsupportedFileType(
            f"{_shown(filename)} is {kind}, which we cannot read. {_accepted(MediaType)} "
            "Save the document as PDF or .docx and upload that."
        )
    return kind


_OTHER_ENCODING = "text in an encoding other than UTF-8 (such as UTF-16 or Windows-1252)"
#: Control characters other than tab, line feed, form feed and carriage return: a text
#: file may carry a few, and more than ``_CONTROL_SHARE`` of them is not text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_CONTROL_SHARE = 0.01


def reads_as_text(text: str) -> bool:
    """Whether decoded bytes read as text: at most 1 % of control characters. The one
    rule for this check and for the worker's text parser (``adapters.parsers.text``)."""
    return len(_CONTROL.findall(text)) <= _CONTROL_SHARE * len(text)


def _not_utf8(head: bytes, failed: bytes) -> str:
    """What a file that is not UTF-8 is, from its start and the block that failed
    (empty when it held a NUL byte): text in another encoding (a UTF-16 or UTF-32
    byte-order mark, or a block that reads as text in Windows-1252, or in UTF-8 but for
    a few bytes), or binary."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        return _OTHER_ENCODING
    for codec in ("cp1252", "utf-8"):
        text = failed.decode(codec, errors="replace")
        if text and reads_as_text(text):
            return _OTHER_ENCODING
    return "a binary file"


def _content_kind(file: UploadedFile, filename: str, declared: str | None) -> MediaType | str:
    """The media type the bytes are, or a phrase saying what they are instead."""
    head = file.head(_HEAD_BYTES)
    if head[:_PDF_WINDOW + 5].lstrip(_LEADING_JUNK).startswith(b"%PDF-"):
        return MediaType.PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(file)
    for signature, offset, what in _OTHER_FORMATS:
        if head[offset : offset + len(signature)] == signature:
            return what
    text, failed = _utf8_start(file)
    if text is None:
        return _not_utf8(head, failed)
    name, declared_type = filename.lower(), _essence(declared)
    if _HTML_START.match(text) or (
        (name.endswith((".html", ".htm")) or declared_type == "text/html")
        and _HTML_TAG.search(text, 0, 65_536)
    ):
        return MediaType.HTML
    if (
        name.endswith((".md", ".markdown"))
        or declared_type == "text/markdown"
        or _MARKDOWN_HEADING.search(text)
    ):
        return MediaType.MARKDOWN
    return MediaType.TEXT


def _zip_kind(file: UploadedFile) -> MediaType | str:
    try:
        with file.reader() as raw, zipfile.ZipFile(raw) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return "a damaged or incomplete ZIP archive"
    if {"word/document.xml", "[Content_Types].xml"} <= names:
        return MediaType.DOCX
    if "xl/workbook.xml" in names:
        return "an Excel workbook"
    if "ppt/presentation.xml" in names:
        return "a PowerPoint presentation"
    return "a ZIP archive"


def _utf8_start(file: UploadedFile) -> tuple[str | None, bytes]:
    """``(the first _TEXT_WINDOW characters, b"")`` if the whole file is UTF-8 text
    without NUL bytes; else ``(None, the block that is not)``, the block empty when it
    holds a NUL byte."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    kept: list[str] = []
    kept_chars = 0
    last = b""  # the block being decoded (the last one, for an ending cut mid-character)
    try:
        with file.reader() as raw:
            while block := raw.read(PART_BYTES):
                if b"\x00" in block:
                    return None, b""
                last = block
                text = decoder.decode(block)
                if kept_chars < _TEXT_WINDOW:
                    kept.append(text)
                    kept_chars += len(text)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None, last
    return "".join(kept)[:_TEXT_WINDOW], b""


def _essence(declared: str | None) -> str:
    """``text/html; charset=utf-8`` -> ``text/html``."""
    return (declared or "").split(";", 1)[0].strip().lower()


def _claimed_type(filename: str, declared: str | None) -> MediaType | None:
    name, declared_type = filename.lower(), _essence(declared)
    for media_type, (_, suffixes, content_types) in _CLAIMS.items():
        if name.endswith(suffixes) or declared_type in content_types:
            return media_type
    return None


def _describe(media_type: MediaType) -> str:
    return {
        MediaType.HTML: "an HTML page",
        MediaType.MARKDOWN: "Markdown text",
        MediaType.TEXT: "plain text",
    }.get(media_type, _LABELS[media_type])


def _accepted(types: Iterable[MediaType]) -> str:
    labels = [_LABELS[t] for t in MediaType if t in set(types)]
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"We accept {listed} files."


def base_name(filename: str) -> str:
    """The file's own name, without the folders a client may send along with it."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip()


def _shown(filename: str, default: str = "The file") -> str:
    """The file's own name (no client path), quoted and kept short, for messages."""
    name = base_name(filename)
    if not name:
        return default
    return repr(name if len(name) <= 80 else name[:77] + "...")


def _megabytes(size: int) -> str:
    return f"{size / MIB:.1f}".removesuffix(".0") + " MB"


def _human(size: int) -> str:
    for unit, scale in (("GB", GIB), ("MB", MIB), ("KB", KIB)):
        if size >= scale:
            return f"{size / scale:.2f}".rstrip("0").removesuffix(".") + " " + unit
    return f"{size} bytes"


def _media_types(items: Iterable[MediaType]) -> frozenset[MediaType]:
    return frozenset(MediaType(item) for item in items)


def _not_empty(_policy: UploadPolicy, _attribute: object, value: frozenset[MediaType]) -> None:
    if not value:
        raise ValueError("an upload policy must allow at least one file type")


@attrs.frozen
class UploadPolicy:
    """Per-file and per-member limits on uploads."""

    max_bytes: int = attrs.field(default=50 * MIB, validator=attrs.validators.ge(1))
    allowed_types: frozenset[MediaType] = attrs.field(
        factory=lambda: frozenset(MediaType), converter=_media_types, validator=_not_empty
    )
    max_documents_per_member: int = attrs.field(default=1000, validator=attrs.validators.ge(1))
    max_bytes_per_member: int = attrs.field(default=2 * GIB, validator=attrs.validators.ge(1))

    def check(
        self, data: bytes | UploadedFile, filename: str, declared: str | None, usage: Usage
    ) -> MediaType:
        """The upload's type if it may be stored; else the first rule it breaks."""
        media_type = self.check_file(data, filename, declared)
        self.check_quota(as_uploaded_file(data).size, usage)
        return media_type

    def check_file(self, data: bytes | UploadedFile, filename: str, declared: str | None
                   ) -> MediaType:
        """The file's type if the file itself may be stored (not empty, not too large, an
        accepted type); else the first rule it breaks. The member's quota is
        ``check_quota``'s, asked where the upload is recorded."""
        file = as_uploaded_file(data)
        if file.size == 0:
            raise EmptyFile(
                f"The file is empty: {_shown(filename, 'it')} has 0 bytes. Choose the document "
                "again and upload it once it has finished saving."
            )
        self.check_size(file.size, filename)
        media_type = sniff_media_type(file, filename, declared)
        if media_type not in self.allowed_types:
            raise UnsupportedFileType(
                f"{_shown(filename)} is {_describe(media_type)}, which is not accepted here. "
                f"{_accepted(self.allowed_types)}"
            )
        return media_type

    def check_size(self, size: int, filename: str = "") -> None:
        """Refuse a file over ``max_bytes``; the API calls this while streaming, so
        an oversized upload is stopped before it is read to the end."""
        if size > self.max_bytes:
            raise FileTooLarge(
                f"{_shown(filename)} is {_megabytes(size)}; the largest file we accept is "
                f"{_megabytes(self.max_bytes)}. Split the document into smaller files or "
                "save it with smaller images, then upload again."
            )

    def check_quota(self, size: int, usage: Usage) -> None:
        """Refuse an upload that would take the member past their document or byte quota."""
        if usage.documents >= self.max_documents_per_member:
            raise QuotaExceeded(
                f"You have {usage.documents} documents; a member can keep at most "
                f"{self.max_documents_per_member}. Delete documents you no longer need, "
                "then upload again."
            )
        if usage.bytes + size > self.max_bytes_per_member:
            raise QuotaExceeded(
                f"This file ({_human(size)}) does not fit in your storage: your documents "
                f"use {_human(usage.bytes)} of your {_human(self.max_bytes_per_member)}. "
                "Delete documents you no longer need, then upload again."
            )
