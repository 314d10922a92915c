"""Full-text search in Python, standing in for PostgreSQL's ``english`` configuration.

Words are lowercased, the same stop words as PostgreSQL's ``english.stop`` are
left out, and a light suffix-stripping stemmer makes "services" meet "service"
and "appeals" meet "appeal". It is not the Snowball stemmer PostgreSQL uses, so
the in-memory repository's keyword ranking can differ from PostgreSQL's; the
contract suite only pins what both agree on (``domain.hybrid``). Both repositories
mark the question's words in the passages they return with :func:`headline`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from adapters.english import STOP_WORDS

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_SUFFIXES = ("ational", "ization", "fulness", "iveness", "ations", "ation", "ments", "ment",
             "ness", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "ly", "s")


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A word's crude stem: the longest known suffix off, leaving at least 3 letters."""
    if word.isdigit() or len(word) <= 3:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix in ("ies", "ied") else base
    return word


def words(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, stem) of each word of ``text`` that is not a stop word."""
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if word not in STOP_WORDS:
            yield match.start(), match.end(), stem(word)


def ordered_terms(text: str) -> list[str]:
    """The stems of ``text``'s words in order, stop words left out (a question's word
    pairs are read from this)."""
    return [term for _, _, term in words(text)]


@functools.lru_cache(maxsize=4096)
def positions(text: str) -> dict[str, tuple[int, ...]]:
    """Where each stem of ``text`` stands, counting every word, stop words included
    (as PostgreSQL's ``tsvector`` counts positions)."""
    found: dict[str, list[int]] = {}
    for position, match in enumerate(_WORD.finditer(text), start=1):
        word = match.group().lower()
        if word not in STOP_WORDS:
            found.setdefault(stem(word), []).append(position)
    return {term: tuple(at) for term, at in found.items()}


def holds_pair(text: str, pair: tuple[str, str], reach: int) -> bool:
    """Whether ``text`` says the pair's second stem within ``reach`` words after its first."""
    at = positions(text)
    seconds = set(at.get(pair[1], ()))
    return any(first + gap in seconds
               for first in at.get(pair[0], ()) for gap in range(1, reach + 1))


@functools.lru_cache(maxsize=4096)
def terms(text: str) -> frozenset[str]:
    """The stems a text can be found by."""
    return frozenset(term for _, _, term in words(text))


def occurrences(text: str, query_terms: frozenset[str]) -> dict[str, int]:
    """How often ``text`` says each of the query's stems (only those it says)."""
    counts: dict[str, int] = {}
    for term in _stems(text):
        if term in query_terms:
            counts[term] = counts.get(term, 0) + 1
    return counts


@functools.lru_cache(maxsize=4096)
def _stems(text: str) -> tuple[str, ...]:
    return tuple(term for _, _, term in words(text))


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
    return word not in STOP_WORDS and stem(word) in query_terms  # stem() is cached


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
