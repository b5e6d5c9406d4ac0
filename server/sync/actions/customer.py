"""customer_signoff and rate_service: what the customer does on the technician's tablet.

The customer signs the service record only after the work (seed 003: never before the
service, never altered): a sign-off needs a completion the server recorded
(`signoff_before_completion`), and the hash they signed is compared with the hash of the
record the server holds after everything before it (`signed_content_differs` otherwise).
The customer rates attitude, skill, arrival time and keeping promises, each on 4 levels
(seed 000 §25); one rating per order counts, a second is kept as a conflict.
"""

from __future__ import annotations

from server.sync import rules
from server.sync.actions.common import assignment_conflict, done, fact_row, rejected
from server.sync.batch import Batch, Order, Outcome
from server.sync.envelope import Mutation
from server.sync.report import build_report, canonical_json, report_sha256
from server.sync.tables import Rating, SignOff

RATING_ITEMS = ("attitude", "skill", "arrival", "promises")


def server_report(batch: Batch, order: Order, signer_name: str) -> dict:
    """The record as the server holds it now, with the signer's name (sync-protocol §4)."""
    lines = [{"line_id": line.line_id, "part_code": line.part_code, "qty": line.qty, "voided": line.voided}
             for line in batch.lines.values() if line.work_order == order.id]
    return build_report(order.id, order.fields["outcome"], order.fields["work_done"], lines,
                        batch.labour[order.id], batch.payments[order.id], signer_name)


def customer_signoff(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    if order.id not in batch.completed and order.status not in ("completed", "closed"):
        return rejected("signoff_before_completion", order.id)
    conflict = assignment_conflict(batch, mutation, order)
    record = server_report(batch, order, args["signer_name"])
    server_hash = report_sha256(record)
    verified = server_hash == args["report_sha256"]
    if conflict is None and not verified:
        conflict = batch.conflict(order, rules.SIGNED_CONTENT_DIFFERS, "report_sha256",
                                  {"report_sha256": server_hash, "report": record},
                                  {"report_sha256": args["report_sha256"], "signer_name": args["signer_name"]},
                                  mutation.name, mutation.key)
    batch.add(SignOff, fact_row(
        mutation, order, batch, signoff_id=args["signoff_id"], signer_name=args["signer_name"],
        signature_sha256=args["signature_sha256"], report_sha256=args["report_sha256"],
        server_sha256=server_hash, server_report=canonical_json(record).decode("utf-8"),
        verified=verified, signed_at=args["signed_at"]), fact_key="signoff_id")
    return done(batch, order, conflict)


def rate_service(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    conflict = assignment_conflict(batch, mutation, order)
    rating = {item: args[item] for item in RATING_ITEMS}
    counted = not batch.ratings[order.id]  # the first rating of an order counts
    if conflict is None and batch.ratings[order.id]:
        first = batch.ratings[order.id][0]
        conflict = batch.conflict(order, rules.DUPLICATE_RATING, "rating",
                                  {"rating_id": first["rating_id"], **{i: first[i] for i in RATING_ITEMS}},
                                  {"rating_id": args["rating_id"], **rating, "comment": args["comment"],
                                   "complaint": args["complaint"]}, mutation.name, mutation.key)
    if counted:
        batch.ratings[order.id].append({"rating_id": args["rating_id"], **rating})
    batch.add(Rating, fact_row(mutation, order, batch, rating_id=args["rating_id"], **rating,
                               comment=args["comment"], complaint=args["complaint"], counted=counted),
              fact_key="rating_id")
    return done(batch, order, conflict)
