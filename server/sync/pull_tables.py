"""Sync: what each device was last sent by the pull (sync-protocol §5).

One row per device and item (a work order or a page), with the etag it was sent and the
pull generation that sent it, so a pull with a cursor lists only what changed since, and
`removed` can name the orders that left the device's scope.
"""

from piccolo.columns import ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from server.sync.tables import Device


class DeviceHolding(Table, tablename="sync_device_holding"):
    device = ForeignKey(references=Device, index=True)
    key = Varchar(length=120)  # "wo:17" | "page:/tech" | "page:/tech/parts"
    work_order = Integer(null=True, default=None)  # id, for "wo:" keys
    etag = Varchar(length=80)
    gen = Integer()  # the pull generation that last sent this item
    removed_gen = Integer(null=True, default=None)  # the generation that said it left the scope
    removed_at = Timestamptz(null=True, default=None)
