"""POST /sync/push (sync-protocol §2): thin — checks the envelope, runs the push, answers.

Only a device's bearer token may push. A malformed request answers 400/403/413/422 with
nothing applied; the reply to a well-formed one is sent after its transaction committed.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.response import Response

from server.i18n import gettext as _
from server.sync import ledger, resends, rules
from server.sync.devices import server_time
from server.sync.envelope import MAX_BODY_BYTES, Malformed, parse_envelope
from server.workorders.service import utcnow

# Values of envelope messages that are themselves English source strings.
_TRANSLATED_VALUES = ("kind",)


INVALID_ARGS = "invalid_args"


def _fill(template: str, values: dict) -> str:
    """The translated template with its values; as it stands when they do not fit it."""
    text = _(template)
    try:
        return text % values if values and "%(" in text else text
    except (KeyError, TypeError, ValueError):
        return text


def reason_message(reason: str, detail: dict | None) -> str:
    """A reason code and its values as a sentence in the request's language."""
    detail = detail or {}
    if reason == INVALID_ARGS:
        head = _fill(rules.MESSAGES[INVALID_ARGS], {})
        problem = rules.PROBLEMS.get(detail.get("problem", ""))
        if problem is None:
            return head
        return f"{head} {_fill(problem, {k: v for k, v in detail.items() if k != 'problem'})}"
    template = rules.MESSAGES.get(reason)
    return _fill(template, detail) if template else reason


def with_messages(result: dict) -> dict:
    if result.get("reason"):
        result["message"] = reason_message(result["reason"], result.get("detail"))
    original = result.get("original")
    if original and original.get("reason"):
        original["message"] = reason_message(original["reason"], original.get("detail"))
    return result


def _refuse(error: Malformed) -> ClientException:
    values: dict[str, Any] = {k: (_(v) if k in _TRANSLATED_VALUES else v) for k, v in error.values.items()}
    return ClientException(status_code=error.status, detail=_(error.message, **values))


@post("/sync/push", name="sync_push", status_code=200, request_max_body_size=MAX_BODY_BYTES + 1)
async def push(request: Request) -> Response:
    auth = request.scope.get("auth")
    user = request.scope.get("user")
    if user is None or auth is None or auth.kind != "bearer":
        raise NotAuthorizedException(detail=_("A device token is needed to push."))
    body = await request.body()
    replies = _resend_replies(request)
    key = replies.key(auth.device_id, body)
    known = replies.recall(key)
    if known is not None:
        now = utcnow()
        last_seq = await resends.answer_from_memory(known, auth.device_id, now)
        if last_seq is not None:
            return _reply(resends.copy_results(known), last_seq, None, now)
    try:
        envelope = parse_envelope(body, auth.device_id)
        result = await ledger.push(envelope, user.id)
    except Malformed as error:
        raise _refuse(error) from None
    except ledger.DeviceGone:
        raise NotAuthorizedException(detail=_("This device was revoked.")) from None
    if result.stopped is None:
        replies.remember(key, result.results)
    return _reply(result.results, result.last_seq, result.stopped, result.committed_at)


def _resend_replies(request: Request) -> resends.ResendReplies:
    state = request.app.state
    if "resend_replies" not in state:
        state.resend_replies = resends.ResendReplies()
    return state.resend_replies


def _reply(results: list[dict], last_seq: int, stopped: dict | None, at) -> Response:
    return Response({
        "results": [with_messages(dict(r)) for r in results],
        "last_seq": last_seq,
        "stopped": stopped,
        "server_time": server_time(at),
    }, status_code=200)


route_handlers = [push]
