"""WCAG 2.2 AA by axe-core on every page, both languages, phone and desktop,
with real state on them (issue #21).

The state is what a shift looks like: chats waiting at every risk level, a
crisis escalation open, a callback in the queue, a chat held by a
counsellor with a referral card in it, and an ended chat with its card.
axe-core comes from npm (``static/package.json``) and is injected into each
page; a serious or critical violation fails the test with the rule and the
elements it found.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from hotline.models import CannedResponse
from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    add_food_station,
    claim,
    in_database,
    sign_in,
)
from tests.process_helpers import COUNSELOR_PASSWORD, HotlineServer, running_server
from tests.socket_clients import Party, start_chat

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "static/node_modules/axe-core/axe.min.js"
# WCAG 2.0, 2.1 and 2.2 A and AA, plus axe's best practices (landmarks,
# headings) where they name a real barrier.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}

MESSAGES = {
    "crisis": "我不想活了，今晚就吃药结束自己",
    "high": "我想死，但是还没想好怎么做",
    "moderate": "最近很焦虑，整晚睡不着，心里很乱",
    "low": "你好，想问一下社区买菜的问题",
}
NEED = "家里没米了，菜也吃完了，很担心"


@dataclass
class Scene:
    """Ids and tokens of the shift the pages are checked on."""

    waiting: dict[str, dict[str, Any]] = field(default_factory=dict)
    held: dict[str, Any] = field(default_factory=dict)
    ended: dict[str, Any] = field(default_factory=dict)
    callback: dict[str, Any] = field(default_factory=dict)
    resource_id: int = 0
    canned_id: int = 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HotlineServer]:
    """A server without HTTP rate limits: this module signs in many times."""
    workdir = tmp_path_factory.mktemp("a11y-server")
    with running_server(
        workdir,
        counselors=("ana",),
        env={"HOTLINE_RATELIMIT_ENABLED": "0", "HOTLINE_ABANDON_SECONDS": "3600"},
    ) as running:
        running.create_user("sam", role="social_worker")
        running.create_user("sue", role="supervisor")
        running.create_user("adam", role="admin")
        yield running


def new_context(
    browser: Browser, server: HotlineServer, **options: Any
) -> BrowserContext:
    # axe is injected as an inline script, which the pages' CSP forbids.
    context = browser.new_context(
        base_url=server.base_url, bypass_csp=True, locale="zh-CN", **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def resident_says(server: HotlineServer, parties: list[Party], text: str) -> dict:
    chat = start_chat(server.base_url)
    party = Party(f"resident-{chat['conversation_id']}", "/chat", {})
    party.connect(server.base_url, auth={"token": chat["token"]})
    parties.append(party)
    party.send(text)
    return chat


@pytest.fixture(scope="module")
def scene(browser: Browser, server: HotlineServer) -> Iterator[Scene]:
    """Build the shift once; the residents stay connected while pages are read."""
    result = Scene()
    result.resource_id = in_database(server, add_food_station)
    parties: list[Party] = []
    context = new_context(browser, server, viewport=DESKTOP)
    try:
        console = context.new_page()
        sign_in(console, "ana")
        # An ended chat with a card, then a held one with a card.
        for key in ("ended", "held"):
            chat = resident_says(server, parties, NEED)
            setattr(result, key, chat)
            claim(console, chat["conversation_id"])
            # Found by search: the suggestions depend on the triage model.
            panel = console.locator("#resources-panel")
            panel.locator("input[name=query]").fill("社区食物站")
            panel.locator("input[name=query]").press("Enter")
            panel.locator("li.resource button.send-resource").first.click()
            expect(
                console.locator("#messages .referral-card .card-name")
            ).to_have_count(1)
            if key == "ended":
                console.click("#wrap-up-open")
                dialog = console.locator("#wrap-up")
                dialog.locator("select[name=outcome]").select_option("referred")
                dialog.locator("button[type=submit]").click()
                expect(dialog).to_be_hidden()
        for level, text in MESSAGES.items():
            result.waiting[level] = resident_says(server, parties, text)
        result.callback = request_callback(server)
        result.canned_id = in_database(
            server, lambda session: session.scalar(select(CannedResponse.id)) or 0
        )
        context.close()
        yield result
    finally:
        for party in parties:
            party.close()


def request_callback(server: HotlineServer) -> dict[str, Any]:
    slots = requests.get(f"{server.base_url}/api/callbacks/slots", timeout=10).json()
    slot = slots["slots"][0]
    response = requests.post(
        f"{server.base_url}/api/callbacks",
        json={
            "phone": "138 0013 8000",
            "window_start": slot["start"],
            "window_end": slot["end"],
            "lang": "zh",
            "note": "家里老人的药快没了",
            "consent": True,
            "may_say_hotline": True,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    data = response.json()
    return {"id": data["callback_id"], "token": data["token"]}


def axe_violations(page: Page, state: str) -> list[str]:
    """Serious and critical axe findings on ``page`` as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 4).map((n) => ({
                    target: n.target.join(" "), summary: n.failureSummary,
                })),
            }));
        }""",
        AXE_TAGS,
    )
    return [
        f"{state}: {v['id']} ({v['impact']}) {v['help']}: "
        + json.dumps(v["nodes"], ensure_ascii=False)
        for v in results
        if v["impact"] in FAILING_IMPACTS
    ]


def set_stored(page: Page, key: str, value: dict[str, Any] | None) -> None:
    script = (
        f"localStorage.removeItem({json.dumps(key)})"
        if value is None
        else f"localStorage.setItem({json.dumps(key)}, {json.dumps(json.dumps(value))})"
    )
    page.evaluate(script)


def check_resident(page: Page, scene: Scene, lang: str) -> list[str]:
    found: list[str] = []
    page.goto(f"/?lang={lang}")
    expect(page.locator("#welcome")).to_be_visible()
    found += axe_violations(page, "resident welcome")

    page.click("#open-callback")
    expect(page.locator("#callback")).to_be_visible()
    found += axe_violations(page, "resident callback form")

    set_stored(page, "hotline.callback", scene.callback)
    page.reload()
    expect(page.locator("#callback-status")).to_be_visible()
    expect(page.locator("#callback-state")).not_to_be_empty()
    found += axe_violations(page, "resident callback status")
    set_stored(page, "hotline.callback", None)

    conversations = {
        "waiting": {**scene.waiting["moderate"], "state": "waiting"},
        "active": {**scene.held, "state": "active"},
        "ended": {**scene.ended, "state": "closed"},
    }
    for name, chat in conversations.items():
        set_stored(
            page,
            "hotline.conversation",
            {"id": chat["conversation_id"], "token": chat["token"]},
        )
        page.reload()
        expect(page.locator("#status")).to_have_attribute("data-state", chat["state"])
        if name == "ended":
            expect(page.locator("#ended-cards .referral-card")).to_have_count(1)
        else:
            expect(page.locator("#messages li.msg").first).to_be_visible()
        found += axe_violations(page, f"resident {name}")
    set_stored(page, "hotline.conversation", None)
    return found


def staff_pages(scene: Scene) -> dict[str, list[tuple[str, str]]]:
    """Who signs in, and the pages they are checked on."""
    held_id = scene.held["conversation_id"]
    pages = {
        "ana": [("console (held chat open)", "/console")],
        "sam": [("console (social worker, escalation)", "/console")],
        "sue": [
            ("supervisor board", "/supervisor"),
            ("transcript", f"/supervisor/conversations/{held_id}"),
            ("audit log", "/supervisor/audit"),
            ("blocks", "/supervisor/blocks"),
            ("quick replies", "/supervisor/canned"),
            ("reports", "/supervisor/reports"),
            ("referrals", "/supervisor/referrals"),
            ("404 page", "/no-such-page"),
        ],
        "adam": [
            ("staff accounts", "/admin"),
            ("resource directory", "/admin/resources"),
            ("new resource", "/admin/resources/new"),
            ("edit resource", f"/admin/resources/{scene.resource_id}/edit"),
        ],
    }
    if scene.canned_id:
        pages["sue"].append(
            ("edit quick reply", f"/supervisor/canned/{scene.canned_id}/edit")
        )
    # A counsellor on a supervisor's page: the 403 page.
    pages["ana"].append(("403 page", "/supervisor/canned"))
    return pages


def check_staff(page: Page, scene: Scene, username: str, lang: str) -> list[str]:
    found: list[str] = []
    page.goto(f"/console/login?lang={lang}")
    if username == "ana":
        found += axe_violations(page, "sign-in")
    staff_sign_in(page, username)
    for name, path in staff_pages(scene)[username]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if name.startswith("console"):
            expect(page.locator("#connection")).to_have_attribute(
                "data-state", "online"
            )
        if name.startswith("console (held"):
            expect(page.locator("#queue li.queue-item").nth(3)).to_be_visible()
            page.locator("#held .held-item").first.click()
            expect(page.locator("#messages .referral-card")).to_have_count(1)
        if name.startswith("console (social"):
            expect(page.locator("#escalations li.escalation").first).to_be_visible()
        if name == "supervisor board":
            expect(page.locator("#board tr").first).to_be_visible()
        found += axe_violations(page, f"{username} {name}")
    return found


def staff_sign_in(page: Page, username: str) -> None:
    """Sign in through the form; each role lands on its own start page."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", COUNSELOR_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


# Building the shift (six chats, a callback, sign-ins) comes on top of the
# first check's own time.
@pytest.mark.timeout(360)
@pytest.mark.parametrize("who", ["resident", "ana", "sam", "sue", "adam"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_has_no_serious_axe_violation(
    browser: Browser,
    server: HotlineServer,
    scene: Scene,
    lang: str,
    viewport: dict,
    who: str,
):
    context = new_context(browser, server, viewport=viewport)
    try:
        page = context.new_page()
        if who == "resident":
            found = check_resident(page, scene, lang)
        else:
            found = check_staff(page, scene, who, lang)
    finally:
        context.close()
    assert not found, "\n".join(found)
