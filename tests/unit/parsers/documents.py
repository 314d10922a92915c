"""Small documents built in the test, for cases the corpus does not cover."""

from __future__ import annotations

import io

import docx
import pypdf


def text_pdf(*pages: str | None) -> bytes:
    """A valid PDF with one page per argument; ``None`` is a page with no text.

    Written by hand (pypdf cannot add text): a catalog, a page tree, one
    Helvetica font, and per page a page object with a content stream.
    """
    count = len(pages)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
        + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, text in enumerate(pages):
        content = _content_stream(text)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref,
    )
    return bytes(out)


def _content_stream(text: str | None) -> bytes:
    if text is None:
        return b"0 0 1 rg 72 72 100 100 re f"  # a blue square: a page with no text
    lines = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 720 Td"]
    for line in text.split("\n"):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        lines.append(b"(%s) Tj T*" % escaped.encode("cp1252"))
    lines.append(b"ET")
    return b"\n".join(lines)


def locked_pdf(source: bytes, user_password: str, owner_password: str = "owner") -> bytes:
    """``source`` encrypted (RC4, which pypdf writes without extra packages)."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password=user_password, owner_password=owner_password,
                   algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def word_document() -> bytes:
    """A .docx with a title, headings, paragraphs, both kinds of list and a table."""
    document = docx.Document()
    document.add_heading("Sunrise Health Plan", level=0)
    document.add_heading("Your costs", level=1)
    document.add_paragraph("You pay these amounts when you get care in the network.")
    document.add_heading("Office visits", level=2)
    document.add_paragraph("Primary care visits", style="List Bullet")
    document.add_paragraph("Specialist visits", style="List Bullet")
    document.add_paragraph("Before you go:")
    document.add_paragraph("Call Member Services", style="List Number")
    document.add_paragraph("Bring your card", style="List Number")
    table = document.add_table(rows=3, cols=2)
    for row, (service, cost) in zip(
        table.rows,
        [("Service", "You pay"), ("Primary care", "$20 copay"), ("Emergency | ER", "$150")],
        strict=True,
    ):
        row.cells[0].text = service
        row.cells[1].text = cost
    document.add_paragraph("Questions? Call 1-800-555-0199.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
