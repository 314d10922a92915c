"""One upload, one trace, across two processes: ``navigator api`` and ``navigator worker``
export over OTLP/HTTP (the standard variables) to a collector on 127.0.0.1, and the
worker's six step spans are children of the API's upload request span."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.e2e.conftest import Deployment, drop_schema, make_deployment, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

STEPS = ["parse", "validate", "chunk", "queue", "embed", "finalize"]
DOCUMENT = (b"# Summary of benefits\n\n## Deductible\n\nThe yearly deductible is $500 per "
            b"member.\n")


@attrs.frozen
class Span:
    service: str
    name: str
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    started: int
    attributes: dict[str, Any]


class _Collector(BaseHTTPRequestHandler):
    """Decodes each OTLP/HTTP export (protobuf) into :class:`Span` s."""

    spans: ClassVar[list[Span]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ExportTraceServiceRequest.FromString(body)
        found = []
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: a.value.string_value or a.value.int_value
                                  for a in span.attributes}
                    found.append(Span(service, span.name, span.trace_id, span.span_id,
                                      span.parent_span_id, span.start_time_unix_nano,
                                      attributes))
        with self.lock:
            self.spans.extend(found)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def collector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def traced(postgres_dsn: str, collector: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("e2e-traces")
    deployment = make_deployment(postgres_dsn, home, OTEL_EXPORTER_OTLP_ENDPOINT=collector,
                                 OTEL_BSP_SCHEDULE_DELAY="100")
    try:
        deployment.start_api()
        deployment.start_worker()
        yield deployment
    finally:
        deployment.stop_all()
        drop_schema(postgres_dsn, deployment.schema)
        shutil.rmtree(Path(home), ignore_errors=True)


def test_the_workers_steps_join_the_trace_of_the_request_that_uploaded_the_document(
    traced: Deployment,
) -> None:
    with traced.client() as member:
        uploaded = member.post("/api/v1/documents", files={"file": ("plan.md", DOCUMENT)},
                               headers={"X-Request-ID": "e2e-upload-1"})
        job = traced.wait_until_done(member, uploaded.json()["job"]["id"])

    def exported() -> tuple[list[Span], list[Span]] | None:
        # Each process exports on its own schedule: the API's request span may arrive
        # after the worker's steps (an API starved of CPU for a moment), so wait for both.
        with _Collector.lock:
            steps = sorted((s for s in _Collector.spans if s.name.startswith("step ")),
                           key=lambda s: s.started)
            requests = [s for s in _Collector.spans
                        if s.attributes.get("navigator.request_id") == "e2e-upload-1"]
        return (steps, requests) if len(steps) >= len(STEPS) and requests else None

    steps, requests = wait_for(exported, "the API's request span and the worker's step spans",
                               30.0, interval=0.1, logs=traced.logs)
    [request] = requests

    api_lines = [json.loads(line) for line in traced.services[0].log.read_text().splitlines()
                 if line.startswith("{")]
    access = [line for line in api_lines if line.get("request_id") == "e2e-upload-1"]

    assert job["status"] == "complete"
    assert uploaded.headers["X-Request-ID"] == "e2e-upload-1"
    assert any("POST /api/v1/documents" in line["message"] for line in access)  # uvicorn's
    assert request.service == "navigator-api"
    assert [s.name.removeprefix("step ") for s in steps] == STEPS
    for step in steps:
        assert step.service == "navigator-worker"
        assert step.trace_id == request.trace_id
        assert step.parent_span_id == request.span_id
