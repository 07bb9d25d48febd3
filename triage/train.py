"""Training: fit, tune thresholds and needs by cross-validation, evaluate on test.

The authored train and dev splits are pooled and scored out of fold (K
models, each trained without one fold; near-duplicates share a fold). The
thresholds and the needs strategy are tuned on those ~2,900 out-of-fold
decisions instead of the ~490 of dev alone: with ~90 crisis messages in dev,
one message moved crisis recall by a point and the thresholds with it. The
shipped model is then fitted on the whole pool; the test split is only ever
used to report. Authored augmentation messages (`triage/data/augment/`) and
`--extra` files train every model but are never scored for tuning or testing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from triage.corpus import (
    CORPUS_DIR,
    NEEDS,
    Example,
    corpus_hash,
    cross_split_near_duplicates,
    cross_validation_folds,
    load_augmentation,
    load_corpus,
    near_duplicates_between,
    read_labelled,
    split_corpus,
)
from triage.evaluate import (
    crisis_binary_metrics,
    evaluate_examples,
    level_metrics,
    needs_metrics,
    target_failures,
)
from triage.model import (
    DEFAULT_NAME,
    NEED_STRATEGIES,
    RANK,
    TriageClassifier,
    artefact_paths,
    save_model,
)
from triage.normalize import normalize

logger = logging.getLogger(__name__)

# Hyper-parameters chosen on the dev split (see docs/triage-model-card.md).
DEFAULT_PARAMS: dict[str, Any] = {
    "C": 10.0,
    "class_weight": "balanced",
    "char_ngram_range": (1, 3),
    "word_ngram_range": (1, 2),
    "min_df": 2,
    "signal_features": "context",
    "signal_weight": 1.0,
    "blend_multinomial": True,
    # Length counts familiar text only; with no rule evidence, a text less
    # than 30% familiar is held at high (see the model card).
    "length_measure": "known",
    "min_known_share": 0.3,
    "unfamiliar_cap": "high",
}
# Thresholds are tuned on the out-of-fold decisions for the DESIGN §4 rates.
# Recall comes first (a missed crisis is the worst error); the false-alarm
# bounds only choose among thresholds that reach it. A recall margin (0.96 /
# 0.975) was tried: it bought one test crisis message for twice the false
# alarms on calm messages (model card).
TUNING_TARGETS = {
    "crisis_recall": 0.95,
    "urgent_recall": 0.97,
    "low_flagged_crisis": 0.03,
    "low_flagged_urgent": 0.08,
}
CV_FOLDS = 5
_GRID = np.round(np.arange(0.02, 0.981, 0.01), 2)


@dataclass
class TrainResult:
    """What a training run produced."""

    path: Path
    metadata: dict[str, Any]
    estimator: TriageClassifier = field(repr=False)


def _levels_for(
    estimator: TriageClassifier,
    windows: list[Any],
    thresholds: tuple[float, float, float],
) -> list[str]:
    levels = []
    for text_windows in windows:
        best = max(
            (estimator._level_of(w, *thresholds)[0] for w in text_windows),
            key=RANK.__getitem__,
        )
        levels.append(best)
    return levels


def _rates(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    metrics = level_metrics(y_true, y_pred)
    return {
        "crisis_recall": metrics["crisis_recall"]["value"],
        "urgent_recall": metrics["urgent_recall"]["value"],
        "low_flagged_crisis": metrics["low_flagged_crisis"]["value"],
        "low_flagged_urgent": metrics["low_flagged_urgent"]["value"],
        "macro_f1": metrics["macro_f1"],
    }


def _pick(
    candidates: list[tuple[float, dict[str, float]]],
    recall: str,
    alarm: str,
    targets: dict[str, float],
) -> float:
    """Highest threshold meeting the recall target within the false-alarm budget.

    Missing a crisis is the worst error, so when both cannot be met recall
    wins: the threshold with the best recall, then the fewest false alarms.
    """
    feasible = [
        t
        for t, r in candidates
        if r[recall] >= targets[recall] and r[alarm] <= targets[alarm]
    ]
    if feasible:
        return max(feasible)
    recall_met = [(r[alarm], -t) for t, r in candidates if r[recall] >= targets[recall]]
    if recall_met:
        return -min(recall_met)[1]
    return max(
        candidates, key=lambda item: (item[1][recall], -item[1][alarm], item[0])
    )[0]


def thresholds_from_windows(
    estimator: TriageClassifier,
    windows: list[Any],
    y_true: Sequence[str],
    targets: dict[str, float] | None = None,
) -> dict[str, float]:
    """Crisis, urgent and moderate thresholds from scored windows (rules included).

    Crisis first (the other two at neutral values), then urgent, then the
    moderate threshold with the best macro F1.
    """
    targets = targets or TUNING_TARGETS
    crisis_rates = [
        (float(t), _rates(y_true, _levels_for(estimator, windows, (t, 0.5, 0.5))))
        for t in _GRID
    ]
    crisis = _pick(crisis_rates, "crisis_recall", "low_flagged_crisis", targets)
    urgent_rates = [
        (float(t), _rates(y_true, _levels_for(estimator, windows, (crisis, t, 0.5))))
        for t in _GRID
    ]
    urgent = _pick(urgent_rates, "urgent_recall", "low_flagged_urgent", targets)
    moderate_rates = [
        (float(t), _rates(y_true, _levels_for(estimator, windows, (crisis, urgent, t))))
        for t in _GRID
    ]
    moderate = max(moderate_rates, key=lambda item: (item[1]["macro_f1"], item[0]))[0]
    return {
        "crisis_threshold": crisis,
        "urgent_threshold": urgent,
        "moderate_threshold": moderate,
    }


def tune_thresholds(
    estimator: TriageClassifier,
    examples: Sequence[Example],
    targets: dict[str, float] | None = None,
) -> dict[str, float]:
    """Thresholds from one fitted estimator's decisions on held-out examples."""
    windows, _ = estimator._score_windows([normalize(e.text) for e in examples])
    return thresholds_from_windows(
        estimator, windows, [e.level for e in examples], targets
    )


