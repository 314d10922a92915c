"""Searching a member's own documents over HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import MEMBER, OTHER_MEMBER, Api, bearer
from tests.api.test_documents import POLICY, is_problem

DENTAL = (
    b"# Dental plan\n\n## Cleanings\n\nTwo cleanings a year are covered in full.\n\n"
    b"## Crowns\n\nCrowns are covered at 50 percent after the waiting period.\n"
)


async def search(api: Api, member: str = MEMBER, **body: object) -> httpx.Response:
    return await api.client.post("/api/v1/search", json=body, headers=bearer(member))


async def test_search_finds_the_passage_that_answers_the_question(api: Api) -> None:
    await api.upload("benefits.md", POLICY)
    await api.upload("dental.md", DENTAL)
    await api.run_worker()

    response = await search(api, query="What is the maximum out-of-pocket I pay in a year?")

    assert response.status_code == 200
    body = response.json()
    best = body["chunks"][0]
    assert best["filename"] == "benefits.md"
    assert "$4,900" in best["text"]
    assert best["page"] == 1
    assert best["heading_path"][0] == "Summary of benefits 2025"
    assert 0.3 <= best["similarity"] <= 1.0
    assert best["token_count"] > 0
    assert body["tokens_used"] == sum(c["token_count"] for c in body["chunks"])
    assert body["token_budget"] == 4000
    assert body["similarity_threshold"] == 0.3


async def test_search_never_returns_another_members_chunks(api: Api) -> None:
    await api.upload("benefits.md", POLICY)
    await api.run_worker()

    response = await search(api, member=OTHER_MEMBER, query="maximum out-of-pocket")

    assert response.status_code == 200
    assert response.json()["chunks"] == []
    assert response.json()["tokens_used"] == 0


async def test_search_respects_the_callers_limits(api: Api) -> None:
    await api.upload("benefits.md", POLICY)
    await api.upload("dental.md", DENTAL)
    await api.run_worker()

    body = (await search(api, query="covered deductible crowns cleanings", max_chunks=1,
                         similarity_threshold=0.0, token_budget=500)).json()

    assert len(body["chunks"]) == 1
    assert body["token_budget"] == 500
    assert body["similarity_threshold"] == 0.0


@pytest.mark.parametrize("blank", ["   ", "\x1c\x1d", "\t\x85"])
async def test_a_blank_question_is_refused_with_422(api: Api, blank: str) -> None:
    body = is_problem(await search(api, query=blank), 422)

    assert "empty" in str(body["detail"])


async def test_limits_outside_what_the_service_allows_are_refused_with_422(api: Api) -> None:
    too_many = is_problem(await search(api, query="deductible", max_chunks=51), 422)
    bad_threshold = is_problem(await search(api, query="deductible", similarity_threshold=2),
                               422)
    unknown_field = is_problem(await search(api, query="deductible", top_k=3), 422)

    assert "max_chunks: Input should be less than or equal to 50" in str(too_many["detail"])
    assert "similarity_threshold" in str(bad_threshold["detail"])
    assert "top_k" in str(unknown_field["detail"])


async def test_each_passage_shows_the_part_that_matched_and_how_it_was_found(api: Api) -> None:
    await api.upload("dental.md", DENTAL)
    await api.run_worker()

    body = (await search(api, query="Are crowns covered?")).json()

    assert body["mode"] == "hybrid"
    best = body["chunks"][0]
    assert "**Crowns**" in best["highlight"]
    assert "keyword" in best["matched_by"]
    assert best["score"] > 0


async def test_a_member_can_search_by_words_alone_and_a_strange_mode_is_refused(
    api: Api,
) -> None:
    await api.upload("dental.md", DENTAL)
    await api.run_worker()

    body = (await search(api, query="crowns", mode="keyword")).json()
    refused = await search(api, query="crowns", mode="telepathy")

    assert body["mode"] == "keyword"
    assert body["chunks"] and all(c["matched_by"] == ["keyword"] for c in body["chunks"])
    assert "mode" in str(is_problem(refused, 422)["detail"])
