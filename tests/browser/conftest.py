"""Browser tests: Playwright driving Debian's headless Chromium against pytest-django's
live_server. No network: the browser is the system one (never `playwright install`), and the
pages load only from the live server.

Chromium missing: in CI (CI=true) the tests fail, so a broken setup cannot pass silently;
locally they are skipped with the reason.
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Voicemail playback is started by the test, not a user gesture.
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"Browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"Browser tests skipped: {reason}")


@pytest.fixture(scope="package")
def browser(_sync_orm_beside_playwright):
    """One Chromium for the browser tests. Package-scoped: Playwright's event loop must be gone
    before any other test of this process touches the database."""
    if not Path(CHROMIUM).exists():
        _unavailable(
            f"{CHROMIUM} not found; install Debian's chromium "
            "(apt-get update && apt-get install -y chromium)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package", autouse=True)
def _sync_orm_beside_playwright():
    """Playwright's sync API keeps an asyncio loop in this thread, so Django takes the test's
    own (synchronous, single-threaded) ORM calls for calls from async code. Package-scoped so
    that it covers the database fixtures' set-up and flush too, and only the browser tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def new_page(browser, live_server):
    """`new_page(viewport)` → a page in a fresh context (no cookies) rooted at the live server.

    A page that breaks the site's Content-Security-Policy (an inline script, a style or image
    the policy refuses) fails the test: every page must work under it. Refusing what would come
    from elsewhere is the policy doing its job (ReDoc's logo on cdn.redoc.ly).
    """
    contexts = []
    violations = []

    def record_violation(message):
        text = message.text
        if "Content Security Policy" in text and not re.search(
            r"'https?://(?!127\.0\.0\.1|localhost)", text
        ):
            violations.append(text)

    def make(viewport=DESKTOP):
        context = browser.new_context(
            viewport=viewport, base_url=live_server.url, locale="en-GB", timezone_id="Europe/Paris"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", record_violation)
        # Anything outside the live server would be the network: refuse it.
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(live_server.url)
                or route.request.url.startswith("data:")
                else route.abort()
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert violations == []


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
