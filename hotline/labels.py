"""Translated labels for enum values and the strings the browser scripts show."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from hotline.error_messages import script_messages


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
        "not_reached": _("Callback: resident not reached"),
        "other": _("Other"),
        **no_data_outcome_names(),
    }


def no_data_outcome_names() -> dict[str, str]:
    """Wrap-up outcomes of contacts with nobody to help."""
    return {
        "silent": _("Silent contact"),
        "prank": _("Prank"),
        "abusive": _("Abusive"),
        "test": _("Test"),
    }


def call_outcome_names() -> dict[str, str]:
    return {
        "reached": _("Reached the resident"),
        "no_answer": _("No answer"),
        "busy": _("Line busy"),
        "message_left": _("Left a message"),
        "wrong_number": _("Wrong number"),
    }


def signal_kind_names() -> dict[str, str]:
    """Triage signal kinds, as staff see them on the queue and in transcripts.

    A signal's name is its kind, optionally with a detail after a dot
    (``intent.jump``); staff see the kind, which every signal carries.
    """
    return {
        "intent": _("Suicidal intent"),
        "self_harm": _("Self-harm"),
        "plan": _("Plan"),
        "means": _("Means"),
        "time": _("Time named"),
        "farewell": _("Farewell"),
        "act": _("Act under way"),
        "violence": _("Violence to others"),
        "medical_emergency": _("Medical emergency"),
        "panic": _("Panic"),
        "abuse": _("Abuse"),
        "medication_stopped": _("Medication stopped"),
        "hopelessness": _("Hopelessness"),
        "third_party": _("About someone else"),
        "distress": _("Distress"),
        "medical_symptom": _("Physical symptom"),
        "psychiatric": _("Psychiatric condition"),
        "question": _("Question"),
        "gratitude": _("Thanks"),
        "habitual": _("Habitual wording"),
        "joking": _("Joking"),
        "recovery": _("Recovery"),
        "need": _("Practical need"),
        "idiom": _("Figure of speech"),
    }


def conversation_state_names() -> dict[str, str]:
    return {
        "waiting": _("Waiting"),
        "active": _("Active"),
        "closed": _("Closed"),
    }


def sender_names() -> dict[str, str]:
    return {
        "resident": _("Resident"),
        "counselor": _("Counsellor"),
        "system": _("Hotline"),
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


def resource_category_names() -> dict[str, str]:
    return {
        "food": _("Food and daily supplies"),
        "medicine": _("Medicine delivery"),
        "medical": _("Medical care"),
        "psychiatric": _("Psychiatric care"),
        "elderly_disability": _("Elderly and disability care"),
        "child": _("Child support (e.g. devices for online school)"),
        "donations": _("Charity donations"),
        "legal_financial": _("Legal and financial aid"),
    }


def follow_up_status_names() -> dict[str, str]:
    return {
        "pending": _("Not followed up yet"),
        "confirmed": _("Confirmed: the resident got help"),
        "not_reachable": _("The resident or the resource could not be reached"),
        "not_needed": _("No longer needed"),
    }


def card_strings() -> dict[str, str]:
    """Labels of a referral card, on the resident's page and in the console."""
    return {
        "title": _("Community resource"),
        "contact": _("Contact"),
        "hours": _("Opening hours"),
        "area": _("Area"),
        "citywide": _("Citywide"),
        "notes": _("Notes"),
        "copy": _("Copy"),
        "copied": _("Copied"),
        "copy_selected": _("The text is selected: copy it from your phone's menu."),
    }


def card_labels(lang: str) -> dict[str, str]:
    """The card labels in ``lang``: a card is written in the resident's
    language, whatever language the counsellor's console uses."""
    with force_locale(lang):
        return card_strings()


def resource_panel_strings() -> dict[str, object]:
    """What ``static/console/referrals.js`` shows."""
    return {
        "categories": resource_category_names(),
        "send": _("Send to resident"),
        "read_out": _("Record it and read it out"),
        "sent": _("Resource sent to the resident."),
        "recorded": _("Referral recorded: read the details out on the call."),
        "no_suggestions": _(
            "No suggestions yet: the triage has found no practical needs. "
            "Search the directory instead."
        ),
        "no_results": _("Nothing in the directory matches."),
        "citywide": _("Citywide"),
        "serves": _("Serves in: {languages}"),
        "area_saved": _("Area saved."),
        "referrals_none": _("No resources sent in this conversation."),
    }


