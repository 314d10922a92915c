"""The member's page at ``/``: served from the package's files, with a policy that lets
only this origin's scripts run, its settings in ``<meta>`` tags and never a secret.

What the page does in a browser is tested in a real one (tests/browser/)."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from entrypoints.api.page import STATIC_DIR
from entrypoints.settings import SettingsError, load_settings
from tests.api.conftest import SECRET, Api, MakeApi

SUPABASE = {"SUPABASE_URL": "https://abcdefghijklmnop.supabase.co",
            "SUPABASE_ANON_KEY": "sb_publishable_Zm9vYmFyYmF6cXV4LXB1YmxpYw"}
OPERATOR = "operator-secret-of-the-page-suite-" + "ab" * 8


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script> and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._inside = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside and data.strip():
            self.inline.append(data)


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";"))}


async def test_the_page_is_served_at_the_root_with_a_policy_allowing_only_its_own_scripts(
    api: Api,
) -> None:
    response = await api.client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == policy["frame-src"] == policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in value or value == "*" for values in policy.values()
                   for value in values)
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_page_has_no_inline_script_style_or_event_handler(api: Api) -> None:
    tags = parse((await api.client.get("/")).text)

    scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
    assert scripts and all((attrs.get("src") or "").startswith("/static/") for attrs in scripts)
    assert tags.inline == []
    handlers = [(tag, name) for tag, attrs in tags.tags for name in attrs
                if name.startswith("on") or name == "style"]
    assert handlers == []


async def test_every_file_the_page_refers_to_is_served_with_its_type(api: Api) -> None:
    tags = parse((await api.client.get("/")).text)
    referred = {attrs.get("src") or attrs.get("href") for tag, attrs in tags.tags
                if tag in ("script", "link")}
    modules = {f"/static/{name}" for path in STATIC_DIR.glob("*.js")
               for name in re.findall(r'from "\./([\w.-]+)"', path.read_text())}

    for path in sorted(p for p in referred | modules if p):
        response = await api.client.get(path)
        assert response.status_code == 200, path
        expected = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
        assert response.headers["content-type"].startswith(expected[path.rsplit(".", 1)[1]])
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_file_not_among_the_pages_is_not_found(api: Api) -> None:
    for path in ("/static/nothing.js", "/static/..%2Fpage.py", "/static/index.html"):
        response = await api.client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


async def test_an_unchanged_file_is_not_sent_again(api: Api) -> None:
    first = await api.client.get("/static/app.js")

    again = await api.client.get("/static/app.js", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.content == b""


async def test_without_supabase_sign_in_the_page_names_no_project(api: Api) -> None:
    tags = parse((await api.client.get("/")).text)

    meta = {attrs["name"]: attrs["content"] for tag, attrs in tags.tags
            if tag == "meta" and attrs.get("name", "").startswith("navigator:")}
    assert meta == {"navigator:supabase-url": "", "navigator:supabase-anon-key": "",
                    "navigator:upload-max-bytes": str(api.settings.upload_max_bytes)}


async def test_with_supabase_sign_in_the_page_may_call_the_project_and_knows_its_public_key(
    make_api: MakeApi,
) -> None:
    api = await make_api(**SUPABASE)

    response = await api.client.get("/")

    assert directives(response.headers["content-security-policy"])["connect-src"] == [
        "'self'", SUPABASE["SUPABASE_URL"]]
    meta = {attrs["name"]: attrs["content"] for tag, attrs in parse(response.text).tags
            if tag == "meta" and attrs.get("name", "").startswith("navigator:supabase")}
    assert meta == {"navigator:supabase-url": SUPABASE["SUPABASE_URL"],
                    "navigator:supabase-anon-key": SUPABASE["SUPABASE_ANON_KEY"]}


async def test_no_secret_is_ever_in_the_page_or_its_files(make_api: MakeApi) -> None:
    api = await make_api(**SUPABASE, OPERATOR_TOKEN=OPERATOR)
    served = [(await api.client.get("/")).text]
    served += [(await api.client.get(f"/static/{p.name}")).text
               for p in STATIC_DIR.iterdir() if p.name != "index.html"]

    for text in served:
        assert SECRET not in text
        assert OPERATOR not in text


async def test_the_page_is_not_part_of_the_api_document(api: Api) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]

    assert "/" not in paths
    assert not any(path.startswith("/static") for path in paths)


def _jwt(payload: str) -> str:
    """A key shaped like Supabase's legacy API keys (a JWT; the signature is not read)."""

    def part(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    return ".".join([part('{"alg":"HS256","typ":"JWT"}'), part(payload), "c2lnbmF0dXJl"])


@pytest.mark.parametrize("key", [
    _jwt('{"iss":"supabase","ref":"abcdefghijklmnop","role":"service_role"}'),
    "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz",
])
def test_a_secret_key_given_as_the_anon_key_stops_start_up(key: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SUPABASE_ANON_KEY") as raised:
        load_settings({**SUPABASE, "SUPABASE_ANON_KEY": key, "NAVIGATOR_HOME": str(tmp_path)})

    assert key not in str(raised.value)
    assert "service role" in str(raised.value)


def test_the_legacy_anon_key_is_accepted(tmp_path: Path) -> None:
    key = _jwt('{"iss":"supabase","ref":"abcdefghijklmnop","role":"anon"}')

    settings = load_settings({**SUPABASE, "SUPABASE_ANON_KEY": key,
                              "NAVIGATOR_HOME": str(tmp_path)})

    assert settings.supabase_anon_key == key


def test_the_anon_key_needs_the_projects_url(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SUPABASE_ANON_KEY needs SUPABASE_URL"):
        load_settings({"SUPABASE_ANON_KEY": SUPABASE["SUPABASE_ANON_KEY"],
                       "NAVIGATOR_HOME": str(tmp_path)})
