"""Tokens of Supabase projects on JWT signing keys (ES256/RS256, published as a JWKS).

A fake Supabase Auth on 127.0.0.1 publishes keys generated at test time. The key
set's clock is a hand-moved one, so the cache and the refetch rate limit are
exercised without waiting.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from dependency_injector import providers
from pydantic import SecretStr

from adapters.auth.jwks import JwksKeySet, KeysUnavailable, jwks_url, parse_keys
from entrypoints.access_tokens import TokenVerifier, make_token_verifier
from entrypoints.api.problems import Unauthorized
from entrypoints.container import Container
from entrypoints.settings import load_settings
from entrypoints.tokens import mint_dev_token, token_schemes
from tests.api.conftest import SECRET, MakeApi
from tests.api.test_documents import is_problem
from tests.fakes.jwks_server import FakeSupabaseAuth, SigningKey, generate_key

REFETCH = 30.0


class HandClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def es256() -> SigningKey:
    return generate_key("ES256")


@pytest.fixture(scope="module")
def rs256() -> SigningKey:
    return generate_key("RS256")


@pytest.fixture
def auth(es256: SigningKey, rs256: SigningKey) -> Iterator[FakeSupabaseAuth]:
    with FakeSupabaseAuth() as server:
        server.publish(es256, rs256)
        yield server


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


def verifier_for(auth: FakeSupabaseAuth, clock: HandClock, secret: str | None = None
                 ) -> TokenVerifier:
    keys = JwksKeySet(jwks_url(auth.url), max_age=600, min_interval=REFETCH, clock=clock)
    return TokenVerifier(secret=SecretStr(secret) if secret else None, keys=keys,
                         issuer=auth.issuer)


@pytest.fixture
def verifier(auth: FakeSupabaseAuth, clock: HandClock) -> TokenVerifier:
    return verifier_for(auth, clock)


def b64(data: bytes | dict[str, object]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        await verifier.member(token)
    return caught.value.detail


# -- accepted --------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["es256", "rs256"])
async def test_a_token_signed_with_a_published_key_names_the_member(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, key_name: str,
    request: pytest.FixtureRequest,
) -> None:
    key: SigningKey = request.getfixturevalue(key_name)

    member = await verifier.member(auth.sign(key, sub="7c1e2d3f-member"))

    assert member == "7c1e2d3f-member"


async def test_keys_are_fetched_once_and_kept(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, rs256: SigningKey,
    clock: HandClock,
) -> None:
    for _ in range(5):
        await verifier.member(auth.sign(es256))
        await verifier.member(auth.sign(rs256))
        clock.advance(60)

    assert auth.requests == 1


async def test_a_rotated_key_is_picked_up_with_one_refetch(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, clock: HandClock,
) -> None:
    await verifier.member(auth.sign(es256))
    rotated = generate_key("ES256")
    auth.publish(rotated, es256)  # Supabase publishes the new key, then signs with it
    clock.advance(REFETCH)

    member = await verifier.member(auth.sign(rotated, sub="member-after-rotation"))

    assert member == "member-after-rotation"
    assert auth.requests == 2


async def test_keys_older_than_the_cache_age_are_refreshed_and_a_revoked_key_stops_working(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, rs256: SigningKey,
    clock: HandClock,
) -> None:
    await verifier.member(auth.sign(rs256))
    auth.publish(es256)  # the RSA key is revoked
    clock.advance(601)

    detail = await refused(verifier, auth.sign(rs256))

    assert "does not publish" in detail
    assert auth.requests == 2


async def test_the_cached_keys_are_kept_while_supabase_cannot_be_reached(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, clock: HandClock,
) -> None:
    await verifier.member(auth.sign(es256))
    auth.failing = True
    clock.advance(601)

    member = await verifier.member(auth.sign(es256))

    assert member == "member-1"
    assert auth.requests == 2


async def test_cached_keys_stop_opening_the_api_after_an_hour_without_a_fetch(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, clock: HandClock,
) -> None:
    await verifier.member(auth.sign(es256))
    auth.failing = True
    clock.advance(600 + 3599)
    assert await verifier.member(auth.sign(es256)) == "member-1"  # still within the hour

    clock.advance(REFETCH)
    with pytest.raises(KeysUnavailable):
        await verifier.member(auth.sign(es256))

    auth.failing = False
    clock.advance(REFETCH)
    assert await verifier.member(auth.sign(es256)) == "member-1"  # back once it answers


# -- refused ---------------------------------------------------------------------------


async def test_an_unknown_kid_is_refused_after_exactly_one_refetch(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, clock: HandClock,
) -> None:
    await verifier.member(auth.sign(es256))
    clock.advance(REFETCH)
    stranger = generate_key("ES256")

    detail = await refused(verifier, auth.sign(stranger))

    assert "does not publish" in detail
    assert auth.requests == 2


async def test_a_stream_of_forged_kids_costs_supabase_one_request_per_interval(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, clock: HandClock,
) -> None:
    forged = [auth.sign(es256, headers={"kid": f"forged-{n}"}) for n in range(200)]

    results = await asyncio.gather(*(verifier.member(token) for token in forged),
                                   return_exceptions=True)
    after_burst = auth.requests
    clock.advance(REFETCH / 2)
    for token in forged[:50]:
        await refused(verifier, token)
    within_interval = auth.requests
    clock.advance(REFETCH / 2)
    await refused(verifier, forged[0])

    assert all(isinstance(result, Unauthorized) for result in results)
    assert after_burst == 1
    assert within_interval == 1
    assert auth.requests == 2


async def test_a_token_whose_header_names_another_algorithm_than_its_key_is_refused(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, rs256: SigningKey,
) -> None:
    # Signed with the RSA key, but claiming the EC key's kid.
    token = auth.sign(rs256, headers={"kid": es256.kid})

    detail = await refused(verifier, token)

    assert "ES256 key" in detail


async def test_an_hs256_token_made_with_the_public_key_as_secret_is_refused(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, rs256: SigningKey,
) -> None:
    # The classic key-confusion forgery: HMAC over the published public key.
    public_pem = rs256.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': rs256.kid})}." \
                    f"{b64(auth.claims())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    detail = await refused(verifier, f"{signing_input}.{b64(signature)}")

    assert "ES256 or RS256" in detail


async def test_an_unsigned_alg_none_token_is_refused(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey,
) -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': es256.kid})}.{b64(auth.claims())}."

    detail = await refused(verifier, token)

    assert "ES256 or RS256" in detail


async def test_a_token_with_a_tampered_payload_is_refused(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey,
) -> None:
    header, _, signature = auth.sign(es256).split(".")
    tampered = f"{header}.{b64(auth.claims(sub='someone-else'))}.{signature}"

    detail = await refused(verifier, tampered)

    assert "signature" in detail


async def test_an_expired_token_is_refused_beyond_the_clock_skew_allowance(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey,
) -> None:
    now = int(time.time())
    just_expired = auth.sign(es256, exp=now - 5)  # within the 30 s allowance
    long_expired = auth.sign(es256, exp=now - 300)

    assert await verifier.member(just_expired) == "member-1"
    assert "expired" in await refused(verifier, long_expired)


async def test_a_token_from_another_project_is_refused(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey,
) -> None:
    token = auth.sign(es256, iss="https://another-project.supabase.co/auth/v1")

    detail = await refused(verifier, token)

    assert "issuer" in detail and auth.issuer in detail


async def test_a_token_without_an_issuer_is_refused(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey,
) -> None:
    claims = auth.claims()
    del claims["iss"]
    token = jwt.encode(claims, es256.private, algorithm="ES256", headers={"kid": es256.kid})

    assert "'iss'" in await refused(verifier, token)


@pytest.mark.parametrize("audience", ["anon", "service_role", ["other"]])
async def test_a_token_for_another_audience_is_refused(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey, audience: object,
) -> None:
    detail = await refused(verifier, auth.sign(es256, aud=audience))

    assert "audience" in detail


async def test_a_token_without_a_kid_is_refused(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey,
) -> None:
    token = jwt.encode(auth.claims(), es256.private, algorithm="ES256")

    assert "'kid'" in await refused(verifier, token)


async def test_a_nul_byte_in_the_member_id_is_refused_with_signing_keys_too(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey,
) -> None:
    assert "printable" in await refused(verifier, auth.sign(es256, sub="member\x00"))


async def test_no_key_set_at_all_is_a_passing_unavailability_not_a_refusal(
    auth: FakeSupabaseAuth, verifier: TokenVerifier, es256: SigningKey,
) -> None:
    auth.failing = True

    with pytest.raises(KeysUnavailable):
        await verifier.member(auth.sign(es256))


# -- both schemes, and the key set's contents ---------------------------------------------


async def test_a_project_moving_to_signing_keys_accepts_legacy_and_new_tokens(
    auth: FakeSupabaseAuth, clock: HandClock, es256: SigningKey,
) -> None:
    verifier = verifier_for(auth, clock, secret=SECRET)
    legacy = jwt.encode(auth.claims(sub="legacy-member"), SECRET, algorithm="HS256")

    assert await verifier.member(legacy) == "legacy-member"
    assert await verifier.member(auth.sign(es256, sub="new-member")) == "new-member"
    assert auth.requests == 1  # the legacy token needed no key set


async def test_a_legacy_token_must_come_from_the_project_too(
    auth: FakeSupabaseAuth, clock: HandClock,
) -> None:
    verifier = verifier_for(auth, clock, secret=SECRET)
    token = jwt.encode(auth.claims(iss="https://elsewhere.example/auth/v1"), SECRET,
                       algorithm="HS256")

    assert "issuer" in await refused(verifier, token)


def test_only_signature_keys_of_the_supported_kinds_are_used(
    es256: SigningKey, rs256: SigningKey,
) -> None:
    document = {"keys": [
        es256.jwk(), rs256.jwk(),
        {"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0", "alg": "HS256"},
        {**es256.jwk(), "kid": "for-encryption", "use": "enc"},
        {**es256.jwk(), "kid": "mislabelled", "alg": "RS256"},
        {**rs256.jwk(), "kid": ""},
        {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AA", "y": "AA"},
        "not a key",
    ]}

    keys = parse_keys(document)

    assert set(keys) == {es256.kid, rs256.kid}


# -- over HTTP, configured from the settings ------------------------------------------------


def production_env(auth: FakeSupabaseAuth) -> dict[str, str]:
    return {"ENVIRONMENT": "production", "SUPABASE_URL": auth.url + "/",
            "SUPABASE_JWT_SECRET": ""}


async def test_a_production_api_with_only_supabase_url_accepts_signing_key_tokens(
    make_api: MakeApi, auth: FakeSupabaseAuth, es256: SigningKey,
) -> None:
    api = await make_api(**production_env(auth))

    accepted = await api.client.get("/api/v1/documents",
                                    headers={"Authorization": f"Bearer {auth.sign(es256)}"})
    legacy = jwt.encode(auth.claims(), SECRET, algorithm="HS256")
    refused_legacy = await api.client.get("/api/v1/documents",
                                          headers={"Authorization": f"Bearer {legacy}"})

    assert accepted.status_code == 200
    body = is_problem(refused_legacy, 401)
    assert "ES256 or RS256" in str(body["detail"])
    assert refused_legacy.headers["www-authenticate"].startswith("Bearer")


async def test_an_unreachable_key_set_is_a_503_with_retry_after(
    make_api: MakeApi, auth: FakeSupabaseAuth, es256: SigningKey,
) -> None:
    auth.failing = True
    api = await make_api(**production_env(auth))

    response = await api.client.get("/api/v1/documents",
                                    headers={"Authorization": f"Bearer {auth.sign(es256)}"})

    is_problem(response, 503)
    assert response.headers["retry-after"]


async def test_the_verifier_in_the_container_can_be_swapped_for_one_with_a_hand_clock(
    make_api: MakeApi, auth: FakeSupabaseAuth, es256: SigningKey, clock: HandClock,
) -> None:
    def hand_clocked(container: Container) -> None:
        container.token_verifier.override(providers.Object(verifier_for(auth, clock)))

    api = await make_api(override=hand_clocked, **production_env(auth))
    forged = auth.sign(es256, headers={"kid": "forged"})

    statuses = [(await api.client.get("/api/v1/documents",
                                      headers={"Authorization": f"Bearer {forged}"})).status_code
                for _ in range(20)]

    assert statuses == [401] * 20
    assert auth.requests == 1


def test_production_needs_a_way_to_check_tokens(tmp_path: Path) -> None:
    from entrypoints.settings import SettingsError

    settings = load_settings({"ENVIRONMENT": "production", "NAVIGATOR_HOME": str(tmp_path)})

    with pytest.raises(SettingsError, match="SUPABASE_JWT_SECRET"):
        make_token_verifier(settings)


async def test_a_dev_token_carries_the_projects_issuer_and_is_accepted_in_development(
    tmp_path: Path, auth: FakeSupabaseAuth,
) -> None:
    settings = load_settings({"SUPABASE_URL": auth.url, "NAVIGATOR_HOME": str(tmp_path)})
    verifier = make_token_verifier(settings)

    member = await verifier.member(mint_dev_token(settings, "dev-member"))

    assert member == "dev-member"
    assert auth.requests == 0  # HS256 dev tokens need no key set
    assert [s.split(" ")[0] for s in token_schemes(settings)] == ["signing", "HS256"]


def test_supabase_url_must_be_a_bare_project_url(tmp_path: Path) -> None:
    from entrypoints.settings import SettingsError

    with pytest.raises(SettingsError, match="SUPABASE_URL"):
        load_settings({"SUPABASE_URL": "https://abcd.supabase.co/auth/v1",
                       "NAVIGATOR_HOME": str(tmp_path)})

