"""Domain events: what a service did, for the dispatcher to tell people.

A service records an event in its unit of work (``record(session, ...)``) at
the point where the change is made; ``db.transaction()`` hands the unit's
events to ``hotline.dispatcher`` after its commit, and drops them on a
rollback. Events are facts, not pushes: who hears about them, on which room
and namespace, is decided in one place, the dispatcher.

Events carry what the dispatcher cannot read again cheaply after the
commit (ids, the stored message), and on the per-message path what the
service already holds (``QueueItemChanged``); everything else the
dispatcher reads in its own read transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hotline.database import EVENTS


def record(session: Session, *events: object) -> None:
    """Add ``events`` to the unit of work ``session`` belongs to."""
    session.info.setdefault(EVENTS, []).extend(events)


@dataclass(frozen=True)
class MessagePosted:
    """A message was stored (or a resend found the stored one).

    ``posted`` is ``hotline.services.conversations.PostedMessage``.
    """

    posted: Any


@dataclass(frozen=True)
class QueueChanged:
    """The waiting queue changed: an item came, went, or changed its risk."""


@dataclass(frozen=True)
class StatusChanged:
    """A conversation's state or place changed: its resident should hear."""

    conversation_id: int


@dataclass(frozen=True)
class HeldChanged:
    """A chat a staff member holds or joined changed, or left their hands.

    ``gone`` names how it left (``released``, ``wrapped``, ``taken_over``,
    ``transferred``); None means it is theirs, and the console gets its
    current view.
    """

    user_id: int
    conversation_id: int
    gone: str | None = None


@dataclass(frozen=True)
class EscalationOpened:
    """An escalation was opened: alert the people who must act, at once."""

    escalation_id: int


@dataclass(frozen=True)
class EscalationDue:
    """Nobody acknowledged an escalation in time: alert again."""

    escalation_id: int


@dataclass(frozen=True)
class EscalationsChanged:
    """The list of open and acknowledged escalations changed."""


@dataclass(frozen=True)
class EscalationAssigned:
    """An escalation was handed to one responder."""

    escalation_id: int
    assignee_id: int


@dataclass(frozen=True)
class DutyChanged:
    """A staff member went on or off duty (``reason`` says why, for people)."""

    user_id: int
    on_duty: bool
    reason: str = "self"


@dataclass(frozen=True)
class CrisisContactsShown:
    """The resident must see the emergency numbers now."""

    conversation_id: int


@dataclass(frozen=True)
class ContactBlocked:
    """A supervisor blocked the contact behind a conversation: its open
    sockets must hear it and stop."""

    conversation_id: int


@dataclass(frozen=True)
class TransferOffered:
    """A holder offered a conversation to a colleague: ask them."""

    transfer_id: int


@dataclass(frozen=True)
class TransferAccepted:
    """A colleague took a conversation over: its former holder lets go."""

    transfer_id: int


@dataclass(frozen=True)
class TransferChanged:
    """An offer was declined or withdrawn: both people see its new state."""

    transfer_id: int


@dataclass(frozen=True)
class WhisperSent:
    """A supervisor whispered to the holder of a chat they watch.

    ``whisper`` is ``hotline.services.monitoring.Whisper``.
    """

    whisper: Any


@dataclass(frozen=True)
class BreakChanged:
    """A staff member started or ended a break (``until`` None: it ended)."""

    user_id: int
    until: datetime | None


@dataclass(frozen=True)
class DebriefChanged:
    """A debrief was requested, or a supervisor took care of one."""

    debrief_id: int


@dataclass(frozen=True)
class SessionsRevoked:
    """Every signed-in session of a staff account ended: hang up its consoles."""

    user_id: int


@dataclass(frozen=True)
class UnansweredAlert:
    """A resident has waited too long for an answer in an active chat.

    Stage 1 alerts the holder; stage 2 (twice the limit) the supervisors.
    """

    conversation_id: int
    holder_id: int | None
    stage: int
    risk_level: str
    since: datetime | None


@dataclass(frozen=True)
class NoResponderOnDuty:
    """The last on-duty responder's duty ended: crisis alerts reach nobody."""


@dataclass(frozen=True)
class QueueItemChanged:
    """A waiting chat's own line changed (a new message, same level): only
    that item is sent again; nobody's place in the queue moved.

    It carries the whole item as the message's own unit of work left it
    (``post_message`` holds every field after its UPDATE … RETURNING):
    under a surge this push follows every waiting resident's message, and
    reading the item back cost more than storing the message.
    """

    conversation_id: int
    lang: str
    waiting_since: datetime
    # The conversation's last seq: the console's message count.
    message_count: int
    # The resident's latest words, which this message is.
    preview: str
    risk_level: str
    signals: list[str]
    needs: list[str]
