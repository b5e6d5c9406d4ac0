"""VAPID keys: made on first start in the data folder and kept."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from server.settings import Settings


def key_path(settings: Settings) -> Path:
    return settings.data_dir / "vapid_private.pem"


def load_or_create(settings: Settings) -> Vapid02:
    """The kept key pair; made the first time. Safe when several workers start at once:
    the new key is written to a private temporary file and linked into place only if no
    other process got there first, and then whatever is in place is used."""
    path = key_path(settings)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        vapid = Vapid02()
        vapid.generate_keys()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            tmp.touch(mode=0o600)  # private before the key is in it
            vapid.save_key(str(tmp))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return Vapid02.from_file(str(path))


def public_key(vapid: Vapid02) -> str:
    """The application server key for PushManager.subscribe: base64url, unpadded."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
