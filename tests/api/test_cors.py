"""Browsers may call the API only from the origins in CORS_ORIGINS."""

from __future__ import annotations

import httpx

from tests.api.conftest import ORIGIN, Api, MakeApi, bearer


async def preflight(api: Api, origin: str) -> httpx.Response:
    return await api.client.options("/api/v1/documents", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })


async def test_a_configured_origin_may_call_the_api(api: Api) -> None:
    allowed = await preflight(api, ORIGIN)
    response = await api.client.get("/api/v1/documents",
                                    headers={**bearer(), "Origin": ORIGIN})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_any_other_origin_is_not_allowed(api: Api) -> None:
    denied = await preflight(api, "https://evil.example.org")
    response = await api.client.get("/api/v1/documents",
                                    headers={**bearer(), "Origin": "https://evil.example.org"})

    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers
    assert "access-control-allow-origin" not in response.headers


async def test_without_cors_origins_no_origin_is_allowed(make_api: MakeApi) -> None:
    api = await make_api(CORS_ORIGINS="")

    response = await api.client.get("/api/v1/documents",
                                    headers={**bearer(), "Origin": ORIGIN})

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_an_allowed_origin_may_ask_for_a_range_and_read_the_files_headers(
    api: Api,
) -> None:
    upload = await api.upload("benefits.md", b"# Benefits\n\nDeductible: $500.\n")
    url = f"/api/v1/documents/{upload.json()['document']['id']}/file"

    allowed = await api.client.options(url, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization, range, last-event-id",
    })
    response = await api.client.get(url, headers={**bearer(), "Origin": ORIGIN,
                                                   "Range": "bytes=0-9"})

    assert allowed.status_code == 200
    exposed = response.headers["access-control-expose-headers"].lower()
    assert {"content-range", "content-disposition", "etag"} <= {
        h.strip() for h in exposed.split(",")}
