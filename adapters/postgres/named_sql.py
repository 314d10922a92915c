"""Named static SQL: a ``.sql`` file of ``-- name: x`` sections, read once from the
package (``importlib.resources``, so an installed wheel finds it too) and handed out
by name with the schema's quoted name in place of ``{schema}``. Nothing else is
substituted, so the text a reader sees is the statement that runs.
"""

from __future__ import annotations

import functools
import importlib.resources
import re

from adapters.postgres.connection import quote_schema

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@functools.cache
def _sections(filename: str) -> dict[str, str]:
    text = importlib.resources.files(__package__).joinpath(filename).read_text("utf-8")
    parts = _NAME.split(text)
    sections: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in sections:
            raise ValueError(f"{filename} names two statements {name!r}")
        sections[name] = body.strip().rstrip(";")
    return sections


class Statements:
    """The statements of one ``.sql`` file of this package, for one schema."""

    def __init__(self, filename: str, schema: str) -> None:
        quoted = quote_schema(schema)
        self._sql = {name: body.replace("{schema}", quoted)
                     for name, body in _sections(filename).items()}

    def __getitem__(self, name: str) -> str:
        return self._sql[name]

    def names(self) -> list[str]:
        return list(self._sql)


def queue_statements(schema: str) -> Statements:
    """The job queue's statements (queue.sql) for ``schema``."""
    return Statements("queue.sql", schema)
