"""Rows to domain values and back. asyncpg records never leave the adapter."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from domain.model import (
    Chunk,
    Document,
    Job,
    JobEvent,
    MediaType,
    ParsedDocument,
    ParsedPage,
    WorkerInfo,
)
from domain.status import JobStatus, StepName

Row = Mapping[str, Any]


def document_from_row(row: Row) -> Document:
    return Document(
        document_id=row["document_id"],
        user_id=row["user_id"],
        filename=row["filename"],
        media_type=MediaType(row["media_type"]),
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        blob_key=row["blob_key"],
        created_at=row["created_at"],
    )


def job_from_row(row: Row) -> Job:
    return Job(
        job_id=row["job_id"],
        document_id=row["document_id"],
        user_id=row["user_id"],
        status=JobStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        available_at=row["available_at"],
        attempts=row["attempts"],
        priority=row["priority"],
        last_error=row["last_error"],
        failed_stage=StepName(row["failed_stage"]) if row["failed_stage"] else None,
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
        fencing_token=row["fencing_token"],
        parser_job_id=row["parser_job_id"],
        embedding_tokens=row["embedding_tokens"],
        trace_context=row.get("trace_context"),
    )


def job_to_columns(job: Job) -> list[Any]:
    """The job's columns a transition may change, in the order the queue's statements
    take them: status, attempts, available_at, last_error, failed_stage, lease_owner,
    lease_expires_at, fencing_token, parser_job_id, embedding_tokens, updated_at."""
    return [
        job.status.value, job.attempts, job.available_at, job.last_error,
        job.failed_stage.value if job.failed_stage else None, job.lease_owner,
        job.lease_expires_at, job.fencing_token, job.parser_job_id, job.embedding_tokens,
        job.updated_at,
    ]


def events_to_columns(events: Sequence[JobEvent]) -> list[list[Any]]:
    """Events as six arrays, one per column: from_status, to_status, at, attempt,
    worker, detail."""
    return [
        [e.from_status.value if e.from_status else None for e in events],
        [e.to_status.value for e in events],
        [e.at for e in events],
        [e.attempt for e in events],
        [e.worker for e in events],
        [e.detail for e in events],
    ]


def chunks_to_columns(chunks: Sequence[Chunk]) -> list[list[Any]]:
    """Chunks as one array per column: chunk_id, ordinal, text, token_count,
    heading_path (JSON text), page, char_start, char_end, chunker."""
    return [
        [c.chunk_id for c in chunks], [c.ordinal for c in chunks], [c.text for c in chunks],
        [c.token_count for c in chunks], [json.dumps(list(c.heading_path)) for c in chunks],
        [c.page for c in chunks], [c.char_start for c in chunks],
        [c.char_end for c in chunks], [c.chunker for c in chunks],
    ]


def event_from_row(row: Row) -> JobEvent:
    from_status = row["from_status"]
    return JobEvent(
        job_id=row["job_id"],
        from_status=JobStatus(from_status) if from_status is not None else None,
        to_status=JobStatus(row["to_status"]),
        at=row["at"],
        attempt=row["attempt"],
        worker=row["worker"],
        detail=row["detail"],
    )


def chunk_from_row(row: Row) -> Chunk:
    return Chunk(
        chunk_id=row["chunk_id"],
        document_id=row["document_id"],
        user_id=row["user_id"],
        ordinal=row["ordinal"],
        text=row["text"],
        token_count=row["token_count"],
        heading_path=tuple(row["heading_path"]),
        page=row["page"],
        char_start=row["char_start"],
        char_end=row["char_end"],
        chunker=row["chunker"],
    )


def worker_from_row(row: Row) -> WorkerInfo:
    live_seconds = row.get("live_seconds")  # None too before migration 0015 adds it
    return WorkerInfo(
        worker_id=row["worker_id"],
        hostname=row["hostname"],
        pid=row["pid"],
        version=row["version"],
        started_at=row["started_at"],
        last_seen_at=row["last_seen_at"],
        live_for=None if live_seconds is None else timedelta(seconds=live_seconds),
    )


def parsed_to_json(parsed: ParsedDocument) -> str:
    return json.dumps(
        {
            "parser": parsed.parser,
            "pages": [{"number": p.number, "markdown": p.markdown} for p in parsed.pages],
        }
    )


def parsed_from_json(text: str) -> ParsedDocument:
    data = json.loads(text)
    pages = [ParsedPage(p["number"], p["markdown"]) for p in data["pages"]]
    return ParsedDocument(pages=pages, parser=data.get("parser", ""))
