"""Setting up a process's traces (``entrypoints.tracing`` says what is traced): the
SDK's provider, the OTLP/HTTP exporter, the asyncpg instrumentation and the sampler.
Imported only by a process that traces, or by a test that installs an exporter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    _get_from_env_or_default,
)
from opentelemetry.trace import Link, SpanKind, Status
from opentelemetry.util.types import Attributes

from entrypoints.tracing import active, wanted


def configure(service: str, environ: Mapping[str, str] = os.environ
              ) -> TracerProvider | None:
    """Install the provider and the OTLP exporter if the environment asks for traces
    and none is installed yet: the provider, or None."""
    if not wanted(environ) or active():
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = new_provider(service, OTLPSpanExporter())
    install(provider)
    return provider


def new_provider(service: str, exporter: SpanExporter, *, batch: bool = True
                 ) -> TracerProvider:
    """A provider whose spans go to ``exporter`` (in batches, or one by one for tests)."""
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service}
    provider = TracerProvider(resource=Resource.create(attributes),
                              sampler=ParentBased(StatementsJoinTraces(_root_sampler())))
    scrubbed = WithoutErrorText(exporter)
    provider.add_span_processor(BatchSpanProcessor(scrubbed) if batch
                                else SimpleSpanProcessor(scrubbed))
    return provider


def install(provider: TracerProvider) -> None:
    """Make ``provider`` the process's and trace every asyncpg statement with it.
    Once per process (OpenTelemetry allows one global provider)."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor(capture_parameters=False).instrument(tracer_provider=provider)


# -- sampling ---------------------------------------------------------------------------


def _root_sampler() -> Sampler:
    """``OTEL_TRACES_SAMPLER``'s root decision (always on by default). ParentBased over
    it: a step follows the decision its upload's request made."""
    sampler = _get_from_env_or_default()
    root = getattr(sampler, "_root", None) if isinstance(sampler, ParentBased) else None
    return root if isinstance(root, Sampler) else sampler


class StatementsJoinTraces(Sampler):
    """Drops a database statement that would start a trace of its own (a poll, a
    heartbeat between steps, a rescue round): only statements under a request or a
    step are traced. Everything else is decided by ``root``."""

    def __init__(self, root: Sampler) -> None:
        self._root = root

    def should_sample(
        self, parent_context: otel_context.Context | None, trace_id: int, name: str,
        kind: SpanKind | None = None, attributes: Attributes = None,
        links: Sequence[Link] | None = None, trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if attributes and ("db.system" in attributes or "db.system.name" in attributes):
            return SamplingResult(Decision.DROP)
        return self._root.should_sample(parent_context, trace_id, name, kind, attributes,
                                        links, trace_state)

    def get_description(self) -> str:
        return f"StatementsJoinTraces{{{self._root.get_description()}}}"


# -- what leaves the process -----------------------------------------------------------


class WithoutErrorText(SpanExporter):
    """Exports spans without the text of the errors they recorded: an exception event
    keeps its type only, an error status no description. A driver's message can quote
    a statement's values ("invalid input for query argument $2: ..."), a provider's
    the document it refused: the type says what happened, the logs say the rest."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._exporter.export([_scrubbed(span) for span in spans])

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def _scrubbed(span: ReadableSpan) -> ReadableSpan:
    errors = [event for event in span.events if event.name == "exception"]
    if not errors and not span.status.description:
        return span
    events = [event if event.name != "exception" else Event(
        "exception", {"exception.type": str((event.attributes or {}).get("exception.type"))},
        event.timestamp) for event in span.events]
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=span.attributes, events=events, links=span.links, kind=span.kind,
        status=Status(span.status.status_code), start_time=span.start_time,
        end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )
