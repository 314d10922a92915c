"""Use case: a worker runs a claimed job's step, and the steps that follow.

Each step's result is committed on its own (fenced by the lease), and the worker
keeps the job for the next step instead of releasing and re-claiming it. While a
step runs the lease is renewed in the background. Every queue call is a short
write of its own (a heartbeat, the hosted parser's job id, a step's result): no
transaction spans the parser's or the embedder's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import attrs

from domain.chunking import ChunkingConfig, chunk_cleaned_document
from domain.errors import LeaseLost, StepError, StoreUnavailable, TransientError
from domain.model import Chunk, ChunkVector, Job, Lease, ParsedDocument, ParseRequest, StepOutput
from domain.ports import (
    BlobStore,
    Clock,
    DocumentRepository,
    Embedder,
    Jitter,
    Parser,
    Timer,
    Tokenizer,
    WorkerQueue,
)
from domain.retry import RetryPolicy
from domain.status import StepName
from domain.validation import ParseValidation

log = logging.getLogger(__name__)

#: Waits between tries to reach the database again after a write it could not take.
_STORE_RETRY = RetryPolicy(max_retries=0, base_delay=0.5, max_delay=10.0, jitter=0.0)


class _LoopTimer:
    """Real time, on the event loop."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@attrs.define
class LeaseHolder:
    """The latest lease a running job is under. Every write for the job starts from
    it and puts back the lease the write returned (a heartbeat, the hosted parser's
    job id, a step's result), so each write carries the job as it is stored. Writes
    for one job take turns, so none starts from a lease another is replacing. A
    worker shutting down finds here the lease to give back."""

    lease: Lease | None = None
    _turn: asyncio.Lock = attrs.field(factory=asyncio.Lock, init=False, repr=False)

    @property
    def held(self) -> Lease:
        """The latest lease (while a job runs there always is one)."""
        assert self.lease is not None, "no lease is held"
        return self.lease

    async def renew(self, write: Callable[[Lease], Awaitable[Lease]]) -> Lease:
        """Make ``write`` with the latest lease and keep the lease it returns."""
        async with self._turn:
            self.lease = await write(self.held)
            return self.lease


@attrs.define
class _Checkpoint:
    """Lets a hosted parser save its external job id on our job (fenced), with the
    job's latest lease."""

    queue: WorkerQueue
    holder: LeaseHolder

    @property
    def external_id(self) -> str | None:
        return self.holder.lease.job.parser_job_id if self.holder.lease else None

    async def save(self, external_id: str) -> None:
        await self.holder.renew(lambda lease: self.queue.record_parser_job(lease, external_id))


@attrs.define
class _Carry:
    """Artefacts handed from one step to the next while the same worker holds the job."""

    parsed: ParsedDocument | None = None
    chunks: list[Chunk] | None = None


