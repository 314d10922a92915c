"""Steps about traces: an operator following one upload through the pipeline."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from pytest_bdd import given, parsers, then

from tests.features.world import UPLOAD_SPAN, World
from tests.tracing import traced


def _upload_and_steps(world: World) -> tuple[ReadableSpan, list[ReadableSpan]]:
    spans = list(memory_exporter_spans(world))
    [upload] = [s for s in spans if s.name == UPLOAD_SPAN]
    steps = [s for s in spans if s.name.startswith("step ")
             and s.context.trace_id == upload.context.trace_id]
    return upload, sorted(steps, key=lambda s: s.start_time or 0)


def memory_exporter_spans(world: World) -> tuple[ReadableSpan, ...]:
    assert world.spans is not None, "the scenario did not say the service records traces"
    return world.spans.get_finished_spans()


@given("the service records traces")
def records_traces(world: World, request: pytest.FixtureRequest) -> None:
    recording = traced()
    world.spans = recording.__enter__()
    request.addfinalizer(lambda: recording.__exit__(None, None, None))


@then(parsers.parse("the trace of her upload shows these steps, in order: {steps}"))
def steps_in_order(world: World, steps: str) -> None:
    _upload, found = _upload_and_steps(world)
    assert [s.name.removeprefix("step ") for s in found] == \
        [step.strip() for step in steps.split(",")]


@then("every step in it follows from her upload")
def steps_follow_the_upload(world: World) -> None:
    upload, found = _upload_and_steps(world)
    assert found
    for step in found:
        assert step.parent is not None and step.parent.span_id == upload.context.span_id
        assert step.parent.is_remote  # through the job as stored, as on another machine


@then(parsers.parse("the first {count:d} {step} steps in it are marked as failed"))
def failed_tries_marked(world: World, count: int, step: str) -> None:
    _upload, found = _upload_and_steps(world)
    outcomes = [(s.attributes or {}).get("navigator.step.outcome")
                for s in found if s.name == f"step {step}"]
    assert outcomes[:count] == ["error"] * count
    assert "error" not in outcomes[count:]
