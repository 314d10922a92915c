"""The retry policy: exponential backoff with a cap and injected jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import PermanentError, StepError, TransientError
from domain.retry import RetryPolicy

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def waited(policy: RetryPolicy, error: StepError, failures_so_far: int, u: float = 0.0) -> float:
    decision = policy.decide(error, failures_so_far, NOW, u)
    assert decision.retry_at is not None, decision.reason
    return (decision.retry_at - NOW).total_seconds()


def test_the_delay_doubles_from_the_base_delay_without_jitter() -> None:
    policy = RetryPolicy(max_retries=10, base_delay=1.0, jitter=0.1)
    assert [policy.delay(n, u=0.0) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def test_the_delay_never_exceeds_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    assert [policy.delay(n) for n in (4, 5, 6, 1000)] == [8.0, 10.0, 10.0, 10.0]


@given(
    failures=st.integers(min_value=1, max_value=200),
    u=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_jitter_only_ever_shortens_the_wait_and_by_at_most_its_share(
    failures: int, u: float, jitter: float
) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=60.0, jitter=jitter)
    full = RetryPolicy(base_delay=0.5, max_delay=60.0, jitter=0).delay(failures)
    delay = policy.delay(failures, u)
    assert full * (1 - jitter) - 1e-9 <= delay <= full


def test_a_delay_is_counted_from_the_first_failure() -> None:
    with pytest.raises(ValueError):
        RetryPolicy().delay(0)


def test_three_retries_wait_one_two_and_four_seconds_then_give_up() -> None:
    policy = RetryPolicy(max_retries=3, base_delay=1.0, jitter=0.25)
    error = TransientError("the parser is unavailable")
    assert [waited(policy, error, n) for n in range(3)] == [1.0, 2.0, 4.0]
    decision = policy.decide(error, 3, NOW)
    assert decision.gives_up
    assert decision.reason == "gave up after 4 attempts; last error: the parser is unavailable"


def test_no_retries_means_the_first_transient_failure_is_final() -> None:
    decision = RetryPolicy(max_retries=0).decide(TransientError("timeout"), 0, NOW)
    assert decision.gives_up


def test_a_permanent_error_is_never_retried_and_keeps_its_reason() -> None:
    decision = RetryPolicy(max_retries=3).decide(PermanentError("the file is damaged"), 0, NOW)
    assert decision.gives_up
    assert decision.reason == "the file is damaged"


def test_the_wait_the_provider_asks_for_is_respected() -> None:
    policy = RetryPolicy(base_delay=1.0, jitter=0)
    assert waited(policy, TransientError("rate limited", retry_after=30.0), 0) == 30.0


def test_a_short_provider_hint_never_shortens_our_own_backoff() -> None:
    policy = RetryPolicy(base_delay=1.0, jitter=0)
    assert waited(policy, TransientError("rate limited", retry_after=0.5), 2) == 4.0


def test_an_error_without_a_message_is_named_by_its_kind() -> None:
    decision = RetryPolicy().decide(PermanentError(), 0, NOW)
    assert decision.reason == "PermanentError"


def test_jitter_draws_are_applied_exactly() -> None:
    policy = RetryPolicy(base_delay=2.0, jitter=0.5)
    assert waited(policy, TransientError("busy"), 0, u=0.5) == pytest.approx(1.5)
    assert policy.decide(TransientError("busy"), 0, NOW, 0.5).retry_at == NOW + timedelta(
        seconds=1.5
    )


@pytest.mark.parametrize(
    "settings",
    [{"max_retries": -1}, {"base_delay": -1.0}, {"max_delay": -1.0}, {"jitter": 1.5}],
)
def test_nonsense_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**settings)  # type: ignore[arg-type]


def test_the_schedule_lists_the_wait_before_each_retry_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=5, base_delay=1.0, max_delay=6.0)
    assert policy.schedule() == (1.0, 2.0, 4.0, 6.0, 6.0)
    assert RetryPolicy(max_retries=0).schedule() == ()
