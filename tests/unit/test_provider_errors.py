"""Which provider answers are worth retrying: timeouts, rate limits and server errors;
any other 4xx (a refused key, a refused request) is permanent."""

from __future__ import annotations

import pytest

from adapters.http_errors import retry_after_seconds
from domain.errors import is_transient_http_status


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