@dataclass
class OutOfFold:
    """Each authored example scored by the fold model that did not train on it."""

    examples: list[Example]
    folds: list[int]
    estimators: list[TriageClassifier]
    windows: list[Any]

    def indices(self, fold: int) -> list[int]:
        """Positions of the examples held out in `fold`."""
        return [i for i, f in enumerate(self.folds) if f == fold]

    def levels(self, thresholds: dict[str, float]) -> list[str]:
        """Out-of-fold levels at the given thresholds."""
        cut = (
            thresholds["crisis_threshold"],
            thresholds["urgent_threshold"],
            thresholds["moderate_threshold"],
        )
        return _levels_for(self.estimators[0], self.windows, cut)


def out_of_fold(
    params: dict[str, Any],
    examples: Sequence[Example],
    extra: Sequence[Example] = (),
    folds: int = CV_FOLDS,
    augmentation: Sequence[Example] = (),
) -> OutOfFold:
    """K-fold scores of the authored examples.

    Augmentation and extra data train every fold; only augmentation's needs
    labels are used (extra files may have none).
    """
    fold_of = cross_validation_folds(examples, folds)
    result = OutOfFold(list(examples), fold_of, [], [None] * len(examples))
    for fold in range(folds):
        held_out = result.indices(fold)
        kept = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
        kept.extend(augmentation)
        estimator = _fit(
            params, [*kept, *extra], [True] * len(kept) + [False] * len(extra)
        )
        windows, _ = estimator._score_windows(
            [normalize(examples[i].text) for i in held_out]
        )
        for index, text_windows in zip(held_out, windows, strict=True):
            result.windows[index] = text_windows
        result.estimators.append(estimator)
    return result


def choose_needs_strategy(oof: OutOfFold) -> dict[str, str]:
    """Per need, whichever of rules, model or their union has the best CV F1."""
    truth = [e.needs for e in oof.examples]
    scores: dict[str, dict[str, float]] = {need: {} for need in NEEDS}
    for how in NEED_STRATEGIES:
        predicted: list[tuple[str, ...]] = [()] * len(oof.examples)
        for fold, estimator in enumerate(oof.estimators):
            estimator.set_params(needs_strategy=dict.fromkeys(NEEDS, how))
            held_out = oof.indices(fold)
            decisions = estimator.decide([oof.examples[i].text for i in held_out])
            for index, decision in zip(held_out, decisions, strict=True):
                predicted[index] = decision.needs
        for need, row in needs_metrics(truth, predicted).items():
            scores[need][how] = row["f1"]
    # Ties go to the simpler, more explainable option (rules first).
    return {
        need: max(
            NEED_STRATEGIES,
            key=lambda how: (scores[need][how], -NEED_STRATEGIES.index(how)),
        )
        for need in NEEDS
    }