def resident_strings() -> dict[str, object]:
    """Everything ``static/resident/chat.js`` shows."""
    return {
        "waiting": _(
            "You are number {position} in the queue. "
            "A counsellor will be with you soon."
        ),
        "waiting_no_position": _("Waiting for a counsellor…"),
        "estimate": _("About {minutes} minutes."),
        "no_estimate": _("We cannot estimate the wait right now."),
        "breathe_in": _("Breathe in…"),
        "breathe_out": _("Breathe out…"),
        "breath_start": _("Start"),
        "breath_stop": _("Stop"),
        "survey_failed": _("Your answer could not be sent. Please try again."),
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
        "start_failed": _("Could not start a chat. Please try again."),
        "social_worker": _("Social worker"),
        "social_worker_joined": _("A social worker has joined the conversation."),
        "supervisor": _("Supervisor"),
        "counselor_changed": _(
            "Someone new from our team has joined the conversation."
        ),
        "supervisor_joined": _("A supervisor has joined the conversation."),
        "counselor_disconnected": _(
            "Your counsellor lost their connection. You are back at the front of "
            "the queue, and the next counsellor will see what you wrote."
        ),
        "long_wait": _(
            "The wait is long right now. You can ask us to call you back instead, "
            "or use the self-help below while you wait."
        ),
        "resident_left": _("You left the chat page earlier."),
        "crisis_contacts": _(
            "If you are in danger right now, please call one of these numbers:"
        ),
        "crisis_line_names": crisis_line_names(),
        "errors": script_messages(),
        "callback": callback_strings(),
        "card": card_strings(),
    }


def callback_strings() -> dict[str, object]:
    """What ``static/resident/callback.js`` shows."""
    return {
        "today": _("Today"),
        "tomorrow": _("Tomorrow"),
        "now": _("as soon as possible"),
        "choose_slot": _("Choose a time…"),
        "status": {
            "waiting": _("We have your request. A counsellor will call you."),
            "scheduled": _(
                "A counsellor is about to call you. Please keep your phone near."
            ),
            "attempted": _(
                "We tried to call you but could not get through. We will try again."
            ),
            "done": _("This callback is finished. Thank you for talking with us."),
            "cancelled": _("You cancelled this request."),
        },
        "when": _("We will call {day} between {start} and {end}."),
        "next_try": _("Next try around {time}."),
        "position": _("You are number {position} in the queue."),
        "crisis": _(
            "A social worker has been asked to call you urgently. If you are in "
            "danger right now, please call one of these numbers:"
        ),
        "missing_phone": _("Please enter your phone number."),
        "missing_slot": _("Please choose a time for our call."),
        "missing_consent": _(
            "Please agree that we keep your number to call you back; "
            "we erase it after the call."
        ),
        "failed": _("Your request could not be sent. Please try again."),
        "lost": _("We could not find your callback request."),
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
        "errors": script_messages(),
        "levels": risk_level_names(),
        "needs": need_names(),
        "signals": signal_kind_names(),
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
        "on_break_until": _(
            "You are on a break until {time}. New conversations wait for others."
        ),
        "on_shift": _("On shift {hours} h {minutes} min"),
        "break_reminder": _(
            "You have been on shift for {minutes} minutes. A short break helps "
            "you keep going."
        ),
        "debrief_sent": _("A supervisor has been asked to talk with you."),
        "earlier_contacts": _(
            "Returning resident: {count} earlier contacts they agreed to share"
        ),
        "outcomes": outcome_names(),
        "no_wrap_up": _("no wrap-up"),
        "referred_to": _("referred to {names}"),
        "follow_up_needed": _("follow-up needed"),
        "on_break_short": _("on a break until {time}"),
        "debrief_done": _("Done: we talked"),
        "roles": role_names(),
        "kind_chat": _("Chat"),
        "kind_callback": _("Callback"),
        "today": _("today"),
        "callback_window": _("call {day} {start}–{end}"),
        "callback_due": _("Due now"),
        "callback_overdue": _("Overdue"),
        "callback_later": _("Not yet due"),
        "call_before_window": _(
            "The resident asked to be called later. Call now anyway? "
            "This is recorded in the audit log."
        ),
        "callback_tries": _("{count} tries so far"),
        "callback_tries_of": _("try {count} of {max} done"),
        "callback_number_erased": _("Number erased"),
        "guide_may_say_hotline": _("You may say you are calling from the hotline."),
        "guide_do_not_say_hotline": _(
            "Do not say you are from the hotline to anyone else: give only "
            "your first name and ask for the resident."
        ),
        "guide_may_leave_message": _(
            "If nobody answers you may leave a short message with your first name only."
        ),
        "guide_no_message": _("Do not leave a voicemail or message."),
        "guide_check_safe": _(
            "First ask whether this is a good and private moment to talk."
        ),
        "call_outcomes": call_outcome_names(),
        "call_reached": _("Call logged. Close with a wrap-up when you are done."),
        "call_retry": _("Call logged. It returns to the queue at {time}."),
        "call_closed": _("Call logged. The callback is closed as not reached."),
        "card": card_strings(),
        "resources": resource_panel_strings(),
        "counselor_changed": _(
            "Someone new from our team has joined the conversation."
        ),
        "supervisor_joined": _("A supervisor has joined the conversation."),
        "counselor_disconnected": _(
            "The counsellor's console was gone too long: the chat went back to "
            "the queue."
        ),
        "resident_left": _("The resident left the page (quick exit)."),
        "duty_ended": _(
            "Your duty ended while your console was closed, so crisis alerts no "
            "longer reach you. Press “On duty” to start again."
        ),
        "unanswered_alert": _(
            "Conversation #{id}: the resident has waited {clock} for an answer."
        ),
        "chat_ended": _("chat ended"),
        "assessment": {
            "uncertain": _("Needs a human look: the model is unsure"),
            "context": _("Read with earlier message {seqs}"),
        },
        "no_responder_alert": _(
            "Nobody is on duty to receive crisis alerts: a social worker or "
            "supervisor should go on duty now."
        ),
        "transfers": transfer_strings(),
        "monitor": monitor_strings(),
        "canned": canned_strings(),
    }


