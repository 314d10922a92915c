"""The verifier with its cache of accepted tokens: a member's next requests skip the
signature check, and nothing a token is checked for changes (expiry, refusals, a
revoked signing key, an unreachable key set). The cache and the key set run on
hand-moved clocks."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr

from adapters.auth.jwks import JwksKeySet, KeysUnavailable, jwks_url
from adapters.auth.verified_tokens import VerifiedTokenCache
from entrypoints.access_tokens import TokenVerifier, make_token_verifier
from entrypoints.api.problems import Unauthorized
from entrypoints.settings import SettingsError, load_settings
from entrypoints.tokens import mint_token
from tests.fakes.jwks_server import FakeSupabaseAuth, SigningKey, generate_key

SECRET = "token-cache-test-" + "5e" * 24


class HandClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> HandClock:
    """The cache's clock: epoch seconds, starting at the real time (tokens are minted
    with it)."""
    return HandClock(float(int(time.time())))


@pytest.fixture
def monotonic() -> HandClock:
    """The key set's clock."""
    return HandClock(1000.0)


@pytest.fixture
def cache(wall: HandClock) -> VerifiedTokenCache:
    return VerifiedTokenCache(max_entries=100, ttl=60, clock=wall)


@pytest.fixture
def hs256(cache: VerifiedTokenCache) -> TokenVerifier:
    return TokenVerifier(secret=SecretStr(SECRET), cache=cache)


@pytest.fixture(scope="module")
def es256() -> SigningKey:
    return generate_key("ES256")


@pytest.fixture
def auth(es256: SigningKey) -> Iterator[FakeSupabaseAuth]:
    with FakeSupabaseAuth() as server:
        server.publish(es256)
        yield server


@pytest.fixture
def signing_keys(auth: FakeSupabaseAuth, monotonic: HandClock, cache: VerifiedTokenCache
                 ) -> TokenVerifier:
    keys = JwksKeySet(jwks_url(auth.url), max_age=600, min_interval=30, clock=monotonic)
    return TokenVerifier(keys=keys, issuer=auth.issuer, cache=cache)


def token_for(member: str, wall: HandClock, *, lifetime: float = 3600) -> str:
    return jwt.encode({"sub": member, "aud": "authenticated", "iat": int(wall.now),
                       "exp": int(wall.now + lifetime)}, SECRET, algorithm="HS256")


async def test_a_members_next_requests_skip_the_signature_check(
    hs256: TokenVerifier, cache: VerifiedTokenCache, wall: HandClock,
) -> None:
    token = token_for("maria", wall)

    members = [await hs256.member(token) for _ in range(5)]

    assert members == ["maria"] * 5
    assert (cache.misses, cache.hits, len(cache)) == (1, 4, 1)


async def test_a_token_is_checked_again_once_its_time_in_the_cache_is_up(
    hs256: TokenVerifier, cache: VerifiedTokenCache, wall: HandClock,
) -> None:
    token = token_for("maria", wall)
    await hs256.member(token)

    wall.now += 60
    assert await hs256.member(token) == "maria"

    assert (cache.misses, cache.hits) == (2, 0)


async def test_a_token_is_not_taken_from_the_cache_past_its_expiry(
    hs256: TokenVerifier, cache: VerifiedTokenCache, wall: HandClock,
) -> None:
    token = token_for("maria", wall, lifetime=20)
    await hs256.member(token)
    wall.now += 19
    await hs256.member(token)  # from the cache

    wall.now += 1  # its expiry, by the cache's clock: verified again, and not kept
    await hs256.member(token)

    assert (cache.misses, cache.hits, len(cache)) == (2, 1, 0)


async def test_a_token_accepted_within_the_clock_skew_allowance_is_never_cached(
    cache: VerifiedTokenCache,
) -> None:
    verifier = TokenVerifier(secret=SecretStr(SECRET), cache=cache)
    recently_expired = mint_token(SECRET, "maria", ttl=timedelta(hours=1),
                                  now=time.time() - 3600 - 10)

    assert await verifier.member(recently_expired) == "maria"  # 30 s of skew allowed
    assert len(cache) == 0


async def test_a_refused_token_is_refused_every_time_and_never_cached(
    hs256: TokenVerifier, cache: VerifiedTokenCache, wall: HandClock,
) -> None:
    forged = jwt.encode({"sub": "maria", "aud": "authenticated", "exp": int(wall.now) + 3600},
                        "another-secret-" + "0" * 32, algorithm="HS256")

    for _ in range(3):
        with pytest.raises(Unauthorized, match="signature"):
            await hs256.member(forged)

    assert len(cache) == 0


