"""Access tokens already verified, kept for a short while so that a member's next
requests skip the signature check (PyJWT's decode was a fifth of the API's CPU per
upload).

What is kept, and for how long:

- the member the token names, the time it stops being kept, and the key it was
  verified with (None for the HS256 secret), under a keyed hash of the token: never
  the token itself, so neither a repr, a log line nor a memory dump of the cache
  holds one. The hash's key is drawn at random per process, so a digest is of no
  use outside it;
- until the token's own expiry (``exp``) or ``ttl`` seconds after it was verified,
  whichever comes first: a cached token is never accepted past its ``exp``, and past
  it the verifier checks it again (with its clock-skew allowance) as it would have;
- at most ``max_entries`` tokens; the least recently used one goes first.

Only tokens the verifier accepted are put here: a refused token is checked again
every time. The verifier still asks its key set for the key of every cached token
signed with a published key (see :mod:`entrypoints.access_tokens`), so a key the
project revoked stops opening the API exactly when it did without the cache.

``clock`` gives wall-clock seconds since the epoch (the scale of ``exp``); tests
inject one they move by hand. One event loop uses a cache: nothing here awaits.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

import attrs

DEFAULT_TTL = 60.0
DEFAULT_MAX_ENTRIES = 10_000


@attrs.frozen
class VerifiedToken:
    """What the verifier found in a token it accepted."""

    member: str
    #: Epoch seconds after which the token must be verified again.
    expires_at: float
    #: The published key the token was verified with; None for the HS256 secret.
    key: object | None = attrs.field(default=None, repr=False)
    kid: str | None = None


class VerifiedTokenCache:
    """A bounded, least-recently-used map from a keyed hash of a token to what its
    verification found, each entry kept until ``min(exp, verified + ttl)``."""

    def __init__(self, *, max_entries: int = DEFAULT_MAX_ENTRIES, ttl: float = DEFAULT_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        if max_entries < 1:
            raise ValueError("a token cache holds at least one token")
        if ttl <= 0:
            raise ValueError("a token cache keeps tokens for more than 0 seconds")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._hash_key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, VerifiedToken] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _digest(self, token: str) -> bytes:
        return hashlib.blake2b(token.encode(), key=self._hash_key, digest_size=32).digest()

    def get(self, token: str) -> VerifiedToken | None:
        """What verifying ``token`` found, while it is kept; None otherwise."""
        digest = self._digest(token)
        entry = self._entries.get(digest)
        if entry is not None and self._clock() >= entry.expires_at:
            del self._entries[digest]
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(digest)
        self.hits += 1
        return entry

    def put(self, token: str, member: str, *, exp: float, key: object | None = None,
            kid: str | None = None) -> None:
        """Keep what verifying ``token`` found (call only for an accepted token) until
        its expiry ``exp`` or the cache's ``ttl`` from now, whichever is first."""
        now = self._clock()
        expires_at = min(exp, now + self.ttl)
        if expires_at <= now:  # accepted within the clock-skew allowance: check it each time
            return
        digest = self._digest(token)
        self._entries[digest] = VerifiedToken(member, expires_at, key, kid)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        """Forget ``token`` (its key is no longer published)."""
        self._entries.pop(self._digest(token), None)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return (f"VerifiedTokenCache({len(self._entries)} of {self.max_entries} tokens, "
                f"ttl {self.ttl:g} s)")
