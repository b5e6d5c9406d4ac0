"""The service worker stopped in the middle of a replay and the tab closed: reopened, every
change arrives exactly once."""

from tests.browser.conftest import device_on_new_order, wait_sent
from tests.browser.test_offline_job import camera_photo
from tests.conftest import sign_in

NOTES = 30


def test_worker_stopped_mid_replay_then_everything_arrives_once(new_context, make_order, live_server):
    context, page, order_id = device_on_new_order(new_context, make_order)

    context.set_offline(True)
    page.goto(f"/tech/orders/{order_id}")
    page.set_input_files("form[data-action=attach_photo] input[name=photo]", camera_photo())
    page.click("form[data-action=attach_photo] button.primary")
    page.wait_for_selector("#list-photos li .state-pending")
    page.evaluate("""async (n) => {
        for (let i = 0; i < n; i++) {
            await FSTech.record('add_note', {note_id: FSOutbox.uuid(), text: 'note ' + i});
        }
    }""", NOTES)
    page.wait_for_selector(f"#outbox-badge[data-count='{NOTES + 1}']")
    page.close()  # the tab is closed while offline

    context.set_offline(False)
    helper = context.new_page()
    helper.goto("/offline")  # a page without the outbox script: only the worker sends
    helper.wait_for_function("navigator.serviceWorker.controller !== null")
    started = []
    context.on("request", lambda r: started.append(r.url) if "/sync/" in r.url else None)
    helper.evaluate("navigator.serviceWorker.controller.postMessage({type: 'SEND'})")
    helper.wait_for_function("true", polling=50)  # yield once so the worker's first request leaves
    helper.wait_for_timeout(30)
    cdp = context.new_cdp_session(helper)
    cdp.send("ServiceWorker.enable")
    cdp.send("ServiceWorker.stopAllWorkers")
    helper.close()

    page = context.new_page()
    page.goto(f"/tech/orders/{order_id}")
    wait_sent(page, timeout=30000)

    order = sign_in(live_server.url, "tech1").get(f"/api/work-orders/{order_id}").json()
    texts = sorted(n["text"] for n in order["notes"])
    assert texts == sorted(f"note {i}" for i in range(NOTES))
    assert len({n["note_id"] for n in order["notes"]}) == NOTES
    assert len(order["photos"]) == 1
