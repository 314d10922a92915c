"""Where uploaded files are kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from domain.files import UploadedFile


class BlobStore(Protocol):
    """Uploaded files, one per document, by the document's ``blob_key``.

    ``kept_with_jobs`` is True for a store in the queue's own database: its bytes
    are written by ``JobQueue.submit`` in the transaction that records the document,
    and removed with the document. Otherwise (object storage) the file is put first
    and the document recorded after, so a document never names a file that was not
    written.
    """

    @property
    def kept_with_jobs(self) -> bool:
        ...

    async def put(self, key: str, file: UploadedFile) -> None:
        """Store (or replace) the file under ``key``, streamed part by part."""
        ...

    async def get(self, key: str) -> bytes:
        """The whole file; ``NotFound`` if there is none."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The file's bytes ``start`` to ``end`` (exclusive; None: to the end), a part at
        a time, so a large file is never whole in memory; ``NotFound`` (on the first
        step) if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; no error if there is none."""
        ...
