"""The one dispatcher: turns committed domain events into Socket.IO pushes.

Who gets told what lives here, readable top to bottom. ``db.transaction()``
calls ``dispatch`` after its commit with the events its services recorded
(``hotline.events``); what a push needs beyond the event is read in the
dispatcher's own read transaction, which never takes SQLite's write lock.

Residents listen on ``/chat`` in ``conversation:<id>``. Staff listen on
``/console`` in ``counselor:<id>`` (their own chats and alerts), ``staff``
(the queue), ``responders`` (social workers and supervisors: the escalation
list), ``supervisors`` and ``monitor:<conversation id>``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import events as ev
from hotline.extensions import db, socketio
from hotline.metrics import observe_push
from hotline.models import ConsolePresence, Conversation, ConversationState
from hotline.realtime import (
    CHAT_NAMESPACE,
    CONSOLE_NAMESPACE,
    RESPONDERS_ROOM,
    STAFF_ROOM,
    SUPERVISORS_ROOM,
    conversation_room,
    counselor_room,
    monitor_room,
)
from hotline.services import escalations, safety_net, transfers, wellbeing
from hotline.services.conversations import joined_staff
from hotline.services.queue import (
    PREVIEW_CHARS,
    QueueItem,
    conversation_status,
    estimate_minutes,
    held_conversation,
    queue_snapshot,
    service_pace,
    status_payload,
    waiting_order,
)

logger = logging.getLogger(__name__)

# Pushes that show a whole list are sent once per dispatch, after the
# events that changed it, however many events changed it.
_ONCE_AT_THE_END = (ev.QueueChanged, ev.EscalationsChanged)


def dispatch(events: Sequence[object]) -> None:
    """Push what ``events`` mean to the people who must hear it.

    One failing push is logged and the rest still go out: a queue refresh
    that fails must not keep a crisis alert from being sent.
    """
    if not events:
        return
    lists = [event for event in events if isinstance(event, _ONCE_AT_THE_END)]
    with db.read() as session:
        for event in events:
            if not isinstance(event, _ONCE_AT_THE_END):
                _run(session, event)
        for kind in _ONCE_AT_THE_END:
            first = next((e for e in lists if isinstance(e, kind)), None)
            if first is not None:
                _run(session, first)


def _run(session: Session, event: object) -> None:
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise TypeError(f"no dispatcher handler for {type(event).__name__}")
    try:
        handler(session, event)
    except Exception:
        logger.exception("dispatching %s failed", type(event).__name__)


# --- messages -------------------------------------------------------------


def _message_posted(session: Session, event: ev.MessagePosted) -> None:
    posted = event.posted
    # Re-delivered on a resend too: the first delivery may have been lost
    # with a dying worker, and clients drop seqs they already have.
    deliver_message(
        session, posted.message, posted.holder_id, staff_joined=posted.staff_joined
    )


def deliver_message(
    session: Session,
    message: Any,
    holder_id: int | None,
    *,
    staff_joined: bool = True,
) -> None:
    """Push a stored message to the resident and to the staff in the chat.

    With ``staff_joined`` False (the conversation's flag, read in the
    message's own UPDATE) nobody besides the holder joined, and the lookup
    is skipped.
    """
    _emit(
        "message",
        message.to_payload(),
        to=conversation_room(message.conversation_id),
        namespace=CHAT_NAMESPACE,
    )
    # Looked up after the commit, so a responder or supervisor whose join
    # committed before this point gets the message, and one who joins later
    # finds it in their sync. A join sets the flag on the conversation row
    # that the message's seq UPDATE also writes, so the two are ordered.
    staff = {holder_id}
    if staff_joined:
        staff |= joined_staff(session, message.conversation_id)
    staff_payload = message.to_payload(for_staff=True)
    for user_id in staff - {None}:
        _to_console("message", staff_payload, counselor_room(user_id))
    _to_console("message", staff_payload, monitor_room(message.conversation_id))


# --- queue and conversations ---------------------------------------------


def _queue_changed(session: Session, _event: ev.QueueChanged) -> None:
    """The queue's first page to staff; waiting residents' places, coalesced."""
    _to_console("queue", queue_snapshot(session), STAFF_ROOM)
    position_pushes().request()


def _queue_item_changed(_session: Session, event: ev.QueueItemChanged) -> None:
    """The one item, as the message's unit of work left it (no read back)."""
    item = QueueItem(
        conversation_id=event.conversation_id,
        lang=event.lang,
        waiting_since=event.waiting_since,
        message_count=event.message_count,
        preview=event.preview[:PREVIEW_CHARS],
        risk_level=event.risk_level,
        signals=event.signals,
        needs=event.needs,
    )
    _to_console("queue_item", item.to_payload(), STAFF_ROOM)


class PositionPushes:
    """Tells waiting residents their place when it changed, at most once per
    ``POSITION_PUSH_SECONDS`` per worker, however many changes came in
    between: under a surge every message would otherwise cost one push per
    waiting resident. One indexed scan gives every place at once, and only
    residents whose place or estimate changed since this worker last told
    them get a push. ``POSITION_PUSH_SECONDS`` 0 pushes at once (tests).

    The last scan also answers ``place``: a page that connects (or syncs)
    while it is recent is told its place from it instead of counting the
    queue ahead, so joining costs the same with 50 or 5,000 waiting.
    """

    def __init__(self) -> None:
        self._scheduled = False
        self._told: dict[int, tuple[int, int | None]] = {}
        self._scanned_at = -math.inf

    def place(self, conversation_id: int) -> tuple[int, int | None] | None:
        """A waiting conversation's place and estimate from a scan at most
        twice ``POSITION_PUSH_SECONDS`` old, or None (then count). As stale
        as a coalesced push may be: any change since the scan has a push on
        its way, which tells the page if its place moved. An ageing scan is
        renewed, so that a wave of joins keeps finding a recent one."""
        delay = current_app.config["POSITION_PUSH_SECONDS"]
        if delay <= 0:
            # Every change is pushed at once: there is no scan to lean on.
            return None
        age = time.monotonic() - self._scanned_at
        if age > delay:
            self.request()
        return self._told.get(conversation_id) if age <= 2 * delay else None

    def request(self) -> None:
        delay = current_app.config["POSITION_PUSH_SECONDS"]
        if delay <= 0:
            self.push()
            return
        if self._scheduled:
            return
        self._scheduled = True
        socketio.start_background_task(
            self._push_later, current_app._get_current_object(), delay
        )

    def _push_later(self, app: Any, delay: float) -> None:
        socketio.sleep(delay)
        self._scheduled = False
        try:
            with app.app_context():
                self.push()
        except Exception:
            logger.exception("pushing queue positions failed")

    def push(self) -> None:
        with db.read() as session:
            scanned_at = time.monotonic()
            order = waiting_order(session)
            pace = service_pace(session) if order else None
        told: dict[int, tuple[int, int | None]] = {}
        for position, conversation_id in enumerate(order, 1):
            now = (position, estimate_minutes(position, pace))
            told[conversation_id] = now
            if self._told.get(conversation_id) == now:
                continue
            _emit(
                "status",
                status_payload(ConversationState.WAITING, *now),
                to=conversation_room(conversation_id),
                namespace=CHAT_NAMESPACE,
            )
        self._told = told
        self._scanned_at = scanned_at


def position_pushes() -> PositionPushes:
    """This app's position pushes (one per app: tests build many apps)."""
    return current_app.extensions.setdefault("hotline.positions", PositionPushes())


def _status_changed(session: Session, event: ev.StatusChanged) -> None:
    status = conversation_status(session, event.conversation_id)
    _emit(
        "status",
        status.to_payload(),
        to=conversation_room(event.conversation_id),
        namespace=CHAT_NAMESPACE,
    )


def _held_changed(session: Session, event: ev.HeldChanged) -> None:
    if event.gone is None:
        payload = held_conversation(session, event.conversation_id).to_payload()
    else:
        payload = {"conversation_id": event.conversation_id, "state": event.gone}
    _to_console("conversation", payload, counselor_room(event.user_id))


# --- escalations and duty --------------------------------------------------


def _escalation_opened(session: Session, event: ev.EscalationOpened) -> None:
    alert_escalation(session, event.escalation_id, repeat=False)
    _escalations_changed(session, ev.EscalationsChanged())


def _escalation_due(session: Session, event: ev.EscalationDue) -> None:
    alert_escalation(session, event.escalation_id, repeat=True)


def _escalations_changed(session: Session, _event: ev.EscalationsChanged) -> None:
    _to_console("escalations", escalation_snapshot(session), RESPONDERS_ROOM)


def _escalation_assigned(session: Session, event: ev.EscalationAssigned) -> None:
    view = escalations.get(session, event.escalation_id)
    _to_console(
        "escalation",
        {**view.to_payload(), "repeat": False},
        counselor_room(event.assignee_id),
    )


def _duty_changed(session: Session, event: ev.DutyChanged) -> None:
    room = counselor_room(event.user_id)
    _to_console("duty", {"on_duty": event.on_duty, "reason": event.reason}, room)
    if not event.on_duty or not escalations.is_responder(session, event.user_id):
        return
    # Whoever comes on duty hears at once about escalations nobody has
    # acknowledged yet.
    for waiting in escalations.list_escalations(session, "open"):
        _to_console("escalation", {**waiting.to_payload(), "repeat": True}, room)


def _crisis_contacts_shown(_session: Session, event: ev.CrisisContactsShown) -> None:
    show_crisis_contacts(event.conversation_id)


def escalation_snapshot(session: Session) -> dict[str, Any]:
    """Open and acknowledged escalations, oldest first, with the target, and
    the chats whose resident has waited past the response clock."""
    return {
        "target_seconds": current_app.config["ESCALATION_ACK_TARGET_SECONDS"],
        "quiet": safety_net.quiet_chats(
            session, safety_net.SafetyLimits.from_config(current_app.config)
        ),
        "open": [e.to_payload() for e in escalations.list_escalations(session, "open")],
        "acknowledged": [
            e.to_payload()
            for e in escalations.list_escalations(session, "acknowledged")
        ],
    }


def alert_escalation(session: Session, escalation_id: int, *, repeat: bool) -> None:
    """Alert the people who must act; never silent.

    On-duty social workers first; supervisors on duty when no social worker
    is; when nobody is on duty the resident is shown emergency contacts at
    once, and the escalation stays open for whoever comes on duty next.
    """
    view = escalations.get(session, escalation_id)
    payload = {**view.to_payload(), "repeat": repeat}
    audience = escalations.alert_audience(session)
    for user_id in audience.user_ids:
        _to_console("escalation", payload, counselor_room(user_id))
    if not audience.user_ids:
        # Every time nobody can be alerted, the resident sees where to get help.
        show_crisis_contacts(view.conversation_id)


def crisis_lines() -> list[dict[str, str]]:
    """The configured emergency numbers, keyed for the pages to label."""
    return [
        {"key": key, "number": number}
        for key, number in current_app.config["CRISIS_LINES"]
    ]


def show_crisis_contacts(conversation_id: int) -> None:
    """Show the resident the emergency numbers right away."""
    _emit(
        "crisis_contacts",
        {"lines": crisis_lines()},
        to=conversation_room(conversation_id),
        namespace=CHAT_NAMESPACE,
    )


def _to_console(event: str, payload: Any, room: str) -> None:
    _emit(event, payload, to=room, namespace=CONSOLE_NAMESPACE)


def _emit(event: str, payload: Any, *, to: str, namespace: str) -> None:
    """Every push leaves here: counted and sized (hotline.metrics), then sent."""
    observe_push(event, payload, namespace)
    socketio.emit(event, payload, to=to, namespace=namespace)


# --- blocks ------------------------------------------------------------------


def _contact_blocked(session: Session, event: ev.ContactBlocked) -> None:
    """Tell the blocked conversation's open pages, in their language, and stop
    pushing to them; their next event is refused (hotline.resident)."""
    from hotline.resident.api import blocked_error  # the API imports this module

    lang = session.scalar(
        select(Conversation.lang).where(Conversation.id == event.conversation_id)
    )
    with force_locale(lang or "zh"):
        refusal = blocked_error().to_dict()["error"]
    room = conversation_room(event.conversation_id)
    _emit("blocked", refusal, to=room, namespace=CHAT_NAMESPACE)
    socketio.close_room(room, namespace=CHAT_NAMESPACE)


# --- transfers ---------------------------------------------------------------


def _transfer_offered(session: Session, event: ev.TransferOffered) -> None:
    view = transfers.get(session, event.transfer_id)
    body = view.to_payload()
    _to_console("transfer_offer", body, counselor_room(view.to_id))
    _to_console("transfer_update", body, counselor_room(view.from_id))


def _transfer_accepted(session: Session, event: ev.TransferAccepted) -> None:
    view = transfers.get(session, event.transfer_id)
    _to_console(
        "conversation",
        {
            "conversation_id": view.conversation_id,
            "state": "transferred",
            "to_name": view.to_name,
        },
        counselor_room(view.from_id),
    )
    _transfer_update(view)


def _transfer_changed(session: Session, event: ev.TransferChanged) -> None:
    _transfer_update(transfers.get(session, event.transfer_id))


def _transfer_update(view: transfers.TransferView) -> None:
    body = view.to_payload()
    for user_id in dict.fromkeys((view.from_id, view.to_id)):
        _to_console("transfer_update", body, counselor_room(user_id))


# --- supervision -----------------------------------------------------------


def _whisper_sent(_session: Session, event: ev.WhisperSent) -> None:
    """To the holder and to everyone watching; never to the resident."""
    note = event.whisper.to_payload()
    _to_console("whisper", note, counselor_room(event.whisper.holder_id))
    _to_console("whisper", note, monitor_room(event.whisper.conversation_id))


# --- looking after staff ----------------------------------------------------


def _break_changed(_session: Session, event: ev.BreakChanged) -> None:
    """Every tab of the person shows the break (and disables claiming)."""
    until = event.until.isoformat() if event.until else None
    _to_console("break", {"on_break_until": until}, counselor_room(event.user_id))


def _debrief_changed(session: Session, event: ev.DebriefChanged) -> None:
    view = wellbeing.get_debrief(session, event.debrief_id)
    _to_console("debrief", view.to_payload(), SUPERVISORS_ROOM)


# --- staff sessions ---------------------------------------------------------


def _sessions_revoked(session: Session, event: ev.SessionsRevoked) -> None:
    """Hang up every console of an account whose sign-ins ended, on whichever
    worker holds it (python-socketio passes the request through the queue)."""
    _to_console("signed_out", {}, counselor_room(event.user_id))
    sids = session.scalars(
        select(ConsolePresence.sid).where(ConsolePresence.user_id == event.user_id)
    ).all()
    for sid in sids:
        socketio.server.disconnect(sid, namespace=CONSOLE_NAMESPACE)


def _unanswered_alert(_session: Session, event: ev.UnansweredAlert) -> None:
    payload = {
        "kind": "unanswered",
        "conversation_id": event.conversation_id,
        "stage": event.stage,
        "risk_level": event.risk_level,
        "since": event.since.isoformat() if event.since else None,
    }
    if event.holder_id is not None:
        _to_console("safety_alert", payload, counselor_room(event.holder_id))
    if event.stage >= 2 or event.holder_id is None:
        _to_console("safety_alert", payload, SUPERVISORS_ROOM)


def _no_responder_on_duty(session: Session, _event: ev.NoResponderOnDuty) -> None:
    _to_console("safety_alert", {"kind": "no_responder_on_duty"}, SUPERVISORS_ROOM)
    # Residents whose escalation nobody can now be alerted to are shown
    # where to get help at once.
    for waiting in escalations.list_escalations(session, "open"):
        show_crisis_contacts(waiting.conversation_id)


_HANDLERS: dict[type, Callable[[Session, Any], None]] = {
    ev.MessagePosted: _message_posted,
    ev.QueueChanged: _queue_changed,
    ev.StatusChanged: _status_changed,
    ev.HeldChanged: _held_changed,
    ev.EscalationOpened: _escalation_opened,
    ev.EscalationDue: _escalation_due,
    ev.EscalationsChanged: _escalations_changed,
    ev.EscalationAssigned: _escalation_assigned,
    ev.DutyChanged: _duty_changed,
    ev.CrisisContactsShown: _crisis_contacts_shown,
    ev.ContactBlocked: _contact_blocked,
    ev.TransferOffered: _transfer_offered,
    ev.TransferAccepted: _transfer_accepted,
    ev.TransferChanged: _transfer_changed,
    ev.WhisperSent: _whisper_sent,
    ev.BreakChanged: _break_changed,
    ev.DebriefChanged: _debrief_changed,
    ev.SessionsRevoked: _sessions_revoked,
    ev.UnansweredAlert: _unanswered_alert,
    ev.NoResponderOnDuty: _no_responder_on_duty,
    ev.QueueItemChanged: _queue_item_changed,
}
