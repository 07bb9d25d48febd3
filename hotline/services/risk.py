"""Triage results on messages and conversations, and people's corrections."""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hotline.errors import InvalidInput, NotFound
from hotline.events import QueueChanged, record
from hotline.models import (
    Assessment,
    Conversation,
    Message,
    RiskLevel,
    TriageCorrection,
    utcnow,
)
from hotline.services import audit, escalations

logger = logging.getLogger(__name__)
MAX_SIGNAL_NAMES = 8


@dataclass(frozen=True)
class TriageResult:
    """An assessment as the web app stores it (built from ``triage``'s dict)."""

    level: RiskLevel
    score: float
    signals: list[dict[str, Any]]
    needs: list[str]
    model_version: str
    # The model was unsure: "needs a human look", not a higher level.
    uncertain: bool = False
    # Seqs of earlier messages the level came from together with this one.
    context_seqs: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], context_seqs: list[int] | None = None
    ) -> TriageResult:
        return cls(
            level=RiskLevel(data["level"]),
            score=float(data["score"]),
            signals=list(data.get("signals", [])),
            needs=list(data.get("needs", [])),
            model_version=str(data.get("model", "unknown")),
            uncertain=bool(data.get("uncertain", False)),
            context_seqs=list(context_seqs or []),
            reasons=list(data.get("reasons", [])),
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "level": str(self.level),
            "score": round(self.score, 3),
            "signals": self.signals,
            "needs": self.needs,
            "model": self.model_version,
            "uncertain": self.uncertain,
            "context_seqs": self.context_seqs,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class ContextLine:
    """An earlier message of the conversation, as triage reads it."""

    seq: int
    sender: str  # "resident" or "counselor" (staff of any role)
    text: str


def assess_text(text: str, context: Sequence[ContextLine] = ()) -> TriageResult | None:
    """Run the triage model on ``text`` with the conversation so far (oldest
    first); None (logged loudly) if it fails.

    A failed assessment must never cost the resident their message, so the
    message is stored anyway and the console shows it as not assessed.
    """
    try:
        from triage import assess

        assessment = assess(
            text,
            context=[{"text": line.text, "sender": line.sender} for line in context],
        )
        seqs = [context[i].seq for i in assessment.context_used]
        return TriageResult.from_dict(assessment.to_dict(detail=True), seqs)
    except Exception:
        logger.exception("triage failed; message stored without an assessment")
        return None


def warm_up() -> str:
    """Load the triage model now, so the first resident does not wait for it.

    Returns the model version. Raises if the model is missing: a server must
    not start without triage. Call it once, just before serving.
    """
    from triage import assess, get_default_model

    get_default_model()
    version = str(assess("你好").to_dict()["model"])
    # The model and the app live as long as the process. Left to the garbage
    # collector, every full collection walks them again (~100 ms), which in
    # a gevent worker stalls every connection at once: the benchmark's p99
    # was such stalls. Freezing moves them out of its way (docs/decisions.md).
    gc.collect()
    gc.freeze()
    return version


# Core, built once: one assessment row per resident message.
_INSERT_ASSESSMENT = insert(Assessment.__table__)


@dataclass(frozen=True)
class ConversationRisk:
    """A conversation's risk as stored: level, needs and fired signal names."""

    level: RiskLevel
    needs: list[str]
    signals: list[str]


def apply_assessment(
    session: Session,
    conversation_id: int,
    message_id: int,
    result: TriageResult,
    *,
    current: ConversationRisk | None = None,
) -> ConversationRisk:
    """Store an assessment and raise the conversation's risk (never lower it).

    Runs inside the caller's transaction; returns the conversation's risk as
    stored now (level, needs, signal names).
    ``current`` is the conversation's risk as read in this transaction after
    its row was locked (``post_message`` gets it from its UPDATE), which
    saves reading it again.
    """
    session.execute(
        _INSERT_ASSESSMENT,
        {
            "message_id": message_id,
            "conversation_id": conversation_id,
            "level": result.level,
            "score": result.score,
            "signals": result.signals,
            "needs": result.needs,
            "model_version": result.model_version,
            "created_at": utcnow(),
            "uncertain": result.uncertain,
            "context_seqs": result.context_seqs or None,
            "reasons": result.reasons or None,
        },
    )
    if current is None:
        row = session.execute(
            select(
                Conversation.risk_level, Conversation.needs, Conversation.risk_signals
            ).where(Conversation.id == conversation_id)
        ).one()
        current = ConversationRisk(*row)
    changes: dict[str, Any] = {}
    level = current.level
    if result.level.rank > level.rank:
        level = result.level
        changes.update(risk_level=level, risk_rank=level.rank)
    merged = sorted(set(current.needs) | set(result.needs))
    if merged != sorted(current.needs):
        changes["needs"] = merged
    fired = [s["name"] for s in result.signals if s.get("status", "active") == "active"]
    names = list(dict.fromkeys([*current.signals, *fired]))[:MAX_SIGNAL_NAMES]
    if names != current.signals:
        changes["risk_signals"] = names
    if changes:
        session.execute(
            update(Conversation.__table__)
            .where(Conversation.__table__.c.id == conversation_id)
            .values(**changes)
        )
    return ConversationRisk(
        level,
        changes.get("needs", current.needs),
        changes.get("risk_signals", current.signals),
    )


def correct_level_and_escalate(
    session: Session,
    conversation_id: int,
    *,
    actor_id: int,
    to_level: RiskLevel,
    reason: str,
) -> int | None:
    """Record a correction; a correction to crisis opens an escalation.

    Returns the id of a newly opened escalation, if any.
    """
    correct_level(
        session, conversation_id, actor_id=actor_id, to_level=to_level, reason=reason
    )
    escalation_id = None
    if to_level is RiskLevel.CRISIS:
        escalation_id = escalations.open_if_needed(
            session,
            conversation_id,
            level=to_level,
            source="correction",
            actor_id=actor_id,
            reason=reason,
        )
    return escalation_id


def correct_level(
    session: Session,
    conversation_id: int,
    *,
    actor_id: int,
    to_level: RiskLevel,
    reason: str,
) -> TriageCorrection:
    """Set a conversation's level by a person's decision, kept as feedback."""
    if not reason.strip():
        raise InvalidInput("correction_reason", field="reason")
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    latest_assessed = session.scalar(
        select(Message.id)
        .join(Assessment, Assessment.message_id == Message.id)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.seq.desc())
        .limit(1)
    )
    correction = TriageCorrection(
        conversation_id=conversation_id,
        message_id=latest_assessed,
        from_level=conversation.risk_level,
        to_level=to_level,
        reason=reason,
        author_id=actor_id,
        created_at=utcnow(),
    )
    session.add(correction)
    session.flush()
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(risk_level=to_level, risk_rank=to_level.rank)
    )
    audit.record(
        session,
        "level_corrected",
        actor_id=actor_id,
        conversation_id=conversation_id,
        from_level=str(correction.from_level),
        to_level=str(to_level),
        # The reason stays in the correction (purged with the transcript):
        # the audit trail is kept for good and holds no free text.
        correction_id=correction.id,
    )
    record(session, QueueChanged())
    return correction


def training_feedback(session: Session) -> list[dict[str, str]]:
    """Corrected messages as ``{"text", "level"}`` rows for retraining."""
    rows = session.execute(
        select(Message.body, TriageCorrection.to_level)
        .join(TriageCorrection, TriageCorrection.message_id == Message.id)
        .order_by(TriageCorrection.id)
    ).all()
    # The latest correction of a message wins.
    latest: dict[str, str] = {}
    for body, level in rows:
        latest[body] = str(level)
    return [{"text": text, "level": level} for text, level in latest.items()]