@attrs.define
class ProcessJob:
    """Run the step a lease is for, then every following step, until the job is
    complete, failed, retried later, or the lease is lost, or (the worker stopping)
    given back at the result of the step that was running."""

    queue: WorkerQueue
    documents: DocumentRepository
    blobs: BlobStore
    parser: Parser
    embedder: Embedder
    tokenizer: Tokenizer
    clock: Clock
    jitter: Jitter
    retry_policy: RetryPolicy = RetryPolicy()
    chunking: ChunkingConfig = ChunkingConfig()
    validation: ParseValidation = ParseValidation()
    lease_for: timedelta = timedelta(seconds=60)
    heartbeat_every: timedelta | None = None  # default: a third of the lease
    #: A step still running after this long is stopped and retried (a transient
    #: failure, within the retry policy's limit). None: no limit.
    step_timeout: timedelta | None = timedelta(minutes=15)
    #: Measures the step timeout and beats the heartbeat interval; the clock moves it
    #: in tests (no real waiting).
    timer: Timer = attrs.Factory(lambda: _LoopTimer())
    on_step: Callable[[str, float, str], None] = lambda step, seconds, outcome: None
    #: Wraps each step (its work and the writes that record it): the process's tracing
    #: hook opens the step's span there, in the trace the upload started.
    trace_step: Callable[[Job, StepName], contextlib.AbstractContextManager[object]] = (
        lambda job, step: contextlib.nullcontext())
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep  # waits between store retries

    async def __call__(
        self, lease: Lease, holder: LeaseHolder | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> Job | None:
        """Returns the job as this worker left it, or None if the lease was lost.

        Once ``stopping()`` is true (the worker is shutting down) the step that is
        running finishes and the job is given back instead of going on to the next.
        """
        holder = holder if holder is not None else LeaseHolder()
        carry = _Carry()
        clock = asyncio.get_running_loop().time
        current: Lease | None = lease
        while current is not None:
            holder.lease = current
            step = current.job.current_step()
            with self.trace_step(current.job, step.name):
                started, outcome = clock(), "cancelled"
                error: StepError | None = None
                try:
                    work = self._run_step(step.name, holder, carry)
                    output = await self._with_heartbeat(holder, self._timed(step.name, work))
                    # The lease as the heartbeats and the parser's checkpoint left it.
                    current = await self.queue.finish_step(
                        holder.held, output, self.lease_for, continue_=not stopping()
                    )
                    holder.lease, outcome = current, "ok"
                    continue
                except LeaseLost as exc:
                    outcome = "lease_lost"
                    log.warning("lease lost",
                                extra={"job_id": str(lease.job_id), "error": str(exc)})
                except StoreUnavailable as exc:
                    holding = holder.held
                    outcome = "store_unreachable"
                    log.warning("the database went away during the step; the job goes back as "
                                "soon as it answers", extra={"job_id": str(lease.job_id),
                                                                 "error": str(exc)})
                    holder.lease = None
                    return await self._until_stored(holding, functools.partial(
                        self.queue.release, holding,
                        "given back: the database went away during the step"), said=True)
                except StepError as exc:
                    outcome, error = "error", exc
                except Exception as exc:  # a bug or an unclassified library error
                    log.exception("step crashed", extra={"job_id": str(lease.job_id)})
                    outcome = "error"
                    error = TransientError(
                        f"unexpected error in {step.name}: {type(exc).__name__}: {exc}"
                    )
                finally:
                    self.on_step(step.name, clock() - started, outcome)
                holding, holder.lease = holder.held, None
                return None if error is None else await self._handle_failure(holding, error)
        return await self.queue.get_job(lease.job_id)

    async def _handle_failure(self, lease: Lease, error: StepError) -> Job | None:
        decision = self.retry_policy.decide(error, lease.job.attempts, self.clock.now(),
                                            self.jitter())
        if decision.retry_at is None:
            return await self._until_stored(lease, lambda: self.queue.fail(lease, decision.reason))
        retry_at = decision.retry_at
        return await self._until_stored(
            lease, lambda: self.queue.retry_later(lease, decision.reason, retry_at))

    async def _until_stored(self, lease: Lease, write: Callable[[], Awaitable[Job]],
                            *, said: bool = False) -> Job | None:
        """Make a fenced write that gives the job up (retry later, fail, give back),
        trying again while the database does not answer, so the job moves on as soon
        as it is back instead of waiting out its lease. Past the lease, rescue takes
        the job over and this worker stops trying. None if the lease was lost. One
        line goes to the log for the outage (none if the caller ``said`` it already)."""
        # Heartbeats may have renewed the lease past the expiry ``lease`` shows, but never
        # by more than a lease from now: once that has passed, it has surely run out.
        deadline = self.clock.now() + self.lease_for
        failures = 0
        while True:
            try:
                return await write()
            except LeaseLost:
                return None
            except StoreUnavailable as exc:
                failures += 1
                if failures == 1 and not said:
                    log.warning("the database is unreachable; trying again until it answers",
                                extra={"job_id": str(lease.job_id), "error": str(exc)})
                if self.clock.now() >= deadline:
                    return None
                await self.pause(_STORE_RETRY.delay(failures))

    async def _timed(self, step: StepName, work: Awaitable[StepOutput]) -> StepOutput:
        """The step's work, stopped (cancelled) once it has run ``step_timeout``: a
        transient failure, so the step is tried again later within the retry limit."""
        task = asyncio.ensure_future(work)
        if self.step_timeout is None:
            return await task
        seconds = self.step_timeout.total_seconds()
        timer = asyncio.ensure_future(self.timer.sleep(seconds))
        try:
            done, _ = await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            raise TransientError(f"the {step} step took longer than {seconds:g} s")
        finally:
            for pending in (task, timer):
                if not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pending

    async def _with_heartbeat(self, holder: LeaseHolder,
                              work: Awaitable[StepOutput]) -> StepOutput:
        """Run the step's work, renewing the lease meanwhile (the renewed lease goes
        back to ``holder``, so the step's result is written with it). Only a lost
        lease stops the work: a failed renewal (a database hiccup) is tried again at
        the next beat, and if the lease runs out meanwhile the next renewal says so."""
        task = asyncio.ensure_future(work)
        interval = (self.heartbeat_every or self.lease_for / 3).total_seconds()
        try:
            while True:
                beat = asyncio.ensure_future(self.timer.sleep(interval))
                try:
                    await asyncio.wait({task, beat}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    beat.cancel()
                if task.done():
                    return task.result()
                try:
                    await holder.renew(lambda lease: self.queue.heartbeat(lease, self.lease_for))
                except LeaseLost:
                    raise
                except StoreUnavailable as exc:
                    job_id = holder.lease.job_id if holder.lease else None
                    log.warning("lease renewal failed; will try again",
                                extra={"job_id": str(job_id), "error": repr(exc)})
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _run_step(self, step: StepName, holder: LeaseHolder, carry: _Carry) -> StepOutput:
        job = holder.held.job
        if step is StepName.PARSE:
            document = await self.documents.get(job.document_id)
            data = await self.blobs.get(document.blob_key)
            request = ParseRequest(document.document_id, document.filename, document.media_type,
                                   data)
            carry.parsed = await self.parser.parse(request, _Checkpoint(self.queue, holder))
            return StepOutput(parsed=carry.parsed,
                              detail=f"parsed {len(carry.parsed.pages)} pages with "
                                     f"{self.parser.name}")
        if step is StepName.VALIDATE:
            parsed = carry.parsed or await self.documents.parsed(job.document_id)
            carry.parsed = parsed
            return StepOutput(detail=self.validation.check(parsed))
        if step is StepName.CHUNK:
            parsed = carry.parsed or await self.documents.parsed(job.document_id)
            config = attrs.evolve(
                self.chunking,
                max_tokens=min(self.chunking.max_tokens,
                               self.embedder.limits.max_tokens_per_input),
            )
            carry.chunks = await asyncio.to_thread(
                chunk_cleaned_document, parsed, self.tokenizer, config,
                document_id=job.document_id, user_id=job.user_id,
            )
            return StepOutput(chunks=tuple(carry.chunks),
                              detail=f"{len(carry.chunks)} chunks")
        if step is StepName.QUEUE:
            return StepOutput(detail="queued for embedding")
        if step is StepName.EMBED:
            chunks = carry.chunks or await self.documents.chunks(job.document_id)
            vectors, tokens = await self._embed(chunks)
            return StepOutput(vectors=vectors, embedding_tokens=tokens,
                              detail=f"{len(vectors)} vectors from {self.embedder.model}, "
                                     f"{tokens} tokens")
        if step is StepName.FINALIZE:
            return StepOutput(detail="searchable")
        raise AssertionError(f"unknown step {step}")

    async def _embed(self, chunks: list[Chunk]) -> tuple[tuple[ChunkVector, ...], int]:
        """All of a document's vectors or none: the embedder packs the requests
        within its limits (``domain.batching``) and returns one vector per text."""
        result = await self.embedder.embed([c.text for c in chunks])
        vectors = tuple(
            ChunkVector(chunk.chunk_id, vector, self.embedder.model)
            for chunk, vector in zip(chunks, result.vectors, strict=True)
        )
        return vectors, result.tokens_used

