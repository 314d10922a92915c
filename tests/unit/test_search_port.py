"""Search is its own port: the use case that searches depends on it alone."""

from __future__ import annotations

import typing

from domain.ports import DocumentRepository, SearchIndex
from domain.search import SearchDocuments


def test_the_search_use_case_takes_the_search_index_not_the_repository() -> None:
    hints = typing.get_type_hints(SearchDocuments)

    assert hints["index"] is SearchIndex
    assert DocumentRepository not in hints.values()
    assert not hasattr(DocumentRepository, "search")