async def test_different_tokens_are_not_confused(
    hs256: TokenVerifier, wall: HandClock,
) -> None:
    maria, jamal = token_for("maria", wall), token_for("jamal", wall)
    await hs256.member(maria)
    await hs256.member(jamal)
    header, _, signature = maria.split(".")
    jamal_payload = jamal.split(".")[1]

    assert await hs256.member(maria) == "maria"
    assert await hs256.member(jamal) == "jamal"
    with pytest.raises(Unauthorized):  # maria's signature on jamal's claims
        await hs256.member(f"{header}.{jamal_payload}.{signature}")


async def test_no_token_text_in_reprs_or_logs(
    hs256: TokenVerifier, wall: HandClock, caplog: pytest.LogCaptureFixture,
) -> None:
    token = token_for("maria", wall)
    caplog.set_level(logging.DEBUG)

    await hs256.member(token)
    await hs256.member(token)
    with pytest.raises(Unauthorized):
        await hs256.member(token[:-2])

    shown = repr(hs256) + caplog.text
    for part in (token, *token.split(".")[1:]):
        assert part not in shown
    assert SECRET not in shown


async def test_a_cached_token_stops_working_when_its_key_is_revoked(
    signing_keys: TokenVerifier, auth: FakeSupabaseAuth, es256: SigningKey,
    cache: VerifiedTokenCache, monotonic: HandClock,
) -> None:
    token = auth.sign(es256, sub="maria")
    assert await signing_keys.member(token) == "maria"
    assert await signing_keys.member(token) == "maria"  # from the cache, key still held

    auth.publish(generate_key("ES256"))  # the project revokes the key
    monotonic.now += 601  # the key set refreshes, as it would without the cache

    with pytest.raises(Unauthorized, match="does not publish"):
        await signing_keys.member(token)
    assert len(cache) == 0
    assert auth.requests == 2


async def test_a_cached_token_is_verified_again_after_a_refresh_and_cached_again(
    signing_keys: TokenVerifier, auth: FakeSupabaseAuth, es256: SigningKey,
    cache: VerifiedTokenCache, monotonic: HandClock,
) -> None:
    token = auth.sign(es256, sub="maria")
    await signing_keys.member(token)
    monotonic.now += 601  # refreshed: new key objects, so the token is verified again

    assert await signing_keys.member(token) == "maria"
    hits_after_the_refresh = cache.hits
    assert await signing_keys.member(token) == "maria"

    assert len(cache) == 1
    assert auth.requests == 2
    assert cache.hits == hits_after_the_refresh + 1  # the second use after it: cached


async def test_a_cached_token_needs_the_key_set_as_much_as_a_new_one(
    signing_keys: TokenVerifier, auth: FakeSupabaseAuth, es256: SigningKey,
    monotonic: HandClock,
) -> None:
    token = auth.sign(es256, sub="maria")
    await signing_keys.member(token)
    auth.failing = True

    monotonic.now += 600 + 3600  # an hour past the key set's age without a fetch
    with pytest.raises(KeysUnavailable):
        await signing_keys.member(token)


def test_the_settings_size_the_cache_or_turn_it_off(tmp_path: Path) -> None:
    home = {"NAVIGATOR_HOME": str(tmp_path)}

    default = make_token_verifier(load_settings(home))
    sized = make_token_verifier(load_settings({**home, "AUTH_TOKEN_CACHE_SECONDS": "5",
                                               "AUTH_TOKEN_CACHE_SIZE": "7"}))
    off = make_token_verifier(load_settings({**home, "AUTH_TOKEN_CACHE_SECONDS": "0"}))

    assert default.cache is not None
    assert (default.cache.ttl, default.cache.max_entries) == (60, 10_000)
    assert sized.cache is not None and (sized.cache.ttl, sized.cache.max_entries) == (5, 7)
    assert off.cache is None


@pytest.mark.parametrize(("name", "value"), [("AUTH_TOKEN_CACHE_SECONDS", "-1"),
                                             ("AUTH_TOKEN_CACHE_SIZE", "0")])
def test_a_cache_setting_out_of_range_is_named(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({"NAVIGATOR_HOME": str(tmp_path), name: value})
