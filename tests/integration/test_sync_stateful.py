"""A Hypothesis state machine against the real server: several devices of two technicians and
a supervisor who re-dispatches and cancels. Batches are sent whole, split, duplicated, out of
order (gaps), delayed and delivered later, or their replies are dropped.

A simple model predicts the server's answer to every mutation (sync-protocol §2 and §4) and
what the read-back must hold. Invariants: every reply is the predicted one; the read-back of
each order equals the model (every kept fact exactly once, versions, a conflict row for every
reassignment, cancellation and stale edit); when everything is finally resent, every mutation
is acknowledged and nothing is doubled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from tests.integration import sync_kit as kit

KINDS = ("note", "part", "bad_part", "labour", "fee", "diagnosis")
FACT_LIST = {"note": ("notes", "note_id"), "part": ("parts", "line_id"), "labour": ("labour", "entry_id"),
             "fee": ("payments", "payment_id")}
CAUSES = ("电源老化", "雷击", "进水", "接触不良")


@dataclass
class ModelOrder:
    id: int
    assigned: str
    history: set[str]
    version: int
    status: str = "dispatched"
    cause: str = ""
    cause_changes: list[tuple[int, str, str]] = field(default_factory=list)  # (version, device, previous)
    facts: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in FACT_LIST})
    conflicts: list[str] = field(default_factory=list)


@dataclass
class ModelDevice:
    device: kit.Device
    tech: str
    server_last_seq: int  # what the server holds
    outbox: list[dict] = field(default_factory=list)  # made, not yet acknowledged to the device
    deleted: list[dict] = field(default_factory=list)  # taken out of the outbox after a reply
    seen: dict[int, int] = field(default_factory=dict)  # order → last version the device saw


class SyncMachine(RuleBasedStateMachine):
    url: str = ""
    supervisor: httpx.Client
    devices: list[tuple[kit.Device, str]] = []

    def __init__(self):
        super().__init__()
        self.orders: dict[int, ModelOrder] = {}
        self.devs: list[ModelDevice] = []
        self.delayed: list[tuple[int, list[dict]]] = []
        self.meta: dict[str, tuple[str, int, dict]] = {}  # mutation id → (kind, order, args)

    @initialize()
    def setup(self):
        for device, tech in self.devices:
            last = device.last_seq()
            device.seq = last
            self.devs.append(ModelDevice(device, tech, last))
        for tech in ("tech1", "tech1", "tech2"):
            wo = kit.new_order(self.supervisor, tech)
            version = kit.order(self.supervisor, wo)["version"]
            self.orders[wo] = ModelOrder(wo, tech, {tech}, version)

    # --- making work on a device ----------------------------------------------------

    @rule(d=st.integers(0, 2), o=st.integers(0, 2), kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=3),
          cause=st.sampled_from(CAUSES))
    def record(self, d, o, kinds, cause):
        for kind in kinds:
            self.make(d, o, kind, cause)

    @rule(o=st.integers(0, 2), causes=st.tuples(st.sampled_from(CAUSES), st.sampled_from(CAUSES)))
    def both_tablets_edit_the_diagnosis(self, o, causes):
        """tech1's two devices change the same field offline, each on what it saw."""
        self.make(0, o, "diagnosis", causes[0])
        self.make(1, o, "diagnosis", causes[1])

    def make(self, d, o, kind, cause):
        dev = self.devs[d]
        wo = list(self.orders)[o]
        if kind == "note":
            name, args = kit.note(wo)
        elif kind == "part":
            name, args = kit.add_part(wo, "LED-40W", "1.50")
        elif kind == "bad_part":
            name, args = kit.add_part(wo, "NO-SUCH-PART", "1")
        elif kind == "labour":
            name, args = kit.labour(wo)
        elif kind == "fee":
            name, args = kit.fee(wo, 300)
        else:
            name, args = kit.diagnosis(wo, cause=cause)
        base = dev.seen.get(wo, self.orders[wo].version if kind == "diagnosis" else None)
        mutation = dev.device.make(name, args, base_version=base if kind == "diagnosis" else None)
        dev.outbox.append(mutation)
        self.meta[mutation["id"]] = (kind, wo, args)

    # --- the supervisor -----------------------------------------------------------------

    @rule(o=st.integers(0, 2))
    def redispatch(self, o):
        order = list(self.orders.values())[o]
        if order.status == "cancelled":
            return
        to = "tech2" if order.assigned == "tech1" else "tech1"
        kit.dispatch(self.supervisor, order.id, to)
        order.assigned = to
        order.history.add(to)
        order.version += 1

    @precondition(lambda self: sum(o.status == "cancelled" for o in self.orders.values()) == 0)
    @rule(o=st.integers(0, 2))
    def cancel(self, o):
        order = list(self.orders.values())[o]
        response = self.supervisor.post(f"/api/work-orders/{order.id}/cancel", json={"reason": "客户撤回"})
        assert response.status_code == 200, response.text
        order.status = "cancelled"
        order.version += 1

    # --- the network ---------------------------------------------------------------------

    @rule(d=st.integers(0, 2), how=st.sampled_from(["all", "split", "duplicate", "gap", "drop_reply"]),
          cut=st.integers(1, 4))
    def send(self, d, how, cut):
        dev = self.devs[d]
        if not dev.outbox:
            return
        batch = list(dev.outbox)
        if how == "split":
            batch = batch[:cut]
        elif how == "duplicate":
            first = dev.outbox[0]["seq"]
            acked = [m for m in dev.device.sent.values() if m["seq"] <= dev.server_last_seq and m["seq"] < first][-cut:]
            batch = sorted(acked + batch, key=lambda m: m["seq"])
        elif how == "gap":
            batch = batch[cut:] or batch[-1:]
        self.deliver(dev, batch, drop_reply=how == "drop_reply")

    @rule(d=st.integers(0, 2))
    def sync_when_online(self, d):
        """The usual case: the device sends its whole outbox and reads the reply."""
        if self.devs[d].outbox:
            self.deliver(self.devs[d], list(self.devs[d].outbox))

    @rule(d=st.integers(0, 2), cut=st.integers(1, 3))
    def delay(self, d, cut):
        """A request leaves now and arrives later, after whatever is sent meanwhile."""
        dev = self.devs[d]
        if dev.outbox:
            self.delayed.append((d, list(dev.outbox[:cut])))

    @precondition(lambda self: self.delayed)
    @rule()
    def arrive_late(self):
        d, batch = self.delayed.pop(0)
        self.deliver(self.devs[d], batch)

    @precondition(lambda self: any(dev.server_last_seq for dev in self.devs))
    @rule(d=st.integers(0, 2))
    def reuse_a_seq(self, d):
        """A buggy client sends an acknowledged seq under a new id: stopped, nothing changes."""
        dev = self.devs[d]
        if not dev.server_last_seq:
            return
        old = dev.device.sent.get(dev.server_last_seq)
        if old is None:
            return
        reply = dev.device.push([{**old, "id": kit.uid()}])
        assert reply["results"] == [] and reply["last_seq"] == dev.server_last_seq
        assert reply["stopped"] == {"seq": old["seq"], "reason": "seq_reused", "resend_from": dev.server_last_seq + 1}

    # --- what the server must answer ------------------------------------------------------

    def predict(self, dev: ModelDevice, mutation: dict) -> dict:
        kind, wo, args = self.meta[mutation["id"]]
        order = self.orders[wo]
        if dev.tech not in order.history:
            return {"status": "rejected", "reason": "not_assigned"}
        if kind == "bad_part":
            return {"status": "rejected", "reason": "unknown_part"}
        conflict = "cancelled" if order.status == "cancelled" else (
            "reassigned" if order.assigned != dev.tech else None)
        if kind == "diagnosis" and conflict is None:
            base = mutation["base_version"] or 0
            later = [c for c in order.cause_changes if c[0] > base]
            seen_value = later[0][2] if later else order.cause
            wanted = args["cause"]
            if wanted not in (seen_value, order.cause):
                if any(c[1] != dev.device.device_id for c in later):
                    conflict = "stale_edit"
                else:
                    order.cause_changes.append((order.version + 1, dev.device.device_id, order.cause))
                    order.cause = wanted
        if kind in FACT_LIST:
            list_name, id_key = FACT_LIST[kind]
            order.facts[kind].append(args[id_key])
        if conflict:
            order.conflicts.append(conflict)
        order.version += 1
        if conflict:
            return {"status": "conflict", "reason": conflict, "version": order.version}
        return {"status": "applied", "version": order.version}

    def deliver(self, dev: ModelDevice, batch: list[dict], drop_reply: bool = False) -> None:
        expected, stopped, last = [], None, dev.server_last_seq
        for mutation in batch:
            if mutation["seq"] <= last:
                expected.append({"seq": mutation["seq"], "status": "duplicate"})
                continue
            if mutation["seq"] > last + 1:
                stopped = {"seq": mutation["seq"], "reason": "gap"}
                break
            expected.append({"seq": mutation["seq"], **self.predict(dev, mutation)})
            last = mutation["seq"]
        reply = dev.device.push(batch)
        dev.server_last_seq = last
        assert reply["last_seq"] == last
        if stopped:
            stopped["resend_from"] = last + 1
        assert reply["stopped"] == stopped
        assert len(reply["results"]) == len(expected)
        for got, want in zip(reply["results"], expected):
            assert got["seq"] == want["seq"]
            if want["status"] == "duplicate":
                assert got["status"] == "duplicate" and got["original"]["status"] in ("applied", "rejected", "conflict")
                continue
            assert (got["status"], got.get("reason")) == (want["status"], want.get("reason")), (got, want)
            assert got.get("version") == want.get("version")
            if want["status"] == "conflict":
                assert isinstance(got["conflict_id"], int)
        if not drop_reply:
            acknowledged = {r["id"] for r in reply["results"]}
            keep = [m for m in dev.outbox if m["id"] not in acknowledged and m["seq"] > reply["last_seq"]]
            dev.deleted.extend(m for m in dev.outbox if m not in keep)
            dev.outbox = keep
            for result in reply["results"]:
                kind, wo, _args = self.meta.get(result["id"], (None, None, None))
                version = result.get("version") or result.get("original", {}).get("version")
                if wo is not None and version:
                    dev.seen[wo] = max(dev.seen.get(wo, 0), version)
        self.check_readback({self.meta[m["id"]][1] for m in batch if m["id"] in self.meta})

    def check_readback(self, order_ids) -> None:
        for wo in order_ids:
            model = self.orders[wo]
            got = kit.order(self.supervisor, wo)
            assert got["version"] == model.version
            assert got["assigned_to"] == model.assigned
            for kind, (list_name, id_key) in FACT_LIST.items():
                assert [item[id_key] for item in got[list_name]] == model.facts[kind], (kind, got[list_name])
            assert [c["reason"] for c in got["conflicts"]] == model.conflicts

    @invariant()
    def a_device_deletes_only_what_the_server_has(self):
        for dev in self.devs:
            assert all(m["seq"] <= dev.server_last_seq for m in dev.deleted)
            assert [m["seq"] for m in dev.outbox] == list(range(dev.outbox[0]["seq"], dev.device.seq + 1)) \
                if dev.outbox else True

    def teardown(self):
        """Everything is finally resent until every mutation is acknowledged."""
        self.delayed.clear()
        for dev in self.devs:
            for _ in range(5):
                if not dev.outbox:
                    break
                self.deliver(dev, list(dev.outbox))
            assert dev.outbox == []
            assert dev.device.last_seq() == dev.device.seq
        self.check_readback(self.orders)


def test_devices_and_a_supervisor_in_any_order(live_server, login):
    SyncMachine.url = live_server.url
    SyncMachine.supervisor = login("supervisor")
    SyncMachine.devices = [(kit.register(live_server.url, "tech1"), "tech1"),
                           (kit.register(live_server.url, "tech1"), "tech1"),
                           (kit.register(live_server.url, "tech2"), "tech2")]
    run_state_machine_as_test(SyncMachine, settings=settings(
        max_examples=20, stateful_step_count=30, deadline=None, derandomize=False,
        suppress_health_check=list(HealthCheck)))
