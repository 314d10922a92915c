"""The composition root: every adapter, policy and use case, built from the settings.

Nothing is built at import time. A process builds one container at start-up::

    settings = load_settings()
    dsn, server = await start_database(settings)  # DATABASE_URL, or the embedded server
    container = build_container(settings, dsn)
    async with running(container):                 # opens the pool; closes it at the end
        submit = container.submit_upload()
        ...

The API does the ``running`` part in its lifespan (``create_app``); the worker and
the CLI wrap their work in it.

Adapters picked from the settings:

- database: PostgreSQL through one asyncpg pool (``pool``), shared by the queue,
  the repository and the worker registry;
- file store (``blobs``): ``PostgresBlobStore`` (``FILE_STORE=postgres``, the default:
  the bytes commit with the document, its job and the notice), or ``S3BlobStore``
  (``FILE_STORE=s3``, ``object_store``);
- parser: ``LlamaParseParser`` when ``LLAMAPARSE_API_KEY`` is set, else ``LocalParser``;
- embedder: ``OpenAIEmbedder`` when ``OPENAI_API_KEY`` is set, else
  ``HashingEmbedder(dimensions=RAG_VECTOR_DIMENSION)``. Search only sees vectors
  made by the embedder in use, so switching embedders means re-processing;
- answerer: ``AnthropicAnswerer`` (``ANTHROPIC_MODEL``) when ``ANTHROPIC_API_KEY`` is
  set, else ``ExtractiveAnswerer``; the per-member answer rate limit is counted in
  this process's memory (``InMemoryAnswerRateLimiter``).

Tests swap adapters by overriding providers (``container.database_probe.override(...)``),
then ``reset_override()``; the test tree's ``use_memory_adapters`` swaps the database
for the in-memory adapters that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import asyncpg
import attrs
from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.extractive_answerer import ExtractiveAnswerer
from adapters.filesystem_blobs import FilesystemBlobStore
from adapters.hashing_embedder import HashingEmbedder
from adapters.llamaparse_parser import LlamaParseParser
from adapters.memory.rate_limiter import InMemoryAnswerRateLimiter
from adapters.openai_embedder import OpenAIEmbedder
from adapters.parsers.isolated import MIB, IsolatedLocalParser, ParseLimits
from adapters.postgres.connection import (
    PoolerMode,
    check_pooler,
    jobs_channel,
    listen,
    open_pool,
)
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.errors import DATABASE_UNREACHABLE
from adapters.postgres.files import PostgresBlobStore, stored_documents
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.probe import PostgresDatabaseProbe
from adapters.postgres.workers import PostgresWorkerRegistry
from adapters.s3_blobs import S3BlobStore
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.answering import AnswerQuestion, AnswerRateLimit
from domain.chunking import ChunkingConfig
from domain.file_moves import MoveFilesIntoStore
from domain.hybrid import SearchMode
from domain.members import CountJobs, DeleteDocument, RetryFailedJob, ShowDocument, ShowJob
from domain.ports import Answerer, BlobStore, Embedder, Parser, Tokenizer
from domain.processing import ProcessJob
from domain.retrieval import RetrievalOptions
from domain.retry import RetryPolicy
from domain.search import SearchDocuments, SearchLimits
from domain.upload_policy import UploadPolicy
from domain.uploads import SubmitUpload
from domain.worker import RescueExpiredLeases, Worker
from entrypoints.access_tokens import make_token_verifier
from entrypoints.metrics import Metrics
from entrypoints.settings import Settings
from entrypoints.tokens import jwt_secret
from entrypoints.worker import Subscribe, Subscription

# -- choosing adapters from the settings ----------------------------------------------


def make_parser(settings: Settings) -> Parser:
    """LlamaParse when ``LLAMAPARSE_API_KEY`` is set, else the local parsers, each file
    in a child process under the ``PARSER_*`` limits."""
    if settings.llamaparse_api_key is not None:
        return LlamaParseParser(settings.llamaparse_api_key.get_secret_value(),
                                base_url=settings.llamaparse_base_url)
    return IsolatedLocalParser(limits=ParseLimits(
        memory_bytes=settings.parser_memory_limit_mib * MIB,
        cpu_seconds=settings.parser_cpu_limit_seconds,
        wall_seconds=settings.parser_timeout_seconds,
    ))


def make_embedder(settings: Settings, tokenizer: Tokenizer) -> Embedder:
    """OpenAI when ``OPENAI_API_KEY`` is set, else the offline hashing embedder."""
    if settings.openai_api_key is not None:
        return OpenAIEmbedder(
            settings.openai_api_key.get_secret_value(),
            tokenizer=tokenizer,
            model=settings.rag_embedding_model,
            dimensions=settings.rag_vector_dimension,
            base_url=settings.openai_base_url,
        )
    return HashingEmbedder(dimensions=settings.rag_vector_dimension, tokenizer=tokenizer)


def make_object_store(settings: Settings) -> S3BlobStore | None:
    """The S3-compatible store when ``FILE_STORE=s3``, else None. Connects on first use."""
    if settings.file_store != "s3":
        return None
    assert settings.s3_bucket is not None  # the settings check it
    secret = settings.s3_secret_access_key
    return S3BlobStore(
        settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
        key_prefix=settings.s3_key_prefix,
    )


def make_blob_store(object_store: S3BlobStore | None, pool: asyncpg.Pool, schema: str
                    ) -> BlobStore:
    """The object store if one is configured, else the files' table in PostgreSQL."""
    if object_store is not None:
        return object_store
    return PostgresBlobStore(pool, schema)


