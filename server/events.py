"""Domain events inside one process: a feature announces what happened, others react.

Handlers run as background tasks, so announcing never delays the request that did the work
(Web Push sends, for one, must not). A handler's failure is logged, never raised.

Events and their data:
- call_registered: call_id, branch_id
- work_order_dispatched: work_order_id, technician_id, branch_id
- work_order_at_risk: work_order_id, branch_id
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

log = logging.getLogger("fieldservice.events")

Handler = Callable[..., Awaitable[None]]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_running: set[asyncio.Task] = set()


def subscribe(event: str, handler: Handler) -> None:
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


async def _run(event: str, handler: Handler, data: dict) -> None:
    try:
        await handler(**data)
    except Exception:  # a reaction failing must not touch the work already done
        log.exception("handler %s for %s failed", getattr(handler, "__name__", handler), event)


def publish(event: str, **data: object) -> None:
    """Schedule every handler of `event`; returns at once. Call after the commit."""
    for handler in _handlers.get(event, []):
        task = asyncio.get_running_loop().create_task(_run(event, handler, data))
        _running.add(task)
        task.add_done_callback(_running.discard)


async def drain(timeout: float = 10.0) -> None:
    """Wait for running handlers (at shutdown)."""
    if _running:
        await asyncio.wait(set(_running), timeout=timeout)


async def drain_on_shutdown(_app) -> None:
    await drain()
