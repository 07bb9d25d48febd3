"""Decision policy: how probabilities and rule evidence become a level.

Level ranks and score bands, calibration of the model's cumulative
probabilities, which signals count as evidence for an urgent call, and
the thresholds, second opinion, floors and caps that decide one window's
level (`Policy.level_of`). The estimator only computes the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.special import expit

from triage.levels import RANK
from triage.rules import RISK_KINDS

# Score bands keep score order and level order in agreement (queue sorting).
BANDS = {
    "low": (0.0, 0.25),
    "moderate": (0.25, 0.5),
    "high": (0.5, 0.75),
    "crisis": (0.75, 1.0),
}


# Signal kinds that back a model's urgent call: the risk words themselves
# (hopelessness included), not a time word alone. Mentions of a relative
# ("我妈"), a time ("最近", "今晚"), a routine ("每天") or a diagnosis are
# the everyday stuff of counselling talk: as support they let the model
# alone flag a third of ordinary real messages (docs/triage-model-card.md,
# "Confidence without evidence").
SUPPORT_KINDS = frozenset(RISK_KINDS) - {"time"}


# Fixed floors under the tuned unsupported thresholds (issue 18): with no
# risk signal in the window the model alone calls crisis only at calibrated
# P(crisis) >= 0.45 and high only at P(urgent) >= 0.3, and its second opinion
# (when tuning chose one) must reach 0.4. Applied only once the unsupported rule is on
# (`unsupported_crisis_threshold` set), so the ordinary thresholds are tuned
# without them. Affordable because the risk concepts the model alone used to
# carry in the authored corpus (burdensomeness, a ligature tied, a lethal
# dose at hand, an electric shock...) are now lexicon entries; measured in
# docs/triage-model-card.md, "Confidence without evidence".
MODEL_ONLY_CRISIS_FLOOR = 0.45
MODEL_ONLY_URGENT_FLOOR = 0.3
SECOND_OPINION_FLOOR = 0.4


def is_supported(matches: Sequence[Any]) -> bool:
    """Whether any active signal backs an urgent call (see SUPPORT_KINDS)."""
    return any(m.status == "active" and m.kind in SUPPORT_KINDS for m in matches)


# Weaker signals: someone else named, a time, a routine, a diagnosis, a
# physical symptom. They do not back the model's urgent call, but a sentence
# of a long message that has one is judged like a short message without
# risk words (a neighbour collapsing, a student's message) instead of being
# held below high.
CONTEXT_SUPPORT_KINDS = frozenset(
    {"time", "third_party", "psychiatric", "medical_symptom", "habitual"}
)


def is_context_supported(matches: Sequence[Any]) -> bool:
    """Whether a weaker signal is active (see CONTEXT_SUPPORT_KINDS)."""
    return any(
        m.status == "active" and m.kind in CONTEXT_SUPPORT_KINDS for m in matches
    )


def calibrate(
    cumulative: np.ndarray, calibration: Sequence[Sequence[float]] | None
) -> np.ndarray:
    """Platt-scale P(≥ crisis), P(≥ high), P(≥ moderate); keep them monotone.

    `calibration` holds (slope, intercept) per column, fitted on held-out
    (out-of-fold) scores by train.fit_calibration.
    """
    if not calibration:
        return cumulative
    clipped = np.clip(cumulative, 1e-6, 1 - 1e-6)
    logits = np.log(clipped / (1 - clipped))
    result = np.column_stack(
        [
            expit(slope * logits[:, column] + intercept)
            for column, (slope, intercept) in enumerate(calibration)
        ]
    )
    result[:, 1] = np.maximum(result[:, 1], result[:, 0])
    result[:, 2] = np.maximum(result[:, 2], result[:, 1])
    return result


def banded_score(level: str, position: tuple[float, float]) -> float:
    """Map a probability within its level's threshold range onto the level's band."""
    value, threshold = position
    low, high = BANDS[level]
    if level == "low":
        fraction = value / threshold if threshold > 0 else 0.0
    else:
        fraction = (value - threshold) / (1.0 - threshold) if threshold < 1 else 0.0
    fraction = min(max(fraction, 0.0), 1.0)
    if level != "crisis":
        # Stay strictly inside the band so a lower level never ties a higher one.
        fraction = min(fraction, 0.999)
    return round(float(low + (high - low) * fraction), 4)


@dataclass(frozen=True, slots=True)
class Window:
    """A span of a text as the policy sees it: probabilities and evidence."""

    start: int
    end: int
    probabilities: np.ndarray  # in LEVELS order
    floor: str | None
    reasons: tuple[str, ...]
    suppressed_only: bool
    known_share: float = 1.0
    # Whether a risk signal is active in the window (see SUPPORT_KINDS).
    supported: bool = True
    # A sentence span of a longer message (see model.TriageClassifier._windows_of).
    part: bool = False
    # P(urgent) from the second-opinion head, trained on messages without
    # risk signals only (see model.TriageClassifier._fit_second_opinion).
    second_opinion: float = 1.0
    # Whether a weaker signal is active (someone else named, a time, a
    # routine, a diagnosis, a symptom: CONTEXT_SUPPORT_KINDS).
    context_supported: bool = False
    # A bare answer ("嗯，想过", "yes"): its risk is the question's, which
    # the context rules read (triage.context); alone the model may not
    # call it urgent.
    bare_answer: bool = False


class Outcome(NamedTuple):
    """What the policy made of one window."""

    level: str
    model_level: str
    score: float
    capped: bool
    unfamiliar: bool
    # The level the model alone would have called at the ordinary
    # thresholds: above `level`, the assessment is uncertain.
    leaning: str


@dataclass(frozen=True, slots=True)
class Policy:
    """Thresholds and caps that turn a window's numbers and evidence into a level.

    Crisis when P(crisis) ≥ crisis_threshold, else high when P(crisis) +
    P(high) ≥ urgent_threshold, else moderate when P(not low) ≥
    moderate_threshold, else low; rule floors then raise the level, and the
    suppressed-words and unfamiliar-text caps hold it down.
    """

    crisis_threshold: float
    urgent_threshold: float
    moderate_threshold: float
    unsupported_crisis_threshold: float | None = None
    unsupported_urgent_threshold: float | None = None
    second_opinion_threshold: float | None = None
    suppressed_cap: str | None = "moderate"
    min_known_share: float | None = None
    unfamiliar_cap: str | None = "moderate"

    def level_of(self, window: Window) -> Outcome:
        """Level, model level, score, caps and leaning for one window.

        Without any risk signal in the window the model alone needs the
        stricter unsupported thresholds to call high or crisis. `leaning` is
        the level the model alone would have called at the ordinary
        thresholds: above the level given, the assessment is uncertain (a
        person should look) rather than raised.
        """
        p_crisis, p_high, p_moderate, _ = window.probabilities
        p_urgent = p_crisis + p_high
        p_concern = p_urgent + p_moderate
        crisis_threshold = base_crisis = self.crisis_threshold
        urgent_threshold = base_urgent = self.urgent_threshold
        moderate_threshold = self.moderate_threshold
        if not window.supported and window.part and not window.context_supported:
            # A sentence of a long message, no signal in it: the model alone
            # cannot make the message urgent (a long reflective message is
            # not high because it is long); if it leans that way, a person
            # should look. A sentence naming someone else, a time or a
            # symptom is judged like a short message without risk words.
            crisis_threshold = urgent_threshold = float("inf")
        elif not window.supported:
            crisis_threshold = max(
                crisis_threshold, self.unsupported_crisis_threshold or 0.0
            )
            urgent_threshold = max(
                urgent_threshold, self.unsupported_urgent_threshold or 0.0
            )
            second = self.second_opinion_threshold
            if self.unsupported_crisis_threshold is not None:
                crisis_threshold = max(crisis_threshold, MODEL_ONLY_CRISIS_FLOOR)
                urgent_threshold = max(urgent_threshold, MODEL_ONLY_URGENT_FLOOR)
                if second is not None:
                    second = max(second, SECOND_OPINION_FLOOR)
            if window.bare_answer or (
                second is not None and window.second_opinion < second
            ):
                # No signal and the second opinion disagrees: the model
                # alone may not call high (crisis keeps its own threshold:
                # a crisis is never traded for fewer alarms).
                urgent_threshold = float("inf")
        if p_crisis >= crisis_threshold:
            model_level = "crisis"
        elif p_urgent >= urgent_threshold:
            model_level = "high"
        elif p_concern >= moderate_threshold:
            model_level = "moderate"
        else:
            model_level = "low"
        leaning = (
            "crisis"
            if p_crisis >= base_crisis
            else "high"
            if p_urgent >= base_urgent
            else model_level
        )
        level = model_level
        if window.floor is not None and RANK[window.floor] > RANK[level]:
            level = window.floor
        capped = False
        cap = self.suppressed_cap
        if (
            cap is not None
            and window.suppressed_only
            and window.floor is None
            and RANK[level] > RANK[cap]
        ):
            level, capped = cap, True
        # Unfamiliar-text guard: with no rule evidence of urgency, the model
        # alone may not escalate a text it mostly cannot read (markup, links, digits,
        # gibberish): its probabilities there say little.
        unfamiliar = False
        guard = self.unfamiliar_cap
        minimum = self.min_known_share
        if (
            guard is not None
            and minimum is not None
            and window.floor in (None, "moderate")
            and window.known_share < minimum
            and RANK[level] > RANK[guard]
        ):
            level, unfamiliar = guard, True
        if unfamiliar:
            leaning = max(leaning, model_level, key=RANK.__getitem__)
        score = banded_score(
            level,
            {
                "crisis": (p_crisis, crisis_threshold),
                "high": (p_urgent, urgent_threshold),
                "moderate": (p_concern, moderate_threshold),
                "low": (p_concern, moderate_threshold),
            }[level],
        )
        return Outcome(level, model_level, score, capped, unfamiliar, leaning)
