"""PDF text, page by page, with pdfium (fast) and pypdf (strict).

Two engines:

- **pdfium** (``pypdfium2``, the default): C++, about five times faster than pypdf
  on the 232-page evidence-of-coverage in the test corpus. PDFium is not
  thread-safe, so every call into it holds ``_PDFIUM_LOCK``; its calls release
  the GIL, so a parse in a thread leaves the event loop free.
- **pypdf**: pure Python, slower and stricter. It extracts only text it can
  decode through fonts the page declares. pdfium, reading a *damaged* file
  (one whose cross-reference table it had to rebuild), substitutes fonts the file
  never declared and can return text no conforming reader would show; so a
  damaged file is re-read with pypdf (``broken_startxref.pdf`` in the corpus is
  such a file: it fails as damaged, with no readable text).

With pdfium, a page's ruled tables (a benefits chart) are read row by row, each row
one line with its cells separated by tabs (``adapters.parsers.pdf_tables``), so a
service and what the member pays for it stay on one line; the rest of the page, and
every page without such a table, reads in the file's order.

Pages without text are skipped; the others keep their page number. A file
that is not a PDF, is locked with a password, is damaged beyond reading or has
no text at all raises ``PermanentError`` with a reason a member can act on.
"""

from __future__ import annotations

import enum
import io
import logging
import threading
from typing import TYPE_CHECKING

from adapters.parsers.pdf_tables import page_text_with_tables
from adapters.parsers.text import tidy
from domain.errors import PermanentError
from domain.model import ParsedPage

if TYPE_CHECKING:
    from pypdfium2 import PdfDocument

NOT_A_PDF = (
    "this file is marked as a PDF but is not one; export it as a PDF again and upload that"
)
LOCKED = "this PDF is password-protected; upload an unlocked copy"
UNSUPPORTED_LOCK = (
    "this PDF is encrypted in a way we cannot open; upload an unlocked copy"
)
DAMAGED = (
    "this PDF is damaged and cannot be read; open it in a PDF reader, save or print it "
    "as a new PDF and upload that copy"
)
DAMAGED_NO_TEXT = (
    "this PDF is damaged and has no text we can read; open it in a PDF reader, save or "
    "print it as a new PDF and upload that copy"
)
NO_TEXT = (
    "this PDF has no text we can read — it may be a scanned image; upload a text PDF "
    "(for example, one run through text recognition)"
)

# The PDF header may follow a little junk (the spec tolerates up to 1024 bytes).
_HEADER_WINDOW = 1024
# pdfium marks a hyphen that ended a line (and was joined with the next) this way.
_PDFIUM_LINE_HYPHEN = "\ufffe"

_PDFIUM_LOCK = threading.Lock()
log = logging.getLogger(__name__)


class PdfEngine(enum.StrEnum):
    PDFIUM = "pdfium"
    PYPDF = "pypdf"


def parse_pdf(data: bytes, engine: PdfEngine = PdfEngine.PDFIUM) -> list[ParsedPage]:
    """The text of each page that has any, numbered from 1 as in the file."""
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise PermanentError(NOT_A_PDF)
    if engine is PdfEngine.PDFIUM:
        texts = _pdfium_texts(data)
        damaged = texts is None
        if texts is None:
            texts = _pypdf_texts(data)
    else:
        texts = _pypdf_texts(data)
        damaged = _PYPDF_REPAIRS.count > 0
    pages = [ParsedPage(number=i, markdown=tidy(t)) for i, t in enumerate(texts, start=1)]
    pages = [p for p in pages if p.markdown.strip()]
    if not pages:
        raise PermanentError(DAMAGED_NO_TEXT if damaged else NO_TEXT)
    return pages


def _pdfium_texts(data: bytes) -> list[str] | None:
    """Each page's text, or None when the file is damaged (pdfium had to repair it)."""
    with _PDFIUM_LOCK:
        import pypdfium2
        import pypdfium2.raw as pdfium_c

        try:
            document = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            raise PermanentError(_pdfium_open_error(exc.err_code)) from exc
        try:
            if not pdfium_c.FPDF_DocumentHasValidCrossReferenceTable(document.raw):
                return None
            return [_pdfium_page_text(document, i) for i in range(len(document))]
        finally:
            document.close()


def _pdfium_open_error(code: int | None) -> str:
    import pypdfium2.raw as pdfium_c

    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return LOCKED
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return UNSUPPORTED_LOCK
    return DAMAGED


def _pdfium_page_text(document: PdfDocument, index: int) -> str:
    import pypdfium2

    try:
        page = document[index]
    except pypdfium2.PdfiumError:
        log.info("pdf page %d cannot be loaded; skipped", index + 1)
        return ""
    try:
        textpage = page.get_textpage()
        try:
            text = page_text_with_tables(page, textpage, textpage.get_text_range())
        finally:
            textpage.close()
    except pypdfium2.PdfiumError:
        log.info("pdf page %d has unreadable text; skipped", index + 1)
        return ""
    finally:
        page.close()
    return text.replace(_PDFIUM_LINE_HYPHEN, "-")


class _RepairCounter(logging.Handler):
    """Counts, per thread, the warnings pypdf logs while it reads a file.

    pypdf logs every repair it makes to a damaged file as a warning. In the
    worker's log they are noise (the outcome, text or a clear failure, is what
    counts); here they tell a damaged file from a scanned one.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._local = threading.local()

    @property
    def count(self) -> int:
        return getattr(self._local, "count", 0)

    def reset(self) -> None:
        self._local.count = 0

    def emit(self, record: logging.LogRecord) -> None:  # runs in the logging thread
        self._local.count = self.count + 1


_PYPDF_REPAIRS = _RepairCounter()


def _count_pypdf_repairs() -> None:
    pypdf_log = logging.getLogger("pypdf")
    if _PYPDF_REPAIRS not in pypdf_log.handlers:
        pypdf_log.addHandler(_PYPDF_REPAIRS)
        pypdf_log.propagate = False
    _PYPDF_REPAIRS.reset()


def _pypdf_texts(data: bytes) -> list[str]:
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError

    _count_pypdf_repairs()
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PermanentError(LOCKED)
        pages = list(reader.pages)
    except PermanentError:
        raise
    except FileNotDecryptedError as exc:
        raise PermanentError(LOCKED) from exc
    except DependencyError as exc:  # AES without the optional cryptography package
        raise PermanentError(UNSUPPORTED_LOCK) from exc
    except Exception as exc:  # pypdf raises many kinds on a broken file
        raise PermanentError(DAMAGED) from exc
    texts = []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(page.extract_text())
        except Exception:  # one broken page must not cost the member the others
            log.info("pdf page %d has unreadable text; skipped", number)
            texts.append("")
    return texts
