"""The dispatch board (派工) against the real server: order, flags, dispatch / re-dispatch /
cancel without JS and with htmx, internal work, branch isolation, the working calendar page,
and the at-risk monitor."""

from __future__ import annotations

import asyncio
import re
import secrets
import time as clock
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from server import events
from server.accounts.tables import Branch, User
from server.calls.tables import ServiceCall
from server.customers.tables import Customer
from server.dispatch.calendar import WorkingCalendar, add_working_minutes, sla_due
from server.dispatch.monitor import check_at_risk
from server.workorders.service import calendar_of
from server.workorders.tables import DispatchEvent, WorkOrder
from tests.conftest import make_env, start_server

EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", "Accept-Language": "en"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def branch_row(code: str) -> dict:
    return await Branch.select().where(Branch.code == code).first()


async def user_id(username: str) -> int:
    return (await User.select(User.id).where(User.username == username).first())["id"]


async def new_branch(prefix: str) -> dict:
    code = f"{prefix}{secrets.token_hex(3)}"
    branch = Branch(code=code, name=f"测试{code}", name_en=f"Test {code}", timezone="Asia/Shanghai",
                    default_zone="urban", calendar={})
    await branch.save()
    return await branch_row(code)


async def make_order(branch_code: str = "SH-C", *, received: datetime | None = None, zone: str = "urban",
                     status: str = "waiting", assigned: str | None = None, internal: bool = False,
                     due: datetime | None | str = "sla", customer: str = "测试客户", fault: str = "灯不亮",
                     arrived: datetime | None = None) -> int:
    """A work order of our own (with its customer and call unless internal), like the register makes."""
    branch = await branch_row(branch_code)
    cal = WorkingCalendar.from_settings(calendar_of(branch["calendar"]), branch["timezone"])
    now = utcnow()
    received = received or now
    tag = secrets.token_hex(5)
    call_id = None
    if not internal:
        person = Customer(name=customer, phone=f"1{secrets.randbelow(10**10):010d}",
                          address=f"上海市徐汇区测试路{secrets.randbelow(999)}号", zone=zone,
                          branch=branch["id"], created_at=now)
        await person.save()
        call = ServiceCall(number=f"TC-{tag}", branch=branch["id"], customer=person.id, fault=fault,
                           channel="phone", received_at=received, owner=await user_id("clerk"), zone=zone,
                           category="A", category_reason="paid", status="dispatching",
                           created_at=now, updated_at=now)
        await call.save()
        call_id = call.id
    if due == "sla":
        due = None if internal else sla_due(received, zone, cal)
    order = WorkOrder(number=f"T-{tag}", call=call_id, branch=branch["id"], category="D" if internal else "A",
                      zone=zone, description=fault, status=status,
                      assigned_to=await user_id(assigned) if assigned else None, received_at=received,
                      sla_due_at=due, dispatched_at=now if assigned else None, arrived_at=arrived,
                      created_at=now, updated_at=now)
    await order.save()
    return order.id


async def order_row(order_id: int) -> dict:
    return await WorkOrder.select().where(WorkOrder.id == order_id).first()


async def dispatch_events(order_id: int) -> list[dict]:
    return await DispatchEvent.select(
        DispatchEvent.action, DispatchEvent.reason, DispatchEvent.from_user.username.as_alias("from"),
        DispatchEvent.to_user.username.as_alias("to"), DispatchEvent.by_user.username.as_alias("by"),
    ).where(DispatchEvent.work_order == order_id).order_by(DispatchEvent.id)


def waiting_rows(html: str) -> list[tuple[int, str, str]]:
    """(order id, SLA state, carried over) of the waiting list, top to bottom."""
    section = html.split('id="waiting-list"', 1)[1].split("</ol>", 1)[0]
    return [(int(i), sla, carried) for i, sla, carried in re.findall(
        r'id="wo-(\d+)"\s+data-sla="(\w+)" data-carried-over="(\w+)"', section)]


def active_ids(html: str) -> list[int]:
    section = html.split('id="active-list"', 1)[1].split("</ol>", 1)[0]
    return [int(i) for i in re.findall(r'id="wo-(\d+)"', section)]


