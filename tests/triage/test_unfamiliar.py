"""Out-of-domain text (markup, links, code, digits, gibberish) is not a crisis.

Every escalation to a social worker costs attention; a flood of false ones
(alarm fatigue) is itself a safety risk. These strings are not in the corpus.
"""

from __future__ import annotations

import copy
import random

import pytest

import triage
from triage.cli import render_explanation
from triage.features import LengthFeatures
from triage.store import TriageModel

URGENT = {"crisis", "high"}

NOT_MESSAGES = [
    '<img src=x onerror="alert(1)">',
    "<body onload=\"fetch('/steal?c='+document.cookie)\">",
    "<table><tr><td>1</td><td>2</td></tr></table>",
    "javascript:alert(String.fromCharCode(88,83,83))",
    "admin' --",
    "https://news.example.com/2022/04/15/lockdown-update.html?utm_source=wechat",
    "http://10.0.0.1:8080/status",
    "www.example.org/a/b/c",
    "test",
    "test 1 2 3",
    "testing testing",
    "测试测试",
    "99999",
    "4008 123 456",
    "20220416",
    "3141592653589793238462643383279502884197169399375105820974944592",
    "qpwoeiruty",
    "hjkl hjkl hjkl asdf",
    "while True:\n    pass",
    "npm install && npm run build",
]

CRISIS_WITH_ODD_FORMATTING = [
    "<p>我已经站在天台边上了，今晚就跳下去</p>",
    "test test 有人吗？？我把一瓶安眠药都吃了",
    "https://example.com 不用找我了，遗书放在桌上，今晚就走",
    "<b>I have the pills ready and I'm taking them all tonight</b>",
    "123 help my mum collapsed and is not breathing",
]


def test_markup_links_code_and_numbers_are_not_urgent(
    triage_model: TriageModel,
) -> None:
    results = triage.assess_many(NOT_MESSAGES)
    flagged = {t: r.level for t, r in zip(NOT_MESSAGES, results, strict=True)}
    assert {t: lv for t, lv in flagged.items() if lv in URGENT} == {}


@pytest.mark.parametrize("text", CRISIS_WITH_ODD_FORMATTING)
def test_real_crisis_in_odd_formatting_is_still_crisis(
    triage_model: TriageModel, text: str
) -> None:
    assert triage.assess(text).level == "crisis"


def test_random_strings_never_reach_crisis(triage_model: TriageModel) -> None:
    """Long strings of digits, letters, symbols or rare CJK characters."""
    rng = random.Random(4)
    alphabets = [
        "0123456789",
        "abcdefghijklmnopqrstuvwxyz",
        "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()<>/",
        "".join(chr(code) for code in range(0x9000, 0x9FA5)),
    ]
    texts = [
        "".join(rng.choice(alphabet) for _ in range(length))
        for alphabet in alphabets
        for length in (12, 40, 120, 400, 900)
        for _ in range(4)
    ]
    results = triage.assess_many(texts)
    assert [
        t[:20] for t, r in zip(texts, results, strict=True) if r.level == "crisis"
    ] == []


def test_unreadable_text_is_held_below_crisis_and_says_why(
    triage_model: TriageModel,
) -> None:
    """With no rule evidence, the guard holds the model's crisis call at high."""
    strict = copy.copy(triage_model.estimator)
    # Treat every text as unfamiliar, so the guard's effect is visible.
    strict.set_params(min_known_share=1.01, unfamiliar_cap="high")
    model = TriageModel(estimator=strict, metadata=triage_model.metadata)
    text = "pills ready. tonight. bye"
    assert triage.assess(text).level == "crisis"  # the shipped model, by itself
    details = triage.explain(text, model=model)
    assert (details["level"], details["model_level"]) == ("high", "crisis")
    assert details["unfamiliar"] and details["rules"] == []
    assert "little familiar text" in render_explanation(text, details)


def test_rules_still_escalate_when_the_text_is_mostly_unfamiliar(
    triage_model: TriageModel,
) -> None:
    noise = "鍙戦€佹垚鍔熻鏌ユ敹閭欢锛屾偍鐨勮处鍙峰凡缁忔縺"
    result = triage.assess(f"{noise} 我现在就要自杀，药已经吃下去了 {noise}")
    assert result.level == "crisis"
    assert not result.unfamiliar


def test_length_counts_only_familiar_text() -> None:
    step = LengthFeatures().fit(
        ["我想回家", "我想回家了", "i want to go home", "i want food"]
    )
    familiar, shares = step.known_shares(["我想回家", "<div>12345</div>", "i want 123"])
    assert list(familiar) == [4.0, 0.0, 5.0]
    assert shares[0] == 1.0 and shares[1] == 0.0
    assert shares[2] == pytest.approx(5 / 8)
