"""Crash test (sync-protocol §2, §6): the real server is killed with SIGKILL at random moments
while a device pushes, restarted, and sent everything again. Not one acknowledged mutation
may be lost and not one effect doubled.

The server runs with its own data folder and database (a fresh PostgreSQL database when the
suite runs on PostgreSQL), so killing it disturbs no other test. To keep twenty restarts
within the time limit, each server process is forked from a "zygote" process that has
already imported the application and built it with create_app (which opens no connection:
the database is reached only from the child's start-up on): a restart costs uvicorn's and the
app's start-up, not Python's imports. Each child is a real uvicorn server, killed with SIGKILL.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx

from tests.conftest import PG_ADMIN_URL, ROOT, _create_pg_database, free_port, make_env, run_cli

ROUNDS = 20
TIME_LIMIT_S = 90
ACTIONS = ("add_note", "add_part", "add_labour")
FACT_ID = {"add_note": ("note_id", "notes"), "add_part": ("line_id", "parts"), "add_labour": ("entry_id", "labour")}


def zygote_main() -> None:
    """Build the app once, then fork one uvicorn server per port read from stdin."""
    import uvicorn

    import server.app

    app = server.app.create_app()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped when they die
    log = open(os.environ["CRASH_TEST_LOG"], "ab")
    for line in sys.stdin:
        port = int(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
            finally:
                os._exit(0)
        print(pid, flush=True)


class Servers:
    """Start a server (a fork of the zygote), kill it with SIGKILL, start the next one."""

    def __init__(self, env: dict, log):
        self.log = log
        self.zygote = subprocess.Popen(
            [sys.executable, "-c", "from tests.integration.test_sync_crash import zygote_main; zygote_main()"],
            env={**env, "CRASH_TEST_LOG": str(log)}, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)
        self.pid = 0
        self.url = ""

    def start(self) -> str:
        port = free_port()
        self.zygote.stdin.write(f"{port}\n")
        self.zygote.stdin.flush()
        answer = self.zygote.stdout.readline()
        if not answer.strip().isdigit():
            raise RuntimeError(f"the zygote could not start a server: {self.log.read_text()[-3000:]}")
        self.pid = int(answer)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/sync/pull", timeout=1)  # answers 401 once it serves
                return self.url
            except httpx.HTTPError:
                self._check_alive()
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def _check_alive(self) -> None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}") from None

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.01)
        raise RuntimeError("the killed server is still there")

    def close(self) -> None:
        try:
            if self.pid:
                self.kill()
        except (ProcessLookupError, RuntimeError):
            pass
        self.zygote.stdin.close()
        self.zygote.wait(10)


class Device:
    """A device's outbox, kept the way the PWA keeps it: a mutation leaves only when a reply
    names its id or its seq is ≤ the reply's last_seq."""

    def __init__(self, device_id: str, token: str, orders: list[int], rng: random.Random):
        self.device_id, self.token, self.orders, self.rng = device_id, token, orders, rng
        self.outbox: list[dict] = []
        self.acked: dict[str, dict] = {}  # id → the mutation, once a reply acknowledged it
        self.max_acked_seq = 0
        self.statuses: dict[str, str] = {}  # id → the status of its first answer
        self.duplicates_seen = 0
        self.committed_unanswered = 0  # committed, but the reply was lost to a kill
        self.seq = 0

    def record(self, count: int) -> None:
        now = datetime.now(timezone.utc)
        for _ in range(count):
            self.seq += 1
            name = self.rng.choice(ACTIONS)
            order = self.rng.choice(self.orders)
            fact_id = str(uuid.uuid4())
            if name == "add_note":
                args = {"work_order_id": order, "note_id": fact_id, "text": f"记录 {self.seq}：检查接线"}
            elif name == "add_part":
                args = {"work_order_id": order, "line_id": fact_id, "part_code": "LED-40W",
                        "qty": self.rng.choice(["1", "2", "0.5"]), "source": "van", "old_part_returned": True}
            else:
                start = now - timedelta(minutes=self.seq % 500 + 30)
                args = {"work_order_id": order, "entry_id": fact_id, "started_at": start.isoformat(),
                        "ended_at": (start + timedelta(minutes=15)).isoformat()}
            self.outbox.append({"id": str(uuid.uuid4()), "seq": self.seq, "name": name, "args": args,
                                "base_version": None, "captured_at": now.isoformat()})

    def pending(self) -> list[dict]:
        return [m for m in self.outbox if m["id"] not in self.acked]

    def envelope(self, mutations: list[dict]) -> dict:
        return {"device_id": self.device_id, "schema_version": 1, "clock_offset_ms": 0, "mutations": mutations}

    def take_reply(self, sent: list[dict], reply: dict) -> None:
        by_id = {m["id"]: m for m in sent}
        for result in reply["results"]:
            mutation = by_id[result["id"]]
            if result["status"] == "duplicate":
                self.duplicates_seen += 1
                self.committed_unanswered += result["id"] not in self.statuses
                original = result["original"]["status"]
                assert self.statuses.setdefault(result["id"], original) == original, result
            else:
                assert result["status"] == "applied", result
                assert result["id"] not in self.statuses, f"applied twice: {result}"
                self.statuses[result["id"]] = result["status"]
            self.acked[result["id"]] = mutation
        for mutation in sent:
            if mutation["seq"] <= reply["last_seq"]:
                self.acked.setdefault(mutation["id"], mutation)
        self.max_acked_seq = max(self.max_acked_seq, reply["last_seq"])
        assert reply["stopped"] is None or reply["stopped"]["reason"] != "seq_reused", reply

    def sync(self, url: str, resend_acked: int = 0) -> bool:
        """Push the outbox in chunks, the first one led by some already acknowledged mutations.
        False when the server went away."""
        replay = sorted(self.rng.sample(list(self.acked.values()), min(resend_acked, len(self.acked))),
                        key=lambda m: m["seq"])
        server_errors = 0
        with httpx.Client(base_url=url, timeout=20, headers={"Authorization": f"Bearer {self.token}"}) as client:
            while self.pending():
                pending = self.pending()
                batch = replay + pending[:self.rng.randint(5, 40)]
                replay = []
                try:
                    response = client.post("/sync/push", json=self.envelope(batch))
                except httpx.TransportError:
                    return False
                if response.status_code >= 500:  # nothing committed: send the same again
                    server_errors += 1
                    assert server_errors < 5, response.text
                    continue
                assert response.status_code == 200, response.text
                self.take_reply(batch, response.json())
        return True


