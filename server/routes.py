"""Every feature's route handlers, and what runs at start and stop.

Each module named here exposes `route_handlers`; features add their module to ROUTE_MODULES.
"""

ROUTE_MODULES = [
    "server.accounts.pages",
    "server.calls.pages",
    "server.api.calls",
    "server.api.parts",
    "server.api.users",
    "server.dispatch.pages",
    "server.api.work_orders",
    "server.api.branches",
    "server.tech.pages",
    "server.push.routes",
    "server.sync.device_routes",
    "server.sync.blobs",
    "server.sync.pull",
    "server.sync.push",
    "server.sync.pages",
    "server.api.conflicts",
]

# "module:function" coroutines called with the app at start-up / shut-down, in order.
STARTUP = ["server.push.service:start", "server.dispatch.monitor:start"]
SHUTDOWN = ["server.dispatch.monitor:stop", "server.events:drain_on_shutdown"]
