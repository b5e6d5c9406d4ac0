"""The call register (叫修登记簿): one row per service call."""

from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.accounts.tables import Branch, User
from server.customers.tables import Customer, SoldUnit


class ServiceCall(Table):
    number = Varchar(length=30, unique=True)
    branch = ForeignKey(references=Branch)
    customer = ForeignKey(references=Customer)
    sold_unit = ForeignKey(references=SoldUnit, null=True)
    model_text = Varchar(length=200, default="")  # as told, when the unit is unknown
    serial_text = Varchar(length=80, default="")
    fault = Text()
    channel = Varchar(length=20)  # calls.rules.CHANNELS
    received_at = Timestamptz()
    owner = ForeignKey(references=User)  # first-contact owner (首问负责制)
    zone = Varchar(length=10)  # urban | suburban, the customer's at registration
    category = Varchar(length=1)  # A | B | C | D (seed 000 §6)
    category_reason = Varchar(length=30)  # calls.rules: warranty | contract | paid | internal
    category_override_reason = Text(default="")
    category_overridden_by = ForeignKey(references=User, null=True)
    # registered | solved_remotely | dispatching | closed | cancelled
    status = Varchar(length=20, default="registered")
    triage_note = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()