def cross_validation_metrics(
    oof: OutOfFold, thresholds: dict[str, float]
) -> dict[str, Any]:
    """Level metrics of the out-of-fold decisions at the chosen thresholds."""
    y_true = [e.level for e in oof.examples]
    y_pred = oof.levels(thresholds)
    metrics = level_metrics(y_true, y_pred)
    metrics["crisis_binary"] = crisis_binary_metrics(y_true, y_pred)
    metrics["folds"] = len(oof.estimators)
    metrics["targets_missed"] = target_failures(metrics)
    return metrics


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extra_artefact_name(paths: Sequence[Path]) -> str:
    """Artefact name for a model trained with extra files (never 'default')."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(_file_digest(path).encode())
    return f"extra-{digest.hexdigest()[:8]}"


def _fit(
    params: dict[str, Any], examples: Sequence[Example], needs_known: Sequence[bool]
) -> TriageClassifier:
    estimator = TriageClassifier(**params)
    needs = [
        e.needs if known else None
        for e, known in zip(examples, needs_known, strict=True)
    ]
    return estimator.fit(
        [e.text for e in examples], [e.level for e in examples], needs=needs
    )


def train(
    *,
    corpus_dir: str | Path = CORPUS_DIR,
    extra: Sequence[str | Path] = (),
    output_dir: str | Path | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
) -> TrainResult:
    """Train on train, tune on dev, evaluate on test, save the artefact."""
    started = time.perf_counter()
    corpus = load_corpus(corpus_dir)
    splits = split_corpus(corpus)
    leaks = cross_split_near_duplicates(splits)
    if leaks:
        raise RuntimeError(f"near-duplicates across splits: {leaks[:5]}")
    augmentation = load_augmentation(corpus_dir)
    # A near-copy of a dev or test message in training would flatter both.
    copies = near_duplicates_between(augmentation, corpus)
    if copies:
        raise RuntimeError(f"augmentation near-duplicates the corpus: {copies[:5]}")
    extra_paths = [Path(p) for p in extra]
    extra_examples: list[Example] = []
    for path in extra_paths:
        extra_examples.extend(read_labelled(path))
    # Extra data only adds training examples. Thresholds stay tuned on the
    # authored corpus: it defines what the hotline's levels mean, and mixing
    # in another set's labels (SOS-4K's crisis is "planning", not "now")
    # pushed the thresholds so low that most calm messages were flagged.
    pool = splits["train"] + splits["dev"]
    chosen = {**DEFAULT_PARAMS, **(params or {})}

    # Small sparse problems run slower with BLAS threads fighting over 2 cores.
    with threadpool_limits(limits=1):
        oof = out_of_fold(chosen, pool, extra_examples, augmentation=augmentation)
        thresholds = thresholds_from_windows(
            oof.estimators[0], oof.windows, [e.level for e in pool]
        )
        strategy = choose_needs_strategy(oof)
        cv_metrics = cross_validation_metrics(oof, thresholds)
        known = [*pool, *augmentation]
        estimator = _fit(
            chosen,
            [*known, *extra_examples],
            [True] * len(known) + [False] * len(extra_examples),
        )
        estimator.set_params(**thresholds, needs_strategy=strategy)
        test_metrics = evaluate_examples(estimator, splits["test"])
    final_params = {**chosen, **thresholds, "needs_strategy": strategy}
    hash_of_corpus = corpus_hash(corpus)
    artefact = name or (
        extra_artefact_name(extra_paths) if extra_paths else DEFAULT_NAME
    )
    version = f"triage-{artefact}-{corpus_hash([*corpus, *augmentation])[:8]}"
    metadata = {
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus_hash": hash_of_corpus,
        "corpus_size": len(corpus),
        "corpus_by_level": dict(Counter(e.level for e in corpus)),
        "corpus_by_lang": dict(Counter(e.lang for e in corpus)),
        "split_sizes": {k: len(v) for k, v in splits.items()},
        "augmentation_hash": corpus_hash(augmentation),
        "augmentation_size": len(augmentation),
        "augmentation_by_level": dict(Counter(e.level for e in augmentation)),
        "extra_files": [
            {"file": p.name, "sha256": _file_digest(p)} for p in extra_paths
        ],
        "extra_examples": {"train": len(extra_examples)},
        "params": _jsonable(final_params),
        "thresholds": thresholds,
        "needs_strategy": strategy,
        "tuning": {
            "method": "cross-validation",
            "folds": CV_FOLDS,
            "pool": "train+dev",
        },
        "metrics": {"cross_validation": cv_metrics, "test": test_metrics},
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    path = save_model(estimator, metadata, name=artefact, directory=output_dir)
    logger.info("saved %s (%s) in %.1f s", path, version, metadata["train_seconds"])
    return TrainResult(path=path, metadata=metadata, estimator=estimator)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def artefact_exists(
    name: str = DEFAULT_NAME, directory: str | Path | None = None
) -> bool:
    """Whether both files of an artefact are present."""
    model_path, meta_path = artefact_paths(name, directory)
    return model_path.exists() and meta_path.exists()
