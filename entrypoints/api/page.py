"""The member's page: ``/`` and its files under ``/static/``, plain HTML, CSS and JavaScript.

The files live in ``entrypoints/api/static/`` and ship inside the package (package
data); they are read once, when the app is built, and served from memory. No build
toolchain: what is checked in is what the browser runs.

``/`` is ``index.html`` with the page's settings in ``<meta>`` tags (the Supabase
project's URL and public anon key, the upload size limit), HTML-escaped: the page
has no inline script at all, so its Content-Security-Policy allows scripts from this
origin only, and it may talk to this origin and, when sign-in goes through Supabase,
to ``SUPABASE_URL``. Locally, the development token comes in the URL's fragment
(``/#token=...``), which the browser never sends to the server, so it never reaches a
log; the page moves it to the tab's session storage and takes it off the address bar.

None of these routes are in the OpenAPI document: they are the page, not the API.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
from pathlib import Path

import attrs
from fastapi import APIRouter, FastAPI, Request, Response

from entrypoints.api.problems import problem
from entrypoints.settings import Settings

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PATH = "/static"
INDEX = "index.html"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
          ".html": "text/html; charset=utf-8"}


@attrs.frozen
class Asset:
    body: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, name: str) -> Asset:
        suffix = Path(name).suffix
        media_type = (_TYPES.get(suffix) or mimetypes.guess_type(name)[0]
                      or "application/octet-stream")
        return cls(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def content_security_policy(settings: Settings) -> str:
    """Scripts, styles, images and requests from this origin only, plus Supabase Auth when
    it signs members in; no inline script or style, no plugins, no frames, never framed.
    (A cited document opens in a tab of its own, as a ``blob:`` URL the page made, in the
    browser's PDF viewer: that needs nothing more.)"""
    connect = "'self'" + (f" {settings.supabase_url}" if _supabase_sign_in(settings) else "")
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src {connect}",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "manifest-src 'self'",
    ])


def render_index(template: str, settings: Settings) -> str:
    """``index.html`` with its ``{{NAME}}`` placeholders filled, each value HTML-escaped."""
    signs_in = _supabase_sign_in(settings)
    values = {
        "SUPABASE_URL": settings.supabase_url if signs_in else "",
        "SUPABASE_ANON_KEY": settings.supabase_anon_key if signs_in else "",
        "UPLOAD_MAX_BYTES": str(settings.upload_max_bytes),
    }
    page = template
    for name, value in values.items():
        page = page.replace("{{" + name + "}}", html.escape(value or "", quote=True))
    return page


def _supabase_sign_in(settings: Settings) -> bool:
    return bool(settings.supabase_url and settings.supabase_anon_key)


def load_assets(directory: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every file of the static folder but ``index.html`` (served at ``/``), by name."""
    return {path.name: Asset.of(path.read_bytes(), path.name)
            for path in sorted(directory.iterdir())
            if path.is_file() and path.name != INDEX and not path.name.startswith(".")}


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the page at ``/`` and its files under ``/static/`` (kept out of OpenAPI)."""
    index = Asset.of(render_index((STATIC_DIR / INDEX).read_text(encoding="utf-8"),
                                  settings).encode(), INDEX)
    assets = load_assets()
    policy = content_security_policy(settings)
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def member_page(request: Request) -> Response:
        response = _serve(index, request)
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @router.get(STATIC_PATH + "/{name}")
    async def page_asset(name: str, request: Request) -> Response:
        asset = assets.get(name)
        if asset is None:
            return problem(404, "the member's page has no such file", instance=request.url.path)
        return _serve(asset, request)

    app.include_router(router)


def _serve(asset: Asset, request: Request) -> Response:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",  # revalidated each time: a new release shows at once
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
