"""When to try a failed step again, and when to give up.

``delay(n) = min(max_delay, base_delay * 2**(n-1))``, shortened by up to
``jitter`` of itself so that workers that failed together do not retry together.
The random draw ``u`` in [0, 1) is passed in, so tests are exact (``u = 0`` gives
the plain exponential delay).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from domain.errors import PermanentError, StepError, TransientError

#: The longest wait a provider's ``Retry-After`` is taken at: a day.
LONGEST_WAIT_SECONDS = 86_400.0


@attrs.frozen
class RetryDecision:
    """Either retry at ``retry_at`` or give up (``retry_at is None``)."""

    retry_at: datetime | None
    reason: str

    @property
    def gives_up(self) -> bool:
        return self.retry_at is None


@attrs.frozen
class RetryPolicy:
    """``max_retries`` retries after the first try: with 3, a step runs at most 4 times."""

    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    base_delay: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=300.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )

    def delay(self, failures: int, u: float = 0.0) -> float:
        """Seconds to wait after the ``failures``-th failed try (1-based)."""
        if failures < 1:
            raise ValueError("failures counts from 1")
        exponent = min(failures - 1, 64)  # beyond this the cap always wins
        full = min(self.max_delay, self.base_delay * 2**exponent)
        return full * (1 - self.jitter * u)

    def schedule(self) -> tuple[float, ...]:
        """The delay before each retry, in order: the plain exponential delays, each of
        which the jitter may shorten by up to ``jitter`` of itself."""
        return tuple(self.delay(n) for n in range(1, self.max_retries + 1))

    def decide(
        self, error: StepError, failures_so_far: int, now: datetime, u: float = 0.0
    ) -> RetryDecision:
        """What to do about ``error`` when the job had ``failures_so_far`` failed tries."""
        reason = str(error) or type(error).__name__
        if isinstance(error, PermanentError):
            return RetryDecision(None, reason)
        failures = failures_so_far + 1
        if failures > self.max_retries:
            return RetryDecision(
                None, f"gave up after {failures} attempts; last error: {reason}"
            )
        wait = self.delay(failures, u)
        if isinstance(error, TransientError) and error.retry_after is not None:
            # a provider's hint, at most a day: a longer one is a mistake, and its date
            # would overflow the retry's time
            wait = max(wait, min(error.retry_after, LONGEST_WAIT_SECONDS))
        return RetryDecision(now + timedelta(seconds=wait), reason)