def local_midnight(now: datetime) -> datetime:
    tz = ZoneInfo("Asia/Shanghai")
    return datetime.combine(now.astimezone(tz).date(), time(0), tz).astimezone(timezone.utc)


def today_minus(now: datetime, minutes: int) -> datetime:
    """`minutes` ago, but never before today's local midnight (so never carried over)."""
    return max(now - timedelta(minutes=minutes), local_midnight(now) + timedelta(seconds=minutes))


# ---- the board ---------------------------------------------------------------------------

async def test_board_lists_carried_over_first_then_by_due_time_with_flags(db, login):
    now = utcnow()
    cal = WorkingCalendar.from_settings(calendar_of((await branch_row("SH-C"))["calendar"]), "Asia/Shanghai")
    later = await make_order(received=today_minus(now, 10), customer="晚到客户")
    earlier = await make_order(received=today_minus(now, 30), customer="早到客户", fault="路灯夜间不亮")
    carried = await make_order(received=local_midnight(now) - timedelta(hours=8), customer="昨日客户")
    internal = await make_order(internal=True, received=now - timedelta(minutes=60), fault="工具保养")
    at_risk = await make_order(received=now - timedelta(hours=5), due=add_working_minutes(now, 30, cal))
    overdue = await make_order(received=now - timedelta(days=3), due=now - timedelta(minutes=1))

    page = login("supervisor").get("/dispatch", headers=EN)
    assert page.status_code == 200
    rows = waiting_rows(page.text)
    ids = [r[0] for r in rows]
    mine = [i for i in ids if i in (later, earlier, carried, internal)]
    assert mine == [carried, earlier, later, internal]
    # every carried-over call stands above every call of today, internal work at the bottom
    states = {r[0]: r for r in rows}
    assert states[carried][2] == "yes" and states[later][2] == "no" and states[internal][2] == "no"
    first_today = min(ids.index(i) for i in ids if states[i][2] == "no")
    assert all(ids.index(i) < first_today for i in ids if states[i][2] == "yes")
    assert states[at_risk][1] == "at_risk" and states[overdue][1] == "overdue"
    assert states[internal][1] == "none"
    row = page.text.split(f'id="wo-{earlier}"', 1)[1].split("</li>", 1)[0]
    assert "早到客户" in row and "徐汇区测试路" in row and "路灯夜间不亮" in row and "Paid service" in row
    assert "Due on site" in row and "Working time left" in row
    at_risk_row = page.text.split(f'id="wo-{at_risk}"', 1)[1].split("</li>", 1)[0]
    assert "At risk" in at_risk_row
    assert "Overdue" in page.text.split(f'id="wo-{overdue}"', 1)[1].split("</li>", 1)[0]
    assert "Carried over" in page.text.split(f'id="wo-{carried}"', 1)[1].split("</li>", 1)[0]
    assert "No due time" in page.text.split(f'id="wo-{internal}"', 1)[1].split("</li>", 1)[0]
    count = re.search(r'id="waiting-count"[^>]*>(\d+)<', page.text).group(1)
    assert int(count) == len(rows)


async def test_the_board_fragment_is_polled_and_shows_a_new_call_by_itself(db, login):
    client = login("supervisor")
    before = client.get("/dispatch/board", headers=HTMX)
    assert before.status_code == 200
    assert before.text.lstrip().startswith("<section id=\"board\"") and "<html" not in before.text
    assert 'hx-trigger="every 1s' in before.text  # FS_BOARD_POLL_SECONDS of the test server
    assert 'hx-get="/dispatch/board"' in before.text
    count_before = int(re.search(r'id="waiting-count"[^>]*>(\d+)<', before.text).group(1))
    new = await make_order(customer="新来电客户")
    after = client.get("/dispatch/board", headers=HTMX)
    assert new in [r[0] for r in waiting_rows(after.text)]
    assert int(re.search(r'id="waiting-count"[^>]*>(\d+)<', after.text).group(1)) == count_before + 1
    assert "新来电客户" in after.text


