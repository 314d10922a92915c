"""Request and response bodies of ``/api/v1/answers`` (pydantic), with OpenAPI examples.

Every field is bounded and strictly typed, so a schema-driven fuzzer (and a
careless client) learns the limits from the OpenAPI document itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from domain.grounding import Answer, Citation
from domain.model import NotSearched
from entrypoints.api.library_schemas import NotSearchedOut
from entrypoints.api.schemas import API, NOT_BLANK, DocumentIds

QUESTION_MAX_CHARS = 2000
ANSWERS_PATH = f"{API}/answers"

_DOC_ID = "0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10"
_CHUNK_ID = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"

ANSWER_EXAMPLE: dict[str, Any] = {
    "question": "How much is the emergency room copay?",
    "answer": "Emergency room care costs a $250 copay per visit, waived if you are admitted "
              "to the hospital [1].",
    "kind": "generated",
    "model": "claude-sonnet-4-6",
    "covered": True,
    "citations": [{
        "label": 1, "chunk_id": _CHUNK_ID, "document_id": _DOC_ID,
        "filename": "2025-policy.pdf", "page": 12,
        "quote": "Emergency room care costs a $250 copay per visit. The copay is waived if "
                 "you are admitted to the hospital.",
    }],
    "flagged": False,
    "removed_citations": [],
    "withheld": False,
    "passages_used": 4,
    "tokens": {"input": 1874, "output": 41},
    "not_searched": [],
}


class AnswerRequest(BaseModel):
    """A member's question, in plain words."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"question": "How much is the emergency room copay?"},
        {"question": "What is the deductible?", "document_ids": [_DOC_ID]},
    ]})

    question: StrictStr = Field(
        min_length=1, max_length=QUESTION_MAX_CHARS, pattern=NOT_BLANK,
        description=f"the question (1 to {QUESTION_MAX_CHARS} characters, not only spaces, "
                    "no NUL characters)",
    )
    document_ids: DocumentIds | None = None


class CitationOut(BaseModel):
    """A passage the answer cites as ``[label]``: the member's own chunk, where it is
    (document, file, page) and the passage's text."""

    label: int = Field(ge=1, description="the number the answer cites it by, as [label]")
    chunk_id: UUID
    document_id: UUID
    filename: str
    page: int | None = Field(description="the page it is on, when the document has pages")
    quote: str = Field(description="the cited passage, verbatim")

    @classmethod
    def from_domain(cls, citation: Citation) -> CitationOut:
        passage = citation.passage
        return cls(label=citation.label, chunk_id=passage.chunk_id,
                   document_id=passage.document_id, filename=passage.filename,
                   page=passage.page, quote=passage.text)


class Tokens(BaseModel):
    """Tokens the language model was billed for (0 for an extracted answer)."""

    input: int = Field(ge=0)
    output: int = Field(ge=0)


class AnswerResponse(BaseModel):
    """The answer, its citations, how it was written and what it cost."""

    model_config = ConfigDict(json_schema_extra={"examples": [ANSWER_EXAMPLE]})

    question: str
    answer: str = Field(description="the answer; cites passages as [1], [2], ...")
    kind: Literal["generated", "extracted"] = Field(
        description="`generated` by a language model, or `extracted`: sentences quoted "
                    "verbatim from the passages (no language model configured)")
    model: str = Field(description="the model that wrote it (`extractive` when extracted)")
    covered: bool = Field(description="false when the member's documents do not answer "
                                      "the question (the answer then says so)")
    citations: list[CitationOut] = Field(description="the passages the answer cites, in the "
                                                     "order it first cites them")
    flagged: bool = Field(description="true when the answer had to be corrected: an invented "
                                      "citation was removed, or the answer was withheld")
    removed_citations: list[int] = Field(description="citation numbers the answer gave that "
                                                     "matched no passage; removed from it")
    withheld: bool = Field(description="true when the answer broke the rules (e.g. repeated "
                                       "its instructions) and was replaced")
    passages_used: int = Field(ge=0, description="passages the answer was grounded on")
    tokens: Tokens
    not_searched: list[NotSearchedOut] = Field(
        default_factory=list, description="the member's documents the answer could not draw "
        "on, and why (as in a search): never left out silently")

    @classmethod
    def from_domain(cls, answer: Answer, passages: int,
                    not_searched: Sequence[NotSearched] = ()) -> AnswerResponse:
        return cls(
            question=answer.question, answer=answer.text, kind=answer.kind.value,
            model=answer.model, covered=answer.covered,
            citations=[CitationOut.from_domain(c) for c in answer.citations],
            flagged=answer.flagged, removed_citations=list(answer.removed_citations),
            withheld=answer.withheld, passages_used=passages,
            not_searched=[NotSearchedOut.from_domain(n) for n in not_searched],
            tokens=Tokens(input=answer.usage.input_tokens, output=answer.usage.output_tokens),
        )
