"""Ruled tables in a PDF read row by row: a chart's service stays on the line of its cost.

Small pages are drawn here (rules as thin filled rectangles, text at set places,
the way booklets are typeset); the real chart is the corpus's Evidence of Coverage.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.parsers.pdf import PdfEngine, parse_pdf
from bench.charts import chart_rows, chunks_of, count
from domain.chunking import TABLE_ROW_FACTOR, ChunkingConfig
from tests.corpus import corpus_bytes

LEFT, MIDDLE, RIGHT = 72, 330, 540
# Each piece of text: (x, baseline y, words).
Text = tuple[float, float, str]


def drawn_pdf(texts: Sequence[Text], across: Sequence[float] = (),
              down: Sequence[tuple[float, float, float]] = (),
              underline: tuple[float, float, float] | None = None) -> bytes:
    """A one-page PDF: ``texts`` in 10-point Helvetica, a 1-point rule across the
    table (x from LEFT to RIGHT) at each y of ``across``, a rule down at each
    (x, bottom, top) of ``down``, and an optional short ``underline`` (x0, x1, y)."""
    stream = [b"0 0 0 rg"]
    for y in across:
        stream.append(b"%d %.1f %d 1 re f" % (LEFT, y - 0.5, RIGHT - LEFT))
    for x, bottom, top in down:
        stream.append(b"%.1f %d 1 %d re f" % (x - 0.5, bottom, top - bottom))
    if underline is not None:
        x0, x1, y = underline
        stream.append(b"%d %.1f %d 0.8 re f" % (x0, y, x1 - x0))
    for x, y, words in texts:
        escaped = words.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream.append(b"BT /F1 10 Tf %d %d Td (%s) Tj ET" % (x, y, escaped.encode("cp1252")))
    content = b"\n".join(stream)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
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


TITLE: Text = (LEFT, 740, "Medical Benefits Chart")
CHART: list[Text] = [
    (LEFT + 4, 705, "Services that are covered for you"),
    (MIDDLE + 4, 705, "What you must pay"),
    (LEFT + 4, 680, "Ambulance services"),
    (LEFT + 4, 668, "Covered worldwide in an emergency."),
    (LEFT + 4, 656, "Ground and air ambulance."),
    (MIDDLE + 4, 680, "$180 copayment for each"),
    (MIDDLE + 4, 668, "one-way trip."),
    (LEFT + 4, 620, "Annual physical examination"),
    (LEFT + 4, 608, "One routine physical each year."),
    (MIDDLE + 4, 620, "$0 copayment"),
]
FOOTNOTE: Text = (LEFT, 560, "Prior authorization rules apply where marked.")
# Rules: top of the table, under the header row, between the rows, bottom.
ACROSS = (720, 695, 635, 590)
DOWN = [(x, 590, 720) for x in (LEFT, MIDDLE, RIGHT)]


def read(pdf: bytes) -> str:
    (page,) = parse_pdf(pdf)
    return page.markdown


def test_a_ruled_chart_reads_one_row_per_line_with_its_cells_separated_by_a_tab() -> None:
    text = read(drawn_pdf([TITLE, *CHART, FOOTNOTE], ACROSS, DOWN))
    assert text.split("\n") == [
        "Medical Benefits Chart",
        "Services that are covered for you\tWhat you must pay",
        "Ambulance services Covered worldwide in an emergency. Ground and air ambulance."
        "\t$180 copayment for each one-way trip.",
        "Annual physical examination One routine physical each year.\t$0 copayment",
        "Prior authorization rules apply where marked.",
    ]


def test_the_same_page_without_rules_reads_in_the_files_order() -> None:
    text = read(drawn_pdf([TITLE, *CHART, FOOTNOTE]))
    assert "\t" not in text
    assert "\nAmbulance services\nCovered worldwide in an emergency.\n" in text
    assert "\nGround and air ambulance.\n$180 copayment for each\none-way trip.\n" in text


def test_a_short_line_inside_a_cell_does_not_split_its_row() -> None:
    underlined = drawn_pdf([TITLE, *CHART, FOOTNOTE], ACROSS, DOWN,
                           underline=(LEFT + 4, LEFT + 120, 665))
    assert read(underlined) == read(drawn_pdf([TITLE, *CHART, FOOTNOTE], ACROSS, DOWN))


def test_a_boxed_paragraph_is_not_a_table() -> None:
    box = [(x, 590, 720) for x in (LEFT, RIGHT)]  # one cell: no column to read across
    text = read(drawn_pdf([TITLE, *CHART, FOOTNOTE], (720, 590), box))
    assert "\t" not in text


def test_a_page_whose_table_layout_would_lose_words_keeps_its_plain_reading() -> None:
    beside = (RIGHT + 8, 650, "Note")  # in the table's band, outside its cells
    text = read(drawn_pdf([TITLE, *CHART, beside, FOOTNOTE], ACROSS, DOWN))
    assert "\t" not in text
    assert "Note" in text


def test_pypdf_reads_the_chart_in_the_files_order() -> None:
    (page,) = parse_pdf(drawn_pdf([TITLE, *CHART, FOOTNOTE], ACROSS, DOWN), PdfEngine.PYPDF)
    assert "\t" not in page.markdown and "$180 copayment" in page.markdown


EOC = "scan_classic_hmo.pdf"


def test_the_evidence_of_coverage_ambulance_row_holds_its_copayment_on_one_line() -> None:
    pages = {page.number: page.markdown for page in parse_pdf(corpus_bytes(EOC))}
    (row,) = [line for line in pages[61].split("\n") if line.startswith("Ambulance services")]
    service, cost = row.split("\t")
    assert service.endswith("Emergency ambulance services are covered worldwide. See "
                            "Chapter 3, Section 3.1 for more information.")
    assert cost == ("$180 copayment for each one-way trip. Prior authorization rules apply "
                    "for non-emergency ambulance services.")


def test_every_row_of_the_evidence_of_coverage_charts_is_whole_in_one_chunk() -> None:
    data = corpus_bytes(EOC)
    rows = chart_rows(data, 57, 116)  # Chapter 4: the benefits chart, the exclusions
    config = ChunkingConfig()
    chunks = chunks_of(data, config)
    result = count(rows, chunks, "as shipped", 0.0)
    assert result.rows == 136 and result.with_cost == 125
    assert result.whole == result.rows, [row.service for row in result.cut]
    assert result.service_and_cost == result.with_cost
    assert result.largest_chunk <= TABLE_ROW_FACTOR * config.target_tokens


def test_a_row_with_an_empty_first_cell_keeps_its_tab() -> None:
    continued = (MIDDLE + 4, 575, "Prior authorization applies")
    pdf = drawn_pdf([TITLE, *CHART, continued, (LEFT, 520, "End of chart.")],
                    (*ACROSS, 560), [(x, 560, 720) for x in (LEFT, MIDDLE, RIGHT)])
    assert read(pdf).split("\n")[-2:] == ["\tPrior authorization applies", "End of chart."]
