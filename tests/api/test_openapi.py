"""The OpenAPI document describes every route, its errors and its examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from entrypoints.api import openapi_document
from tests.api.conftest import Api

ROUTES = {
    ("post", "/api/v1/documents"): {"202", "200", "400", "401", "413", "415", "422", "429",
                                      "503"},
    ("get", "/api/v1/documents"): {"200", "401", "422", "503"},
    ("get", "/api/v1/documents/{document_id}"): {"200", "401", "404", "422", "503"},
    ("delete", "/api/v1/documents/{document_id}"): {"204", "401", "404", "422", "503"},
    ("get", "/api/v1/jobs/{job_id}"): {"200", "401", "404", "422", "503"},
    ("post", "/api/v1/jobs/{job_id}/retry"): {"202", "401", "404", "409", "422", "503"},
    ("get", "/api/v1/documents/{document_id}/file"): {"200", "206", "401", "404", "416",
                                                       "422", "503"},
    ("post", "/api/v1/documents/{document_id}/reprocess"): {"202", "401", "404", "409", "422",
                                                             "503"},
    ("get", "/api/v1/jobs/{job_id}/events"): {"200", "401", "404", "422", "503"},
    ("get", "/api/v1/me/usage"): {"200", "401", "503"},
    ("post", "/api/v1/search"): {"200", "401", "404", "422", "503"},
    ("post", "/api/v1/answers"): {"200", "401", "404", "422", "429", "502", "503"},
    ("get", "/health"): {"200", "503"},
    ("get", "/health/live"): {"200"},
    ("get", "/health/ready"): {"200", "503"},
    ("get", "/health/started"): {"200", "503"},
    ("get", "/metrics"): {"200", "401", "403"},
}
#: The name a generated client gives each operation: its route function's, in camelCase.
OPERATION_IDS = {
    ("post", "/api/v1/documents"): "uploadDocument",
    ("get", "/api/v1/documents"): "listDocuments",
    ("get", "/api/v1/documents/{document_id}"): "getDocument",
    ("delete", "/api/v1/documents/{document_id}"): "deleteDocument",
    ("get", "/api/v1/jobs/{job_id}"): "getJob",
    ("post", "/api/v1/jobs/{job_id}/retry"): "retryJob",
    ("get", "/api/v1/documents/{document_id}/file"): "downloadDocumentFile",
    ("post", "/api/v1/documents/{document_id}/reprocess"): "reprocessDocument",
    ("get", "/api/v1/jobs/{job_id}/events"): "streamJobEvents",
    ("get", "/api/v1/me/usage"): "getMyUsage",
    ("post", "/api/v1/search"): "searchDocuments",
    ("post", "/api/v1/answers"): "answerQuestion",
    ("get", "/health"): "getHealth",
    ("get", "/health/live"): "checkLiveness",
    ("get", "/health/ready"): "checkReadiness",
    ("get", "/health/started"): "checkStarted",
    ("get", "/metrics"): "getMetrics",
}
PUBLIC = {("get", "/health"), ("get", "/health/live"), ("get", "/health/ready"),
          ("get", "/health/started"), ("get", "/metrics")}


@pytest.fixture
async def spec(api: Api) -> dict[str, Any]:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): operation for path, item in spec["paths"].items()
            for method, operation in item.items()}


def has_example(schema_or_content: dict[str, Any], spec: dict[str, Any]) -> bool:
    if "example" in schema_or_content or "examples" in schema_or_content:
        return True
    schema = schema_or_content.get("schema", schema_or_content)
    ref = schema.get("$ref")
    if ref:
        target = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return "examples" in target or "example" in target
    return False


def test_every_route_is_documented_and_nothing_else(spec: dict[str, Any]) -> None:
    assert set(operations(spec)) == set(ROUTES)


def test_operation_ids_are_the_route_functions_names_in_camel_case(
    spec: dict[str, Any],
) -> None:
    found = {route: operation["operationId"] for route, operation in operations(spec).items()}

    assert found == OPERATION_IDS
    for route, name in found.items():
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", name), (route, name)
    assert len(set(found.values())) == len(found), "every operationId is unique"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_route_has_a_summary_a_description_and_its_responses(
    spec: dict[str, Any], route: tuple[str, str]
) -> None:
    operation = operations(spec)[route]

    assert operation["summary"]
    assert len(operation["description"]) > 40
    assert set(operation["responses"]) == ROUTES[route]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_response_with_a_body_has_an_example(
    spec: dict[str, Any], route: tuple[str, str]
) -> None:
    for status, response in operations(spec)[route]["responses"].items():
        for media_type, content in response.get("content", {}).items():
            assert has_example(content, spec), (route, status, media_type)


def test_errors_are_documented_as_problem_json(spec: dict[str, Any]) -> None:
    upload = operations(spec)[("post", "/api/v1/documents")]

    content = upload["responses"]["413"]["content"]
    assert set(content) == {"application/problem+json"}
    assert content["application/problem+json"]["example"]["status"] == 413


def test_the_upload_body_is_a_multipart_file_field(spec: dict[str, Any]) -> None:
    body = operations(spec)[("post", "/api/v1/documents")]["requestBody"]

    schema = body["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"]
    assert schema["properties"]["file"]["format"] == "binary"


def test_the_search_body_has_examples(spec: dict[str, Any]) -> None:
    body = operations(spec)[("post", "/api/v1/search")]["requestBody"]

    assert has_example(body["content"]["application/json"], spec)


def test_member_routes_declare_bearer_authentication(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["SupabaseJWT"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for route, operation in operations(spec).items():
        secured = operation.get("security") == [{"SupabaseJWT": []}]
        assert secured is (route not in PUBLIC), route


async def test_the_interactive_docs_are_served(api: Api) -> None:
    response = await api.client.get("/docs")

    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_the_document_client_generators_read_is_the_one_the_api_serves(
    spec: dict[str, Any], tmp_path: Path,
) -> None:
    output = tmp_path / "openapi.json"

    assert openapi_document.main([str(output)]) == 0

    written = json.loads(output.read_text())
    assert set(operations(written)) == set(operations(spec))
    assert {r: o["operationId"] for r, o in operations(written).items()} == {
        r: o["operationId"] for r, o in operations(spec).items()}
