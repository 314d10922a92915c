"""The chunk texts and questions a search or ingestion benchmark writes and asks.

Two kinds (``--text``):

- ``corpus`` (the default): what the product's own parser (pdfium) and chunker
  (``domain.chunking.chunk_cleaned_document``, 512-token chunks) make of the shared
  corpus's Evidence of Coverage (``scan_classic_hmo.pdf``, 232 pages) and one-page policy
  (``simulated_insurance_document.pdf``), with the token counts the tokenizer gives. A
  document of n chunks takes n of them in order from a starting point of its own, and
  each of its chunks starts with a word of its own (``Document docXXXX.``), so no two
  documents are the same text. Questions: three words of the booklet that each occur in
  2 to 20 % of its chunks.
- ``synthetic``: the earlier text, 380 words drawn from 5,000 invented ones (~1,900
  characters, ~370 distinct lexemes per chunk, more than real prose has); questions:
  three of the same words (each in ~7 % of chunks).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from functools import cached_property
from pathlib import Path
from uuid import UUID

import numpy as np

from adapters.parsers.pdf import parse_pdf
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.chunking import ChunkingConfig, chunk_cleaned_document
from domain.model import ParsedDocument

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NAVIGATOR_CORPUS_DIR") or REPO.parent / "shared" / "corpus")
BOOKLET = "scan_classic_hmo.pdf"
POLICY = "simulated_insurance_document.pdf"
_WORDS = np.array([f"w{n:04d}" for n in range(5000)])
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"[a-z]{4,}")
_MEMBER = UUID(int=0)


def synthetic_chunk(rng: np.random.Generator) -> str:
    """380 invented words (~1,900 characters)."""
    return " ".join(rng.choice(_WORDS, 380))


class SyntheticTexts:
    """380 invented words per chunk; 480 tokens each."""

    kind = "synthetic"

    def document(self, number: int, chunks: int) -> list[tuple[str, int]]:
        rng = np.random.default_rng((number, 7))
        return [(synthetic_chunk(rng), 480) for _ in range(chunks)]

    def question(self, n: int, words: int = 3) -> str:
        return " ".join(np.random.default_rng(n).choice(_WORDS, words))


class CorpusTexts:
    """The product's chunks of the corpus's booklet and one-page policy."""

    kind = "corpus"

    def __init__(self, corpus: Path = CORPUS) -> None:
        self._corpus = corpus

    @cached_property
    def _tokenizer(self) -> TiktokenTokenizer:
        return TiktokenTokenizer()

    @cached_property
    def _chunks(self) -> list[tuple[str, int]]:
        tokenizer = self._tokenizer
        out: list[tuple[str, int]] = []
        for name in (POLICY, BOOKLET):
            path = self._corpus / name
            if not path.is_file():
                raise SystemExit(f"{path} does not exist: set NAVIGATOR_CORPUS_DIR, or pass "
                                 "--text synthetic")
            parsed = ParsedDocument(parse_pdf(path.read_bytes()), parser="local")
            out.extend((c.text, c.token_count) for c in chunk_cleaned_document(
                parsed, tokenizer, ChunkingConfig(), document_id=_MEMBER, user_id="bench"))
        return out

    @cached_property
    def _question_words(self) -> list[str]:
        seen: Counter[str] = Counter()
        for text, _ in self._chunks:
            seen.update(set(_WORD.findall(text.lower())))
        n = len(self._chunks)
        return sorted(w for w, c in seen.items() if 0.02 * n <= c <= 0.2 * n)

    @staticmethod
    def _name(number: int) -> str:
        word = ""
        number += 26 ** 3  # at least four letters: a word to_tsvector keeps
        while number:
            number, digit = divmod(number, 26)
            word = _LETTERS[digit] + word
        return "doc" + word

    def document(self, number: int, chunks: int) -> list[tuple[str, int]]:
        """``chunks`` chunks of document ``number``: distinct from every other's by its
        word (``Document docXXXX.`` and a line break, with its tokens counted)."""
        pool = self._chunks
        start = (number * 37) % len(pool)
        prefix = f"Document {self._name(number)}.\n"
        extra = self._tokenizer.count(prefix)
        return [(prefix + pool[(start + i) % len(pool)][0],
                 pool[(start + i) % len(pool)][1] + extra) for i in range(chunks)]

    def question(self, n: int, words: int = 3) -> str:
        return " ".join(np.random.default_rng(n).choice(self._question_words, words))


def texts_of(kind: str) -> SyntheticTexts | CorpusTexts:
    if kind == "synthetic":
        return SyntheticTexts()
    if kind == "corpus":
        return CorpusTexts()
    raise SystemExit(f"--text must be 'corpus' or 'synthetic', not {kind!r}")
