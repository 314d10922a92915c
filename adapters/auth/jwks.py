"""The public keys a Supabase project signs access tokens with, fetched from its JWKS.

Projects on Supabase's JWT signing keys sign with ES256 (or RS256) and publish the
public keys at ``SUPABASE_URL/auth/v1/.well-known/jwks.json``. :class:`JwksKeySet`
keeps them in memory and hands out the one a token names in its ``kid``:

- the keys are fetched on first use and kept for ``max_age`` seconds; after that the
  next request refreshes them (and keeps the old ones if the refresh fails, so a
  short Supabase outage does not lock members out). Kept, but not for ever: keys
  not confirmed by a fetch for ``max_stale`` seconds are dropped, so a key the
  project revoked stops opening the API at the latest that long into an outage
  (requests then get a 503 until Supabase answers again);
- a ``kid`` that is not in the set triggers one refetch, because a rotated key is
  published before tokens are signed with it;
- refetches are rate-limited: at most one every ``min_interval`` seconds, whatever
  the cause, and concurrent requests share one fetch. A stream of tokens with
  forged ``kid`` values therefore costs Supabase one request per interval, and
  is answered from the cache (401) in between.

Only signature keys of type EC (P-256, ES256) and RSA (RS256) are used; anything
else in the set is skipped. Keys are public: nothing here is secret, but tokens
are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from jwt import PyJWK
from jwt.exceptions import InvalidKeyError, PyJWKError

from domain.errors import TransientError

log = logging.getLogger(__name__)

#: Asymmetric algorithms a Supabase project may sign access tokens with.
ASYMMETRIC_ALGORITHMS = ("ES256", "RS256")
_KEY_TYPES = {"ES256": "EC", "RS256": "RSA"}
JWKS_PATH = "/auth/v1/.well-known/jwks.json"
DEFAULT_MAX_AGE = 600.0
DEFAULT_MIN_INTERVAL = 30.0
#: How long keys outlive their last successful fetch while Supabase cannot be reached.
DEFAULT_MAX_STALE = 3600.0
FETCH_TIMEOUT = 5.0

Fetch = Callable[[str], Awaitable[Mapping[str, Any]]]


class KeysUnavailable(TransientError):
    """The key set could not be fetched and none is cached: tokens cannot be checked now."""


def jwks_url(supabase_url: str) -> str:
    return supabase_url.rstrip("/") + JWKS_PATH


async def fetch_jwks(url: str) -> Mapping[str, Any]:
    """GET the JWKS document at ``url`` (a JSON object with ``keys``)."""
    async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the JWKS document has no 'keys' list")
    return document


def parse_keys(document: Mapping[str, Any]) -> dict[str, PyJWK]:
    """The usable signature keys of a JWKS document, by ``kid``."""
    keys: dict[str, PyJWK] = {}
    for entry in document.get("keys", []):
        if not isinstance(entry, dict):
            continue
        kid, kty = entry.get("kid"), entry.get("kty")
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
            continue
        algorithm = entry.get("alg") or {"EC": "ES256", "RSA": "RS256"}.get(str(kty))
        if algorithm not in ASYMMETRIC_ALGORITHMS or _KEY_TYPES[algorithm] != kty:
            log.warning("JWKS key %r skipped: type %r, algorithm %r not supported",
                        kid[:64], kty, algorithm)
            continue
        try:
            keys[kid] = PyJWK(entry, algorithm=algorithm)
        except (PyJWKError, InvalidKeyError, ValueError) as exc:
            log.warning("JWKS key %r skipped: %s", kid[:64], exc)
    return keys


class JwksKeySet:
    """The signing keys published at ``url``, cached, refetched on rotation, rate-limited.

    ``clock`` is a monotonic clock in seconds (injected so tests move time by hand);
    ``fetch`` gets the JWKS document (injected in unit tests; HTTP by default).
    """

    def __init__(
        self,
        url: str,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        max_stale: float = DEFAULT_MAX_STALE,
        clock: Callable[[], float] = time.monotonic,
        fetch: Fetch = fetch_jwks,
    ) -> None:
        self.url = url
        self._max_age = max_age
        self._min_interval = min_interval
        self._max_stale = max_stale
        self._clock = clock
        self._fetch = fetch
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> PyJWK | None:
        """The key named ``kid``, or None when the project does not publish it.

        Raises :class:`KeysUnavailable` when no key set could ever be fetched.
        """
        if self._is_stale() or kid not in self._keys:
            await self._refresh()
        if self._fetched_at is not None and \
                self._clock() - self._fetched_at >= self._max_age + self._max_stale:
            log.warning("the JWKS at %s has not been fetched for %.0f s: cached keys dropped",
                        self.url, self._clock() - self._fetched_at)
            self._keys, self._fetched_at = {}, None
        if self._fetched_at is None:
            raise KeysUnavailable(
                "the service cannot fetch its sign-in keys to check the access token right "
                "now; try again in a few seconds"
            )
        return self._keys.get(kid)

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age

    def _may_fetch(self) -> bool:
        return self._attempted_at is None or \
            self._clock() - self._attempted_at >= self._min_interval

    async def _refresh(self) -> None:
        if self._lock.locked():  # a fetch is under way: wait for it rather than start one
            async with self._lock:
                return
        if not self._may_fetch():
            return
        async with self._lock:
            if not self._may_fetch():  # another request fetched while this one waited
                return
            self._attempted_at = self._clock()
            self.fetches += 1
            try:
                document = await self._fetch(self.url)
                keys = parse_keys(document)
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("could not fetch the JWKS at %s: %s; %s", self.url,
                            type(exc).__name__,
                            "keeping the cached keys" if self._keys else "no keys cached")
                return
            self._keys = keys
            self._fetched_at = self._clock()
