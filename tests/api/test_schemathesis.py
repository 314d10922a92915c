"""The whole OpenAPI document against the real app on PostgreSQL, with schemathesis.

The app is served by uvicorn on 127.0.0.1 (its own thread and event loop, the
container's pool opened by the app's lifespan) over a freshly migrated schema of the
test run's embedded PostgreSQL. schemathesis reads ``/openapi.json`` and, for every
operation in it (so routes added later are covered without touching this file),
generates valid and invalid requests in its examples, coverage and fuzzing phases,
and runs every check it has on each response: no 5xx, status codes, content types,
headers and bodies as declared, invalid data refused, valid data accepted, methods
not declared answered 405 with ``Allow``, authentication enforced.

Requests carry a member's bearer token (``headers``), so generated cases reach the
handlers; the ``ignored_auth`` check also sends them without it and with a forged
one and expects 401. One document is uploaded first, so listing has a row to show.

No check is disabled. Two are configured: for the upload, "schema-valid data
is accepted" also expects 413, 415 and 422, since a well-formed upload can be
refused for what the file is (too big, an unreadable type, empty), which no schema
can say; for the document list, 422, since a well-formed cursor can still be one
the service never gave out (cursors are opaque). Settings that make the run affordable: at most
:data:`EXAMPLES_PER_OPERATION` fuzzed cases per operation, no stateful phase (its
link-following needs OpenAPI links the app does not declare), no Hypothesis
deadline or health checks (they time generation, and a loaded CI machine's
latency would count against them; they check nothing about the API). Generation is
derandomized: the same code gets the same cases in every run, so a red CI always
means the change, never the dice (a run with random seeds found the NUL-in-question
500 of the answers route; run it with ``derandomize`` off to explore). The run fails
with fewer than :data:`MIN_CASES` requests in all, so a schema that stops generating
cannot pass quietly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from adapters.postgres.connection import connect, quote_schema
from adapters.postgres.migrations import run_migrations
from entrypoints.api.app import create_app
from entrypoints.container import build_container
from entrypoints.settings import load_settings
from tests.api.conftest import BASE_ENV, bearer
from tests.api.test_documents import POLICY
from tests.fakes.serving import BackgroundServer

pytestmark = pytest.mark.postgres

EXAMPLES_PER_OPERATION = 150
MIN_CASES = 1000
#: A member with no quota trouble: generated uploads are real uploads.
QUOTA = "100000"


async def _drop(dsn: str, schema: str) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {quote_schema(schema)} CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def served_api(postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on 127.0.0.1 over a fresh schema; its URL."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    dimension = int(BASE_ENV["RAG_VECTOR_DIMENSION"])
    asyncio.run(run_migrations(postgres_dsn, schema, dimension))
    home: Path = tmp_path_factory.mktemp("schemathesis-home")
    settings = load_settings({**BASE_ENV, "NAVIGATOR_HOME": str(home), "DATABASE_SCHEMA": schema,
                              "UPLOAD_MAX_DOCUMENTS_PER_MEMBER": QUOTA})
    app = create_app(build_container(settings, postgres_dsn))
    try:
        with BackgroundServer(app, lifespan="on") as url:
            uploaded = httpx.post(f"{url}/api/v1/documents", headers=bearer(),
                                  files={"file": ("benefits.md", POLICY)})
            assert uploaded.status_code == 202, uploaded.text
            yield url
    finally:
        asyncio.run(_drop(postgres_dsn, schema))


@pytest.fixture(scope="module")
def cases_sent() -> Iterator[list[str]]:
    sent: list[str] = []
    yield sent
    operations = len(list(schema.get_all_operations()))
    print(f"\nschemathesis: {len(sent)} generated cases over {len(set(sent))} of "
          f"{operations} operations")
    if len(set(sent)) == operations:  # a whole run, not one picked with -k
        assert len(sent) >= MIN_CASES, f"only {len(sent)} requests were generated"


def _openapi_document() -> dict[str, object]:
    # The document is a pure function of the code and the settings: building the app
    # opens nothing (the pool opens in its lifespan), so it can be read at collection.
    settings = load_settings({**BASE_ENV, "NAVIGATOR_HOME": "unused-at-collection"})
    return create_app(build_container(settings)).openapi()


schema = schemathesis.openapi.from_dict(_openapi_document(), config=SchemathesisConfig.from_dict({
    "headers": bearer(),
    "generation": {"max-examples": EXAMPLES_PER_OPERATION},
    "phases": {"stateful": {"enabled": False}},
    "operations": [{
        # A well-formed upload can still be refused for what the file is, which no schema
        # can say: too big (413), not a PDF, DOCX, HTML, Markdown or text file (415),
        # empty (422). These are declared responses; the check expects them here only.
        "include-name": "POST /api/v1/documents",
        "checks": {"positive_data_acceptance": {
            "expected-statuses": ["2xx", "401", "413", "415", "422", "429"],
        }},
    }, {
        # A cursor is opaque: a string of its alphabet can still be one this service never
        # gave out, refused with 422 saying to pass `next_cursor` as it was.
        "include-name": "GET /api/v1/documents",
        "checks": {"positive_data_acceptance": {
            "expected-statuses": ["2xx", "401", "422"],
        }},
    }],
}))


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_its_schema_says(
    case: schemathesis.Case, served_api: str, cases_sent: list[str]
) -> None:
    cases_sent.append(case.operation.label)
    case.call_and_validate(base_url=served_api)
