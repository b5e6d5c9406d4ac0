"""Sync: registered devices, the ledger of every mutation, and the facts it recorded.

Facts are append-only (sync-protocol: "nothing the technician did on site is ever lost");
every fact row carries the device-made id it was sent under (unique: it appears once however
many times it was sent) and the mutation that recorded it. Conflicts are rows a supervisor
reviews; their resolutions are audited.
"""

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.accounts.tables import User
from server.workorders.tables import WorkOrder


class Device(Table):
    device_id = Varchar(length=36, unique=True)
    user = ForeignKey(references=User)
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)  # sha256 hex of the bearer token
    last_seq = Integer(default=0)
    created_at = Timestamptz()
    last_sync_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class LedgerEntry(Table, tablename="sync_ledger"):
    """One row per mutation handled (applied, rejected or conflict), written in the same
    transaction as its effect (sync-protocol §2, §6); kept so a late resend gets its answer."""

    device_id = Varchar(length=36, index=True)
    device_seq = Varchar(length=60, unique=True)  # "<device_id>/<seq>": (device, seq) is unique
    mutation_id = Varchar(length=36, unique=True)
    seq = Integer()
    name = Varchar(length=40)
    payload_sha256 = Varchar(length=64)
    payload = Text(default="")  # the canonical JSON that was hashed
    technician = ForeignKey(references=User)
    work_order = Integer(null=True, default=None, index=True)  # as sent; may name no order
    status = Varchar(length=10)  # applied | rejected | conflict
    reason = Varchar(length=40, default="")
    detail = Text(default="{}")  # JSON: the values of the reason's message
    conflict_id = Integer(null=True, default=None)
    version = Integer(null=True, default=None)  # the order's version after the change
    captured_at = Timestamptz(null=True, default=None)
    clock_offset_ms = BigInt(default=0)
    clock_flagged = Boolean(default=False)  # |offset| over 5 minutes
    received_at = Timestamptz()


class VisitEvent(Table, tablename="sync_visit_event"):
    """start_travel and arrive as they were sent; the order keeps the first of each."""

    work_order = ForeignKey(references=WorkOrder, index=True)
    kind = Varchar(length=20)  # start_travel | arrive
    at = Timestamptz()  # device clock
    corrected_at = Timestamptz()  # at minus the device's clock offset
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36, unique=True)


class PartLine(Table, tablename="sync_part_line"):
    line_id = Varchar(length=36, unique=True)
    work_order = ForeignKey(references=WorkOrder, index=True)
    part_code = Varchar(length=40)
    qty = Varchar(length=20)  # decimal string in its shortest form
    source = Varchar(length=12)  # van | requisition
    old_part_returned = Boolean(default=False)
    voided = Boolean(default=False)
    void_reason = Text(default="")
    voided_at = Timestamptz(null=True, default=None)
    void_mutation_id = Varchar(length=36, default="")
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36)
    recorded_at = Timestamptz()


class LabourEntry(Table, tablename="sync_labour"):
    entry_id = Varchar(length=36, unique=True)
    work_order = ForeignKey(references=WorkOrder, index=True)
    started_at = Timestamptz()
    ended_at = Timestamptz()
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36)
    recorded_at = Timestamptz()


class Note(Table, tablename="sync_note"):
    note_id = Varchar(length=36, unique=True)
    work_order = ForeignKey(references=WorkOrder, index=True)
    text = Text()
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36)
    recorded_at = Timestamptz()


class Photo(Table, tablename="sync_photo"):
    photo_id = Varchar(length=36, unique=True)
    work_order = ForeignKey(references=WorkOrder, index=True)
    sha256 = Varchar(length=64)
    caption = Text(default="")
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36)
    recorded_at = Timestamptz()


class Payment(Table, tablename="sync_payment"):
    """A fee collected on site (seed 000 §10)."""

    payment_id = Varchar(length=36, unique=True)
    work_order = ForeignKey(references=WorkOrder, index=True)
    amount_cents = Integer()
    method = Varchar(length=30)
    receipt_no = Varchar(length=60, default="")
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36)
    recorded_at = Timestamptz()


