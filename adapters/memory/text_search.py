"""Full-text search in Python, standing in for PostgreSQL's ``english`` configuration.

Words are lowercased, the same stop words as PostgreSQL's ``english.stop`` are
left out, and a light suffix-stripping stemmer makes "services" meet "service"
and "appeals" meet "appeal". It is not the Snowball stemmer PostgreSQL uses, so
the two can rank differently; the contract suite only pins what both agree on
(``domain.hybrid``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from adapters.english import STOP_WORDS

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_SUFFIXES = ("ational", "ization", "fulness", "iveness", "ations", "ation", "ments", "ment",
             "ness", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "ly", "s")


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


@functools.lru_cache(maxsize=4096)
def terms(text: str) -> frozenset[str]:
    """The stems a text can be found by."""
    return frozenset(term for _, _, term in words(text))


def headline(text: str, query_terms: frozenset[str], *, max_words: int = 35, fragments: int = 2
             ) -> str:
    """Up to ``fragments`` stretches of about ``max_words`` words around the query's
    words, joined by " … ", each matching word marked ``**like this**`` (what
    PostgreSQL's ``ts_headline`` gives with the repository's options). Without a
    match: the text's first ``max_words`` words."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not spans:
        return ""
    hits = [i for i, (s, e) in enumerate(spans)
            if text[s:e].lower() not in STOP_WORDS and stem(text[s:e].lower()) in query_terms]
    if not hits:
        return _render(text, spans, 0, min(len(spans), max_words), set())
    windows: list[tuple[int, int]] = []
    for hit in hits:
        if len(windows) == fragments:
            break
        if windows and hit < windows[-1][1]:
            continue
        start = max(windows[-1][1] if windows else 0, hit - max_words // 3)
        windows.append((start, min(len(spans), start + max_words)))
    marked = set(hits)
    return " … ".join(_render(text, spans, a, b, marked) for a, b in windows)


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
