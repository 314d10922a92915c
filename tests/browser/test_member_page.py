"""A member's first visit, in a real browser: ``navigator up`` prints a link, the member
opens it, uploads the sample summary of benefits (and a file the service refuses), sees
it processed, asks a question, reads the streamed answer with its citation, opens the
cited document at its page, deletes the document and signs out.

Every wait is a bounded poll of what the page shows; nothing sleeps for a set time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from entrypoints.cli.main import DEV_MEMBER as MEMBER
from tests.browser.conftest import Screenshots, Up
from tests.corpus import REPO_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SAMPLE = REPO_DIR / "examples" / "sample_summary_of_benefits.pdf"
QUESTION = "How much is a specialist visit?"
#: The first bytes of a PNG: a type the service does not take.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TIMEOUT = 90


def wait(driver: WebDriver, timeout: float = TIMEOUT) -> WebDriverWait[WebDriver]:
    """Polls every 0.2 s; an element replaced by a reload meanwhile is looked up again."""
    return WebDriverWait(driver, timeout, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,
                                             NoSuchElementException))


def css(driver: WebDriver | WebElement, selector: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, selector)


def shown(driver: WebDriver, selector: str, timeout: float = TIMEOUT) -> WebElement:
    element: WebElement = wait(driver, timeout).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, selector)),
        f"nothing visible matches {selector}")
    return element


def alert_text(driver: WebDriver) -> str:
    element = css(driver, "#alert")
    return element.text if element.is_displayed() else ""


def policy_violations(driver: WebDriver) -> list[str]:
    """What the browser's console said about the Content-Security-Policy."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[attr-defined]
    return [e["message"] for e in entries if "Content Security Policy" in e["message"]]


def unlabelled_controls(driver: WebDriver) -> list[str]:
    script = """return [...document.querySelectorAll('input, textarea, select, button')]
        .filter(e => e.offsetParent !== null)
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !(e.textContent || '').trim())
        .map(e => e.outerHTML.slice(0, 80));"""
    found: list[str] = driver.execute_script(script)
    return found


