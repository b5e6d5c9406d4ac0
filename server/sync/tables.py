"""Sync: registered devices (bearer tokens). The ledger and facts live beside them."""

from piccolo.columns import ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from server.accounts.tables import User


class Device(Table):
    device_id = Varchar(length=36, unique=True)
    user = ForeignKey(references=User)
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)  # sha256 hex of the bearer token
    last_seq = Integer(default=0)
    created_at = Timestamptz()
    last_sync_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
