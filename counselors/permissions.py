"""Who may do what: the permission matrix (documented in docs/roles.md).

Every staff route and socket event names its action here; tests walk the
whole matrix, allowed and refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_login import current_user

from hotline.errors import Forbidden, Unauthorized
from hotline.models import Role
from hotline.services.escalations import RESPONDER_ROLES

logger = logging.getLogger(__name__)

COUNSELOR, SOCIAL_WORKER, SUPERVISOR, ADMIN = (
    Role.COUNSELOR,
    Role.SOCIAL_WORKER,
    Role.SUPERVISOR,
    Role.ADMIN,
)
CONSOLE = frozenset({COUNSELOR, SOCIAL_WORKER, SUPERVISOR})
# Who responds to escalations: the escalation service's own rule, so the
# matrix, the service and the pages (counselors/page_config.py) agree.
RESPONDERS = frozenset(RESPONDER_ROLES)

PERMISSIONS: dict[str, frozenset[Role]] = {
    # the console page and its socket
    "console": CONSOLE,
    "claim": CONSOLE,
    "message": CONSOLE,
    "sync": CONSOLE,
    "release": CONSOLE,
    "note": CONSOLE,
    "notes": CONSOLE,
    "close": CONSOLE,
    "correct": CONSOLE,
    "escalate": CONSOLE,
    "duty": CONSOLE,
    "transcript": CONSOLE,
    "call_sheet": CONSOLE,
    "attempt": CONSOLE,
    "resources": CONSOLE,
    "refer": CONSOLE,
    "set_area": CONSOLE,
    "canned": CONSOLE,
    "canned_save": CONSOLE,
    "canned_delete": CONSOLE,
    "set_name": CONSOLE,
    "pause": CONSOLE,
    "resume": CONSOLE,
    "debrief": CONSOLE,
    "history": CONSOLE,
    # handing conversations over
    "colleagues": CONSOLE,
    "transfer": CONSOLE,
    "transfer_accept": CONSOLE,
    "transfer_decline": CONSOLE,
    "transfer_cancel": CONSOLE,
    "transfer_to_queue": CONSOLE,
    # supervisors and live conversations
    "live_conversations": frozenset({SUPERVISOR}),
    "monitor": frozenset({SUPERVISOR}),
    "unmonitor": frozenset({SUPERVISOR}),
    "whisper": frozenset({SUPERVISOR}),
    "join_openly": frozenset({SUPERVISOR}),
    # escalations
    "escalations": RESPONDERS,
    "acknowledge": RESPONDERS,
    "join": RESPONDERS,
    "close_escalation": RESPONDERS,
    "assign": frozenset({SUPERVISOR}),
    # supervision
    "supervisor": frozenset({SUPERVISOR}),
    "audit": frozenset({SUPERVISOR}),
    "debrief_handled": frozenset({SUPERVISOR}),
    "block": frozenset({SUPERVISOR}),
    "team": frozenset({SUPERVISOR}),
    "reports": frozenset({SUPERVISOR}),
    "staff": frozenset({SUPERVISOR, ADMIN}),
    "referrals": frozenset({SUPERVISOR}),
    "canned_library": frozenset({SUPERVISOR}),
    # the community resource directory
    "directory": frozenset({SUPERVISOR, ADMIN}),
    # administration
    "admin": frozenset({ADMIN}),
    # operational metrics (GET /metrics; scrapers use a token or an address)
    "metrics": frozenset({SUPERVISOR, ADMIN}),
}

Handler = TypeVar("Handler", bound=Callable[..., Any])


def current_role() -> Role:
    """The signed-in staff member's role, or Unauthorized."""
    if not current_user.is_authenticated:
        raise Unauthorized("session_ended")
    return current_user.member.role


def may(action: str, role: Role) -> bool:
    """Whether ``role`` may perform ``action``."""
    return role in PERMISSIONS[action]


def require(action: str) -> None:
    """Raise Unauthorized (not signed in) or Forbidden (wrong role)."""
    role = current_role()
    if not may(action, role):
        # The action's internal name is for the log, not for the person.
        logger.info("role %s refused %s", role, action)
        raise Forbidden()


def requires(action: str) -> Callable[[Handler], Handler]:
    """Decorator for views and socket handlers."""
    if action not in PERMISSIONS:
        raise KeyError(action)

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            require(action)
            return handler(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
