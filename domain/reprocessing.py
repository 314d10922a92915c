"""Use cases: processing documents again, after a change of embedding model or of
chunking. A document's parsed pages are kept, so only the chunk and embed steps run
again (no parser is paid twice)."""

from __future__ import annotations

from uuid import UUID

import attrs

from domain.errors import Conflict, NotFound
from domain.model import Document, Job
from domain.ports import DocumentRepository, Embedder, UploadQueue


@attrs.frozen
class ReprocessDocument:
    """Chunk and embed one of a member's complete documents again: its job goes back
    to the chunk step and a worker takes it from there. Until it is complete again
    searches leave it out and say so. Only a complete document can be processed again
    (a failed one is retried instead); another member's is not found."""

    queue: UploadQueue
    documents: DocumentRepository

    async def __call__(self, document_id: UUID, by: str, user_id: str | None = None) -> Job:
        await self.documents.get(document_id, user_id)
        try:
            job = await self.queue.job_for_document(document_id)
        except NotFound:
            raise NotFound(f"no document {document_id}") from None
        return await self.queue.reprocess(job.job_id, by=by, user_id=user_id)


@attrs.frozen
class StaleReprocessing:
    """What ``ReprocessStaleDocuments`` did: the jobs it sent back, and the documents
    it left alone with why (deleted or moved meanwhile)."""

    started: tuple[Job, ...]
    skipped: tuple[tuple[Document, str], ...]


@attrs.frozen
class ReprocessStaleDocuments:
    """Every complete document, of every member, with a passage whose vector is not of
    the embedding model in use (``RAG_EMBEDDING_MODEL``), processed again: run after
    changing the model, so searches find the older documents again."""

    reprocess: ReprocessDocument
    documents: DocumentRepository
    embedder: Embedder

    async def stale(self) -> list[Document]:
        """The documents it would process again (a dry run)."""
        return await self.documents.embedded_by_other_models(self.embedder.model)

    async def __call__(self) -> StaleReprocessing:
        started: list[Job] = []
        skipped: list[tuple[Document, str]] = []
        for document in await self.stale():
            try:
                started.append(await self.reprocess(document.document_id, by="operator"))
            except (NotFound, Conflict) as exc:  # deleted, or moved since it was listed
                skipped.append((document, str(exc)))
        return StaleReprocessing(tuple(started), tuple(skipped))
