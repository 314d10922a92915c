"""``navigator reprocess``: chunk and embed documents again, one by id or every document
embedded by another model than the one in use (``--stale-model``). Kept apart from
``operator`` so each module stays small."""

from __future__ import annotations

import argparse
import asyncio
import uuid

from domain.errors import Conflict, NotFound
from entrypoints.cli.database import database, database_errors
from entrypoints.cli.outcomes import OK, CommandFailed, UsageError
from entrypoints.container import build_container, running
from entrypoints.settings import Settings


def command_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    """``navigator reprocess DOCUMENT_ID`` or ``navigator reprocess --stale-model
    [--dry-run]``: chunk and embed documents again (after a change of embedding model)."""
    if (args.document_id is None) == (not args.stale_model):
        raise UsageError("name one DOCUMENT_ID, or pass --stale-model for every document "
                         "embedded by another model than RAG_EMBEDDING_MODEL's embedder")
    if args.document_id is not None:
        try:
            document_id = uuid.UUID(args.document_id)
        except ValueError:
            raise UsageError("DOCUMENT_ID must be a document's UUID "
                             f"(got {args.document_id!r})") from None
        return asyncio.run(_reprocess_one(settings, document_id))
    return asyncio.run(_reprocess_stale(settings, dry_run=args.dry_run))


async def _reprocess_one(settings: Settings, document_id: uuid.UUID) -> int:
    async with database(settings) as dsn:
        with database_errors():
            container = build_container(settings, dsn)
            async with running(container):
                try:
                    job = await container.reprocess_document()(document_id, by="operator")
                except NotFound:
                    raise CommandFailed(f"no document {document_id} in schema "
                                        f"{settings.database_schema}") from None
                except Conflict as exc:
                    raise CommandFailed(f"conflict: {exc}") from None
    print(f"document {document_id} will be chunked and embedded again (job {job.job_id}, "
          f"now {job.status})")
    return OK


async def _reprocess_stale(settings: Settings, *, dry_run: bool) -> int:
    async with database(settings) as dsn:
        with database_errors():
            container = build_container(settings, dsn)
            async with running(container):
                use_case = container.reprocess_stale_documents()
                model = container.embedder().model
                if dry_run:
                    stale = await use_case.stale()
                    print(f"{len(stale)} document(s) embedded by another model than {model} "
                          "would be processed again:")
                    for document in stale:
                        print(f"  {document.document_id}  {document.filename}")
                    return OK
                done = await use_case()
    print(f"{len(done.started)} document(s) embedded by another model than {model} will be "
          "chunked and embedded again; follow them with `navigator status`")
    for job in done.started:
        print(f"  document {job.document_id}  job {job.job_id}")
    for document, why in done.skipped:
        print(f"  skipped {document.document_id}: {why}")
    return OK
