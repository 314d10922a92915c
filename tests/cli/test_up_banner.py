"""What ``navigator up`` prints: where to look for metrics and traces."""

from __future__ import annotations

from pathlib import Path

from entrypoints.cli.services import banner, traces_line
from entrypoints.container import build_container
from entrypoints.settings import load_settings


def _banner(tmp_path: Path, **env: str) -> str:
    settings = load_settings({"NAVIGATOR_HOME": str(tmp_path), "SERVICE_HOST": "127.0.0.1",
                              "RAG_VECTOR_DIMENSION": "64", **env})
    return banner(settings, "", build_container(settings), "dev-member")


def test_the_banner_says_where_the_metrics_are(tmp_path: Path) -> None:
    printed = _banner(tmp_path)

    assert "metrics    http://127.0.0.1:10000/metrics" in printed
    assert "status` shows the same queue figures" in printed


def test_with_a_metrics_token_the_banner_says_to_send_it_never_what_it_is(
    tmp_path: Path,
) -> None:
    token = "a-metrics-token-for-the-banner-" + "0f" * 16
    printed = _banner(tmp_path, METRICS_TOKEN=token)

    assert "Authorization: Bearer $METRICS_TOKEN" in printed
    assert token not in printed


def test_traces_are_shown_where_the_sdk_sends_them_or_as_off() -> None:
    assert traces_line({}).startswith("off (set OTEL_EXPORTER_OTLP_ENDPOINT")
    assert traces_line({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) == (
        "sent over OTLP to http://127.0.0.1:4318")
    assert traces_line({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/v1/traces"},
                       ) == "sent over OTLP to http://traces:4318/v1/traces"
    assert traces_line({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                        "OTEL_SDK_DISABLED": "true"}).startswith("off")
