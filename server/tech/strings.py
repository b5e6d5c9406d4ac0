"""Strings the device's scripts show, translated on the server into the page's language.

Each page embeds them as JSON, so the outbox and the forms speak the user's language offline.
`{n}`, `{t}` and `{x}` are filled in by the script.
"""

from __future__ import annotations

from server.i18n import N_
from server.i18n import gettext as _
from server.tech.rules import OUTCOME_LABELS, STATUS_LABELS

CLIENT_STRINGS = {
    "pending": N_("Waiting to send"),
    "sent": N_("Sent"),
    "conflict": N_("Kept; a supervisor will review it"),
    "rejected": N_("Not accepted"),
    "badge": N_("{n} waiting"),
    "badge_none": N_("All sent"),
    "offline": N_("Offline: your work is kept on this device."),
    "sending": N_("Sending…"),
    "send_failed": N_("Could not send; will try again."),
    "logout_refused": N_("{n} changes are not sent yet. Connect to the network and wait until they are sent, then sign out."),
    "registered": N_("This device is ready for offline work."),
    "register_failed": N_("This device could not be set up: {x}"),
    "saved_pages": N_("{n} pages saved for offline use at {t}."),
    "problem_title": N_("{x} on order {n}"),
    "act_start_travel": N_("Travel started"),
    "act_arrive": N_("Arrived on site"),
    "act_record_diagnosis": N_("Diagnosis recorded"),
    "act_add_part": N_("Part used"),
    "act_void_part": N_("Part voided"),
    "act_add_labour": N_("Labour entry"),
    "act_add_note": N_("Note"),
    "act_attach_photo": N_("Photo"),
    "act_complete_work": N_("Work completed"),
    "act_collect_fee": N_("Fee collected"),
    "act_carry_back": N_("Carried back; product receipt"),
    "act_customer_signoff": N_("Customer signed"),
    "act_rate_service": N_("Customer rated the service"),
    "reason_not_assigned": N_("The order is not assigned to you."),
    "reason_invalid_args": N_("Some details were missing or wrong."),
    "reason_unknown_action": N_("This app version sent something the server does not know."),
    "reason_unknown_part": N_("The part code is not in the catalogue."),
    "reason_signoff_before_completion": N_("The customer can sign only after the work is completed."),
    "reason_reassigned": N_("The order was given to another technician meanwhile."),
    "reason_cancelled": N_("The order was cancelled meanwhile."),
    "reason_closed": N_("The order was closed meanwhile."),
    "reason_stale_edit": N_("The office changed the same details meanwhile; both versions are kept."),
    "reason_signed_content_differs": N_("The signed record differs from the server's record."),
    "reason_duplicate_rating": N_("The customer had already rated this order."),
    "reason_seq_reused": N_("The device's numbering disagrees with the server; ask the office."),
    "reason_other": N_("The server did not accept this."),
    "err_part": N_("Choose a part from the catalogue."),
    "err_qty": N_("Enter a quantity greater than 0."),
    "err_times": N_("The end must be after the start."),
    "err_text": N_("Write something first."),
    "err_amount": N_("Enter an amount greater than 0, with at most two decimals."),
    "err_receipt": N_("Enter the receipt number."),
    "err_signature": N_("Ask the customer to sign in the box first."),
    "err_signer": N_("Enter the customer's name."),
    "err_levels": N_("Choose a level for each item."),
    "err_complaint": N_("Describe the complaint."),
    "err_photo": N_("The photo could not be read."),
    "err_outcome": N_("Choose the outcome."),
    "err_severity": N_("Choose general or major."),
    "timer_running": N_("Timer running since {t}"),
    "timer_start": N_("Start the timer"),
    "timer_stop": N_("Stop and record"),
    "not_completed": N_("The customer can sign only after the work is completed."),
    "minutes": N_("{n} min"),
    "voided": N_("voided"),
    "void": N_("Void"),
    "dismiss": N_("Seen"),
    "other_user_waiting": N_("This device still holds {n} unsent changes of {x}. Sign in as {x} and send them first."),
    "in_van": N_("In my van"),
}
CLIENT_STRINGS.update({f"status_{k}": v for k, v in STATUS_LABELS.items()})
CLIENT_STRINGS.update({f"outcome_{k}": v for k, v in OUTCOME_LABELS.items()})


def client_strings() -> dict[str, str]:
    return {key: _(source) for key, source in CLIENT_STRINGS.items()}
