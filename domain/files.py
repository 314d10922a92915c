"""An uploaded file as the domain sees it: its size, its SHA-256 and a way to read it.

The API never holds a whole upload in memory: it writes the body to a temporary file
as it arrives, hashing as it goes (``adapters.spooled_upload``), and hands the use
case an :class:`UploadedFile`. The upload policy reads what it needs to decide the
type (the first bytes; the ZIP directory of a Word document; the whole file, block by
block, to check a text file is UTF-8), and the file store reads it in parts.

:class:`BytesFile` is the same thing over bytes already in memory (tests, small
files, the CLI).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from typing import BinaryIO, Protocol

from domain.units import MIB

#: The size of the parts a file store writes or reads a file in.
PART_BYTES = MIB


class UploadedFile(Protocol):
    """The bytes of one upload, received in full and kept aside until they are stored."""

    @property
    def size(self) -> int:
        ...

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes, computed by the server as they arrived."""
        ...

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer if the file is shorter)."""
        ...

    def reader(self) -> BinaryIO:
        """A new, seekable reader from the start. Each reader keeps its own position;
        close it when done."""
        ...

    def parts(self, size: int = PART_BYTES) -> AsyncIterator[bytes]:
        """The bytes in order, ``size`` at a time (the last part may be shorter)."""
        ...


class BytesFile:
    """An :class:`UploadedFile` over bytes in memory (a copy: the caller's buffer may
    change afterwards without changing the file)."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = bytes(data)
        self._sha256 = hashlib.sha256(self._data).hexdigest()

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def sha256(self) -> str:
        return self._sha256

    def head(self, size: int) -> bytes:
        return self._data[:size]

    def reader(self) -> BinaryIO:
        return io.BytesIO(self._data)

    async def parts(self, size: int = PART_BYTES) -> AsyncIterator[bytes]:
        view = memoryview(self._data)
        for start in range(0, len(self._data), size):
            yield bytes(view[start:start + size])

    def __repr__(self) -> str:  # never the contents: they are a member's health information
        return f"BytesFile(size={self.size}, sha256={self._sha256[:12]}...)"


def as_uploaded_file(data: UploadedFile | bytes | bytearray | memoryview) -> UploadedFile:
    return BytesFile(data) if isinstance(data, bytes | bytearray | memoryview) else data


async def read_all(file: UploadedFile) -> bytes:
    """The whole file in memory (for stores that keep bytes in memory)."""
    return b"".join([part async for part in file.parts()])
