"""A member's document never reaches a log, at any level: an upload goes through the
hosted adapters (the real LlamaParse and OpenAI SDKs, against the fakes on
127.0.0.1) with ``LOG_LEVEL=DEBUG``, and no line the service logs holds a word of
the document or its file name. The document is named in logs by its id only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from entrypoints.logs import BODY_CARRYING_LOGGERS, configure_logging
from tests.api.conftest import MakeApi, bearer
from tests.fakes.llamaparse_server import FakeLlamaParse
from tests.fakes.openai_server import FakeOpenAI

FILENAME = "oncology-referral-maria-2025.txt"
#: Distinctive sentences of the member's document; none may appear in a log line.
SENTENCES = [
    "Maria Lopez was referred to oncology on March 3",
    "Her chemotherapy prior authorization number is PA-771-2025",
    "The plan covers infusion therapy at 80 percent after the deductible",
]
DOCUMENT = "\n\n".join(SENTENCES) + "\n"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeOpenAI, FakeLlamaParse]]:
    with FakeOpenAI() as openai, FakeLlamaParse(pending_polls=0) as llamaparse:
        yield openai, llamaparse


@pytest.fixture
def restore_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Puts the logging set-up back before the captured stream closes."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level,
             {name: logging.getLogger(name).level for name in BODY_CARRYING_LOGGERS})
    yield
    root.handlers[:], root.level, levels = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_at_debug_level_no_log_line_holds_the_documents_text_or_its_name(
    restore_logging: None, make_api: MakeApi, fakes: tuple[FakeOpenAI, FakeLlamaParse],
    capsys: pytest.CaptureFixture[str],
) -> None:
    openai, llamaparse = fakes
    api = await make_api(
        LOG_LEVEL="DEBUG",
        LLAMAPARSE_API_KEY=llamaparse.api_key, LLAMAPARSE_BASE_URL=llamaparse.base_url,
        OPENAI_API_KEY=openai.api_key, OPENAI_BASE_URL=openai.base_url,
    )
    configure_logging(api.settings.effective_worker_log_level)  # as the services do
    capsys.readouterr()

    uploaded = await api.upload(FILENAME, DOCUMENT.encode())
    assert uploaded.status_code == 202
    await api.run_worker()
    job = (await api.client.get(f"/api/v1/jobs/{uploaded.json()['job']['id']}",
                                headers=bearer())).json()

    assert job["status"] == "complete", job
    assert llamaparse.uploads == 1 and openai.requests, "the hosted adapters did the work"
    lines = capsys.readouterr().err.splitlines()
    assert logging.getLogger().level == logging.DEBUG
    assert any("/api/v2/parse/upload" in line for line in lines), "the SDKs still log at INFO"
    for line in lines:
        for sentence in SENTENCES:
            assert sentence not in line, f"the document's text was logged: {line[:300]}"
        assert FILENAME not in line, f"the file name was logged: {line[:300]}"
    document_id = uploaded.json()["document"]["id"]
    assert any(document_id in line for line in lines), "the document is named by its id"


@pytest.mark.parametrize("library", ["openai._base_client", "botocore.endpoint"])
def test_a_library_that_turns_its_own_logger_up_later_still_writes_no_debug_lines(
    restore_logging: None, capsys: pytest.CaptureFixture[str], library: str,
) -> None:
    configure_logging("DEBUG")
    capsys.readouterr()
    sdk = logging.getLogger(library)
    sdk.setLevel(logging.DEBUG)  # what the SDK does when it reads OPENAI_LOG=debug
    sdk.debug("Request options: {'input': ['%s']}", SENTENCES[0])
    sdk.info("HTTP Request: POST /v1/embeddings")
    logging.getLogger("navigator.worker").debug("our own debug line")

    written = capsys.readouterr().err
    assert SENTENCES[0] not in written
    assert "HTTP Request" in written and "our own debug line" in written
