"""Who may call the API: Supabase-style HS256 bearer tokens, and nothing else."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import httpx
import jwt
import pytest
from pydantic import SecretStr

from entrypoints.access_tokens import MAX_MEMBER_ID_CHARS, TokenVerifier
from entrypoints.api.problems import Unauthorized
from entrypoints.tokens import mint_token
from tests.api.conftest import MEMBER, SECRET, Api, bearer
from tests.api.test_documents import is_problem

PROTECTED = [
    ("GET", "/api/v1/documents"),
    ("POST", "/api/v1/documents"),
    ("GET", "/api/v1/documents/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10"),
    ("DELETE", "/api/v1/documents/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10"),
    ("GET", "/api/v1/jobs/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10"),
    ("POST", "/api/v1/jobs/0b6f1c52-8d4e-4d1b-9a55-2f0c3e7a9b10/retry"),
    ("POST", "/api/v1/search"),
]


def b64(part: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": MEMBER, "aud": "authenticated", "role": "authenticated", "iat": now,
            "exp": now + 3600, **changes}


def signed(**changes: object) -> str:
    return jwt.encode(claims(**changes), SECRET, algorithm="HS256")


def unauthorized(response: httpx.Response) -> str:
    body = is_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    return str(body["detail"])


async def get_documents(api: Api, headers: dict[str, str]) -> httpx.Response:
    return await api.client.get("/api/v1/documents", headers=headers)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_member_route_needs_a_token(api: Api, method: str, path: str) -> None:
    detail = unauthorized(await api.client.request(method, path))

    assert "Authorization: Bearer" in detail


async def test_a_valid_token_names_the_member(api: Api) -> None:
    response = await get_documents(api, bearer())

    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_a_token_as_supabase_issues_it_is_accepted(api: Api) -> None:
    token = signed(email="member-1@example.org", session_id="s1", aal="aal1",
                   iss="https://project.supabase.co/auth/v1")

    response = await get_documents(api, {"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


async def test_another_scheme_than_bearer_is_refused(api: Api) -> None:
    detail = unauthorized(await get_documents(api, {"Authorization": "Basic dXNlcjpwdw=="}))

    assert "Bearer" in detail


async def test_a_malformed_token_is_refused(api: Api) -> None:
    detail = unauthorized(await get_documents(api, {"Authorization": "Bearer not-a-jwt"}))

    assert "malformed" in detail


async def test_an_expired_token_is_refused(api: Api) -> None:
    token = mint_token(SECRET, MEMBER, ttl=timedelta(minutes=5), now=time.time() - 3600)

    detail = unauthorized(await get_documents(api, {"Authorization": f"Bearer {token}"}))

    assert "expired" in detail


async def test_a_token_signed_with_another_secret_is_refused(api: Api) -> None:
    forged = bearer(secret="a-different-secret-of-the-same-kind-" + "0123456789abcdef" * 3)

    detail = unauthorized(await get_documents(api, forged))

    assert "signature" in detail


async def test_an_unsigned_alg_none_token_is_refused(api: Api) -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."

    detail = unauthorized(await get_documents(api, {"Authorization": f"Bearer {token}"}))

    assert "HS256" in detail


async def test_a_token_for_another_audience_is_refused(api: Api) -> None:
    token = signed(aud="service_role")

    detail = unauthorized(await get_documents(api, {"Authorization": f"Bearer {token}"}))

    assert "audience" in detail


async def test_a_token_without_a_member_is_refused(api: Api) -> None:
    no_sub = claims()
    del no_sub["sub"]
    token = jwt.encode(no_sub, SECRET, algorithm="HS256")

    detail = unauthorized(await get_documents(api, {"Authorization": f"Bearer {token}"}))

    assert "'sub'" in detail


async def test_a_token_without_an_expiry_is_refused(api: Api) -> None:
    no_exp = claims()
    del no_exp["exp"]
    token = jwt.encode(no_exp, SECRET, algorithm="HS256")

    unauthorized(await get_documents(api, {"Authorization": f"Bearer {token}"}))


async def test_a_token_signed_with_another_hmac_algorithm_is_refused() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS512")

    with pytest.raises(Unauthorized, match="HS256"):
        await TokenVerifier(secret=SecretStr(SECRET)).member(token)


async def test_a_member_id_with_a_nul_byte_is_refused_not_a_server_error(api: Api) -> None:
    token = signed(sub="member-1\x00; DROP")

    detail = unauthorized(await get_documents(api, {"Authorization": f"Bearer {token}"}))

    assert "'sub'" in detail and "printable" in detail


@pytest.mark.parametrize("sub", ["line\nbreak", "tab\there", "\u202eright-to-left", "\ud800",
                                 "x" * (MAX_MEMBER_ID_CHARS + 1)],
                         ids=["newline", "tab", "bidi-override", "lone-surrogate", "too-long"])
async def test_a_member_id_that_is_not_short_printable_text_is_refused(
    api: Api, sub: str
) -> None:
    token = signed(sub=sub)

    unauthorized(await get_documents(api, {"Authorization": f"Bearer {token}"}))


async def test_a_member_id_that_is_not_text_is_refused(api: Api) -> None:
    token = signed(sub=12345)

    detail = unauthorized(await get_documents(api, {"Authorization": f"Bearer {token}"}))

    assert "'sub'" in detail


async def test_the_longest_printable_member_id_is_accepted(api: Api) -> None:
    token = signed(sub="é" * MAX_MEMBER_ID_CHARS)

    response = await get_documents(api, {"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/health", "/metrics", "/docs", "/openapi.json"])
async def test_operations_routes_need_no_token(api: Api, path: str) -> None:
    response = await api.client.get(path)

    assert response.status_code == 200
