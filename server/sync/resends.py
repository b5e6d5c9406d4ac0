"""Answers to a batch sent again byte for byte, made when it was first handled.

A device that lost the reply to a push (the signal went as the server committed) sends the
very same batch again: the PWA's outbox sends the same bytes when nothing new was recorded
in between (its clock offset changes only with a reply). Every mutation in it is then a `duplicate` whose `original` is the
result the first push gave, and the ledger rows behind those results never change. So the
answer to that resend is written down when the batch is handled, and a resend with the same
bytes from the same device is answered from it — without reading the batch or the ledger
again. Anything else (other bytes, another device, a batch that stopped, a device not heard
from lately, whose sync time must be noted) takes the full path of sync-protocol §2.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.db import reads
from server.sync.ledger import LAST_SYNC_PRECISION  # how often a resend notes the sync time
from server.sync.sql import as_time

ORIGINAL_KEYS = ("status", "reason", "conflict_id", "version", "detail")


def as_resent(result: dict) -> dict:
    """The result a resend of this mutation gets (sync-protocol §2: `duplicate`, with the
    first result in `original`), as the ledger would give it back."""
    if result["status"] == "duplicate":
        return {**result, "original": dict(result["original"])}
    original = {key: result[key] for key in ORIGINAL_KEYS if key in result}
    if "detail" in original:  # as stored in the ledger and read back
        original["detail"] = json.loads(json.dumps(original["detail"], ensure_ascii=False))
    return {"id": result["id"], "seq": result["seq"], "status": "duplicate", "original": original}


@dataclass(frozen=True)
class Known:
    results: list[dict]  # untranslated; copied before messages are added
    top_seq: int


class ResendReplies:
    """The answers to the last batches handled, least recently used dropped first."""

    def __init__(self, size: int = 512):
        self.size = size
        self._known: OrderedDict[tuple[str, bytes], Known] = OrderedDict()

    @staticmethod
    def key(device_id: str, body: bytes) -> tuple[str, bytes]:
        return device_id.lower(), hashlib.sha256(body).digest()

    def remember(self, key: tuple[str, bytes], results: list[dict]) -> None:
        if not results:
            return
        self._known[key] = Known([as_resent(r) for r in results], max(r["seq"] for r in results))
        self._known.move_to_end(key)
        while len(self._known) > self.size:
            self._known.popitem(last=False)

    def recall(self, key: tuple[str, bytes]) -> Known | None:
        return self._known.get(key)


async def answer_from_memory(known: Known, device_id: str, now: datetime) -> int | None:
    """The device's last_seq if the remembered answer still holds, else None (full path)."""
    rows = await reads.fetch_quick("SELECT last_seq, last_sync_at, revoked_at FROM device WHERE device_id = ?",
                             device_id)
    if not rows or rows[0]["revoked_at"] is not None or rows[0]["last_seq"] < known.top_seq:
        return None
    last_sync = as_time(rows[0]["last_sync_at"])
    if last_sync is None or now - last_sync >= LAST_SYNC_PRECISION:
        return None
    return rows[0]["last_seq"]


def copy_results(known: Known) -> list[dict[str, Any]]:
    return [{**r, "original": dict(r["original"])} for r in known.results]

