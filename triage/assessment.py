"""Assessments: level, score, signals with spans, needs, model version."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from triage.context import (
    ContextMessage,
    coerce_context,
    context_finding,
)
from triage.levels import RANK
from triage.model import Decision
from triage.normalize import Normalized, detect_language, normalize_with_offsets
from triage.policy import BANDS
from triage.signals import (
    CONTEXT_KINDS,
    Signal,
    detect,
    rule_floor,
    rule_needs,
)
from triage.store import TriageModel, get_default_model

LANGUAGES = ("zh", "en", "mixed")
# Beyond this many, signals are summarised: a 100,000-character paste must not
# produce a megabyte of JSON. Risk kinds are kept first.
MAX_SIGNALS = 64
RULES_ONLY_VERSION = "rules-only"
_SHOWN_STATUSES = frozenset({"active", "past", "reported"})
_SUPPRESSED_STATUSES = frozenset({"negated", "idiom"})
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate(
        (
            "act",
            "intent",
            "plan",
            "means",
            "time",
            "farewell",
            "violence",
            "medical_emergency",
            "self_harm",
            "abuse",
            "panic",
            "medication_stopped",
            "hopelessness",
            "third_party",
        )
    )
}


@dataclass(frozen=True, slots=True)
class Assessment:
    """Triage of one message (DESIGN §3: level, score, signals, needs, model)."""

    level: str
    score: float
    signals: tuple[Signal, ...]
    needs: tuple[str, ...]
    model: str
    lang: str = "zh"
    # Explanation detail, not part of the JSON contract.
    probabilities: dict[str, float] = field(default_factory=dict)
    model_level: str = ""
    reasons: tuple[str, ...] = ()
    capped: bool = False
    unfamiliar: bool = False
    known_share: float = 1.0
    suppressed: tuple[Signal, ...] = ()
    signals_omitted: int = 0
    # The model leaned higher than the evidence allowed, or could not read
    # the text: the console shows "needs a human look" (the level is not
    # raised for it).
    uncertain: bool = False
    # Positions in the `context` list of the earlier messages that raised
    # the level (empty when the message alone decided it).
    context_used: tuple[int, ...] = ()

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """The DESIGN §3 JSON shape: {"level", "score", "signals", "needs", "model"}.

        With `detail`, also "uncertain", "context_used" and "reasons".
        """
        data: dict[str, Any] = {
            "level": self.level,
            "score": self.score,
            "signals": [signal.to_dict() for signal in self.signals],
            "needs": list(self.needs),
            "model": self.model,
        }
        if detail:
            data["uncertain"] = self.uncertain
            data["context_used"] = list(self.context_used)
            data["reasons"] = list(self.reasons)
        return data


@dataclass(frozen=True, slots=True)
class ConversationAssessment:
    """Triage of a conversation: it keeps its highest risk, whatever came last."""

    level: str
    score: float
    signals: tuple[tuple[int, Signal], ...]
    needs: tuple[str, ...]
    model: str
    peak_message: int
    messages: tuple[Assessment, ...]
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of an assessment plus the index of the most urgent message."""
        return {
            "level": self.level,
            "score": self.score,
            "signals": [
                {**signal.to_dict(), "message": index} for index, signal in self.signals
            ],
            "needs": list(self.needs),
            "model": self.model,
            "peak_message": self.peak_message,
        }


def _check_text(text: object, position: int | None = None) -> str:
    if not isinstance(text, str):
        where = "" if position is None else f" at position {position}"
        raise TypeError(f"text{where} must be str, not {type(text).__name__}")
    return text


def _check_lang(lang: object) -> None:
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)} or None")


def _split_signals(
    signals: Iterable[Signal],
) -> tuple[tuple[Signal, ...], tuple[Signal, ...], int]:
    shown = [
        s
        for s in signals
        if s.kind not in CONTEXT_KINDS and s.status in _SHOWN_STATUSES
    ]
    suppressed = [s for s in signals if s.status in _SUPPRESSED_STATUSES]
    omitted = 0
    if len(shown) > MAX_SIGNALS:
        omitted = len(shown) - MAX_SIGNALS
        ranked = sorted(shown, key=lambda s: (_PRIORITY.get(s.kind, 99), s.start))
        shown = sorted(ranked[:MAX_SIGNALS], key=lambda s: (s.start, s.end))
    return tuple(shown), tuple(suppressed[:MAX_SIGNALS]), omitted


