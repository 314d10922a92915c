"""One upload followed from the request through every worker step, in one trace.

The real app and container on PostgreSQL, the worker in the same process (its step
spans find their parent only through the trace context stored on the job, as a
worker on another machine would), OpenAI and Anthropic served by the fakes on
127.0.0.1, and every span kept by an in-memory exporter.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from entrypoints.container import Container
from tests.api.conftest import SECRET, api_on_postgres, bearer
from tests.fakes.anthropic_server import FakeAnthropic, Reply
from tests.fakes.openai_server import FakeOpenAI
from tests.tracing import traced

pytestmark = pytest.mark.postgres

#: Words that occur only in the document and in the question: no span may carry them.
DOCUMENT = (
    b"# Summary of benefits 2025\n\n## Deductible\n\nThe marmalade deductible is $517 per "
    b"member.\n\n## Maximum out-of-pocket\n\nThe most you pay in a year is $4,900.\n"
)
DOCUMENT_WORDS = ("marmalade", "$517", "4,900", "Summary of benefits")
QUESTION = "How much is the quokka-shaped deductible?"
STEPS = ["parse", "validate", "chunk", "queue", "embed", "finalize"]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with traced() as exporter:
        yield exporter


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def wired(
    postgres_dsn: str, pg_schema: str, tmp_path: Path, spans: InMemorySpanExporter,
    openai_server: FakeOpenAI, anthropic_server: FakeAnthropic,
) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    async with api_on_postgres(
        postgres_dsn, pg_schema, tmp_path,
        OPENAI_API_KEY=openai_server.api_key, OPENAI_BASE_URL=openai_server.base_url,
        ANTHROPIC_API_KEY=anthropic_server.api_key,
        ANTHROPIC_BASE_URL=anthropic_server.base_url, RAG_SIMILARITY_THRESHOLD="0",
    ) as wired:
        yield wired


def server_span(spans: Sequence[ReadableSpan], request_id: str) -> ReadableSpan:
    [span] = [s for s in spans if s.kind.name == "SERVER"
              and (s.attributes or {}).get("navigator.request_id") == request_id]
    return span


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None
            and s.parent.span_id == parent.context.span_id]


def descendants(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    found, frontier = [], [root]
    while frontier:
        below = [c for parent in frontier for c in children(spans, parent)]
        found.extend(below)
        frontier = below
    return found


def every_value(span: ReadableSpan) -> list[str]:
    """Every attribute value of the span and of its events, as text."""
    values = [str(v) for v in (span.attributes or {}).values()]
    for event in span.events:
        values.extend(str(v) for v in (event.attributes or {}).values())
    values.append(span.name)
    return values


async def test_an_upload_its_six_steps_a_search_and_an_answer_are_traced_with_their_parents(
    wired: tuple[httpx.AsyncClient, Container], spans: InMemorySpanExporter,
    openai_server: FakeOpenAI, anthropic_server: FakeAnthropic,
) -> None:
    client, container = wired
    anthropic_server.script(Reply("The deductible is $517 per member [1]."))

    uploaded = await client.post("/api/v1/documents", files={"file": ("plan.md", DOCUMENT)},
                                 headers={**bearer(), "X-Request-ID": "upload-0001"})
    await container.worker(worker_id="traced-worker").drain()
    searched = await client.post("/api/v1/search", json={"query": QUESTION},
                                 headers={**bearer(), "X-Request-ID": "search-0001"})
    answered = await client.post("/api/v1/answers", json={"question": QUESTION},
                                 headers={**bearer(), "X-Request-ID": "answer-0001"})
    finished = list(spans.get_finished_spans())

    assert uploaded.status_code == 202 and searched.status_code == 200, searched.text
    assert answered.status_code == 200, answered.text
    upload = server_span(finished, "upload-0001")
    # The six steps: children of the upload's request span, in its trace, in order.
    steps = [s for s in finished if s.name.startswith("step ")]
    assert [s.name for s in steps] == [f"step {step}" for step in STEPS]
    for step in steps:
        assert step.context.trace_id == upload.context.trace_id
        assert step.parent is not None and step.parent.span_id == upload.context.span_id
        assert step.parent.is_remote  # found through the job's row, not this process
        assert (step.attributes or {})["navigator.step.outcome"] == "ok"
        assert (step.attributes or {})["navigator.job_id"] == uploaded.json()["job"]["id"]
    # The upload's statements (the submit) are the request's children; each step's
    # statements (its result written, fenced) and hosted calls are the step's.
    statements = [s for s in children(finished, upload)
                  if "db.statement" in (s.attributes or {})]
    assert any("INSERT INTO" in str(s.attributes["db.statement"]) for s in statements)  # type: ignore[index]
    by_step = {s.name.removeprefix("step "): children(finished, s) for s in steps}
    for step in STEPS:
        assert any("db.statement" in (c.attributes or {}) for c in by_step[step]), step
    assert [c.name for c in by_step["embed"] if c.name.startswith("openai")] == \
        ["openai embeddings"]
    # A search: its request, its statements and the question's embedding, in its trace.
    search = server_span(finished, "search-0001")
    below_search = descendants(finished, search)
    assert "openai embeddings" in [s.name for s in below_search]
    assert any("db.statement" in (s.attributes or {}) for s in below_search)
    # An answer: the search it makes and Claude's answer, under the answer's request.
    answer = server_span(finished, "answer-0001")
    below_answer = [s.name for s in descendants(finished, answer)]
    assert "openai embeddings" in below_answer and "anthropic messages" in below_answer
    for span in (search, answer):
        assert span.context.trace_id != upload.context.trace_id
    # Nothing secret and nothing a member wrote: no document text, no question, no key,
    # no token; statements are our SQL with placeholders, never the values.
    secrets = (openai_server.api_key, anthropic_server.api_key, SECRET,
               bearer()["Authorization"].removeprefix("Bearer "))
    # The file's name and hash and the member's id are only ever statement parameters.
    parameters = ("plan.md", hashlib.sha256(DOCUMENT).hexdigest(), "member-1")
    forbidden = (*DOCUMENT_WORDS, "quokka", *secrets, *parameters)
    for span in finished:
        for value in every_value(span):
            leaked = [word for word in forbidden if word in value]
            assert not leaked, f"{span.name} carries {leaked}"
        assert "db.statement.parameters" not in (span.attributes or {})


async def test_the_workers_polls_between_jobs_start_no_traces_of_their_own(
    wired: tuple[httpx.AsyncClient, Container], spans: InMemorySpanExporter,
) -> None:
    _client, container = wired

    await container.worker(worker_id="idle-worker").drain()

    assert list(spans.get_finished_spans()) == []


async def test_health_and_metrics_are_not_traced_and_a_query_string_is_not_kept(
    wired: tuple[httpx.AsyncClient, Container], spans: InMemorySpanExporter,
) -> None:
    client, _container = wired

    await client.get("/health")
    await client.get("/metrics")
    listed = await client.get("/api/v1/documents?limit=5&token=sign-in-secret",
                              headers=bearer())
    finished = list(spans.get_finished_spans())

    assert listed.status_code == 200
    assert [s for s in finished if s.kind.name == "SERVER"
            and (s.attributes or {}).get("http.target", "").startswith(("/health", "/metrics"))
            ] == []
    assert len([s for s in finished if s.kind.name == "SERVER"]) == 1
    assert not [v for s in finished for v in every_value(s) if "sign-in-secret" in v]
