"""What every error says, in the reader's language: one catalogue keyed by code.

An error's text is looked up here by its ``code`` (``"not_found"``), or by
``code.reason`` when the raise site names a reason (``"not_found.resource"``),
and rendered in the current locale only when it is read (a JSON body, a
socket ack, a page, the strings handed to page scripts). Services raise
codes, reasons and details, never text; a reason's text may format the
error's details (``%(max_chars)d``). A code's own text takes no details:
page scripts show it as it is for an error they only know by code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

MESSAGES: dict[str, LazyString] = {
    # --- each code's own text ------------------------------------------------
    "error": _l("The request could not be completed. Please go back and try again."),
    "bad_request": _l(
        "The request could not be completed. Please go back and try again."
    ),
    "invalid_input": _l("That message could not be sent. Please check it."),
    "invalid_resource": _l(
        "The resource could not be stored: see the problems listed."
    ),
    "unauthorized": _l("Please sign in again."),
    "forbidden": _l("Your role may not do that."),
    "blocked": _l(
        "We cannot take this contact right now. If you are in danger, "
        "please call one of these numbers."
    ),
    "not_holder": _l("You do not hold this conversation."),
    "not_found": _l("This conversation no longer exists."),
    "method_not_allowed": _l(
        "The request could not be completed. Please go back and try again."
    ),
    "request_entity_too_large": _l("That is too large to send."),
    "conflict": _l("That has already been done, or is no longer possible."),
    "already_claimed": _l("Another counsellor has already taken this conversation."),
    "conversation_closed": _l("This conversation has ended."),
    "escalation_open": _l(
        "This conversation has an open escalation: say how it ended before "
        "closing the conversation."
    ),
    "not_a_chat": _l("This is a callback: phone the resident and log the call."),
    "callback_window_not_open": _l(
        "The resident asked to be called later: their time window has not opened yet."
    ),
    "load_limit": _l(
        "You already hold as many conversations as one person should. "
        "Close or hand one over first."
    ),
    "on_break": _l("You are on a break. End the break to take conversations."),
    "target_unavailable": _l("That colleague cannot take a transfer right now."),
    "transfer_pending": _l(
        "This conversation already has a transfer waiting for an answer."
    ),
    "transfer_stale": _l(
        "This conversation changed hands or ended; the transfer no longer applies."
    ),
    "duplicate_callback": _l(
        "You have already asked us to call this number at that time. "
        "We will call you; there is no need to ask again."
    ),
    "not_cancellable": _l(
        "A counsellor is calling you now, so this request can no longer be cancelled."
    ),
    "survey_not_open": _l("You can answer once the conversation has ended."),
    "survey_answered": _l("You have already answered. Thank you."),
    "outside_hours": _l(
        "Live chat is closed at this hour. Please leave a callback request, or "
        "call one of the emergency numbers if you are in danger."
    ),
    "rate_limited": _l("You are sending very fast. Please wait a moment."),
    "too_many_requests": _l("Too many requests; please wait a moment and try again."),
    "csrf_failed": _l("The form expired; reload the page and try again."),
    "internal_error": _l("Something went wrong on our side; please try again."),
    "queue_full": _l(
        "Very many people are waiting right now. Please leave a callback "
        "request, or call one of the emergency numbers if you are in danger."
    ),
    "busy": _l("The service is busy; please try again in a moment."),
    # --- invalid_input: what exactly is wrong --------------------------------
    "invalid_input.not_object": _l("Send one JSON object."),
    "invalid_input.json_content_type": _l(
        "Send a JSON body with Content-Type: application/json."
    ),
    "invalid_input.json_too_deep": _l("The body is nested too deeply."),
    "invalid_input.json_invalid": _l("The body is not valid JSON."),
    "invalid_input.arguments": _l("Send one payload object with the event."),
    "invalid_input.not_text": _l("“%(field)s” must be text."),
    "invalid_input.not_unicode": _l("“%(field)s” is not valid Unicode text."),
    "invalid_input.empty": _l("“%(field)s” must not be empty."),
    "invalid_input.too_long": _l(
        "“%(field)s” is longer than %(max_chars)d characters."
    ),
    "invalid_input.client_id": _l(
        "“client_id” must be 8 to 64 letters, digits, “-” or “_”."
    ),
    "invalid_input.integer_range": _l(
        "“%(field)s” must be a whole number from %(minimum)d to %(maximum)d."
    ),
    "invalid_input.not_a_choice": _l("“%(field)s” must be one of: %(choices)s."),
    "invalid_input.not_a_number": _l("“%(field)s” must be a number."),
    "invalid_input.unknown_value": _l("“%(field)s” is not a value we know."),
    "invalid_input.not_boolean": _l("“%(field)s” must be true or false."),
    "invalid_input.needs": _l("“needs” must be a list of: %(choices)s."),
    "invalid_input.display_name_too_long": _l(
        "Display names are at most %(max_chars)d characters."
    ),
    "invalid_input.username": _l(
        "Usernames are 2 to 64 letters, digits, “.”, “_” or “-”."
    ),
    "invalid_input.password_too_short": _l(
        "Passwords need at least %(min_chars)d characters."
    ),
    "invalid_input.deactivate_self": _l("You cannot deactivate your own account."),
    "invalid_input.escalation_reason": _l("Say why you are escalating."),
    "invalid_input.escalation_notes": _l("Write what was done before closing."),
    "invalid_input.assignee": _l(
        "Assign to a social worker or supervisor whose account is active."
    ),
    "invalid_input.correction_reason": _l("Say why the level is wrong."),
    "invalid_input.transfer_note": _l("Write a note for whoever takes it next."),
    "invalid_input.block_reason": _l("Give a reason for the block."),
    "invalid_input.follow_up_status": _l("Choose a follow-up status."),
    "invalid_input.canned_limit": _l(
        "You already have %(limit)d quick replies of your own; delete some first."
    ),
    "invalid_input.helpfulness": _l("Please choose how helpful it was, from 1 to 5."),
    "invalid_input.consent": _l(
        "Please agree that we keep your number to call you back; "
        "we erase it after the call."
    ),
    "invalid_input.phone": _l(
        "Please enter a valid phone number: a Chinese mobile or landline "
        "number, or an international number starting with +."
    ),
    "invalid_input.callback_note": _l(
        "Please keep the note under %(max_chars)d characters."
    ),
    "invalid_input.window_format": _l("Please choose a time for our call."),
    "invalid_input.window_order": _l("The time window must end after it starts."),
    "invalid_input.window_past": _l(
        "That time has already passed. Please choose a later time."
    ),
    "invalid_input.window_too_far": _l("Please choose a time today or tomorrow."),
    "invalid_input.window_too_short": _l(
        "Please give us a window of at least 15 minutes."
    ),
    "invalid_input.window_too_long": _l("Please choose a shorter time window."),
    # --- unauthorized, forbidden, not_holder ---------------------------------
    "unauthorized.credentials": _l("Wrong username or password."),
    "unauthorized.session_ended": _l("Your session has ended; please sign in again."),
    "unauthorized.wrong_password": _l("Your current password is not right."),
    "unauthorized.token": _l("We could not find this conversation."),
    "unauthorized.staff_only": _l("Please sign in as staff."),
    "forbidden.supervisors_only": _l("Only supervisors may do that."),
    "forbidden.not_assignee": _l("Only the assigned responder can join."),
    "forbidden.transcript": _l("You may not read this conversation."),
    "forbidden.before_window": _l(
        "Only a supervisor may call before the resident's time window."
    ),
    "forbidden.transfer_not_yours": _l("This transfer is not yours to answer."),
    "not_holder.escalation_in_charge": _l(
        "Only the responder in charge of this escalation, or a supervisor, "
        "can close it."
    ),
    "not_holder.debrief": _l("You can ask for a debrief about your own conversations."),
    # --- not_found: what could not be found ----------------------------------
    "not_found.page": _l("This page does not exist, or it has moved."),
    "not_found.conversation": _l("This conversation no longer exists."),
    "not_found.escalation": _l("This escalation no longer exists."),
    "not_found.account": _l("No such account."),
    "not_found.resource": _l("This resource no longer exists."),
    "not_found.referral": _l("This referral no longer exists."),
    "not_found.callback": _l("We could not find your callback request."),
    "not_found.transfer": _l("This transfer no longer exists."),
    "not_found.canned": _l("This quick reply no longer exists."),
    "not_found.debrief": _l("This debrief request no longer exists."),
    "not_found.block": _l("This block no longer exists."),
    # --- conflict: what has already happened ---------------------------------
    "conflict.username_taken": _l("The username “%(username)s” is taken."),
    "conflict.escalation_already_open": _l(
        "This conversation already has an open escalation."
    ),
    "conflict.escalation_not_in_hand": _l(
        "Acknowledge this escalation first; or it has been closed already."
    ),
    "conflict.resource_retired": _l("This resource has been retired."),
    "conflict.nobody_to_whisper": _l("Nobody holds this conversation to whisper to."),
    "conflict.whisper_to_self": _l("You hold this conversation: write a note instead."),
    "conflict.already_holding": _l("You already hold this conversation."),
    "conflict.transfer_answered": _l(
        "This transfer has already been answered or withdrawn."
    ),
    "conflict.wrap_up_exists": _l("This conversation already has a wrap-up."),
    "conflict.escalation_state": _l(
        "That is not possible for this escalation now: someone may have just "
        "acted on it."
    ),
    "conversation_closed.not_live": _l("This conversation is not live."),
    "conversation_closed.not_open": _l("This conversation is not open for messages."),
    "load_limit.conversations": _l(
        "You already hold %(limit)d conversations; close or hand one over first."
    ),
    "load_limit.high_risk": _l(
        "You already hold a high-risk conversation; another counsellor "
        "should take this one."
    ),
    "not_cancellable.escalation_open": _l(
        "A social worker has been asked to call you urgently, so this "
        "request cannot be cancelled. If you are safe now, tell them "
        "when they call."
    ),
    "outside_hours.hours": _l(
        "Our counsellors chat from %(hours)s. Please leave a callback "
        "request, or call one of the emergency numbers if you are in "
        "danger."
    ),
    "rate_limited.callback_number": _l(
        "This number has asked for several calls today. "
        "Please wait for our call, or start a chat instead."
    ),
    "rate_limited.sign_in": _l(
        "Too many failed sign-ins for this account. Try again in "
        "%(minutes)s minutes, or ask an administrator to reset "
        "your password."
    ),
}

# Codes only a page script raises (it never reached the server).
CLIENT_MESSAGES: dict[str, LazyString] = {
    "network": _l("No connection. We will send it when you are back online."),
    "too_long": _l("That message is too long. Please split it up."),
}


def message_key(code: str, reason: str | None) -> str:
    """The catalogue key of an error: its code, or ``code.reason``."""
    return f"{code}.{reason}" if reason else code


def render(key: str, details: Mapping[str, Any]) -> str:
    """The text for ``key`` in the current locale, with ``details`` filled in."""
    text = str(MESSAGES[key])
    return text % details if details else text


def script_messages() -> dict[str, str]:
    """Each code's own text, for page scripts that only know an error's code."""
    codes = {key: value for key, value in MESSAGES.items() if "." not in key}
    return {key: str(value) for key, value in {**codes, **CLIENT_MESSAGES}.items()}
