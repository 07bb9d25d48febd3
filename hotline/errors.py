"""Every error a person can see, each with a stable code and an HTTP status.

Services raise these with a code (the class), an optional ``reason`` and
details; the text comes from ``hotline.error_messages`` in the reader's
language when the error is rendered. The codes are a contract
(``docs/protocol.md``): clients and page scripts branch on them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hotline.error_messages import MESSAGES, message_key, render


class HotlineError(Exception):
    """A failure the client should hear about, with a stable code and status.

    ``reason`` picks a more precise text than the code's own (``NotFound
    ("resource")``); ``details`` go to the client and fill the text's
    placeholders.
    """

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(self, reason: str | None = None, /, **details: Any) -> None:
        self.reason = reason
        self.details = details
        self.key = message_key(self.code, reason)
        # A typo here would only show when the error is rendered, mid-request.
        if self.key not in MESSAGES:
            raise LookupError(f"no message for error {self.key!r}")
        super().__init__(self.key)

    @property
    def message(self) -> str:
        """The error's text in the current locale."""
        return render(self.key, self.details)

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body: ``{"error": {"code", "message", ...}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


# --- 400 --------------------------------------------------------------------


class InvalidInput(HotlineError):
    code = "invalid_input"
    status = 400


class BadRequest(HotlineError):
    """A request the web framework could not read at all."""

    code = "bad_request"
    status = 400


class InvalidResource(InvalidInput):
    """A resource (or a CSV file of them) that cannot be stored as it is;
    ``problems`` lists each, for the admin page to translate."""

    code = "invalid_resource"

    def __init__(self, problems: list[Any]) -> None:
        super().__init__(problems=[str(problem) for problem in problems])
        self.problems = problems


class TargetUnavailable(InvalidInput):
    """The chosen colleague cannot take a transfer (off duty, wrong role, self)."""

    code = "target_unavailable"


class CsrfFailed(HotlineError):
    code = "csrf_failed"
    status = 400


# --- 401, 403 ---------------------------------------------------------------


class Unauthorized(HotlineError):
    code = "unauthorized"
    status = 401


class Forbidden(HotlineError):
    code = "forbidden"
    status = 403


class NotHolder(Forbidden):
    code = "not_holder"


class Blocked(Forbidden):
    """A blocked contact: told neutrally, with the crisis numbers."""

    code = "blocked"


# --- 404, 405, 413 ----------------------------------------------------------


class NotFound(HotlineError):
    code = "not_found"
    status = 404


class MethodNotAllowed(HotlineError):
    code = "method_not_allowed"
    status = 405


class RequestTooLarge(HotlineError):
    code = "request_entity_too_large"
    status = 413


# --- 409 --------------------------------------------------------------------


class Conflict(HotlineError):
    code = "conflict"
    status = 409


class AlreadyClaimed(Conflict):
    code = "already_claimed"


class ConversationClosed(Conflict):
    code = "conversation_closed"


class EscalationStillOpen(Conflict):
    code = "escalation_open"


class NotAChat(Conflict):
    code = "not_a_chat"


class CallbackWindowNotOpen(Conflict):
    """The resident asked to be called later: not before their window opens."""

    code = "callback_window_not_open"


class LoadLimitReached(Conflict):
    code = "load_limit"


class OnBreak(Conflict):
    code = "on_break"


class TransferPending(Conflict):
    """The conversation already has an offer waiting for an answer."""

    code = "transfer_pending"


class TransferStale(Conflict):
    """The offer no longer applies: the holder changed or the chat ended."""

    code = "transfer_stale"


class DuplicateCallback(Conflict):
    code = "duplicate_callback"


class CallbackNotCancellable(Conflict):
    code = "not_cancellable"


class SurveyNotOpen(Conflict):
    code = "survey_not_open"


class SurveyAlreadyAnswered(Conflict):
    code = "survey_answered"


class OutsideHours(Conflict):
    code = "outside_hours"


# --- 429 --------------------------------------------------------------------


class RateLimited(HotlineError):
    """Our own limits (messages per connection, sign-ins, calls per number)."""

    code = "rate_limited"
    status = 429


class TooManyRequests(HotlineError):
    """An HTTP rate limit (Flask-Limiter: chat starts, sign-ins per address)."""

    code = "too_many_requests"
    status = 429


# --- 5xx --------------------------------------------------------------------


class InternalError(HotlineError):
    code = "internal_error"
    status = 500


class QueueFull(HotlineError):
    code = "queue_full"
    status = 503


class DatabaseBusy(HotlineError):
    """The database stayed locked (another process holds its write lock)."""

    code = "busy"
    status = 503


def error_classes() -> list[type[HotlineError]]:
    """``HotlineError`` and every subclass, parents first."""
    found: list[type[HotlineError]] = [HotlineError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return found


def for_http_status(status: int) -> HotlineError:
    """Our error for an HTTP error the web framework raised (a route that
    does not exist, a rate limit, a body too large)."""
    known = {
        400: BadRequest,
        401: Unauthorized,
        403: Forbidden,
        405: MethodNotAllowed,
        413: RequestTooLarge,
        429: TooManyRequests,
    }
    if status == 404:
        return NotFound("page")
    if status in known:
        return known[status]()
    error = HotlineError()
    # The status is the framework's (410, 415, ...); the text is generic.
    error.status = status  # type: ignore[misc]
    return error