def test_a_member_uploads_asks_opens_the_citation_and_deletes_in_the_browser(
    browser: WebDriver, navigator_up: Up, screenshots: Screenshots, tmp_path: Path,
) -> None:
    driver = browser
    # 1. the link `navigator up` printed signs the member in; the token leaves the address bar
    driver.get(navigator_up.page_link)
    wait(driver).until(lambda d: css(d, "body").get_attribute("data-ready") == "true",
                       "the page to load the member's documents")
    assert "#token=" not in driver.current_url
    assert css(driver, "#who-name").text == f"Signed in as {MEMBER}"
    shown(driver, "#no-documents")
    assert unlabelled_controls(driver) == []
    screenshots.take(driver, "1-signed-in")

    # 2. two files at once: the sample PDF, and a picture the service refuses, with its reason
    picture = tmp_path / "insurance-card.png"
    picture.write_bytes(PNG)
    css(driver, "#files").send_keys(f"{SAMPLE}\n{picture}")
    css(driver, "#upload-form button[type=submit]").click()
    screenshots.take(driver, "2-uploading")
    refused = shown(driver, 'li[data-file="insurance-card.png"][data-status="failed"]')
    assert "PNG" in refused.text, refused.text
    try:
        done = shown(driver, f'li[data-file="{SAMPLE.name}"][data-status="complete"]')
    except TimeoutException:
        raise AssertionError("the sample was not shown complete; navigator up said:\n"
                             + navigator_up.printed()[-3000:]) from None
    assert "Ready" in done.text
    row = shown(driver, "#document-rows tr")
    wait(driver).until(lambda d: css(row, "td.job").get_attribute("data-status") == "complete",
                       "the document's row to say it is complete")
    assert SAMPLE.name in row.text
    screenshots.take(driver, "3-uploaded", top="#upload-title")

    # 3. ask, with the keyboard only; the answer streams in and cites page 1
    question = css(driver, "#question")
    question.click()
    question.send_keys(QUESTION)
    question.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "ask"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: css(d, "#answer").get_attribute("data-done") == "true"
                       or alert_text(d), "the answer to finish")
    assert alert_text(driver) == ""
    answer = css(driver, "#answer").text
    assert "$60" in answer and "[1]" in answer, answer
    citation = shown(driver, "#citations button.citation")
    assert citation.text == f"[1] {SAMPLE.name}, page 1"
    screenshots.take(driver, "4-answer", top="#documents-title")

    # 4. the citation opens the document itself, at its page, in a new tab
    page_tab = driver.current_window_handle
    citation.click()
    wait(driver, 30).until(lambda d: len(d.window_handles) == 2 or alert_text(d),
                           "the cited document to open in a new tab")
    assert alert_text(driver) == "", alert_text(driver)
    [document_tab] = [h for h in driver.window_handles if h != page_tab]
    driver.switch_to.window(document_tab)
    wait(driver, 30).until(lambda d: d.current_url.startswith("blob:"),
                           "the new tab to show the fetched document")
    assert driver.current_url.endswith("#page=1"), driver.current_url
    screenshots.take(driver, "5-citation", painted=True)
    driver.close()
    driver.switch_to.window(page_tab)

    # 5. delete it: gone from the page and from the service
    css(driver, f'button[aria-label="Delete {SAMPLE.name}"]').click()
    wait(driver, 10).until(expected_conditions.alert_is_present(), "the confirmation")
    driver.switch_to.alert.accept()
    shown(driver, "#no-documents")
    token = navigator_up.page_link.split("#token=", 1)[1]
    listed = httpx.get(f"{navigator_up.url}/api/v1/documents",
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert listed.json()["items"] == []

    # 6. sign out: the page asks for a sign-in, and the token is gone from the tab
    css(driver, "#sign-out").click()
    sign_in = shown(driver, "#sign-in-local")
    assert "navigator up" in sign_in.text
    driver.refresh()
    shown(driver, "#sign-in")
    screenshots.take(driver, "6-signed-out")
    assert policy_violations(driver) == []


def test_the_page_refuses_to_run_a_script_from_anywhere_else(
    browser: WebDriver, navigator_up: Up,
) -> None:
    """The policy the page is served with is enforced: a script injected into the page
    (as an attacker's markup would be) does not run, inline or from another origin."""
    driver = browser
    driver.get(navigator_up.url + "/")
    shown(driver, "#sign-in")
    driver.execute_script("""
        window.ran = [];
        const inline = document.createElement('script');
        inline.textContent = 'window.ran.push("inline")';
        document.body.append(inline);
        const img = document.createElement('img');
        img.setAttribute('src', 'x'); img.setAttribute('onerror', 'window.ran.push("handler")');
        document.body.append(img);
    """)
    wait(driver, 10).until(lambda d: len(policy_violations(d)) >= 2,
                           "the browser to report the blocked scripts")
    assert driver.execute_script("return window.ran") == []


def test_a_token_the_service_refuses_asks_the_member_to_sign_in_again(
    browser: WebDriver, navigator_up: Up,
) -> None:
    driver = browser
    stale = navigator_up.page_link.rsplit(".", 1)[0] + ".bm90LXRoZS1zaWduYXR1cmU"

    driver.get(stale)

    shown(driver, "#sign-in-local")
    assert "Please sign in again" in alert_text(driver)
    assert not css(driver, "#member").is_displayed()
    assert driver.execute_script("return sessionStorage.length") == 0, "the token is forgotten"


def test_a_document_is_followed_to_its_end_through_a_network_that_drops(
    browser: WebDriver, navigator_up: Up,
) -> None:
    """A redeploy or a lost connection while a document is processed: the page's asking
    about its job fails three times (the stream, then two askings), and the page asks
    again until the job ends, instead of leaving the row at its last status."""
    driver = browser
    driver.get(navigator_up.page_link)
    wait(driver).until(lambda d: css(d, "body").get_attribute("data-ready") == "true",
                       "the page to load the member's documents")
    driver.execute_script("""
        const original = window.fetch;
        window.dropped = 0;
        window.fetch = function (input, init) {
          const url = typeof input === "string" ? input : input.url;
          if (url.includes("/api/v1/jobs/") && window.dropped < 3) {
            window.dropped += 1;
            return Promise.reject(new TypeError("Failed to fetch"));
          }
          return original.call(this, input, init);
        };
    """)

    css(driver, "#files").send_keys(str(SAMPLE))
    css(driver, "#upload-form button[type=submit]").click()

    done = shown(driver, f'li[data-file="{SAMPLE.name}"][data-status="complete"]')
    assert "Ready" in done.text
    assert driver.execute_script("return window.dropped") == 3
    assert alert_text(driver) == ""
