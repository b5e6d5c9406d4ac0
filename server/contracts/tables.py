"""Maintenance contracts (保养合同)."""

from piccolo.columns import Date, ForeignKey, Integer, Varchar
from piccolo.table import Table

from server.customers.tables import Customer, SoldUnit


class MaintenanceContract(Table):
    number = Varchar(length=40, unique=True)
    customer = ForeignKey(references=Customer)
    sold_unit = ForeignKey(references=SoldUnit, null=True)  # null: covers all the customer's units
    starts_on = Date()
    ends_on = Date()
    status = Varchar(length=20, default="active")  # active | terminated
    fee_cents = Integer(default=0)
