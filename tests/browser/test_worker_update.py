"""A new service worker waits while changes wait in the outbox, and takes over once they are
sent: an update never strands what the technician recorded."""

from tests.browser.conftest import device_on_new_order, wait_sent


def test_new_worker_waits_for_an_empty_outbox(new_context, make_order):
    context, page, order_id = device_on_new_order(new_context, make_order)
    context.set_offline(True)
    page.goto(f"/tech/orders/{order_id}")
    page.click("form[data-action=arrive] button")
    page.wait_for_selector("#outbox-badge[data-count='1']")
    # Hold the change back for now (no device token, nothing can be sent): the worker is updated first.
    page.evaluate("FSOutbox.device().then(d => { window.fsDevice = d; return FSOutbox.setMeta('device', null); })")
    context.set_offline(False)

    page.evaluate("""() => { window.fsControllerChanged = false;
        navigator.serviceWorker.addEventListener('controllerchange', () => { window.fsControllerChanged = true; }); }""")
    # a newer build of the worker (another script URL is always a new version)
    page.evaluate("navigator.serviceWorker.register('/sw.js?build=next', {scope: '/'})")
    for _ in range(100):
        state = page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => r.waiting ? r.waiting.state : null)")
        if state == "installed":
            break
        page.wait_for_timeout(100)
    assert state == "installed"
    page.wait_for_timeout(500)
    assert page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => !!r.waiting)")  # still waiting
    assert not page.evaluate("window.fsControllerChanged")

    assert page.get_attribute("#outbox-badge", "data-count") == "1"
    page.evaluate("FSOutbox.setMeta('device', window.fsDevice)")
    page.click("#outbox-badge")  # send now
    wait_sent(page)
    page.wait_for_function("window.fsControllerChanged === true", timeout=15000)
    assert page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => !r.waiting)")
