"""Canned responses: ready-made replies a counsellor inserts and then edits.

The shared library (``owner_id`` is None) is kept by supervisors: added,
edited and retired (``active=False``), never deleted, so the audit trail
keeps pointing at something. Each counsellor may also keep personal ones,
which only their owner sees, edits or deletes.

Bodies may hold two placeholders, filled in when a reply is inserted:
``{name}`` (what the resident would like to be called) and ``{counselor}``
(the counsellor's display name). Either may be unknown, so each has a
neutral fallback in the reply's language: ``{name}`` becomes 你 / "there"
and ``{counselor}`` 咨询员 / "your counsellor". Write them only where the
fallback reads well: "{name}好" or "Hi {name}," and "我是热线的{counselor}"
or "this is {counselor} from the hotline".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from hotline.errors import Forbidden, InvalidInput, NotFound
from hotline.models import CannedResponse, Conversation, Role, User, utcnow
from hotline.services import audit
from hotline.services.conversations import may_write_as_staff
from hotline.services.queue import not_held_error, update_as_holder
from hotline.validation import text_field

# In the order a conversation usually goes: the library is listed this way.
CATEGORIES = ("greeting", "listening", "safety", "breathing", "closing", "other")
LANGUAGES = ("zh", "en")
MAX_TITLE_CHARS = 100
MAX_BODY_CHARS = 2000
MAX_QUERY_CHARS = 100
MAX_NAME_CHARS = 40
# Enough for anyone's own phrases; stops a runaway script filling the table.
MAX_PERSONAL_RESPONSES = 200

NAME_FALLBACK = {"zh": "你", "en": "there"}
COUNSELOR_FALLBACK = {"zh": "咨询员", "en": "your counsellor"}
_PLACEHOLDER = re.compile(r"\{(name|counselor)\}")
# What the search box treats as the gap between two terms.
_TERMS = re.compile(r"\s+")


@dataclass(frozen=True)
class CannedInput:
    """A checked response, ready to store."""

    category: str
    lang: str
    title: str
    body: str


@dataclass(frozen=True)
class CannedView:
    response_id: int
    owner_id: int | None
    category: str
    lang: str
    title: str
    body: str
    active: bool
    updated_at: datetime

    @property
    def is_shared(self) -> bool:
        """Whether this belongs to the shared library (not a personal one)."""
        return self.owner_id is None

    def to_payload(self, text: str | None = None) -> dict[str, Any]:
        """JSON for the console; ``text`` is the body with placeholders filled."""
        return {
            "id": self.response_id,
            "shared": self.is_shared,
            "category": self.category,
            "lang": self.lang,
            "title": self.title,
            "body": self.body,
            "text": self.body if text is None else text,
            "active": self.active,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Library:
    """What the console's picker shows: the responses, filled for a conversation
    when one was named."""

    lang: str | None
    conversation_id: int | None
    resident_name: str | None
    counselor_name: str
    responses: list[CannedView]

    def to_payload(self) -> dict[str, Any]:
        filling = self.conversation_id is not None
        return {
            "lang": self.lang,
            "conversation_id": self.conversation_id,
            "resident_name": self.resident_name,
            "responses": [
                response.to_payload(
                    fill(
                        response.body,
                        self.resident_name,
                        self.counselor_name,
                        response.lang,
                    )
                    if filling
                    else None
                )
                for response in self.responses
            ],
        }


def fill(
    body: str, resident_name: str | None, counselor_name: str | None, lang: str = "zh"
) -> str:
    """``body`` with ``{name}`` and ``{counselor}`` filled in (fallbacks in ``lang``).

    One pass, so a name that itself looks like a placeholder stays as typed.
    """
    fallback_lang = lang if lang in LANGUAGES else "zh"
    values = {
        "name": (resident_name or "").strip() or NAME_FALLBACK[fallback_lang],
        "counselor": (counselor_name or "").strip()
        or COUNSELOR_FALLBACK[fallback_lang],
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], body)


def check_input(category: Any, lang: Any, title: Any, body: Any) -> CannedInput:
    """Validate a response's fields; InvalidInput names the first bad one."""
    if category not in CATEGORIES:
        raise InvalidInput(
            "not_a_choice", field="category", choices=", ".join(CATEGORIES)
        )
    if lang not in LANGUAGES:
        raise InvalidInput("not_a_choice", field="lang", choices=", ".join(LANGUAGES))
    return CannedInput(
        category=category,
        lang=lang,
        title=_clean(title, "title", MAX_TITLE_CHARS, single_line=True),
        body=_clean(body, "body", MAX_BODY_CHARS, single_line=False),
    )


