"""The public API: assess, assess_many, assess_conversation, odd input, contract."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import triage
from triage.store import MODEL_ENV, ModelNotFoundError, TriageModel, reset_default_model

LEVELS = {"crisis", "high", "moderate", "low"}
NEEDS = {"supplies", "medicine", "medical", "care"}
URGENT = {"crisis", "high"}


def check_valid(result: triage.Assessment, text: str) -> None:
    """Everything DESIGN §3 promises about one assessment."""
    data = result.to_dict()
    assert set(data) == {"level", "score", "signals", "needs", "model"}
    assert data["level"] in LEVELS
    assert 0.0 <= data["score"] <= 1.0
    assert set(data["needs"]) <= NEEDS
    assert isinstance(data["model"], str) and data["model"]
    for signal in data["signals"]:
        assert {"name", "kind", "lang", "start", "end", "text"} <= set(signal)
        assert 0 <= signal["start"] <= signal["end"] <= len(text)
        assert text[signal["start"] : signal["end"]] == signal["text"]


def test_contract(triage_model: TriageModel) -> None:
    text = "我不想活了，药已经准备好了，今晚就吃"
    result = triage.assess(text)
    check_valid(result, text)
    assert result.level == "crisis"
    assert result.model == triage_model.version
    assert {"intent", "plan", "time"} <= {s.kind for s in result.signals}


@pytest.mark.parametrize(
    "text",
    [
        "笑死了",
        "累死了",
        "饿死了",
        "我不是想死",
        "I'm dying to see my family",
        "just killing time",
        "吓死我了，还以为是大白敲门",
        "想死你了！",
        "this hotpot is to die for",
    ],
)
def test_idioms_and_negations_are_not_crisis(
    triage_model: TriageModel, text: str
) -> None:
    assert triage.assess(text).level != "crisis"


@pytest.mark.parametrize(
    "text",
    [
        "我不想活了，药已经攒够了，今晚等他们睡着就吃",
        "I have saved up my sleeping pills and tonight is the night",
        "我已经站在楼顶了，永别了",
        "我爸突然倒在地上，叫不醒，没有呼吸了",
    ],
)
def test_explicit_crisis(triage_model: TriageModel, text: str) -> None:
    result = triage.assess(text)
    assert result.level == "crisis"
    assert result.score >= 0.75


@pytest.mark.parametrize(
    "text",
    [
        "我覺得好絕望，不想活了",  # Traditional Chinese
        "lockdown 第30天，I really want to die",  # mixed zh/en
        "my neighbour says she wants to die",  # third party
        "我邻居阿姨说她不想活了",
    ],
)
def test_traditional_mixed_and_third_party_are_urgent(
    triage_model: TriageModel, text: str
) -> None:
    assert triage.assess(text).level in URGENT


def test_rules_raise_the_model(triage_model: TriageModel) -> None:
    result = triage.assess("I have a plan and the rope is in my bag")
    assert result.level == "crisis"
    assert any("plan" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "😀😀😀", "\x00\x01\x02", "！！！？？？", "a" * 100_000, "\ud800"],
)
def test_odd_input_gives_a_valid_assessment(
    triage_model: TriageModel, text: str
) -> None:
    check_valid(triage.assess(text), text)


def test_empty_input_is_low(triage_model: TriageModel) -> None:
    for text in ("", "   ", "。。。"):
        result = triage.assess(text)
        assert (result.level, result.score, result.signals) == ("low", 0.0, ())


def test_long_text_reads_beyond_the_first_line(triage_model: TriageModel) -> None:
    calm = "今天天气不错，小区里很安静，我在家看书。\n" * 3000
    text = calm + "我已经吃了一整瓶安眠药，永别了"
    result = triage.assess(text)
    assert result.level == "crisis"
    assert any(s.start > len(calm) - 1 for s in result.signals)


def test_signal_list_is_capped_on_huge_input(triage_model: TriageModel) -> None:
    result = triage.assess("想死 " * 20_000)
    assert len(result.signals) <= 64
    assert result.signals_omitted > 0


@pytest.mark.parametrize("bad", [None, 42, b"bytes", ["list"], 3.5])
def test_non_string_raises_type_error(triage_model: TriageModel, bad: object) -> None:
    with pytest.raises(TypeError):
        triage.assess(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        triage.assess_many(["ok", bad])  # type: ignore[list-item]


def test_assess_many_rejects_a_bare_string(triage_model: TriageModel) -> None:
    with pytest.raises(TypeError):
        triage.assess_many("not a list")


def test_unknown_lang_is_rejected(triage_model: TriageModel) -> None:
    with pytest.raises(ValueError):
        triage.assess("hello", lang="fr")


def test_lang_hint_is_recorded(triage_model: TriageModel) -> None:
    assert triage.assess("hello", lang="en").lang == "en"
    assert triage.assess("lockdown第30天 so tired").lang == "mixed"


def test_assess_many_matches_assess(triage_model: TriageModel) -> None:
    texts = ["我想死", "谢谢", "", "I took all my pills", "家里没吃的了"]
    batch = triage.assess_many(texts)
    assert [a.to_dict() for a in batch] == [triage.assess(t).to_dict() for t in texts]
    assert triage.assess_many([]) == []


def test_needs_are_tagged(triage_model: TriageModel) -> None:
    result = triage.assess("家里米和菜都吃完了，我妈的降压药也快没了")
    assert {"supplies", "medicine"} <= set(result.needs)


def test_conversation_keeps_its_highest_risk(triage_model: TriageModel) -> None:
    messages = ["我已经吃了一整瓶安眠药", "算了", "谢谢你们", "今天天气不错"]
    result = triage.assess_conversation(messages)
    assert result.level == "crisis"
    assert result.peak_message == 0
    assert triage.assess(messages[-1]).level != "crisis"
    data = result.to_dict()
    assert data["peak_message"] == 0
    assert all("message" in s for s in data["signals"])


def test_conversation_sees_a_plan_split_over_messages(
    triage_model: TriageModel,
) -> None:
    messages = ["我不想活了", "药都攒好了", "今晚"]
    assert triage.assess_conversation(messages).level == "crisis"


def test_empty_conversation(triage_model: TriageModel) -> None:
    result = triage.assess_conversation([])
    assert (result.level, result.peak_message, result.messages) == ("low", -1, ())


def test_explain_names_the_rules(triage_model: TriageModel) -> None:
    details = triage.explain("我不想活了，药已经准备好了，今晚就吃")
    assert details["level"] == "crisis"
    assert details["rules"]
    assert details["top_features"]
    assert set(details["thresholds"]) == {"crisis", "urgent", "moderate"}


def test_rules_only_mode_is_explicit() -> None:
    result = triage.assess_rules("我不想活了，药已经准备好了，今晚就吃")
    assert (result.level, result.model) == ("crisis", "rules-only")
    assert triage.assess_rules("谢谢").level == "low"


def test_missing_model_raises_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "nothing.skops"))
    reset_default_model()
    try:
        with pytest.raises(ModelNotFoundError, match="hotline triage train"):
            triage.assess("hello")
    finally:
        monkeypatch.undo()
        reset_default_model()


def test_default_model_loads_once_across_threads(triage_model: TriageModel) -> None:
    reset_default_model()
    seen: list[int] = []

    def worker() -> None:
        seen.append(id(triage.get_default_model()))
        triage.assess("并发测试")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1
