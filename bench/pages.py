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


async def add_waiting_orders(data_dir: Path, count: int) -> None:
    from server.accounts.tables import Branch
    from server.db import bind_engine
    from server.dispatch.calendar import WorkingCalendar, sla_due
    from server.settings import Settings
    from server.workorders.tables import WorkOrder

    settings = Settings.from_env(make_env(data_dir, ""))
    bind_engine(settings)
    branch = await Branch.select().where(Branch.code == "SH-C").first()
    cal = WorkingCalendar.from_settings(branch["calendar"], branch["timezone"])
    now = datetime.now(timezone.utc)
    waiting = await WorkOrder.count().where((WorkOrder.status == "waiting") & (WorkOrder.branch == branch["id"]))
    rows = []
    for i in range(count - waiting):
        received = now - timedelta(minutes=7 * i)
        rows.append(WorkOrder(number=f"WO-BENCH-{i:04d}", branch=branch["id"], category="A", zone="urban",
                              description=f"bench order {i}", status="waiting", received_at=received,
                              sla_due_at=sla_due(received, "urban", cal), created_at=received, updated_at=received))
    if rows:
        await WorkOrder.insert(*rows)


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
    print(f"call register (page of 25): {register_rps:.0f} req/s")
    print(f"board_ratio={board_rps / baseline:.3f} register_ratio={register_rps / baseline:.3f}")


if __name__ == "__main__":
    main()
