"""Low vision, older eyes and keyboards on the resident page (issue #21): A+
shows that it is on and scales the whole page without breaking it, also at
200 % zoom; the self-help tabs follow the ARIA tabs pattern; high contrast
and reduced motion follow the system settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import DESKTOP, PHONE, screenshot, start_chat

pytestmark = pytest.mark.browser

OpenPage = Callable[..., tuple[Page, object]]
# A 1280 px wide window at 200 % zoom lays the page out in 640 CSS pixels.
ZOOMED_200 = {"width": DESKTOP["width"] // 2, "height": DESKTOP["height"] // 2}


def overflows_sideways(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def root_font_px(page: Page) -> float:
    return page.evaluate(
        "parseFloat(getComputedStyle(document.documentElement).fontSize)"
    )


@pytest.mark.parametrize("viewport", [PHONE, ZOOMED_200], ids=["phone", "zoom-200"])
def test_larger_text_shows_its_state_and_scales_the_page(
    open_page: OpenPage, viewport: dict
):
    page, _ = open_page("resident", viewport=viewport)
    page.goto("/")
    button = page.locator("#text-size")
    expect(button).to_have_attribute("aria-pressed", "false")
    normal = root_font_px(page)
    heading = page.locator("#welcome h1").bounding_box()
    start = page.locator("#start-chat").bounding_box()
    off_background = button.evaluate("b => getComputedStyle(b).backgroundColor")

    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    # Pressed looks pressed (filled, with a tick), not only to a screen reader.
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") != off_background
    assert button.evaluate("b => getComputedStyle(b, '::before').content") == '"✓ "'
    assert root_font_px(page) > normal * 1.2
    # Everything grows with it, and nothing spills sideways.
    assert page.locator("#welcome h1").bounding_box()["height"] > heading["height"]
    assert page.locator("#start-chat").bounding_box()["height"] > start["height"]
    assert not overflows_sideways(page)
    screenshot(page, f"resident-large-text-{viewport['width']}")

    start_chat(page)
    expect(page.locator("#self-help")).to_be_visible()
    assert not overflows_sideways(page)
    page.reload()
    expect(button).to_have_attribute("aria-pressed", "true")


def test_self_help_tabs_follow_the_aria_tabs_pattern(open_page: OpenPage):
    page, _ = open_page("resident", viewport=PHONE)
    page.goto("/")
    start_chat(page)
    tabs = page.locator("#self-help [role=tab]")
    expect(tabs).to_have_count(4)
    # One tab stop: only the selected tab is in the tab order.
    assert [tabs.nth(i).get_attribute("tabindex") for i in range(4)] == [
        "0",
        "-1",
        "-1",
        "-1",
    ]
    tabs.first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-ground")).to_be_focused()
    expect(page.locator("#tab-ground")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#help-ground")).to_be_visible()
    expect(page.locator("#help-breathe")).to_be_hidden()
    page.keyboard.press("End")
    expect(page.locator("#tab-sleep")).to_be_focused()
    expect(page.locator("#help-sleep")).to_be_visible()
    page.keyboard.press("ArrowRight")  # wraps around
    expect(page.locator("#tab-breathe")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#tab-sleep")).to_be_focused()
    page.keyboard.press("Home")
    expect(page.locator("#tab-breathe")).to_have_attribute("aria-selected", "true")
    # Tab leaves the tab list for the panel.
    page.keyboard.press("Tab")
    expect(page.locator("#help-breathe")).to_be_focused()


def test_breathing_honours_reduced_motion(open_page: OpenPage):
    page, _ = open_page("resident", viewport=PHONE)
    page.emulate_media(reduced_motion="reduce")
    page.goto("/")
    start_chat(page)
    circle = page.locator("#breath-circle")
    size = "c => getComputedStyle(c).transform"
    resting = circle.evaluate(size)
    page.click("#breath-toggle")
    expect(circle).to_have_attribute("data-phase", "in")
    # The circle does not grow or shrink; colour and words carry the pace.
    assert circle.evaluate(size) == resting
    assert circle.evaluate("c => getComputedStyle(c).transitionProperty") != "transform"
    expect(page.locator("#breath-cue")).not_to_be_empty()


def test_high_contrast_follows_the_system_setting(open_page: OpenPage):
    page, _ = open_page("resident", viewport=PHONE)
    page.goto("/")
    muted = "() => getComputedStyle(document.querySelector('.reassure')).color"
    ordinary = page.evaluate(muted)
    page.emulate_media(contrast="more")
    assert page.evaluate(muted) == "rgb(38, 43, 51)"
    assert page.evaluate(muted) != ordinary
    style = page.locator("#open-callback").evaluate(
        "b => [getComputedStyle(b).borderTopColor, getComputedStyle(b).borderTopWidth]"
    )
    assert style == ["rgb(0, 0, 0)", "2px"]
    screenshot(page, "resident-high-contrast")


def test_every_page_has_an_icon(open_page: OpenPage):
    page, _ = open_page("resident", viewport=PHONE)
    missing: list[str] = []
    page.on(
        "response",
        lambda r: missing.append(r.url) if "favicon" in r.url and not r.ok else None,
    )
    page.goto("/")
    icon = page.locator("link[rel=icon]")
    href = icon.get_attribute("href")
    assert href and page.request.get(href).ok
    page.goto("/console/login")
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", href)
    assert missing == []
