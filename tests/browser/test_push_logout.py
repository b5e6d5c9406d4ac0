"""A push delivered to the service worker shows a notification, and tapping it opens the
order; sign-out waits for the outbox and then leaves no caches and no IndexedDB behind."""

import json

from tests.browser.conftest import PHONE, device_on_new_order, sign_in_page, wait_sent


def test_push_message_shows_a_notification_that_opens_the_order(new_context, make_order, live_server):
    order_id = make_order("tech1", category="C")
    context = new_context(viewport=PHONE)
    context.grant_permissions(["notifications"])
    page = context.new_page()
    sign_in_page(page, "tech1")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(200)
    registration = next(r for r in registrations if r["scopeURL"].startswith(live_server.url))
    payload = {"kind": "work_order_dispatched", "title": "新派工单 New order", "body": "请尽快到场",
               "url": f"/tech/orders/{order_id}", "tag": f"wo-{order_id}"}
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_server.url,
                                                  "registrationId": registration["registrationId"],
                                                  "data": json.dumps(payload)})
    notes = []
    for _ in range(50):
        notes = page.evaluate("""() => navigator.serviceWorker.ready.then(r => r.getNotifications())
            .then(list => list.map(n => ({title: n.title, body: n.body, url: n.data.url})))""")
        if notes:
            break
        page.wait_for_timeout(100)
    assert notes == [{"title": "新派工单 New order", "body": "请尽快到场", "url": f"/tech/orders/{order_id}"}]

    # The tap: headless Chromium shows no notification to click, so the worker is handed the
    # click event itself (its handler is the one a real tap runs; waitUntil refuses an event
    # made by script, after the navigation has started).
    assert not page.url.endswith(f"/tech/orders/{order_id}")
    worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
    worker.evaluate("""() => self.registration.getNotifications().then(list => {
        self.dispatchEvent(new NotificationEvent('notificationclick', {notification: list[0]}));
    })""")
    page.wait_for_url(f"**/tech/orders/{order_id}")
    page.wait_for_selector("#order")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.getNotifications()).then(l => l.length)") == 0


def test_logout_refused_while_changes_wait_then_clears_the_device(new_context, make_order):
    context, page, order_id = device_on_new_order(new_context, make_order)
    assert page.evaluate("caches.keys()")  # the pages were saved

    context.set_offline(True)
    page.goto(f"/tech/orders/{order_id}")
    page.click("form[data-action=arrive] button")
    page.wait_for_selector("#outbox-badge[data-count='1']")
    page.click("form[action='/logout'] button")
    page.wait_for_selector("#logout-refused:not([hidden])")
    assert "1" in page.inner_text("#logout-refused")
    assert page.url.endswith(f"/tech/orders/{order_id}")  # still signed in, nothing lost

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_sent(page)
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")
    assert page.evaluate("caches.keys()") == []
    names = page.evaluate("indexedDB.databases().then(list => list.map(d => d.name))")
    assert "fieldservice" not in names
