"""Settings of retrieval: how documents are cut into passages, embedded (OpenAI when
its key is set) and searched."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator

# At most 2,000 dimensions: a vector then still fits in its row (search reads vectors
# kept in-row; larger ones would go to TOAST and slow every search).
MAX_INDEXED_DIMENSIONS = 2000


class RagSettings(BaseModel):
    rag_similarity_threshold: Annotated[float, Field(ge=0, le=1)] = 0.3
    rag_max_chunks: Annotated[int, Field(ge=1, le=50)] = 10
    rag_token_budget: Annotated[int, Field(ge=1, le=32_000)] = 4000
    rag_embedding_model: str = "text-embedding-3-small"
    rag_vector_dimension: Annotated[int, Field(ge=2, le=MAX_INDEXED_DIMENSIONS)] = 1536
    #: How search finds passages: ``hybrid`` (the question's words and its meaning,
    #: fused by reciprocal rank), ``vector`` (meaning only) or ``keyword`` (words only).
    rag_search_mode: Literal["hybrid", "vector", "keyword"] = "hybrid"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    chunk_target_tokens: Annotated[int, Field(ge=16, le=8191)] = 512
    chunk_overlap_tokens: Annotated[int, Field(ge=0)] = 64

    @model_validator(mode="after")
    def _check_overlap(self) -> Self:
        if self.chunk_overlap_tokens >= self.chunk_target_tokens:
            raise ValueError(
                f"CHUNK_OVERLAP_TOKENS must be less than CHUNK_TARGET_TOKENS "
                f"(got {self.chunk_overlap_tokens} and {self.chunk_target_tokens})"
            )
        return self
