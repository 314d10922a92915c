"""A request id on every answer, in every problem+json error and every log line of the
request: the client's own when it is well formed, else a new one."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest

from entrypoints.api.request_ids import request_id_from
from entrypoints.logs import BODY_CARRYING_LOGGERS, configure_logging
from tests.api.conftest import ORIGIN, Api, MakeApi, bearer
from tests.api.test_answers import breaking, events
from tests.api.test_documents import POLICY, is_problem
from tests.api.test_problems import broken

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_an_answer_carries_a_new_request_id_when_the_client_sent_none(api: Api) -> None:
    first = await api.client.get("/health")
    second = await api.client.get("/api/v1/documents", headers=bearer())

    assert GENERATED.fullmatch(first.headers["X-Request-ID"])
    assert GENERATED.fullmatch(second.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_the_clients_well_formed_request_id_is_kept(api: Api) -> None:
    response = await api.client.get("/api/v1/documents", headers={
        **bearer(), "X-Request-ID": "app-7f3c:retry.2_b"})

    assert response.headers["X-Request-ID"] == "app-7f3c:retry.2_b"


@pytest.mark.parametrize("given", ["", "has space", "x" * 129, "line\tbreak", "ümlaut",
                                   "{\"json\": 1}"])
def test_a_malformed_request_id_is_replaced_by_a_new_one(given: str) -> None:
    assert GENERATED.fullmatch(request_id_from(given))


async def test_a_problem_body_repeats_its_answers_request_id(api: Api) -> None:
    unauthorized = await api.client.get("/api/v1/documents",
                                        headers={"X-Request-ID": "req-401"})
    missing = await api.client.get("/api/v1/nowhere", headers=bearer())

    assert is_problem(unauthorized, 401)["request_id"] == "req-401"
    assert unauthorized.headers["X-Request-ID"] == "req-401"
    assert is_problem(missing, 404)["request_id"] == missing.headers["X-Request-ID"]


async def test_a_crash_answer_has_its_request_id_too(make_api: MakeApi) -> None:
    api = await make_api(override=broken("show_job", RuntimeError("secret internals")))
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/jobs/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10",
                                    headers={**bearer(), "X-Request-ID": "req-500"})

    assert is_problem(response, 500)["request_id"] == "req-500"
    assert response.headers["X-Request-ID"] == "req-500"


async def test_a_browser_app_may_send_and_read_the_request_id(api: Api) -> None:
    preflight = await api.client.options("/api/v1/documents", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,x-request-id"})
    listed = await api.client.get("/api/v1/documents", headers={**bearer(), "Origin": ORIGIN})

    assert preflight.status_code == 200
    assert "x-request-id" in preflight.headers["access-control-allow-headers"].lower()
    assert "x-request-id" in listed.headers["access-control-expose-headers"].lower()
    assert preflight.headers["X-Request-ID"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level,
             {name: logging.getLogger(name).level for name in BODY_CARRYING_LOGGERS})
    yield
    root.handlers[:], root.level, levels = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_every_log_line_of_a_request_carries_its_id_and_none_other_does(
    restore_logging: None, make_api: MakeApi, capsys: pytest.CaptureFixture[str],
) -> None:
    api = await make_api(override=broken("show_job", RuntimeError("boom")))
    configure_logging("INFO")  # JSON lines on stderr, as the services write them
    capsys.readouterr()

    await api.upload("benefits.md", POLICY)
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.get("/api/v1/jobs/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10",
                         headers={**bearer(), "X-Request-ID": "req-logged"})
    logging.getLogger("navigator.test").info("after the request")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]

    crashed = [line for line in lines if line["message"].startswith("internal error")]
    assert crashed and all(line["request_id"] == "req-logged" for line in crashed)
    [after] = [line for line in lines if line["message"] == "after the request"]
    assert "request_id" not in after


async def test_an_answer_stream_that_breaks_names_the_request_in_its_error_event(
    make_api: MakeApi,
) -> None:
    api = await make_api(breaking(RuntimeError("secret internals")))
    await api.upload("benefits.md", POLICY)
    await api.run_worker()

    response = await api.client.post("/api/v1/answers", json={"question": "deductible?"},
                                     headers={**bearer(), "Accept": "text/event-stream",
                                              "X-Request-ID": "req-stream"})

    name, problem = events(response)[-1]
    assert (name, problem["request_id"]) == ("error", "req-stream")
    assert response.headers["X-Request-ID"] == "req-stream"
