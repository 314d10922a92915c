"""``WORKER_METRICS_PORT``: the worker's own metrics, behind ``METRICS_TOKEN`` as the
API's ``/metrics`` is (on 127.0.0.1, a free port)."""

from __future__ import annotations

import httpx

from entrypoints.metrics import Metrics, serve_metrics
from tests.ports import free_port

TOKEN = "worker-metrics-token-" + "5eed" * 10


def _start(metrics: Metrics, token: str | None, open_without_token: bool) -> tuple[str, object]:
    port = free_port()
    server = serve_metrics(metrics, "127.0.0.1", port, token=token,
                           open_without_token=open_without_token)
    return f"http://127.0.0.1:{port}/metrics", server


def _stop(server: object) -> None:
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


def test_with_a_token_only_its_bearer_reads_the_worker_s_metrics() -> None:
    metrics = Metrics()
    metrics.observe_step("parse", 0.2, "ok")
    url, server = _start(metrics, TOKEN, open_without_token=True)
    try:
        anonymous = httpx.get(url, timeout=5)
        wrong = httpx.get(url, timeout=5, headers={"Authorization": "Bearer nope"})
        right = httpx.get(url, timeout=5, headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        _stop(server)

    assert (anonymous.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert 'navigator_step_duration_seconds_count{outcome="ok",step="parse"} 1.0' in right.text
    assert "process_resident_memory_bytes" in right.text


def test_without_a_token_the_port_is_open_in_development_and_closed_elsewhere() -> None:
    metrics = Metrics()
    open_url, open_server = _start(metrics, None, open_without_token=True)
    closed_url, closed_server = _start(metrics, None, open_without_token=False)
    try:
        opened = httpx.get(open_url, timeout=5)
        closed = httpx.get(closed_url, timeout=5)
    finally:
        _stop(open_server)
        _stop(closed_server)

    assert opened.status_code == 200
    assert closed.status_code == 403
    assert "METRICS_TOKEN" in closed.text