def _clean(value: Any, field: str, max_chars: int, *, single_line: bool) -> str:
    cleaned = text_field({field: value}, field, max_chars=max_chars)
    # A title is one line: the picker shows it as a label.
    return " ".join(cleaned.split()) if single_line else cleaned


# --- reading ----------------------------------------------------------


def _order() -> tuple[Any, ...]:
    category_rank = case(
        {category: rank for rank, category in enumerate(CATEGORIES)},
        value=CannedResponse.category,
        else_=len(CATEGORIES),
    )
    return (category_rank, CannedResponse.title, CannedResponse.id)


def _matches(query: str) -> ColumnElement[bool]:
    # Every term must appear in the title or the body, ignoring case.
    conditions = []
    for term in _TERMS.split(query.strip().lower()):
        if term:
            conditions.append(
                or_(
                    func.lower(CannedResponse.title).contains(term, autoescape=True),
                    func.lower(CannedResponse.body).contains(term, autoescape=True),
                )
            )
    return and_(*conditions)


def _view(response: CannedResponse) -> CannedView:
    return CannedView(
        response_id=response.id,
        owner_id=response.owner_id,
        category=response.category,
        lang=response.lang,
        title=response.title,
        body=response.body,
        active=response.active,
        updated_at=response.updated_at,
    )


def list_for_counselor(
    session: Session,
    counselor_id: int,
    *,
    lang: str | None = None,
    query: str | None = None,
) -> list[CannedView]:
    """Active shared responses and the counsellor's own, in ``lang`` if given,
    matching every term of ``query``; by category (in conversation order),
    then title."""
    statement = select(CannedResponse).where(
        CannedResponse.active.is_(True),
        or_(
            CannedResponse.owner_id.is_(None),
            CannedResponse.owner_id == counselor_id,
        ),
    )
    if lang is not None:
        statement = statement.where(CannedResponse.lang == lang)
    if query and query.strip():
        statement = statement.where(_matches(query[:MAX_QUERY_CHARS]))
    return [_view(r) for r in session.scalars(statement.order_by(*_order()))]


def library(
    session: Session,
    staff_id: int,
    *,
    conversation_id: int | None = None,
    lang: str | None = None,
    query: str | None = None,
) -> Library:
    """The picker's list. With a conversation (held or joined by ``staff_id``)
    the language defaults to the conversation's and placeholders are filled."""
    if lang is not None and lang not in LANGUAGES:
        raise InvalidInput("not_a_choice", field="lang", choices=", ".join(LANGUAGES))
    counselor_name = session.scalar(
        select(User.display_name).where(User.id == staff_id)
    )
    resident_name = None
    if conversation_id is not None:
        row = session.execute(
            select(Conversation.lang, Conversation.resident_name).where(
                Conversation.id == conversation_id, may_write_as_staff(staff_id)
            )
        ).one_or_none()
        if row is None:
            raise not_held_error(session, conversation_id)
        conversation_lang, resident_name = row
        if lang is None and conversation_lang in LANGUAGES:
            lang = conversation_lang
    return Library(
        lang=lang,
        conversation_id=conversation_id,
        resident_name=resident_name,
        counselor_name=counselor_name or "",
        responses=list_for_counselor(session, staff_id, lang=lang, query=query),
    )


def list_shared(
    session: Session, *, active: bool | None = None, lang: str | None = None
) -> list[CannedView]:
    """The shared library for the supervisors' page, active ones first."""
    statement = select(CannedResponse).where(CannedResponse.owner_id.is_(None))
    if active is not None:
        statement = statement.where(CannedResponse.active.is_(active))
    if lang is not None:
        statement = statement.where(CannedResponse.lang == lang)
    statement = statement.order_by(
        CannedResponse.active.desc(), CannedResponse.lang.desc(), *_order()
    )
    return [_view(r) for r in session.scalars(statement)]


