"""Every step has a wall-clock limit, measured on the injected clock: a step still
running when it passes is stopped and tried again later, like any passing failure,
and the job fails once the retries are spent. No real waiting: the fake clock moves."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest

from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.processing import ProcessJob
from domain.status import JobStatus
from domain.worker import Worker
from tests.unit.test_use_cases import Rig

LIMIT = timedelta(seconds=30)


@pytest.fixture(scope="module")
def tokenizer() -> TiktokenTokenizer:
    return TiktokenTokenizer()


@pytest.fixture
def rig(tokenizer: TiktokenTokenizer) -> Rig:
    return Rig(tokenizer)


def timed_worker(rig: Rig) -> Worker:
    process: ProcessJob = attrs.evolve(rig.process, step_timeout=LIMIT, timer=rig.clock)
    return rig.worker(process=process)


async def started_hanging_step(rig: Rig) -> asyncio.Task[object]:
    """A round whose parse hangs, once the step's time limit is being measured."""
    task: asyncio.Task[object] = asyncio.create_task(timed_worker(rig).drain())
    await rig.parser.wait_until_hanging()
    await rig.clock.wait_until_sleeping()
    return task


async def test_a_step_that_runs_past_its_time_limit_is_stopped_and_tried_again_later(
    rig: Rig,
) -> None:
    rig.parser.hang()
    submission = await rig.submit()
    round_ = await started_hanging_step(rig)

    rig.clock.advance(LIMIT.total_seconds() - 1)
    await asyncio.sleep(0)
    assert rig.parser.hanging == 1, "still within its limit"
    rig.clock.advance(1)
    await round_

    job = await rig.job(submission)
    assert (job.status, job.attempts) == (JobStatus.UPLOADED, 1)
    assert job.last_error == "the parse step took longer than 30 s"
    assert job.available_at == rig.clock.now() + timedelta(seconds=1)  # the usual backoff
    assert rig.parser.hanging == 0, "the stopped parse was cancelled, not left running"
    assert ("parse", "error") in rig.on_step

    rig.clock.advance(1)
    await timed_worker(rig).drain()
    assert (await rig.job(submission)).status is JobStatus.COMPLETE


async def test_a_step_that_always_runs_past_its_limit_fails_once_the_retries_are_spent(
    rig: Rig,
) -> None:
    rig.parser.hang(times=4)  # the first try and three retries
    submission = await rig.submit()
    for _ in range(4):
        round_ = await started_hanging_step(rig)
        rig.clock.advance(LIMIT.total_seconds())
        await round_
        job = await rig.job(submission)
        if job.status is JobStatus.FAILED:
            break
        rig.clock.advance((job.available_at - rig.clock.now()).total_seconds())

    assert job.status is JobStatus.FAILED
    assert job.last_error == (
        "gave up after 4 attempts; last error: the parse step took longer than 30 s"
    )
    assert len(rig.parser.calls) == 4


async def test_a_step_that_finishes_within_its_limit_is_not_disturbed(rig: Rig) -> None:
    rig.parser.hang()
    submission = await rig.submit()
    round_ = await started_hanging_step(rig)
    rig.clock.advance(LIMIT.total_seconds() - 1)
    rig.parser.resume()
    await round_

    job = await rig.job(submission)
    assert (job.status, job.attempts) == (JobStatus.COMPLETE, 0)
    assert rig.clock.sleeping == 0, "no timer is left behind"
