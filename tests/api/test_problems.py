"""Every error is problem+json, mapped from the domain's errors in one place."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import uvicorn
from dependency_injector import providers

from domain.errors import (
    Conflict,
    EmptyFile,
    FileTooLarge,
    IllegalTransition,
    InvalidQuery,
    LeaseLost,
    NotFound,
    PermanentError,
    PipelineError,
    QuotaExceeded,
    StoreOutcomeUnknown,
    StoreUnavailable,
    TransientError,
    UnsupportedFileType,
)
from entrypoints.api.problems import domain_problem
from entrypoints.container import Container
from tests.api.conftest import Api, MakeApi, bearer
from tests.api.test_documents import is_problem


class Raising:
    """Any method call raises ``error``: a stand-in for a broken adapter or use case."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        async def fail(*_args: object, **_kwargs: object) -> None:
            raise self.error

        return fail

    async def __call__(self, *_args: object, **_kwargs: object) -> None:
        raise self.error


def broken(provider: str, error: BaseException) -> Callable[[Container], None]:
    def override(container: Container) -> None:
        getattr(container, provider).override(providers.Object(Raising(error)))

    return override


@pytest.mark.parametrize(("error", "status"), [
    (FileTooLarge("x"), 413), (UnsupportedFileType("x"), 415), (EmptyFile("x"), 422),
    (QuotaExceeded("x"), 429), (NotFound("x"), 404), (Conflict("x"), 409),
    (InvalidQuery("x"), 422), (TransientError("x"), 503), (PermanentError("x"), 502),
    (StoreUnavailable("x"), 503), (StoreOutcomeUnknown("x"), 503),
])
def test_domain_errors_map_to_their_status(error: PipelineError, status: int) -> None:
    mapped = domain_problem(error)

    assert mapped is not None
    assert mapped[0] == status


@pytest.mark.parametrize("error", [LeaseLost("x"), IllegalTransition("x"), PipelineError("x")])
def test_errors_that_belong_inside_the_worker_have_no_member_facing_status(
    error: PipelineError,
) -> None:
    assert domain_problem(error) is None


async def test_an_internal_error_that_leaks_is_a_plain_500_without_its_message(
    make_api: MakeApi,
) -> None:
    api = await make_api(override=broken("show_job", LeaseLost("worker w-1 lost job 42")))

    response = await api.client.get("/api/v1/jobs/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10",
                                    headers=bearer())

    body = is_problem(response, 500)
    assert "w-1" not in response.text
    assert body["detail"] == "something went wrong on our side; try again later"


async def test_a_driver_error_that_reaches_the_api_is_a_plain_500(make_api: MakeApi) -> None:
    """The adapters turn a lost database into ``StoreUnavailable`` (tested with each
    adapter in tests/integration/test_store_outages.py); anything else reaching the API
    from below, even a connection error, means an adapter failed to: a bug."""
    api = await make_api(override=broken(
        "documents", ConnectionRefusedError(111, "Connection refused to db.internal")))

    response = await api.client.get("/api/v1/documents", headers=bearer())

    body = is_problem(response, 500)
    assert "db.internal" not in response.text
    assert body["detail"] == "something went wrong on our side; try again later"


async def test_a_busy_embedding_service_during_search_is_a_503(make_api: MakeApi) -> None:
    api = await make_api(override=broken(
        "search_documents", TransientError("the embedding service is busy", retry_after=20)
    ))

    response = await api.client.post("/api/v1/search", json={"query": "deductible"},
                                     headers=bearer())

    body = is_problem(response, 503)
    assert response.headers["retry-after"] == "20"
    assert body["detail"] == "the embedding service is busy"


async def test_a_provider_refusing_our_key_during_search_is_a_502_that_says_why(
    make_api: MakeApi,
) -> None:
    reason = "OpenAI rejected the API key (401); set a valid OPENAI_API_KEY"
    api = await make_api(override=broken("search_documents", PermanentError(reason)))

    response = await api.client.post("/api/v1/search", json={"query": "deductible"},
                                     headers=bearer())

    assert is_problem(response, 502)["detail"] == reason


async def test_an_unknown_route_is_a_problem_404(api: Api) -> None:
    body = is_problem(await api.client.get("/api/v2/documents"), 404)

    assert "/docs" in str(body["detail"])


async def test_a_wrong_method_is_a_problem_405(api: Api) -> None:
    body = is_problem(await api.client.put("/api/v1/documents", headers=bearer()), 405)

    assert "PUT" in str(body["detail"])


async def test_an_invalid_json_body_lists_what_to_fix(api: Api) -> None:
    response = await api.client.post("/api/v1/search", content=b"{not json",
                                     headers={**bearer(), "Content-Type": "application/json"})

    body = is_problem(response, 422)
    assert body["errors"]


