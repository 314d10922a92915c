"""How a search finds passages: by the question's words, by its meaning, or both.

The mode is set by ``RAG_SEARCH_MODE`` and may be chosen per request; what each
mode returns is the ``SearchIndex`` port's contract (``domain.ports.search``), held
to both repositories by the contract suite. The ranking itself belongs to the
index: PostgreSQL ranks in SQL (``adapters/postgres/search_sql.py``).
"""

from __future__ import annotations

import enum


class SearchMode(enum.StrEnum):
    """How a search finds chunks (``RAG_SEARCH_MODE``): ``hybrid`` fuses the keyword
    and the vector lists by reciprocal rank, ``vector`` and ``keyword`` use one alone."""

    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"
