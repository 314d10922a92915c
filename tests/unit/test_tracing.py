"""When a process traces (the standard OTEL_* variables), and what it samples."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision
from opentelemetry.trace import SpanKind

from entrypoints import tracing

ENDPOINT = "http://127.0.0.1:4318"


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ENDPOINT + "/v1/traces"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_SDK_DISABLED": "true"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, False),
])
def test_traces_are_exported_only_when_an_otlp_endpoint_is_set(
    environ: dict[str, str], expected: bool,
) -> None:
    assert tracing.wanted(environ) is expected


def test_with_nothing_set_no_provider_is_installed() -> None:
    assert tracing.configure_tracing("navigator-api", {}) is None


def test_a_statement_that_would_start_a_trace_of_its_own_is_not_sampled() -> None:
    sampler = tracing.StatementsJoinTraces(ALWAYS_ON)

    poll = sampler.should_sample(None, 1, "WITH", SpanKind.CLIENT,
                                 {"db.system": "postgresql", "db.statement": "WITH picked"})
    request = sampler.should_sample(None, 2, "POST /api/v1/documents", SpanKind.SERVER,
                                    {"http.method": "POST"})

    assert poll.decision is Decision.DROP
    assert request.decision is Decision.RECORD_AND_SAMPLE

