"""Messages a counsellor would judge at a glance (issue #18), in our own words.

Each case is written in Chinese and English; none copies the issue's
phrasing alone, since hidden evaluations use other texts.
"""

from __future__ import annotations

import pytest

import triage
from triage.store import TriageModel

URGENT = {"crisis", "high"}

CRISIS = {
    "decided plan, no method (zh)": "我已经决定了，不打算再活下去了",
    "decided plan, no method (en)": "I've made up my mind to end it, I just haven't "
    "worked out how yet",
    "farewell with a time (zh)": "过了今晚你们就不用再担心我了",
    "farewell with a time (zh, 2)": "今天是我最后一天了，谢谢你们一直陪着我",
    "farewell with a time (en)": "After tonight you won't have to worry about me "
    "anymore",
    "means ready, left alone (zh)": "药我都准备好了，你们别管我了，让我一个人待着",
    "means ready, left alone (en)": "The pills are all saved up. Just leave me alone "
    "now.",
    "parent losing control (zh)": "我怕我会伤害我的孩子，我快控制不住自己了",
    "parent losing control (en)": "I'm afraid I'll hurt my baby, I can't control "
    "myself anymore",
    "knife for a neighbour (zh)": "刀我已经磨好了，就等着隔壁那个人回来",
    "knife for a neighbour (en)": "I sharpened the knife for my neighbour, he will "
    "get what he deserves",
}
MEDICAL_CRISIS = {
    "cut, still bleeding (zh)": "我刚才割腕了，血还在流",
    "cut, still bleeding (en)": "I cut my wrist and it's still bleeding",
    "overdose minutes ago (zh)": "二十分钟前我吞了一整瓶安眠药",
    "overdose minutes ago (en)": "I swallowed a bottle of tablets twenty minutes ago",
    "poison (zh)": "我刚喝了半瓶农药，现在肚子好疼",
}
NOT_URGENT = {
    "small talk (zh)": "今天天气还不错，就是想找人随便聊聊天",
    "small talk (en)": "Nothing wrong really, just felt like chatting with someone "
    "today",
    "returning, still sleepless (zh)": "又是我，昨晚还是睡不着",
    "returning, still sleepless (en)": "It's me again, I still couldn't sleep last "
    "night",
}
NEEDS = {
    "out of food (zh)": ("家里米和菜都吃完了，孩子饿了", "supplies"),
    "out of food (en)": (
        "We've run out of food at home and the kids are hungry",
        "supplies",
    ),
    "medicine question (zh)": ("这个降压药能和感冒药一起吃吗", "medicine"),
    "medicine question (en)": (
        "Can I take my blood pressure pills together with cold medicine?",
        "medicine",
    ),
}


@pytest.mark.parametrize("name", sorted(CRISIS))
def test_crisis_cases(triage_model: TriageModel, name: str) -> None:
    result = triage.assess(CRISIS[name])
    assert result.level == "crisis", (name, result.level, result.reasons)


@pytest.mark.parametrize("name", sorted(MEDICAL_CRISIS))
def test_emergencies_under_way_are_crisis_and_medical(
    triage_model: TriageModel, name: str
) -> None:
    result = triage.assess(MEDICAL_CRISIS[name])
    assert result.level == "crisis", (name, result.level)
    assert "medical" in result.needs, (name, result.needs)


@pytest.mark.parametrize("name", sorted(NOT_URGENT))
def test_calm_messages_are_not_urgent(triage_model: TriageModel, name: str) -> None:
    result = triage.assess(NOT_URGENT[name])
    assert result.level not in URGENT, (name, result.level, result.probabilities)


def test_small_talk_is_low(triage_model: TriageModel) -> None:
    assert triage.assess(NOT_URGENT["small talk (zh)"]).level == "low"


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_needs(triage_model: TriageModel, name: str) -> None:
    text, need = NEEDS[name]
    assert need in triage.assess(text).needs
