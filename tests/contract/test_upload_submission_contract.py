"""Recording an upload, on the in-memory queue and on PostgreSQL alike: the member's
quotas hold exactly however many uploads arrive at once, and a file kept with the
jobs is recorded with its document or not at all."""

from __future__ import annotations

import asyncio
import functools

import pytest

from domain.errors import NotFound, QuotaExceeded
from domain.files import PART_BYTES, BytesFile
from domain.status import JobStatus
from domain.upload_policy import UploadPolicy
from tests.contract.builders import JAMAL, MARIA, upload
from tests.contract.conftest import Backend


def quota(**limits: int) -> UploadPolicy:
    return UploadPolicy(**limits)


async def submit_many(backend: Backend, policy: UploadPolicy, member: str,
                      contents: list[bytes]) -> list[object]:
    """Submit every file at once; each outcome is a Submission or the error raised."""
    now = backend.clock.now()

    async def one(content: bytes) -> object:
        document, job = upload(member, content, now)
        return await backend.queue.submit(
            document, job, admit=functools.partial(policy.check_quota, len(content)),
            file=BytesFile(content),
        )

    return await asyncio.gather(*(one(c) for c in contents), return_exceptions=True)


async def test_twenty_uploads_at_once_against_a_quota_of_three_record_exactly_three(
    backend: Backend,
) -> None:
    contents = [f"Maria's policy, version {n}".encode() for n in range(20)]

    outcomes = await submit_many(backend, quota(max_documents_per_member=3), MARIA, contents)

    accepted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert (len(accepted), len(refused)) == (3, 17)
    assert (await backend.documents.usage(MARIA)).documents == 3
    assert sum((await backend.queue.counts()).values()) == 3


async def test_uploads_at_once_never_take_a_member_past_their_bytes(backend: Backend) -> None:
    contents = [bytes([n]) * 1000 for n in range(10)]  # 10 files of 1,000 bytes

    outcomes = await submit_many(backend, quota(max_bytes_per_member=3500), MARIA, contents)

    assert sum(not isinstance(o, BaseException) for o in outcomes) == 3
    assert (await backend.documents.usage(MARIA)).bytes == 3000


async def test_one_members_full_quota_does_not_stop_another_member(backend: Backend) -> None:
    policy = quota(max_documents_per_member=1)
    await submit_many(backend, policy, MARIA, [b"Maria's policy"])

    outcomes = await submit_many(backend, policy, JAMAL, [b"Jamal's policy"])

    assert not isinstance(outcomes[0], BaseException)


async def test_a_file_recorded_with_its_document_can_be_read_back(backend: Backend) -> None:
    content = b"%PDF-1.7 Maria's summary of benefits"

    (submission,) = await submit_many(backend, quota(), MARIA, [content])

    assert await backend.files.get(submission.document.blob_key) == content  # type: ignore[attr-defined]


async def test_a_refused_upload_leaves_neither_document_nor_file(backend: Backend) -> None:
    policy = quota(max_documents_per_member=1)
    await submit_many(backend, policy, MARIA, [b"first policy"])
    document, job = upload(MARIA, b"second policy", backend.clock.now())

    with pytest.raises(QuotaExceeded):
        await backend.queue.submit(document, job,
                                   admit=functools.partial(policy.check_quota, 13),
                                   file=BytesFile(b"second policy"))

    with pytest.raises(NotFound):
        await backend.files.get(document.blob_key)
    with pytest.raises(NotFound):
        await backend.documents.get(document.document_id)


async def test_the_same_bytes_twice_keep_one_document_and_one_file(backend: Backend) -> None:
    content = b"Maria's explanation of benefits"

    first, second = await submit_many(backend, quota(max_documents_per_member=1), MARIA,
                                      [content, content])

    assert {first.created, second.created} == {True, False}  # type: ignore[attr-defined]
    assert first.document == second.document  # type: ignore[attr-defined]
    assert await backend.files.get(first.document.blob_key) == content  # type: ignore[attr-defined]
    assert (await backend.documents.usage(MARIA)).documents == 1


async def test_deleting_a_document_deletes_its_file_with_it(backend: Backend) -> None:
    (submission,) = await submit_many(backend, quota(), MARIA, [b"Maria's old policy"])
    document = submission.document  # type: ignore[attr-defined]

    await backend.queue.delete(document.document_id, MARIA)

    with pytest.raises(NotFound):
        await backend.files.get(document.blob_key)
    assert (await backend.queue.counts())[JobStatus.UPLOADED] == 0


async def test_a_file_shorter_than_its_document_says_is_not_recorded(backend: Backend) -> None:
    document, job = upload(MARIA, b"the whole policy", backend.clock.now())
    truncated = BytesFile(b"the whole")

    with pytest.raises(ValueError):
        await backend.queue.submit(document, job, file=truncated)

    with pytest.raises(NotFound):
        await backend.documents.get(document.document_id)
    with pytest.raises(NotFound):
        await backend.files.get(document.blob_key)


async def test_the_files_kept_with_the_jobs_never_hold_a_file_without_its_document(
    backend: Backend,
) -> None:
    with pytest.raises(NotFound):
        await backend.files.put("uploads/no-such/document", BytesFile(b"an orphan"))
    with pytest.raises(NotFound):
        await backend.files.get("uploads/no-such/document")


async def test_a_file_of_several_parts_is_recorded_whole_in_order(backend: Backend) -> None:
    content = b"".join(n.to_bytes(4, "big") for n in range(PART_BYTES // 2))  # 2 parts
    content += b"and the last few bytes"

    (submission,) = await submit_many(backend, quota(), MARIA, [content])

    assert await backend.files.get(submission.document.blob_key) == content  # type: ignore[attr-defined]


async def test_a_file_of_several_parts_refused_by_the_quota_leaves_no_part(
    backend: Backend,
) -> None:
    content = bytes(range(256)) * (PART_BYTES // 128 + 1)  # 3 parts
    policy = quota(max_bytes_per_member=len(content) - 1)
    document, job = upload(MARIA, content, backend.clock.now())

    with pytest.raises(QuotaExceeded):
        await backend.queue.submit(document, job,
                                   admit=functools.partial(policy.check_quota, len(content)),
                                   file=BytesFile(content))

    with pytest.raises(NotFound):
        await backend.files.get(document.blob_key)
    assert (await backend.documents.usage(MARIA)).documents == 0
