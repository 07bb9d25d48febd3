"""Metrics for triage: per-level P/R/F1, crisis recall with CI, false alarms."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from triage.corpus import LEVELS, NEEDS, Example

URGENT = frozenset({"crisis", "high"})
# DESIGN §4 targets on the held-out test split.
TARGETS: dict[str, tuple[str, float]] = {
    "crisis_recall": (">=", 0.95),
    "urgent_recall": (">=", 0.97),
    "low_flagged_crisis": ("<=", 0.03),
    "low_flagged_urgent": ("<=", 0.08),
    "macro_f1": (">=", 0.80),
}
SHARED_DATA_ENV = "HOTLINE_SHARED_DATA"


def shared_data_dir() -> Path:
    """Evaluation data folder: $HOTLINE_SHARED_DATA or <repo>/../shared/data."""
    override = os.environ.get(SHARED_DATA_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def sos4k_path(split: str = "val") -> Path | None:
    """Path of an SOS-4K split if the shared data is present, else None."""
    path = shared_data_dir() / "sos4k" / f"{split}.tsv"
    return path if path.exists() else None


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if total == 0:
        return 0.0, 1.0
    proportion = successes / total
    denominator = 1 + z * z / total
    centre = (proportion + z * z / (2 * total)) / denominator
    half = z * math.sqrt(proportion * (1 - proportion) / total + z * z / (4 * total**2))
    half /= denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(hits: int, total: int) -> dict[str, Any]:
    low, high = wilson_interval(hits, total)
    return {
        "value": hits / total if total else 0.0,
        "count": hits,
        "total": total,
        "ci95": [round(low, 4), round(high, 4)],
    }


def _prf(true_positive: int, predicted: int, actual: int) -> dict[str, float]:
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def level_metrics(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, Any]:
    """All level metrics as a JSON-ready dict."""
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred have different lengths")
    pairs = list(zip(y_true, y_pred, strict=True))
    matrix = [
        [sum(1 for t, p in pairs if t == a and p == b) for b in LEVELS] for a in LEVELS
    ]
    per_level = {}
    for index, level in enumerate(LEVELS):
        true_positive = matrix[index][index]
        predicted = sum(row[index] for row in matrix)
        per_level[level] = _prf(true_positive, predicted, sum(matrix[index]))
    present = [level for level in LEVELS if per_level[level]["support"]]
    macro_f1 = (
        sum(per_level[level]["f1"] for level in present) / len(present)
        if present
        else 0.0
    )
    crisis = [p for t, p in pairs if t == "crisis"]
    urgent = [p for t, p in pairs if t in URGENT]
    low = [p for t, p in pairs if t == "low"]
    calm = [p for t, p in pairs if t not in URGENT]
    return {
        "n": len(pairs),
        "accuracy": sum(t == p for t, p in pairs) / len(pairs) if pairs else 0.0,
        "macro_f1": macro_f1,
        "per_level": per_level,
        "crisis_recall": _rate(sum(p == "crisis" for p in crisis), len(crisis)),
        "urgent_recall": _rate(sum(p in URGENT for p in urgent), len(urgent)),
        "low_flagged_crisis": _rate(sum(p == "crisis" for p in low), len(low)),
        "low_flagged_urgent": _rate(sum(p in URGENT for p in low), len(low)),
        # Moderate and low together: ordinary talk and distress, on real text.
        "nonurgent_flagged_urgent": _rate(sum(p in URGENT for p in calm), len(calm)),
        "nonurgent_flagged_crisis": _rate(sum(p == "crisis" for p in calm), len(calm)),
        "confusion_matrix": {
            "labels": list(LEVELS),
            "rows_true_columns_predicted": matrix,
        },
    }


def crisis_binary_metrics(
    y_true: Sequence[str], y_pred: Sequence[str]
) -> dict[str, Any]:
    """Crisis versus everything else (SOS-4K: crisis = SOS level ≥ 6)."""
    pairs = list(zip(y_true, y_pred, strict=True))
    true_positive = sum(t == "crisis" and p == "crisis" for t, p in pairs)
    predicted = sum(p == "crisis" for _, p in pairs)
    actual = sum(t == "crisis" for t, _ in pairs)
    result: dict[str, Any] = _prf(true_positive, predicted, actual)
    result["recall_ci95"] = [
        round(v, 4) for v in wilson_interval(true_positive, actual)
    ]
    return result


def needs_metrics(
    true_needs: Sequence[Sequence[str]], predicted_needs: Sequence[Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Per-need precision, recall, F1 and support."""
    result = {}
    for need in NEEDS:
        true_positive = sum(
            need in t and need in p
            for t, p in zip(true_needs, predicted_needs, strict=True)
        )
        predicted = sum(need in p for p in predicted_needs)
        actual = sum(need in t for t in true_needs)
        result[need] = _prf(true_positive, predicted, actual)
    return result


