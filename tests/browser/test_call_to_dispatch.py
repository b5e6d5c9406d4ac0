"""Issue 2 in a real browser: the clerk registers a call; the supervisor's open board shows
it without a reload; the supervisor dispatches it to a technician."""

import re
import secrets

from tests.browser.conftest import ARTIFACTS, PHONE, TABLET
from tests.conftest import sign_in


def _sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form[action='/login'] button.primary")
    page.wait_for_load_state("networkidle")


def test_clerk_registers_supervisor_sees_it_live_and_dispatches(new_context, live_server):
    supervisor = new_context(viewport=TABLET).new_page()
    _sign_in(supervisor, "supervisor")
    supervisor.goto("/dispatch")
    supervisor.evaluate("window.__same_page = true")  # gone if the page reloads
    navigations = []
    supervisor.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == supervisor.main_frame else None)

    clerk = new_context(viewport=PHONE).new_page()
    _sign_in(clerk, "clerk")
    clerk.goto("/calls/new")
    phone = "139" + "".join(secrets.choice("0123456789") for _ in range(8))
    clerk.fill("input[name=phone]", phone)
    clerk.fill("input[name=name]", "浏览器测试客户")
    clerk.fill("input[name=address]", "上海市黄浦区中山东一路1号")
    clerk.check("input[name=zone][value=urban]")
    clerk.fill("input[name=model_text]", "LED 平板灯 40W")
    clerk.fill("textarea[name=fault]", "灯具通电后不亮")
    clerk.check("input[name=channel][value=phone]")
    clerk.screenshot(path=str(ARTIFACTS / "calls-new-phone.png"), full_page=True)
    clerk.click("button[name=action][value=save]")
    clerk.wait_for_url(re.compile(r"/calls/\d+\?registered=1"))
    number = re.search(r"WO-\d{8}-\d{4}", clerk.inner_text("main")).group(0)

    # The board polls: the new order appears without a reload, in the waiting list.
    row = supervisor.locator("#waiting-list li.wo", has_text=number)
    row.wait_for(timeout=20000)
    assert supervisor.evaluate("window.__same_page === true"), f"the board reloaded: {navigations}"
    supervisor.screenshot(path=str(ARTIFACTS / "dispatch-board-tablet.png"), full_page=True)
    order_id = int(row.get_attribute("id").removeprefix("wo-"))

    row.locator("select[name=technician]").select_option("tech1")
    row.locator("button.primary").click()
    supervisor.locator("#active-list li.wo", has_text=number).wait_for(timeout=15000)
    assert supervisor.locator("#waiting-list li.wo", has_text=number).count() == 0

    api = sign_in(live_server.url, "supervisor")
    detail = api.get(f"/api/work-orders/{order_id}").json()
    assert detail["status"] == "dispatched" and detail["assigned_to"] == "tech1"
    api.close()
