"""Vectors packed once into pgvector's binary format, for the embed step's write.

The driver's codec (pgvector's, registered on every pooled connection) sends a
``Vector`` as ``to_binary()``. Building a ``Vector`` from a list of Python floats and
then serialising it makes three copies (checked list, ``array``, byte-swapped
``array``); with ~300 vectors per step those copies are a large share of the embed
step's time (docs/BENCHMARKS.md). Here the values are checked and packed big-endian
in one ``struct`` call.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pgvector import Vector

from adapters.vectors import packed_floats, refuse_unusable

_HEADER = struct.Struct(">HH")  # dimensions, unused


class PackedVector(Vector):
    """A vector already in pgvector's binary wire format; only the driver reads it."""

    def __init__(self, binary: bytes) -> None:  # no super().__init__: nothing to convert
        self._binary = binary

    def to_binary(self) -> bytes:
        return self._binary

    def __repr__(self) -> str:
        return f"PackedVector({_HEADER.unpack_from(self._binary)[0]} dimensions)"


def packed_vector(vector: Sequence[float], dimensions: int | None) -> PackedVector:
    """``vector`` checked by the rules every store applies
    (``adapters.vectors.refuse_unstorable``: the 4-byte range as it is packed) and
    packed for the driver."""
    refuse_unusable(vector, dimensions)
    return PackedVector(_HEADER.pack(len(vector), 0) + packed_floats(vector, ">"))
