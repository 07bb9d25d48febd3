"""Long messages read by sentence, and `uncertain` instead of a higher level."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import triage
from triage.policy import SECOND_OPINION_FLOOR, Window
from triage.store import TriageModel

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
    assert estimator.second_opinion_threshold is not None
    # The tuned threshold, or the fixed floor under it (issue 18).
    second = max(estimator.second_opinion_threshold, SECOND_OPINION_FLOOR)
    assert 0 < second < 1
    window = Window(
        start=0,
        end=10,
        probabilities=np.asarray([0.0, 0.9, 0.05, 0.05]),  # the model is sure
        floor=None,
        reasons=(),
        suppressed_only=False,
        supported=False,
        second_opinion=second / 2,  # the head for signal-free text is not
    )

    def level_of(candidate: Window) -> tuple[str, str]:
        outcome = estimator.policy().level_of(candidate)
        return outcome.level, outcome.leaning

    assert level_of(window) == ("moderate", "high")  # uncertain, not raised
    assert level_of(replace(window, second_opinion=min(1.0, second * 2)))[0] == ("high")
    assert level_of(replace(window, supported=True))[0] == "high"


@pytest.mark.parametrize(
    "text",
    [
        "我妈总说我找的对象不靠谱",  # a relative named
        "最近晚上老是睡不着",  # a time
        "我每天都要加班到十点",  # a routine
        "My mom keeps asking when I'll get married",
    ],
)
def test_everyday_words_do_not_back_a_model_only_urgent_call(text: str) -> None:
    """Relatives, times and routines are the stuff of ordinary counselling
    talk: they leave the model alone to the second opinion."""
    from triage.normalize import normalize
    from triage.policy import is_supported
    from triage.signals import analyze

    assert not is_supported(analyze(normalize(text)).matches)
    assert is_supported(analyze(normalize("我妈走了以后我也不想活了")).matches)
