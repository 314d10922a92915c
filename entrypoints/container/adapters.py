"""Which adapter each port gets, chosen from the settings (hosted when its key is set,
else the offline one), and the resources the container opens and closes: the pool and
the hosted clients' connections."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import asyncpg
import attrs

from adapters.extractive_answerer import ExtractiveAnswerer
from adapters.hashing_embedder import HashingEmbedder
from adapters.llamaparse_parser import LlamaParseParser
from adapters.openai_embedder import OpenAIEmbedder
from adapters.parsers.isolated import IsolatedLocalParser, ParseLimits
from adapters.postgres.connection import PoolerMode, listen, open_pool
from adapters.postgres.files import PostgresBlobStore
from adapters.provider_calls import ProviderCalls
from adapters.s3_blobs import S3BlobStore
from domain.lay_terms import LayTerms
from domain.ports import Answerer, BlobStore, Embedder, Parser, Tokenizer
from domain.units import MIB
from entrypoints.settings import Settings
from entrypoints.worker import Subscribe, Subscription


def make_parser(settings: Settings, calls: ProviderCalls | None = None) -> Parser:
    """LlamaParse when ``LLAMAPARSE_API_KEY`` is set, else the local parsers, each file
    in a child process under the ``PARSER_*`` limits."""
    if settings.llamaparse_api_key is not None:
        return LlamaParseParser(settings.llamaparse_api_key.get_secret_value(),
                                base_url=settings.llamaparse_base_url, calls=calls)
    return IsolatedLocalParser(limits=ParseLimits(
        memory_bytes=settings.parser_memory_limit_mib * MIB,
        cpu_seconds=settings.parser_cpu_limit_seconds,
        wall_seconds=settings.parser_timeout_seconds,
    ))


def make_embedder(settings: Settings, tokenizer: Tokenizer,
                  calls: ProviderCalls | None = None) -> Embedder:
    """OpenAI when ``OPENAI_API_KEY`` is set, else the offline hashing embedder."""
    if settings.openai_api_key is not None:
        return OpenAIEmbedder(
            settings.openai_api_key.get_secret_value(),
            tokenizer=tokenizer,
            model=settings.rag_embedding_model,
            dimensions=settings.rag_vector_dimension,
            base_url=settings.openai_base_url,
            calls=calls,
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


def make_answerer(settings: Settings, calls: ProviderCalls | None = None,
                  lay_terms: LayTerms | None = None) -> Answerer:
    """Claude when ``ANTHROPIC_API_KEY`` is set, else the offline extractive answerer
    (reading a member's words through ``lay_terms``, the glossary search uses)."""
    if settings.anthropic_api_key is not None:
        # Imported only when used: the SDK takes seconds of CPU to import, which every
        # process (worker, CLI) would pay at start-up for nothing.
        from adapters.anthropic_answerer import AnthropicAnswerer

        return AnthropicAnswerer(
            settings.anthropic_api_key.get_secret_value(),
            model=settings.anthropic_model,
            max_tokens=settings.anthropic_max_output_tokens,
            base_url=settings.anthropic_base_url,
            calls=calls,
        )
    return ExtractiveAnswerer(lay_terms=lay_terms)


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


async def open_database_pool(dsn: str, settings: Settings, pooler: PoolerInUse
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


async def close_clients(*clients: object) -> AsyncIterator[None]:
    """Closes the hosted clients' HTTP connections at shutdown."""
    yield
    for client in clients:
        close = getattr(client, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