def _assessment(
    normalized: Normalized, decision: Decision, version: str, lang: str | None
) -> Assessment:
    shown, suppressed, omitted = _split_signals(detect(normalized))
    return Assessment(
        level=decision.level,
        score=decision.score,
        signals=shown,
        needs=decision.needs,
        model=version,
        lang=lang or detect_language(normalized.original),
        probabilities=decision.probabilities,
        model_level=decision.model_level,
        reasons=decision.reasons,
        capped=decision.capped,
        unfamiliar=decision.unfamiliar,
        known_share=decision.known_share,
        suppressed=suppressed,
        signals_omitted=omitted,
        uncertain=decision.uncertain,
    )


def _with_context(
    assessment: Assessment, text: str, context: Sequence[ContextMessage]
) -> Assessment:
    """Raise the level where the conversation shows what the message alone hides."""
    finding = context_finding(text, context)
    if finding.floor is None or RANK[finding.floor] <= RANK[assessment.level]:
        return assessment
    return replace(
        assessment,
        level=finding.floor,
        score=BANDS[finding.floor][0] + 0.0625,
        reasons=(*assessment.reasons, *finding.reasons),
        context_used=finding.used,
        uncertain=False,
    )


def assess(
    text: str,
    lang: str | None = None,
    *,
    model: TriageModel | None = None,
    context: Sequence[ContextMessage | Mapping[str, str] | str] | None = None,
) -> Assessment:
    """Assess one message with the default (or given) model.

    Any string gives a valid assessment: empty, emoji-only, control characters
    and very long texts included (long texts are scored in overlapping
    windows over the whole text and the most urgent window decides).
    `lang` ("zh", "en", "mixed") is a hint recorded on the result; the model
    and lexicons read every language regardless, so mixed text needs no hint.
    `context` is the conversation before this message, oldest first: the
    resident's recent messages and the counsellor's last question, each a
    `ContextMessage(text, sender)` or `{"text": ..., "sender":
    "resident"|"counselor"}`. It can only raise the level (a yes to "have
    you thought about how?", a plan over two messages); `context_used` says
    which earlier messages did.
    """
    _check_text(text)
    _check_lang(lang)
    messages = coerce_context(context)
    triage_model = model or get_default_model()
    normalized = normalize_with_offsets(text)
    decision = triage_model.estimator.decide_normalized([normalized.text])[0]
    result = _assessment(normalized, decision, triage_model.version, lang)
    if messages and _has_text(normalized.text):
        result = _with_context(result, text, messages)
    return result


def _has_text(normalized: str) -> bool:
    return any(char.isalnum() for char in normalized)


def assess_many(
    texts: Sequence[str],
    lang: str | None = None,
    *,
    model: TriageModel | None = None,
) -> list[Assessment]:
    """Assess a batch of messages (one model call: much faster than a loop)."""
    if isinstance(texts, str):
        raise TypeError("assess_many takes a sequence of strings, not one string")
    items = [_check_text(text, position) for position, text in enumerate(texts)]
    _check_lang(lang)
    if not items:
        return []
    triage_model = model or get_default_model()
    normalized = [normalize_with_offsets(text) for text in items]
    decisions = triage_model.estimator.decide_normalized([n.text for n in normalized])
    return [
        _assessment(n, d, triage_model.version, lang)
        for n, d in zip(normalized, decisions, strict=True)
    ]


