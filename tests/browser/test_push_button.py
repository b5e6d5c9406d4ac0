"""The header's "开启通知 / Enable notifications" button in Chromium, with push.js for real.

Headless Chromium has no vendor push service to subscribe with, so the page's PushManager
hands out a subscription the test made (its endpoint is the local push-service stand-in, its
keys the test's own); everything else is real: the permission prompt, the service worker
registration, the CSRF-protected POST and DELETE, and the encrypted notice the server then sends.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.browser.conftest import PHONE
from tests.integration.test_push import about, register_call
from tests.pushstandin import PushStandIn

FAKE_PUSH = """
(() => {
  const made = %s;
  const state = window.__push = {asked: 0, subscribed: 0, key: null, sub: null};
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = function () { state.asked++; return ask(); };
  PushManager.prototype.getSubscription = async function () { return state.sub; };
  PushManager.prototype.subscribe = async function (options) {
    state.subscribed++;
    state.key = Array.from(new Uint8Array(options.applicationServerKey));
    state.sub = {endpoint: made.endpoint, options: {applicationServerKey: new Uint8Array(state.key).buffer},
                 toJSON() { return made; },
                 unsubscribe: async () => { state.sub = null; return true; }};
    return state.sub;
  };
})();
"""


@pytest.fixture
def standin(login):
    service = PushStandIn()
    service.expected_key = login("clerk").get("/api/push/key").json()["public_key"]
    yield service
    service.close()


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form[action='/login'] button.primary")
    page.wait_for_url(re.compile(r"/(calls|dispatch|tech)$"))


def test_notifications_are_turned_on_and_off_with_the_header_button(new_context, login, standin):
    browser_sub, witness = standin.subscriber(), standin.subscriber()
    clerk = login("clerk")
    assert clerk.post("/api/push/subscriptions", json=witness.subscription()).status_code == 201
    context = new_context(viewport=PHONE, locale="zh-CN")
    context.add_init_script(FAKE_PUSH % json.dumps(browser_sub.subscription()))
    page = context.new_page()
    try:
        sign_in(page, "clerk")
        button = page.locator("[data-push-button]")
        page.wait_for_selector("[data-push][data-state='off']")
        assert button.inner_text() == "开启通知"
        assert page.evaluate("window.__push.asked") == 0  # nobody is asked before pressing

        context.grant_permissions(["notifications"])
        button.click()
        page.wait_for_selector("[data-push][data-state='on']")
        assert button.inner_text() == "关闭通知" and button.get_attribute("aria-pressed") == "true"
        assert page.locator("[data-push-state]").inner_text() == "通知已开启"
        assert page.evaluate("window.__push.asked") == 1 and page.evaluate("window.__push.subscribed") == 1
        key = bytes(page.evaluate("window.__push.key"))
        assert base64.urlsafe_b64encode(key).rstrip(b"=").decode() == standin.expected_key
        assert page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => !!r && r.scope)") \
            == page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/"

        # the server now sends this browser the branch's new calls
        first, _ = register_call(clerk)
        assert standin.wait_for(lambda: about(standin.messages_for(browser_sub), first["number"]), 20)

        button.click()
        page.wait_for_selector("[data-push][data-state='off']")
        assert button.inner_text() == "开启通知" and page.evaluate("window.__push.sub") is None
        second, _ = register_call(clerk)
        assert standin.wait_for(lambda: about(standin.messages_for(witness), second["number"]), 20)
        assert about(standin.messages_for(browser_sub), second["number"]) == []
        assert standin.problems() == []
    finally:
        clerk.request("DELETE", "/api/push/subscriptions", json={"endpoint": witness.endpoint})
        clerk.request("DELETE", "/api/push/subscriptions", json={"endpoint": browser_sub.endpoint})


def test_a_refused_permission_shows_blocked(new_context):
    context = new_context(viewport=PHONE, locale="en-GB")
    context.add_init_script("Notification.requestPermission = async () => 'denied';")
    page = context.new_page()
    sign_in(page, "supervisor")
    page.wait_for_selector("[data-push][data-state='off']")
    page.click("[data-push-button]")
    page.wait_for_selector("[data-push][data-state='blocked']")
    assert "blocked by the browser" in page.locator("[data-push-state]").inner_text()
    assert page.locator("[data-push-button]").is_hidden()
