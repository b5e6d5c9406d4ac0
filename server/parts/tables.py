"""The parts catalogue and each technician's van stock."""

from decimal import Decimal

from piccolo.columns import ForeignKey, Integer, Numeric, Varchar
from piccolo.table import Table

from server.accounts.tables import User


class Part(Table):
    code = Varchar(length=40, unique=True)
    name = Varchar(length=200)
    name_en = Varchar(length=200, default="")
    unit = Varchar(length=20, default="pcs")
    unit_price_cents = Integer()
    version = Integer(default=1)  # bumped on every change, for the pull's etag


class VanStock(Table):
    technician = ForeignKey(references=User)
    part = ForeignKey(references=Part)
    qty = Numeric(digits=(12, 3), default=Decimal("0"))
