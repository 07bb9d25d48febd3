"""The error hierarchy shared by services, views and socket handlers."""

from __future__ import annotations

from typing import Any


class HotlineError(Exception):
    """A failure the client should hear about, with a stable code and status."""

    code = "error"
    status = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body: ``{"error": {"code", "message", ...}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class InvalidInput(HotlineError):
    code = "invalid_input"
    status = 400
    default_message = "The input is not valid."


class Unauthorized(HotlineError):
    code = "unauthorized"
    status = 401
    default_message = "Please sign in."


class Forbidden(HotlineError):
    code = "forbidden"
    status = 403
    default_message = "You may not do that."


class NotFound(HotlineError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class Conflict(HotlineError):
    code = "conflict"
    status = 409
    default_message = "That conflicts with the current state."


class AlreadyClaimed(Conflict):
    code = "already_claimed"
    default_message = "Another counsellor has already taken this conversation."


class ConversationClosed(Conflict):
    code = "conversation_closed"
    default_message = "This conversation has ended."


class EscalationStillOpen(Conflict):
    code = "escalation_open"
    default_message = (
        "This conversation has an open escalation: say how it ended before "
        "closing the conversation."
    )


class QueueFull(HotlineError):
    code = "queue_full"
    status = 503
    default_message = (
        "Very many people are waiting right now. Please leave a callback "
        "request, or call one of the emergency numbers if you are in danger."
    )


class NotAChat(Conflict):
    code = "not_a_chat"
    default_message = "This is a callback request: phone the resident and log the call."


class CallbackWindowNotOpen(Conflict):
    """The resident asked to be called later: not before their window opens."""

    code = "callback_window_not_open"
    default_message = "The resident asked to be called later: their window is not open."


class NotHolder(Forbidden):
    code = "not_holder"
    default_message = "You do not hold this conversation."


class RateLimited(HotlineError):
    code = "rate_limited"
    status = 429
    default_message = "Too many requests; please wait a moment."


class CsrfFailed(HotlineError):
    code = "csrf_failed"
    status = 400
    default_message = "The form expired; reload the page and try again."


class InternalError(HotlineError):
    code = "internal_error"
    status = 500
    default_message = "Something went wrong on our side; please try again."


class DatabaseBusy(HotlineError):
    """The database stayed locked (another process holds its write lock)."""

    code = "busy"
    status = 503
    default_message = "The service is busy; please try again in a moment."
