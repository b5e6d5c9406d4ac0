"""A whole job done offline on an order never opened before; nothing lost, each item once."""

import io
import re

from PIL import Image

from tests.browser.conftest import (TABLET, draw_signature, outbox_count, screenshot, set_up_device,
                                    sign_in_page, wait_sent)
from tests.conftest import sign_in


def camera_photo() -> dict:
    """A 3000×2000 JPEG as a phone camera would hand it over."""
    image = Image.new("RGB", (3000, 2000), (30, 120, 200))
    for x in range(0, 3000, 100):
        image.paste((240, 200, 40), (x, 0, x + 40, 2000))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return {"name": "camera.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def add_part(page, code: str, qty: str, returned: bool = False) -> None:
    page.click("#h-parts ~ details > summary")
    page.fill("form[data-action=add_part] input[name=part_search]", code)
    page.wait_for_function(f"document.querySelector('form[data-action=add_part] input[name=part_code]').value === '{code}'")
    page.fill("form[data-action=add_part] input[name=qty]", qty)
    if returned:
        page.check("form[data-action=add_part] input[name=old_part_returned]")
    page.click("form[data-action=add_part] button.primary")
    page.wait_for_selector(f"#list-parts li:has-text('{code}') .state-pending")


def test_whole_job_offline_then_everything_arrives_once(new_context, make_order, live_server):
    order_id = make_order("tech1", category="A", fault="走廊灯具全部不亮")
    context = new_context(viewport=TABLET)
    page = context.new_page()
    sign_in_page(page, "tech1")
    set_up_device(page)

    context.set_offline(True)  # before the order was ever opened
    page.goto("/tech")
    page.click(f"a[href='/tech/orders/{order_id}']")
    page.wait_for_selector("#order")
    assert page.locator(".asof.stale").count() == 1  # a saved page says it is one

    page.click("form[data-action=arrive] button")
    page.wait_for_selector("[data-field=arrived_at] .state-pending")
    page.click("#h-diagnosis ~ details > summary")
    page.fill("form[data-action=record_diagnosis] textarea[name=observed]", "驱动电源输出为零")
    page.fill("form[data-action=record_diagnosis] textarea[name=cause]", "驱动电源烧毁")
    page.check("form[data-action=record_diagnosis] input[value=general]")
    page.click("form[data-action=record_diagnosis] button.primary")
    page.wait_for_selector("[data-field=cause] .state-pending")

    add_part(page, "LED-40W", "2")
    add_part(page, "LED-DRV-40", "1", returned=True)
    add_part(page, "GEN-SCREW", "1.50")
    page.click("#list-parts li:has-text('GEN-SCREW') form[data-action=void_part] button")
    page.wait_for_selector("#list-parts li.voided:has-text('GEN-SCREW')")

    page.click("#h-labour ~ details > summary")
    page.fill("form[data-action=add_labour] input[name=started_at]", "2026-11-20T09:00")
    page.fill("form[data-action=add_labour] input[name=ended_at]", "2026-11-20T10:35")
    page.click("form[data-action=add_labour] button.primary")
    page.wait_for_selector("#list-labour li .state-pending")

    page.set_input_files("form[data-action=attach_photo] input[name=photo]", camera_photo())
    page.fill("form[data-action=attach_photo] input[name=caption]", "烧毁的驱动电源")
    page.click("form[data-action=attach_photo] button.primary")
    page.wait_for_selector("#list-photos li .state-pending")
    page.fill("form[data-action=add_note] textarea[name=text]", "客户要求下次提前电话联系")
    page.click("form[data-action=add_note] button.primary")
    page.wait_for_selector("#list-notes li .state-pending")

    waiting = outbox_count(page)
    assert waiting == 9
    page.reload()  # still offline: the page comes from the cache, the work from the outbox
    page.wait_for_selector("#order")
    page.wait_for_selector(f"#outbox-badge[data-count='{waiting}']")
    assert page.locator("#list-parts li").count() == 3
    assert page.locator("#list-parts li.voided").count() == 1
    assert page.locator("#list-photos li img.thumb").count() == 1
    assert page.locator("[data-field=cause]").inner_text().startswith("驱动电源烧毁")
    screenshot(page, "tech-order-offline-pending-tablet")

    page.click("#h-complete ~ details > summary")
    page.check("form[data-action=complete_work] input[value=fixed]")
    page.fill("form[data-action=complete_work] textarea[name=work_done]", "更换驱动电源和灯板，通电测试正常")
    page.click("form[data-action=complete_work] button.primary")
    page.fill("form[data-action=collect_fee] input[name=amount]", "180.50")
    page.fill("form[data-action=collect_fee] input[name=receipt_no]", "R-0001")
    page.click("form[data-action=collect_fee] button.primary")
    page.wait_for_selector("#list-payments li .state-pending")

    page.click(f"a[href='/tech/orders/{order_id}/signoff']")
    page.wait_for_selector("#sign-area:not([hidden])")
    assert "更换驱动电源和灯板" in page.inner_text("[data-record=work_done]")
    assert page.locator("[data-record=parts] li").count() == 2
    assert "1:35" in page.inner_text("[data-record=labour]")
    assert "180.50" in page.inner_text("[data-record=fee]")
    page.click("#sign-confirm")  # nothing drawn yet
    page.wait_for_selector("#sign-error:not([hidden])")
    page.fill("#signer-name", "王芳")
    draw_signature(page)
    page.click("#sign-confirm")
    page.wait_for_selector("#signed:not([hidden])")
    assert page.locator("#sign-area").is_hidden()  # read-only after signing
    page.wait_for_selector("#signed-image:not([hidden])")
    screenshot(page, "tech-signoff-signed-tablet")

    page.click("#signed a[href$='/rating']")
    page.wait_for_selector("#rating-form")
    for item, level in (("attitude", 4), ("skill", 4), ("arrival", 2), ("promises", 3)):
        page.click(f"label.level:has(input[name={item}][value='{level}'])")
    page.fill("textarea[name=comment]", "维修很快")
    page.check("#complain")
    page.fill("textarea[name=complaint]", "比约定时间晚到一小时")
    page.click("#rating-form button.primary")
    page.wait_for_selector("#thanks:not([hidden])")
    screenshot(page, "tech-rating-thanks-tablet")
    assert outbox_count(page) == 13

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_sent(page, timeout=30000)

    tech = sign_in(live_server.url, "tech1")
    order = tech.get(f"/api/work-orders/{order_id}").json()
    assert order["status"] == "completed"
    assert order["arrived_at"]
    parts = {p["part_code"]: p for p in order["parts"]}
    assert len(order["parts"]) == 3 and parts["GEN-SCREW"]["voided"] and not parts["LED-40W"]["voided"]
    assert parts["LED-40W"]["qty"] == "2"
    assert len(order["labour"]) == 1 and order["report"]["labour_minutes"] == 95
    assert [n["text"] for n in order["notes"]] == ["客户要求下次提前电话联系"]
    assert len(order["photos"]) == 1
    photo = tech.get(f"/api/blobs/{order['photos'][0]['sha256']}")
    with Image.open(io.BytesIO(photo.content)) as shrunk:  # shrunk on the device before upload
        assert shrunk.format == "JPEG" and max(shrunk.size) == 1600
    assert [p["amount_cents"] for p in order["payments"]] == [18050]
    assert len(order["signoffs"]) == 1 and order["signoffs"][0]["verified"] is True
    assert len(order["ratings"]) == 1 and order["ratings"][0]["arrival"] == 2
    assert order["report"]["work_done"] == "更换驱动电源和灯板，通电测试正常"
    assert order["conflicts"] == []
    page.goto(f"/tech/orders/{order_id}")
    assert page.locator("#problems").is_hidden()
    assert re.search(r"18[0-9.]*", page.inner_text("#list-payments"))