def get_shared(session: Session, response_id: int) -> CannedView:
    """One shared response, or NotFound."""
    response = session.get(CannedResponse, response_id)
    if response is None or response.owner_id is not None:
        raise NotFound("canned")
    return _view(response)


# --- the shared library (supervisors) ---------------------------------


def _require_supervisor(session: Session, actor_id: int) -> None:
    role = session.scalar(
        select(User.role).where(User.id == actor_id, User.is_active.is_(True))
    )
    if role is not Role.SUPERVISOR:
        raise Forbidden("supervisors_only")


def create_shared(session: Session, actor_id: int, data: CannedInput) -> CannedView:
    """Add a response to the shared library (supervisors; audited)."""
    _require_supervisor(session, actor_id)
    now = utcnow()
    response = CannedResponse(
        owner_id=None,
        category=data.category,
        lang=data.lang,
        title=data.title,
        body=data.body,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(response)
    session.flush()
    audit.record(
        session,
        "canned_added",
        actor_id=actor_id,
        response_id=response.id,
        lang=data.lang,
        title=data.title,
    )
    return _view(response)


def update_shared(
    session: Session, actor_id: int, response_id: int, data: CannedInput
) -> CannedView:
    """Change a shared response's fields (supervisors; audited with what changed)."""
    response = _shared_response(session, actor_id, response_id)
    changed = [
        field
        for field in ("category", "lang", "title", "body")
        if getattr(response, field) != getattr(data, field)
    ]
    if changed:
        for field in changed:
            setattr(response, field, getattr(data, field))
        response.updated_at = utcnow()
        audit.record(
            session,
            "canned_updated",
            actor_id=actor_id,
            response_id=response.id,
            lang=data.lang,
            title=data.title,
            changed=changed,
        )
    return _view(response)


def set_shared_active(
    session: Session, actor_id: int, response_id: int, active: bool
) -> CannedView:
    """Retire a shared response, or bring a retired one back (audited)."""
    response = _shared_response(session, actor_id, response_id)
    if response.active != active:
        response.active = active
        response.updated_at = utcnow()
        audit.record(
            session,
            "canned_reactivated" if active else "canned_retired",
            actor_id=actor_id,
            response_id=response.id,
            lang=response.lang,
            title=response.title,
        )
    return _view(response)


# --- personal responses -------------------------------------------------


def _shared_response(
    session: Session, actor_id: int, response_id: int
) -> CannedResponse:
    """A shared response, for a supervisor to change; NotFound otherwise."""
    _require_supervisor(session, actor_id)
    response = session.get(CannedResponse, response_id)
    if response is None or response.owner_id is not None:
        raise NotFound("canned")
    return response


def save_own(
    session: Session,
    owner_id: int,
    data: CannedInput,
    response_id: int | None = None,
) -> CannedView:
    """Add a personal response, or change one of the owner's own."""
    now = utcnow()
    if response_id is None:
        count = session.scalar(
            select(func.count())
            .select_from(CannedResponse)
            .where(CannedResponse.owner_id == owner_id)
        )
        if (count or 0) >= MAX_PERSONAL_RESPONSES:
            raise InvalidInput("canned_limit", limit=MAX_PERSONAL_RESPONSES)
        response = CannedResponse(owner_id=owner_id, created_at=now, active=True)
        session.add(response)
    else:
        response = _own(session, owner_id, response_id)
    response.category = data.category
    response.lang = data.lang
    response.title = data.title
    response.body = data.body
    response.updated_at = now
    session.flush()
    return _view(response)


def delete_own(session: Session, owner_id: int, response_id: int) -> None:
    """Delete one of the owner's personal responses."""
    _own(session, owner_id, response_id)
    session.execute(
        delete(CannedResponse).where(
            CannedResponse.id == response_id, CannedResponse.owner_id == owner_id
        )
    )


def _own(session: Session, owner_id: int, response_id: int) -> CannedResponse:
    response = session.get(CannedResponse, response_id)
    if response is None or (
        response.owner_id is not None and response.owner_id != owner_id
    ):
        # Someone else's personal responses are not even acknowledged.
        raise NotFound("canned")
    if response.owner_id is None:
        raise Forbidden("supervisors_only")
    return response


# --- the resident's chosen name -------------------------------------------


def set_resident_name(
    session: Session, conversation_id: int, staff_id: int, name: str
) -> str | None:
    """Record what the resident would like to be called (empty clears it).

    Only the holder, or the responder who joined, may.
    """
    value = " ".join(name.split()) or None
    if value is not None and len(value) > MAX_NAME_CHARS:
        raise InvalidInput("too_long", field="name", max_chars=MAX_NAME_CHARS)
    update_as_holder(session, conversation_id, staff_id, resident_name=value)
    return value


# --- the default library ------------------------------------------------


# (category, lang, title, body). Written for this hotline: short, warm, plain
# words; safety questions ask about suicide directly, which does not put the
# idea in anyone's head and tells the resident it can be spoken about.
DEFAULT_LIBRARY: tuple[tuple[str, str, str, str], ...] = (
    (
        "greeting",
        "zh",
        "开场问候",
        "{name}好，我是热线的{counselor}。这里的聊天是匿名的，不用着急，"
        "慢慢说。今天想和我聊些什么？",
    ),
    (
        "greeting",
        "en",
        "Welcome",
        "Hi {name}, this is {counselor} from the hotline. This chat is anonymous "
        "and there is no rush. What would you like to talk about today?",
    ),
    (
        "greeting",
        "zh",
        "久等了",
        "{name}好，让你久等了，谢谢你愿意等我们。我是热线的{counselor}，"
        "现在我在这里专心陪你聊。",
    ),
    (
        "greeting",
        "en",
        "Sorry for the wait",
        "Hi {name}, thank you for waiting, and sorry it took a while. This is "
        "{counselor} from the hotline, and I'm here with you now.",
    ),
    (
        "listening",
        "zh",
        "反映感受",
        "听起来你一直一个人扛着很多事，已经很累了。我这样理解对吗？",
    ),
    (
        "listening",
        "en",
        "Reflect feelings",
        "It sounds like you have been carrying a lot on your own, and it has "
        "left you worn out. Have I understood that right?",
    ),
    (
        "listening",
        "zh",
        "请多说一些",
        "可以再多和我说一说吗？这段时间对你来说是什么样的？",
    ),
    (
        "listening",
        "en",
        "Invite more",
        "Could you tell me a bit more about what this time has been like for you?",
    ),
    (
        "listening",
        "zh",
        "肯定感受",
        "在现在这样的情况下，有这样的感受是可以理解的。封控期间很多人都过得"
        "很不容易，你并不孤单。",
    ),
    (
        "listening",
        "en",
        "Validate feelings",
        "Feeling this way makes sense, given everything that is happening. A lot "
        "of people are finding the lockdown hard, and you are not alone in it.",
    ),
    (
        "listening",
        "zh",
        "我还在",
        "我还在这里。不用着急，想好了再说，我一直在听。",
    ),
    (
        "listening",
        "en",
        "Still here",
        "I'm still here. Take all the time you need; whenever you are ready, "
        "I'm listening.",
    ),
    (
        "listening",
        "zh",
        "以前什么帮到过你",
        "以前遇到很难熬的时候，有什么曾经帮到过你，哪怕只是一点点？",
    ),
    (
        "listening",
        "en",
        "What has helped before",
        "When things have felt this heavy before, what helped you get through, "
        "even a little?",
    ),
    (
        "listening",
        "zh",
        "身边的支持",
        "现在你身边，或者电话那头，有没有哪个人是你觉得可以依靠的？",
    ),
    (
        "listening",
        "en",
        "Who is around you",
        "Is there anyone, nearby or on the phone, you feel you can lean on "
        "at the moment?",
    ),
    (
        "safety",
        "zh",
        "直接询问自杀想法",
        "有时候，人在像你说的这么难受的时候，会想到结束自己的生命。"
        "我想直接问你：你现在有自杀的想法吗？",
    ),
    (
        "safety",
        "en",
        "Ask about suicide",
        "Sometimes when people feel as low as you describe, they think about "
        "ending their life. I would like to ask you directly: are you thinking "
        "about suicide?",
    ),
    (
        "safety",
        "zh",
        "询问计划和手段",
        "谢谢你愿意告诉我。你有没有想过会用什么方式？那样东西现在就在你身边吗？",
    ),
    (
        "safety",
        "en",
        "Ask about a plan",
        "Thank you for telling me. Have you thought about how you would do it? "
        "Is what you would use within reach right now?",
    ),
    (
        "safety",
        "zh",
        "确认眼下安全",
        "你现在所在的地方安全吗？身边或附近有人陪着你吗？",
    ),
    (
        "safety",
        "en",
        "Safe right now?",
        "Are you safe where you are right now? Is anyone with you or close by?",
    ),
    (
        "safety",
        "zh",
        "一起想办法保持安全",
        "我们一起想一想，接下来的几个小时里，什么能帮你保持安全？比如把可能"
        "伤到自己的东西放远一些，或者请一个信得过的人来陪着你。",
    ),
    (
        "safety",
        "en",
        "Staying safe for now",
        "Can we think together about what would help you stay safe for the next "
        "few hours? For example, putting anything you might hurt yourself with "
        "out of reach, or asking someone you trust to be with you.",
    ),
    (
        "breathing",
        "zh",
        "放慢呼吸",
        "我们先一起慢下来。用鼻子轻轻吸气，心里数四下；稍微停一停；再用嘴"
        "慢慢呼气，数六下。这样重复几次，我在这里等你。",
    ),
    (
        "breathing",
        "en",
        "Slow breathing",
        "Let's slow down together for a moment. Breathe in gently through your "
        "nose for a count of four, pause, then breathe out slowly through your "
        "mouth for a count of six. Do that a few times; I'll wait here.",
    ),
    (
        "breathing",
        "zh",
        "五感着陆练习",
        "如果脑子里停不下来，可以试试这样：说出你能看到的五样东西、能摸到的"
        "四样、能听到的三种声音、能闻到的两种气味，还有一种能尝到的味道。"
        "愿意的话，告诉我你注意到了什么。",
    ),
    (
        "breathing",
        "en",
        "Grounding with the senses",
        "If your thoughts are racing, try this: name five things you can see, "
        "four you can touch, three you can hear, two you can smell and one you "
        "can taste. Tell me what you notice, if you like.",
    ),
    (
        "closing",
        "zh",
        "结束前回顾",
        "在结束之前，我们一起回顾一下：接下来你打算做些什么？如果之后觉得"
        "更难受了，可以找谁？",
    ),
    (
        "closing",
        "en",
        "Before we finish",
        "Before we finish, shall we go over what you would like to do next, and "
        "who you can turn to if things get harder later?",
    ),
    (
        "closing",
        "zh",
        "结束语",
        "谢谢你今天愿意和我聊。开口求助本身就需要勇气。之后如果又觉得难熬，"
        "随时可以回到这里找我们。照顾好自己。",
    ),
    (
        "closing",
        "en",
        "Goodbye",
        "Thank you for talking with me today. Reaching out takes courage. If "
        "things get hard again, you can come back here at any time. Please take "
        "good care of yourself.",
    ),
)


def install_default_library(
    session: Session,
    entries: Iterable[tuple[str, str, str, str]] = DEFAULT_LIBRARY,
) -> int:
    """Add the default shared responses that are missing; returns how many.

    An entry counts as present when a shared response (active or retired) in
    its language has its title or its body, so running this again, after a
    supervisor retired one or reworded it, adds nothing back.
    """
    existing = session.execute(
        select(CannedResponse.lang, CannedResponse.title, CannedResponse.body).where(
            CannedResponse.owner_id.is_(None)
        )
    ).all()
    titles = {(lang, title) for lang, title, _ in existing}
    bodies = {(lang, body) for lang, _, body in existing}
    now = utcnow()
    added = 0
    for category, lang, title, body in entries:
        if (lang, title) in titles or (lang, body) in bodies:
            continue
        session.add(
            CannedResponse(
                owner_id=None,
                category=category,
                lang=lang,
                title=title,
                body=body,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        titles.add((lang, title))
        bodies.add((lang, body))
        added += 1
    return added
