"""Training: fit on train, tune thresholds and needs on dev, evaluate on test, save.

The shipped model is the one fitted on the train split: its thresholds were
tuned on its own dev-split probabilities, so they stay valid. (Refitting on
train+dev after tuning made the probabilities shift and the dev-tuned
thresholds overshoot: far more false alarms on test.)
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
    load_corpus,
    read_labelled,
    split_corpus,
)
from triage.evaluate import evaluate_examples, level_metrics, needs_metrics
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
# Thresholds are tuned on dev for the DESIGN §4 targets themselves. A margin
# was tried: the dev split has ~90 crisis and ~195 urgent messages, so one
# extra required hit can cost ten points of false alarms. Recall comes first
# (a missed crisis is the worst error); the false-alarm bounds only choose
# among thresholds that reach it.
DEV_TARGETS = {
    "crisis_recall": 0.95,
    "urgent_recall": 0.97,
    "low_flagged_crisis": 0.03,
    "low_flagged_urgent": 0.08,
}
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


def tune_thresholds(
    estimator: TriageClassifier,
    examples: Sequence[Example],
    targets: dict[str, float] | None = None,
) -> dict[str, float]:
    """Crisis, urgent and moderate thresholds from dev decisions (rules included)."""
    targets = targets or DEV_TARGETS
    y_true = [e.level for e in examples]
    windows, _ = estimator._score_windows([normalize(e.text) for e in examples])
    # Crisis first, with the other two at neutral values.
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


def choose_needs_strategy(
    estimator: TriageClassifier, examples: Sequence[Example]
) -> dict[str, str]:
    """Per need, whichever of rules, model or their union has the best dev F1."""
    strategy = {}
    texts = [e.text for e in examples]
    truth = [e.needs for e in examples]
    scores: dict[str, dict[str, float]] = {need: {} for need in NEEDS}
    for how in NEED_STRATEGIES:
        estimator.set_params(needs_strategy=dict.fromkeys(NEEDS, how))
        predicted = [d.needs for d in estimator.decide(texts)]
        for need, row in needs_metrics(truth, predicted).items():
            scores[need][how] = row["f1"]
    for need in NEEDS:
        # Ties go to the simpler, more explainable option (rules first).
        strategy[need] = max(
            NEED_STRATEGIES,
            key=lambda how: (scores[need][how], -NEED_STRATEGIES.index(how)),
        )
    estimator.set_params(needs_strategy=strategy)
    return strategy


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
    extra_paths = [Path(p) for p in extra]
    extra_examples: list[Example] = []
    for path in extra_paths:
        extra_examples.extend(read_labelled(path))
    # Extra data only adds training examples. Thresholds stay tuned on the
    # authored dev split: it defines what the hotline's levels mean, and mixing
    # in another set's dev share (SOS-4K's crisis is "planning", not "now")
    # pushed the thresholds so low that most calm messages were flagged.
    extra_train = list(extra_examples)
    # Needs labels exist only where a file carries them (the corpus does).
    needs_known = {id(e): True for e in corpus}
    train_set = splits["train"] + extra_train
    dev_set = splits["dev"]
    chosen = {**DEFAULT_PARAMS, **(params or {})}

    def known(examples: Sequence[Example]) -> list[bool]:
        return [needs_known.get(id(e), False) for e in examples]

    # Small sparse problems run slower with BLAS threads fighting over 2 cores.
    with threadpool_limits(limits=1):
        estimator = _fit(chosen, train_set, known(train_set))
        thresholds = tune_thresholds(estimator, dev_set)
        estimator.set_params(**thresholds)
        strategy = choose_needs_strategy(estimator, splits["dev"])
        dev_metrics = evaluate_examples(estimator, splits["dev"])
        test_metrics = evaluate_examples(estimator, splits["test"])
    final_params = {**chosen, **thresholds, "needs_strategy": strategy}
    hash_of_corpus = corpus_hash(corpus)
    artefact = name or (
        extra_artefact_name(extra_paths) if extra_paths else DEFAULT_NAME
    )
    version = f"triage-{artefact}-{hash_of_corpus[:8]}"
    metadata = {
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus_hash": hash_of_corpus,
        "corpus_size": len(corpus),
        "corpus_by_level": dict(Counter(e.level for e in corpus)),
        "corpus_by_lang": dict(Counter(e.lang for e in corpus)),
        "split_sizes": {k: len(v) for k, v in splits.items()},
        "extra_files": [
            {"file": p.name, "sha256": _file_digest(p)} for p in extra_paths
        ],
        "extra_examples": {"train": len(extra_train)},
        "params": _jsonable(final_params),
        "thresholds": thresholds,
        "needs_strategy": strategy,
        "metrics": {"dev": dev_metrics, "test": test_metrics},
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
