"""Translated labels for enum values and the strings the browser scripts show."""

from __future__ import annotations

from flask_babel import gettext as _


def crisis_line_names() -> dict[str, str]:
    return {
        "emergency_medical": _("Ambulance"),
        "police": _("Police"),
        "psychological_assistance": _("Psychological assistance line"),
    }


def role_names() -> dict[str, str]:
    return {
        "counselor": _("Counsellor"),
        "social_worker": _("Social worker"),
        "supervisor": _("Supervisor"),
        "admin": _("Administrator"),
    }


def outcome_names() -> dict[str, str]:
    return {
        "supported": _("Listened and supported"),
        "referred": _("Referred to community resources"),
        "escalated": _("Escalated to a social worker"),
        "resident_left": _("Resident left"),
        "other": _("Other"),
    }


def need_names() -> dict[str, str]:
    return {
        "supplies": _("Food and supplies"),
        "medicine": _("Medicine"),
        "medical": _("Medical care"),
        "care": _("Care for elderly, disabled or children"),
    }


def risk_level_names() -> dict[str, str]:
    return {
        "crisis": _("Crisis"),
        "high": _("High"),
        "moderate": _("Moderate"),
        "low": _("Low"),
    }


def escalation_outcome_names() -> dict[str, str]:
    return {
        "safety_plan": _("Safety plan agreed"),
        "emergency_services": _("Emergency services contacted"),
        "psychiatric_referral": _("Referred to psychiatric care"),
        "family_or_community_contacted": _("Family or community worker contacted"),
        "false_alarm": _("False alarm"),
    }


def escalation_state_names() -> dict[str, str]:
    return {
        "open": _("Waiting for acknowledgement"),
        "acknowledged": _("Acknowledged"),
        "assigned": _("Assigned"),
        "joined": _("Responder in the chat"),
        "closed": _("Closed"),
    }


def error_messages() -> dict[str, str]:
    """Messages for the error codes of DESIGN §3, as residents and staff read them."""
    return {
        "invalid_input": _("That message could not be sent. Please check it."),
        "too_long": _("That message is too long. Please split it up."),
        "rate_limited": _("You are sending very fast. Please wait a moment."),
        "conversation_closed": _("This conversation has ended."),
        "already_claimed": _("Another counsellor has already taken this conversation."),
        "not_holder": _("You do not hold this conversation."),
        "conflict": _("That has already been done, or is no longer possible."),
        "forbidden": _("Your role may not do that."),
        "unauthorized": _("Please sign in again."),
        "not_found": _("This conversation no longer exists."),
        "internal_error": _("Something went wrong on our side; please try again."),
        "network": _("No connection. We will send it when you are back online."),
    }


def resident_strings() -> dict[str, object]:
    """Everything ``static/resident/chat.js`` shows."""
    return {
        "waiting": _(
            "You are number {position} in the queue. "
            "A counsellor will be with you soon."
        ),
        "waiting_no_position": _("Waiting for a counsellor…"),
        "active": _("A counsellor has joined. You can talk now."),
        "closed": _("This conversation has ended."),
        "you": _("You"),
        "counselor": _("Counsellor"),
        "system": _("Hotline"),
        "sending": _("Sending…"),
        "failed": _("Not sent"),
        "offline": _("Reconnecting… your messages are kept and will be sent."),
        "token_lost": _(
            "We could not find your earlier conversation. You can start a new one."
        ),
        "confirm_end": _("End this chat? You can start a new one at any time."),
        "start_failed": _("Could not start a chat. Please try again."),
        "social_worker": _("Social worker"),
        "social_worker_joined": _("A social worker has joined the conversation."),
        "crisis_contacts": _(
            "If you are in danger right now, please call one of these numbers:"
        ),
        "crisis_line_names": crisis_line_names(),
        "errors": error_messages(),
    }


def console_strings() -> dict[str, object]:
    """Everything ``static/console/console.js`` shows."""
    return {
        "claim": _("Claim"),
        "waiting_for": _("waiting {minutes} min"),
        "just_now": _("just arrived"),
        "messages_count": _("{count} messages"),
        "conversation": _("Conversation #{id}"),
        "state_active": _("Active"),
        "state_closed": _("Resident left: wrap-up needed"),
        "resident": _("Resident"),
        "you": _("You"),
        "system": _("Hotline"),
        "sending": _("Sending…"),
        "failed": _("Not sent"),
        "connected": _("Online"),
        "offline": _("Reconnecting…"),
        "new_message": _("New message"),
        "claimed": _("Conversation claimed."),
        "released": _("Returned to the queue."),
        "wrapped": _("Conversation closed."),
        "errors": error_messages(),
        "levels": risk_level_names(),
        "needs": need_names(),
        "escalation_states": escalation_state_names(),
        "escalation_outcomes": escalation_outcome_names(),
        "escalation_alert": _("Crisis escalation: conversation #{id}"),
        "escalation_repeat": _("Still not acknowledged: conversation #{id}"),
        "acknowledge": _("Acknowledge"),
        "assign": _("Assign to the person chosen below"),
        "join": _("Join the chat"),
        "take_over": _("Take over"),
        "close_escalation": _("Close escalation"),
        "read_transcript": _("Read transcript"),
        "waited": _("{seconds} s"),
        "overdue": _("Overdue"),
        "on_duty": _("On duty"),
        "off_duty": _("Off duty"),
        "correct_prompt": _("Why is this level wrong?"),
        "escalate_prompt": _("Why are you escalating?"),
        "escalated": _("Escalated to the social workers on duty."),
        "nobody_on_duty": _(
            "Nobody is on duty: the resident was shown emergency numbers."
        ),
        "corrected": _("Level corrected."),
        "acknowledged": _("You acknowledged this escalation."),
        "taken_over": _("A social worker took over this conversation."),
        "social_worker_joined": _("A social worker has joined the conversation."),
        "social_worker": _("Social worker"),
        "supervisor": _("Supervisor"),
        "lang_zh": _("Chinese"),
        "lang_en": _("English"),
    }
