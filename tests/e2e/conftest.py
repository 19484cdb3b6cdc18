"""Browser tests: Playwright drives Debian's Chromium against a live server.

Without /usr/bin/chromium the tests are skipped, except where CASEBRIDGE_REQUIRE_BROWSER
is set (as .ci/run does): then a missing browser fails the run.
"""

from __future__ import annotations

import os
import shutil

import pytest

from casebridge.ops.model_load import model_load
from tests.builders import Personas, build_personas

CHROMIUM = os.environ.get("CASEBRIDGE_CHROMIUM", "/usr/bin/chromium")
# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the
# tests themselves are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CASEBRIDGE_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="de-DE", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def network(transactional_db, germany_spec):
    """The German model in a database the live server shares.

    Transactional tests empty the tables afterwards; that is why tests/conftest.py runs
    the browser tests last, and why each of them loads the model again here.
    """
    model_load(spec=germany_spec)


@pytest.fixture
def e2e_personas(network) -> Personas:
    return build_personas()
