"""Web Push subscriptions of browsers and devices."""

from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.accounts.tables import User


class PushSubscription(Table):
    user = ForeignKey(references=User)
    endpoint = Text(unique=True)
    p256dh = Varchar(length=200)
    auth = Varchar(length=100)
    user_agent = Varchar(length=300, default="")
    created_at = Timestamptz()
