"""The document repository's contract, on the in-memory store and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import LeaseLost, NotFound
from domain.hybrid import SearchMode
from domain.model import ScoredChunk, StepOutput, Usage
from domain.status import JobStatus
from tests.contract.builders import (
    JAMAL,
    LEASE,
    MARIA,
    chunks_for,
    parsed,
    process_fully,
    run_to,
    submit,
    unit,
)
from tests.contract.conftest import DIMENSIONS, Backend

MODEL = "text-embedding-3-small"
S = JobStatus


async def test_a_document_is_only_found_for_its_owner(backend: Backend) -> None:
    docs = backend.documents
    maria = await submit(backend.queue, MARIA, b"maria's policy", backend.clock.now())
    document_id = maria.document.document_id

    assert await docs.get(document_id) == maria.document
    assert await docs.get(document_id, MARIA) == maria.document
    with pytest.raises(NotFound):
        await docs.get(document_id, JAMAL)
    with pytest.raises(NotFound):
        await docs.get(uuid4())


async def test_a_member_lists_their_own_documents_newest_first_with_their_jobs(
    backend: Backend,
) -> None:
    q, clock = backend.queue, backend.clock
    uploads = []
    for n in range(4):
        uploads.append(await submit(q, MARIA, f"maria {n}".encode(), clock.now()))
        await submit(q, JAMAL, f"jamal {n}".encode(), clock.now())
        clock.advance(10)

    page_one = await backend.documents.list(MARIA, 3, 0)
    page_two = await backend.documents.list(MARIA, 3, 3)

    newest_first = [u.document for u in reversed(uploads)]
    assert [d for d, _ in page_one] == newest_first[:3]
    assert [d for d, _ in page_two] == newest_first[3:]
    assert all(job.document_id == d.document_id for d, job in page_one + page_two)
    assert all(job.user_id == MARIA for _, job in page_one + page_two)


async def test_usage_counts_a_members_documents_and_bytes(backend: Backend) -> None:
    q, now = backend.queue, backend.clock.now()
    await submit(q, MARIA, b"12345", now)
    await submit(q, MARIA, b"1234567890", now)
    await submit(q, JAMAL, b"123", now)

    assert await backend.documents.usage(MARIA) == Usage(documents=2, bytes=15)
    assert await backend.documents.usage("member-nobody") == Usage(documents=0, bytes=0)


async def test_a_members_document_is_found_by_the_hash_of_its_bytes(backend: Backend) -> None:
    maria = await submit(backend.queue, MARIA, b"same bytes", backend.clock.now())
    sha = maria.document.sha256

    assert await backend.documents.find_by_sha256(MARIA, sha) == maria.document
    assert await backend.documents.find_by_sha256(JAMAL, sha) is None


async def test_parsed_pages_exist_only_once_the_parse_step_finished(backend: Backend) -> None:
    q, docs = backend.queue, backend.documents
    submission = await submit(q, MARIA, b"x", backend.clock.now())
    document_id = submission.document.document_id
    with pytest.raises(NotFound):
        await docs.parsed(document_id)
    [lease] = await q.claim("worker-1", 1, LEASE)
    pages = parsed("# Explanation of benefits\n\nYou owe: $0 — ünïcode ✓")

    await q.finish_step(lease, StepOutput(parsed=pages), LEASE)

    assert await docs.parsed(document_id) == pages


async def test_chunks_come_back_in_order_with_everything_they_carry(backend: Backend) -> None:
    q, docs = backend.queue, backend.documents
    submission = await submit(q, MARIA, b"x", backend.clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    held = await run_to(q, lease, S.CHUNKING, DIMENSIONS)
    assert held is not None
    chunks = chunks_for(held.job, [f"chunk number {n}" for n in range(12)])

    await q.finish_step(held, StepOutput(chunks=tuple(reversed(chunks))), LEASE)

    assert tuple(await docs.chunks(submission.document.document_id)) == chunks
    assert await docs.chunks(uuid4()) == []


# -- search -----------------------------------------------------------------------------


async def _complete(backend: Backend, user: str, content: bytes, texts: list[str],
                    model: str = MODEL) -> None:
    await submit(backend.queue, user, content, backend.clock.now())
    await process_fully(backend.queue, "worker-1", DIMENSIONS, texts, model)


async def test_search_ranks_a_members_chunks_by_similarity(backend: Backend) -> None:
    await _complete(backend, MARIA, b"policy", ["deductible", "copay", "coinsurance"])

    hits = await backend.documents.search(MARIA, unit(1, DIMENSIONS), MODEL, 0.0, 10)

    assert hits[0].chunk.text == "copay"
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert hits[0].filename == "policy.pdf"
    assert len(await backend.documents.search(MARIA, unit(1, DIMENSIONS), MODEL, 0.0, 2)) == 2


async def test_search_applies_the_similarity_threshold(backend: Backend) -> None:
    await _complete(backend, MARIA, b"policy", ["deductible", "copay", "coinsurance"])
    query = unit(2, DIMENSIONS)
    every = await backend.documents.search(MARIA, query, MODEL, -1.0, 10)
    cut = (every[0].similarity + every[1].similarity) / 2

    hits = await backend.documents.search(MARIA, query, MODEL, cut, 10)

    assert [h.chunk.text for h in hits] == ["coinsurance"]
    assert await backend.documents.search(MARIA, query, MODEL, 1.01, 10) == []


async def test_search_never_shows_another_members_chunks(backend: Backend) -> None:
    await _complete(backend, JAMAL, b"jamal's plan", ["jamal deductible"])
    await _complete(backend, MARIA, b"maria's plan", ["maria deductible"])

    hits = await backend.documents.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10)

    assert [h.chunk.text for h in hits] == ["maria deductible"]
    assert all(h.chunk.user_id == MARIA for h in hits)


async def test_search_only_uses_vectors_of_the_asked_model(backend: Backend) -> None:
    await _complete(backend, MARIA, b"old", ["embedded by the old model"], model="old-model")
    await _complete(backend, MARIA, b"new", ["embedded by the new model"])

    hits = await backend.documents.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10)

    assert [h.chunk.text for h in hits] == ["embedded by the new model"]


async def test_search_ignores_documents_that_are_not_complete(backend: Backend) -> None:
    q, docs = backend.queue, backend.documents
    await submit(q, MARIA, b"unfinished", backend.clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    held = await run_to(q, lease, S.EMBEDDINGS_STORED, DIMENSIONS, ["almost searchable"])
    assert held is not None

    assert await docs.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10) == []
    await q.finish_step(held, StepOutput(), LEASE)
    assert len(await docs.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10)) == 1


async def test_a_query_vector_of_the_wrong_size_is_refused(backend: Backend) -> None:
    await _complete(backend, MARIA, b"policy", ["deductible"])

    with pytest.raises(ValueError):
        await backend.documents.search(MARIA, unit(0, DIMENSIONS + 1), MODEL, 0.0, 10)


# -- deleting ---------------------------------------------------------------------------


async def test_deleting_a_document_removes_it_with_its_job_history_and_chunks(
    backend: Backend,
) -> None:
    q, docs = backend.queue, backend.documents
    await _complete(backend, MARIA, b"policy", ["deductible", "copay"])
    [(document, job)] = await docs.list(MARIA, 10, 0)

    removed = await q.delete(document.document_id, MARIA)

    assert removed == document
    with pytest.raises(NotFound):
        await docs.get(document.document_id)
    with pytest.raises(NotFound):
        await q.get_job(job.job_id)
    assert await q.history(job.job_id) == []
    assert await docs.chunks(document.document_id) == []
    assert await docs.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10) == []
    assert await q.counts() == dict.fromkeys(JobStatus, 0)
    again = await submit(q, MARIA, b"policy", backend.clock.now())
    assert again.created


async def test_a_member_cannot_delete_another_members_document(backend: Backend) -> None:
    maria = await submit(backend.queue, MARIA, b"maria's", backend.clock.now())

    with pytest.raises(NotFound):
        await backend.queue.delete(maria.document.document_id, JAMAL)
    with pytest.raises(NotFound):
        await backend.queue.delete(uuid4(), MARIA)
    assert await backend.documents.get(maria.document.document_id) == maria.document


async def test_a_worker_holding_a_deleted_documents_job_loses_its_lease(
    backend: Backend,
) -> None:
    q = backend.queue
    submission = await submit(q, MARIA, b"x", backend.clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)

    await q.delete(submission.document.document_id, MARIA)

    with pytest.raises(LeaseLost):
        await q.finish_step(lease, StepOutput(parsed=parsed()), LEASE)
    with pytest.raises(LeaseLost):
        await q.heartbeat(lease, LEASE)
    backend.clock.advance(timedelta(minutes=5).total_seconds())
    assert await q.claim("worker-2", 1, LEASE) == []


async def test_rewritten_chunks_keep_only_the_vectors_of_unchanged_chunks(
    backend: Backend,
) -> None:
    """Writing a document's chunks again replaces them by ordinal: a chunk whose
    content changed loses its vector and chunks past the new end are deleted, so
    search never shows stale text; an identical chunk keeps its vector."""
    q, docs = backend.queue, backend.documents
    submission = await submit(q, MARIA, b"x", backend.clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    held = await run_to(q, lease, S.EMBEDDINGS_STORED, DIMENSIONS,
                        ["kept", "changed", "dropped"])
    assert held is not None
    rewritten = chunks_for(held.job, ["kept", "changed again"])

    await q.finish_step(held, StepOutput(chunks=rewritten), LEASE)

    document_id = submission.document.document_id
    assert tuple(await docs.chunks(document_id)) == rewritten
    hits = await docs.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10)
    assert [h.chunk.text for h in hits] == ["kept"]


async def test_a_query_without_direction_finds_nothing_and_a_broken_one_is_refused(
    backend: Backend,
) -> None:
    await submit(backend.queue, MARIA, b"maria's policy", backend.clock.now())
    await process_fully(backend.queue, "worker-1", DIMENSIONS)
    docs = backend.documents
    assert await docs.search(MARIA, unit(0, DIMENSIONS), MODEL, -1.0, 10) != []

    assert await docs.search(MARIA, (0.0,) * DIMENSIONS, MODEL, -1.0, 10) == []
    with pytest.raises(ValueError):
        await docs.search(MARIA, (float("nan"),) * DIMENSIONS, MODEL, 0.0, 10)


# -- keyword and hybrid search ------------------------------------------------------------
#
# Each chunk of these documents gets a vector along its ordinal's axis (builders.unit),
# so a query vector along axis n is "about" chunk n whatever its words say: the tests
# can make the vector and the keyword rankings disagree on purpose. Both repositories
# must agree on the clear cases pinned here; how PostgreSQL ranks close ones (BM25,
# word pairs) is pinned on PostgreSQL alone, in tests/integration/test_retrieval_quality.py.

HYBRID, KEYWORD, VECTOR = SearchMode.HYBRID, SearchMode.KEYWORD, SearchMode.VECTOR
PHONE_BOOK = [
    "Your plan covers hospital stays and doctor visits.",          # 0
    "Member Services: call 1-800-559-3500, TTY 711.",              # 1
    "Hospital care needs prior authorization from the plan.",      # 2
    "The plan pays for hospital care in the plan's network.",      # 3
]


async def _search(backend: Backend, text: str, mode: SearchMode, *, about: int = 0,
                  threshold: float = 0.0, limit: int = 10, user: str = MARIA
                  ) -> list[ScoredChunk]:
    return await backend.documents.search(user, unit(about, DIMENSIONS), MODEL, threshold,
                                          limit, text=text, mode=mode)


async def test_keyword_search_finds_the_chunks_holding_the_questions_words(
    backend: Backend,
) -> None:
    await _complete(backend, MARIA, b"policy", PHONE_BOOK)

    hits = await _search(backend, "What is the Member Services phone number?", KEYWORD)

    assert [h.chunk.text for h in hits] == [PHONE_BOOK[1]]
    assert hits[0].keyword_rank == 1 and hits[0].vector_rank is None
    assert hits[0].filename == "policy.pdf"


async def test_a_chunk_holding_every_word_of_the_question_comes_first(
    backend: Backend,
) -> None:
    await _complete(backend, MARIA, b"policy", PHONE_BOOK)

    hits = await _search(backend, "hospital authorization", KEYWORD)

    assert hits[0].chunk.text == PHONE_BOOK[2]  # the only chunk with both words
    assert {h.chunk.text for h in hits} == {PHONE_BOOK[0], PHONE_BOOK[2], PHONE_BOOK[3]}
    assert [h.keyword_rank for h in hits] == [1, 2, 3]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_a_strong_keyword_match_is_kept_however_low_its_similarity(
    backend: Backend,
) -> None:
    await _complete(backend, MARIA, b"policy", PHONE_BOOK)
    query = unit(0, DIMENSIONS)  # about chunk 0; the phone chunk is far from it
    every = await backend.documents.search(MARIA, query, MODEL, -1.0, 10)
    phone = next(h for h in every if h.chunk.ordinal == 1)
    above_it = phone.similarity + 0.01

    vector = await _search(backend, "member services phone", VECTOR, threshold=above_it)
    hybrid = await _search(backend, "member services phone", HYBRID, threshold=above_it)

    assert PHONE_BOOK[1] not in [h.chunk.text for h in vector]
    found = next(h for h in hybrid if h.chunk.text == PHONE_BOOK[1])
    assert found.keyword_match and found.vector_rank is None
    assert found.similarity == pytest.approx(phone.similarity, abs=1e-5)


async def test_hybrid_search_puts_a_chunk_found_both_ways_first(backend: Backend) -> None:
    await _complete(backend, MARIA, b"policy", PHONE_BOOK)

    # The vector finds chunk 3 alone; the word is in chunks 0, 2 and 3.
    hits = await _search(backend, "hospital", HYBRID, about=3, threshold=0.99)

    assert hits[0].chunk.text == PHONE_BOOK[3]
    assert hits[0].keyword_rank is not None and hits[0].vector_rank == 1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {h.chunk.ordinal for h in hits} == {0, 2, 3}  # once each
    assert all(h.vector_rank is None for h in hits[1:])


async def test_vector_search_ranks_by_similarity_alone(backend: Backend) -> None:
    await _complete(backend, MARIA, b"policy", PHONE_BOOK)

    hits = await _search(backend, "member services phone", VECTOR, about=2)

    assert hits[0].chunk.text == PHONE_BOOK[2]
    assert all(h.keyword_rank is None for h in hits)
    assert [h.score for h in hits] == [h.similarity for h in hits]


async def test_found_passages_highlight_the_questions_words(backend: Backend) -> None:
    await _complete(backend, MARIA, b"policy", PHONE_BOOK)

    [hit] = await _search(backend, "phone number of Member Services", KEYWORD)

    assert "**Member**" in hit.highlight and "**Services**" in hit.highlight
    assert "1-800-559-3500" in hit.highlight
    assert "**call**" not in hit.highlight


async def test_a_question_of_common_words_only_finds_nothing_by_keyword(
    backend: Backend,
) -> None:
    await _complete(backend, MARIA, b"policy", PHONE_BOOK)

    assert await _search(backend, "what is the", KEYWORD) == []
    assert len(await _search(backend, "what is the", HYBRID)) == 4  # the vectors still count


@pytest.mark.parametrize("mode", [HYBRID, KEYWORD, VECTOR])
async def test_every_search_mode_keeps_to_the_members_complete_current_chunks(
    backend: Backend, mode: SearchMode,
) -> None:
    q = backend.queue
    await _complete(backend, JAMAL, b"jamal's plan", ["jamal hospital deductible"])
    await _complete(backend, MARIA, b"old", ["old model hospital deductible"],
                    model="old-model")
    await _complete(backend, MARIA, b"maria's plan", ["maria hospital deductible"])
    await submit(q, MARIA, b"unfinished", backend.clock.now())
    [lease] = await q.claim("worker-1", 1, LEASE)
    held = await run_to(q, lease, S.EMBEDDINGS_STORED, DIMENSIONS,
                        ["unfinished hospital deductible"])
    assert held is not None

    hits = await _search(backend, "hospital deductible", mode, threshold=-1.0)

    assert [h.chunk.text for h in hits] == ["maria hospital deductible"]


async def test_a_search_returns_no_more_than_the_limit_in_any_mode(backend: Backend) -> None:
    await _complete(backend, MARIA, b"policy", PHONE_BOOK)

    for mode in (HYBRID, KEYWORD, VECTOR):
        assert len(await _search(backend, "hospital plan", mode, limit=2)) == 2
