"""Rule policy: the lowest level a message's signals allow, and its needs.

Reads the signals found by `triage.signals` (kind, name, status); the
lexicon itself lives in `triage/data/lexicon/`. Crisis, high and moderate
floors, what counts as evidence, and which needs a message names.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Protocol


class _Hit(Protocol):
    """What the rules read of a signal or a match."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


# Signal kinds that make a message urgent; used for rule floors and the cap.
RISK_KINDS = (
    "intent",
    "self_harm",
    "plan",
    "means",
    "time",
    "farewell",
    "act",
    "violence",
    "medical_emergency",
    "panic",
    "abuse",
    "medication_stopped",
    "hopelessness",
)

# Kinds whose suppressed presence lets the model's crisis call be capped.
_STRONG_KINDS = frozenset(
    {"intent", "self_harm", "plan", "act", "violence", "farewell", "idiom"}
)


def active_kinds(matches: Iterable[_Hit]) -> set[str]:
    """Kinds with at least one active (not negated, idiomatic, past or reported) hit."""
    return {m.kind for m in matches if m.status == "active"}


def _evidence(matches: Sequence[_Hit]) -> set[str]:
    """Active kinds, not counting a hit that lies inside a suicidal-wish hit.

    "想去天台" is one piece of evidence (a wish), not a wish plus a means.
    Linear in the number of hits (a 100,000-character paste can have 20,000).
    """
    active = [m for m in matches if m.status == "active"]
    wishes = sorted((m.start, m.end) for m in active if m.kind in _WISH_KINDS)
    starts = [start for start, _ in wishes]
    reach: list[int] = []  # furthest end among the wishes up to this one
    for _, end in wishes:
        reach.append(max(end, reach[-1]) if reach else end)
    kinds = set()
    for match in active:
        if match.kind not in _WISH_KINDS and wishes:
            index = bisect_right(starts, match.start) - 1
            if index >= 0 and reach[index] >= match.end:
                continue
        kinds.add(match.kind)
    return kinds


_WISH_KINDS = frozenset({"intent", "self_harm"})


def rule_floor(matches: Sequence[_Hit]) -> tuple[str | None, list[str]]:
    """Lowest level the rules allow, with the reasons (explicit plan → crisis).

    Crisis: an act under way; a suicidal wish with a plan, time or farewell,
    or with means unless the wish is described as recurring ("每天都想去天台"
    is ideation: high); a plan with means; a farewell; violence to others; a
    medical emergency. High: a suicidal wish, self-harm, panic attack, abuse,
    or a psychiatric patient whose medication stopped. Moderate: a word of
    hopelessness ("我很绝望" is too short for the model to raise on its own).
    """
    kinds = _evidence(matches)
    habitual = "habitual" in kinds
    crisis: list[str] = []
    high: list[str] = []
    if "act" in kinds:
        (high if habitual else crisis).append("act under way")
    if "intent" in kinds:
        urgent = kinds & {"plan", "time", "farewell"}
        if urgent:
            crisis.append(f"suicidal wish with {'+'.join(sorted(urgent))}")
        elif "means" in kinds:
            (high if habitual else crisis).append("suicidal wish with means")
    if {"plan", "means"} <= kinds:
        crisis.append("plan with means")
    names = {m.name for m in matches if m.status == "active"}
    if "plan.withdrawal" in names and (
        "means" in kinds or names & {"plan", "plan.date_set"}
    ):
        crisis.append("plan or means with a wish to be left alone")
    if "plan.date_set" in names and kinds & {"intent", "means", "farewell"}:
        crisis.append("a date set")
    if "farewell" in kinds:
        crisis.append("farewell")
    if "violence" in kinds:
        crisis.append("violence to others")
    if "medical_emergency" in kinds:
        crisis.append("medical emergency")
    if crisis:
        return "crisis", crisis
    for kind in ("intent", "self_harm", "abuse"):
        if kind in kinds:
            high.append(kind.replace("_", " "))
    if any(m.name == "panic.attack" and m.status == "active" for m in matches):
        high.append("panic attack")
    psychiatric_stop = any(
        m.name == "medication_stopped.psychiatric_drug" and m.status == "active"
        for m in matches
    )
    if psychiatric_stop or {"medication_stopped", "psychiatric"} <= kinds:
        high.append("psychiatric medication stopped")
    if high:
        return "high", list(dict.fromkeys(high))
    if "hopelessness" in kinds:
        return "moderate", ["hopelessness"]
    return None, []


def is_suppressed_only(matches: Sequence[_Hit]) -> bool:
    """True when risk words appear only negated, as idioms or in the past tense."""
    suppressed = any(m.status != "active" and m.kind in _STRONG_KINDS for m in matches)
    if not suppressed:
        return False
    return not any(m.status == "active" and m.kind in RISK_KINDS for m in matches)


_MEDICAL_ACTS = frozenset({"act.overdose", "act.bleeding"})


def emergency_needs(matches: Iterable[_Hit]) -> set[str]:
    """`medical` for an injury, bleeding, overdose or poisoning under way, or
    any medical emergency: always given, whatever the needs models say."""
    if any(
        m.status == "active"
        and (m.kind == "medical_emergency" or m.name in _MEDICAL_ACTS)
        for m in matches
    ):
        return {"medical"}
    return set()


def rule_needs(matches: Iterable[_Hit]) -> set[str]:
    """Needs tags named by active need entries."""
    needs = {
        m.name.removeprefix("need.")
        for m in matches
        if m.kind == "need" and m.status == "active"
    }
    needs |= emergency_needs(matches)
    # Running out of regular medication is a medicine need even when it is
    # phrased as a stop ("断药"), which the risk lexicon records separately.
    if any(m.kind == "medication_stopped" and m.status == "active" for m in matches):
        needs.add("medicine")
    return needs
