"""The domain's rules behind a member's app: byte ranges of a file, paging cursors,
reprocessing a job, and the limits on searching some documents only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import attrs
import pytest

from domain.errors import Conflict, InvalidRequest
from domain.library import ByteRange, RangeNotSatisfiable
from domain.model import DocumentCursor, Job, NotSearchedReason, not_searched_reason
from domain.status import JobStatus

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
S = JobStatus


@pytest.mark.parametrize(("first", "last", "expected"), [
    (0, 9, ByteRange(0, 10)),
    (10, None, ByteRange(10, 100)),
    (None, 7, ByteRange(93, 100)),
    (None, 500, ByteRange(0, 100)),   # more than the file: all of it
    (95, 5000, ByteRange(95, 100)),   # past the end: to the end
    (99, 99, ByteRange(99, 100)),
])
def test_a_byte_range_is_resolved_against_the_files_size(
    first: int | None, last: int | None, expected: ByteRange,
) -> None:
    assert ByteRange.resolve(first, last, 100) == expected


@pytest.mark.parametrize(("first", "last"), [(100, None), (150, 200), (None, 0), (9, 3)])
def test_a_range_with_no_byte_of_the_file_is_not_satisfiable(
    first: int | None, last: int | None,
) -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        ByteRange.resolve(first, last, 100)
    assert refused.value.size == 100
    assert "the file has 100 bytes" in str(refused.value)


def test_a_cursor_comes_back_as_it_was_given_and_anything_else_is_refused() -> None:
    cursor = DocumentCursor(NOW + timedelta(microseconds=7), UUID(int=42))

    assert DocumentCursor.decode(cursor.encode()) == cursor
    edges = [DocumentCursor(datetime.fromisoformat(when), UUID(int=1)).encode()
             for when in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59")]
    for bad in ["", "not-a-cursor", "MjAyNQ", cursor.encode()[:-3] + "!!!", *edges]:
        with pytest.raises(InvalidRequest, match="next_cursor"):
            DocumentCursor.decode(bad)


def test_a_complete_job_goes_back_to_the_chunk_step_with_its_history_kept() -> None:
    job = Job.new(UUID(int=1), UUID(int=2), "member-a", NOW)
    done = _complete(job)

    moved = done.reprocess(NOW + timedelta(hours=1), by="operator")

    assert (moved.job.status, moved.job.attempts) == (S.PARSE_VALIDATED, 0)
    assert moved.job.available_at == NOW + timedelta(hours=1)
    assert moved.job.embedding_tokens == done.embedding_tokens
    [event] = moved.events
    assert (event.from_status, event.to_status, event.detail) == (
        S.COMPLETE, S.PARSE_VALIDATED, "reprocess requested by operator")


@pytest.mark.parametrize(("status", "hint"), [
    (S.UPLOADED, "wait until it is complete"),
    (S.EMBEDDING_IN_PROGRESS, "wait until it is complete"),
    (S.FAILED, "retry it instead"),
])
def test_only_a_complete_job_can_be_processed_again(status: JobStatus, hint: str) -> None:
    job = _complete(Job.new(UUID(int=1), UUID(int=2), "member-a", NOW))

    with pytest.raises(Conflict, match=hint):
        attrs.evolve(job, status=status).reprocess(NOW, by="member")


def test_why_a_search_leaves_a_document_out() -> None:
    assert not_searched_reason(S.COMPLETE, other_model=False) is None
    assert not_searched_reason(S.COMPLETE, other_model=True) is NotSearchedReason.OTHER_MODEL
    assert not_searched_reason(S.FAILED, other_model=True) is NotSearchedReason.FAILED
    assert not_searched_reason(S.CHUNKING, other_model=False) is NotSearchedReason.PROCESSING


def _complete(job: Job) -> Job:
    return attrs.evolve(job, status=S.COMPLETE, attempts=2, embedding_tokens=40)
