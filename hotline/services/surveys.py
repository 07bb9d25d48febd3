"""The optional, anonymous survey a resident may answer after a conversation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.errors import SurveyAlreadyAnswered, SurveyNotOpen
from hotline.models import Conversation, ConversationState, Survey, utcnow
from hotline.services.conversations import conversation_for_token

FEELS_SAFER = ("yes", "no", "unsure")


@dataclass(frozen=True)
class SurveyAnswers:
    helpfulness: int  # 1 (not at all) to 5 (very)
    feels_safer: str | None  # one of FEELS_SAFER, or not answered
    comment: str


def submit(session: Session, token: object, answers: SurveyAnswers) -> int:
    """Store the survey of the conversation ``token`` opens (chat or callback).

    Only once the conversation has ended, and only once per conversation.
    """
    conversation_id = conversation_for_token(session, token, channel=None)
    state = session.scalar(
        select(Conversation.state).where(Conversation.id == conversation_id)
    )
    if state is not ConversationState.CLOSED:
        raise SurveyNotOpen()
    survey = Survey(
        conversation_id=conversation_id,
        helpfulness=answers.helpfulness,
        feels_safer=answers.feels_safer,
        comment=answers.comment,
        created_at=utcnow(),
    )
    try:
        # One survey per conversation is the database's rule: the unique
        # constraint, not a read first, catches a second answer.
        with session.begin_nested():
            session.add(survey)
    except IntegrityError as error:
        raise SurveyAlreadyAnswered() from error
    return survey.id
