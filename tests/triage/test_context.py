"""Conversation context: assess(text, context=[...]) and what it may change."""

from __future__ import annotations

import time

import pytest

import triage
from triage.context import ContextMessage, coerce_context
from triage.store import TriageModel

C = ContextMessage


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("是的", [C("最近真的撑不下去了"), C("你有没有想过怎么做？", "counselor")]),
        ("嗯，想过", [C("我不想活了"), C("你有没有想过用什么方法结束？", "counselor")]),
        (
            "yes",
            [
                C("I don't want to be alive anymore"),
                C("Have you thought about how you would do it?", "counselor"),
            ],
        ),
    ],
)
def test_a_yes_to_a_method_question_is_a_plan(
    triage_model: TriageModel, text: str, context: list[ContextMessage]
) -> None:
    alone = triage.assess(text)
    result = triage.assess(text, context=context)
    assert alone.level not in ("crisis", "high")
    assert result.level == "crisis"
    assert result.context_used == (len(context) - 1,)


def test_a_yes_to_a_suicide_question_is_high(triage_model: TriageModel) -> None:
    result = triage.assess("是", context=[C("你有没有想过自杀？", "counselor")])
    assert result.level in ("high", "crisis")
    assert result.context_used == (0,)


@pytest.mark.parametrize("text", ["没有", "不是", "no", "never"])
def test_a_no_adopts_nothing(triage_model: TriageModel, text: str) -> None:
    context = [C("你有没有想过自杀？", "counselor")]
    result = triage.assess(text, context=context)
    assert result.context_used == ()
    assert result.level == triage.assess(text).level


@pytest.mark.parametrize(
    ("earlier", "text"),
    [
        ("药都攒好了", "今晚"),
        ("我买了两瓶安眠药", "就今晚吧"),
        ("I've saved up all my pills", "tonight"),
    ],
)
def test_a_time_after_means_is_a_plan(
    triage_model: TriageModel, earlier: str, text: str
) -> None:
    result = triage.assess(text, context=[{"text": earlier, "sender": "resident"}])
    assert result.level == "crisis"
    # The earlier message decided it only where the message alone did not.
    if triage.assess(text).level != "crisis":
        assert result.context_used == (0,)


def test_a_wish_then_means_over_two_messages(triage_model: TriageModel) -> None:
    context = [C("我真的不想活了"), C("嗯，我在听", "counselor")]
    result = triage.assess("安眠药我已经买好了", context=context)
    assert result.level == "crisis"


def test_calm_follow_ups_are_not_raised_by_old_risk(triage_model: TriageModel) -> None:
    """A thank-you after a crisis message is not a new crisis: the
    conversation keeps its level; this message adds nothing."""
    context = [C("药都攒好了"), C("今晚")]
    for text in ("谢谢你", "好的", "我现在好一点了"):
        result = triage.assess(text, context=context)
        assert result.context_used == ()
        assert result.level == triage.assess(text).level


def test_context_never_lowers(triage_model: TriageModel) -> None:
    text = "我不想活了，药已经准备好了，今晚就吃"
    calm = [C("今天天气不错"), C("你好呀", "counselor")]
    assert triage.assess(text, context=calm).level == "crisis"


def test_context_forms_and_errors() -> None:
    messages = coerce_context(
        ["hi", {"body": "你好", "sender": "counselor"}, ("resident", "嗯")]
    )
    assert [m.sender for m in messages] == ["resident", "counselor", "resident"]
    with pytest.raises(TypeError):
        coerce_context("one string")
    with pytest.raises(ValueError):
        coerce_context([{"text": "x", "sender": "bot"}])
    with pytest.raises(TypeError):
        coerce_context([42])


def test_context_detail_in_the_dict(triage_model: TriageModel) -> None:
    result = triage.assess("今晚", context=[C("药都攒好了")])
    assert set(result.to_dict()) == {"level", "score", "signals", "needs", "model"}
    detail = result.to_dict(detail=True)
    assert isinstance(detail["uncertain"], bool)
    assert isinstance(detail["context_used"], list)


def test_ten_messages_of_context_cost_little(triage_model: TriageModel) -> None:
    """DESIGN §4 asks p99 ≤ 4 ms with 10 messages of context against ≤ 2 ms
    alone (bench/results-triage.md measures both); here, on a shared machine,
    the context may at most double the cost of a message (fastest of 3)."""
    context = [C(f"第{i}条：最近睡不好，心里很乱，工作也不顺") for i in range(9)]
    context.append(C("你最近睡得怎么样？", "counselor"))
    texts = [f"还是老样子，第{i}天了，有点累" for i in range(100)]

    def cost(**kwargs: object) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for text in texts:
                triage.assess(text, **kwargs)  # type: ignore[arg-type]
            best = min(best, time.perf_counter() - started)
        return best

    alone, with_context = cost(), cost(context=context)
    assert with_context <= 2.0 * alone
