"""In a real browser every script, module import and style is fetched by its
content-hashed URL (the import map runs under the page's CSP), and kept."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import PageWatch
from tests.browser.helpers import DESKTOP, sign_in


def _static_requests(page: Page) -> list[tuple[str, str]]:
    """(URL, Cache-Control) of every /static/ response the page gets."""
    seen: list[tuple[str, str]] = []

    def record(response: Response) -> None:
        if urlsplit(response.url).path.startswith("/static/"):
            seen.append((response.url, response.headers.get("cache-control", "")))

    page.on("response", record)
    return seen


def _assert_all_hashed(seen: list[tuple[str, str]], module: str) -> None:
    paths = {urlsplit(url).path for url, _ in seen}
    # The page's own script and a module only ever reached by an import.
    assert module in paths
    assert "/static/shared/dom.js" in paths
    for url, cache_control in seen:
        assert parse_qs(urlsplit(url).query).get("v"), url
        assert "immutable" in cache_control, (url, cache_control)


def test_the_resident_page_fetches_only_hashed_urls(
    open_page: Callable[..., tuple[Page, PageWatch]],
) -> None:
    page, _ = open_page("resident")
    seen = _static_requests(page)
    page.goto("/")
    expect(page.locator("#start-chat")).to_be_enabled()
    page.wait_for_load_state("networkidle")
    _assert_all_hashed(seen, "/static/resident/chat.js")
    assert "/static/vendor/socket.io.esm.min.js" in {
        urlsplit(url).path for url, _ in seen
    }


def test_the_console_fetches_only_hashed_urls(
    open_page: Callable[..., tuple[Page, PageWatch]],
) -> None:
    page, _ = open_page("console", locale="en-GB", viewport=DESKTOP)
    seen = _static_requests(page)
    sign_in(page, "ana")
    page.wait_for_load_state("networkidle")
    _assert_all_hashed(seen, "/static/console/console.js")
    assert "/static/shared/config.js" in {urlsplit(url).path for url, _ in seen}
