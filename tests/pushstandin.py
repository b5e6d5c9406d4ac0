"""A local push service for the tests: a real HTTP server on loopback that plays the part of
a browser vendor's push service (RFC 8030) and of the browser behind it.

For each subscriber it makes the key pair and the auth secret a browser would (ECDH P-256 and
16 random bytes). For every message the server sends it checks the VAPID `Authorization`
header (RFC 8292: "vapid t=<JWT>, k=<public key>", the JWT signed ES256 by k, "aud" the
endpoint's origin, "exp" in the future and at most 24 h away, "sub" present, k the server's
key when told which one that is) and decrypts the body with http_ece (aes128gcm, RFC 8291),
as the browser would. It can be told to answer an endpoint with 404/410/429/503 and to hold an
endpoint's answer until the test lets it go.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_EXP_AHEAD_S = 24 * 3600  # RFC 8292 §2: no more than 24 hours
HOLD_LIMIT_S = 30.0  # a held answer is let go after this, so a broken test cannot hang


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    """A browser's push subscription: what PushSubscription.toJSON() gives the page."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    id: int | None = None  # the server's id for it, once stored

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    def subscription(self) -> dict:
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}


@dataclass
class Received:
    """One request the push service got, what it made of it and what it answered."""

    token: str
    received_at: float
    headers: dict[str, str]
    status: int = 0
    answered_at: float | None = None
    claims: dict | None = None
    payload: dict | None = None
    problems: list[str] = field(default_factory=list)


class PushStandIn:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._subscribers: dict[str, Subscriber] = {}
        self._replies: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._holds: dict[str, threading.Event] = {}
        self.received: list[Received] = []
        self.expected_key: str | None = None  # the server's VAPID public key, when known
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="push-stand-in", daemon=True)
        self._thread.start()

    def close(self) -> None:
        for event in list(self._holds.values()):
            event.set()
        self._server.shutdown()
        self._server.server_close()

    # --- what the test sets up ---------------------------------------------------------
    def subscriber(self) -> Subscriber:
        token = secrets.token_urlsafe(16)
        sub = Subscriber(token, f"{self.origin}/push/{token}", ec.generate_private_key(ec.SECP256R1()),
                         os.urandom(16))
        with self._lock:
            self._subscribers[token] = sub
        return sub

    def answer(self, sub: Subscriber, *replies: int | tuple[int, dict[str, str]]) -> None:
        """The next answers for `sub`'s endpoint, in order; after them, 201 Created."""
        with self._lock:
            self._replies[sub.token].extend(r if isinstance(r, tuple) else (r, {}) for r in replies)

    def hold(self, sub: Subscriber) -> threading.Event:
        """Requests to `sub`'s endpoint wait for their answer until the event is set."""
        event = threading.Event()
        with self._lock:
            self._holds[sub.token] = event
        return event

    # --- what the test looks at ------------------------------------------------------------
    def requests_for(self, sub: Subscriber) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.token == sub.token]

    def messages_for(self, sub: Subscriber) -> list[dict]:
        """The decrypted notices delivered to `sub` (answered 2xx)."""
        return [r.payload for r in self.requests_for(sub) if 200 <= r.status < 300 and r.payload is not None]

    def problems(self) -> list[str]:
        with self._lock:
            return [f"{r.token}: {p}" for r in self.received for p in r.problems]

    def wait_for(self, predicate, timeout: float = 20.0) -> bool:
        """Wait until predicate() is true (checked whenever a request arrives or is answered)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.5))
            return True

    # --- the push service ------------------------------------------------------------------
    def _record(self, entry: Received) -> None:
        with self._lock:
            self.received.append(entry)
            self._lock.notify_all()

    def _answered(self, entry: Received, status: int) -> None:
        with self._lock:
            entry.status, entry.answered_at = status, time.monotonic()
            self._lock.notify_all()

    def _handle(self, token: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        entry = Received(token, time.monotonic(), headers)
        with self._lock:
            sub = self._subscribers.get(token)
            hold = self._holds.get(token)
        if sub is None:
            self._record(entry)
            self._answered(entry, 404)
            return 404, {}
        entry.claims, problems = check_vapid(headers.get("authorization", ""), self.origin, self.expected_key)
        entry.problems.extend(problems)
        if headers.get("content-encoding") != "aes128gcm":
            entry.problems.append(f"content-encoding {headers.get('content-encoding')!r}, not aes128gcm")
        if not headers.get("ttl", "").isdigit():
            entry.problems.append(f"no TTL header ({headers.get('ttl')!r})")
        try:
            plain = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
            entry.payload = json.loads(plain.decode("utf-8"))
        except Exception as exc:  # the browser would drop a message it cannot read
            entry.problems.append(f"cannot decrypt: {type(exc).__name__}: {exc}")
        self._record(entry)
        if hold is not None:
            hold.wait(HOLD_LIMIT_S)
        if entry.problems:
            status, extra = (401 if entry.claims is None else 400), {}
        else:
            with self._lock:
                queued = self._replies[token]
                status, extra = queued.popleft() if queued else (201, {})
        self._answered(entry, status)
        return status, extra


def check_vapid(header: str, origin: str, expected_key: str | None) -> tuple[dict | None, list[str]]:
    """RFC 8292 §3: 'vapid t=<JWT>, k=<key>'. Returns (claims or None, problems)."""
    match = re.fullmatch(r"(?i)vapid\s+(.+)", header.strip())
    if not match:
        return None, [f"Authorization is not a vapid header: {header[:40]!r}"]
    params = dict(part.strip().split("=", 1) for part in match.group(1).split(",") if "=" in part)
    token, key = params.get("t", ""), params.get("k", "")
    try:
        head_b64, claims_b64, sig_b64 = token.split(".")
        head = json.loads(b64url_decode(head_b64))
        claims = json.loads(b64url_decode(claims_b64))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        signature = b64url_decode(sig_b64)
        if len(signature) != 64:
            raise InvalidSignature("ES256 signatures are 64 bytes")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError) as exc:
        return None, [f"VAPID token not valid for k: {type(exc).__name__} {exc}"]
    problems = []
    if head.get("alg") != "ES256":
        problems.append(f"alg {head.get('alg')!r}")
    if claims.get("aud") != origin:
        problems.append(f"aud {claims.get('aud')!r} is not {origin!r}")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + MAX_EXP_AHEAD_S + 60:
        problems.append(f"exp {exp!r} not within 24 h from now")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        problems.append(f"sub {claims.get('sub')!r}")
    if expected_key is not None and key.rstrip("=") != expected_key:
        problems.append("k is not the server's public key")
    return claims, problems


def _handler_for(standin: PushStandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            match = re.fullmatch(r"/push/([\w-]+)", self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra = standin._handle(match.group(1) if match else "", headers, body)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if status in (201, 202):
                self.send_header("Location", self.path + "/m/" + secrets.token_hex(4))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet
            pass

    return Handler
