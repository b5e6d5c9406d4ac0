"""Two devices offline; the supervisor re-dispatches one's order meanwhile: the technician's
work is kept as a conflict, shown on their screen and in the supervisor's queue."""

from tests.browser.conftest import PHONE, TABLET, set_up_device, sign_in_page, wait_sent
from tests.conftest import sign_in


def test_redispatch_while_offline_becomes_a_visible_conflict(new_context, make_order, live_server):
    moved = make_order("tech1", category="C", fault="重新派工测试")
    other = make_order("tech2", category="C")
    first, second = new_context(viewport=PHONE), new_context(viewport=TABLET)
    one, two = first.new_page(), second.new_page()
    sign_in_page(one, "tech1")
    set_up_device(one)
    sign_in_page(two, "tech2")
    set_up_device(two)
    first.set_offline(True)
    second.set_offline(True)

    supervisor = sign_in(live_server.url, "supervisor")
    response = supervisor.post(f"/api/work-orders/{moved}/dispatch", json={"technician": "tech2"})
    assert response.status_code in (200, 201), response.text

    one.goto(f"/tech/orders/{moved}")  # the saved copy: the device does not know yet
    one.click("form[data-action=arrive] button")
    one.fill("form[data-action=add_note] textarea[name=text]", "已到现场，客户不在")
    one.click("form[data-action=add_note] button.primary")
    one.wait_for_selector("#outbox-badge[data-count='2']")
    two.goto(f"/tech/orders/{other}")
    two.click("form[data-action=arrive] button")
    two.wait_for_selector("#outbox-badge[data-count='1']")

    first.set_offline(False)
    second.set_offline(False)
    one.evaluate("window.dispatchEvent(new Event('online'))")
    two.evaluate("window.dispatchEvent(new Event('online'))")
    wait_sent(one)
    wait_sent(two)

    one.wait_for_selector("#problems:not([hidden]) .problem[data-reason=reassigned]")
    assert "改派" in one.inner_text("#problems")  # in the technician's language
    assert two.locator("#problems").is_hidden()  # the other device's work simply applied
    listed = supervisor.get("/api/conflicts").json()["conflicts"]
    mine = [c for c in listed if c["work_order_id"] == moved]
    assert {c["reason"] for c in mine} == {"reassigned"} and len(mine) == 2  # the arrival and the note
    assert all(c["technician"] == "tech1" for c in mine)
    queue = supervisor.get("/dispatch/conflicts").text  # the supervisor's queue page
    assert mine[0]["work_order_number"] in queue
