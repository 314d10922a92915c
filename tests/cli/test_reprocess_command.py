"""``navigator reprocess``: one document, or every document embedded by another model
than the one in use, sent back to be chunked and embedded again (on a real schema)."""

from __future__ import annotations

import uuid

import pytest

from domain.model import Document
from domain.status import JobStatus
from entrypoints.container import Container
from tests.cli.conftest import Cli
from tests.cli.test_operator_commands import upload

pytestmark = pytest.mark.postgres


async def complete_document(container: Container, name: str) -> Document:
    job = await upload(container, name)
    await container.worker(worker_id="worker-cli-test").drain()
    return await container.documents().get(job.document_id)


async def embedded_by_an_older_model(container: Container, document: Document) -> None:
    pool = container.pool()
    schema = container.settings().database_schema
    await pool.execute(f'UPDATE "{schema}".chunk_embeddings SET model = $1 '
                       "WHERE document_id = $2", "an-older-model", document.document_id)


async def test_stale_documents_are_listed_then_processed_again_with_the_model_in_use(
    db_cli: Cli, container: Container,
) -> None:
    old = await complete_document(container, "old.md")
    current = await complete_document(container, "current.md")
    await embedded_by_an_older_model(container, old)

    listed = await db_cli.run_async("reprocess", "--stale-model", "--dry-run")
    done = await db_cli.run_async("reprocess", "--stale-model")

    assert listed.code == 0, listed.err
    assert f"{old.document_id}  old.md" in listed.out
    assert str(current.document_id) not in listed.out
    assert done.code == 0, done.err
    assert "1 document(s) embedded by another model" in done.out
    job = await container.job_queue().job_for_document(old.document_id)
    assert job.status is JobStatus.PARSE_VALIDATED
    assert (await container.job_queue().history(job.job_id))[-1].detail == (
        "reprocess requested by operator")
    await container.worker(worker_id="worker-cli-test").drain()
    assert await container.documents().embedded_by_other_models(
        container.embedder().model) == []


async def test_one_document_is_reprocessed_by_id_and_a_busy_one_is_a_conflict(
    db_cli: Cli, container: Container,
) -> None:
    done = await complete_document(container, "done.md")
    waiting = await upload(container, "waiting.md")

    again = await db_cli.run_async("reprocess", str(done.document_id))
    busy = await db_cli.run_async("reprocess", str(waiting.document_id))
    missing = await db_cli.run_async("reprocess", str(uuid.uuid4()))

    assert again.code == 0, again.err
    assert "will be chunked and embedded again" in again.out
    assert busy.code == 1
    assert "conflict: only a complete document can be processed again" in busy.err
    assert missing.code == 1 and "no document" in missing.err


def test_reprocess_needs_a_document_or_stale_model_and_a_real_id(cli: Cli) -> None:
    neither = cli.run("reprocess")
    both = cli.run("reprocess", str(uuid.uuid4()), "--stale-model")
    garbled = cli.run("reprocess", "yesterday")

    assert (neither.code, both.code, garbled.code) == (2, 2, 2)
    assert "--stale-model" in neither.err
    assert "DOCUMENT_ID must be a document's UUID" in garbled.err


async def test_a_dry_run_of_one_document_is_refused_and_changes_nothing(
    db_cli: Cli, container: Container,
) -> None:
    done = await complete_document(container, "done.md")

    tried = await db_cli.run_async("reprocess", str(done.document_id), "--dry-run")

    assert tried.code == 2
    assert "--dry-run goes with --stale-model" in tried.err
    job = await container.job_queue().job_for_document(done.document_id)
    assert job.status is JobStatus.COMPLETE
