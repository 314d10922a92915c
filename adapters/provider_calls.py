"""What every hosted adapter reports about its calls: a span per call, and counts.

Each request to a hosted provider (OpenAI, LlamaParse, Anthropic) runs inside
:func:`provider_call`:

- a client span ``"<provider> <operation>"`` (OpenTelemetry API: a no-op unless the
  process configured tracing), a child of whatever span is current (the HTTP
  request, the worker's step). Its attributes are the provider, the operation, the
  model and the outcome: never a prompt, a file, a document's text or a key;
- one count of the call by outcome on the :class:`ProviderCalls` the adapter was
  given (Prometheus counters in the services, nothing in tests that pass none).

Outcomes: ``ok``, ``rate_limited`` (429), ``server_error`` (5xx),
``client_error`` (other 4xx), ``timeout``, ``unreachable`` (the connection
failed), ``cancelled`` (the caller gave up: a member closed the stream),
``error`` (anything else: a malformed answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode


class ProviderCalls(Protocol):
    """Where a hosted adapter counts its calls and the tokens it was billed."""

    def called(self, provider: str, operation: str, outcome: str) -> None: ...

    def tokens(self, provider: str, kind: str, count: int) -> None: ...


class NoProviderCalls:
    """Counts nothing (an adapter built without a place to count)."""

    def called(self, provider: str, operation: str, outcome: str) -> None:
        return None

    def tokens(self, provider: str, kind: str, count: int) -> None:
        return None


def outcome_of(exc: BaseException | None) -> str:
    """The outcome a call that raised ``exc`` (None: returned) is counted under. The
    hosted SDKs (all generated alike) carry the HTTP status on ``status_code`` and
    name their timeout and connection errors so."""
    if exc is None:
        return "ok"
    if isinstance(exc, GeneratorExit | asyncio.CancelledError):
        return "cancelled"
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        if status == 429:
            return "rate_limited"
        if status >= 500:
            return "server_error"
        if status == 408:
            return "timeout"
        return "client_error"
    name = type(exc).__name__
    if "Timeout" in name:
        return "timeout"
    if "Connection" in name:
        return "unreachable"
    return "error"


@contextmanager
def provider_call(
    calls: ProviderCalls, provider: str, operation: str, *, model: str | None = None,
) -> Iterator[trace.Span]:
    """Span and count one call to ``provider``. The span is not made current: no
    child spans come from inside an SDK call, and it stays correct when the call is
    an async generator suspended across yields."""
    attributes: dict[str, str] = {"navigator.provider": provider,
                                  "navigator.provider.operation": operation}
    if model is not None:
        attributes["navigator.provider.model"] = model
    tracer = trace.get_tracer("navigator.providers")  # the process's provider, if any
    span = tracer.start_span(f"{provider} {operation}", kind=SpanKind.CLIENT,
                             attributes=attributes)
    outcome = "error"
    try:
        yield span
        outcome = "ok"
    except BaseException as exc:
        outcome = outcome_of(exc)
        span.set_status(Status(StatusCode.ERROR, outcome))
        raise
    finally:
        span.set_attribute("navigator.provider.outcome", outcome)
        span.end()
        calls.called(provider, operation, outcome)
