"""The use cases on the in-memory adapters: the edges the feature files do not cover."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest

from adapters.filesystem_blobs import FilesystemBlobStore
from adapters.hashing_embedder import HashingEmbedder
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.documents import InMemoryDocumentRepository
from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.store import InMemoryStore
from adapters.text_search import EnglishWords
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.chunking import ChunkingConfig
from domain.errors import (
    Conflict,
    FileTooLarge,
    InvalidQuery,
    LeaseLost,
    NotFound,
    QuotaExceeded,
    StoreUnavailable,
    UnsupportedFileType,
)
from domain.hybrid import SearchMode
from domain.lay_terms import LayTerms
from domain.members import CountJobs, DeleteDocument, RetryFailedJob, ShowJob
from domain.model import (
    Document,
    Job,
    Lease,
    MediaType,
    ParsedDocument,
    ParsedPage,
    ParseRequest,
    ScoredChunk,
    Submission,
)
from domain.ports import ParseCheckpoint
from domain.processing import ProcessJob
from domain.retrieval import RetrievalOptions
from domain.retry import RetryPolicy
from domain.search import SearchDocuments, SearchLimits
from domain.status import JobStatus
from domain.upload_policy import UploadPolicy
from domain.uploads import SubmitUpload, blob_key_for
from domain.worker import RescueExpiredLeases, Worker
from tests.fakes.clock import FakeClock
from tests.faults import ScriptedEmbedder, ScriptedParser

MEMBER = "member-a"
OTHER = "member-b"
DIMENSIONS = 64
POLICY_TEXT = (
    "# Plan summary\n\n## Deductible\n\nThe deductible is $1,500 per person each year.\n\n"
    "## Specialist visits\n\nA specialist visit costs a $40 copay after a referral.\n"
)


@pytest.fixture(scope="module")
def tokenizer() -> TiktokenTokenizer:
    return TiktokenTokenizer()


@attrs.define
class Rig:
    """The use cases wired over one in-memory store and a fake clock."""

    tokenizer: TiktokenTokenizer
    clock: FakeClock = attrs.Factory(FakeClock)
    store: InMemoryStore = attrs.Factory(lambda: InMemoryStore(vector_dimension=DIMENSIONS))
    blobs: InMemoryBlobStore = attrs.Factory(InMemoryBlobStore)
    parser: ScriptedParser = attrs.Factory(ScriptedParser)
    lease_for: timedelta = timedelta(seconds=60)
    queue: InMemoryJobQueue = attrs.field(init=False)
    documents: InMemoryDocumentRepository = attrs.field(init=False)
    embedder: ScriptedEmbedder = attrs.field(init=False)
    on_step: list[tuple[str, str]] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        self.queue = InMemoryJobQueue(self.store, self.clock)
        self.documents = InMemoryDocumentRepository(self.store)
        self.embedder = ScriptedEmbedder(HashingEmbedder(dimensions=DIMENSIONS))

    def submit_use_case(self, policy: UploadPolicy | None = None) -> SubmitUpload:
        return SubmitUpload(self.queue, self.documents, self.blobs, self.clock, uuid4,
                            policy or UploadPolicy())

    async def submit(self, data: bytes = POLICY_TEXT.encode(), filename: str = "plan.md",
                     member: str = MEMBER) -> Submission:
        return await self.submit_use_case()(member, filename, data)

    @property
    def process(self) -> ProcessJob:
        return ProcessJob(
            queue=self.queue, documents=self.documents, blobs=self.blobs, parser=self.parser,
            embedder=self.embedder, tokenizer=self.tokenizer, clock=self.clock,
            jitter=lambda: 0.0, retry_policy=RetryPolicy(max_retries=3, base_delay=1.0),
            chunking=ChunkingConfig(target_tokens=24, overlap_tokens=4),
            lease_for=self.lease_for,
            on_step=lambda step, seconds, outcome: self.on_step.append((step, outcome)),
        )

    def worker(self, name: str = "worker-1", concurrency: int = 4,
               process: ProcessJob | None = None) -> Worker:
        """The worker loop, on the fake clock (it never waits on real time)."""
        rescue = RescueExpiredLeases(self.queue, RetryPolicy(max_retries=3, base_delay=1.0),
                                     lambda: 0.0)
        return Worker(self.queue, process or self.process, rescue, name, ticker=self.clock,
                      concurrency=concurrency, lease_for=self.lease_for)

    async def job(self, submission: Submission) -> Job:
        return await self.queue.get_job(submission.job.job_id)

    def search(self, **limits: int) -> SearchDocuments:
        return SearchDocuments(self.documents, self.embedder, self.tokenizer,
                               RetrievalOptions(similarity_threshold=0.1),
                               SearchLimits(**limits))


@pytest.fixture
def rig(tokenizer: TiktokenTokenizer) -> Rig:
    return Rig(tokenizer)


# -- submitting ------------------------------------------------------------------------


async def test_the_stored_name_is_the_base_name_without_control_characters(rig: Rig) -> None:
    submission = await rig.submit(filename="C:\\Users\\docs\\plan\x00 2025.md")
    assert submission.document.filename == "plan 2025.md"


async def test_a_name_with_nothing_left_is_called_upload(rig: Rig) -> None:
    submission = await rig.submit(filename="folder/\x07")
    assert submission.document.filename == "upload"


async def test_the_file_is_stored_under_its_own_hash_before_the_job_exists(rig: Rig) -> None:
    submission = await rig.submit()
    document = submission.document
    assert document.blob_key == blob_key_for(MEMBER, document.document_id)
    assert await rig.blobs.get(document.blob_key) == POLICY_TEXT.encode()
    assert rig.queue.notices == [submission.job.job_id]


async def test_the_declared_type_does_not_decide_the_type(rig: Rig) -> None:
    submission = await rig.submit_use_case()(MEMBER, "plan.md", POLICY_TEXT.encode(),
                                             "application/octet-stream")
    assert submission.document.media_type is MediaType.MARKDOWN


async def test_an_upload_the_database_could_not_record_leaves_no_file_behind(rig: Rig) -> None:
    async def database_down(document: Document, job: Job, **_: object) -> Submission:
        raise StoreUnavailable("the database is unreachable: CannotConnectNowError")

    rig.queue.submit = database_down  # type: ignore[method-assign]
    for _ in range(3):  # the member tries again; each try stores its file first
        with pytest.raises(StoreUnavailable):
            await rig.submit_use_case()(MEMBER, "plan.md", POLICY_TEXT.encode())
    assert rig.blobs.keys() == []


async def test_a_refused_upload_stores_nothing(rig: Rig) -> None:
    data = POLICY_TEXT.encode()
    with pytest.raises(FileTooLarge):
        await rig.submit_use_case(UploadPolicy(max_bytes=10))(MEMBER, "plan.md", data)
    assert rig.store.documents == {}
    assert rig.blobs.keys() == []
    assert rig.queue.notices == []


async def test_a_duplicate_does_not_count_against_the_quota(rig: Rig) -> None:
    use_case = rig.submit_use_case(UploadPolicy(max_documents_per_member=1))
    first = await use_case(MEMBER, "plan.md", POLICY_TEXT.encode())
    again = await use_case(MEMBER, "plan.md", POLICY_TEXT.encode())
    assert (again.created, again.document) == (False, first.document)


@pytest.mark.parametrize("kept_with_jobs", [True, False], ids=["database", "object"])
async def test_bytes_stored_before_come_back_even_under_a_name_that_would_be_refused(
    rig: Rig, kept_with_jobs: bool,
) -> None:
    if kept_with_jobs:
        rig.blobs = InMemoryBlobStore(rig.store)
    first = await rig.submit(filename="plan.md")
    again = await rig.submit_use_case()(MEMBER, "plan.pdf", POLICY_TEXT.encode(),
                                        "application/pdf")
    assert (again.created, again.document) == (False, first.document)


@pytest.mark.parametrize("kept_with_jobs", [True, False], ids=["database", "object"])
async def test_a_file_refused_for_what_it_is_stores_nothing_on_either_store(
    rig: Rig, kept_with_jobs: bool,
) -> None:
    if kept_with_jobs:
        rig.blobs = InMemoryBlobStore(rig.store)
    with pytest.raises(UnsupportedFileType):
        await rig.submit_use_case()(MEMBER, "plan.pdf", POLICY_TEXT.encode())
    assert (rig.store.documents, rig.store.files, rig.queue.notices) == ({}, {}, [])


async def test_the_quota_is_kept_when_files_are_kept_with_the_jobs(rig: Rig) -> None:
    rig.blobs = InMemoryBlobStore(rig.store)
    use_case = rig.submit_use_case(UploadPolicy(max_documents_per_member=1))
    await use_case(MEMBER, "plan.md", POLICY_TEXT.encode())
    with pytest.raises(QuotaExceeded):
        await use_case(MEMBER, "other.md", b"# Another plan\n\nIts own words.\n")
    assert len(rig.store.documents) == 1


# -- processing ------------------------------------------------------------------------


async def test_a_worker_runs_every_step_of_a_job_it_holds_without_letting_go(rig: Rig) -> None:
    submission = await rig.submit()
    assert await rig.worker().drain() == 1
    job = await rig.job(submission)
    assert job.status is JobStatus.COMPLETE
    assert job.embedding_tokens > 0
    assert [outcome for _, outcome in rig.on_step] == ["ok"] * 6
    assert [step for step, _ in rig.on_step] == [
        "parse", "validate", "chunk", "queue", "embed", "finalize"]


class TokenizerFailingOnce:
    """The real tokenizer, except that its first count blows up (a bug in a library)."""

    def __init__(self, inner: TiktokenTokenizer) -> None:
        self._inner = inner
        self.failed = False

    def encode(self, text: str) -> list[int]:
        return self._inner.encode(text)

    def decode(self, tokens: Sequence[int]) -> str:
        return self._inner.decode(tokens)

    def count(self, text: str) -> int:
        if not self.failed:
            self.failed = True
            raise RuntimeError("tokenizer crashed")
        return self._inner.count(text)


async def test_a_step_retried_by_another_worker_starts_from_the_stored_work(rig: Rig) -> None:
    rig.tokenizer = TokenizerFailingOnce(rig.tokenizer)  # type: ignore[assignment]
    submission = await rig.submit()
    await rig.worker("worker-1").drain()
    job = await rig.job(submission)
    assert (job.status, job.attempts) == (JobStatus.PARSE_VALIDATED, 1)
    assert job.last_error == "unexpected error in chunk: RuntimeError: tokenizer crashed"
    rig.clock.advance(1)
    await rig.worker("worker-2").drain()
    assert (await rig.job(submission)).status is JobStatus.COMPLETE
    assert rig.parser.calls == ["plan.md"]


async def test_a_parse_with_no_text_fails_validation_for_good(rig: Rig) -> None:
    class BlankPages(ScriptedParser):
        """A parser that hands on blank pages instead of refusing them."""

        async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint
                        ) -> ParsedDocument:
            return ParsedDocument((ParsedPage(1, " \n"), ParsedPage(2, "")), parser="blank")

    rig.parser = BlankPages()
    submission = await rig.submit(data=b"a scanned page with no text layer", filename="scan.txt")
    await rig.worker().drain()
    job = await rig.job(submission)
    assert (job.status, job.failed_stage) == (JobStatus.FAILED, "validate")
    assert job.last_error == "we could not find any text in this document"


async def test_an_unexpected_error_is_retried_like_a_passing_failure(rig: Rig) -> None:
    class BrokenOnce(ScriptedParser):
        broken = True

        async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint
                        ) -> ParsedDocument:
            if self.broken:
                self.broken = False
                raise KeyError("page")
            return await super().parse(request, checkpoint)

    rig.parser = BrokenOnce()
    submission = await rig.submit()
    await rig.worker().drain()
    job = await rig.job(submission)
    assert (job.status, job.attempts) == (JobStatus.UPLOADED, 1)
    assert job.last_error == "unexpected error in parse: KeyError: 'page'"
    rig.clock.advance(1)
    await rig.worker().drain()
    assert (await rig.job(submission)).status is JobStatus.COMPLETE


async def test_the_wait_a_provider_asks_for_is_kept(rig: Rig) -> None:
    rig.parser.fail_transiently(1, "rate limited", retry_after=30.0)
    submission = await rig.submit()
    await rig.worker().drain()
    job = await rig.job(submission)
    assert job.available_at == rig.clock.now() + timedelta(seconds=30)


@attrs.define
class HeldLeases:
    """What a worker's heartbeats did: the leases the queue gave back, the ones the
    worker wrote its results with, and an event set after each renewal attempt."""

    given: list[Lease] = attrs.Factory(list)
    finished_with: list[Lease] = attrs.Factory(list)
    beaten: asyncio.Event = attrs.Factory(asyncio.Event)


def watch_leases(rig: Rig, hiccups: int = 0) -> HeldLeases:
    """Watch the worker's leases; its first ``hiccups`` renewals fail as a reset
    database connection does."""
    seen = HeldLeases()
    heartbeat, finish_step = rig.queue.heartbeat, rig.queue.finish_step

    async def renew(lease: Lease, lease_for: timedelta) -> Lease:
        try:
            if hiccups > 0 and len(seen.given) < hiccups:
                seen.given.append(lease)
                raise StoreUnavailable("the database is unreachable: ConnectionResetError")
            seen.given.append(await heartbeat(lease, lease_for))
            return seen.given[-1]
        finally:
            seen.beaten.set()

    async def finish(lease: Lease, *args: Any, **kwargs: Any) -> Lease | None:
        seen.finished_with.append(lease)
        return await finish_step(lease, *args, **kwargs)

    rig.queue.heartbeat = renew  # type: ignore[method-assign]
    rig.queue.finish_step = finish  # type: ignore[method-assign]
    return seen


async def beat(rig: Rig, seen: HeldLeases, seconds: float = 20.0) -> None:
    """Move the fake clock one heartbeat on and wait until the worker has beaten."""
    seen.beaten.clear()
    rig.clock.advance(seconds)
    await asyncio.wait_for(seen.beaten.wait(), timeout=10)


async def hanging_parse(rig: Rig, **process: Any) -> tuple[Submission, asyncio.Task[int]]:
    """A worker whose first parse hangs, its heartbeats on the fake clock."""
    rig.parser.hang()
    submission = await rig.submit()
    worker = rig.worker(process=attrs.evolve(rig.process, timer=rig.clock, **process))
    task = asyncio.create_task(worker.drain())
    await rig.parser.wait_until_hanging()
    return submission, task


async def test_a_long_step_keeps_its_hold_by_renewing_it_and_finishes_with_the_renewed_one(
    rig: Rig,
) -> None:
    seen = watch_leases(rig)
    submission, task = await hanging_parse(rig)  # a beat every 20 s of fake time
    for _ in range(3):  # the step outlives its first lease three times over
        await beat(rig, seen)
        assert (await rig.job(submission)).lease_expires_at == rig.clock.now() + rig.lease_for
    rig.parser.resume()
    await task

    assert (await rig.job(submission)).status is JobStatus.COMPLETE
    assert len(seen.given) == 3
    assert seen.finished_with[0] == seen.given[-1], "the parse was recorded with the latest lease"


async def test_a_failed_renewal_does_not_stop_the_step_or_cost_an_attempt(rig: Rig) -> None:
    seen = watch_leases(rig, hiccups=2)
    submission, task = await hanging_parse(rig, heartbeat_every=timedelta(seconds=15))
    for _ in range(3):  # two failed renewals, then a good one within the first lease
        await beat(rig, seen, 15)
    assert (await rig.job(submission)).lease_expires_at == rig.clock.now() + rig.lease_for
    rig.parser.resume()
    await task

    job = await rig.job(submission)
    assert (job.status, job.attempts) == (JobStatus.COMPLETE, 0)
    assert len(seen.given) == 3
    assert len(rig.parser.calls) == 1  # the slow parse was not thrown away


def fail_while_the_database_is_away(rig: Rig, method: str, times: int) -> list[str]:
    """Make the queue's ``method`` fail ``times`` times as a database shutting down
    does; returns the list each failed call is noted in."""
    real = getattr(rig.queue, method)
    failed: list[str] = []

    async def during_an_outage(*args: object, **kwargs: object) -> object:
        if len(failed) < times:
            failed.append(method)
            raise StoreUnavailable("the database is unreachable: CannotConnectNowError")
        return await real(*args, **kwargs)

    setattr(rig.queue, method, during_an_outage)
    return failed


async def test_a_step_whose_result_met_a_database_outage_goes_back_as_soon_as_it_answers(
    rig: Rig, caplog: pytest.LogCaptureFixture,
) -> None:
    submission = await rig.submit()
    fail_while_the_database_is_away(rig, "finish_step", 1)
    fail_while_the_database_is_away(rig, "release", 2)
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    [lease] = await rig.queue.claim("worker-1", 1, rig.lease_for)
    with caplog.at_level(logging.DEBUG, logger="domain.processing"):
        job = await attrs.evolve(rig.process, pause=wait)(lease)

    # Given back at once (the fake clock never moved: no lease was waited out), and
    # not counted as a failed try.
    assert job is not None
    assert (job.status, job.attempts, job.is_held) == (JobStatus.UPLOADED, 0, False)
    assert waits == [0.5, 1.0]
    assert rig.on_step == [("parse", "store_unreachable")]
    history = await rig.queue.history(submission.job.job_id)
    assert history[-1].detail == "given back: the database went away during the step"
    # One line in the log, and no traceback: an outage is expected, not a crash.
    records = [r for r in caplog.records if r.name == "domain.processing"]
    assert [(r.levelname, r.exc_info) for r in records] == [("WARNING", None)]
    await rig.worker("worker-2").drain()
    assert (await rig.job(submission)).status is JobStatus.COMPLETE


async def test_a_long_step_renewed_past_its_first_lease_is_still_given_back_after_an_outage(
    rig: Rig,
) -> None:
    submission = await rig.submit()
    [lease] = await rig.queue.claim("worker-1", 1, rig.lease_for)
    rig.clock.advance(50)
    await rig.queue.heartbeat(lease, rig.lease_for)  # renewed: now held until 110 s
    rig.clock.advance(20)  # past the expiry the claim gave (60 s), within the renewed one
    fail_while_the_database_is_away(rig, "finish_step", 1)
    fail_while_the_database_is_away(rig, "release", 2)

    async def wait(seconds: float) -> None:
        pass

    job = await attrs.evolve(rig.process, pause=wait)(lease)

    assert job is not None
    assert (job.status, job.attempts, job.is_held) == (JobStatus.UPLOADED, 0, False)
    assert (await rig.job(submission)).attempts == 0


async def test_a_failure_met_by_a_database_outage_is_recorded_once_it_answers(
    rig: Rig,
) -> None:
    rig.parser.fail_transiently(1, "LlamaParse answered 503")
    await rig.submit()
    failed = fail_while_the_database_is_away(rig, "retry_later", 3)
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    [lease] = await rig.queue.claim("worker-1", 1, rig.lease_for)
    job = await attrs.evolve(rig.process, pause=wait)(lease)

    assert failed == ["retry_later"] * 3 and waits == [0.5, 1.0, 2.0]
    assert job is not None
    assert (job.status, job.attempts, job.last_error) == (
        JobStatus.UPLOADED, 1, "LlamaParse answered 503")


async def test_a_worker_stops_trying_to_write_once_its_lease_has_run_out(rig: Rig) -> None:
    rig.parser.fail_transiently(1, "LlamaParse answered 503")
    submission = await rig.submit()
    fail_while_the_database_is_away(rig, "retry_later", 1000)

    async def wait(seconds: float) -> None:
        rig.clock.advance(seconds)

    [lease] = await rig.queue.claim("worker-1", 1, rig.lease_for)
    assert await attrs.evolve(rig.process, pause=wait)(lease) is None
    # Rescue takes the job over from here, as from a worker that died.
    await RescueExpiredLeases(rig.queue, RetryPolicy(), lambda: 0.0)()
    job = await rig.job(submission)
    assert (job.status, job.attempts, job.is_held) == (JobStatus.UPLOADED, 1, False)


async def test_a_worker_whose_hold_was_taken_stops_without_writing(rig: Rig) -> None:
    submission = await rig.submit()
    [lease] = await rig.queue.claim("worker-1", 1, rig.lease_for)
    rig.clock.advance(60)
    await RescueExpiredLeases(rig.queue, RetryPolicy(), lambda: 0.0)()
    assert await rig.process(lease) is None
    assert rig.on_step == [("parse", "lease_lost")]
    job = await rig.job(submission)
    assert (job.status, job.attempts, job.is_held) == (JobStatus.UPLOADED, 1, False)
    assert rig.store.parsed == {}


async def test_a_hold_given_back_can_no_longer_be_renewed(rig: Rig) -> None:
    submission = await rig.submit()
    [lease] = await rig.queue.claim("worker-1", 1, rig.lease_for)
    await rig.queue.release(lease)
    await rig.worker("worker-2").drain()
    with pytest.raises(LeaseLost):
        await rig.queue.heartbeat(lease, rig.lease_for)
    assert (await rig.job(submission)).status is JobStatus.COMPLETE


async def test_a_worker_claims_no_more_jobs_than_it_has_free_slots(rig: Rig) -> None:
    for n in range(5):
        await rig.submit(data=f"# Note {n}\n\nCall the plan about claim {n}.\n".encode(),
                         filename=f"note-{n}.md")
    claim, asked = rig.queue.claim, []

    async def counted_claim(worker: str, limit: int, lease_for: timedelta) -> list[Lease]:
        asked.append(limit)
        return await claim(worker, limit, lease_for)

    rig.queue.claim = counted_claim  # type: ignore[method-assign]
    assert await rig.worker(concurrency=2).drain() == 5
    assert asked[0] == 2 and max(asked) == 2
    counts = await CountJobs(rig.queue)()
    assert counts[JobStatus.COMPLETE] == 5
    assert set(counts) == set(JobStatus)


async def test_releasing_a_job_at_shutdown_does_not_count_an_attempt(rig: Rig) -> None:
    submission = await rig.submit()
    [lease] = await rig.queue.claim("worker-1", 1, rig.lease_for)
    job = await rig.queue.release(lease)
    assert (job.status, job.attempts, job.is_claimable(rig.clock.now())) == (
        JobStatus.UPLOADED, 0, True)
    history = await rig.queue.history(submission.job.job_id)
    assert history[-1].detail == "released at shutdown"


# -- members and operators ---------------------------------------------------------------


async def test_an_operator_may_retry_any_members_failed_job(rig: Rig) -> None:
    rig.parser.fail_permanently("the file is damaged")
    submission = await rig.submit()
    await rig.worker().drain()
    rig.parser.heal()
    job = await RetryFailedJob(rig.queue)(submission.job.job_id, by="operator")
    assert (job.status, job.attempts, job.last_error) == (JobStatus.UPLOADED, 0, None)
    history = await rig.queue.history(job.job_id)
    assert history[-1].detail == "retried by operator"


async def test_retrying_a_job_that_has_not_failed_is_a_conflict(rig: Rig) -> None:
    submission = await rig.submit()
    with pytest.raises(Conflict):
        await RetryFailedJob(rig.queue)(submission.job.job_id, by="member", user_id=MEMBER)


async def test_a_job_report_has_the_document_and_the_whole_history(rig: Rig) -> None:
    submission = await rig.submit()
    await rig.worker().drain()
    report = await ShowJob(rig.queue, rig.documents)(submission.job.job_id, MEMBER)
    assert report.document == submission.document
    assert report.job.status is JobStatus.COMPLETE
    assert len(report.history) == 10
    with pytest.raises(NotFound):
        await ShowJob(rig.queue, rig.documents)(submission.job.job_id, OTHER)


async def test_deleting_removes_the_stored_file_and_every_row(rig: Rig) -> None:
    submission = await rig.submit()
    await rig.worker().drain()
    await DeleteDocument(rig.queue, rig.blobs)(submission.document.document_id, MEMBER)
    assert submission.document.blob_key not in rig.blobs
    assert (rig.store.documents, rig.store.jobs, rig.store.chunks, rig.store.vectors) == (
        {}, {}, {}, {})
    assert rig.store.events == []
    with pytest.raises(NotFound):
        await DeleteDocument(rig.queue, rig.blobs)(submission.document.document_id, MEMBER)


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


async def test_the_same_file_arriving_twice_at_once_keeps_one_document_and_one_file(
    rig: Rig, tmp_path: Path,
) -> None:
    rig.blobs = FilesystemBlobStore(tmp_path)  # type: ignore[assignment]  # writes yield
    use_case = rig.submit_use_case()
    first, second = await asyncio.gather(
        use_case(MEMBER, "plan.md", POLICY_TEXT.encode()),
        use_case(MEMBER, "plan copy.md", POLICY_TEXT.encode()),
    )
    assert {first.created, second.created} == {True, False}
    assert first.document == second.document
    assert files_under(tmp_path) == [first.document.blob_key]


async def test_deleting_one_members_copy_keeps_the_others_file(rig: Rig) -> None:
    mine = await rig.submit()
    theirs = await rig.submit(member=OTHER)
    await DeleteDocument(rig.queue, rig.blobs)(mine.document.document_id, MEMBER)
    assert theirs.document.blob_key in rig.blobs


# -- searching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "options", "message"),
    [
        ("   ", {}, "empty"),
        ("deductible", {"max_chunks": 0}, "max_chunks"),
        ("deductible", {"max_chunks": 51}, "max_chunks"),
        ("deductible", {"token_budget": 0}, "token_budget"),
        ("deductible", {"similarity_threshold": 1.5}, "similarity_threshold"),
        ("deductible " * 2001, {}, "too long"),
        ("deductible\x00?", {}, "NUL"),  # PostgreSQL text cannot hold it: never a 500
    ],
)
async def test_a_search_outside_the_limits_is_refused(
    rig: Rig, query: str, options: dict[str, float], message: str
) -> None:
    with pytest.raises(InvalidQuery, match=message):
        await rig.search()(MEMBER, query, **options)  # type: ignore[arg-type]


async def test_search_ignores_vectors_made_by_another_model(rig: Rig) -> None:
    await rig.submit()
    await rig.worker().drain()
    assert (await rig.search()(MEMBER, "deductible per person")).chunks
    other_model = HashingEmbedder(dimensions=DIMENSIONS, model="another-model")
    search = SearchDocuments(rig.documents, other_model, rig.tokenizer,
                             RetrievalOptions(similarity_threshold=0.0))
    assert (await search(MEMBER, "deductible per person")).chunks == ()


async def test_search_asks_the_store_for_a_few_candidates_per_passage(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _spy_on_search(rig, monkeypatch)
    await rig.search(candidates_per_chunk=3)(MEMBER, " deductible ", max_chunks=5)
    await rig.search()(MEMBER, "deductible", max_chunks=5, mode=SearchMode.KEYWORD)
    assert asked == [(15, "deductible", SearchMode.HYBRID, ""),
                     (20, "deductible", SearchMode.KEYWORD, "")]


async def test_search_adds_the_booklets_words_for_a_members_own(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _spy_on_search(rig, monkeypatch)
    lay_terms = LayTerms.of(EnglishWords())
    search = attrs.evolve(rig.search(), lay_terms=lay_terms)

    await search(MEMBER, "How much is the ER?")
    await search(MEMBER, "What is the deductible?")

    assert [expansion for *_, expansion in asked] == [
        lay_terms.expansion("How much is the ER?"), ""]
    assert "emergency room" in asked[0][3]


def _spy_on_search(rig: Rig, monkeypatch: pytest.MonkeyPatch
                   ) -> list[tuple[int, str, SearchMode, str]]:
    """What the use case asks the index for: (limit, text, mode, expansion) each time."""
    asked: list[tuple[int, str, SearchMode, str]] = []
    search_documents = rig.documents.search

    async def spy(user_id: str, vector: Sequence[float], model: str, min_similarity: float,
                  limit: int, *, text: str, mode: SearchMode,
                  documents: Sequence[UUID] | None = None, expansion: str = "",
                  ) -> list[ScoredChunk]:
        asked.append((limit, text, mode, expansion))
        return await search_documents(user_id, vector, model, min_similarity, limit,
                                      text=text, mode=mode, documents=documents,
                                      expansion=expansion)

    monkeypatch.setattr(rig.documents, "search", spy)
    return asked


async def test_a_failed_embedding_never_leaves_a_vector_behind(rig: Rig) -> None:
    rig.embedder.fail_transiently(1, "the embedding service is busy")
    submission = await rig.submit()
    await rig.worker().drain()
    job = await rig.job(submission)
    assert (job.status, job.last_error) == (JobStatus.EMBEDDING_QUEUED,
                                            "the embedding service is busy")
    assert rig.store.chunks and rig.store.vectors == {}
    assert (await rig.search()(MEMBER, "deductible")).chunks == ()
