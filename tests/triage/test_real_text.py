"""Real text: the PsySUICIDE data and mapping, and floors on text never seen.

The issue #18 targets (urgent recall ≥ 0.90, non-urgent → urgent ≤ 10 %,
non-urgent → crisis ≤ 3 % source-grouped; SOS-4K val crisis recall ≥ 0.80,
F1 ≥ 0.75) are not all met yet. The model card says by how much; these
tests pin today's figures as floors so that a change cannot make them worse
unnoticed. Raise a floor when a change improves it; never lower one.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from triage.corpus import read_labelled
from triage.evaluate import evaluate_examples, sos4k_path
from triage.model import NON_URGENT, CumulativeLogisticClassifier
from triage.realdata import (
    LEVEL_OF_CLASS,
    PSYSUICIDE_DIR,
    PSYSUICIDE_FILE,
    is_partial,
    level_of,
    load_psysuicide,
)
from triage.store import TriageModel

# Today's figures (model card, "Evaluation on text the model never saw").
SOS_CRISIS_RECALL_FLOOR = 0.46
SOS_CRISIS_F1_FLOOR = 0.59
HELD_OUT_SOURCE_FLOORS = {
    "urgent_recall": (">=", 0.84),
    "nonurgent_flagged_urgent": ("<=", 0.14),
    "nonurgent_flagged_crisis": ("<=", 0.01),
}


def test_psysuicide_is_shipped_with_its_licence() -> None:
    licence = (PSYSUICIDE_DIR / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "qiuhuachuan" in licence
    examples = load_psysuicide()
    assert len(examples) == 1480
    assert Counter(e.source for e in examples) == {
        "client_machine": 408,
        "synthetic": 392,
        "social_media": 382,
        "client_counselor": 298,
    }


def test_every_class_is_mapped_and_the_most_urgent_wins() -> None:
    classes = {
        c
        for line in PSYSUICIDE_FILE.read_text(encoding="utf-8").splitlines()
        for c in json.loads(line)["labels"]
    }
    assert classes == set(LEVEL_OF_CLASS) and len(classes) == 11
    assert level_of(["他人攻击行为", "自杀计划"]) == "crisis"
    assert level_of(["关于自杀的探索", "被动自杀意图"]) == "high"


def test_unrelated_is_only_known_to_be_non_urgent() -> None:
    examples = load_psysuicide()
    partial = [e for e in examples if is_partial(e)]
    assert len(partial) == 1075 and all(e.level == "low" for e in partial)
    assert not any(is_partial(e) for e in examples if e.level != "low")


def test_non_urgent_rows_train_only_the_urgent_heads() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 4))
    labels = np.asarray(["crisis", "high", "moderate", "low", NON_URGENT] * 12)
    model = CumulativeLogisticClassifier(blend_multinomial=True).fit(features, labels)
    # The "≥ moderate" head and the multinomial saw only the 48 exact rows.
    assert model.cumulative_[2].n_features_in_ == 4
    assert set(model.multinomial_.classes_) == {"crisis", "high", "moderate", "low"}


def test_sos4k_val_floor(triage_model: TriageModel) -> None:
    path = sos4k_path("val")
    if path is None:
        pytest.skip("../shared/data/sos4k is not available here")
    metrics = evaluate_examples(triage_model, read_labelled(path), with_needs=False)
    binary = metrics["crisis_binary"]
    assert binary["recall"] >= SOS_CRISIS_RECALL_FLOOR
    assert binary["f1"] >= SOS_CRISIS_F1_FLOOR


@pytest.mark.slow
def test_held_out_source_floors() -> None:
    """Retrains and retunes without `client_counselor` (minutes)."""
    from triage.train import source_grouped_evaluation

    metrics = source_grouped_evaluation("client_counselor")
    for key, (direction, bound) in HELD_OUT_SOURCE_FLOORS.items():
        value = metrics[key]["value"]
        assert value >= bound if direction == ">=" else value <= bound, (key, value)
