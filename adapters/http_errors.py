"""What hosted providers' HTTP answers mean for a retry, shared by every hosted adapter."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping

from domain.retry import LONGEST_WAIT_SECONDS


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a 429 asks for: ``retry-after-ms``, ``retry-after`` in seconds or as
    an HTTP date, at most :data:`LONGEST_WAIT_SECONDS`. None when absent or unreadable
    (not a number, NaN or infinite)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return _bounded(float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return _bounded(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return _bounded(when.timestamp() - time.time())


def _bounded(seconds: float) -> float:
    if not math.isfinite(seconds):
        raise ValueError("not a wait")
    return min(max(0.0, seconds), LONGEST_WAIT_SECONDS)
