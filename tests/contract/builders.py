"""Test data for the contract suites: members, their files, and the steps of a job."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from uuid import UUID, uuid4, uuid5

import attrs

from domain.model import (
    Chunk,
    ChunkVector,
    Document,
    Job,
    Lease,
    MediaType,
    ParsedDocument,
    ParsedPage,
    StepOutput,
    Submission,
)
from domain.ports import JobQueue
from domain.status import JobStatus
from domain.uploads import blob_key_for

LEASE = timedelta(seconds=30)
MARIA = "member-maria"
JAMAL = "member-jamal"


def upload(user_id: str, content: bytes, now: datetime, filename: str = "policy.pdf",
           priority: int = 100) -> tuple[Document, Job]:
    sha256 = hashlib.sha256(content).hexdigest()
    document_id = uuid4()
    document = Document(
        document_id=document_id,
        user_id=user_id,
        filename=filename,
        media_type=MediaType.PDF,
        size_bytes=len(content),
        sha256=sha256,
        blob_key=blob_key_for(user_id, document_id),
        created_at=now,
    )
    job = attrs.evolve(Job.new(uuid4(), document.document_id, user_id, now), priority=priority)
    return document, job


async def submit(queue: JobQueue, user_id: str, content: bytes, now: datetime,
                 filename: str = "policy.pdf", priority: int = 100) -> Submission:
    document, job = upload(user_id, content, now, filename, priority)
    return await queue.submit(document, job)


def parsed(text: str = "# Summary of benefits\n\nDeductible: $500") -> ParsedDocument:
    return ParsedDocument([ParsedPage(1, text)], parser="contract")


def chunks_for(job: Job, texts: list[str]) -> tuple[Chunk, ...]:
    return tuple(
        Chunk(
            chunk_id=uuid5(job.document_id, str(ordinal)),
            document_id=job.document_id,
            user_id=job.user_id,
            ordinal=ordinal,
            text=text,
            token_count=len(text.split()),
            heading_path=("Summary of benefits", f"Part {ordinal}"),
            page=1,
            char_start=ordinal * 100,
            char_end=ordinal * 100 + len(text),
            chunker="contract",
        )
        for ordinal, text in enumerate(texts)
    )


def unit(index: int, dimensions: int, weight: float = 1.0) -> tuple[float, ...]:
    """A vector pointing mostly along axis ``index``."""
    return tuple(weight if i == index else 0.1 for i in range(dimensions))


def vectors_for(chunks: tuple[Chunk, ...], dimensions: int,
                model: str = "text-embedding-3-small") -> tuple[ChunkVector, ...]:
    return tuple(ChunkVector(c.chunk_id, unit(c.ordinal % dimensions, dimensions), model)
                 for c in chunks)


async def run_to(queue: JobQueue, lease: Lease, target: JobStatus, dimensions: int,
                 texts: list[str] | None = None, model: str = "text-embedding-3-small",
                 ) -> Lease | None:
    """Finish steps with plausible artefacts (continuing) until the job reaches
    ``target`` or is no longer held; returns the lease as it then is."""
    texts = texts or ["Deductible is $500 per year", "Copay is $20 per visit"]
    current: Lease | None = lease
    stored: tuple[Chunk, ...] = ()
    while current is not None and current.job.status is not target:
        status = current.job.status
        output = StepOutput(detail=f"{status} done")
        if status is JobStatus.PARSING:
            output = StepOutput(parsed=parsed())
        elif status is JobStatus.CHUNKING:
            stored = chunks_for(current.job, texts)
            output = StepOutput(chunks=stored)
        elif status is JobStatus.EMBEDDING_IN_PROGRESS:
            stored = stored or chunks_for(current.job, texts)
            output = StepOutput(vectors=vectors_for(stored, dimensions, model),
                                embedding_tokens=7 * len(stored))
        current = await queue.finish_step(current, output, LEASE)
    return current


async def process_fully(queue: JobQueue, worker: str, dimensions: int,
                        texts: list[str] | None = None,
                        model: str = "text-embedding-3-small") -> list[UUID]:
    """Claim everything ready and take each job to the end; returns the job ids."""
    done = []
    for lease in await queue.claim(worker, 100, LEASE):
        await run_to(queue, lease, JobStatus.COMPLETE, dimensions, texts, model)
        done.append(lease.job_id)
    return done
