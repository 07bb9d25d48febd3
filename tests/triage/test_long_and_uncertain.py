"""Long messages read by sentence, and `uncertain` instead of a higher level."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

import triage
from triage.model import TriageModel, _Window

REFLECTIVE = (
    "这几年我一直在想家里的事情。小时候爸妈工作忙，我跟着外婆长大，"
    "和他们总是隔着一层。上大学以后我去了外地，每次回家都觉得陌生。"
    "现在我自己也工作了，开始理解他们当年的不容易，可是话到嘴边又说不出口。"
    "上个月我妈生日，我买了礼物，却只在电话里说了一句生日快乐。"
    "同事说我太内向，其实我只是不知道怎么表达。我也在学着慢慢改变，"
    "比如周末主动给家里打电话，聊聊天气和吃了什么。"
)


def test_a_long_reflective_message_is_not_urgent_because_it_is_long(
    triage_model: TriageModel,
) -> None:
    text = REFLECTIVE * 8  # ~1,500 characters, no risk words
    assert len(text) > 1000
    result = triage.assess(text)
    assert result.level not in ("high", "crisis")


def test_the_riskiest_sentence_decides_with_its_evidence(
    triage_model: TriageModel,
) -> None:
    risky = "其实我已经把安眠药攒好了，今晚就全吃了。"
    middle = len(REFLECTIVE) * 4
    text = REFLECTIVE * 4 + risky + REFLECTIVE * 4
    result = triage.assess(text)
    assert result.level == "crisis"
    assert any(middle <= s.start < middle + len(risky) for s in result.signals)


def test_model_alone_without_evidence_is_uncertain_not_raised(
    triage_model: TriageModel,
) -> None:
    estimator = triage_model.estimator
    urgent = estimator.urgent_threshold
    strict = estimator.unsupported_urgent_threshold
    assert strict is not None and strict > urgent
    leaning = (urgent + strict) / 2  # above the ordinary, below the strict
    window = _Window(
        start=0,
        end=10,
        probabilities=np.asarray([0.0, leaning, 0.9 - leaning, 0.1]),
        floor=None,
        reasons=(),
        suppressed_only=False,
        supported=False,
    )
    level, _, _, _, _, leaning_level = estimator._level_of(
        window,
        estimator.crisis_threshold,
        urgent,
        estimator.moderate_threshold,
    )
    assert level == "moderate" and leaning_level == "high"
    backed = replace(window, supported=True)
    assert (
        estimator._level_of(
            backed, estimator.crisis_threshold, urgent, estimator.moderate_threshold
        )[0]
        == "high"
    )
