"""Every technician and customer screen at phone (360×740) and tablet (1024×768) size:
screenshots for a person to look at (tests/artifacts/), and axe-core finds nothing serious."""

import pytest

from tests.browser.conftest import PHONE, TABLET, axe_violations, screenshot, sign_in_page

SCREENS = [
    ("day", "/tech"),
    ("order", "/tech/orders/{id}"),
    ("parts", "/tech/parts"),
    ("signoff", "/tech/orders/{id}/signoff"),
    ("rating", "/tech/orders/{id}/rating"),
    ("summary", "/tech/summary"),
    ("offline", "/offline"),
]


@pytest.mark.parametrize("size_name,viewport", [("phone", PHONE), ("tablet", TABLET)])
def test_every_screen_renders_and_passes_axe(new_context, make_order, size_name, viewport):
    open_id = make_order("tech2", category="A")
    done_id = make_order("tech2", category="A", status="completed", unit_of=open_id)
    page = new_context(viewport=viewport).new_page()
    sign_in_page(page, "tech2")
    problems = {}
    for name, path in SCREENS:
        page.goto(path.format(id=done_id if name in ("signoff", "rating") else open_id))
        page.wait_for_selector("main h1")
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)  # the page's script merges the device's state
        if name == "order":
            # the record the technician sees: customer, map link, product, history, fault, actions
            assert page.locator("a[href^='https://uri.amap.com/']").count() == 1
            for action in ("start_travel", "arrive", "record_diagnosis", "add_part", "add_labour", "add_note",
                           "attach_photo", "complete_work", "collect_fee", "carry_back"):
                assert page.locator(f"form[data-action='{action}']").count() >= 1, action
        screenshot(page, f"tech-{name}-{size_name}")
        found = axe_violations(page)
        if found:
            problems[name] = found
    assert problems == {}
    page.goto(f"/tech/orders/{open_id}/signoff")  # not completed yet: no signature possible
    page.wait_for_selector("#not-completed:not([hidden])")
    assert page.locator("#signature-pad").is_hidden()