def target_failures(metrics: dict[str, Any]) -> list[str]:
    """Human-readable list of DESIGN §4 targets the metrics miss."""
    failures = []
    for key, (direction, bound) in TARGETS.items():
        value = (
            metrics[key]["value"] if isinstance(metrics[key], dict) else metrics[key]
        )
        ok = value >= bound if direction == ">=" else value <= bound
        if not ok:
            failures.append(f"{key} = {value:.3f} (target {direction} {bound})")
    return failures


def evaluate_examples(
    model: Any, examples: Sequence[Example], *, with_needs: bool = True
) -> dict[str, Any]:
    """Score labelled examples with a TriageModel/TriageClassifier; all metrics."""
    estimator = getattr(model, "estimator", model)
    decisions = estimator.decide([e.text for e in examples])
    y_true = [e.level for e in examples]
    y_pred = [d.level for d in decisions]
    metrics = level_metrics(y_true, y_pred)
    metrics["crisis_binary"] = crisis_binary_metrics(y_true, y_pred)
    metrics["model_only"] = {
        "crisis_recall": level_metrics(y_true, [d.model_level for d in decisions])[
            "crisis_recall"
        ]["value"],
        "rule_raised": sum(
            d.floor is not None and d.level != d.model_level for d in decisions
        ),
        "capped": sum(d.capped for d in decisions),
    }
    if with_needs:
        metrics["needs"] = needs_metrics(
            [e.needs for e in examples], [d.needs for d in decisions]
        )
    metrics["targets_missed"] = target_failures(metrics)
    return metrics


def format_report(metrics: dict[str, Any]) -> str:
    """Plain-text summary of level metrics for the terminal."""
    lines = [
        f"n = {metrics['n']}   accuracy {metrics['accuracy']:.3f}   "
        f"macro F1 {metrics['macro_f1']:.3f}",
        "",
        f"{'level':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for level in LEVELS:
        row = metrics["per_level"][level]
        lines.append(
            f"{level:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>10.3f}{row['support']:>10}"
        )
    lines.append("")
    for key in (
        "crisis_recall",
        "urgent_recall",
        "low_flagged_crisis",
        "low_flagged_urgent",
        "nonurgent_flagged_urgent",
        "nonurgent_flagged_crisis",
    ):
        rate = metrics[key]
        lines.append(
            f"{key:<26}{rate['value']:.3f}  ({rate['count']}/{rate['total']}, "
            f"95% CI {rate['ci95'][0]:.3f}-{rate['ci95'][1]:.3f})"
        )
    binary = metrics.get("crisis_binary")
    if binary:
        lines.append(
            f"{'crisis vs rest':<26}P {binary['precision']:.3f}  "
            f"R {binary['recall']:.3f}  F1 {binary['f1']:.3f}"
        )
    lines.append("")
    lines.append("confusion (rows true, columns predicted): " + " ".join(LEVELS))
    matrix = metrics["confusion_matrix"]["rows_true_columns_predicted"]
    for level, row in zip(LEVELS, matrix, strict=True):
        lines.append(f"{level:<10}" + "".join(f"{v:>8}" for v in row))
    if "needs" in metrics:
        lines.append("")
        for need, row in metrics["needs"].items():
            lines.append(
                f"need {need:<10}P {row['precision']:.3f}  R {row['recall']:.3f}"
                f"  F1 {row['f1']:.3f}  (n={row['support']})"
            )
    missed = metrics.get("targets_missed")
    if missed:
        lines.append("")
        lines.append("targets missed: " + "; ".join(missed))
    return "\n".join(lines)
