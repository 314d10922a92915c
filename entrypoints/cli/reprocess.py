"""``navigator reprocess``: chunk and embed documents again, one by id or every document
embedded by another model than the one in use (``--stale-model``). Kept apart from
``operator`` so each module stays small."""

from __future__ import annotations

import argparse
import asyncio
import uuid

from entrypoints.cli.database import operator_errors, running_container
from entrypoints.cli.outcomes import OK, UsageError
from entrypoints.settings import Settings


def command_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    """``navigator reprocess DOCUMENT_ID`` or ``navigator reprocess --stale-model
    [--dry-run]``: chunk and embed documents again (after a change of embedding model)."""
    if (args.document_id is None) == (not args.stale_model):
        raise UsageError("name one DOCUMENT_ID, or pass --stale-model for every document "
                         "embedded by another model than RAG_EMBEDDING_MODEL's embedder")
    if args.dry_run and not args.stale_model:
        # said before anything runs: an operator adding it to be safe must not reprocess
        raise UsageError("--dry-run goes with --stale-model (it lists the documents that "
                         "would be processed again); one DOCUMENT_ID is processed again "
                         "as soon as it is named, so leave --dry-run out to do it")
    if args.document_id is not None:
        try:
            document_id = uuid.UUID(args.document_id)
        except ValueError:
            raise UsageError("DOCUMENT_ID must be a document's UUID "
                             f"(got {args.document_id!r})") from None
        return asyncio.run(_reprocess_one(settings, document_id))
    return asyncio.run(_reprocess_stale(settings, dry_run=args.dry_run))


async def _reprocess_one(settings: Settings, document_id: uuid.UUID) -> int:
    async with running_container(settings) as container:
        with operator_errors(f"document {document_id} in schema {settings.database_schema}"):
            job = await container.reprocess_document()(document_id, by="operator")
    print(f"document {document_id} will be chunked and embedded again (job {job.job_id}, "
          f"now {job.status})")
    return OK


async def _reprocess_stale(settings: Settings, *, dry_run: bool) -> int:
    async with running_container(settings) as container:
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
