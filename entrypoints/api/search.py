"""``/api/v1/search``: the member's chunks closest to a question."""

from __future__ import annotations

import inspect

from fastapi import APIRouter

from domain.search import SearchDocuments
from entrypoints.api.auth import Member
from entrypoints.api.deps import SearchDocumentsCase
from entrypoints.api.library_schemas import NotSearchedOut
from entrypoints.api.problems import problem_responses
from entrypoints.api.schemas import API, ChunkOut, SearchRequest, SearchResponse

router = APIRouter(prefix=API, tags=["search"])


@router.post(
    "/search",
    response_model=SearchResponse,
    summary="Search my documents",
    description=inspect.cleandoc(SearchDocuments.__doc__ or "") + "\n\n"
    "Unset limits take the service's defaults (`RAG_SIMILARITY_THRESHOLD`, "
    "`RAG_MAX_CHUNKS`, `RAG_TOKEN_BUDGET`, `RAG_SEARCH_MODE`); limits outside what the "
    "service allows are refused with 422. `not_searched` lists the member's documents "
    "(of `document_ids`, when given) the search could not look into, and why.",
    responses=problem_responses(401, 404, 422, 503),
)
async def search_documents(body: SearchRequest, member: Member, search: SearchDocumentsCase
                           ) -> SearchResponse:
    result = await search(
        member, body.query, similarity_threshold=body.similarity_threshold,
        max_chunks=body.max_chunks, token_budget=body.token_budget, mode=body.mode,
        document_ids=body.document_ids,
    )
    return SearchResponse(
        query=body.query,
        chunks=[ChunkOut.from_domain(scored) for scored in result.chunks],
        tokens_used=result.tokens_used,
        token_budget=result.options.token_budget,
        similarity_threshold=result.options.similarity_threshold,
        mode=result.mode,
        not_searched=[NotSearchedOut.from_domain(left_out) for left_out in result.not_searched],
    )
