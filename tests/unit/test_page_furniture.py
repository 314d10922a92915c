"""Running headers, footers and repeated table headers leave the text before chunking."""

from __future__ import annotations

from domain.chunking import CHUNKER, ChunkingConfig, chunk_cleaned_document, full_text
from domain.model import ParsedDocument, ParsedPage
from domain.page_furniture import line_key, remove_page_furniture
from tests.unit.test_chunking import MEMBER, POLICY, TOKENIZER

BODIES = [
    "Ambulance services are covered worldwide.\n$180 copayment for each one-way trip.",
    "Hearing aids cost $550 per aid.\nPrior authorization rules apply.",
    "Your plan premium does not change during the year.\nCall Member Services.",
    "Prior authorization rules apply.\nInsulin costs $35 a month.",
]


def booklet(bodies: list[str] = BODIES) -> ParsedDocument:
    """Each page: title and page number on top, chapter banner and table header below."""
    return ParsedDocument([
        ParsedPage(n, f"2025 Evidence of Coverage for SCAN Classic {n + 40}\n"
                      f"{body}\n"
                      "Services that are covered for you\nWhat you must pay\n"
                      "Chapter 4 Medical Benefits Chart\n")
        for n, body in enumerate(bodies, start=1)
    ])


def test_lines_repeating_at_the_top_or_bottom_of_many_pages_are_removed_after_their_first():
    cleaned = remove_page_furniture(booklet())
    pages = [page.markdown for page in cleaned.pages]

    assert pages[0].startswith("2025 Evidence of Coverage for SCAN Classic 41\nAmbulance")
    assert pages[0].endswith("Chapter 4 Medical Benefits Chart")
    for page, body in zip(pages[1:], BODIES[1:], strict=True):
        assert page == body


def test_page_numbers_and_digits_do_not_make_a_line_different():
    assert line_key("2025 Evidence of Coverage  19 ") == line_key("2025 evidence of coverage 20")


def test_a_line_that_also_repeats_in_the_body_is_not_furniture():
    middle = "\n".join(f"line {k}" for k in range(8))
    bodies = [f"Prior authorization rules apply\n{middle}\nPrior authorization rules apply\n"
              f"{middle}\nPrior authorization rules apply\n{middle}\nend {n}"
              for n in range(6)]
    parsed = ParsedDocument([ParsedPage(n, f"Header\n{b}") for n, b in enumerate(bodies, 1)])

    cleaned = remove_page_furniture(parsed)

    assert all(page.markdown.count("Prior authorization rules apply") == 3
               for page in cleaned.pages)
    assert [p.markdown.startswith("Header") for p in cleaned.pages] == [True] + [False] * 5


def test_a_repeated_line_in_the_middle_of_a_page_stays():
    pages = [ParsedPage(n, f"top {n}\nfirst {n}\nsecond {n}\nthird {n}\nfourth {n}\n"
                           f"fifth {n}\nsixth {n}\nSee the chart\nseventh {n}\neighth {n}\n"
                           f"ninth {n}\ntenth {n}\neleventh {n}\ntwelfth {n}\nend {n}")
             for n in range(1, 5)]
    cleaned = remove_page_furniture(ParsedDocument(pages))
    assert all("See the chart" in page.markdown for page in cleaned.pages)


def test_a_short_document_is_left_as_it_is():
    parsed = booklet(BODIES[:2])
    assert remove_page_furniture(parsed) == parsed


def test_pages_keep_their_numbers_even_when_nothing_is_left_on_them():
    parsed = ParsedDocument([ParsedPage(n, "Evidence of Coverage\nPage 3") for n in (2, 3, 4)]
                            + [ParsedPage(5, "Evidence of Coverage\nThe body.\nPage 7")])
    cleaned = remove_page_furniture(parsed)
    assert [p.number for p in cleaned.pages] == [2, 3, 4, 5]
    assert [p.markdown for p in cleaned.pages] == [
        "Evidence of Coverage\nPage 3", "", "", "The body."]


def test_chunks_of_a_booklet_carry_no_running_headers_and_say_the_chunker_version():
    chunks = chunk_cleaned_document(booklet(), TOKENIZER, ChunkingConfig(target_tokens=16,
                                    overlap_tokens=0), document_id=POLICY, user_id=MEMBER)
    text = " ".join(c.text for c in chunks)

    assert text.count("Services that are covered for you") == 1
    assert text.count("Evidence of Coverage") == 1
    assert all(c.chunker == CHUNKER == "markdown-tokens/4" for c in chunks)
    insulin = next(c for c in chunks if "Insulin costs $35" in c.text)
    assert insulin.page == 4
    cleaned = full_text(remove_page_furniture(booklet()))
    assert all(cleaned[c.char_start:c.char_end] == c.text for c in chunks)


SERVICES = ["Ambulance services\t$180 copayment", "Hearing aids\t$550 per aid",
            "Insulin\t$35 a month", "Vision care\t$0 copayment"]


def chart_pages(header: list[str], rows: list[str]) -> ParsedDocument:
    """A chart running over four pages: on each, the running title, the chart's
    header row(s), one service of its own, then the same closing rows."""
    return ParsedDocument([
        ParsedPage(n, "\n".join([f"Evidence of Coverage {n + 56}", *header, service, *rows]))
        for n, service in enumerate(SERVICES, start=1)
    ])


def test_a_tables_header_row_goes_like_a_running_header_but_its_rows_stay():
    header = ["Services that are covered for you\tWhat you must pay"]
    rows = ["Prior authorization\tRules apply", "Questions\tCall 1-800-559-3500"]
    cleaned = remove_page_furniture(chart_pages(header, rows))
    pages = [page.markdown for page in cleaned.pages]
    assert pages[0] == "\n".join(["Evidence of Coverage 57", *header, SERVICES[0], *rows])
    assert pages[1:] == ["\n".join([service, *rows]) for service in SERVICES[1:]]


def test_a_pipe_tables_header_and_delimiter_rows_go_but_its_rows_stay():
    header = ["| Services | What you pay |", "| --- | --- |"]
    rows = ["| Prior authorization | Rules apply |", "| Questions | Call 1-800-559-3500 |"]
    services = [f"| {service.replace(chr(9), ' | ')} |" for service in SERVICES]
    parsed = ParsedDocument([
        ParsedPage(n, "\n".join([f"Evidence of Coverage {n + 56}", *header, service, *rows]))
        for n, service in enumerate(services, start=1)
    ])
    pages = [page.markdown for page in remove_page_furniture(parsed).pages]
    assert pages[1:] == ["\n".join([service, *rows]) for service in services[1:]]


def test_the_same_lines_outside_a_table_are_furniture():
    rows = ["Prior authorization Rules apply", "Questions Call 1-800-559-3500"]
    cleaned = remove_page_furniture(chart_pages(["Services What you must pay"], rows))
    assert [page.markdown for page in cleaned.pages][1:] == [
        service for service in SERVICES[1:]]
