"""Who computes a chunk's keyword index (its ``text_search`` tsvector): the worker,
where it can be sure to compute what the database would, else the database.

The database's trigger (migration 0014) indexes every chunk written without one, as
the generated column did before. A worker that computes them itself takes about half
of the chunk step's database CPU (measured: docs/BENCHMARKS.md, "The keyword index
computed by the worker") off the one machine all workers share; it may only if
its tokens, stop words and stems are the database's. So before its first chunk write
it indexes :data:`~adapters.postgres.tsvector.CALIBRATION` (a text of our own, with
every kind of token the worker handles and the words whose stems differ between
Snowball versions) both ways; the worker supplies tsvectors only if the two agree,
and otherwise says so once and leaves every chunk to the database. A chunk whose text
the worker cannot be sure of (:func:`~adapters.postgres.tsvector.english_tsvector`
answers None) is left to the database either way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import asyncpg

from adapters.postgres.tsvector import CALIBRATION, english_tsvector
from domain.model import Chunk

log = logging.getLogger("navigator.worker")

_AGREES = "SELECT to_tsvector('pg_catalog.english'::regconfig, $1) = $2::tsvector"

#: What PostgreSQL raises for a tsvector literal it cannot read (a syntax error, a word
#: or a vector too long), told from the same errors elsewhere in the statement by the
#: source file that raised it; its message quotes the literal, a chunk's words.
_REFUSALS = (asyncpg.PostgresSyntaxError, asyncpg.ProgramLimitExceededError)
_TSVECTOR_INPUT = frozenset({"tsvector.c", "tsvector_parser.c"})


def refused_literal(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a tsvector literal."""
    return isinstance(exc, _REFUSALS) and \
        getattr(exc, "server_source_filename", None) in _TSVECTOR_INPUT



@functools.cache
def _thread() -> ThreadPoolExecutor:
    """One thread for the process's tsvectors (the cache of words is the process's
    too), made on first use: the default executor may be busy with local parses, and a
    chunk step's write should not wait behind them while its lease runs."""
    return ThreadPoolExecutor(1, thread_name_prefix="keyword-index")


async def database_agrees(conn: asyncpg.Connection) -> bool:
    """Whether the database indexes :data:`CALIBRATION` exactly as this worker does."""
    ours = english_tsvector(CALIBRATION)
    return ours is not None and bool(await conn.fetchval(_AGREES, CALIBRATION, ours))


def _tsvectors(texts: list[str]) -> list[str | None]:
    return [english_tsvector(text) for text in texts]


class KeywordIndexer:
    """The ``text_search`` column of a chunk write: each chunk's tsvector as text, or
    None where the database's trigger is to compute it."""

    def __init__(self, pool: asyncpg.Pool, *, enabled: bool = True) -> None:
        self._pool = pool
        self._by_worker: bool | None = None if enabled else False
        self._checking = asyncio.Lock()  # one check, however many first writes at once

    async def column(self, chunks: Sequence[Chunk]) -> list[str | None]:
        if self._by_worker is None:
            async with self._checking:
                if self._by_worker is None:
                    async with self._pool.acquire() as conn:
                        agrees = await database_agrees(conn)
                    if not agrees:
                        self.leave_to_database(
                            "the database's 'english' text search configuration indexes "
                            "words differently from this worker (another PostgreSQL "
                            "version or a changed configuration)")
                    else:
                        self._by_worker = True
        if not self._by_worker:
            return [None] * len(chunks)
        # ~0.1 ms of CPU per chunk (a first document's new words: several times that),
        # off the event loop that keeps the worker's leases alive
        return await asyncio.get_running_loop().run_in_executor(
            _thread(), _tsvectors, [chunk.text for chunk in chunks])

    def leave_to_database(self, why: str) -> None:
        """From now on the database indexes every chunk this queue writes; says why
        (never a chunk's text), once."""
        if self._by_worker is not False:
            self._by_worker = False
            log.warning("%s: the database indexes every chunk itself from now on, at "
                        "about twice the chunk step's database CPU", why)

    @property
    def by_worker(self) -> bool | None:
        """True once the worker supplies tsvectors, False if it leaves them to the
        database, None before its first chunk write."""
        return self._by_worker
