"""Normalisation: width, case, Traditional → Simplified, offsets, odd input."""

from __future__ import annotations

import pytest

from triage.normalize import detect_language, normalize, normalize_with_offsets


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＨＥＬＬＯ！", "hello!"),  # full-width Latin and punctuation
        ("我覺得好絕望", "我觉得好绝望"),  # Traditional
        ("活著沒意思", "活着没意思"),  # Taiwan variant 著 in 活著
        ("I DON’T want to", "i don't want to"),  # typographic apostrophe
        ("不想活了！！！！！！", "不想活了!!!"),  # repeated punctuation kept, capped
        ("啊啊啊啊啊啊", "啊啊啊"),
        ("吃了10000片", "吃了10000片"),  # digits are never capped
        ("想\u200b死", "想死"),  # zero-width space used to dodge filters
        ("a\x00b\x07c", "a b c"),  # control characters become spaces
        ("😭😭😭😭😭", "😭😭😭"),  # emoji kept as features, runs capped
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("我覺得好絕望，不想活了", "絕望"),
        ("前面\u200b\u200b想\u200b死", "想\u200b死"),
        ("ＩＷＡＮＴtoDIE", "ＷＡＮＴ"),
        ("好好好好好好想死", "想死"),
        ("e\u0301e\u0301 想死", "想死"),  # combining accents take the slow path
    ],
)
def test_offsets_map_back_to_the_original(raw: str, needle: str) -> None:
    normalized = normalize_with_offsets(raw)
    target = normalize(needle)
    start = normalized.text.index(target)
    begin, end = normalized.original_span(start, start + len(target))
    assert raw[begin:end] == needle


def test_identity_offsets_for_plain_text() -> None:
    normalized = normalize_with_offsets("plain text 平常的话，")
    assert normalized.original_span(0, 5) == (0, 5)


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        normalize(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我不想活了", "zh"),
        ("I want to die", "en"),
        ("lockdown第30天, I'm so done", "mixed"),
        ("😭😭", "zh"),
        ("", "zh"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_long_text_normalises_quickly() -> None:
    text = "我覺得好絕望，" * 20_000
    assert normalize(text).startswith("我觉得好绝望")
