"""Decision policy: how probabilities and rule evidence become a level.

Level ranks and score bands, calibration of the model's cumulative
probabilities, and which signals count as evidence for an urgent call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit

from triage.rules import RISK_KINDS

RANK = {"low": 0, "moderate": 1, "high": 2, "crisis": 3}
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