def make_answerer(settings: Settings) -> Answerer:
    """Claude when ``ANTHROPIC_API_KEY`` is set, else the offline extractive answerer."""
    if settings.anthropic_api_key is not None:
        # Imported only when used: the SDK takes seconds of CPU to import, which every
        # process (worker, CLI) would pay at start-up for nothing.
        from adapters.anthropic_answerer import AnthropicAnswerer

        return AnthropicAnswerer(
            settings.anthropic_api_key.get_secret_value(),
            model=settings.anthropic_model,
            max_tokens=settings.anthropic_max_output_tokens,
            base_url=settings.anthropic_base_url,
        )
    return ExtractiveAnswerer()


@attrs.define
class PoolerInUse:
    """The pooler mode the pool settled on when it opened (None before that)."""

    mode: PoolerMode | None = None


def make_job_notices(pooler: PoolerInUse, dsn: str, channel: str) -> Subscribe | None:
    """LISTEN on the queue's channel over a connection of its own, or None (poll only)
    behind a transaction-mode pooler, which cannot hold a LISTEN. Called once the pool
    is open."""
    if pooler.mode != "session":
        return None

    async def subscribe(callback: Callable[[], None]) -> Subscription:
        return await listen(dsn, channel, lambda _payload: callback())

    return subscribe


async def _open_pool(dsn: str, settings: Settings, pooler: PoolerInUse
                     ) -> AsyncIterator[asyncpg.Pool]:
    pool, pooler.mode = await open_pool(
        dsn,
        settings.database_schema,
        pooler_mode=settings.database_pooler_mode,
        max_size=max(4, settings.worker_concurrency + 2),
    )
    try:
        yield pool
    finally:
        await pool.close()


