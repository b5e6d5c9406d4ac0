"""The customer signs on the technician's phone; turning the phone sideways mid-signature
must not lose the strokes (a resize empties a canvas), and the signature that arrives is the
one drawn."""

from __future__ import annotations

from tests.browser.conftest import PHONE, device_on_new_order, draw_signature, screenshot, wait_sent
from tests.conftest import sign_in

INK = """(() => {
  const c = document.getElementById('signature-pad');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] < 128 && d[i + 3] > 0) n++;
  return {ink: n, width: c.width, height: c.height};
})()"""


def test_the_signature_survives_turning_the_phone(new_context, make_order, live_server):
    context, page, order_id = device_on_new_order(new_context, make_order)
    page.goto(f"/tech/orders/{order_id}")
    page.wait_for_selector("#order")
    page.click("form[data-action=arrive] button")
    page.click("#h-complete ~ details > summary")
    page.check("form[data-action=complete_work] input[value=fixed]")
    page.fill("form[data-action=complete_work] textarea[name=work_done]", "清洁散热片，更换灯板")
    page.click("form[data-action=complete_work] button.primary")
    page.click(f"a[href='/tech/orders/{order_id}/signoff']")
    page.wait_for_selector("#sign-area:not([hidden])")
    page.fill("#signer-name", "赵敏")
    draw_signature(page)
    upright = page.evaluate(INK)
    assert upright["ink"] > 100

    page.set_viewport_size({"width": PHONE["height"], "height": PHONE["width"]})  # sideways
    page.wait_for_function(f"document.getElementById('signature-pad').width !== {upright['width']}")
    sideways = page.evaluate(INK)
    assert sideways["ink"] > upright["ink"] * 0.8, (upright, sideways)
    screenshot(page, "tech-signoff-turned-phone")

    page.set_viewport_size(PHONE)  # and back
    page.wait_for_function(f"document.getElementById('signature-pad').width === {upright['width']}")
    assert page.evaluate(INK)["ink"] > upright["ink"] * 0.8

    page.click("#sign-confirm")
    page.wait_for_selector("#signed:not([hidden])")
    wait_sent(page)
    supervisor = sign_in(live_server.url, "supervisor")
    signoffs = supervisor.get(f"/api/work-orders/{order_id}").json()["signoffs"]
    assert [(s["signer_name"], s["verified"]) for s in signoffs] == [("赵敏", True)]
