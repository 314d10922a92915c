"""A question's words, and the passages that hold them marked, in Python.

Both repositories mark the question's words in the passages they return with
:func:`headline` (PostgreSQL's ``ts_headline`` would parse every returned chunk again
on the database); the in-memory one also finds chunks by :func:`terms`. A word is
what it is to PostgreSQL's ``english`` configuration (``adapters/english.py``):
lowercased, its stop words left out, stemmed by Snowball, so "services" meets
"service" and "appealing" meets "appeal" exactly where ``to_tsvector`` has them meet.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from adapters import english

_WORD = english.WORD


class EnglishWords:
    """The ``Words`` port: a word as PostgreSQL's ``english`` configuration has it,
    stemmed, stop words kept as words (the lay-terms glossary matches on them)."""

    def stems(self, text: str) -> list[str]:
        return [english.stem(word) for word in _WORD.findall(text)]

    def __repr__(self) -> str:
        return "EnglishWords()"


def words(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, lexeme) of each word of ``text`` that is not a stop word."""
    return english.words(text)


@functools.lru_cache(maxsize=4096)
def terms(text: str) -> frozenset[str]:
    """The stems a text can be found by."""
    return english.lexemes(text)


def headline(text: str, query_terms: frozenset[str], *, max_words: int = 40) -> str:
    """The stretch of about ``max_words`` words of ``text`` holding the most of the
    query's words, each marked ``**like this**`` (as PostgreSQL's ``ts_headline``
    would, in Python so the database does not parse every returned chunk again).
    Without a match: the first words."""
    words = _WORD.findall(text)
    if not words:
        return ""
    hits = [i for i, word in enumerate(words) if _is_term(word.lower(), query_terms)]
    best, most = 0, 0
    for hit in hits:
        start = max(0, hit - max_words // 3)
        inside = sum(start <= other < start + max_words for other in hits)
        if inside > most:
            best, most = start, inside
    last = min(len(words), best + max_words)
    return _render(text, _spans(text, words[:last]), best, last, set(hits))


def _spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Where each of ``text``'s first words (as ``_WORD.findall`` found them) stands."""
    spans, position = [], 0
    for word in words:
        start = text.find(word, position)
        position = start + len(word)
        spans.append((start, position))
    return spans


def _is_term(word: str, query_terms: frozenset[str]) -> bool:
    return english.lexeme(word) in query_terms  # the stemmer is cached


def _render(text: str, spans: list[tuple[int, int]], first: int, last: int,
            marked: set[int]) -> str:
    """The text from word ``first`` to word ``last`` (excluded), punctuation and all,
    marked words wrapped in ``**``, white space collapsed."""
    out, position = [], spans[first][0]
    for i in range(first, last):
        s, e = spans[i]
        if i in marked:
            out.append(text[position:s] + "**" + text[s:e] + "**")
            position = e
    out.append(text[position : spans[last - 1][1]])
    return " ".join("".join(out).split())
