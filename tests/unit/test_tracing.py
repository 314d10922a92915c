"""When a process traces (the standard OTEL_* variables), and what it samples."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision
from opentelemetry.trace import SpanKind

from entrypoints import tracing
from entrypoints.logs import RequestIdFilter
from entrypoints.tracing import export as tracing_export
from tests.tracing import traced

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
    assert tracing.configure_tracing("navigator-api", {}) is False


def test_a_statement_that_would_start_a_trace_of_its_own_is_not_sampled() -> None:
    sampler = tracing_export.StatementsJoinTraces(ALWAYS_ON)

    poll = sampler.should_sample(None, 1, "WITH", SpanKind.CLIENT,
                                 {"db.system": "postgresql", "db.statement": "WITH picked"})
    request = sampler.should_sample(None, 2, "POST /api/v1/documents", SpanKind.SERVER,
                                    {"http.method": "POST"})

    assert poll.decision is Decision.DROP
    assert request.decision is Decision.RECORD_AND_SAMPLE



class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps the bodies posted to it."""

    bodies: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.bodies.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


EXPORTING_PROCESS = """
from opentelemetry import trace
from entrypoints.tracing import configure_tracing
assert configure_tracing("navigator-worker")
with trace.get_tracer("check").start_as_current_span("step parse"):
    pass
trace.get_tracer_provider().shutdown()
"""


def test_a_process_with_an_otlp_endpoint_sends_its_spans_there() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        environ = {**os.environ,
                   "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
        environ.pop("OTEL_SERVICE_NAME", None)
        subprocess.run([sys.executable, "-c", EXPORTING_PROCESS], env=environ, check=True,
                       timeout=60)
    finally:
        server.shutdown()
        server.server_close()

    [(path, body)] = _Collector.bodies
    assert path == "/v1/traces"
    assert b"navigator-worker" in body and b"step parse" in body


def test_a_log_line_written_under_a_span_names_its_trace() -> None:
    record = logging.LogRecord("navigator.worker", logging.INFO, __file__, 1, "job left",
                               None, None)
    outside = logging.LogRecord("navigator.worker", logging.INFO, __file__, 1, "idle",
                                None, None)

    with traced(), trace.get_tracer("test").start_as_current_span("step parse") as span:
        RequestIdFilter().filter(record)
    RequestIdFilter().filter(outside)

    assert record.trace_id == trace.format_trace_id(span.get_span_context().trace_id)
    assert not hasattr(outside, "trace_id")


NO_TRACING_PROCESS = """
import sys
import entrypoints.container, entrypoints.api.app, entrypoints.cli.services
from entrypoints.tracing import configure_tracing
assert not configure_tracing("navigator-api")
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")
                or m.startswith("opentelemetry.instrumentation"))
assert not loaded, loaded
"""


def test_a_process_with_nothing_set_loads_no_tracing_sdk_or_instrumentation() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    subprocess.run([sys.executable, "-c", NO_TRACING_PROCESS], env=environ, check=True,
                   timeout=120)


def test_after_a_traced_test_the_process_is_untraced_again() -> None:
    with traced():
        assert tracing.active()
        assert tracing.step_tracer() is tracing.step_span

    assert not tracing.active()
    assert tracing.step_tracer() is not tracing.step_span
    assert tracing.current_trace_context() is None


def test_an_error_leaves_the_process_as_its_type_without_its_text() -> None:
    with traced() as exported:
        with trace.get_tracer("test").start_as_current_span("INSERT") as span:
            span.record_exception(ValueError("invalid input for query argument $2: 'quokka'"))
            span.set_status(trace.Status(trace.StatusCode.ERROR, "ValueError: quokka"))
        [finished] = exported.get_finished_spans()

    [event] = finished.events
    assert dict(event.attributes or {}) == {"exception.type": "ValueError"}
    assert finished.status.status_code is trace.StatusCode.ERROR
    assert not finished.status.description
