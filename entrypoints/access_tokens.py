"""Checking a member's access token (a Supabase JWT) and naming the member it is for.

Two signing schemes, as Supabase projects use them (see :func:`make_token_verifier`):

- **signing keys** (current projects): ES256 or RS256, verified with the public key
  the token's ``kid`` names in the project's JWKS
  (``SUPABASE_URL/auth/v1/.well-known/jwks.json``; see :mod:`adapters.auth.jwks`);
- **legacy secret**: HS256 with ``SUPABASE_JWT_SECRET`` (or, in development, the
  local dev secret that ``navigator token`` signs with).

Whatever the scheme, the token's header must name an algorithm the project uses
(``alg: none``, HS512, PS256... are refused, and a key is only used with its own
algorithm), and the token must be meant for the audience ``authenticated``, be
unexpired (30 s of clock skew allowed), come from ``SUPABASE_URL/auth/v1`` when
``SUPABASE_URL`` is set, and name the member in ``sub``: printable text of at most
:data:`MAX_MEMBER_ID_CHARS` characters. Anything else is :class:`Unauthorized` (the
API answers 401 with ``WWW-Authenticate: Bearer``); keys that cannot be fetched at
all are a 503. The token itself is never logged.

**Verified tokens are cached**
(:class:`~adapters.auth.verified_tokens.VerifiedTokenCache`,
``AUTH_TOKEN_CACHE_SECONDS`` and ``AUTH_TOKEN_CACHE_SIZE``): an accepted token's member
is kept under a keyed hash of the token until ``min(exp, verified +
AUTH_TOKEN_CACHE_SECONDS)``, so a member's next requests skip the signature check.
Nothing a token is checked for changes while it is cached: its header, signature,
audience and issuer are fixed by its bytes, it is not kept past its expiry, and a token
signed with a published key is only taken from the cache while the key set (refreshed by
its own rules) still holds the very key it was verified with, so a revoked key stops
opening the API when it did without the cache. Refused tokens are never cached.

Outside the API package: the composition root builds the verifier, and the API's
``current_member`` dependency (:mod:`entrypoints.api.auth`) uses it.
"""

from __future__ import annotations

from typing import Any

import attrs
import jwt
from jwt.exceptions import InvalidSubjectError
from pydantic import SecretStr

from adapters.auth.jwks import ASYMMETRIC_ALGORITHMS, JwksKeySet, jwks_url
from adapters.auth.verified_tokens import VerifiedToken, VerifiedTokenCache
from entrypoints.settings import Settings
from entrypoints.tokens import ALGORITHM, AUDIENCE, jwt_secret, token_issuer

LEEWAY_SECONDS = 30  # clock skew allowed between the issuer and this service
#: The longest member id (``sub``) accepted; Supabase's are 36-character UUIDs.
MAX_MEMBER_ID_CHARS = 255
_MAX_KID_CHARS = 255


class Unauthorized(Exception):
    """No usable bearer token; the message says what was wrong with it."""

    def __init__(self, detail: str, *, error: str | None = "invalid_token") -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = error


