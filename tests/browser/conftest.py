"""Playwright (sync API) with Debian's Chromium against a real ``hotline serve``.

Browser tests skip when Chromium is missing, unless ``HOTLINE_REQUIRE_BROWSER=1``
(as in CI), in which case they fail loudly instead of passing by skipping.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.process_helpers import HotlineServer, running_server

REQUIRE_BROWSER = os.environ.get("HOTLINE_REQUIRE_BROWSER") == "1"
HAS_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
if HAS_PLAYWRIGHT:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Page,
        expect,
        sync_playwright,
    )

    from tests.browser.helpers import DESKTOP, PHONE, TIMEOUT_MS, sign_in
elif REQUIRE_BROWSER:
    raise pytest.UsageError(
        "HOTLINE_REQUIRE_BROWSER=1 but the playwright package is not installed"
    )
else:
    # Without Playwright the test modules cannot even be imported.
    collect_ignore_glob = ["test_*.py"]

CHROMIUM = Path(os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
FAILURES = Path(__file__).resolve().parents[2] / "test-results" / "failures"
CALL_FAILED = pytest.StashKey[bool]()
# Browser noise that is expected while a test deliberately cuts the network.
NETWORK_NOISE = re.compile(r"net::ERR_|WebSocket connection to|Failed to load resource")


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"HOTLINE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole session; each test opens its own contexts."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HotlineServer]:
    """One server per module.

    The server allows six chat starts a minute from one address, so each
    module keeps to at most six.
    """
    workdir = tmp_path_factory.mktemp("browser-server")
    with running_server(workdir, counselors=("ana",)) as running:
        yield running


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


class PageWatch:
    """Collects what a page reports that a user would never want to see."""

    def __init__(self, page: Page, name: str) -> None:
        self.name = name
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._on_console)
        page.on("dialog", self._on_dialog)

    def _on_console(self, message: Any) -> None:
        if message.type == "error" and not NETWORK_NOISE.search(message.text):
            self.errors.append(f"console.error: {message.text}")

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def open_page(
    request: pytest.FixtureRequest, browser: Browser, server: HotlineServer
) -> Iterator[Callable[..., tuple[Page, PageWatch]]]:
    """Open a page in a fresh browser context (its own storage and cookies).

    At teardown every page must have raised no script error and opened no
    dialog. When the test failed, each page is saved under
    test-results/failures/ and the server log is printed.
    """
    contexts: list[BrowserContext] = []
    watches: list[PageWatch] = []
    pages: list[Page] = []

    def open_(
        name: str, *, locale: str = "zh-CN", viewport: dict[str, int] = PHONE
    ) -> tuple[Page, PageWatch]:
        context = browser.new_context(
            base_url=server.base_url, locale=locale, viewport=viewport
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        watch = PageWatch(page, name)
        watches.append(watch)
        return page, watch

    yield open_
    if request.node.stash.get(CALL_FAILED, False):
        FAILURES.mkdir(parents=True, exist_ok=True)
        for page, watch in zip(pages, watches, strict=True):
            if not page.is_closed():
                page.screenshot(path=FAILURES / f"{request.node.name}-{watch.name}.png")
        print(f"--- server log ---\n{server.log_tail()}")
    for context in contexts:
        context.close()
    problems = {w.name: w.errors + w.dialogs for w in watches if w.errors or w.dialogs}
    assert not problems, problems


@pytest.fixture
def resident(open_page: Callable[..., tuple[Page, PageWatch]]) -> Page:
    """The resident's page, on a phone-sized screen, in Chinese."""
    page, _ = open_page("resident")
    page.goto("/")
    return page


@pytest.fixture
def console(open_page: Callable[..., tuple[Page, PageWatch]]) -> Page:
    """The console, signed in as counsellor ``ana`` through the login form."""
    page, _ = open_page("console", locale="en-GB", viewport=DESKTOP)
    sign_in(page, "ana")
    return page