async def test_an_unexpected_crash_is_a_problem_500(make_api: MakeApi) -> None:
    api = await make_api(override=broken("show_job", RuntimeError("secret internals")))
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/jobs/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10",
                                    headers=bearer())

    is_problem(response, 500)
    assert "secret internals" not in response.text


# -- the database goes away: 503 on every path, never 500 ------------------------------

JOB = "0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10"
#: (use case or port the route runs, method, path, JSON body): every member route that
#: talks to the database.
DATABASE_ROUTES = [
    ("documents", "GET", "/api/v1/documents", None),
    ("show_document", "GET", f"/api/v1/documents/{JOB}", None),
    ("delete_document", "DELETE", f"/api/v1/documents/{JOB}", None),
    ("show_job", "GET", f"/api/v1/jobs/{JOB}", None),
    ("retry_failed_job", "POST", f"/api/v1/jobs/{JOB}/retry", None),
    ("search_documents", "POST", "/api/v1/search", {"query": "deductible"}),
]


@pytest.mark.parametrize(("provider", "method", "path", "body"), DATABASE_ROUTES)
async def test_a_store_that_went_away_is_a_503_with_retry_after_on_every_route(
    make_api: MakeApi, provider: str, method: str, path: str, body: object,
) -> None:
    api = await make_api(override=broken(
        provider, StoreUnavailable("the database is unreachable: AdminShutdownError")))

    response = await api.client.request(method, path, json=body, headers=bearer())

    problem = is_problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert "AdminShutdownError" not in response.text  # driver class names stay in the log
    assert "try again" in str(problem["detail"])


async def test_an_upload_the_database_never_took_says_it_was_not_stored(
    make_api: MakeApi,
) -> None:
    api = await make_api(override=broken("submit_upload", StoreUnavailable(
        "the database went away before the upload was committed: nothing was stored")))

    response = await api.upload("policy.txt", b"Deductible: $250 per year.\n")

    body = is_problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert body["stored"] is False
    assert "not stored" in str(body["detail"])


async def test_an_upload_whose_commit_was_cut_off_says_so_and_that_sending_it_again_is_safe(
    make_api: MakeApi,
) -> None:
    api = await make_api(override=broken("submit_upload", StoreOutcomeUnknown(
        "the database went away while committing the upload")))

    response = await api.upload("policy.txt", b"Deductible: $250 per year.\n")

    body = is_problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert body["stored"] is None
    assert "not known" in str(body["detail"]) and "same file again" in str(body["detail"])


# -- an error never costs the client its connection ------------------------------------


async def test_a_crash_is_answered_without_raising_to_the_server(make_api: MakeApi) -> None:
    """The in-process transport raises what the app raises: nothing reaches it."""
    api = await make_api(override=broken("show_job", RuntimeError("secret internals")))

    response = await api.client.get(f"/api/v1/jobs/{JOB}", headers=bearer())

    is_problem(response, 500)


async def _two_answers_on_one_connection(app: Any, first: str, second: str) -> list[int]:
    """Serve ``app`` with uvicorn on 127.0.0.1 and send two requests on one keep-alive
    connection, the second as soon as the first is answered in full (as a client that
    retries at once does); the statuses of the answers that came back."""
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()  # a connection waits in the backlog until the server accepts it
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    statuses: list[int] = []
    try:
        async with asyncio.timeout(10):
            reader, writer = await asyncio.open_connection(*listening.getsockname())
            token = bearer()["Authorization"]
            for path in (first, second):
                writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: {token}"
                             "\r\n\r\n".encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                lines = head.decode().split("\r\n")
                length = next(int(line.split(":")[1]) for line in lines
                              if line.lower().startswith("content-length:"))
                await reader.readexactly(length)
                statuses.append(int(lines[0].split()[1]))
            writer.close()
    except asyncio.IncompleteReadError:  # the server hung up without answering
        pass
    finally:
        server.should_exit = True
        await serving
        listening.close()
    return statuses


async def test_a_crash_does_not_drop_the_next_request_on_the_same_connection(
    make_api: MakeApi,
) -> None:
    api = await make_api(override=broken("show_job", RuntimeError("secret internals")))

    statuses = await _two_answers_on_one_connection(api.app, f"/api/v1/jobs/{JOB}", "/health/live")

    assert statuses == [500, 200]


async def test_a_lost_database_does_not_drop_the_next_request_on_the_same_connection(
    make_api: MakeApi,
) -> None:
    api = await make_api(override=broken("documents", StoreUnavailable(
        "the database is unreachable: InternalClientError")))

    statuses = await _two_answers_on_one_connection(api.app, "/api/v1/documents", "/health/live")

    assert statuses == [503, 200]
