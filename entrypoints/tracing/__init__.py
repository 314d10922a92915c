"""OpenTelemetry traces: one upload followed from the request through every worker step.

Off unless asked for: a process traces only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set and ``OTEL_SDK_DISABLED`` is not
true. With nothing set no provider, exporter or instrumentation is installed and
the hooks below are no-ops: no cost. When on, the SDK reads the standard variables
itself (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``...) and spans leave over
OTLP/HTTP in batches.

What is traced:

- each HTTP request (the FastAPI instrumentation; ``/health`` and ``/metrics``
  left out), with its ``navigator.request_id``;
- each database statement (the asyncpg instrumentation): ``db.statement`` is our
  SQL text with its ``$n`` placeholders, never the values (parameters are not
  captured). Statements with no trace to join (the worker's polls, heartbeats
  between jobs, rescues) are not sampled: they would be a trace each, every poll;
- each hosted call (``adapters.provider_calls``);
- each worker step (:func:`step_span`), in the trace the upload started: the
  request's context is stored on the job (``trace_context``, a W3C
  ``traceparent``) and the step's span is a child of the upload's request span,
  though it runs in another process, maybe hours later.

No span attribute carries a document's text, a member's question, a statement's
values, a token or a key; a request's query string is cut from its URL, and an
error leaves the process as its type alone (``export.WithoutErrorText``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from domain.model import Job
from domain.status import StepName

_PROPAGATOR = TraceContextTextMapPropagator()
#: Routes whose requests are not traced (scraped or probed every few seconds).
UNTRACED_ROUTES = "/health,/metrics"
#: Attributes of a request span that would carry its query string.
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full")


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard variables ask for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
                or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip())


def active() -> bool:
    """Whether this process installed a tracer provider (so spans are recorded)."""
    return not isinstance(trace.get_tracer_provider(),
                          trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def configure_tracing(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Start tracing for this process if the environment asks for it (see the module's
    docstring); whether it did. ``service`` names the process (``navigator-api``,
    ``navigator-worker``) unless ``OTEL_SERVICE_NAME`` does. The SDK is imported only
    then."""
    if not wanted(environ):
        return False
    from entrypoints.tracing import export as tracing_export

    return tracing_export.configure(service, environ) is not None


def instrument_app(app: Any) -> None:
    """Trace the FastAPI app's requests, if this process traces."""
    if not active():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=UNTRACED_ROUTES, exclude_spans=["receive", "send"],
        server_request_hook=_without_query,
    )


def _without_query(span: trace.Span, scope: Mapping[str, Any]) -> None:
    """A query string can carry what no trace should keep (a sign-in link's token):
    the request's URL attributes keep the path only."""
    if not scope.get("query_string") or not span.is_recording():
        return
    recorded = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        value = recorded.get(key)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(key, value.split("?", 1)[0])
    if "url.query" in recorded:
        span.set_attribute("url.query", "")


# -- the upload's trace on its job ------------------------------------------------------


def current_trace_context() -> str | None:
    """The current span as a W3C ``traceparent`` (None when nothing is traced): what
    an upload stores on its job."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def step_span(job: Job, step: StepName) -> Iterator[None]:
    """The span of one worker step, current while the step runs (its statements and
    hosted calls are its children), a child of the request that uploaded the job."""
    parent = (_PROPAGATOR.extract({"traceparent": job.trace_context})
              if job.trace_context else otel_context.Context())
    attributes: dict[str, str | int] = {
        "navigator.job_id": str(job.job_id), "navigator.document_id": str(job.document_id),
        "navigator.step": str(step), "navigator.attempt": job.attempts + 1,
    }
    tracer = trace.get_tracer("navigator.worker")  # the process's provider
    with tracer.start_as_current_span(f"step {step}", context=parent, kind=SpanKind.CONSUMER,
                                      attributes=attributes, record_exception=False):
        yield


def mark_step(step: str, seconds: float, outcome: str) -> None:
    """Record a step's outcome on its span (called while the step's span is current)."""
    span = trace.get_current_span()
    span.set_attribute("navigator.step.outcome", outcome)
    if outcome != "ok":
        span.set_status(trace.Status(trace.StatusCode.ERROR, outcome))


# -- what the container hands the use cases ---------------------------------------------


def upload_trace_context() -> Callable[[], str | None]:
    """``SubmitUpload.trace_context``: the request's trace, or nothing when not tracing."""
    return current_trace_context if active() else _nothing


def step_tracer() -> Callable[[Job, StepName], contextlib.AbstractContextManager[object]]:
    """``ProcessJob.trace_step``: a span per step, or nothing when not tracing."""
    return step_span if active() else _no_span


def step_observer(observe: Callable[[str, float, str], None]
                  ) -> Callable[[str, float, str], None]:
    """``ProcessJob.on_step``: the metrics' ``observe``, and the outcome on the span."""
    if not active():
        return observe

    def both(step: str, seconds: float, outcome: str) -> None:
        observe(step, seconds, outcome)
        mark_step(step, seconds, outcome)

    return both


def _nothing() -> None:
    return None


def _no_span(job: Job, step: StepName) -> contextlib.AbstractContextManager[object]:
    return contextlib.nullcontext()
