"""No input can stall the worker: every lexicon pattern is linear, and no text
up to 4,000 characters costs more than 10× ordinary text of the same length.

Triage runs while a resident's message is being acknowledged; one quadratic
pattern let a single anonymous sender of `"1234567890" * 400` hold a worker
for about a second per message (issue #19, item 1).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage
from triage import signals
from triage.store import TriageModel

LENGTH = 4000
RATIO = 10.0
TRIAGE_DIR = Path(signals.__file__).parent

_ORDINARY = (
    "今天下班回家的路上想了很多，关于工作，也关于家里的事情。",
    "我和妈妈的关系一直不太好，她总觉得我做得不够，我也不知道怎么跟她说。",
    "I spent the evening thinking about my job and whether I should move back home.",
    "周末去公园走了走，看到很多人在跳广场舞，心情稍微好一点了。",
    "My sister called and we talked for an hour about our dad's health.",
    "最近睡得不太好，白天上班的时候总是犯困，效率也很低。",
)
_FRAGMENTS = (
    "想死",
    "不想死",
    "笑死",
    "安眠药",
    "今晚",
    "以前",
    "吃了",
    "30颗",
    "楼顶",
    "割腕",
    "not ",
    "kill myself ",
    "took 5",
    "chemo",
    "3rd floor",
    "0",
    "9",
    "，",
    "！",
    " ",
    "\n",
    "我",
    "a",
)


def _ordinary(seed: int) -> str:
    rng = random.Random(seed)
    text = ""
    while len(text) < LENGTH:
        text += rng.choice(_ORDINARY)
    return text[:LENGTH]


def _mix(seed: int) -> str:
    rng = random.Random(seed)
    text = ""
    while len(text) < LENGTH:
        text += rng.choice(_FRAGMENTS) * rng.choice((1, 1, 2, 50))
    return text[:LENGTH]


ADVERSARIAL = {
    "zeros": "0" * LENGTH,
    "digits": "1234567890" * (LENGTH // 10),
    "full-width digits": "１２３" * (LENGTH // 3),
    "digits then floor": "1" * (LENGTH - 9) + "th floor",
    "digits then pills": "一" * (LENGTH - 1) + "颗",
    "repeated CJK": "我" * LENGTH,
    "repeated idiom": "笑死" * (LENGTH // 2),
    "repeated wish": "想死" * (LENGTH // 2),
    "repeated negated wish": "我不想死" * (LENGTH // 4),
    "repeated punctuation": "！？。，" * (LENGTH // 4),
    "dots": "." * LENGTH,
    "repeated Latin": "a" * LENGTH,
    "Latin words": "ab " * (LENGTH // 3),
    "repeated chemo": "chemo" * (LENGTH // 5),
    "repeated took": "took 1" * (LENGTH // 6),
    "repeated talk to": "talk to " * (LENGTH // 8),
    "emoji": "😭" * LENGTH,
    "mixed": ("我想死 1234 ! I want to die 吃了100片 " * 200)[:LENGTH],
    **{f"random mix {seed}": _mix(seed) for seed in range(4)},
}


def _cold_seconds(call: Callable[[], object], runs: int) -> float:
    """Fastest of `runs` calls, each with the analysis caches emptied."""
    best = float("inf")
    for _ in range(runs):
        signals.clear_caches()
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def _baseline() -> float:
    """Ordinary text of the same length (the fastest of several samples)."""
    texts = [_ordinary(seed) for seed in range(3)]
    return min(
        _cold_seconds(lambda text=text: triage.assess(text), 3) for text in texts
    )


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_no_input_costs_more_than_ten_times_ordinary_text(
    triage_model: TriageModel, name: str
) -> None:
    text = ADVERSARIAL[name]
    assert len(text) <= LENGTH
    # On a shared machine a single timing can be slowed by anything; a real
    # quadratic pattern is slow every time, so the case is re-measured (with
    # a fresh baseline) before it fails.
    ratios = []
    for _ in range(3):
        baseline = _baseline()
        cost = _cold_seconds(lambda: triage.assess(text), 3)
        ratios.append(cost / baseline)
        if ratios[-1] <= RATIO:
            return
    pytest.fail(f"{name}: {min(ratios):.1f}× ordinary text (limit {RATIO}×)")


_PIECES = st.sampled_from(_FRAGMENTS)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    pieces=st.lists(
        st.tuples(_PIECES, st.integers(min_value=1, max_value=400)),
        min_size=1,
        max_size=40,
    )
)
def test_generated_long_inputs_stay_cheap(
    triage_model: TriageModel, pieces: list[tuple[str, int]]
) -> None:
    """Runs of lexicon fragments, digits, CJK and punctuation in any mix."""
    text = "".join(piece * count for piece, count in pieces)[:LENGTH]
    for _ in range(3):
        baseline = _baseline()
        if _cold_seconds(lambda: triage.assess(text), 2) <= RATIO * baseline:
            return
    pytest.fail(f"{len(text)}-character input is over {RATIO}× ordinary text")


# An unbounded quantifier (+, *, {n,}) inside an entry is how a pattern goes
# quadratic: each start re-reads the same run. Entries bound every repeat.
_UNBOUNDED = re.compile(r"(?<!\\)(?:\\\\)*[+*]|\{\d*,\}")


def _entries() -> list[str]:
    lexicon = [
        p for groups in signals.LEXICON.values() for ps in groups.values() for p in ps
    ]
    needs = [p for ps in signals.NEED_LEXICON.values() for p in ps]
    return [*lexicon, *needs, *signals.IDIOMS]


def test_every_lexicon_entry_has_bounded_repeats() -> None:
    unbounded = [p for p in _entries() if _UNBOUNDED.search(p.replace("\\+", ""))]
    assert unbounded == []


def test_entries_that_can_start_anywhere_are_guarded() -> None:
    """An entry without a literal start is tried at every position: it must
    fail at once inside a run (a lookbehind) so a run is read once."""
    unanchored = [entry.pattern for entry, _ in signals._ALL_LEXICON.unanchored]
    assert all(p.startswith("(?<!") for p in unanchored), unanchored


def test_no_private_re_internals() -> None:
    for path in TRIAGE_DIR.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "_parser" not in source.replace("_parse_", ""), path
        assert "sre_" not in source and "re._" not in source, path


def test_long_text_is_analysed_once_per_assessment(
    triage_model: TriageModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = signals._scan

    def counting(text: str) -> tuple[signals.Match, ...]:
        calls.append(len(text))
        return original(text)

    monkeypatch.setattr(signals, "_scan", counting)
    signals.clear_caches()
    text = _ordinary(7)
    triage.assess(text)
    assert calls.count(len(text)) <= 1


def test_text_beyond_the_cap_is_read_at_head_and_tail(
    triage_model: TriageModel,
) -> None:
    """A paste far over the message limit costs no more than the cap."""
    calm = "今天天气不错，小区里很安静，我在家看书。\n" * 5000
    text = calm + "我已经吃了一整瓶安眠药，永别了"
    capped = _cold_seconds(lambda: triage.assess(text), 2)
    assert triage.assess(text).level == "crisis"
    assert capped <= RATIO * _baseline() * (signals.MAX_ANALYSED / LENGTH)
