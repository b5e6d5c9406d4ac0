"""The technician's screens against the real server: who sees what, the day's order, the
order's record, and the files that make the PWA installable."""

import json
import re

import httpx
import pytest
from PIL import Image

from server.web import STATIC_DIR
from tests.browser.orders import create_order

ORDER_LINK = re.compile(r'href="/tech/orders/(\d+)"')


@pytest.fixture(scope="module")
async def orders(db):
    urgent = await create_order("tech1", fault="急修：配电柜跳闸", received_minutes_ago=200)
    later = await create_order("tech1", fault="普通报修：灯不亮", received_minutes_ago=5)
    history = await create_order("tech1", status="closed", unit_of=later, fault="上次维修：灯板更换")
    others = await create_order("tech2", fault="别人的工单")
    return {"urgent": urgent, "later": later, "history": history, "others": others}


def test_the_day_lists_only_my_orders_with_the_nearest_deadline_first(login, orders):
    page = login("tech1").get("/tech", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    ids = [int(i) for i in ORDER_LINK.findall(page.text)]
    assert orders["urgent"] in ids and orders["later"] in ids
    assert ids.index(orders["urgent"]) < ids.index(orders["later"])
    assert orders["others"] not in ids
    assert "min left" in page.text or "min overdue" in page.text
    assert "HX-Request" in page.headers["vary"].split(",")


def test_an_order_shows_customer_map_product_history_fault_and_every_action(login, orders):
    page = login("tech1").get(f"/tech/orders/{orders['later']}", headers={"Accept-Language": "en"}).text
    assert "测试客户" in page and "https://uri.amap.com/search?keyword=" in page
    assert "LED-PL40" in page and "普通报修：灯不亮" in page
    assert "上次维修：灯板更换" in page  # the voucher's service history
    for action in ("start_travel", "arrive", "record_diagnosis", "add_part", "add_labour", "add_note", "attach_photo", "complete_work", "collect_fee", "carry_back"):
        assert f'data-action="{action}"' in page
    data = json.loads(re.search(r'<script type="application/json" id="order-data">(.*?)</script>', page, re.S).group(1))
    assert data["id"] == orders["later"] and data["parts"] == [] and "version" in data


def test_a_technician_cannot_open_someone_elses_order(login, orders):
    tech1 = login("tech1")
    for path in ("", "/signoff", "/rating"):
        assert tech1.get(f"/tech/orders/{orders['others']}{path}").status_code == 404


def test_only_technicians_reach_the_technician_screens(live_server, login):
    assert login("clerk").get("/tech").status_code == 403
    assert login("supervisor").get("/tech/parts").status_code == 403
    anonymous = httpx.get(live_server.url + "/tech", follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]


def test_pages_speak_chinese_first_and_english_on_request(login, orders):
    tech = login("tech1")
    assert "今日工单" in tech.get("/tech").text
    assert "Today's orders" in tech.get("/tech", headers={"Accept-Language": "en"}).text
    rating = tech.get(f"/tech/orders/{orders['later']}/rating").text
    assert "我要投诉" in rating and "非常满意" in rating


def test_parts_show_the_catalogue_with_my_van_stock(login):
    page = login("tech1").get("/tech/parts").text
    assert 'data-code="LED-40W"' in page and 'data-stock="4"' in page  # tech1 carries 4
    assert 'data-code="MED-PROBE-C5"' in page


def test_summary_and_offline_pages(live_server, login, orders):
    assert login("tech1").get("/tech/summary").status_code == 200
    offline = httpx.get(live_server.url + "/offline")
    assert offline.status_code == 200 and "/tech" in offline.text


def test_service_worker_is_served_at_the_root_uncached(live_server):
    response = httpx.get(live_server.url + "/sw.js")
    assert response.status_code == 200
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/javascript")
    build = json.loads(re.match(r"self\.FS_BUILD = (\{.*?\});\n", response.text).group(1))
    assert "/offline" in build["shell"]
    assert all(re.search(r"\?v=[0-9a-f]{10}$", url) for url in build["shell"][1:])
    for url in build["shell"]:  # everything precached really exists
        assert httpx.get(live_server.url + url).status_code == 200, url


def test_manifest_makes_the_app_installable(live_server):
    response = httpx.get(live_server.url + "/manifest.webmanifest")
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["start_url"] == "/tech" and manifest["display"] == "standalone"
    assert "现场服务" in manifest["name"] and "Field Service" in manifest["name"]
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        path = STATIC_DIR / icon["src"].removeprefix("/static/")
        with Image.open(path) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
        assert httpx.get(live_server.url + icon["src"]).status_code == 200
