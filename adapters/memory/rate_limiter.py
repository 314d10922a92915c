"""The per-member answer rate limit, counted in this process's memory.

The sliding-window rule is the domain's (``domain.answering.rate_limit_wait``);
this adapter only keeps each member's recent request times. Being in memory, it
counts per API replica: with N replicas behind a load balancer a member can get
up to N times the limit (and a restart forgets the counts). See the README's
"Answers" section for why, and what a shared PostgreSQL counter would need.
"""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime, timedelta

from domain.answering import rate_limit_wait


class InMemoryAnswerRateLimiter:
    def __init__(self) -> None:
        self._times: defaultdict[str, deque[datetime]] = defaultdict(deque)

    async def take(self, user_id: str, now: datetime, limit: int, window: timedelta
                   ) -> timedelta | None:
        # No await in here: the check and the count are one step for the event loop.
        times = self._times[user_id]
        while times and times[0] <= now - window:  # forget what left the window
            times.popleft()
        wait = rate_limit_wait(times, now, limit, window)
        if wait is None:
            times.append(now)
        elif not times:
            del self._times[user_id]
        return wait

    async def used(self, user_id: str, now: datetime, window: timedelta) -> int:
        return sum(1 for t in self._times.get(user_id, ()) if now - window < t <= now)