def register(url: str) -> tuple[dict, list[int]]:
    device = httpx.post(url + "/sync/devices", json={"username": "tech1", "password": "demo",
                                                     "device_name": "crash test"}, timeout=20).json()
    pulled = httpx.get(url + "/sync/pull", headers={"Authorization": f"Bearer {device['token']}"}, timeout=20).json()
    orders = [o["id"] for o in pulled["work_orders"] if o["status"] in ("dispatched", "in_progress")]
    assert orders, pulled
    return device, orders


def test_sigkill_during_pushes_loses_no_acknowledged_mutation_and_doubles_no_effect(tmp_path):
    started = time.monotonic()
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    env = make_env(tmp_path / "data", _create_pg_database() if PG_ADMIN_URL else "")
    servers = Servers(env, tmp_path / "server.log")  # imports the app meanwhile
    try:
        run_cli(env, "migrate")
        run_cli(env, "demo")
        url = servers.start()
        registered, orders = register(url)
        device = Device(registered["device_id"], registered["token"], orders, rng)
        kills_mid_push = 0
        for round_no in range(ROUNDS):
            device.record(rng.randint(150, 400))
            outcome: dict = {}
            resend = rng.randint(0, 5)

            def send(url=url):
                try:
                    outcome["finished"] = device.sync(url, resend_acked=resend)
                except BaseException as error:  # raised again in the test's thread
                    outcome["error"] = error

            sender = threading.Thread(target=send)
            sender.start()
            time.sleep(rng.uniform(0.0, 0.3))
            servers.kill()
            sender.join(30)
            assert not sender.is_alive()
            if "error" in outcome:
                raise outcome["error"]
            kills_mid_push += outcome.get("finished") is False
            url = servers.start()
            # Everything acknowledged before the kill is still there: the device's last_seq
            # on the server is at least the highest acknowledged seq.
            pulled = httpx.get(url + "/sync/pull", timeout=20,
                               headers={"Authorization": f"Bearer {device.token}"}).json()
            assert pulled["last_seq"] >= device.max_acked_seq, (seed, round_no, pulled["last_seq"], device.max_acked_seq)
            assert time.monotonic() - started < TIME_LIMIT_S, f"round {round_no}: over the time limit (seed {seed})"

        # After the last restart: send what is left (and some again), then read back.
        assert device.sync(url, resend_acked=10)
        assert not device.pending()
        assert kills_mid_push >= 3, f"only {kills_mid_push} kills landed during a push (seed {seed})"
        print(f"crash test: seed {seed}, {kills_mid_push} of {ROUNDS} kills during a push, "
              f"{len(device.outbox)} mutations, {device.duplicates_seen} answered as duplicates, "
              f"{device.committed_unanswered} of them committed before a kill took the reply")
        assert device.duplicates_seen > 0
        expected: dict[int, dict[str, list[str]]] = {o: {"notes": [], "parts": [], "labour": []} for o in orders}
        for mutation in device.outbox:
            id_field, listed_in = FACT_ID[mutation["name"]]
            expected[mutation["args"]["work_order_id"]][listed_in].append(mutation["args"][id_field])
        for order in orders:
            response = httpx.get(f"{url}/api/work-orders/{order}", timeout=20,
                                 headers={"Authorization": f"Bearer {device.token}"})
            assert response.status_code == 200, response.text
            held = response.json()
            for listed_in, id_field in (("notes", "note_id"), ("parts", "line_id"), ("labour", "entry_id")):
                ids = [item[id_field] for item in held[listed_in]]
                assert len(ids) == len(set(ids)), f"an effect doubled on order {order} (seed {seed})"
                assert sorted(ids) == sorted(expected[order][listed_in]), f"{listed_in} of {order} (seed {seed})"
        assert time.monotonic() - started < TIME_LIMIT_S
    finally:
        servers.close()
