"""``navigator ask``: the answer, then its sources, from a real API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from entrypoints.api.app import create_app
from entrypoints.cli.search import render_answer, sse_events
from entrypoints.container import build_container, running
from entrypoints.settings import load_settings
from entrypoints.tokens import mint_token
from tests.cli.conftest import SECRET, Cli
from tests.fakes.serving import BackgroundServer
from tests.memory_container import use_memory_adapters

POLICY = (b"# Summary of benefits 2025\n\n## Emergency room\n\nEmergency room care costs a "
          b"$250 copay per visit. The copay is waived if you are admitted.\n")


@pytest.fixture
async def api_url(tmp_path: Path) -> AsyncIterator[str]:
    """The API on the in-memory adapters, served on 127.0.0.1, with one processed policy."""
    settings = load_settings({"SUPABASE_JWT_SECRET": SECRET, "RAG_VECTOR_DIMENSION": "256",
                              "NAVIGATOR_HOME": str(tmp_path), "ANSWER_RATE_LIMIT": "3"})
    container = build_container(settings)
    use_memory_adapters(container)
    app = create_app(container)
    async with running(container):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://navigator.test") as client:
            token = mint_token(SECRET, "member-maria")
            await client.post("/api/v1/documents", files={"file": ("benefits.md", POLICY)},
                              headers={"Authorization": f"Bearer {token}"})
        await container.worker(worker_id="cli-test").drain()
        with BackgroundServer(app) as url:
            yield url


async def test_ask_prints_the_answer_then_its_sources(cli: Cli, api_url: str) -> None:
    result = await cli.run_async("ask", "--api", api_url, "--member", "member-maria",
                                 "How much is the emergency room copay?")

    assert result.code == 0, result.err
    answer, sources = result.out.split("Sources:")
    assert "$250 copay per visit" in answer and "[1]" in answer
    assert "[1] benefits.md, page 1" in sources
    assert "extracted from your documents" in sources
    assert "Corrected answer" not in result.out


async def test_ask_without_streaming_prints_the_same_answer(cli: Cli, api_url: str) -> None:
    result = await cli.run_async("ask", "--no-stream", "--api", api_url, "--member",
                                 "member-maria", "How much is the emergency room copay?")

    assert result.code == 0, result.err
    assert result.out.startswith("Extracted from your documents")
    assert "[1] benefits.md, page 1" in result.out


async def test_ask_says_when_the_documents_do_not_cover_the_question(
    cli: Cli, api_url: str,
) -> None:
    result = await cli.run_async("ask", "--api", api_url, "--member", "member-omar",
                                 "How much is the emergency room copay?")

    assert result.code == 0
    assert "don't cover" in result.out and "Sources:" not in result.out


async def test_ask_past_the_rate_limit_fails_with_the_reason(cli: Cli, api_url: str) -> None:
    for _ in range(3):
        await cli.run_async("ask", "--api", api_url, "--member", "member-maria", "copay?")

    result = await cli.run_async("ask", "--api", api_url, "--member", "member-maria", "copay?")

    assert result.code == 1
    assert "3 questions in the last 10 minutes" in result.err


def test_an_empty_question_is_a_usage_error_from_the_api(cli: Cli) -> None:
    with BackgroundServer(_refusing_app()) as url:
        result = cli.run("ask", "--api", url, "   ")

    assert result.code == 2
    assert "question" in result.err


def _refusing_app() -> object:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def refuse(_request: object) -> JSONResponse:
        return JSONResponse({"status": 422, "detail": "question: String should match pattern"},
                            status_code=422, media_type="application/problem+json")

    return Starlette(routes=[Route("/api/v1/answers", refuse, methods=["POST"])])


def test_server_sent_events_are_read_as_name_and_data() -> None:
    lines = ["event: delta", 'data: {"text": "a"}', "", "event: done", 'data: {"x": 1}', ""]

    assert list(sse_events(lines)) == [("delta", {"text": "a"}), ("done", {"x": 1})]


def test_a_corrected_answer_is_printed_again_and_removed_citations_are_noted() -> None:
    answer = {"question": "copay?", "answer": "The copay is $250 [1].", "kind": "generated",
              "model": "claude-sonnet-4-6", "citations": [], "removed_citations": [7],
              "withheld": False, "tokens": {"input": 1200, "output": 30}}

    shown = render_answer(answer, shown="The copay is $250 [1] or $9 [7].")

    assert "Corrected answer" in shown and "The copay is $250 [1]." in shown
    assert "removed citation(s) [7]" in shown
    assert "generated by claude-sonnet-4-6 · 1,200 tokens in, 30 out" in shown
