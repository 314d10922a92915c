"""PostgreSQL adapters on asyncpg + pgvector: the job queue, the documents and their
search, the file store, the worker registry, the migrations runner, the operator's
queries and checks, and the embedded server the tests and `navigator up` use.

Import each from its own module (``adapters.postgres.job_queue`` and so on): this
package re-exports nothing, so importing one adapter loads only what it needs.
Nothing connects at import time; the composition root creates the pool and starts
the embedded server.
"""
