"""The console in a real browser: the system's headless Chromium (never a downloaded one) driven by
Playwright, against the API running as a real process (uvicorn) on the real stores.

One API process and one browser serve the whole module set; each test gets a fresh page (1280x800)
with its own user (a fresh key) and data written through the public API. A page that logs a
JavaScript error, or a Content-Security-Policy violation, fails the test that opened it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.console import Console, ConsoleApi
from tests.fuzz.api_process import fresh_database, running_api

CHROMIUM = os.environ.get("DATAINFRA_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"
BASE_URL_ENV = "DATAINFRA_TEST_CONSOLE_URL"
"""Development loop only: the URL of an API already running (then no process is started)."""


@pytest.fixture(scope="package")
def console_base_url(
    postgres_runtime: Any, neo4j_runtime: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if os.environ.get(BASE_URL_ENV):
        yield os.environ[BASE_URL_ENV].rstrip("/")
        return
    with (
        fresh_database(postgres_runtime.url()) as database_url,
        running_api(database_url, neo4j_runtime.endpoint(), tmp_path_factory.mktemp("console-api")) as api,
    ):
        yield api.base_url


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """Package-scoped, so Playwright stops when tests/browser is done: its sync API keeps an event
    loop running in this thread while it lives, and every async test after it would then fail
    ("Runner.run() cannot be called from a running event loop")."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"the console's browser tests need Chromium at {CHROMIUM}: install it with "
            "`apt-get install -y chromium` (.ci/run does); Playwright's own browser download is not used",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def api(console_base_url: str) -> Iterator[ConsoleApi]:
    with ConsoleApi.for_new_user(console_base_url) as client:
        yield client


@pytest.fixture
def console(chromium: Any, console_base_url: str, api: ConsoleApi, request: pytest.FixtureRequest) -> Iterator[Console]:
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view = Console(page, console_base_url, api, SCREENSHOTS)
    try:
        yield view
    finally:
        context.close()
    view.assert_no_page_errors()
