"""The parser's contract, on every adapter: local (in the worker's process, and in a
child process under limits), LlamaParse, and the scripted fake.

LlamaParse runs through the real ``llama-cloud`` SDK against the fake LlamaParse
on 127.0.0.1 (which reads a PDF with pypdf, as the local parser reads it with
pdfium). The scripted fake runs on its own (text and markdown only, as the unit
and API tests use it) and around the local parser (as the scenarios use it).

What only one adapter does stays in that adapter's own tests: the hosted parser's
checkpoint (resume a LlamaParse job instead of uploading twice), its polling,
timeouts and provider errors; the scripted fake's failures.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import AsyncIterator

import attrs
import pytest

from adapters.llamaparse_parser import LlamaParseParser
from adapters.parsers.isolated import IsolatedLocalParser
from adapters.parsers.local import LocalParser
from domain.errors import PermanentError
from domain.model import MediaType, ParsedDocument, ParseRequest
from domain.ports import Parser
from tests.corpus import corpus_bytes
from tests.fakes.llamaparse_server import FakeLlamaParse
from tests.faults import ScriptedParser

EVERY_TYPE = frozenset(MediaType)
TEXT_TYPES = frozenset({MediaType.TEXT, MediaType.MARKDOWN})

#: What each adapter says it reads (its docstring), by test id.
CLAIMS = {
    "local": EVERY_TYPE,
    "local-isolated": EVERY_TYPE,
    "llamaparse": EVERY_TYPE,
    "scripted": TEXT_TYPES,
    "scripted-over-local": EVERY_TYPE,
}
READS_PDF = [kind for kind, types in CLAIMS.items() if MediaType.PDF in types]

SUMMARY = (
    "# Summary of Benefits 2025\n"
    "\n"
    "Annual deductible: $500 per member.\n"
    "\n"
    "## Emergency care\n"
    "\n"
    "Emergency room visits have a $250 copay after the deductible."
)
WITH_PAGE_BREAKS = (
    "Summary of Benefits 2025\n\nAnnual deductible: $500 per member.\f"
    "Emergency room visits have a $250 copay.\f"
    "Generic drugs cost $10 at a preferred pharmacy."
)
PDF_WORDS = [
    "Accessa Health Insurance",
    "Eligibility",
    "In-Network Services",
    "Prescription Drugs",
    "submitted within 60 days of service",
    "1-800-555-1234",
]


class Checkpoint:
    """A job's memory of an external parse job, as the worker keeps it."""

    def __init__(self) -> None:
        self.external_id: str | None = None

    async def save(self, external_id: str) -> None:
        self.external_id = external_id


@attrs.frozen
class Adapter:
    parser: Parser
    claims: frozenset[MediaType]


@pytest.fixture(params=list(CLAIMS))
async def adapter(request: pytest.FixtureRequest) -> AsyncIterator[Adapter]:
    kind: str = request.param
    claims = CLAIMS[kind]
    if kind == "llamaparse":
        with FakeLlamaParse() as server:
            hosted = LlamaParseParser(server.api_key, base_url=server.base_url,
                                      poll_interval=0.01, max_poll_interval=0.04, timeout=30.0)
            yield Adapter(hosted, claims)
            await hosted.aclose()
    elif kind == "local":
        yield Adapter(LocalParser(), claims)
    elif kind == "local-isolated":
        yield Adapter(IsolatedLocalParser(), claims)
    elif kind == "scripted":
        yield Adapter(ScriptedParser(), claims)
    else:
        yield Adapter(ScriptedParser(LocalParser()), claims)


@pytest.fixture
def parser(adapter: Adapter) -> Parser:
    return adapter.parser


async def parse(parser: Parser, data: bytes, media_type: MediaType,
                filename: str = "summary-of-benefits-2025.txt") -> ParsedDocument:
    return await parser.parse(ParseRequest(uuid.uuid4(), filename, media_type, data),
                              Checkpoint())


def page_numbers(parsed: ParsedDocument) -> list[int]:
    return [page.number for page in parsed.pages]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def one_line(text: str) -> str:
    return " ".join(text.split())


def assert_member_readable(error: PermanentError) -> None:
    reason = str(error)
    assert reason.strip(), "a member is shown this reason: it cannot be empty"
    assert "\n" not in reason and len(reason) <= 500
    assert "text" in reason.lower()  # says what is wrong: there is no text to read


# -- what it declares ---------------------------------------------------------------


