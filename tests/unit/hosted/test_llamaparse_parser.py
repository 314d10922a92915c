"""LlamaParse through the real llama-cloud SDK, against the fake LlamaParse on 127.0.0.1."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from adapters.llamaparse_parser import LlamaParseParser
from domain.errors import PermanentError, TransientError
from domain.model import MediaType, ParsedPage, ParseRequest
from tests.fakes.llamaparse_server import (
    Cancelled,
    FailedPages,
    Fails,
    FakeLlamaParse,
    RateLimited,
    Rejected,
    ServerError,
    Slow,
    Succeeds,
)
from tests.ports import free_port

POLICY = b"# Summary of Benefits\n\nDeductible: $500\fEmergency room: $250 copay\fPharmacy"


class Checkpoint:
    """Our job's memory of the LlamaParse job id, as the worker's checkpoint keeps it."""

    def __init__(self, external_id: str | None = None,
                 on_save: Callable[[str], None] | None = None) -> None:
        self.external_id = external_id
        self.saved: list[str] = []
        self._on_save = on_save

    async def save(self, external_id: str) -> None:
        self.external_id = external_id
        self.saved.append(external_id)
        if self._on_save is not None:
            self._on_save(external_id)


class WorkerCrashed(Exception):
    pass


def request(data: bytes = POLICY, filename: str = "summary-of-benefits-2025.txt",
            media_type: MediaType = MediaType.TEXT) -> ParseRequest:
    return ParseRequest(uuid.uuid4(), filename, media_type, data)


def parser_for(server: FakeLlamaParse, **options: object) -> LlamaParseParser:
    settings: dict[str, object] = dict(poll_interval=0.01, max_poll_interval=0.04, timeout=5.0)
    settings.update(options)
    return LlamaParseParser(server.api_key, base_url=server.base_url, **settings)  # type: ignore[arg-type]


@pytest.fixture
async def parser(llamaparse_server: FakeLlamaParse) -> AsyncIterator[LlamaParseParser]:
    parser = parser_for(llamaparse_server)
    yield parser
    await parser.aclose()


# -- success -----------------------------------------------------------------------


async def test_a_parsed_file_comes_back_as_markdown_page_by_page(parser, llamaparse_server):
    parsed = await parser.parse(request(), Checkpoint())

    assert parsed.parser == "llamaparse"
    assert parsed.pages == (
        ParsedPage(1, "# Summary of Benefits\n\nDeductible: $500"),
        ParsedPage(2, "Emergency room: $250 copay"),
        ParsedPage(3, "Pharmacy"),
    )
    (job,) = llamaparse_server.jobs.values()
    assert job.filename == "summary-of-benefits-2025.txt"
    assert job.content_type == "text/plain"
    assert job.configuration["tier"] == "cost_effective"


async def test_the_parser_waits_while_the_job_is_pending(llamaparse_server):
    llamaparse_server.pending_polls = 4
    parser = parser_for(llamaparse_server)

    await parser.parse(request(), Checkpoint())

    (job,) = llamaparse_server.jobs.values()
    assert job.polls == 5  # four times not ready, then done
    await parser.aclose()


async def test_the_job_id_is_saved_before_any_waiting(parser, llamaparse_server):
    seen_at_save: list[list[str]] = []
    checkpoint = Checkpoint(on_save=lambda _: seen_at_save.append(list(llamaparse_server.events)))

    await parser.parse(request(), checkpoint)

    (job_id,) = checkpoint.saved
    assert seen_at_save == [[f"upload {job_id}"]]  # no status check, no result yet
    assert llamaparse_server.events[-1] == f"result {job_id} COMPLETED"


async def test_a_worker_that_crashed_after_uploading_is_resumed_without_a_second_upload(
    llamaparse_server,
):
    def crash(_: str) -> None:
        raise WorkerCrashed

    checkpoint = Checkpoint(on_save=crash)
    with pytest.raises(WorkerCrashed):
        await parser_for(llamaparse_server).parse(request(), checkpoint)
    saved_id = checkpoint.external_id

    successor = parser_for(llamaparse_server)
    parsed = await successor.parse(request(), Checkpoint(external_id=saved_id))

    assert llamaparse_server.uploads == 1
    assert parsed.pages[1].markdown == "Emergency room: $250 copay"
    assert llamaparse_server.polls_of(saved_id) == 3
    await successor.aclose()


async def test_a_resumed_job_that_llamaparse_no_longer_knows_is_uploaded_again(
    parser, llamaparse_server,
):
    first = Checkpoint()
    await parser.parse(request(), first)
    llamaparse_server.forget(first.saved[0])

    checkpoint = Checkpoint(external_id=first.saved[0])
    parsed = await parser.parse(request(), checkpoint)

    assert llamaparse_server.uploads == 2
    assert checkpoint.saved and checkpoint.saved[0] != first.saved[0]
    assert len(parsed.pages) == 3


async def test_a_page_llamaparse_failed_on_is_kept_empty_and_the_rest_is_parsed(
    parser, llamaparse_server,
):
    llamaparse_server.next_jobs(FailedPages(pages=("Cover", "lost", "Exclusions"), failed=(2,)))

    parsed = await parser.parse(request(), Checkpoint())

    assert parsed.pages == (ParsedPage(1, "Cover"), ParsedPage(2, ""),
                            ParsedPage(3, "Exclusions"))


async def test_a_rate_limited_status_check_is_waited_out_within_the_same_attempt(
    parser, llamaparse_server,
):
    llamaparse_server.script_status(RateLimited(retry_after=0.05), ServerError(503))

    parsed = await parser.parse(request(), Checkpoint())

    assert len(parsed.pages) == 3
    assert llamaparse_server.uploads == 1


# -- failures ----------------------------------------------------------------------


async def test_a_job_that_outlives_the_timeout_is_transient_and_keeps_its_id(llamaparse_server):
    llamaparse_server.pending_polls = 10_000
    checkpoint = Checkpoint()
    parser = parser_for(llamaparse_server, timeout=0.2)

    with pytest.raises(TransientError, match="still") as caught:
        await parser.parse(request(), checkpoint)

    assert checkpoint.external_id is not None
    assert checkpoint.external_id in str(caught.value)
    llamaparse_server.finish_at_next_check(checkpoint.external_id)
    await parser.parse(request(), checkpoint)  # the retry picks the same job up
    assert llamaparse_server.uploads == 1
    await parser.aclose()


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [(Fails("Encrypted PDF: a password is required"), "Encrypted PDF"),
     (Cancelled(), "cancelled")],
)
async def test_a_job_that_ends_badly_is_permanent_with_llamaparse_s_reason(
    parser, llamaparse_server, outcome, reason,
):
    llamaparse_server.next_jobs(outcome)

    with pytest.raises(PermanentError, match=reason):
        await parser.parse(request(), Checkpoint())


@pytest.mark.parametrize("pages", [(), ("", "  \n ")])
async def test_a_result_without_text_is_permanent(parser, llamaparse_server, pages):
    llamaparse_server.next_jobs(Succeeds(pages=pages))

    with pytest.raises(PermanentError, match="no text"):
        await parser.parse(request(), Checkpoint())


async def test_a_rate_limited_upload_is_transient_with_the_wait_llamaparse_asks_for(
    parser, llamaparse_server,
):
    llamaparse_server.script_uploads(RateLimited(retry_after=7))
    checkpoint = Checkpoint()

    with pytest.raises(TransientError) as caught:
        await parser.parse(request(), checkpoint)

    assert caught.value.retry_after == 7
    assert checkpoint.saved == []
    assert llamaparse_server.uploads == 0


@pytest.mark.parametrize("status", [500, 502, 503, 408])
async def test_a_server_error_on_upload_is_transient(parser, llamaparse_server, status):
    llamaparse_server.script_uploads(ServerError(status))

    with pytest.raises(TransientError, match=str(status)):
        await parser.parse(request(), Checkpoint())


async def test_the_sdk_does_not_retry_behind_the_queue_s_back(parser, llamaparse_server):
    llamaparse_server.script_uploads(ServerError(500))

    with pytest.raises(TransientError):
        await parser.parse(request(), Checkpoint())

    assert llamaparse_server.uploads == 0
    assert not llamaparse_server.jobs
    await parser.parse(request(), Checkpoint())
    assert llamaparse_server.uploads == 1


async def test_status_checks_that_keep_failing_are_transient_and_keep_the_id(
    parser, llamaparse_server,
):
    llamaparse_server.script_status(ServerError(500), ServerError(502), ServerError(500))
    checkpoint = Checkpoint()

    with pytest.raises(TransientError, match="status check"):
        await parser.parse(request(), checkpoint)

    assert checkpoint.external_id in llamaparse_server.jobs


async def test_a_file_llamaparse_refuses_is_permanent_with_its_reason(parser, llamaparse_server):
    llamaparse_server.script_uploads(Rejected(400, "Unsupported file type: .xyz"))

    with pytest.raises(PermanentError, match=r"\(400\): Unsupported file type: \.xyz"):
        await parser.parse(request(), Checkpoint())


async def test_an_upload_slower_than_the_http_timeout_is_transient(llamaparse_server):
    llamaparse_server.script_uploads(Slow(2.0))
    parser = parser_for(llamaparse_server, http_timeout=0.2)

    with pytest.raises(TransientError, match="timed out"):
        await parser.parse(request(), Checkpoint())
    await parser.aclose()


async def test_an_unreachable_service_is_transient():
    port = free_port()  # nothing listens there, nor will
    parser = LlamaParseParser("llx-anything", base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(TransientError, match="connection"):
        await parser.parse(request(), Checkpoint())
    await parser.aclose()


async def test_a_refused_key_is_permanent_and_never_repeated(llamaparse_server, caplog):
    secret = "llx-this-key-is-wrong-0123456789"
    parser = LlamaParseParser(secret, base_url=llamaparse_server.base_url)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PermanentError, match="LLAMAPARSE_API_KEY") as caught:
        await parser.parse(request(), Checkpoint())

    assert "401" in str(caught.value)
    assert secret not in str(caught.value)
    assert secret not in repr(parser)
    assert secret not in caplog.text
    await parser.aclose()


def test_the_parser_takes_every_file_type_the_pipeline_accepts():
    parser = LlamaParseParser("llx-anything")

    assert all(parser.supports(media_type) for media_type in MediaType)
    assert parser.name == "llamaparse"
