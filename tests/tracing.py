"""The process's spans, kept in memory for the tests that read them.

OpenTelemetry allows one tracer provider per process and offers no way back. So
that the rest of the test session runs as an untraced service does (no provider,
no asyncpg instrumentation), :func:`traced` installs the provider for one test
and then puts the globals back as they were, the way OpenTelemetry's own test
utilities reset them. The same provider is installed each time (tracers handed
out earlier keep pointing at it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from entrypoints import tracing
from entrypoints.tracing import export as tracing_export

_EXPORTER = InMemorySpanExporter()
_PROVIDER: list[TracerProvider] = []


@contextmanager
def traced() -> Iterator[InMemorySpanExporter]:
    """Inside, the process traces as a service with an OTLP endpoint would, into the
    returned exporter (empty at the start)."""
    assert not tracing.active(), "the process traces already"
    if not _PROVIDER:
        _PROVIDER.append(tracing_export.new_provider("navigator-test", _EXPORTER, batch=False))
    tracing_export.install(_PROVIDER[0])
    _EXPORTER.clear()
    try:
        yield _EXPORTER
    finally:
        _EXPORTER.clear()
        AsyncPGInstrumentor().uninstrument()
        setattr(trace, "_TRACER_PROVIDER", None)  # noqa: B010 (a private global)
        setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())  # noqa: B010