class SignOff(Table, tablename="sync_signoff"):
    """The customer's signature on the service record; `verified` when the hash they signed
    is the hash the server computed for the order at that point (sync-protocol §4)."""

    signoff_id = Varchar(length=36, unique=True)
    work_order = ForeignKey(references=WorkOrder, index=True)
    signer_name = Varchar(length=100)
    signature_sha256 = Varchar(length=64)
    report_sha256 = Varchar(length=64)
    server_sha256 = Varchar(length=64)
    server_report = Text(default="")  # the canonical JSON the server hashed
    verified = Boolean(default=False)
    signed_at = Timestamptz()
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36)
    recorded_at = Timestamptz()


class Rating(Table, tablename="sync_rating"):
    """The customer's technician rating (seed 000 §25): 4 items, 4 levels, 4 best."""

    rating_id = Varchar(length=36, unique=True)
    work_order = ForeignKey(references=WorkOrder, index=True)
    attitude = Integer()
    skill = Integer()
    arrival = Integer()
    promises = Integer()
    comment = Text(default="")
    complaint = Text(null=True, default=None)
    counted = Boolean(default=True)  # False for a second rating kept as a conflict
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36)
    recorded_at = Timestamptz()


class DepotRepair(Table, tablename="sync_depot_repair"):
    """A product carried back for depot repair (seed 000 §11–§14), with the number of the
    product receipt the customer keeps."""

    receipt_id = Varchar(length=36, unique=True)
    receipt_no = Varchar(length=60, unique=True)
    work_order = ForeignKey(references=WorkOrder, index=True)
    condition = Text(default="")
    accessories = Text(default="")
    status = Varchar(length=20, default="received")  # received | returned
    received_at = Timestamptz()
    returned_at = Timestamptz(null=True, default=None)
    technician = ForeignKey(references=User)
    device_id = Varchar(length=36)
    mutation_id = Varchar(length=36)


class FieldChange(Table, tablename="sync_field_change"):
    """Who changed which mutable field of an order at which version: the basis of stale_edit."""

    work_order = ForeignKey(references=WorkOrder, index=True)
    field = Varchar(length=20)
    version = Integer()  # the order's version this change made
    previous = Text(default="")  # the value before: what an edit based on an older version saw
    device_id = Varchar(length=36, default="")  # "" for a change made in the office
    changed_by = ForeignKey(references=User, null=True)
    at = Timestamptz()


class Conflict(Table, tablename="sync_conflict"):
    """A fact or edit kept although the order changed meanwhile, for a supervisor to review."""

    work_order = ForeignKey(references=WorkOrder, index=True)
    kind = Varchar(length=30)  # reassigned | cancelled | closed | stale_edit | ...
    field = Varchar(length=100, default="")
    server_value = Text(default="null")  # JSON
    device_value = Text(default="null")  # JSON
    apply_fields = Text(default="{}")  # JSON: order fields "take the device's" would set
    action = Varchar(length=40, default="")
    mutation_id = Varchar(length=36, default="")
    device_id = Varchar(length=36, default="")
    technician = ForeignKey(references=User)
    created_at = Timestamptz()
    status = Varchar(length=12, default="open", index=True)  # open | resolved | dismissed
    resolution = Varchar(length=20, default="")  # keep_server | take_device | dismiss
    resolved_by = ForeignKey(references=User, null=True)
    resolved_at = Timestamptz(null=True, default=None)
    note = Text(default="")


class ConflictResolution(Table, tablename="sync_conflict_resolution"):
    """Audit of every resolution: who, when, which choice, and the note."""

    conflict = ForeignKey(references=Conflict, index=True)
    choice = Varchar(length=20)
    note = Text(default="")
    by_user = ForeignKey(references=User)
    at = Timestamptz()
