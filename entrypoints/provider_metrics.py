"""Calls to hosted providers and the tokens they billed, as Prometheus counters.

Registered on the process's registry (``Metrics.registry``), so the API's
``/metrics`` shows the search embeddings and the answers it asked for, and the
worker's shows the parses and the document embeddings:

- ``navigator_provider_calls_total{provider,operation,outcome}``: requests to
  ``openai`` (``embeddings``), ``llamaparse`` (``upload``, ``status``, ``result``)
  and ``anthropic`` (``messages``), by outcome (``ok``, ``rate_limited``,
  ``server_error``, ``client_error``, ``timeout``, ``unreachable``, ``cancelled``,
  ``error``: see ``adapters.provider_calls``);
- ``navigator_provider_tokens_total{provider,kind}``: tokens billed, ``input``
  (embeddings, prompts) or ``output`` (answers).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

#: Each provider's operations, so every series exists at 0 from the start (a rate
#: over a series that appears only with the first error is wrong in Prometheus).
OPERATIONS = {
    "openai": ("embeddings",),
    "llamaparse": ("upload", "status", "result"),
    "anthropic": ("messages",),
}
TOKEN_KINDS = {"openai": ("input",), "anthropic": ("input", "output")}
#: Outcomes worth alerting on, shown at 0 before the first one happens.
ALERTED_OUTCOMES = ("ok", "rate_limited", "server_error")


class ProviderMetrics:
    """The ``ProviderCalls`` of the hosted adapters, counted in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "navigator_provider_calls_total",
            "Requests this process made to hosted providers, by provider, operation and "
            "outcome (ok, rate_limited, server_error, client_error, timeout, unreachable, "
            "cancelled, error).",
            ["provider", "operation", "outcome"], registry=registry,
        )
        self.billed = Counter(
            "navigator_provider_tokens_total",
            "Tokens hosted providers billed this process for, by provider and kind "
            "(input, output).",
            ["provider", "kind"], registry=registry,
        )
        for provider, operations in OPERATIONS.items():
            for operation in operations:
                for outcome in ALERTED_OUTCOMES:
                    self.calls.labels(provider=provider, operation=operation, outcome=outcome)
        for provider, kinds in TOKEN_KINDS.items():
            for kind in kinds:
                self.billed.labels(provider=provider, kind=kind)

    def called(self, provider: str, operation: str, outcome: str) -> None:
        self.calls.labels(provider=provider, operation=operation, outcome=outcome).inc()

    def tokens(self, provider: str, kind: str, count: int) -> None:
        if count > 0:
            self.billed.labels(provider=provider, kind=kind).inc(count)
