"""The escalation state machine as a service, without sockets."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.extensions import db
from hotline.models import (
    AuditEvent,
    Conversation,
    ConversationState,
    EscalationOutcome,
    EscalationState,
    RiskLevel,
    Role,
    Sender,
)
from hotline.services import conversations as conversation_service
from hotline.services import escalations as escalation_service
from hotline.services import risk as risk_service
from tests.units import Committing

conversations = Committing(conversation_service)
escalations = Committing(escalation_service)
risk = Committing(risk_service)

CRISIS = risk.TriageResult(
    level=RiskLevel.CRISIS,
    score=0.97,
    signals=[{"name": "plan", "kind": "plan", "status": "active", "text": "今晚"}],
    needs=["medicine"],
    model_version="test",
)
CALM = risk.TriageResult(
    level=RiskLevel.LOW, score=0.02, signals=[], needs=[], model_version="test"
)


@pytest.fixture
def sessions(app):
    made = []

    def make():
        made.append(db.new_session())
        return made[-1]

    with app.app_context():
        yield make
    for session in made:
        session.close()


def resident_says(session, conversation_id, text, result, client_id):
    return conversations.post_message(
        session,
        conversation_id,
        sender=Sender.RESIDENT,
        body=text,
        client_id=client_id,
        assessment=result,
    )


def test_crisis_message_opens_exactly_one_escalation(sessions):
    session = sessions()
    cid, _ = conversations.start_conversation(session, "zh")
    first = resident_says(session, cid, "今晚就结束", CRISIS, "msg-0001")
    second = resident_says(session, cid, "药都准备好了", CRISIS, "msg-0002")
    assert first.escalation_id is not None
    assert second.escalation_id is None
    assert first.risk_level is RiskLevel.CRISIS and first.risk_raised
    assert [e.escalation_id for e in escalations.list_escalations(session, "open")] == [
        first.escalation_id
    ]


def test_level_never_drops_with_a_calm_message(sessions):
    session = sessions()
    cid, _ = conversations.start_conversation(session, "zh")
    resident_says(session, cid, "今晚就结束", CRISIS, "msg-0001")
    calm = resident_says(session, cid, "谢谢", CALM, "msg-0002")
    assert calm.risk_level is RiskLevel.CRISIS
    assert not calm.risk_raised


def test_acknowledge_race_has_one_winner(sessions, make_user):
    session = sessions()
    cid, _ = conversations.start_conversation(session, "zh")
    escalation_id = resident_says(session, cid, "x", CRISIS, "msg-0001").escalation_id
    responders = [make_user(f"sw{i}", Role.SOCIAL_WORKER) for i in range(3)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(responders))

    def run(user_id: int) -> None:
        own = sessions()
        barrier.wait()
        try:
            escalations.acknowledge(own, escalation_id, user_id)
            outcomes.append("won")
        except Conflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=run, args=(uid,)) for uid in responders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["lost", "lost", "won"]
    view = escalations.get(session, escalation_id)
    assert view.state is EscalationState.ACKNOWLEDGED
    assert view.acknowledged_by == view.assignee


def test_lifecycle_and_illegal_transitions(sessions, make_user):
    session = sessions()
    counselor = make_user("ana", Role.COUNSELOR)
    worker = make_user("wei", Role.SOCIAL_WORKER)
    other = make_user("li", Role.SOCIAL_WORKER)
    supervisor = make_user("sun", Role.SUPERVISOR)
    cid, _ = conversations.start_conversation(session, "zh")
    escalation_id = escalations.escalate_manually(
        session, cid, actor_id=counselor, reason="says goodbye to family"
    )
    with pytest.raises(Conflict):
        escalations.escalate_manually(session, cid, actor_id=counselor, reason="again")
    # Not acknowledged yet: cannot be closed, assigned or joined.
    with pytest.raises(Conflict):
        escalations.close(
            session,
            escalation_id,
            actor_id=worker,
            outcome=EscalationOutcome.SAFETY_PLAN,
            notes="x",
        )
    with pytest.raises(Conflict):
        escalations.assign(
            session, escalation_id, actor_id=supervisor, assignee_id=worker
        )
    escalations.acknowledge(session, escalation_id, worker)
    with pytest.raises(Conflict):
        escalations.acknowledge(session, escalation_id, other)
    escalations.assign(session, escalation_id, actor_id=supervisor, assignee_id=other)
    with pytest.raises(InvalidInput):
        escalations.assign(
            session, escalation_id, actor_id=supervisor, assignee_id=counselor
        )
    with pytest.raises(Forbidden):
        escalations.join(session, escalation_id, worker, take_over=False)
    # Nobody had claimed the chat: joining takes it over, so the resident is
    # no longer left in the queue.
    assert escalations.join(session, escalation_id, other, take_over=False) == cid
    conversation = session.get(Conversation, cid)
    assert (conversation.state, conversation.counselor_id) == (
        ConversationState.ACTIVE,
        other,
    )
    # The responder stays joined after a later transfer, so delivery keeps
    # looking them up.
    assert conversation.staff_joined is True
    session.rollback()
    with pytest.raises(InvalidInput):
        escalations.close(
            session,
            escalation_id,
            actor_id=other,
            outcome=EscalationOutcome.SAFETY_PLAN,
            notes="  ",
        )
    escalations.close(
        session,
        escalation_id,
        actor_id=other,
        outcome=EscalationOutcome.SAFETY_PLAN,
        notes="Agreed a safety plan; sister will stay tonight.",
    )
    with pytest.raises(Conflict):
        escalations.close(
            session,
            escalation_id,
            actor_id=other,
            outcome=EscalationOutcome.FALSE_ALARM,
            notes="again",
        )
    closed = escalations.get(session, escalation_id)
    assert closed.state is EscalationState.CLOSED
    assert closed.to_payload()["seconds_to_close"] is not None
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.conversation_id == cid)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "escalation_opened",
        "escalation_acknowledged",
        "escalation_assigned",
        "escalation_taken_over",
        "escalation_closed",
    ]
    # A closed escalation lets a new one open for the same conversation.
    assert escalations.escalate_manually(
        session, cid, actor_id=counselor, reason="new crisis"
    )


def test_realerts_are_claimed_once(sessions):
    from datetime import timedelta

    session = sessions()
    cid, _ = conversations.start_conversation(session, "zh")
    resident_says(session, cid, "x", CRISIS, "msg-0001")
    assert escalations.claim_realerts(session, timedelta(seconds=30)) == []
    first = escalations.claim_realerts(sessions(), timedelta(seconds=0))
    second = escalations.claim_realerts(sessions(), timedelta(seconds=30))
    assert len(first) == 1
    assert second == []


def test_correction_is_kept_as_feedback_and_to_crisis_escalates(sessions, make_user):
    session = sessions()
    counselor = make_user("ana")
    cid, _ = conversations.start_conversation(session, "zh")
    resident_says(session, cid, "我在楼顶，风好大", CALM, "msg-0001")
    escalation_id = risk.correct_level_and_escalate(
        session,
        cid,
        actor_id=counselor,
        to_level=RiskLevel.CRISIS,
        reason="on a rooftop at night",
    )
    assert escalation_id is not None
    assert risk.training_feedback(session) == [
        {"text": "我在楼顶，风好大", "level": "crisis"}
    ]
    with pytest.raises(InvalidInput):
        risk.correct_level_and_escalate(
            session, cid, actor_id=counselor, to_level=RiskLevel.LOW, reason=" "
        )
    count = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "level_corrected")
    )
    assert count == 1


def test_open_escalation_rises_with_a_later_crisis(sessions, make_user):
    session = sessions()
    counselor = make_user("ana")
    cid, _ = conversations.start_conversation(session, "zh")
    escalation_id = escalations.escalate_manually(
        session, cid, actor_id=counselor, reason="worried"
    )
    assert escalations.get(session, escalation_id).level is RiskLevel.LOW
    later = resident_says(session, cid, "今晚就结束", CRISIS, "msg-0001")
    assert later.escalation_id is None
    assert escalations.get(session, escalation_id).level is RiskLevel.CRISIS