def canned_category_names() -> dict[str, str]:
    """Kinds of quick replies, in the order a conversation usually goes."""
    return {
        "greeting": _("Greeting"),
        "listening": _("Active listening"),
        "safety": _("Safety questions"),
        "breathing": _("Breathing and grounding"),
        "closing": _("Closing"),
        "other": _("Other"),
    }


def canned_strings() -> dict[str, object]:
    """What ``static/console/canned.js`` shows."""
    return {
        "categories": canned_category_names(),
        "languages": {"zh": _("Chinese"), "en": _("English")},
        "shared": _("Shared"),
        "mine": _("Mine"),
        "loading": _("Loading…"),
        "no_results": _("No quick reply matches."),
        "mine_none": _("You have no quick replies of your own yet."),
        "delete": _("Delete"),
        "deleted": _("Quick reply deleted."),
        "saved": _("Saved as your own quick reply."),
        "write_first": _("Write the reply in the reply box first, then save it."),
        "name_saved": _("Name saved: quick replies will use it."),
        "name_cleared": _("Name cleared."),
    }


def report_strings() -> dict[str, dict[str, str]]:
    """Names the reports page (``counselors/supervisor/reports.py``) shows."""
    return {
        "channels": {"chat": _("Chat"), "callback": _("Callback")},
        "categories": resource_category_names(),
        "follow_up": follow_up_status_names(),
        "feels_safer": {
            "yes": _("Yes"),
            "no": _("No"),
            "unsure": _("Not sure"),
            "unanswered": _("No answer"),
        },
    }


def transfer_strings() -> dict[str, object]:
    """What ``static/console/transfers.js`` shows."""
    return {
        "colleague": _("{name} · {role} · {count} active"),
        "roles": role_names(),
        "no_colleagues": _("No colleague is on duty right now."),
        "choose_colleague": _("Choose a colleague first."),
        "note_needed": _("Write a note for whoever takes it next."),
        "offered": _("Waiting for {name} to accept the transfer…"),
        "withdraw": _("Withdraw"),
        "offer_from": _("{name} would like to hand you conversation #{id}."),
        "accept": _("Accept"),
        "decline": _("Decline"),
        "decline_note": _("Reason (optional)"),
        "accepted": _("{name} took over conversation #{id}."),
        "declined": _("{name} declined conversation #{id}."),
        "cancelled": _("The transfer of conversation #{id} was withdrawn."),
        "now_yours": _("Conversation #{id} is now yours."),
        "returned": _("Returned to the queue with your note."),
        "note_kinds": {
            "transfer": _("Transfer note"),
            "whisper": _("Supervisor (private)"),
        },
    }


def monitor_strings() -> dict[str, object]:
    """What ``static/supervisor/monitor.js`` shows on the supervisor board."""
    return {
        "minutes": _("{minutes} min"),
        "unclaimed": _("Nobody yet"),
        "watch": _("Watch"),
        "stop": _("Stop watching"),
        "watching": _("Conversation #{id}: read-only, and every watch is audited."),
        "whispered": _("Whisper sent to the counsellor."),
        "join": _("Join openly"),
        "joined": _("You joined the chat. Write to the resident from the console."),
        "whisper": _("Supervisor (private)"),
    }
