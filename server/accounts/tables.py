"""Branches (service centres), users and their browser sessions."""

from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Branch(Table):
    """A service centre or branch service group (服务中心 / 分公司服务组)."""

    code = Varchar(length=20, unique=True)
    name = Varchar(length=100)
    name_en = Varchar(length=100, default="")
    timezone = Varchar(length=50, default="Asia/Shanghai")
    default_zone = Varchar(length=10, default="urban")  # urban | suburban
    # Working calendar (see dispatch.calendar): {"hours": {"0": [["08:30","12:00"], ...]},
    # "holidays": ["2026-10-01", ...], "makeup_days": ["2026-10-10", ...]}; {} = default.
    calendar = JSON(default="{}")


class User(Table, tablename="fs_user"):
    username = Varchar(length=50, unique=True)
    display_name = Varchar(length=100)
    password_hash = Varchar(length=255)
    role = Varchar(length=20)  # accounts.rules.ROLES
    branch = ForeignKey(references=Branch, null=True)
    phone = Varchar(length=30, default="")
    active = Boolean(default=True)
    created_at = Timestamptz()


class Session(Table, tablename="fs_session"):
    """A browser session held on the server; the cookie carries only its random id."""

    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(references=User)
    csrf_token = Varchar(length=64)
    created_at = Timestamptz()
    expires_at = Timestamptz()


class LoginAttempt(Table):
    """Failed logins, counted for rate limiting per username and address."""

    username = Varchar(length=50, index=True)
    address = Varchar(length=64)
    at = Timestamptz(index=True)


class AuditEntry(Table):
    """Who looked at or changed what (seed 001 第三章: access to customer data is logged)."""

    user = ForeignKey(references=User, null=True)
    action = Varchar(length=50)
    subject = Varchar(length=100, index=True)
    detail = JSON(default="{}")
    at = Timestamptz()
