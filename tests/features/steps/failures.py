"""Steps about things going wrong: unavailable services, refusals, retries by hand."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from domain.errors import Conflict
from domain.retry import RetryPolicy
from tests.features.world import Outcome, Upload, World


@given(parsers.parse("a failed step is retried at most {retries:d} times, waiting {delay:d} "
                     "second at first and twice as long each time"))
def _(world: World, retries: int, delay: int) -> None:
    world.retry_policy = RetryPolicy(max_retries=retries, base_delay=float(delay))


@given("the parser is unavailable the first time")
def _(world: World) -> None:
    world.parser.fail_transiently(1, "the parser is unavailable")


@given("the parser is unavailable until further notice")
def _(world: World) -> None:
    world.parser.fail_transiently(None, "the parser is unavailable")


@when("the parser is back")
def _(world: World) -> None:
    world.parser.heal()


@given(parsers.parse("the embedding service is busy the first {times:d} times"))
def _(world: World, times: int) -> None:
    world.embedder.fail_transiently(times, "the embedding service is busy")


@given("the embedding service refuses the text as unacceptable")
def _(world: World) -> None:
    world.embedder.fail_permanently("the embedding service refused the text as unacceptable")


@then("the embedding service was asked only once")
def _(world: World) -> None:
    assert len(world.embedder.calls) == 1


@when(parsers.parse("{member} retries her document"), target_fixture="retry_outcome")
def _(world: World, upload: Upload, member: str) -> Outcome:
    return world.retry(member, world.job_of(upload.document).job_id)


@then("her retry is refused because the document has not failed")
def _(retry_outcome: Outcome) -> None:
    assert isinstance(retry_outcome.error, Conflict), retry_outcome