async def _close_clients(*clients: object) -> AsyncIterator[None]:
    """Closes the hosted clients' HTTP connections at shutdown."""
    yield
    for client in clients:
        close = getattr(client, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()


# -- the container -----------------------------------------------------------------------


class Container(containers.DeclarativeContainer):
    """Provider names are the vocabulary of the entrypoints (API, worker, CLI)."""

    # Given at build time (build_container): the settings and the resolved database DSN.
    settings = providers.Dependency(instance_of=Settings)
    database_dsn = providers.Dependency(instance_of=str)

    # Basics
    clock = providers.Singleton(SystemClock)
    new_id = providers.Object(uuid.uuid4)
    jitter = providers.Object(random.random)
    metrics = providers.Singleton(Metrics)
    jwt_secret = providers.Singleton(jwt_secret, settings)
    #: Checks members' access tokens (JWKS signing keys and/or the HS256 secret).
    token_verifier = providers.Singleton(make_token_verifier, settings)
    lease_for = providers.Singleton(timedelta, seconds=settings.provided.worker_lease_seconds)
    heartbeat_every = providers.Singleton(timedelta, seconds=settings.provided.heartbeat_seconds)
    step_timeout = providers.Singleton(
        timedelta, seconds=settings.provided.worker_step_timeout_seconds
    )
    live_worker_window = providers.Callable(lambda settings: settings.live_worker_window,
                                            settings)

    # Storage: rows (and, by default, files) in PostgreSQL through one pool.
    pooler = providers.Singleton(PoolerInUse)
    pool = providers.Resource(_open_pool, dsn=database_dsn, settings=settings, pooler=pooler)
    object_store = providers.Singleton(make_object_store, settings)
    blobs = providers.Singleton(make_blob_store, object_store, pool,
                                settings.provided.database_schema)
    job_queue = providers.Singleton(
        PostgresJobQueue, pool, clock, schema=settings.provided.database_schema,
        vector_dimension=settings.provided.rag_vector_dimension,
    )
    documents = providers.Singleton(
        PostgresDocumentRepository, pool, schema=settings.provided.database_schema
    )
    worker_registry = providers.Singleton(
        PostgresWorkerRegistry, pool, clock, schema=settings.provided.database_schema
    )
    database_probe = providers.Singleton(
        PostgresDatabaseProbe, pool, schema=settings.provided.database_schema, dsn=database_dsn
    )
    #: Files earlier versions kept on disk (``BLOB_DIR``), read only to move them into
    #: ``blobs`` (``navigator move-files``); ``stored_documents()()`` lists what they need.
    legacy_files = providers.Singleton(FilesystemBlobStore, settings.provided.blob_path)
    stored_documents = providers.Singleton(functools.partial, stored_documents, pool,
                                           settings.provided.database_schema)
    #: The worker's wake-up: ``await container.job_notices()(callback)`` (None: poll only).
    job_notices = providers.Singleton(
        make_job_notices, pooler, database_dsn,
        providers.Callable(jobs_channel, settings.provided.database_schema),
    )

    # Parsing and embedding
    tokenizer = providers.Singleton(TiktokenTokenizer)
    parser = providers.Singleton(make_parser, settings)
    embedder = providers.Singleton(make_embedder, settings, tokenizer)
    answerer = providers.Singleton(make_answerer, settings)
    hosted_clients = providers.Resource(_close_clients, parser, embedder, object_store,
                                        answerer)

    # Policies
    retry_policy = providers.Singleton(
        RetryPolicy,
        max_retries=settings.provided.worker_max_retries,
        base_delay=settings.provided.worker_retry_base_delay,
        max_delay=settings.provided.worker_retry_max_delay,
    )
    upload_policy = providers.Singleton(
        UploadPolicy,
        max_bytes=settings.provided.upload_max_bytes,
        max_documents_per_member=settings.provided.upload_max_documents_per_member,
        max_bytes_per_member=settings.provided.upload_max_bytes_per_member,
    )
    chunking = providers.Singleton(
        ChunkingConfig,
        target_tokens=settings.provided.chunk_target_tokens,
        overlap_tokens=settings.provided.chunk_overlap_tokens,
    )
    retrieval_options = providers.Singleton(
        RetrievalOptions,
        similarity_threshold=settings.provided.rag_similarity_threshold,
        max_chunks=settings.provided.rag_max_chunks,
        token_budget=settings.provided.rag_token_budget,
    )
    search_limits = providers.Singleton(SearchLimits)

    # Use cases: members and operators
    submit_upload = providers.Singleton(
        SubmitUpload, queue=job_queue, documents=documents, blobs=blobs, clock=clock,
        new_id=new_id, policy=upload_policy,
    )
    retry_failed_job = providers.Singleton(RetryFailedJob, queue=job_queue)
    delete_document = providers.Singleton(DeleteDocument, documents=documents, blobs=blobs)
    show_job = providers.Singleton(ShowJob, queue=job_queue, documents=documents)
    show_document = providers.Singleton(ShowDocument, queue=job_queue, documents=documents)
    count_jobs = providers.Singleton(CountJobs, queue=job_queue)
    move_files_into_store = providers.Singleton(MoveFilesIntoStore, source=legacy_files,
                                                target=blobs)
    search_documents = providers.Singleton(
        SearchDocuments, documents=documents, embedder=embedder, tokenizer=tokenizer,
        defaults=retrieval_options, limits=search_limits,
        mode=providers.Callable(SearchMode, settings.provided.rag_search_mode),
    )

    answer_rate_limiter = providers.Singleton(InMemoryAnswerRateLimiter)
    answer_rate_limit = providers.Singleton(
        AnswerRateLimit, limit=settings.provided.answer_rate_limit,
        window=providers.Singleton(timedelta,
                                   seconds=settings.provided.answer_rate_window_seconds),
    )
    answer_question = providers.Singleton(
        AnswerQuestion, search=search_documents, answerer=answerer,
        limiter=answer_rate_limiter, clock=clock, rate_limit=answer_rate_limit,
    )

    # Use cases: workers
    process_job = providers.Singleton(
        ProcessJob, queue=job_queue, documents=documents, blobs=blobs, parser=parser,
        embedder=embedder, tokenizer=tokenizer, clock=clock, jitter=jitter,
        retry_policy=retry_policy, chunking=chunking, lease_for=lease_for,
        heartbeat_every=heartbeat_every, step_timeout=step_timeout, timer=clock,
        on_step=metrics.provided.observe_step,
    )
    rescue_expired_leases = providers.Singleton(
        RescueExpiredLeases, queue=job_queue, policy=retry_policy, jitter=jitter
    )
    #: ``container.worker(worker_id="...")``: the worker loop (``Worker.run``, or
    #: ``Worker.drain`` to work until nothing is ready).
    worker = providers.Factory(
        Worker, queue=job_queue, process=process_job, rescue=rescue_expired_leases,
        ticker=clock, concurrency=settings.provided.worker_concurrency, lease_for=lease_for,
        poll_interval=settings.provided.worker_poll_interval,
        rescue_interval=settings.provided.worker_rescue_interval,
        shutdown_grace=settings.provided.worker_shutdown_grace,
        on_job_left=metrics.provided.record_job,
    )


def build_container(settings: Settings, database_dsn: str | None = None) -> Container:
    """A container for these settings. ``database_dsn`` is the resolved DSN (see
    :func:`start_database`); None only when a test replaces the database by the
    in-memory adapters."""
    container = Container()
    container.settings.set_default(settings)
    container.database_dsn.set_default(database_dsn or "")
    return container


# -- lifecycle ---------------------------------------------------------------------------


async def start(container: Container) -> None:
    """Open the resources (the database pool, the hosted clients). The JWT secret is
    checked by the API alone (``create_app``): the worker and the operator commands
    never see a member's token, so they must not need it."""
    pending = container.init_resources()
    if pending is not None:
        await pending
    # Once open, the resources are plain values: let every provider that depends on
    # them hand out plain objects rather than awaitables.
    container.pool.disable_async_mode()
    container.hosted_clients.disable_async_mode()


async def stop(container: Container) -> None:
    container.pool.enable_async_mode()
    container.hosted_clients.enable_async_mode()
    pending = container.shutdown_resources()
    if pending is not None:
        await pending


@contextlib.asynccontextmanager
async def running(container: Container) -> AsyncIterator[Container]:
    """``async with running(container):`` the container's resources are open inside."""
    await start(container)
    try:
        yield container
    finally:
        await stop(container)


# -- the database ------------------------------------------------------------------------


async def start_database(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The DSN to use, and the embedded server started for it (None when the settings
    name a database). Stop the server with ``.stop()``; it also stops at exit.

    A ``DATABASE_POOLER_MODE`` that does not fit the database's pooler stops here
    (:class:`PoolerMismatch`, naming the setting), as does a pgvector a transaction
    pooler would hide, before any server starts (so the operator reads one line, not
    a traceback); a database that does not answer is left for the pool to report."""
    dsn = settings.database_dsn()
    if dsn is not None:
        with contextlib.suppress(*DATABASE_UNREACHABLE):
            await check_pooler(dsn, settings.database_pooler_mode)
        return dsn, None
    server = EmbeddedPostgres(settings.pgdata_dir)
    return await asyncio.to_thread(server.start), server
