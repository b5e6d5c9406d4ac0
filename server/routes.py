"""Every feature's route handlers, and what runs at start and stop.

Each module named here exposes `route_handlers`; features add their module to ROUTE_MODULES.
"""

ROUTE_MODULES = [
    "server.accounts.pages",
]

# "module:function" coroutines called with the app at start-up / shut-down, in order.
STARTUP = []
SHUTDOWN = ["server.events:drain_on_shutdown"]
