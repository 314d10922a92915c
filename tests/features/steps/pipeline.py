"""Steps about a document's way through the pipeline and the operators' overview."""

from __future__ import annotations

import itertools

from pytest_bdd import parsers, then

from tests.features.world import FIRST_WORKER, Upload, World


@then("its history shows these statuses, in order:")
def _(world: World, upload: Upload, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["status"]
    history = world.history(world.job_of(upload.document))
    assert [str(event.to_status) for event in history] == [row[0] for row in rows]
    for before, after in itertools.pairwise(history):
        assert after.from_status == before.to_status
        assert after.at >= before.at


@then("every step after the upload was done by the worker")
def _(world: World, upload: Upload) -> None:
    history = world.history(world.job_of(upload.document))
    assert history[0].worker is None
    assert {event.worker for event in history[1:]} == {FIRST_WORKER}
    assert all(event.attempt == 1 for event in history)


@then(parsers.parse("the overview counts {complete:d} complete and {failed:d} failed"))
def _(world: World, complete: int, failed: int) -> None:
    counts = world.counts()
    assert (counts["complete"], counts["failed"]) == (complete, failed)
    assert sum(counts.values()) == complete + failed
