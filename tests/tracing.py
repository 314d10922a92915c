"""The process's spans, kept in memory for the tests that read them.

OpenTelemetry allows one tracer provider per process: the first test that asks
installs it (with the asyncpg instrumentation, as a traced service would), and it
stays for the session. Each test clears the spans before it starts.
"""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from entrypoints import tracing
from entrypoints.tracing import export as tracing_export

_EXPORTER = InMemorySpanExporter()


def memory_exporter() -> InMemorySpanExporter:
    """The exporter every finished span goes to (installed on first use), emptied."""
    if not tracing.active():
        provider = tracing_export.new_provider("navigator-test", _EXPORTER, batch=False)
        tracing_export.install(provider)
    _EXPORTER.clear()
    return _EXPORTER
