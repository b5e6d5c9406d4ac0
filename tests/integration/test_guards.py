"""Every route × every role: the guard lets in exactly the roles it names, nobody else.

The table is the app itself: each route handler's guard says which roles it allows
(accounts.guards.allow). This test proves, against the real server, that every route of the
app is guarded (or listed as public), that anonymous callers are turned away, that each
allowed role gets past the guard and each other role gets 403.
"""

import re

import httpx
import pytest

from server.accounts.rules import ROLES
from server.app import create_app
from tests.conftest import run_cli, sign_in

# Routes anybody may call: sign-in, the service worker's shell, device registration (it
# authenticates with username/password in its body), static files, the API schema.
PUBLIC = {
    ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("POST", "/lang"), ("GET", "/"),
    ("POST", "/sync/devices"), ("GET", "/sw.js"), ("GET", "/manifest.webmanifest"), ("GET", "/offline"),
}
PUBLIC_PREFIXES = ("/static", "/schema")
# Bearer-token routes of the sync protocol are tested by the sync tests; a browser session
# is no device.
DEVICE_ONLY = ("/sync/push", "/sync/pull", "/sync/blobs", "/sync/devices/")  # and revocation, which checks device, user or supervisor itself
USERS = {"clerk": "clerk", "supervisor": "supervisor", "technician": "tech1", "manager": "manager",
         "service_dept": "hq", "admin": "guard_admin"}
SIGNED_IN_ONLY = "signed_in"


def _routes():
    app = create_app()
    table = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", []) or []):
                if method in ("HEAD", "OPTIONS"):
                    continue
                path = route.path
                if path.startswith(PUBLIC_PREFIXES) or (method, path) in PUBLIC:
                    continue
                guards = list(handler.guards or [])
                owner = handler.owner
                while owner is not None:
                    guards.extend(getattr(owner, "guards", None) or [])
                    owner = getattr(owner, "owner", None)
                allowed = None
                for guard in guards:
                    roles = getattr(guard, "allowed_roles", None)
                    if roles is not None:
                        allowed = roles if allowed is None else allowed & roles
                    elif getattr(guard, "__name__", "") in ("signed_in", "device_or_user"):
                        allowed = frozenset(ROLES) if allowed is None else allowed
                table.append((method, path, allowed))
    return table


ROUTES = _routes()


def _concrete(path: str) -> str:
    path = re.sub(r"\{[^}:]+:int\}", "1", path)
    path = re.sub(r"\{[^}:]+:uuid\}", "00000000-0000-4000-8000-000000000000", path)
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_is_guarded_or_public():
    unguarded = [f"{m} {p}" for m, p, allowed in ROUTES if allowed is None and not p.startswith(DEVICE_ONLY)]
    assert not unguarded, "routes without a role guard: " + ", ".join(unguarded)


@pytest.fixture(scope="module")
def clients(live_server):
    run_cli(live_server.env, "create-user", "guard_admin", "--role", "admin", "--password", "guard-admin-pw")
    made = {role: sign_in(live_server.url, user, "guard-admin-pw" if role == "admin" else "demo")
            for role, user in USERS.items()}
    yield made
    for client in made.values():
        client.close()


@pytest.mark.parametrize("method,path,allowed", [r for r in ROUTES if not r[1].startswith(DEVICE_ONLY)],
                         ids=[f"{m} {p}" for m, p, _ in ROUTES if not p.startswith(DEVICE_ONLY)])
def test_route_lets_in_exactly_its_roles(live_server, clients, method, path, allowed):
    url = _concrete(path)
    anonymous = httpx.request(method, live_server.url + url, json={}, headers={"Accept": "application/json"})
    assert anonymous.status_code == 401, f"anonymous {method} {url}: {anonymous.status_code}"
    for role in ROLES:
        response = clients[role].request(method, url, json={}, headers={"Accept": "application/json"})
        if role in allowed:
            assert response.status_code not in (401, 403), f"{role} {method} {url}: {response.status_code} {response.text[:200]}"
            assert response.status_code < 500, f"{role} {method} {url}: {response.status_code} {response.text[:300]}"
        else:
            assert response.status_code == 403, f"{role} {method} {url}: {response.status_code}"
