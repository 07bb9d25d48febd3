"""Supervisor pages and the escalation and audit JSON API."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user, login_required

from counselors.permissions import RESPONDERS, requires
from counselors.supervisor.safety import BlockForm
from hotline.errors import InvalidInput
from hotline.extensions import db
from hotline.labels import (
    console_strings,
    conversation_state_names,
    escalation_outcome_names,
    need_names,
    risk_level_names,
    role_names,
    sender_names,
    signal_kind_names,
)
from hotline.services import audit, callbacks, escalations
from hotline.services.accounts import list_staff
from hotline.services.transcripts import read_transcript

bp = Blueprint("supervisor", __name__, template_folder="templates")


@bp.get("/supervisor")
@login_required
@requires("supervisor")
def board() -> str:
    """The live escalation board and the history of closed escalations."""
    with db.read() as session:
        history = escalations.list_escalations(session, "closed", limit=100)
        staff = list_staff(session)
        overdue = callbacks.overdue_callbacks(session)
    responders = [
        member for member in staff if member.is_active and member.role in RESPONDERS
    ]
    return render_template(
        "supervisor/board.html",
        user=current_user,
        history=[e.to_payload() for e in history],
        overdue_callbacks=[c.to_payload() for c in overdue],
        responders=responders,
        target_seconds=current_app.config["ESCALATION_ACK_TARGET_SECONDS"],
        timezone=current_app.config["TIMEZONE"],
        strings=console_strings(),
        role_names=role_names(),
        outcome_names=escalation_outcome_names(),
        level_names=risk_level_names(),
    )


@bp.get("/supervisor/conversations/<int:conversation_id>")
@login_required
@requires("transcript")
def transcript(conversation_id: int) -> str:
    """A whole conversation; reads by non-participants are audited."""
    # A unit of work: a read by a non-participant is audited.
    with db.transaction() as session:
        result = read_transcript(session, conversation_id, current_user.member)
    return render_template(
        "supervisor/transcript.html",
        user=current_user,
        transcript=result.to_payload(),
        level_names=risk_level_names(),
        role_names=role_names(),
        state_names=conversation_state_names(),
        sender_names=sender_names(),
        need_names=need_names(),
        signal_names=signal_kind_names(),
        block_form=BlockForm(),
    )


@bp.get("/supervisor/audit")
@login_required
@requires("audit")
def audit_log() -> str:
    """The audit trail, filterable by action, actor and conversation."""
    filters = _audit_filters()
    with db.read() as session:
        entries = audit.list_entries(session, **filters)
    return render_template(
        "supervisor/audit.html",
        user=current_user,
        entries=[e.to_payload() for e in entries],
        filters=filters,
        actions=audit.ACTIONS,
        role_names=role_names(),
    )


@bp.get("/api/escalations")
@requires("escalations")
def escalations_api() -> Any:
    """Escalations by state for tools: open, acknowledged or closed."""
    state = request.args.get("state")
    with db.read() as session:
        views = escalations.list_escalations(session, state)
    return jsonify({"escalations": [view.to_payload() for view in views]})


@bp.get("/api/audit")
@requires("audit")
def audit_api() -> Any:
    """The audit trail as JSON (read-only: no route edits or deletes it)."""
    filters = _audit_filters()
    with db.read() as session:
        entries = audit.list_entries(session, **filters)
    return jsonify({"entries": [entry.to_payload() for entry in entries]})


_CONVERSATION_ID = re.compile(r"[0-9]{1,9}")


def _audit_filters() -> dict[str, Any]:
    action = request.args.get("action") or None
    if action is not None and action not in audit.ACTIONS:
        raise InvalidInput("unknown_value", field="action")
    conversation = request.args.get("conversation") or None
    # ASCII digits only ("²".isdigit() is true), and within a database integer.
    if conversation is not None and not _CONVERSATION_ID.fullmatch(conversation):
        raise InvalidInput("not_a_number", field="conversation")
    return {
        "action": action,
        "actor": (request.args.get("actor") or None),
        "conversation_id": int(conversation) if conversation else None,
    }
