"""Real Chromium (Debian's), driven by Playwright; no browser download needed."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these Chromium keeps calling hosts that a closed network refuses.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shots(tmp_path):
    """Where a test's screenshots go: ``SCREENSHOT_DIR`` (or ``STAMPCARD_SCREENSHOTS``) to keep
    and look at them, else the test's own temporary directory."""
    named = os.environ.get("SCREENSHOT_DIR") or os.environ.get("STAMPCARD_SCREENSHOTS")
    where = Path(named) if named else tmp_path / "shots"
    where.mkdir(parents=True, exist_ok=True)
    return where
