"""Requests per second of the dispatch board (50 waiting orders) and of the call register,
each divided by a bare Litestar hello-world route served the same way in the same run.

Both servers are uvicorn subprocesses on loopback; the same asyncio client measures each for
the same time with the same concurrency. Prints the figures, then one line
`board_ratio=<x> register_ratio=<y>` (target ≥ 0.3).

    .venv/bin/python bench/pages.py [--seconds 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port, make_env, run_cli, start_server  # noqa: E402


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["芳", "伟", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛"]
STREETS = ["漕溪北路", "肇嘉浜路", "天钥桥路", "虹桥路", "中山西路", "宜山路", "田林路", "钦州路"]
FAULTS = ["LED 平板灯不亮，开关后闪烁一下即灭", "储能电池柜告警，电量显示跳变", "筒灯驱动电源有异响",
          "监护仪开机自检失败", "路灯控制器不响应定时", "电池包充电时温度过高"]


async def add_waiting_orders(data_dir: Path, count: int) -> None:
    """Calls registered today in the city branch, each with its customer and a work order
    waiting for dispatch, until `count` orders wait: a full board and a full register page."""
    from server.accounts.tables import Branch, User
    from server.calls.tables import ServiceCall
    from server.customers.tables import Customer
    from server.db import bind_engine
    from server.dispatch.calendar import WorkingCalendar, sla_due
    from server.settings import Settings
    from server.workorders.service import calendar_of
    from server.workorders.tables import WorkOrder

    settings = Settings.from_env(make_env(data_dir, ""))
    bind_engine(settings)
    branch = await Branch.select().where(Branch.code == "SH-C").first()
    clerk = await User.select(User.id).where(User.username == "clerk").first()
    cal = WorkingCalendar.from_settings(calendar_of(branch["calendar"]), branch["timezone"])
    now = datetime.now(timezone.utc)
    waiting = await WorkOrder.count().where((WorkOrder.status == "waiting") & (WorkOrder.branch == branch["id"]))
    for i in range(count - waiting):
        received = now - timedelta(minutes=7 * i)
        customer = Customer(name=SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)], phone=f"1390000{i:04d}",
                            address=f"上海市徐汇区{STREETS[i % len(STREETS)]}{10 + i}号{100 + i}室", zone="urban",
                            branch=branch["id"], created_at=received)
        await customer.save()
        call = ServiceCall(number=f"C-BENCH-{i:04d}", branch=branch["id"], customer=customer.id,
                           model_text="LED 平板灯 40W", serial_text=f"SN-BENCH-{i:05d}", fault=FAULTS[i % len(FAULTS)],
                           channel="phone", received_at=received, owner=clerk["id"], zone="urban", category="A",
                           category_reason="paid", status="dispatching", created_at=received, updated_at=received)
        await call.save()
        await WorkOrder(number=f"WO-BENCH-{i:04d}", call=call.id, branch=branch["id"], category="A", zone="urban",
                        description=call.fault, status="waiting", received_at=received,
                        sla_due_at=sla_due(received, "urban", cal), created_at=received, updated_at=received).save()


async def measure(url: str, seconds: float, concurrency: int, cookies: dict | None = None) -> float:
    async with httpx.AsyncClient(cookies=cookies, timeout=30,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        for _ in range(20):  # warm up
            (await client.get(url)).raise_for_status()
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker():
            nonlocal done
            while time.perf_counter() < deadline:
                response = await client.get(url)
                response.raise_for_status()
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - start)


def sign_in(base: str, username: str) -> dict:
    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="_csrf" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": username, "password": "demo", "_csrf": token})
        return {"fs_session": client.cookies["fs_session"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = make_env(data, "", FS_LOG_LEVEL="warning")
        run_cli(env, "migrate")
        run_cli(env, "demo")
        asyncio.run(add_waiting_orders(data, 50))
        app = start_server(env, data / "app.log")
        hello_env = dict(env)
        import subprocess

        port = free_port()
        hello = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "bench.hello_app:create",
                                  "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                                 cwd=ROOT, env=hello_env)
        try:
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            cookies = sign_in(app.url, "supervisor")
            board_html = httpx.get(app.url + "/dispatch", cookies=cookies).text
            shown = board_html.count("WO-BENCH-")
            register_html = httpx.get(app.url + "/calls", cookies=cookies).text
            register_rows = len(re.findall(r'href="/calls/\d+"', register_html))
            hello_rps = asyncio.run(measure(f"http://127.0.0.1:{port}/", args.seconds, args.concurrency))
            board_rps = asyncio.run(measure(app.url + "/dispatch", args.seconds, args.concurrency, cookies))
            register_rps = asyncio.run(measure(app.url + "/calls", args.seconds, args.concurrency, cookies))
            hello_rps_again = asyncio.run(measure(f"http://127.0.0.1:{port}/", args.seconds, args.concurrency))
        finally:
            hello.terminate()
            app.stop()
    baseline = (hello_rps + hello_rps_again) / 2
    print(f"hello-world baseline: {hello_rps:.0f} and {hello_rps_again:.0f} req/s (mean {baseline:.0f})")
    print(f"dispatch board (50 waiting orders, {shown} bench rows rendered): {board_rps:.0f} req/s")
    print(f"call register ({register_rows} calls on the page): {register_rps:.0f} req/s")
    print(f"board_ratio={board_rps / baseline:.3f} register_ratio={register_rps / baseline:.3f}")


if __name__ == "__main__":
    main()
