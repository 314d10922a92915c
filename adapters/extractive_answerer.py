"""The ``Answerer`` port with no language model: an extractive answer, offline.

It returns, verbatim, the sentences of the best passages that share the most
words with the question (at most ``max_sentences``, best passage first), each
cited ``[n]``, under a first line that says the answer is extracted, not
generated. A passage's text is only ever quoted, never obeyed. When no sentence
shares a meaningful word with the question, it answers that the documents do
not cover it (the marker the grounding rules understand).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from domain.grounding import NOT_COVERED_MARKER, AnswerKind, GroundedPrompt, Usage

HEADER = "Extracted from your documents (quoted, not generated):"

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*[-*#|\u2022])")
#: A "sentence" longer than this is a table or a run of PDF lines: cut it at line ends.
LONG_SENTENCE = 300
_WORD = re.compile(r"[a-z0-9$%][a-z0-9$%,.'-]*[a-z0-9%]|[a-z0-9]", re.IGNORECASE)
# Words that say nothing about which passage answers (question words, fillers).
_STOPWORDS = """
a an and are as at be been but by can could do does did for from had has have how i if in
into is it its me my no not of on or our should so than that the their them then there
these they this to under was we were what when where which who whom why will with would
you your yours am any about after before does doing much many more most get got please
tell know need plan
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def terms(text: str) -> set[str]:
    """The meaningful words of ``text``, lower-cased and lightly stemmed."""
    found = set()
    for word in _WORD.findall(text.lower()):
        word = word.strip(".,'")
        if not word or word in STOPWORDS:
            continue
        found.add(_stem(word))
    return found


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def sentences(text: str) -> list[str]:
    """The sentences (or list items, or lines of an over-long run) of ``text``, one line each."""
    found = []
    for part in _SENTENCE.split(text):
        pieces = part.splitlines() if len(part) > LONG_SENTENCE else [part]
        for piece in pieces:
            flat = " ".join(piece.split()).lstrip("#*-|\u2022 ").strip()
            if len(flat) > 3:
                found.append(flat)
    return found


class ExtractiveAnswerer:
    """Offline answers: the question's best-matching sentences, quoted and cited."""

    kind = AnswerKind.EXTRACTED
    model = "extractive"

    def __init__(self, max_sentences: int = 3) -> None:
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.max_sentences = max_sentences

    def __repr__(self) -> str:
        return f"ExtractiveAnswerer(max_sentences={self.max_sentences})"

    async def stream(self, prompt: GroundedPrompt) -> AsyncIterator[str | Usage]:
        wanted = terms(prompt.question)
        # A sentence answers only if it holds at least half the question's meaningful
        # words: hybrid search hands on passages that share a single word of the
        # question ("covered"), and one shared word is not an answer.
        needed = max(1, (len(wanted) + 1) // 2)
        scored: list[tuple[int, int, int, str, int]] = []
        for rank, passage in enumerate(prompt.passages):
            for position, sentence in enumerate(sentences(passage.text)):
                overlap = len(wanted & terms(sentence))
                if overlap >= needed:
                    scored.append((overlap, rank, position, sentence, passage.label))
        if not scored:
            yield NOT_COVERED_MARKER
            yield Usage()
            return
        # Most shared words first; among equals, the better passage, then reading order.
        best = sorted(scored, key=lambda s: (-s[0], s[1], s[2]))[: self.max_sentences]
        best.sort(key=lambda s: (s[1], s[2]))  # read them in document order
        yield HEADER
        for _overlap, _rank, _position, sentence, label in best:
            ending = "" if sentence.endswith((".", "!", "?")) else "."
            yield f"\n- {sentence}{ending} [{label}]"
        yield Usage()
