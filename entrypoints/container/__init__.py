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

Adapters picked from the settings (``entrypoints/container/adapters.py``):

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

import contextlib
import functools
import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.filesystem_blobs import FilesystemBlobStore
from adapters.memory.rate_limiter import InMemoryAnswerRateLimiter
from adapters.postgres.connection import jobs_channel
from adapters.postgres.documents import PostgresDocumentRepository
from adapters.postgres.files import stored_documents
from adapters.postgres.job_queue import PostgresJobQueue
from adapters.postgres.operator import PostgresOperatorQueries, PostgresQueueFigures
from adapters.postgres.probe import PostgresDatabaseProbe
from adapters.postgres.workers import PostgresWorkerRegistry
from adapters.text_search import EnglishWords
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.answering import AnswerQuestion, AnswerRateLimit
from domain.chunking import ChunkingConfig
from domain.file_moves import MoveFilesIntoStore
from domain.hybrid import SearchMode
from domain.lay_terms import LayTerms
from domain.library import FollowJob, ListDocuments, ReadDocumentFile, ShowUsage
from domain.members import CountJobs, DeleteDocument, RetryFailedJob, ShowDocument, ShowJob
from domain.processing import ProcessJob
from domain.reprocessing import ReprocessDocument, ReprocessStaleDocuments
from domain.retrieval import RetrievalOptions
from domain.retry import RetryPolicy
from domain.search import SearchDocuments, SearchLimits
from domain.upload_policy import UploadPolicy
from domain.uploads import SubmitUpload
from domain.watching import WatchQueue
from domain.worker import RescueExpiredLeases, Worker
from entrypoints.access_tokens import make_token_verifier
from entrypoints.container.adapters import (
    PoolerInUse,
    close_clients,
    make_answerer,
    make_blob_store,
    make_embedder,
    make_job_notices,
    make_object_store,
    make_parser,
    open_database_pool,
)
from entrypoints.container.database import start_database
from entrypoints.metrics import Metrics
from entrypoints.provider_metrics import ProviderMetrics
from entrypoints.settings import Settings
from entrypoints.tokens import jwt_secret
from entrypoints.tracing import step_observer, step_tracer, upload_trace_context
from entrypoints.worker import WorkerService, new_worker_id

__all__ = ["Container", "build_container", "running", "start", "start_database", "stop"]

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
    pool = providers.Resource(open_database_pool, dsn=database_dsn, settings=settings,
                              pooler=pooler)
    object_store = providers.Singleton(make_object_store, settings)
    blobs = providers.Singleton(make_blob_store, object_store, pool,
                                settings.provided.database_schema)
    job_queue = providers.Singleton(
        PostgresJobQueue, pool, clock, schema=settings.provided.database_schema,
        vector_dimension=settings.provided.rag_vector_dimension,
        worker_indexes_keywords=settings.provided.worker_indexes_keywords,
    )
    documents = providers.Singleton(
        PostgresDocumentRepository, pool, schema=settings.provided.database_schema
    )
    worker_registry = providers.Singleton(
        PostgresWorkerRegistry, pool, clock, schema=settings.provided.database_schema
    )
    #: The operator's view of the queue (``navigator status``).
    operator_queries = providers.Singleton(
        PostgresOperatorQueries, pool, settings.provided.database_schema
    )
    #: The whole queue's figures in one read (``/metrics``, ``navigator status``).
    queue_figure_reads = providers.Singleton(
        PostgresQueueFigures, pool, settings.provided.database_schema
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
    #: Counts the hosted adapters' calls and billed tokens on the metrics' registry.
    provider_calls = providers.Singleton(ProviderMetrics, metrics.provided.registry)
    parser = providers.Singleton(make_parser, settings, provider_calls)
    embedder = providers.Singleton(make_embedder, settings, tokenizer, provider_calls)
    #: How members say insurance things: search's expansion and the answerer's reading.
    lay_terms = providers.Singleton(LayTerms.of, providers.Singleton(EnglishWords))
    answerer = providers.Singleton(make_answerer, settings, provider_calls, lay_terms)
    hosted_clients = providers.Resource(close_clients, parser, embedder, object_store,
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
        trace_context=providers.Callable(upload_trace_context),
    )
    retry_failed_job = providers.Singleton(RetryFailedJob, queue=job_queue)
    delete_document = providers.Singleton(DeleteDocument, queue=job_queue, blobs=blobs)
    show_job = providers.Singleton(ShowJob, queue=job_queue, documents=documents)
    show_document = providers.Singleton(ShowDocument, queue=job_queue, documents=documents)
    #: The queue's figures, read at most once per ``METRICS_CACHE_SECONDS``.
    watch_queue = providers.Singleton(
        WatchQueue, reads=queue_figure_reads, clock=clock,
        window=providers.Singleton(timedelta, seconds=settings.provided.metrics_window_seconds),
        live_within=live_worker_window,
        max_age=providers.Singleton(timedelta, seconds=settings.provided.metrics_cache_seconds),
    )
    count_jobs = providers.Singleton(CountJobs, queue=job_queue)
    list_documents = providers.Singleton(ListDocuments, documents=documents)
    read_document_file = providers.Singleton(ReadDocumentFile, documents=documents, blobs=blobs)
    follow_job = providers.Singleton(
        FollowJob, show=show_job, queue=job_queue, timer=clock,
        poll_every=settings.provided.job_events_poll_seconds,
        keep_alive_every=settings.provided.job_events_keep_alive_seconds,
    )
    reprocess_document = providers.Singleton(ReprocessDocument, queue=job_queue,
                                             documents=documents)
    reprocess_stale_documents = providers.Singleton(
        ReprocessStaleDocuments, reprocess=reprocess_document, documents=documents,
        embedder=embedder,
    )
    move_files_into_store = providers.Singleton(MoveFilesIntoStore, source=legacy_files,
                                                target=blobs)
    search_documents = providers.Singleton(
        SearchDocuments, index=documents, embedder=embedder, tokenizer=tokenizer,
        defaults=retrieval_options, limits=search_limits,
        mode=providers.Callable(SearchMode, settings.provided.rag_search_mode),
        lay_terms=lay_terms,
    )

    answer_rate_limiter = providers.Singleton(InMemoryAnswerRateLimiter)
    answer_rate_limit = providers.Singleton(
        AnswerRateLimit, limit=settings.provided.answer_rate_limit,
        window=providers.Singleton(timedelta,
                                   seconds=settings.provided.answer_rate_window_seconds),
    )
    show_usage = providers.Singleton(
        ShowUsage, documents=documents, limiter=answer_rate_limiter, policy=upload_policy,
        rate_limit=answer_rate_limit, clock=clock,
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
        on_step=providers.Callable(step_observer, metrics.provided.observe_step),
        trace_step=providers.Callable(step_tracer),
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
    #: ``container.worker_service()``: the worker process around a new worker loop (its
    #: notices, its registration and heartbeat); each call is a new worker.
    worker_service = providers.Factory(
        WorkerService,
        worker=providers.Factory(worker, worker_id=providers.Callable(new_worker_id)),
        ticker=clock, registry=worker_registry, subscribe=job_notices,
        beat_interval=settings.provided.heartbeat_seconds, live_for=live_worker_window,
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
