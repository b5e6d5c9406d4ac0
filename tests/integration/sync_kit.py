"""What the sync push tests share: a device speaking the protocol over HTTP, builders for the
thirteen actions, fresh work orders made through the dispatch API, and blob uploads."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image

AT = "2026-11-22T09:31:05+08:00"


def uid() -> str:
    return str(uuid.uuid4())


@dataclass
class Device:
    """A registered device with its outbox sequence."""

    url: str
    device_id: str
    token: str
    seq: int = 0
    sent: dict[int, dict] = field(default_factory=dict)  # seq → mutation, as made

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept-Language": "en"}

    def make(self, name: str, args: dict, base_version: int | None = None, captured_at: str = AT) -> dict:
        """A new mutation, numbered next in this device's outbox."""
        self.seq += 1
        mutation = {"id": uid(), "seq": self.seq, "name": name, "args": args,
                    "base_version": base_version, "captured_at": captured_at}
        self.sent[self.seq] = mutation
        return mutation

    def envelope(self, mutations: list[dict], clock_offset_ms: int = 0) -> dict:
        return {"device_id": self.device_id, "schema_version": 1, "clock_offset_ms": clock_offset_ms,
                "mutations": mutations}

    def push(self, mutations: list[dict], clock_offset_ms: int = 0, lang: str = "en",
             expect: int = 200) -> dict:
        response = httpx.post(self.url + "/sync/push", json=self.envelope(mutations, clock_offset_ms),
                              headers={**self.headers, "Accept-Language": lang}, timeout=60)
        assert response.status_code == expect, response.text
        return response.json()

    def raw(self, content: bytes, content_type: str = "application/json") -> httpx.Response:
        return httpx.post(self.url + "/sync/push", content=content,
                          headers={**self.headers, "Content-Type": content_type}, timeout=60)

    def send(self, name: str, args: dict, base_version: int | None = None, **kwargs) -> dict:
        """Make one mutation and push it; its result."""
        reply = self.push([self.make(name, args, base_version)], **kwargs)
        assert reply["stopped"] is None, reply
        return reply["results"][0]

    def last_seq(self) -> int:
        return self.push([])["last_seq"]


def register(url: str, username: str, password: str = "demo") -> Device:
    response = httpx.post(url + "/sync/devices", json={"username": username, "password": password,
                                                       "device_name": f"test {secrets.token_hex(2)}"})
    assert response.status_code == 201, response.text
    body = response.json()
    return Device(url, body["device_id"], body["token"])


def new_order(supervisor: httpx.Client, technician: str | None = "tech1") -> int:
    """A fresh internal work order of the supervisor's branch, dispatched to `technician`."""
    response = supervisor.post("/api/work-orders", json={"description": f"sync test {secrets.token_hex(4)}"})
    assert response.status_code == 201, response.text
    order_id = response.json()["id"]
    if technician:
        dispatch(supervisor, order_id, technician)
    return order_id


def dispatch(supervisor: httpx.Client, order_id: int, technician: str) -> httpx.Response:
    response = supervisor.post(f"/api/work-orders/{order_id}/dispatch", json={"technician": technician})
    assert response.status_code == 200, response.text
    return response


def order(client: httpx.Client, order_id: int) -> dict:
    response = client.get(f"/api/work-orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


def png(seed: int | None = None) -> bytes:
    buffer = io.BytesIO()
    colour = tuple(secrets.randbelow(256) for _ in range(3)) if seed is None else (seed % 256, 0, 0)
    Image.new("RGB", (40, 20), colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload(device: Device, data: bytes, kind: str = "signature") -> str:
    digest = hashlib.sha256(data).hexdigest()
    response = httpx.put(f"{device.url}/sync/blobs/{digest}", params={"kind": kind}, content=data,
                         headers={**device.headers, "Content-Type": "image/png"}, timeout=30)
    assert response.status_code in (200, 201), response.text
    return digest


# --- the thirteen actions, with good arguments by default -----------------------------

def start_travel(wo: int, at: str = AT) -> tuple[str, dict]:
    return "start_travel", {"work_order_id": wo, "at": at}


def arrive(wo: int, at: str = AT) -> tuple[str, dict]:
    return "arrive", {"work_order_id": wo, "at": at}


def diagnosis(wo: int, **over: Any) -> tuple[str, dict]:
    return "record_diagnosis", {"work_order_id": wo, "reported": "灯不亮", "observed": "驱动无输出",
                                "cause": "驱动电源损坏", "severity": "general", **over}


def add_part(wo: int, code: str = "LED-40W", qty: str = "1", line_id: str | None = None) -> tuple[str, dict]:
    return "add_part", {"work_order_id": wo, "line_id": line_id or uid(), "part_code": code, "qty": qty,
                        "source": "van", "old_part_returned": True}


def void_part(wo: int, line_id: str, reason: str = "记错了") -> tuple[str, dict]:
    return "void_part", {"work_order_id": wo, "line_id": line_id, "reason": reason}


def labour(wo: int, started: str = "2026-11-22T09:00:00+08:00", ended: str = "2026-11-22T10:35:00+08:00",
           entry_id: str | None = None) -> tuple[str, dict]:
    return "add_labour", {"work_order_id": wo, "entry_id": entry_id or uid(), "started_at": started,
                          "ended_at": ended}


def note(wo: int, text: str = "客户要求下午回访", note_id: str | None = None) -> tuple[str, dict]:
    return "add_note", {"work_order_id": wo, "note_id": note_id or uid(), "text": text}


def photo(wo: int, digest: str, caption: str = "铭牌") -> tuple[str, dict]:
    return "attach_photo", {"work_order_id": wo, "photo_id": uid(), "sha256": digest, "caption": caption}


def complete(wo: int, outcome: str = "fixed", work_done: str = "更换驱动电源，通电测试正常") -> tuple[str, dict]:
    return "complete_work", {"work_order_id": wo, "outcome": outcome, "work_done": work_done}


def fee(wo: int, cents: int = 5000, payment_id: str | None = None) -> tuple[str, dict]:
    return "collect_fee", {"work_order_id": wo, "payment_id": payment_id or uid(), "amount_cents": cents,
                           "method": "cash", "receipt_no": "R-0001"}


def carry_back(wo: int) -> tuple[str, dict]:
    return "carry_back", {"work_order_id": wo, "receipt_id": uid(), "condition": "外壳完好",
                          "accessories": "电源线"}


def signoff(wo: int, signature: str, report_sha256: str, signer: str = "王芳") -> tuple[str, dict]:
    return "customer_signoff", {"work_order_id": wo, "signoff_id": uid(), "signer_name": signer,
                                "signature_sha256": signature, "report_sha256": report_sha256,
                                "signed_at": "2026-11-22T11:00:00+08:00"}


def rating(wo: int, score: int = 4, rating_id: str | None = None) -> tuple[str, dict]:
    return "rate_service", {"work_order_id": wo, "rating_id": rating_id or uid(), "attitude": score,
                            "skill": score, "arrival": score, "promises": score, "comment": "很好",
                            "complaint": None}


# Fixtures the sync test modules share: `from tests.integration.sync_kit import device, supervisor`.

@pytest.fixture(scope="module")
def supervisor(login):
    return login("supervisor")


@pytest.fixture
def device(live_server):
    """A new device of tech1, with an empty outbox."""
    return register(live_server.url, "tech1")
