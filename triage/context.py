"""Conversation context: what earlier messages add to the one being assessed.

A resident's "是的" answers the counsellor's "你有没有想过怎么做？"; a plan
comes over two messages ("药都攒好了" … "今晚"); a time follows a means.
The web app passes the conversation so far with each new message
(`assess(text, context=[...])`); this module finds the rule evidence that
only the combination shows, and which earlier message contributed. It reads
rules only (the lexicon analysis is cached), so ten messages of context cost
little on top of the model's call on the message itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from triage.levels import RANK
from triage.normalize import normalize
from triage.signals import Analysis, analyze

SENDERS = ("resident", "counselor")
# At most this many earlier messages are read (the most recent ones).
MAX_CONTEXT = 10
# Resident messages joined with the new one to find a plan spread over them.
MAX_JOINED = 3
# Kinds a yes can adopt from a counsellor's question.
_ADOPTED_KINDS = frozenset(
    {"intent", "self_harm", "plan", "means", "time", "farewell", "violence", "act"}
)
# No floor ranks below every level.
_RANK: dict[str | None, int] = {None: -1, **RANK}

# A short answer that takes up the question: yes, I have, a little.
_AFFIRMATIVE = re.compile(
    r"^(?:(?:是的?|是啊|对的?|对啊|嗯+|恩+|有的?|有过|有啊|有一点|想过|想过的|算是|可能|"
    r"差不多|没错|确实|吧|啊|呀|了|yes|yeah|yep|yup|i have|i did|i am|kind of|"
    r"sort of|a bit|a little|maybe|probably|sometimes|i guess)"
    r"[，,。.!！…~～\s]*){1,4}$"
)


def is_bare_answer(normalized_text: str) -> bool:
    """A short yes or "thought about it" with nothing else: it means what
    the question before it asked, so alone it says nothing about risk."""
    return bool(_AFFIRMATIVE.match(normalized_text.strip()))


_QUESTION = re.compile(
    r"[?？]|吗|有没有|是不是|会不会|想不想|有无|\b(?:have|are|do|did|will|would|is)\b"
)
# Question scaffolding removed when an answer adopts the question as its own.
_ZH_SCAFFOLD = re.compile(
    r"(?:请问|那|所以|你现在|现在)?(?:有没有|是不是|会不会|想不想|有无)|[吗呢嘛？?]"
)
_EN_SCAFFOLD = re.compile(r"^(?:and |so |)(?:have|are|do|did|will|would|is) you\b")


@dataclass(frozen=True, slots=True)
class ContextMessage:
    """An earlier message of the conversation, oldest first in a context list."""

    text: str
    sender: str = "resident"


@dataclass(frozen=True, slots=True)
class ContextFinding:
    """What the context adds: a floor, why, and which messages contributed."""

    floor: str | None
    reasons: tuple[str, ...]
    used: tuple[int, ...]


NO_FINDING = ContextFinding(None, (), ())


def coerce_context(items: Iterable[object] | None) -> list[ContextMessage]:
    """Accept ContextMessage, {"text"|"body", "sender"} mappings, (sender, text)
    pairs or plain strings (a resident's message)."""
    if items is None:
        return []
    if isinstance(items, str):
        raise TypeError("context must be a sequence of messages, not one string")
    messages = []
    for position, item in enumerate(items):
        if isinstance(item, ContextMessage):
            message = item
        elif isinstance(item, str):
            message = ContextMessage(item)
        elif isinstance(item, Mapping):
            text = item.get("text", item.get("body"))
            message = ContextMessage(text, str(item.get("sender", "resident")))  # type: ignore[arg-type]
        elif isinstance(item, tuple) and len(item) == 2:
            message = ContextMessage(item[1], str(item[0]))
        else:
            raise TypeError(f"context item {position} is not a message")
        if not isinstance(message.text, str):
            raise TypeError(f"context item {position} has no text")
        if message.sender not in SENDERS:
            raise ValueError(
                f"context item {position}: sender must be one of {', '.join(SENDERS)}"
            )
        messages.append(message)
    return messages


def _analysis(text: str) -> Analysis:
    # Earlier messages come back with every new one: normalise them once
    # (long ones are not kept, so memory stays bounded).
    if len(text) > 2000:
        return analyze(normalize(text))
    return _cached_analysis(text)


@lru_cache(maxsize=4096)
def _cached_analysis(text: str) -> Analysis:
    return analyze(normalize(text))


def _active(analysis: Analysis) -> set[str]:
    return {m.kind for m in analysis.matches if m.status == "active"}


def _as_statement(question: str) -> str:
    """The counsellor's question as the resident's own statement."""
    text = normalize(question).strip()
    if _EN_SCAFFOLD.search(text):
        text = _EN_SCAFFOLD.sub("i", text)
        text = re.sub(r"\byou\b", "i", text)
        text = re.sub(r"\byour\b", "my", text)
        return text.rstrip("?？ ")
    text = _ZH_SCAFFOLD.sub("", text)
    return text.replace("你", "我").replace("您", "我")


def _answer(text: str, context: Sequence[ContextMessage]) -> ContextFinding:
    """A short yes to the counsellor's last question takes the question up."""
    if not _AFFIRMATIVE.match(normalize(text).strip()):
        return NO_FINDING
    for index in range(len(context) - 1, max(-1, len(context) - 4), -1):
        message = context[index]
        if message.sender != "counselor":
            continue
        if not _QUESTION.search(normalize(message.text)):
            return NO_FINDING
        statement = _as_statement(message.text)
        analysis = _analysis(statement)
        if not _active(analysis) & _ADOPTED_KINDS:
            return NO_FINDING
        # The yes joins what the resident said before the question.
        earlier = [
            context[i].text for i in range(index) if context[i].sender == "resident"
        ][-(MAX_JOINED - 1) :]
        joined = _analysis("\n".join([*earlier, statement]))
        floor = joined.floor if _RANK[joined.floor] >= _RANK["high"] else "high"
        reasons = list(joined.reasons)
        # A counsellor asks how, or with what, only after hearing of a wish
        # to die: yes to that question is a wish with a plan.
        if _active(analysis) & {"plan", "means"}:
            floor = "crisis"
            reasons.append("yes to a question about a plan or means")
        why = ", ".join(dict.fromkeys(reasons)) or "a wish"
        reason = f"answered yes to the counsellor's question ({why})"
        return ContextFinding(floor, (reason,), (index,))
    return NO_FINDING


def _spread(
    text: str, current: Analysis, context: Sequence[ContextMessage]
) -> ContextFinding:
    """A plan, means, time or farewell completed across resident messages."""
    earlier = [index for index, m in enumerate(context) if m.sender == "resident"][
        -(MAX_JOINED - 1) :
    ]
    if not earlier or not _active(current):
        return NO_FINDING
    analyses = {index: _analysis(context[index].text) for index in earlier}
    previous = _analysis("\n".join(context[i].text for i in earlier))
    joined = _analysis("\n".join([*(context[i].text for i in earlier), text]))
    floor, reasons = joined.floor, list(joined.reasons)
    before = _active(previous)
    # A time given after a prepared plan or means is a plan with a time.
    if "time" in _active(current) and before & {"plan", "means"}:
        floor, reasons = "crisis", [*reasons, "a time given after a plan or means"]
    if _RANK[floor] <= max(_RANK[previous.floor], _RANK[current.floor]):
        return NO_FINDING
    used = tuple(i for i in earlier if _active(analyses[i]))
    return ContextFinding(
        floor, tuple(f"{r} (over several messages)" for r in reasons), used
    )


def context_finding(text: str, context: Sequence[ContextMessage]) -> ContextFinding:
    """The most urgent floor the context adds to `text`, with its sources."""
    recent = list(context)[-MAX_CONTEXT:]
    offset = len(context) - len(recent)
    if not recent:
        return NO_FINDING
    current = _analysis(text)
    findings = [_answer(text, recent), _spread(text, current, recent)]
    best = max(findings, key=lambda f: _RANK[f.floor])
    if best.floor is None:
        return NO_FINDING
    return ContextFinding(
        best.floor, best.reasons, tuple(index + offset for index in best.used)
    )
