"""The database, opened for one ``navigator`` command (operator commands, ``up``,
``validate``): the configured one, or the embedded server started for the command, and
the container running on it for an operator command. Its trouble becomes
:class:`CommandFailed` with a reason that names no password, as do the operator's
"no such document or job" and "not in a state for that"."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

from domain.errors import Conflict, NotFound
from entrypoints.cli.outcomes import CommandFailed
from entrypoints.container import Container, build_container, running
from entrypoints.container.database import DATABASE_TROUBLE, start_database
from entrypoints.settings import Settings


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[str]:
    """The DSN of the configured database (the embedded server is started, or reused
    if another navigator process runs it, and let go of at the end)."""
    with database_errors():
        dsn, server = await start_database(settings)
    try:
        yield dsn
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def running_container(settings: Settings) -> AsyncIterator[Container]:
    """The container, running on the configured database, for one operator command."""
    async with database(settings) as dsn:
        with database_errors():
            container = build_container(settings, dsn)
            async with running(container):
                yield container


@contextlib.contextmanager
def operator_errors(missing: str) -> Iterator[None]:
    """A use case's NotFound as "no ``missing``", its Conflict as a conflict."""
    try:
        yield
    except NotFound:
        raise CommandFailed(f"no {missing}") from None
    except Conflict as exc:
        raise CommandFailed(f"conflict: {exc}") from None


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    try:
        yield
    except DATABASE_TROUBLE as exc:
        raise CommandFailed(reason(exc)) from None


def reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "the database did not answer in time"
    return str(exc) or type(exc).__name__