def tech_open(html: str, username: str) -> int:
    return int(re.search(rf'id="tech-{username}">.*?data-open="(\d+)"', html, re.S).group(1))


async def test_dispatch_redispatch_and_cancel_with_plain_forms(db, login):
    client = login("supervisor")
    order_id = await make_order()
    open_before = tech_open(client.get("/dispatch", headers=EN).text, "tech1")

    response = client.post(f"/dispatch/orders/{order_id}/dispatch", data={"technician": "tech1"}, headers=EN)
    assert response.status_code == 303
    board = client.get(response.headers["location"], headers=EN)
    row = await order_row(order_id)
    assert f"Work order {row['number']} was dispatched to 张伟." in board.text
    assert row["status"] == "dispatched" and row["assigned_to"] == await user_id("tech1")
    assert row["version"] == 2 and row["dispatched_at"] is not None and row["updated_at"] > row["created_at"]
    assert order_id in active_ids(board.text) and order_id not in [r[0] for r in waiting_rows(board.text)]
    assert tech_open(board.text, "tech1") == open_before + 1

    response = client.post(f"/dispatch/orders/{order_id}/dispatch",
                           data={"technician": "tech2", "reason": "张伟另有急修"}, headers=EN)
    assert response.status_code == 303
    row = await order_row(order_id)
    assert row["assigned_to"] == await user_id("tech2") and row["version"] == 3

    refused = client.post(f"/dispatch/orders/{order_id}/cancel", data={"reason": "  "}, headers=EN)
    assert refused.status_code == 422
    assert "Give the reason for cancelling" in refused.text
    assert (await order_row(order_id))["status"] == "dispatched"

    response = client.post(f"/dispatch/orders/{order_id}/cancel", data={"reason": "客户已自行解决"}, headers=EN)
    assert response.status_code == 303
    row = await order_row(order_id)
    assert row["status"] == "cancelled" and row["cancel_reason"] == "客户已自行解决" and row["version"] == 4
    call = await ServiceCall.select(ServiceCall.status).where(ServiceCall.id == row["call"]).first()
    assert call["status"] == "cancelled"

    assert [(e["action"], e["from"], e["to"], e["by"], e["reason"]) for e in await dispatch_events(order_id)] == [
        ("dispatch", None, "tech1", "supervisor", ""),
        ("redispatch", "tech1", "tech2", "supervisor", "张伟另有急修"),
        ("cancel", "tech2", None, "supervisor", "客户已自行解决"),
    ]
    again = client.post(f"/dispatch/orders/{order_id}/dispatch", data={"technician": "tech1"}, headers=EN)
    assert again.status_code == 409 and "was cancelled" in again.text
    assert (await order_row(order_id))["version"] == 4


