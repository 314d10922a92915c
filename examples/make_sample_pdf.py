"""Writes ``examples/sample_summary_of_benefits.pdf``: a two-page summary of benefits of
a fictional plan, the file the README's first commands upload.

Only the standard library: the PDF is written object by object (Helvetica, one of the
fonts every PDF reader has, so nothing is embedded). The output holds no date, so
running this again gives the same bytes; a test checks the committed file is this
script's output.

    python examples/make_sample_pdf.py [OUTPUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "sample_summary_of_benefits.pdf"

TITLE = "Evergreen Valley Health Plan - Silver PPO 2500"
# Each page: (style, text) lines, top to bottom. Styles: "title", "heading", "body".
PAGES: list[list[tuple[str, str]]] = [
    [
        ("title", TITLE),
        ("body", "Summary of Benefits and Coverage, plan year 2026 (January 1 to December 31)"),
        ("body", "A made-up plan for trying Insurance Navigator: not real coverage."),
        ("heading", "1. What you pay before the plan pays"),
        ("body", "The annual deductible is $2,500 for an individual and $5,000 for a family."),
        ("body", "Preventive care, primary care visits and generic drugs are covered before"),
        ("body", "you meet the deductible."),
        ("heading", "2. The most you pay in a year"),
        ("body", "The out-of-pocket maximum is $7,000 for an individual and $14,000 for a family."),
        ("body", "It counts your deductible, copays and coinsurance for in-network care."),
        ("body", "Premiums, balance-billed charges and care the plan does not cover do not count."),
        ("heading", "3. Copays for common visits (in network)"),
        ("body", "Primary care visit: $30 copay."),
        ("body", "Specialist visit: $60 copay."),
        ("body", "Urgent care: $75 copay."),
        ("body", "Emergency room: $350 copay per visit, waived if you are admitted."),
        ("body", "Preventive care and screenings: no charge."),
        ("body", "Out-of-network care: 50% coinsurance after the deductible."),
    ],
    [
        ("title", TITLE),
        ("heading", "4. Prescription drugs"),
        ("body", "Generic drugs: $10 copay for a 30-day supply."),
        ("body", "Preferred brand drugs: $45 copay for a 30-day supply."),
        ("body", "Specialty drugs: 30% coinsurance, up to $250 per prescription."),
        ("heading", "5. Hospital and mental health care"),
        ("body", "Inpatient hospital stay: 20% coinsurance after the deductible."),
        ("body", "Outpatient mental health visit: $30 copay."),
        ("body", "Prior authorization is required for planned hospital stays."),
        ("heading", "6. Questions and help"),
        ("body", "Member Services: 1-800-555-0142, Monday to Friday, 8 am to 8 pm."),
        ("body", "24-hour nurse line: 1-800-555-0199."),
        ("body", "Find a doctor or a pharmacy at evergreenvalley.example/find-care."),
    ],
]

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
LEFT, TOP = 72, 720
STYLE = {"title": ("F2", 15, 26), "heading": ("F2", 12, 24), "body": ("F1", 10.5, 15)}


def _escape(text: str) -> str:
    if not text.isascii():
        raise ValueError(f"only ASCII text fits the standard fonts unembedded: {text!r}")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_stream(lines: list[tuple[str, str]], number: int) -> bytes:
    out = []
    y = TOP
    for index, (style, text) in enumerate(lines):
        font, size, advance = STYLE[style]
        if index:  # the first line sits at the top; each next one a line's height lower
            y -= advance
        out.append(f"BT /{font} {size:g} Tf {LEFT} {y} Td ({_escape(text)}) Tj ET")
    out.append(f"BT /F1 9 Tf {LEFT} 40 Td (Page {number} of {len(PAGES)}) Tj ET")
    return "\n".join(out).encode("ascii")


def build_pdf() -> bytes:
    """The sample, as bytes."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below, once the page tree's number is known
    info = add(b"<< /Title (" + _escape(TITLE + " - summary of benefits").encode() +
               b") /Producer (examples/make_sample_pdf.py) >>")
    regular = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                  b"/Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
               b"/Encoding /WinAnsiEncoding >>")
    tree = add(b"")
    kids = []
    for number, lines in enumerate(PAGES, start=1):
        stream = _page_stream(lines, number)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] " % (tree, PAGE_WIDTH,
                                                                        PAGE_HEIGHT)
            + b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> " % (regular, bold)
            + b"/Contents %d 0 R >>" % content
        ))
    objects[tree - 1] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                         + b"] /Count %d >>" % len(kids))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree

    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += (b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, catalog, info, xref))
    return bytes(pdf)


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else OUTPUT
    target.write_bytes(build_pdf())
    print(f"wrote {target} ({target.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
