"""Bad input gets a clear 4xx that the OpenAPI document declares, never a 5xx.

The huge-offset and NUL-member cases run on PostgreSQL, since only there can they
fail (asyncpg cannot send an offset past ``bigint``, nor text with a NUL byte); the
rest run on the in-memory adapters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrypoints.api.schemas import MAX_OFFSET
from entrypoints.tokens import mint_token
from tests.api.conftest import BASE_ENV, SECRET, Api, api_on_postgres, bearer
from tests.api.test_documents import POLICY, is_problem


async def search(api: Api, body: object) -> httpx.Response:
    return await api.client.post("/api/v1/search", json=body, headers=bearer())


# -- paging --------------------------------------------------------------------------


@pytest.fixture
async def on_postgres(
    postgres_dsn: str, pg_schema: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_on_postgres(postgres_dsn, pg_schema, tmp_path,
                               raise_app_exceptions=False) as (client, _container):
        yield client


@pytest.mark.postgres
async def test_an_offset_past_what_the_database_holds_is_a_422_not_a_500(
    on_postgres: httpx.AsyncClient,
) -> None:
    response = await on_postgres.get("/api/v1/documents?offset=9223372036854775808",
                                     headers=bearer())

    body = is_problem(response, 422)
    assert "offset" in str(body["detail"])


@pytest.mark.postgres
async def test_the_largest_declared_offset_answers_an_empty_page_on_postgres(
    on_postgres: httpx.AsyncClient,
) -> None:
    await on_postgres.post("/api/v1/documents", files={"file": ("benefits.md", POLICY)},
                           headers=bearer())

    response = await on_postgres.get(f"/api/v1/documents?offset={MAX_OFFSET}", headers=bearer())

    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.postgres
async def test_a_signed_token_whose_member_id_has_a_nul_byte_is_a_401_not_a_500(
    on_postgres: httpx.AsyncClient,
) -> None:
    token = mint_token(SECRET, "member-1\x00")

    response = await on_postgres.get("/api/v1/documents",
                                     headers={"Authorization": f"Bearer {token}"})

    body = is_problem(response, 401)
    assert "'sub'" in str(body["detail"])


@pytest.mark.postgres
@pytest.mark.parametrize(("path", "field"), [("/api/v1/answers", "question"),
                                             ("/api/v1/search", "query")])
async def test_a_question_with_a_nul_character_is_a_422_not_a_500_on_postgres(
    on_postgres: httpx.AsyncClient, path: str, field: str,
) -> None:
    # PostgreSQL text cannot hold NUL: found by schemathesis on the answers route.
    response = await on_postgres.post(path, json={field: "copay\u0000?"}, headers=bearer())

    is_problem(response, 422)


async def test_the_offset_bounds_are_declared_in_the_openapi_document(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()

    parameters = {p["name"]: p["schema"] for p in
                  spec["paths"]["/api/v1/documents"]["get"]["parameters"]}

    assert parameters["offset"]["minimum"] == 0
    assert parameters["offset"]["maximum"] == MAX_OFFSET
    assert (parameters["limit"]["minimum"], parameters["limit"]["maximum"]) == (1, 100)


# -- the search body -------------------------------------------------------------------


def search_schema(spec: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"]["SearchRequest"]["properties"]
    return schema


async def test_every_search_limit_declares_the_bounds_the_service_enforces(api: Api) -> None:
    properties = search_schema((await api.client.get("/openapi.json")).json())

    def bounds(name: str) -> tuple[object, object]:
        number = next(s for s in properties[name]["anyOf"] if s["type"] != "null")
        return number["minimum"], number["maximum"]

    assert bounds("max_chunks") == (1, 50)
    assert bounds("token_budget") == (1, 32_000)
    assert bounds("similarity_threshold") == (0, 1)
    assert properties["query"]["maxLength"] == 500


async def test_the_longest_declared_question_is_accepted_whatever_its_characters(
    api: Api,
) -> None:
    # Four-byte characters: the most tokens a question of declared length can take.
    response = await search(api, {"query": "\U0001f9fe" * 500})

    assert response.status_code == 200


@pytest.mark.parametrize("field", ["similarity_threshold", "max_chunks", "token_budget"])
@pytest.mark.parametrize("value", [False, True, "5"], ids=["false", "true", "digits-in-a-string"])
async def test_a_search_limit_must_be_a_number_not_a_boolean_or_a_string(
    api: Api, field: str, value: object
) -> None:
    body = is_problem(await search(api, {"query": "deductible", field: value}), 422)

    assert str(body["detail"]).startswith(f"{field}:")


async def test_a_whole_number_written_as_a_decimal_is_still_a_whole_number(api: Api) -> None:
    response = await search(api, {"query": "deductible", "max_chunks": 5.0,
                                  "similarity_threshold": 1})

    assert response.status_code == 200


async def test_a_fractional_number_of_chunks_is_refused(api: Api) -> None:
    body = is_problem(await search(api, {"query": "deductible", "max_chunks": 2.5}), 422)

    assert "max_chunks" in str(body["detail"])


async def test_an_error_on_the_query_field_names_it_query(api: Api) -> None:
    missing = is_problem(await search(api, {"question": "deductible"}), 422)
    not_text = is_problem(await search(api, {"query": 42}), 422)

    assert "query: Field required" in missing["errors"]  # type: ignore[operator]
    assert str(not_text["detail"]).startswith("query:")


async def test_a_body_that_is_not_an_object_is_named_body(api: Api) -> None:
    body = is_problem(await search(api, ["deductible"]), 422)

    assert str(body["detail"]).startswith("body:")


async def test_a_body_that_is_not_json_says_so(api: Api) -> None:
    response = await api.client.post("/api/v1/search", content=b"{not json",
                                     headers={**bearer(), "Content-Type": "application/json"})

    body = is_problem(response, 422)
    assert "not valid JSON" in str(body["detail"])


async def test_a_body_that_is_not_utf8_is_a_declared_422(api: Api) -> None:
    response = await api.client.post("/api/v1/search", content=b'{"query": "\xff\xfe"}',
                                     headers={**bearer(), "Content-Type": "application/json"})

    body = is_problem(response, 422)
    assert "UTF-8" in str(body["detail"])


async def test_a_question_with_a_nul_character_is_refused(api: Api) -> None:
    body = is_problem(await search(api, {"query": "deductible\x00"}), 422)

    assert str(body["detail"]).startswith("query:")


# -- methods ---------------------------------------------------------------------------


async def test_options_on_the_documents_collection_lists_get_and_post(api: Api) -> None:
    response = await api.client.options("/api/v1/documents")

    assert response.status_code == 204
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= allowed


async def test_a_method_not_allowed_lists_every_method_of_the_path(api: Api) -> None:
    response = await api.client.put("/api/v1/documents", headers=bearer())

    body = is_problem(response, 405)
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "GET" in str(body["detail"]) and "POST" in str(body["detail"])


async def test_options_on_a_document_lists_get_and_delete(api: Api) -> None:
    response = await api.client.options("/api/v1/documents/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10")

    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "DELETE"} <= allowed
    assert "POST" not in allowed


async def test_a_cors_preflight_is_still_answered_by_the_cors_rules(api: Api) -> None:
    response = await api.client.options("/api/v1/documents", headers={
        "Origin": BASE_ENV["CORS_ORIGINS"], "Access-Control-Request-Method": "POST"})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == BASE_ENV["CORS_ORIGINS"]


# -- uploads ---------------------------------------------------------------------------


async def test_a_malformed_multipart_body_is_a_declared_400(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/documents", content=b"garbage",
        headers={**bearer(), "Content-Type": "multipart/form-data; boundary=xyz"})
    spec = (await api.client.get("/openapi.json")).json()

    is_problem(response, 400)
    assert "400" in spec["paths"]["/api/v1/documents"]["post"]["responses"]