def test_the_parser_has_a_name_and_supports_exactly_the_types_it_claims(
    adapter: Adapter,
) -> None:
    assert adapter.parser.name.strip()
    assert {t for t in MediaType if adapter.parser.supports(t)} == adapter.claims


# -- text and markdown --------------------------------------------------------------


@pytest.mark.parametrize("media_type", sorted(TEXT_TYPES))
async def test_a_text_or_markdown_file_comes_back_as_its_own_markdown_from_page_one(
    parser: Parser, media_type: MediaType,
) -> None:
    parsed = await parse(parser, SUMMARY.encode(), media_type)

    assert page_numbers(parsed) == [1]
    assert parsed.pages[0].markdown.strip("\n") == SUMMARY


async def test_a_file_with_page_breaks_keeps_every_word_on_pages_numbered_from_one(
    parser: Parser,
) -> None:
    # Hosted parsers and the fake start a page at each form feed; the local parser
    # keeps a text file as one page. Either way nothing is lost or reordered.
    parsed = await parse(parser, WITH_PAGE_BREAKS.encode(), MediaType.TEXT)

    assert page_numbers(parsed) == list(range(1, len(parsed.pages) + 1))
    assert words(" ".join(page.markdown for page in parsed.pages)) == words(WITH_PAGE_BREAKS)


@pytest.mark.parametrize("blank", [b"", b"   \n\n\t  \n"])
async def test_a_text_file_with_nothing_to_read_fails_permanently_with_a_reason(
    parser: Parser, blank: bytes,
) -> None:
    with pytest.raises(PermanentError) as caught:
        await parse(parser, blank, MediaType.TEXT, filename="blank.txt")

    assert_member_readable(caught.value)


# -- PDF ------------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", READS_PDF, indirect=True)
async def test_a_pdf_yields_its_words_on_numbered_pages(parser: Parser) -> None:
    parsed = await parse(parser, corpus_bytes("simulated_insurance_document.pdf"),
                         MediaType.PDF, filename="simulated_insurance_document.pdf")

    assert page_numbers(parsed) == [1]
    text = one_line(parsed.pages[0].markdown)
    for phrase in PDF_WORDS:
        assert phrase in text


@pytest.mark.parametrize("adapter", READS_PDF, indirect=True)
async def test_a_damaged_pdf_without_text_fails_permanently_with_a_reason(
    parser: Parser,
) -> None:
    with pytest.raises(PermanentError) as caught:
        await parse(parser, corpus_bytes("broken_startxref.pdf"), MediaType.PDF,
                    filename="broken_startxref.pdf")

    assert_member_readable(caught.value)


@pytest.mark.parametrize("adapter", READS_PDF, indirect=True)
async def test_the_event_loop_keeps_turning_while_a_long_pdf_parses(parser: Parser) -> None:
    # A worker's heartbeats run on the same loop: a parse may not freeze it. A freeze is
    # the loop's own thread kept busy between two turns, so that is what is measured:
    # the thread's CPU time. Wall time would also count the moments a loaded machine
    # runs other processes instead of this one, and fail a parser that never froze.
    turned_at: list[float] = []  # the loop thread's CPU time at each turn
    parsing = True

    async def heartbeat() -> None:
        while parsing:
            turned_at.append(time.thread_time())
            await asyncio.sleep(0.001)

    beating = asyncio.create_task(heartbeat())
    started, began = time.perf_counter(), time.thread_time()
    try:
        parsed = await parse(parser, corpus_bytes("scan_classic_hmo.pdf"), MediaType.PDF,
                             filename="scan_classic_hmo.pdf")
    finally:
        finished, ended = time.perf_counter(), time.thread_time()
        parsing = False
        await beating

    assert len(parsed.pages) >= 200
    during = [began, *(turn for turn in turned_at if turn <= ended), ended]
    assert len(during) > 20  # a loop blocked in a wait would not turn at all
    longest_busy = max(later - earlier for earlier, later in itertools.pairwise(during))
    assert longest_busy < (finished - started) / 5


# -- determinism --------------------------------------------------------------------


async def test_the_same_file_parses_to_the_same_pages_every_time(adapter: Adapter) -> None:
    samples = {
        MediaType.MARKDOWN: SUMMARY.encode(),
        MediaType.TEXT: WITH_PAGE_BREAKS.encode(),
        MediaType.PDF: corpus_bytes("simulated_insurance_document.pdf"),
    }
    for media_type, data in samples.items():
        if media_type not in adapter.claims:
            continue
        first = await parse(adapter.parser, data, media_type)
        again = await parse(adapter.parser, data, media_type)
        assert first == again, media_type
        assert first.text_length > 0
