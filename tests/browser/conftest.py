"""The member's page in a real browser: Debian's Chromium, driven by Selenium through
Debian's chromium-driver (``apt-get install chromium chromium-driver``; ``.ci/run``
installs both).

Without them the tests skip, saying what to install; with ``CI=true`` they fail
instead, so CI can never pass without having run them.

``NAVIGATOR_SCREENSHOTS=<folder>`` (``make screenshots``) keeps a screenshot of each
state the tests pass through, for the README.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.corpus import REPO_DIR
from tests.e2e.conftest import FAST_WORKER, drop_schema, navigator_command, wait_for
from tests.ports import free_port

INSTALL = "apt-get install chromium chromium-driver"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)
#: Where Debian puts the driver when it is not on the PATH.
DRIVER_PLACES = (Path("/usr/bin/chromedriver"), Path("/usr/lib/chromium/chromedriver"))
WINDOW = (1280, 1000)


def _find(names: tuple[str, ...], places: tuple[Path, ...] = ()) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return next((str(place) for place in places if place.is_file()), None)


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """(browser, driver) executables, or a skip (a failure under CI=true) naming the fix."""
    browser, driver = _find(BROWSERS), _find(DRIVERS, DRIVER_PLACES)
    if browser and driver:
        return browser, driver
    missing = " and ".join(n for n, f in (("chromium", browser), ("chromium-driver", driver))
                           if not f)
    message = f"the member page's browser test needs {missing}: {INSTALL}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " (CI=true: it must run)")
    pytest.skip(message)


@pytest.fixture
def browser(chromium: tuple[str, str]) -> Iterator[object]:
    """A headless Chromium of its own (fresh profile), closed after the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                     "--no-first-run", "--disable-extensions", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Selenium's own choice of the driver's port is a bind(0)-and-close: an ephemeral port
    # that an outgoing connection may take before chromedriver binds it.
    service = Service(executable_path=driver_path, port=free_port())
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


@attrs.define
class Screenshots:
    """Screenshots of each state, kept only when NAVIGATOR_SCREENSHOTS names a folder."""

    folder: Path | None

    def take(self, driver: object, name: str, top: str | None = None,
             painted: bool = False) -> None:
        """``name``.png of the window, scrolled so that ``top`` (a selector) is at the top.
        ``painted``: wait (up to 15 s) for more than a blank window first, for what the
        page cannot report, such as the browser's PDF viewer drawing a document."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        if top is not None:
            driver.execute_script(  # type: ignore[attr-defined]
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'})", top)
        png: bytes = driver.get_screenshot_as_png()  # type: ignore[attr-defined]
        if painted:
            png = wait_for(lambda: _not_blank(driver), "the window to be drawn", 15, 0.5)
        (self.folder / f"{name}.png").write_bytes(png)


def _not_blank(driver: object) -> bytes | None:
    """A screenshot with more in it than one colour (a blank PNG compresses to a few KB)."""
    png: bytes = driver.get_screenshot_as_png()  # type: ignore[attr-defined]
    return png if len(png) > 20_000 else None


@pytest.fixture
def screenshots() -> Screenshots:
    folder = os.environ.get("NAVIGATOR_SCREENSHOTS")
    return Screenshots(Path(folder) if folder else None)


@attrs.define
class Up:
    """``navigator up`` running, with what it printed."""

    process: subprocess.Popen[bytes]
    output: Path
    url: str
    page_link: str
    env: dict[str, str]

    def printed(self) -> str:
        return self.output.read_text(errors="replace")


@contextlib.contextmanager
def running_up(postgres_dsn: str, home: Path, **extra: str) -> Iterator[Up]:
    """``navigator up`` as a newcomer runs it (``make up``), on a schema of its own of the
    test run's server, with ``extra`` variables; stopped (Ctrl-C) at the end."""
    schema = f"browser_{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_", "SUPABASE_", "OPENAI_", "LLAMAPARSE_", "SERVICE_",
                                  "NAVIGATOR_", "ENVIRONMENT", "RAG_", "WORKER_", "ANTHROPIC_"))}
    env.update(DATABASE_URL=postgres_dsn, DATABASE_SCHEMA=schema, NAVIGATOR_HOME=str(home),
               SERVICE_PORT=str(port), PYTHONUNBUFFERED="1", **FAST_WORKER, **extra)
    output = home / "up.log"
    with output.open("wb") as out:
        process = subprocess.Popen([*navigator_command(), "up"], env=env, cwd=REPO_DIR,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "Press Ctrl-C" in output.read_text() or process.poll() is not None,
                 "navigator up to print its banner", 90,
                 logs=lambda: output.read_text(errors="replace"))
        assert process.poll() is None, output.read_text(errors="replace")
        url = f"http://127.0.0.1:{port}"
        printed = output.read_text()
        links = [word for word in printed.split() if word.startswith(f"{url}/#token=")]
        assert len(links) == 1, f"the banner prints one link to the page:\n{printed}"
        yield Up(process, output, url, links[0], env)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        drop_schema(postgres_dsn, schema)


@pytest.fixture
def navigator_up(postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """``navigator up`` with no Supabase project: the page signs in with the printed link."""
    with running_up(postgres_dsn, tmp_path_factory.mktemp("browser-home")) as up:
        yield up
