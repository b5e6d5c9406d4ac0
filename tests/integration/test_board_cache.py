"""The dispatch board is drawn once per change and reused while nothing changes (it is polled
every few seconds by every supervisor): these tests check that every kind of change still
shows at once, and that a reused drawing carries each viewer's own CSRF token."""

from __future__ import annotations

import re
import secrets

from server.accounts.service import create_user
from server.accounts.tables import User
from server.sync.tables import Conflict
from server.workorders.tables import WorkOrder
from tests.integration.test_dispatch import HTMX, make_order, user_id, utcnow, waiting_rows


def csrf_fields(html: str) -> set[str]:
    return set(re.findall(r'name="_csrf" value="([^"]+)"', html))


async def test_each_viewer_gets_a_board_with_their_own_csrf_token(db, login):
    first, second = login("supervisor"), login("supervisor")
    order = await make_order(customer="令牌客户")
    boards = [client.get("/dispatch/board", headers=HTMX).text for client in (first, second)]
    assert csrf_fields(boards[0]) == {first.csrf_token}
    assert csrf_fields(boards[1]) == {second.csrf_token}
    assert boards[0].replace(first.csrf_token, "") == boards[1].replace(second.csrf_token, "")
    # The form as drawn for the second viewer works for them, without JavaScript.
    answer = second.post(f"/dispatch/orders/{order}/dispatch",
                         data={"technician": "tech1", "_csrf": csrf_fields(boards[1]).pop()})
    assert answer.status_code == 303
    assert order not in [r[0] for r in waiting_rows(first.get("/dispatch/board", headers=HTMX).text)]


async def test_a_change_made_elsewhere_shows_on_the_next_poll(db, login):
    watcher, other = login("supervisor"), login("supervisor")
    order = await make_order(customer="别处派工客户")
    assert order in [r[0] for r in waiting_rows(watcher.get("/dispatch/board", headers=HTMX).text)]
    assert other.post(f"/api/work-orders/{order}/dispatch", json={"technician": "tech2"},
                      headers={"X-CSRF-Token": other.csrf_token}).status_code == 200
    board = watcher.get("/dispatch/board", headers=HTMX).text
    assert order not in [r[0] for r in waiting_rows(board)]
    assert f'id="wo-{order}"' in board.split('id="active-list"', 1)[1]


async def test_a_new_technician_shows_on_the_board(db, login):
    client = login("supervisor")
    client.get("/dispatch/board", headers=HTMX)
    username = f"t{secrets.token_hex(4)}"
    await create_user(username, "demo-pass-1234", "technician", display_name="新技术员",
                      branch_code="SH-C", check_policy=False)
    try:
        assert f'id="tech-{username}"' in client.get("/dispatch/board", headers=HTMX).text
    finally:
        await User.update({User.active: False}).where(User.username == username)
    assert f'id="tech-{username}"' not in client.get("/dispatch/board", headers=HTMX).text


async def test_a_new_sync_conflict_shows_its_count_on_the_board(db, login):
    client = login("supervisor")

    def count(html: str) -> int:
        found = re.search(r"Sync conflicts to review: (\d+)", html)
        return int(found.group(1)) if found else 0

    before = count(client.get("/dispatch/board", headers=HTMX).text)
    order = await make_order(status="dispatched", assigned="tech1")
    conflict = Conflict(work_order=order, kind="stale_edit", field="cause", technician=await user_id("tech1"),
                        created_at=utcnow(), status="open")
    await conflict.save()
    try:
        assert count(client.get("/dispatch/board", headers=HTMX).text) == before + 1
    finally:
        await Conflict.update({Conflict.status: "dismissed"}).where(Conflict.id == conflict.id)
        await WorkOrder.update({WorkOrder.status: "cancelled", WorkOrder.version: WorkOrder.version + 1}).where(
            WorkOrder.id == order)
    assert count(client.get("/dispatch/board", headers=HTMX).text) == before


async def test_each_language_gets_its_own_board(db, login):
    client = login("supervisor")
    english = client.get("/dispatch/board", headers=HTMX).text
    chinese = client.get("/dispatch/board", headers={**HTMX, "Accept-Language": "zh-CN"}).text
    assert "Waiting for dispatch" in english and "Waiting for dispatch" not in chinese
    assert "Waiting for dispatch" in client.get("/dispatch/board", headers=HTMX).text
