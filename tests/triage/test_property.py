"""Property: any string at all gives a valid assessment."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage
from triage.normalize import normalize_with_offsets
from triage.store import TriageModel

from .test_assessment import check_valid

# Mix arbitrary Unicode with the characters that matter to the rules.
_TEXTS = st.one_of(
    st.text(),
    st.text(
        alphabet=st.sampled_from(list("我不想死活了药今晚天台，。！? 😭\u200b\x00ａ"))
    ),
    st.lists(
        st.sampled_from(
            [
                "想死",
                "笑死",
                "不会",
                "I want to die",
                "dying to",
                "今晚",
                "安眠药",
                "楼顶",
                "not",
                "以前",
                "，",
                "\n",
                "😂",
            ]
        ),
    ).map("".join),
)
_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_SETTINGS
@given(text=_TEXTS)
def test_any_string_gives_a_valid_assessment(
    triage_model: TriageModel, text: str
) -> None:
    check_valid(triage.assess(text), text)


@_SETTINGS
@given(text=_TEXTS)
def test_offsets_stay_inside_the_original(text: str) -> None:
    normalized = normalize_with_offsets(text)
    for start in range(len(normalized.text)):
        begin, end = normalized.original_span(start, start + 1)
        assert 0 <= begin < end <= len(text)
