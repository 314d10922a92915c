"""Steps about what an operator sees of the whole queue (``/metrics``, ``navigator status``)."""

from __future__ import annotations

from datetime import timedelta

from pytest_bdd import given, parsers, then, when

from domain.status import JobStatus, StepName
from tests.features.world import World

ACTIVITIES = {"parsing": StepName.PARSE, "validating": StepName.VALIDATE,
              "chunking": StepName.CHUNK, "embedding": StepName.EMBED}
UNITS = {"second": 1, "seconds": 1, "minute": 60, "minutes": 60}


def _count(word: str) -> int:
    return 0 if word == "no" else int(word)


@given(parsers.parse("the operator counts failures and retries over the last {minutes:d} minutes"))
def _(world: World, minutes: int) -> None:
    world.figures_window = timedelta(minutes=minutes)


@when(parsers.re(r"(?P<amount>\d+) (?P<unit>seconds?|minutes?) pass with no worker "
                 r"looking for work"))
def _(world: World, amount: str, unit: str) -> None:
    world.clock.advance(int(amount) * UNITS[unit])


@then(parsers.re(r"the operator sees (?P<complete>\d+) documents? complete and "
                 r"(?P<failed>\d+) failed"))
def _(world: World, complete: str, failed: str) -> None:
    counts = world.queue_figures().counts
    assert (counts[JobStatus.COMPLETE], counts[JobStatus.FAILED]) == (int(complete), int(failed))


@then(parsers.re(r"the operator sees (?P<failures>\d+|no) failures? and (?P<retries>\d+|no) "
                 r"retr(?:y|ies) while (?P<activity>\w+)"))
def _(world: World, failures: str, retries: str, activity: str) -> None:
    figures, step = world.queue_figures(), ACTIVITIES[activity]
    assert (figures.failures[step], figures.retries[step]) == (_count(failures), _count(retries))


@then(parsers.re(r"the operator sees no failure or retry at any (?P<which>other )?step"))
def _(world: World, which: str | None) -> None:
    figures = world.queue_figures()
    steps = [s for s in StepName if not (which and s is StepName.PARSE)]
    assert [figures.failures[s] for s in steps] == [0] * len(steps)
    assert [figures.retries[s] for s in steps] == [0] * len(steps)


@then(parsers.parse("the operator sees that a document has waited {amount:d} seconds for a "
                    "worker"))
def _(world: World, amount: int) -> None:
    assert world.queue_figures().longest_wait == timedelta(seconds=amount)


@then("the operator sees no document waiting for a worker")
def _(world: World) -> None:
    figures = world.queue_figures()
    assert figures.ready_since == {}
    assert figures.longest_wait == timedelta(0)