def assess_conversation(
    messages: Sequence[str],
    *,
    context: int = 3,
    model: TriageModel | None = None,
) -> ConversationAssessment:
    """Conversation-level risk: the highest of every message and message run.

    Each message is assessed alone, and every run of up to `context`
    consecutive messages is assessed joined, so that a plan spread over
    several short messages ("药都攒好了" … "今晚") is still seen. The level
    never drops because the latest message is calm.
    """
    if isinstance(messages, str):
        raise TypeError("assess_conversation takes a sequence of messages")
    items = [_check_text(text, position) for position, text in enumerate(messages)]
    if context < 1:
        raise ValueError("context must be at least 1")
    triage_model = model or get_default_model()
    if not items:
        empty = assess("", model=triage_model)
        return ConversationAssessment(
            level=empty.level,
            score=empty.score,
            signals=(),
            needs=(),
            model=triage_model.version,
            peak_message=-1,
            messages=(),
        )
    singles = assess_many(items, model=triage_model)
    runs = [
        (start, "\n".join(items[start : start + size]))
        for size in range(2, min(context, len(items)) + 1)
        for start in range(len(items) - size + 1)
    ]
    joined = assess_many([text for _, text in runs], model=triage_model) if runs else []
    # A run's urgency is attributed to its last message: that is when it
    # became visible to the counsellor.
    candidates = list(zip(singles, range(len(singles)), strict=True))
    candidates += [
        (a, start + text.count("\n"))
        for (start, text), a in zip(runs, joined, strict=True)
    ]
    # The peak is the first message at which the highest level was reached.
    best, peak = max(candidates, key=lambda c: (RANK[c[0].level], -c[1], c[0].score))
    signals = tuple(
        (index, signal) for index, a in enumerate(singles) for signal in a.signals
    )
    needs = tuple(
        need
        for need in ("supplies", "medicine", "medical", "care")
        if any(need in a.needs for a in singles)
    )
    return ConversationAssessment(
        level=best.level,
        score=best.score,
        signals=signals,
        needs=needs,
        model=triage_model.version,
        peak_message=peak,
        messages=tuple(singles),
        reasons=best.reasons,
    )


def assess_rules(text: str, lang: str | None = None) -> Assessment:
    """Rules-only assessment, for an explicit degraded mode and as a baseline.

    Never used silently: `assess` raises when no model artefact exists. A
    caller may choose this while the model is being rebuilt; the result says
    so in its `model` field ("rules-only"). Without a rule floor the level is
    moderate when distress words appear, else low.
    """
    _check_text(text)
    _check_lang(lang)
    normalized = normalize_with_offsets(text)
    signals = detect(normalized)
    floor, reasons = rule_floor(signals)
    if floor is None:
        # Hopelessness has a floor of its own (moderate).
        distressed = any(s.kind == "distress" and s.status == "active" for s in signals)
        level = "moderate" if distressed else "low"
    else:
        level = floor
    shown, suppressed, omitted = _split_signals(signals)
    return Assessment(
        level=level,
        # No probabilities: the middle of the lower half of the level's band.
        score=BANDS[level][0] + 0.0625,
        signals=shown,
        needs=tuple(
            n
            for n in ("supplies", "medicine", "medical", "care")
            if n in rule_needs(signals)
        ),
        model=RULES_ONLY_VERSION,
        lang=lang or detect_language(text),
        model_level="",
        reasons=tuple(reasons),
        suppressed=suppressed,
        signals_omitted=omitted,
    )


def explain(
    text: str, *, model: TriageModel | None = None, top: int = 8
) -> dict[str, Any]:
    """Why a message got its level: probabilities, thresholds, rules, n-grams."""
    triage_model = model or get_default_model()
    assessment = assess(text, model=triage_model)
    estimator = triage_model.estimator
    normalized = normalize_with_offsets(text).text
    contributions = _top_ngrams(triage_model, normalized, top)
    return {
        **assessment.to_dict(),
        "probabilities": {k: round(v, 4) for k, v in assessment.probabilities.items()},
        "model_level": assessment.model_level,
        "thresholds": {
            "crisis": estimator.crisis_threshold,
            "urgent": estimator.urgent_threshold,
            "moderate": estimator.moderate_threshold,
        },
        "rules": list(assessment.reasons),
        "raised_by_rules": RANK[assessment.level] > RANK[assessment.model_level],
        "capped": assessment.capped,
        "unfamiliar": assessment.unfamiliar,
        "uncertain": assessment.uncertain,
        "known_share": round(assessment.known_share, 3),
        "suppressed": [s.to_dict() for s in assessment.suppressed],
        "top_features": contributions,
    }


def _top_ngrams(
    triage_model: TriageModel, normalized: str, top: int
) -> list[dict[str, Any]]:
    """Features that pushed P(urgent) up or down most, for the first window."""
    estimator = triage_model.estimator
    pipeline = estimator.pipeline_
    features = pipeline.named_steps["features"]
    window = normalized[: estimator.window]
    row = features.transform([window]).tocsr()
    urgent_model = pipeline.named_steps["classifier"].cumulative_[1]
    if urgent_model is None or row.nnz == 0:
        return []
    names = features.get_feature_names_out()
    weights = urgent_model.coef_[0][row.indices] * row.data
    order = np.argsort(-np.abs(weights))[:top]
    return [
        {
            "feature": str(names[row.indices[i]]).split("__", 1)[-1],
            "weight": round(float(weights[i]), 4),
        }
        for i in order
    ]