@attrs.frozen
class TokenVerifier:
    """Checks access tokens; ``secret`` for HS256, ``keys`` for ES256/RS256 (either may be
    None, not both); ``issuer`` is checked when set; ``cache`` keeps accepted tokens
    (None: every token is verified every time)."""

    secret: SecretStr | None = None
    keys: JwksKeySet | None = None
    issuer: str | None = None
    leeway: float = LEEWAY_SECONDS
    cache: VerifiedTokenCache | None = None

    @property
    def algorithms(self) -> tuple[str, ...]:
        return ((ALGORITHM,) if self.secret is not None else ()) + \
            (ASYMMETRIC_ALGORITHMS if self.keys is not None else ())

    async def member(self, token: str) -> str:
        """The member id (``sub``) of a valid token; :class:`Unauthorized` says why not."""
        if self.cache is not None:
            cached = self.cache.get(token)
            if cached is not None:
                if await self._still_published(cached):
                    return cached.member
                self.cache.discard(token)  # verified again below, and refused
        return await self._verify(token)

    async def _still_published(self, cached: VerifiedToken) -> bool:
        """Whether the key a cached token was verified with still verifies it: the HS256
        secret always does; a published key while the key set (refreshed and rate-limited
        as for any token) still holds that very key."""
        if cached.kid is None:
            return True
        assert self.keys is not None
        published = await self.keys.key(cached.kid)  # a refresh makes new key objects
        return published is not None and published.key is cached.key

    async def _verify(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _malformed() from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise Unauthorized(f"the access token must be signed with "
                               f"{' or '.join(self.algorithms)}")
        key = await self._key_for(algorithm, header)
        required = ["exp", "sub", "aud"] + (["iss"] if self.issuer else [])
        try:
            claims = jwt.decode(
                token, key, algorithms=[algorithm], audience=AUDIENCE, issuer=self.issuer,
                leeway=self.leeway, options={"require": required},
            )
        except jwt.InvalidTokenError as exc:
            raise _refusal(exc, self.issuer) from None
        member = _member_of(claims)
        if self.cache is not None:
            kid = None if algorithm == ALGORITHM else header["kid"]
            self.cache.put(token, member, exp=float(claims["exp"]),
                           key=None if kid is None else key, kid=kid)
        return member

    async def _key_for(self, algorithm: str, header: dict[str, Any]) -> Any:
        if algorithm == ALGORITHM:
            assert self.secret is not None
            return self.secret.get_secret_value()
        assert self.keys is not None
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_CHARS:
            raise Unauthorized("the access token does not name its signing key ('kid')")
        key = await self.keys.key(kid)
        if key is None:
            raise Unauthorized("the access token was signed with a key this project does not "
                               "publish; sign in again")
        if key.algorithm_name != algorithm:
            raise Unauthorized(f"the access token's key is a {key.algorithm_name} key, but the "
                               f"token says {algorithm}")
        return key.key


def _malformed() -> Unauthorized:
    return Unauthorized("the access token is malformed; send a JWT as "
                        "'Authorization: Bearer <token>'")


def _refusal(exc: jwt.InvalidTokenError, issuer: str | None) -> Unauthorized:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return Unauthorized("the access token has expired; sign in again to get a new one")
    if isinstance(exc, jwt.InvalidAudienceError):
        return Unauthorized(f"the access token is not meant for this service (audience must "
                            f"be {AUDIENCE!r})")
    if isinstance(exc, jwt.InvalidIssuerError):
        return Unauthorized(f"the access token was not issued by this project (issuer must "
                            f"be {issuer!r})")
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return Unauthorized("the access token's signing algorithm is not accepted")
    if isinstance(exc, jwt.InvalidSignatureError):
        return Unauthorized("the access token's signature is not valid")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return Unauthorized(f"the access token has no {exc.claim!r} claim")
    if isinstance(exc, jwt.ImmatureSignatureError):
        return Unauthorized("the access token is not valid yet")
    if isinstance(exc, InvalidSubjectError):
        return _bad_member()
    return _malformed()


def _bad_member() -> Unauthorized:
    return Unauthorized(f"the access token's 'sub' must name a member in printable text of "
                        f"at most {MAX_MEMBER_ID_CHARS} characters")


def _member_of(claims: dict[str, Any]) -> str:
    member = claims.get("sub")
    if not isinstance(member, str) or not member.strip():
        raise Unauthorized("the access token does not name a member ('sub' is empty)")
    if len(member) > MAX_MEMBER_ID_CHARS or not member.isprintable():
        raise _bad_member()
    return member


def make_token_verifier(settings: Settings) -> TokenVerifier:
    """The verifier for these settings.

    - ``SUPABASE_URL`` set: ES256/RS256 tokens are checked against the project's JWKS,
      and every token's issuer must be ``SUPABASE_URL/auth/v1``;
    - ``SUPABASE_JWT_SECRET`` set (or a development environment, with its dev secret):
      HS256 tokens are checked with it. A project that moved to signing keys keeps
      its legacy secret set while tokens signed with it may still be in use.

    Outside development, one of the two must be set (:class:`SettingsError` otherwise).
    Accepted tokens are cached for ``AUTH_TOKEN_CACHE_SECONDS`` at most (0: not cached).
    """
    keys = None
    if settings.supabase_url:
        keys = JwksKeySet(jwks_url(settings.supabase_url),
                          max_age=settings.auth_jwks_cache_seconds,
                          min_interval=settings.auth_jwks_refetch_seconds)
    secret = None
    if keys is None or settings.supabase_jwt_secret is not None or settings.is_development:
        secret = jwt_secret(settings)  # raises when a production secret is required
    cache = None
    if settings.auth_token_cache_seconds > 0:
        cache = VerifiedTokenCache(max_entries=settings.auth_token_cache_size,
                                   ttl=settings.auth_token_cache_seconds)
    return TokenVerifier(secret=secret, keys=keys, issuer=token_issuer(settings), cache=cache)