async def test_dispatch_with_htmx_answers_the_board_fragment(db, login):
    client = login("supervisor")
    order_id = await make_order()
    response = client.post(f"/dispatch/orders/{order_id}/dispatch", data={"technician": "tech2"}, headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="dispatch"') and "<html" not in response.text
    assert "was dispatched to 刘洋" in response.text
    assert order_id in active_ids(response.text)

    # a refusal comes back as the board with the problem next to the field, input kept
    other = await make_order()
    refused = client.post(f"/dispatch/orders/{other}/dispatch", data={"technician": "tech3"}, headers=HTMX)
    assert refused.status_code == 422
    row = refused.text.split(f'id="wo-{other}"', 1)[1].split("</li>", 1)[0]
    assert "works for another branch" in row and 'aria-invalid="true"' in row
    assert (await order_row(other))["status"] == "waiting"


async def test_only_technicians_of_the_orders_branch_can_be_chosen(db, login):
    client = login("supervisor")
    order_id = await make_order()
    for technician, message in (("tech3", "works for another branch"), ("clerk", "is not a technician"),
                                ("nobody-here", "There is no user"), ("", "Choose a technician")):
        response = client.post(f"/dispatch/orders/{order_id}/dispatch", data={"technician": technician}, headers=EN)
        assert response.status_code == 422, technician
        assert message in response.text
    page = client.get("/dispatch", headers=EN).text
    row = page.split(f'id="wo-{order_id}"', 1)[1].split("</li>", 1)[0]
    assert 'value="tech1"' in row and 'value="tech2"' in row and 'value="tech3"' not in row
    assert (await order_row(order_id))["version"] == 1


async def test_finished_orders_cannot_be_redispatched(db, login):
    client = login("supervisor")
    for status, words in (("completed", "already completed"), ("closed", "is closed")):
        order_id = await make_order(status=status, assigned="tech1", arrived=utcnow())
        response = client.post(f"/dispatch/orders/{order_id}/dispatch", data={"technician": "tech2"}, headers=EN)
        assert response.status_code == 409 and words in response.text
        response = client.post(f"/dispatch/orders/{order_id}/cancel", data={"reason": "x"}, headers=EN)
        assert response.status_code == 409
        assert (await order_row(order_id))["status"] == status


async def test_branches_are_kept_apart(db, login):
    sh_c = await make_order("SH-C", customer="市区客户")
    sh_s = await make_order("SH-S", zone="suburban", customer="松江客户")
    supervisor2 = login("supervisor2")
    board = supervisor2.get("/dispatch", headers=EN).text
    ids = [r[0] for r in waiting_rows(board)]
    assert sh_s in ids and sh_c not in ids
    response = supervisor2.post(f"/dispatch/orders/{sh_c}/dispatch", data={"technician": "tech3"}, headers=EN)
    assert response.status_code == 404
    assert (await order_row(sh_c))["status"] == "waiting"
    assert supervisor2.post(f"/dispatch/orders/{sh_c}/cancel", data={"reason": "x"}).status_code == 404

    hq = login("hq")
    everything = [r[0] for r in waiting_rows(hq.get("/dispatch", headers=EN).text)]
    assert sh_c in everything and sh_s in everything
    songjiang = (await branch_row("SH-S"))["id"]
    only_s = [r[0] for r in waiting_rows(hq.get(f"/dispatch?branch={songjiang}", headers=EN).text)]
    assert sh_s in only_s and sh_c not in only_s
    assert hq.post(f"/dispatch/orders/{sh_s}/dispatch", data={"technician": "tech3"}).status_code == 303


async def test_other_roles_may_not_dispatch(db, login, live_server):
    order_id = await make_order()
    for username in ("clerk", "tech1"):
        client = login(username)
        assert client.get("/dispatch", headers=EN).status_code == 403
        assert client.get("/dispatch/board", headers=EN).status_code == 403
        assert client.post(f"/dispatch/orders/{order_id}/dispatch", data={"technician": "tech1"}).status_code == 403
        assert client.post("/dispatch/internal", data={"description": "x"}).status_code == 403
    manager = login("manager")
    assert manager.get("/dispatch").status_code == 200
    anonymous = httpx.get(live_server.url + "/dispatch")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert (await order_row(order_id))["status"] == "waiting"


async def test_supervisor_creates_internal_work_that_waits_on_the_board(db, login):
    client = login("supervisor")
    refused = client.post("/dispatch/internal", data={"description": "", "zone": "suburban"}, headers=EN)
    assert refused.status_code == 422
    assert "Describe the work" in refused.text
    assert re.search(r'<option value="suburban" selected', refused.text)  # the input is kept

    text = f"仓库备件盘点 {secrets.token_hex(3)}"
    response = client.post("/dispatch/internal", data={"description": text, "zone": "urban"}, headers=EN)
    assert response.status_code == 303
    row = await WorkOrder.select().where(WorkOrder.description == text).first()
    assert row["category"] == "D" and row["call"] is None and row["sla_due_at"] is None
    assert row["status"] == "waiting" and row["branch"] == (await branch_row("SH-C"))["id"]
    board = client.get(response.headers["location"], headers=EN).text
    assert f"Internal work order {row['number']} was created" in board
    assert row["id"] in [r[0] for r in waiting_rows(board)]
    assert text in board.split(f'id="wo-{row["id"]}"', 1)[1].split("</li>", 1)[0]

    # head office names the branch; without it the form says so
    hq = login("hq")
    missing = hq.post("/dispatch/internal", data={"description": "培训", "zone": "urban"}, headers=EN)
    assert missing.status_code == 422 and "Choose the branch" in missing.text


# ---- working calendar ------------------------------------------------------------------------

async def test_calendar_page_edits_hours_holidays_and_makeup_days(db, login):
    branch = await new_branch("TC")
    hq = login("hq")
    form = hq.get(f"/dispatch/calendar?branch={branch['id']}", headers=EN)
    assert form.status_code == 200
    assert 'name="hours_0" value="08:30-12:00, 13:00-17:30"' in form.text
    assert 'name="hours_5" value=""' in form.text

    bad = {"branch": branch["id"], "hours_0": "09:00-12:00, 11:30-18:00", "hours_1": "9-17",
           "hours_2": "", "hours_3": "", "hours_4": "", "hours_5": "", "hours_6": "",
           "holidays": "2026-10-01\n2026-02-30", "makeup_days": "2026-10-01"}
    response = hq.post("/dispatch/calendar", data=bad, headers=EN)
    assert response.status_code == 422
    assert "must not overlap" in response.text and "Times are written HH:MM" in response.text
    assert 'value="09:00-12:00, 11:30-18:00"' in response.text  # kept as typed
    assert calendar_of((await branch_row(branch["code"]))["calendar"]) == {}

    good = {**bad, "hours_0": "8:00-12:00, 13:00-17:00", "hours_1": "08:00-12:00",
            "holidays": "2026-10-01 2026-10-02", "makeup_days": "2026-10-10"}
    response = hq.post("/dispatch/calendar", data=good, headers=EN)
    assert response.status_code == 303
    stored = calendar_of((await branch_row(branch["code"]))["calendar"])
    assert stored["hours"]["0"] == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert stored["hours"]["2"] == [] and stored["holidays"] == ["2026-10-01", "2026-10-02"]
    assert stored["makeup_days"] == ["2026-10-10"]
    assert "The working calendar was saved." in hq.get(response.headers["location"], headers=EN).text


async def test_calendar_api_reads_checks_and_stores(db, login):
    branch = await new_branch("TA")
    hq = login("hq", headers=EN)
    current = hq.get(f"/api/branches/{branch['id']}/calendar").json()
    assert current["is_default"] is True and current["hours"]["1"] == [["08:30", "12:00"], ["13:00", "17:30"]]
    assert current["hours"]["6"] == [] and current["holidays"] == []

    bad = hq.put(f"/api/branches/{branch['id']}/calendar",
                 json={"hours": {"0": [["12:00", "08:00"]]}, "holidays": ["2026-10-01"], "makeup_days": ["2026-10-01"]})
    assert bad.status_code == 422
    body = bad.json()
    assert body["error"] == "invalid_input" and body["message"]
    assert {f["field"] for f in body["fields"]} == {"hours.0", "makeup_days"}

    week = {str(d): [["09:00", "17:00"]] if d < 6 else [] for d in range(7)}
    saved = hq.put(f"/api/branches/{branch['id']}/calendar",
                   json={"hours": week, "holidays": ["2027-01-01"], "makeup_days": []})
    assert saved.status_code == 200 and saved.json()["hours"]["5"] == [["09:00", "17:00"]]
    assert hq.get(f"/api/branches/{branch['id']}/calendar").json()["holidays"] == ["2027-01-01"]

    # a supervisor reads their own branch's, and may not touch another's
    supervisor = login("supervisor", headers=EN)
    own = (await branch_row("SH-C"))["id"]
    assert supervisor.get(f"/api/branches/{own}/calendar").status_code == 200
    assert supervisor.get("/dispatch/calendar").status_code == 200
    assert supervisor.put(f"/api/branches/{branch['id']}/calendar", json={"hours": week}).status_code == 404
    assert supervisor.get(f"/dispatch/calendar?branch={branch['id']}").status_code == 404
    assert login("manager").put(f"/api/branches/{own}/calendar", json={"hours": week}).status_code == 403
    assert login("clerk").get(f"/api/branches/{own}/calendar").status_code == 403


# ---- the at-risk monitor ---------------------------------------------------------------------

announced: list[dict] = []


async def _remember(**data) -> None:
    announced.append(data)


async def test_monitor_marks_and_announces_an_order_once_when_it_turns_at_risk(db):
    events.subscribe("work_order_at_risk", _remember)
    branch = await new_branch("TM")
    cal = WorkingCalendar.from_settings({}, "Asia/Shanghai")
    now = utcnow()
    soon = await make_order(branch["code"], received=now - timedelta(hours=4), due=add_working_minutes(now, 300, cal))
    later = await make_order(branch["code"], due=add_working_minutes(now, 340, cal))
    arrived = await make_order(branch["code"], status="in_progress", assigned=None,
                               due=add_working_minutes(now, 300, cal), arrived=now)
    internal = await make_order(branch["code"], internal=True)
    moment = add_working_minutes(now, 280, cal)  # 20 working minutes before `soon` is due

    flagged = await check_at_risk(moment, branch_ids={branch["id"]})
    await events.drain()
    assert flagged == [soon]
    assert {"work_order_id": soon, "branch_id": branch["id"]} in announced
    assert (await order_row(soon))["at_risk_notified"] is True
    for other in (later, arrived, internal):
        assert (await order_row(other))["at_risk_notified"] is False
    assert await check_at_risk(moment, branch_ids={branch["id"]}) == []  # told once only


async def test_monitor_runs_by_itself_in_the_server(db, database_settings, tmp_path):
    branch = await new_branch("TR")
    cal = WorkingCalendar.from_settings({}, "Asia/Shanghai")
    now = utcnow()
    risky = await make_order(branch["code"], received=now - timedelta(hours=5), due=add_working_minutes(now, 30, cal))
    calm = await make_order(branch["code"], due=add_working_minutes(now, 300, cal))
    env = make_env(database_settings.data_dir, database_settings.database_url, FS_MONITOR_SECONDS="0.3")
    server = start_server(env, tmp_path / "monitor.log")
    try:
        deadline = clock.monotonic() + 20
        while clock.monotonic() < deadline and not (await order_row(risky))["at_risk_notified"]:
            await asyncio.sleep(0.2)
    finally:
        server.stop()
    assert (await order_row(risky))["at_risk_notified"] is True
    assert (await order_row(calm))["at_risk_notified"] is False


@pytest.mark.parametrize("lang, text", [("zh-CN", "请选择技术员。"), ("en", "Choose a technician.")])
async def test_refusals_are_said_in_the_users_language(db, login, lang, text):
    order_id = await make_order()
    response = login("supervisor").post(f"/dispatch/orders/{order_id}/dispatch", data={"technician": ""},
                                        headers={"Accept-Language": lang})
    assert response.status_code == 422 and text in response.text


async def test_dispatch_and_redispatch_announce_the_technician_after_commit(db):
    from server.accounts.rules import CurrentUser
    from server.workorders import service as wo_service

    dispatched: list[dict] = []

    async def remember(**data) -> None:
        dispatched.append({**data, "committed": (await order_row(data["work_order_id"]))["assigned_to"]})

    events.subscribe("work_order_dispatched", remember)
    branch = await branch_row("SH-C")
    supervisor = CurrentUser(id=await user_id("supervisor"), username="supervisor", display_name="王建国",
                             role="supervisor", branch_id=branch["id"])
    order_id = await make_order()
    await wo_service.dispatch(order_id, "tech1", supervisor)
    await wo_service.dispatch(order_id, "tech2", supervisor)
    await events.drain()
    mine = [d for d in dispatched if d["work_order_id"] == order_id]
    tech1, tech2 = await user_id("tech1"), await user_id("tech2")
    # handlers run as background tasks: one announcement each, in any order
    assert sorted((d["technician_id"], d["branch_id"]) for d in mine) == sorted([(tech1, branch["id"]), (tech2, branch["id"])])
    to_tech2 = next(d for d in mine if d["technician_id"] == tech2)
    assert to_tech2["committed"] == tech2  # the handler sees the change already stored
