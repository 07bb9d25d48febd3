"""Socket.IO ``/console``: the staff member's live queue, chats and escalations."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room

from counselors.console.monitoring_events import MonitoringEvents
from counselors.console.transfer_events import TransferEvents, pending_transfers
from counselors.console.wellbeing_events import WellbeingEvents
from counselors.permissions import RESPONDERS, may, requires
from hotline.dispatcher import escalation_snapshot
from hotline.errors import InvalidInput, RateLimited, Unauthorized
from hotline.extensions import db, phone_vault
from hotline.jobs.presence_watch import LOCAL_SIDS, WORKER
from hotline.models import (
    CallOutcome,
    EscalationOutcome,
    Outcome,
    RiskLevel,
    Role,
    Sender,
)
from hotline.realtime import (
    RESPONDERS_ROOM,
    STAFF_ROOM,
    SUPERVISORS_ROOM,
    connection_state,
    counselor_room,
)
from hotline.services import (
    callbacks,
    canned,
    escalations,
    presence,
    referrals,
    risk,
)
from hotline.services.accounts import set_on_duty
from hotline.services.closing import (
    NEEDS,
    WrapUpInput,
    add_note,
    close_with_wrap_up,
    list_notes,
)
from hotline.services.conversations import (
    messages_after,
    post_message,
    post_system_message,
)
from hotline.services.queue import (
    LoadLimits,
    claim_conversation,
    held_conversations,
    queue_snapshot,
    release_conversation,
    require_holder,
)
from hotline.services.transcripts import read_transcript
from hotline.services.wellbeing import break_until, was_hard
from hotline.sockets import refusal
from hotline.throttle import may_send_message
from hotline.validation import (
    bool_field,
    choice_field,
    client_id_field,
    int_field,
    require_object,
    text_field,
)

SYNC_PAGE = 500
MAX_NOTE_CHARS = 4000
MAX_REASON_CHARS = 1000
MAX_QUERY_CHARS = 100


def _user_id() -> int:
    # current_user is reloaded from the database for every event (see
    # counselors.auth.load_user), so a deactivated account is refused at
    # its next event; permission decorators have already checked sign-in.
    return int(current_user.id)


def _conversation_id(payload: dict[str, Any]) -> int:
    return int_field(payload, "conversation_id", minimum=1)


def _escalation_id(payload: dict[str, Any]) -> int:
    return int_field(payload, "escalation_id", minimum=1)


def _spend_message_budget() -> None:
    # One budget per staff member in the shared limit store, whichever
    # console tab or worker the message comes through.
    verdict = may_send_message("staff", str(_user_id()))
    if not verdict.allowed:
        raise RateLimited(retry_after=verdict.retry_after)


class ConsoleNamespace(WellbeingEvents, TransferEvents, MonitoringEvents, Namespace):
    """Thin handlers: check the role, validate, call one service, emit."""

    def on_connect(self, auth: Any = None) -> None:
        if not current_user.is_authenticated or not may(
            "console", current_user.member.role
        ):
            raise refusal(Unauthorized("staff_only"))
        user_id = _user_id()
        role = current_user.member.role
        with db.transaction() as session:
            arrival = presence.connected(session, request.sid, user_id, WORKER)
        LOCAL_SIDS.add(request.sid)
        connection_state()["user_id"] = user_id
        join_room(counselor_room(user_id))
        join_room(STAFF_ROOM)
        with db.read() as session:
            queue = queue_snapshot(session)
            held = held_conversations(session, user_id)
            until = break_until(session, user_id)
            snapshot = escalation_snapshot(session) if role in RESPONDERS else None
        emit("queue", queue)
        emit("held", {"items": [h.to_payload() for h in held]})
        # A reload within the grace period finds duty as it was; after a
        # long absence the person is told that (and why) their duty ended.
        emit(
            "duty",
            {"on_duty": arrival.on_duty, "ended": arrival.duty_ended_reason},
        )
        emit("break", {"on_break_until": until.isoformat() if until else None})
        emit("transfers", pending_transfers(user_id))
        if snapshot is not None:
            join_room(RESPONDERS_ROOM)
            emit("escalations", snapshot)
        if role is Role.SUPERVISOR:
            join_room(SUPERVISORS_ROOM)

    def on_disconnect(self, reason: Any = None) -> None:
        # Not current_user: an idle-expired sign-in still has a connection
        # to forget. The last console of a person, on any worker, starts a
        # grace period; hotline.services.safety_net acts if it runs out.
        LOCAL_SIDS.discard(request.sid)
        user_id = connection_state().get("user_id")
        if user_id is not None:
            with db.transaction() as session:
                presence.disconnected(session, request.sid, user_id)

    # --- conversations -------------------------------------------------

    @requires("claim")
    def on_claim(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        # A supervisor may ring a callback before its window (audited).
        before_window = bool_field(payload, "before_window")
        with db.transaction() as session:
            held = claim_conversation(
                session,
                conversation_id,
                _user_id(),
                LoadLimits.from_config(current_app.config),
                before_window=before_window,
            )
        return {"ok": True, "conversation": held.to_payload()}

    @requires("message")
    def on_message(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        client_id = client_id_field(payload)
        body = text_field(
            payload, "body", max_chars=current_app.config["MAX_MESSAGE_CHARS"]
        )
        _spend_message_budget()
        with db.transaction() as session:
            posted = post_message(
                session,
                conversation_id,
                sender=Sender.COUNSELOR,
                body=body,
                client_id=client_id,
                counselor_id=_user_id(),
                author_role=current_user.role,
            )
        return {"ok": True, "seq": posted.message.seq}

    @requires("sync")
    def on_sync(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        after_seq = int_field(payload, "after_seq")
        with db.read() as session:
            require_holder(session, conversation_id, _user_id())
            messages = messages_after(session, conversation_id, after_seq, SYNC_PAGE)
        return {
            "ok": True,
            "messages": [m.to_payload(for_staff=True) for m in messages],
            "has_more": len(messages) == SYNC_PAGE,
        }

    @requires("release")
    def on_release(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        with db.transaction() as session:
            release_conversation(session, conversation_id, _user_id())
        return {"ok": True}

    # --- callbacks -----------------------------------------------------

    @requires("call_sheet")
    def on_call_sheet(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        rules = callbacks.CallbackRules.from_config(current_app.config)
        # A transaction, not a read: every reading of the number is audited.
        with db.transaction() as session:
            sheet = callbacks.call_sheet(
                session, phone_vault(), conversation_id, _user_id(), rules
            )
        return {"ok": True, "sheet": sheet.to_payload()}

    @requires("attempt")
    def on_attempt(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        outcome = CallOutcome(
            choice_field(
                payload, "outcome", [o.value for o in CallOutcome], default=None
            )
        )
        note = text_field(payload, "note", max_chars=MAX_NOTE_CHARS, required=False)
        rules = callbacks.CallbackRules.from_config(current_app.config)
        with db.transaction() as session:
            result = callbacks.log_attempt(
                session,
                conversation_id,
                _user_id(),
                outcome=outcome,
                note=note,
                rules=rules,
            )
        return {"ok": True, **result.to_payload()}

    @requires("note")
    def on_note(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        body = text_field(payload, "body", max_chars=MAX_NOTE_CHARS)
        with db.transaction() as session:
            note = add_note(session, conversation_id, _user_id(), body)
        return {"ok": True, "note": note.to_payload()}

    @requires("notes")
    def on_notes(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        with db.read() as session:
            require_holder(session, conversation_id, _user_id())
            notes = list_notes(session, conversation_id)
        return {"ok": True, "notes": [note.to_payload() for note in notes]}

    @requires("close")
    def on_close(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        wrap_up = _wrap_up(require_object(payload.get("wrap_up")))
        with db.transaction() as session:
            close_with_wrap_up(session, conversation_id, _user_id(), wrap_up)
        # After a crisis the console offers a pause and a debrief.
        with db.read() as session:
            offer_pause = was_hard(session, conversation_id)
        return {"ok": True, "offer_pause": offer_pause}

    @requires("transcript")
    def on_transcript(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        # A unit of work: a read by a non-participant is audited.
        with db.transaction() as session:
            transcript = read_transcript(
                session, _conversation_id(payload), current_user.member
            )
        return {"ok": True, "transcript": transcript.to_payload()}

    # --- community resources and referrals -------------------------------

    @requires("resources")
    def on_resources(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        query = text_field(payload, "query", max_chars=MAX_QUERY_CHARS, required=False)
        with db.read() as session:
            panel = referrals.resource_panel(
                session, _conversation_id(payload), _user_id(), query
            )
        return {"ok": True, **panel.to_payload()}

    @requires("refer")
    def on_refer(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        resource_id = int_field(payload, "resource_id", minimum=1)
        _spend_message_budget()
        with db.transaction() as session:
            referred = referrals.refer(
                session, conversation_id, _user_id(), resource_id
            )
        return {
            "ok": True,
            "seq": referred.message.seq,
            "channel": referred.channel,
            "referral": referred.referral.to_payload(),
        }

    @requires("set_area")
    def on_set_area(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        area = text_field(
            payload, "area", max_chars=referrals.MAX_AREA_CHARS, required=False
        )
        with db.transaction() as session:
            saved = referrals.set_area(
                session, _conversation_id(payload), _user_id(), area
            )
        return {"ok": True, "area": saved}

    # --- quick replies (canned responses) ---------------------------------

    @requires("canned")
    def on_canned(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        lang = payload.get("lang")
        if lang is not None:
            lang = choice_field(payload, "lang", canned.LANGUAGES, default=None)
        conversation_id = (
            _conversation_id(payload) if "conversation_id" in payload else None
        )
        query = text_field(
            payload, "q", max_chars=canned.MAX_QUERY_CHARS, required=False
        )
        with db.read() as session:
            found = canned.library(
                session,
                _user_id(),
                conversation_id=conversation_id,
                lang=lang,
                query=query,
            )
        return {"ok": True, **found.to_payload()}

    @requires("canned_save")
    def on_canned_save(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        response_id = int_field(payload, "id", minimum=1) if "id" in payload else None
        data = canned.check_input(
            payload.get("category"),
            payload.get("lang"),
            payload.get("title"),
            payload.get("body"),
        )
        with db.transaction() as session:
            saved = canned.save_own(session, _user_id(), data, response_id)
        return {"ok": True, "response": saved.to_payload()}

    @requires("canned_delete")
    def on_canned_delete(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        response_id = int_field(payload, "id", minimum=1)
        with db.transaction() as session:
            canned.delete_own(session, _user_id(), response_id)
        return {"ok": True}

    @requires("set_name")
    def on_set_name(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        name = text_field(
            payload, "name", max_chars=canned.MAX_NAME_CHARS, required=False
        )
        with db.transaction() as session:
            saved = canned.set_resident_name(
                session, _conversation_id(payload), _user_id(), name
            )
        return {"ok": True, "name": saved}

    # --- triage and escalation -----------------------------------------

    @requires("correct")
    def on_correct(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        level = RiskLevel(
            choice_field(
                payload, "level", [lvl.value for lvl in RiskLevel], default=None
            )
        )
        reason = text_field(payload, "reason", max_chars=MAX_REASON_CHARS)
        with db.transaction() as session:
            if current_user.member.role is not Role.SUPERVISOR:
                require_holder(session, conversation_id, _user_id())
            risk.correct_level_and_escalate(
                session,
                conversation_id,
                actor_id=_user_id(),
                to_level=level,
                reason=reason,
            )
        return {"ok": True, "level": str(level)}

    @requires("escalate")
    def on_escalate(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        conversation_id = _conversation_id(payload)
        reason = text_field(payload, "reason", max_chars=MAX_REASON_CHARS)
        with db.transaction() as session:
            if current_user.member.role is not Role.SUPERVISOR:
                require_holder(session, conversation_id, _user_id())
            escalation_id = escalations.escalate_manually(
                session, conversation_id, actor_id=_user_id(), reason=reason
            )
            alerted = escalations.alert_audience(session).kind
        return {"ok": True, "escalation_id": escalation_id, "alerted": alerted}

    @requires("duty")
    def on_duty(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        on_duty = bool_field(payload, "on_duty")
        with db.transaction() as session:
            member = set_on_duty(session, _user_id(), on_duty)
        return {"ok": True, "on_duty": member.is_on_duty}

    @requires("escalations")
    def on_escalations(self, payload: Any = None) -> dict[str, Any]:
        with db.read() as session:
            return {"ok": True, **escalation_snapshot(session)}

    @requires("acknowledge")
    def on_acknowledge(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        escalation_id = _escalation_id(payload)
        with db.transaction() as session:
            escalations.acknowledge(session, escalation_id, _user_id())
            view = escalations.get(session, escalation_id)
        return {"ok": True, "escalation": view.to_payload()}

    @requires("assign")
    def on_assign(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        escalation_id = _escalation_id(payload)
        assignee_id = int_field(payload, "assignee_id", minimum=1)
        with db.transaction() as session:
            escalations.assign(
                session, escalation_id, actor_id=_user_id(), assignee_id=assignee_id
            )
            view = escalations.get(session, escalation_id)
        return {"ok": True, "escalation": view.to_payload()}

    @requires("join")
    def on_join(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        escalation_id = _escalation_id(payload)
        take_over = bool_field(payload, "take_over")
        with db.transaction() as session:
            conversation_id = escalations.join(
                session, escalation_id, _user_id(), take_over=take_over
            )
            post_system_message(session, conversation_id, "social_worker_joined")
        return {"ok": True, "conversation_id": conversation_id}

    @requires("close_escalation")
    def on_close_escalation(self, payload: Any = None) -> dict[str, Any]:
        payload = require_object(payload)
        escalation_id = _escalation_id(payload)
        outcome = EscalationOutcome(
            choice_field(
                payload, "outcome", [o.value for o in EscalationOutcome], default=None
            )
        )
        notes = text_field(payload, "notes", max_chars=MAX_NOTE_CHARS)
        with db.transaction() as session:
            escalations.close(
                session,
                escalation_id,
                actor_id=_user_id(),
                outcome=outcome,
                notes=notes,
            )
        return {"ok": True}


def _wrap_up(payload: dict[str, Any]) -> WrapUpInput:
    outcome = choice_field(
        payload, "outcome", [member.value for member in Outcome], default=None
    )
    needs = payload.get("needs", [])
    if not isinstance(needs, list) or any(need not in NEEDS for need in needs):
        raise InvalidInput("needs", field="needs", choices=", ".join(NEEDS))
    escalation = payload.get("escalation")
    escalation_outcome, escalation_notes = None, ""
    if escalation is not None:
        escalation = require_object(escalation)
        escalation_outcome = EscalationOutcome(
            choice_field(
                escalation,
                "outcome",
                [o.value for o in EscalationOutcome],
                default=None,
            )
        )
        escalation_notes = text_field(escalation, "notes", max_chars=MAX_NOTE_CHARS)
    return WrapUpInput(
        outcome=Outcome(outcome),
        needs=tuple(dict.fromkeys(needs)),
        follow_up=bool_field(payload, "follow_up"),
        summary=text_field(
            payload, "summary", max_chars=MAX_NOTE_CHARS, required=False
        ),
        escalation_outcome=escalation_outcome,
        escalation_notes=escalation_notes,
    )
