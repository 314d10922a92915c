"""Deployed, the page signs members in with the Supabase project named by SUPABASE_URL and
its public anon key, keeps the session where supabase-js keeps it, refreshes the access
token before it ends, and signs out at Supabase too (against a fake Supabase Auth on
127.0.0.1 that issues ES256 tokens the API checks with the project's signing keys)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import Screenshots, Up, running_up
from tests.browser.gotrue import ANON_KEY, FakeGoTrue
from tests.browser.test_member_page import alert_text, css, shown, unlabelled_controls, wait

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EMAIL = "maria@example.org"
PASSWORD = "correct horse battery staple"
#: Shorter than the page's refresh margin (60 s): it refreshes before its first call.
LIFETIME = 45
#: What supabase-js names its storage for a project at http://127.0.0.1:port.
STORAGE_KEY = "sb-127-auth-token"


@pytest.fixture
def gotrue() -> Iterator[FakeGoTrue]:
    with FakeGoTrue(EMAIL, PASSWORD, lifetime=LIFETIME) as auth:
        yield auth


@pytest.fixture
def deployed(postgres_dsn: str, gotrue: FakeGoTrue,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    with running_up(postgres_dsn, tmp_path_factory.mktemp("browser-supabase"),
                    SUPABASE_URL=gotrue.url, SUPABASE_ANON_KEY=ANON_KEY) as up:
        yield up


def stored_session(driver: WebDriver) -> dict[str, object] | None:
    raw = driver.execute_script(f"return localStorage.getItem('{STORAGE_KEY}')")
    return json.loads(raw) if raw else None


def test_a_member_signs_in_with_supabase_and_out_again(
    browser: WebDriver, deployed: Up, gotrue: FakeGoTrue, screenshots: Screenshots,
) -> None:
    driver = browser
    driver.get(deployed.url + "/")
    shown(driver, "#sign-in-supabase")
    assert not css(driver, "#sign-in-local").is_displayed()
    assert not css(driver, "#sign-out").is_displayed()
    assert unlabelled_controls(driver) == []
    screenshots.take(driver, "0-sign-in")

    css(driver, "#email").send_keys(EMAIL)
    css(driver, "#password").send_keys("not the password")
    css(driver, "#password-form button[type=submit]").click()
    wait(driver, 30).until(alert_text, "the refusal to be shown")
    assert "Invalid login credentials" in alert_text(driver)
    assert stored_session(driver) is None

    css(driver, "#password").clear()
    css(driver, "#password").send_keys(PASSWORD)
    css(driver, "#password-form button[type=submit]").click()
    wait(driver).until(lambda d: css(d, "body").get_attribute("data-ready") == "true",
                       "the page to list the member's documents")
    assert alert_text(driver) == ""
    assert css(driver, "#who-name").text == f"Signed in as {EMAIL}"
    shown(driver, "#no-documents")
    session = stored_session(driver)
    assert session is not None and session["refresh_token"] in gotrue.refresh_tokens
    # the refused try, the good one, then a refresh before the first call to the API
    assert gotrue.calls[:3] == ["password", "password", "refresh_token"]

    css(driver, "#sign-out").click()
    shown(driver, "#sign-in-supabase")
    assert gotrue.signed_out == 1
    assert stored_session(driver) is None
