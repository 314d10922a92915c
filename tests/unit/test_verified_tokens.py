"""The cache of verified access tokens: kept until the token's expiry or the cache's
time to live, bounded, least recently used first out, and holding no token text.
Time is a hand-moved clock."""

from __future__ import annotations

import pytest

from adapters.auth.verified_tokens import VerifiedTokenCache

START = 1_800_000_000.0  # epoch seconds, the scale of a token's ``exp``
TOKEN_A = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYXJpYSJ9.c2lnbmF0dXJlLW9mLW1hcmlh"
TOKEN_B = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW1hbCJ9.c2lnbmF0dXJlLW9mLWphbWFs"


class HandClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


def cache_with(clock: HandClock, *, ttl: float = 60, max_entries: int = 100
               ) -> VerifiedTokenCache:
    return VerifiedTokenCache(max_entries=max_entries, ttl=ttl, clock=clock)


def test_a_verified_token_is_found_again_with_its_member(clock: HandClock) -> None:
    cache = cache_with(clock)
    cache.put(TOKEN_A, "maria", exp=START + 3600)

    found = cache.get(TOKEN_A)

    assert found is not None and found.member == "maria"
    assert (cache.hits, cache.misses) == (1, 0)


def test_a_token_is_kept_for_the_time_to_live_when_it_expires_later(clock: HandClock) -> None:
    cache = cache_with(clock, ttl=60)
    cache.put(TOKEN_A, "maria", exp=START + 3600)

    clock.now = START + 59.9
    assert cache.get(TOKEN_A) is not None
    clock.now = START + 60
    assert cache.get(TOKEN_A) is None
    assert len(cache) == 0


def test_a_token_is_never_kept_past_its_own_expiry(clock: HandClock) -> None:
    cache = cache_with(clock, ttl=60)
    cache.put(TOKEN_A, "maria", exp=START + 10)

    clock.now = START + 9.9
    assert cache.get(TOKEN_A) is not None
    clock.now = START + 10
    assert cache.get(TOKEN_A) is None


def test_a_token_already_past_its_expiry_is_not_kept(clock: HandClock) -> None:
    # accepted within the clock-skew allowance: it must be checked again every time
    cache = cache_with(clock)

    cache.put(TOKEN_A, "maria", exp=START - 5)

    assert len(cache) == 0
    assert cache.get(TOKEN_A) is None


def test_different_tokens_are_not_confused(clock: HandClock) -> None:
    cache = cache_with(clock)
    cache.put(TOKEN_A, "maria", exp=START + 3600)
    cache.put(TOKEN_B, "jamal", exp=START + 3600)
    tampered = TOKEN_A[:-1] + ("x" if TOKEN_A[-1] != "x" else "y")

    a, b = cache.get(TOKEN_A), cache.get(TOKEN_B)

    assert a is not None and a.member == "maria"
    assert b is not None and b.member == "jamal"
    assert cache.get(tampered) is None
    assert cache.get(TOKEN_A + " ") is None


def test_the_cache_is_bounded_and_drops_the_least_recently_used_token(
    clock: HandClock,
) -> None:
    cache = cache_with(clock, max_entries=3)
    tokens = [f"{TOKEN_A}{n}" for n in range(5)]
    for n, token in enumerate(tokens[:3]):
        cache.put(token, f"member-{n}", exp=START + 3600)
    assert cache.get(tokens[0]) is not None  # used: now the most recent

    cache.put(tokens[3], "member-3", exp=START + 3600)
    cache.put(tokens[4], "member-4", exp=START + 3600)

    assert len(cache) == 3
    assert [cache.get(token) is not None for token in tokens] == [
        True, False, False, True, True]


def test_putting_a_token_again_refreshes_it_without_growing_the_cache(
    clock: HandClock,
) -> None:
    cache = cache_with(clock, ttl=60)
    cache.put(TOKEN_A, "maria", exp=START + 3600)
    clock.now = START + 50
    cache.put(TOKEN_A, "maria", exp=START + 3600)

    clock.now = START + 100

    assert len(cache) == 1
    assert cache.get(TOKEN_A) is not None


def test_a_discarded_token_is_gone(clock: HandClock) -> None:
    cache = cache_with(clock)
    cache.put(TOKEN_A, "maria", exp=START + 3600)

    cache.discard(TOKEN_A)
    cache.discard(TOKEN_B)  # never kept: nothing happens

    assert cache.get(TOKEN_A) is None


def test_no_token_text_is_kept_or_shown(clock: HandClock) -> None:
    cache = cache_with(clock)
    cache.put(TOKEN_A, "maria", exp=START + 3600, key=object(), kid="key-1")
    entry = cache.get(TOKEN_A)
    signature = TOKEN_A.rsplit(".", 1)[1]

    shown = repr(cache) + repr(entry) + repr(vars(cache))

    assert TOKEN_A not in shown and signature not in shown
    assert repr(cache) == "VerifiedTokenCache(1 of 100 tokens, ttl 60 s)"


def test_two_caches_hash_the_same_token_differently(clock: HandClock) -> None:
    # the hash is keyed per process (per cache), so a digest is no use elsewhere
    first, second = cache_with(clock), cache_with(clock)
    first.put(TOKEN_A, "maria", exp=START + 3600)
    second.put(TOKEN_A, "maria", exp=START + 3600)

    assert set(vars(first)["_entries"]) != set(vars(second)["_entries"])


@pytest.mark.parametrize(("max_entries", "ttl"), [(0, 60), (10, 0), (10, -1)])
def test_a_cache_that_could_keep_nothing_is_refused(max_entries: int, ttl: float) -> None:
    with pytest.raises(ValueError, match="token cache"):
        VerifiedTokenCache(max_entries=max_entries, ttl=ttl)
