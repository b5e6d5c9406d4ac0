"""Browser tests: Playwright for Python driving Debian's Chromium against the live server.

Offline is real: `context.set_offline(True)`. Each test makes its own work orders in the
shared demo database (`make_order`), so tests never depend on each other's data.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
from pathlib import Path

from tests.browser.orders import create_order

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 1024, "height": 768}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            # A real browser on a shared 2-core machine: a run that times out is tried once
            # more, and the rerun is reported ("R" / "rerun"), never hidden.
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module: Playwright's sync API holds an event loop while it runs,
    so it must be stopped before the asyncio tests of later folders run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser, live_server):
    """new_context(viewport=PHONE, locale="zh-CN") → a fresh browser profile (a device)."""
    made = []

    def _make(viewport=PHONE, locale="zh-CN", **kwargs):
        context = browser.new_context(base_url=live_server.url, viewport=viewport, locale=locale,
                                      service_workers="allow", **kwargs)
        context.set_default_timeout(15000)
        made.append(context)
        return context

    yield _make
    for context in made:
        try:
            context.close()
        except Exception:  # already closed by the test
            pass


def sign_in_page(page, username: str, password: str = "demo") -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button.primary")
    page.wait_for_url(re.compile(r"/tech$"))


def set_up_device(page, password: str = "demo") -> None:
    """The technician types the password once more on /tech; the device registers and pulls."""
    page.wait_for_selector("#device-setup:not([hidden])")
    page.fill("#device-form input[name=password]", password)
    page.click("#device-form button")
    page.wait_for_selector("#device-ready:not([hidden])", timeout=30000)
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)


def device_on_new_order(new_context, make_order, username: str = "tech1"):
    """A technician's phone, signed in and set up for offline work, and a fresh order of theirs:
    (context, page, order_id)."""
    order_id = make_order(username, category="C")
    context = new_context(viewport=PHONE)
    page = context.new_page()
    sign_in_page(page, username)
    set_up_device(page)
    return context, page, order_id


def draw_signature(page) -> None:
    """Three strokes across the signature pad, as a finger would draw them."""
    page.locator("#signature-pad").scroll_into_view_if_needed()
    box = page.locator("#signature-pad").bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    for stroke in ((0.1, 0.6, 0.35, 0.3), (0.35, 0.3, 0.5, 0.7), (0.5, 0.7, 0.85, 0.35)):
        page.mouse.move(x + w * stroke[0], y + h * stroke[1])
        page.mouse.down()
        for step in range(1, 11):
            f = step / 10
            page.mouse.move(x + w * (stroke[0] + (stroke[2] - stroke[0]) * f),
                            y + h * (stroke[1] + (stroke[3] - stroke[1]) * f))
        page.mouse.up()


def outbox_count(page) -> int:
    return int(page.get_attribute("#outbox-badge", "data-count") or 0)


def wait_sent(page, timeout: float = 20000) -> None:
    page.wait_for_selector("#outbox-badge[data-count='0']", timeout=timeout)


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now."""
    if not AXE.exists():  # tests/run_all.sh installs it; a bare pytest run does it here
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=AXE.parents[2], check=True)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _run(coro):
    """Run a coroutine on a fresh loop in a thread: the tests themselves are synchronous."""
    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture(scope="session")
def make_order(database_settings):
    """make_order("tech1", category="A") → the id of a new order dispatched to that technician."""
    from server.db import bind_engine

    def _make(username: str = "tech1", category: str = "A", fault: str = "灯具不亮，需要上门检查", **extra) -> int:
        async def work():
            engine = bind_engine(database_settings)
            if database_settings.is_postgres:
                await engine.start_connection_pool(max_size=2)
            try:
                return await create_order(username, category, fault, **extra)
            finally:
                if database_settings.is_postgres:
                    await engine.close_connection_pool()
                else:  # the loop ends with this thread: so must its connections
                    await engine.close_pool()

        return _run(work())

    return _make
