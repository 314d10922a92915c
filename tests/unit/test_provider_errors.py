"""Which provider answers are worth retrying: timeouts, rate limits and server errors;
any other 4xx (a refused key, a refused request) is permanent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.http_errors import retry_after_seconds
from domain.errors import TransientError, is_transient_http_status
from domain.retry import LONGEST_WAIT_SECONDS, RetryPolicy


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_timeouts_rate_limits_and_server_errors_are_worth_retrying(status: int) -> None:
    assert is_transient_http_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_client_errors_are_permanent(status: int) -> None:
    assert not is_transient_http_status(status)


def test_the_wait_a_rate_limit_asks_for_is_read_in_any_of_its_forms() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after": "20"}) == 20.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize(("headers", "wait"), [
    ({"retry-after": "inf"}, None),
    ({"retry-after": "nan"}, None),
    ({"retry-after-ms": "-inf", "retry-after": "7"}, 7.0),
    ({"retry-after-ms": "1e20"}, LONGEST_WAIT_SECONDS),
    ({"retry-after": "1e12"}, LONGEST_WAIT_SECONDS),
    ({"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}, LONGEST_WAIT_SECONDS),
])
def test_a_wait_no_clock_can_reach_is_unreadable_or_a_day(
    headers: dict[str, str], wait: float | None,
) -> None:
    assert retry_after_seconds(headers) == wait


def test_a_provider_asking_for_an_endless_wait_still_gets_a_retry_time() -> None:
    # before the bound, the worker's retry decision overflowed and the job sat until
    # its lease expired
    now = datetime(2026, 12, 7, tzinfo=UTC)
    hints = [retry_after_seconds({"retry-after": "1e12"}), float("inf"), 1e300]
    for hint in hints:  # the policy bounds a hint whichever adapter made it
        error = TransientError("rate limited", retry_after=hint)
        decision = RetryPolicy().decide(error, 0, now)
        assert decision.retry_at is not None
        assert (decision.retry_at - now).total_seconds() == LONGEST_WAIT_SECONDS
