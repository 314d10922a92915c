"""Quotas hold under concurrency, on PostgreSQL: twenty different files sent at once by a
member allowed three documents give exactly three documents and seventeen refusals.

The API runs on the real container over the embedded PostgreSQL (the default file
store, in the database), and the uploads really overlap: they share one event loop
and a pool of several connections, as a busy API's requests do. Repeated ten times,
since a race that is only sometimes lost is still a race.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from entrypoints.container import Container
from tests.api.conftest import api_on_postgres, bearer

pytestmark = pytest.mark.postgres

UPLOADS_AT_ONCE = 20
QUOTA = 3


@pytest.fixture
async def api_at_quota(
    postgres_dsn: str, pg_schema: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    async with api_on_postgres(postgres_dsn, pg_schema, tmp_path,
                               UPLOAD_MAX_DOCUMENTS_PER_MEMBER=str(QUOTA),
                               WORKER_CONCURRENCY="8") as api:
        yield api


def benefits_summary(number: int) -> bytes:
    return (f"# Summary of benefits, plan {number}\n\n## Deductible\n\n"
            f"Your yearly deductible is ${500 + number} per member.\n").encode()


@pytest.mark.parametrize("run", range(10))
async def test_twenty_uploads_at_once_against_a_quota_of_three_keep_exactly_three(
    api_at_quota: tuple[httpx.AsyncClient, Container], run: int
) -> None:
    client, container = api_at_quota
    member = f"member-race-{run}"

    responses = await asyncio.gather(*(
        client.post("/api/v1/documents", headers=bearer(member),
                    files={"file": (f"plan-{n}.md", benefits_summary(n))})
        for n in range(UPLOADS_AT_ONCE)
    ))

    codes = sorted(r.status_code for r in responses)
    assert codes == [202] * QUOTA + [429] * (UPLOADS_AT_ONCE - QUOTA)
    refusal = next(r for r in responses if r.status_code == 429).json()
    assert "at most 3" in refusal["detail"]
    assert (await container.documents().usage(member)).documents == QUOTA
    listed = (await client.get("/api/v1/documents", headers=bearer(member))).json()
    assert len(listed["items"]) == QUOTA
