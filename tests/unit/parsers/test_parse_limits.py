"""A hostile file cannot take more than its share of a worker: the parser the worker
is given (built from the settings, as in production) reads each file in a child
process under a memory cap, a CPU-time cap and a wall-clock timeout. A file that
breaks one fails for good, with a reason a member understands, and the worker's
other jobs carry on.

The limits are set small here so the hostile files can stay small and quick.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import attrs
import pytest

from adapters.parsers.isolated import IsolatedLocalParser, ParseLimits
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.errors import PermanentError
from domain.model import MediaType, ParseRequest
from domain.ports import Parser
from domain.status import JobStatus
from domain.units import MIB
from entrypoints.container.adapters import make_parser
from entrypoints.settings import load_settings
from tests.corpus import corpus_bytes
from tests.unit.parsers.hostile import word_document_with_paragraphs
from tests.unit.test_use_cases import Rig

TAKES_TOO_LONG = "this file takes too long to read"
NEEDS_TOO_MUCH_MEMORY = "this file needs too much memory to read"


def parser_from_settings(tmp_path: Path, **env: str) -> Parser:
    return make_parser(load_settings({"NAVIGATOR_HOME": str(tmp_path), **env}))


async def parse(parser: Parser, data: bytes, media_type: MediaType) -> str:
    request = ParseRequest(uuid.uuid4(), "member-upload", media_type, data)
    parsed = await parser.parse(request, _NoCheckpoint())
    return "\n".join(page.markdown for page in parsed.pages)


class _NoCheckpoint:
    external_id: str | None = None

    async def save(self, external_id: str) -> None:
        raise AssertionError("a local parse has no external job")


def slow_word_document() -> bytes:
    """40 KB on disk; python-docx needs many seconds of CPU to read its paragraphs."""
    return word_document_with_paragraphs(3_000)


def bloated_word_document() -> bytes:
    """220 KB on disk, 68 MB unpacked (under the unpacked-size cap): libxml2 needs far
    more than 256 MiB to hold its million paragraphs."""
    return word_document_with_paragraphs(1_000_000)


async def test_a_file_that_needs_more_cpu_time_than_allowed_fails_for_good(
    tmp_path: Path,
) -> None:
    parser = parser_from_settings(tmp_path, PARSER_CPU_LIMIT_SECONDS="1")
    with pytest.raises(PermanentError, match=TAKES_TOO_LONG):
        await parse(parser, slow_word_document(), MediaType.DOCX)


async def test_a_file_that_takes_longer_than_the_timeout_fails_for_good(
    tmp_path: Path,
) -> None:
    parser = parser_from_settings(tmp_path, PARSER_TIMEOUT_SECONDS="0.5")
    with pytest.raises(PermanentError, match=TAKES_TOO_LONG):
        await parse(parser, slow_word_document(), MediaType.DOCX)


async def test_a_file_that_needs_more_memory_than_allowed_fails_for_good(
    tmp_path: Path,
) -> None:
    parser = parser_from_settings(tmp_path, PARSER_MEMORY_LIMIT_MIB="256")
    with pytest.raises(PermanentError, match=NEEDS_TOO_MUCH_MEMORY):
        await parse(parser, bloated_word_document(), MediaType.DOCX)


async def test_a_text_too_big_for_the_memory_cap_fails_for_good() -> None:
    parser = IsolatedLocalParser(limits=ParseLimits(memory_bytes=256 * MIB))
    text = b"Your deductible is $250 a year.\n" * (2 * MIB)  # 64 MiB of words
    with pytest.raises(PermanentError, match=NEEDS_TOO_MUCH_MEMORY):
        await parse(parser, text, MediaType.TEXT)


async def test_a_parser_error_comes_back_from_the_child_as_it_was_raised() -> None:
    with pytest.raises(PermanentError) as failure:
        await parse(IsolatedLocalParser(), corpus_bytes("fake_docx_plain_text.docx"),
                    MediaType.DOCX)
    assert str(failure.value).startswith("this file is named like a Word document but is not")


async def test_the_same_parser_reads_the_next_file_after_one_broke_a_limit() -> None:
    parser = IsolatedLocalParser(limits=ParseLimits(cpu_seconds=1))
    with pytest.raises(PermanentError, match=TAKES_TOO_LONG):
        await parse(parser, slow_word_document(), MediaType.DOCX)
    text = await parse(parser, b"Your deductible is $250 a year.", MediaType.TEXT)
    assert text == "Your deductible is $250 a year."


async def test_a_worker_fails_the_hostile_file_and_finishes_its_other_jobs() -> None:
    rig = Rig(TiktokenTokenizer())
    rig.parser = IsolatedLocalParser(limits=ParseLimits(cpu_seconds=1))  # type: ignore[assignment]
    hostile = await rig.submit(slow_word_document(), "summary.docx")
    honest = await rig.submit(b"# Plan summary\n\nYour deductible is $250 a year.\n",
                              "plan.md")

    await rig.worker(concurrency=2).drain()

    failed = await rig.job(hostile)
    assert (failed.status, failed.failed_stage) == (JobStatus.FAILED, "parse")
    # failed at once, not after retries ("gave up after 4 attempts; ...")
    assert failed.last_error is not None and failed.last_error.startswith(TAKES_TOO_LONG)
    assert (await rig.job(honest)).status is JobStatus.COMPLETE


def test_the_limits_come_from_the_settings(tmp_path: Path) -> None:
    parser = parser_from_settings(tmp_path, PARSER_MEMORY_LIMIT_MIB="512",
                                  PARSER_CPU_LIMIT_SECONDS="30", PARSER_TIMEOUT_SECONDS="60")
    assert isinstance(parser, IsolatedLocalParser)
    assert attrs.asdict(parser.limits) == {"memory_bytes": 512 * MIB, "cpu_seconds": 30,
                                           "wall_seconds": 60}
