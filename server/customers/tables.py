"""Customers, product models and sold units (the sold unit is the service voucher)."""

from piccolo.columns import Date, ForeignKey, Timestamptz, Varchar
from piccolo.table import Table

from server.accounts.tables import Branch


class Customer(Table):
    name = Varchar(length=100)
    phone = Varchar(length=30, unique=True)  # duplicate customers are caught by phone
    address = Varchar(length=300)
    zone = Varchar(length=10)  # urban | suburban (seed 000 §19)
    customer_class = Varchar(length=1, default="B")  # A | B | C (seed 000 第五篇 5.1.3)
    branch = ForeignKey(references=Branch)
    created_at = Timestamptz()


class ProductModel(Table):
    code = Varchar(length=50, unique=True)
    name = Varchar(length=200)
    industry = Varchar(length=50, default="")  # LED lighting, power batteries, medical devices
    warranty_months = Varchar(length=4, default="12")


class SoldUnit(Table):
    """服务凭证 service voucher: one sold product and its service history."""

    customer = ForeignKey(references=Customer)
    model = ForeignKey(references=ProductModel)
    serial = Varchar(length=80, unique=True)
    sale_date = Date()
    warranty_end = Date()
