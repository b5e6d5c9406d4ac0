"""VAPID keys: made on first start in the data folder and kept."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from server.settings import Settings


def key_path(settings: Settings) -> Path:
    return settings.data_dir / "vapid_private.pem"


def load_or_create(settings: Settings) -> Vapid02:
    path = key_path(settings)
    if path.is_file():
        return Vapid02.from_file(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    vapid = Vapid02()
    vapid.generate_keys()
    vapid.save_key(str(path))
    path.chmod(0o600)
    return vapid


def public_key(vapid: Vapid02) -> str:
    """The application server key for PushManager.subscribe: base64url, unpadded."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
