"""The local parser: the right reader for each type, off the event loop, clear failures."""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import uuid
from concurrent.futures import ProcessPoolExecutor

import pytest

from adapters.parsers import LocalParser, PdfEngine
from adapters.parsers.docx import NOT_A_DOCX
from adapters.parsers.local import NO_TEXT
from adapters.parsers.pdf import DAMAGED_NO_TEXT, NOT_A_PDF
from adapters.parsers.text import NOT_TEXT
from domain.errors import PermanentError
from domain.model import MediaType, ParsedDocument, ParsedPage, ParseRequest
from domain.ports import Parser
from tests.corpus import corpus_bytes
from tests.unit.parsers.documents import text_pdf, word_document


class _UnusedCheckpoint:
    """A local parse has no external job: touching the checkpoint is a bug."""

    @property
    def external_id(self) -> str | None:
        raise AssertionError("a local parser must not read a checkpoint")

    async def save(self, external_id: str) -> None:
        raise AssertionError("a local parser must not save a checkpoint")


CHECKPOINT = _UnusedCheckpoint()


def request(data: bytes, media_type: MediaType, filename: str = "upload") -> ParseRequest:
    return ParseRequest(uuid.uuid4(), filename, media_type, data)


async def parse(data: bytes, media_type: MediaType, parser: Parser | None = None) -> ParsedDocument:
    return await (parser or LocalParser()).parse(request(data, media_type), CHECKPOINT)


def test_the_local_parser_reads_every_type_the_pipeline_accepts() -> None:
    parser: Parser = LocalParser()
    assert parser.name == "local"
    assert all(parser.supports(media_type) for media_type in MediaType)


async def test_each_type_goes_to_its_own_reader() -> None:
    samples = {
        MediaType.PDF: text_pdf("Claim 2025-0117 approved"),
        MediaType.DOCX: word_document(),
        MediaType.HTML: b"<h2>Claim</h2><p>2025-0117 approved</p>",
        MediaType.MARKDOWN: b"## Claim\n\n2025-0117 approved",
        MediaType.TEXT: b"Claim 2025-0117 approved\r\n",
    }
    first_lines = {}
    for media_type, data in samples.items():
        parsed = await parse(data, media_type)
        assert parsed.parser == "local"
        assert [p.number for p in parsed.pages] == [1]
        first_lines[media_type] = parsed.pages[0].markdown.split("\n")[0]
    assert first_lines == {
        MediaType.PDF: "Claim 2025-0117 approved",
        MediaType.DOCX: "# Sunrise Health Plan",
        MediaType.HTML: "## Claim",
        MediaType.MARKDOWN: "## Claim",
        MediaType.TEXT: "Claim 2025-0117 approved",
    }


async def test_the_sample_policy_pdf_parses_to_its_one_page() -> None:
    parsed = await parse(corpus_bytes("simulated_insurance_document.pdf"), MediaType.PDF)
    assert [p.number for p in parsed.pages] == [1]
    assert "Accessa Support at 1-800-555-1234" in parsed.pages[0].markdown


async def test_the_evidence_of_coverage_parses_with_its_maximum_out_of_pocket() -> None:
    parsed = await parse(corpus_bytes("scan_classic_hmo.pdf"), MediaType.PDF)
    assert len(parsed.pages) == 230 and parsed.pages[-1].number == 232
    assert [p.number for p in parsed.pages if "this amount is $1,500" in p.markdown] == [57]


@pytest.mark.parametrize(
    ("filename", "media_type", "reason"),
    [
        ("broken_startxref.pdf", MediaType.PDF, DAMAGED_NO_TEXT),
        ("fake_docx_plain_text.docx", MediaType.DOCX, NOT_A_DOCX),
    ],
)
async def test_corpus_files_that_cannot_be_read_fail_permanently_with_a_reason(
    filename: str, media_type: MediaType, reason: str,
) -> None:
    with pytest.raises(PermanentError) as failure:
        await parse(corpus_bytes(filename), media_type)
    assert str(failure.value) == reason


@pytest.mark.parametrize(
    ("data", "claimed", "reason"),
    [
        (word_document(), MediaType.PDF, NOT_A_PDF),
        (text_pdf("Claim 2025-0117"), MediaType.DOCX, NOT_A_DOCX),
        (word_document(), MediaType.TEXT, NOT_TEXT),
        (word_document(), MediaType.HTML, NOT_TEXT),
    ],
)
async def test_bytes_that_are_not_the_claimed_type_fail_permanently(
    data: bytes, claimed: MediaType, reason: str,
) -> None:
    with pytest.raises(PermanentError, match=re.escape(reason)):
        await parse(data, claimed)


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (b"   \r\n\t ", MediaType.TEXT),
        (b"\n\n", MediaType.MARKDOWN),
        (b"<html><script>track()</script><nav>Home</nav></html>", MediaType.HTML),
    ],
)
async def test_a_document_without_any_text_fails_permanently(
    data: bytes, media_type: MediaType,
) -> None:
    with pytest.raises(PermanentError) as failure:
        await parse(data, media_type)
    assert str(failure.value) == NO_TEXT == "we could not find any text in this document"


# pdfium, the default engine, is held to this by the parser contract
# (tests/contract/test_parser_contract.py); pypdf, the fallback, here.
@pytest.mark.parametrize("engine", [PdfEngine.PYPDF])
async def test_the_event_loop_keeps_running_while_a_232_page_pdf_parses(
    engine: PdfEngine,
) -> None:
    ticks = 0

    async def tick_every_10_ms() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick_every_10_ms())
    try:
        parsed = await parse(
            corpus_bytes("scan_classic_hmo.pdf"), MediaType.PDF, LocalParser(pdf_engine=engine)
        )
    finally:
        ticker.cancel()
    assert len(parsed.pages) == 230
    # A parse on the loop would leave no room for a single tick; a parse of a few
    # hundred milliseconds in a thread leaves room for dozens.
    assert ticks >= 5


async def test_parses_running_at_once_do_not_disturb_each_other() -> None:
    big = corpus_bytes("scan_classic_hmo.pdf")
    small = corpus_bytes("simulated_insurance_document.pdf")
    alone = [await parse(big, MediaType.PDF), await parse(small, MediaType.PDF)]
    together = await asyncio.gather(
        parse(big, MediaType.PDF), parse(small, MediaType.PDF), parse(big, MediaType.PDF),
        parse(corpus_bytes("broken_startxref.pdf"), MediaType.PDF), return_exceptions=True,
    )
    assert together[:3] == [alone[0], alone[1], alone[0]]
    assert isinstance(together[3], PermanentError)


async def test_parsing_can_run_in_a_process_pool() -> None:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        parser = LocalParser(executor=pool)
        parsed = await parse(text_pdf("Claim 2025-0117", None, "Appeal by May 1"), MediaType.PDF,
                             parser)
        with pytest.raises(PermanentError, match=re.escape(NOT_A_DOCX)):
            await parse(corpus_bytes("fake_docx_plain_text.docx"), MediaType.DOCX, parser)
    assert parsed.pages == (
        ParsedPage(number=1, markdown="Claim 2025-0117"),
        ParsedPage(number=3, markdown="Appeal by May 1"),
    )
