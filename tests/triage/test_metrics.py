"""Metrics, and the DESIGN §4 targets on the held-out test split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from triage.corpus import load_corpus, read_labelled, split_corpus
from triage.evaluate import (
    TARGETS,
    crisis_binary_metrics,
    evaluate_examples,
    level_metrics,
    sos4k_path,
    target_failures,
    wilson_interval,
)
from triage.store import TriageModel

ROOT = Path(__file__).resolve().parents[2]


def test_wilson_interval() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(95, 100)
    assert (low, high) == (
        pytest.approx(0.8882, abs=1e-4),
        pytest.approx(0.9785, abs=1e-4),
    )
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_level_metrics_on_a_small_example() -> None:
    truth = ["crisis", "crisis", "high", "moderate", "low", "low", "low", "low"]
    guess = ["crisis", "high", "high", "low", "low", "crisis", "high", "low"]
    metrics = level_metrics(truth, guess)
    assert metrics["crisis_recall"]["value"] == 0.5
    assert metrics["urgent_recall"]["value"] == 1.0
    assert metrics["low_flagged_crisis"]["value"] == 0.25
    assert metrics["low_flagged_urgent"]["value"] == 0.5
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"][0] == [1, 1, 0, 0]
    assert metrics["per_level"]["high"]["precision"] == pytest.approx(1 / 3)
    binary = crisis_binary_metrics(truth, guess)
    assert (binary["precision"], binary["recall"]) == (0.5, 0.5)
    failures = target_failures(metrics)
    assert any(f.startswith("crisis_recall") for f in failures)


@pytest.fixture(scope="module")
def test_split_metrics(triage_model: TriageModel) -> dict[str, Any]:
    return evaluate_examples(triage_model, split_corpus(load_corpus())["test"])


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_design_target_on_the_test_split(
    test_split_metrics: dict[str, Any], target: str
) -> None:
    """Fails when the shipped model misses a DESIGN §4 target on the test split
    (crisis recall above all: a missed crisis is the worst error)."""
    direction, bound = TARGETS[target]
    entry = test_split_metrics[target]
    value = entry["value"] if isinstance(entry, dict) else entry
    if direction == ">=":
        assert value >= bound, f"{target} {value:.3f} < {bound}"
    else:
        assert value <= bound, f"{target} {value:.3f} > {bound}"


def test_sos4k_evaluation_runs_when_the_data_is_present(
    triage_model: TriageModel,
) -> None:
    path = sos4k_path("val")
    if path is None:
        pytest.skip("../shared/data/sos4k is not available here")
    examples = read_labelled(path)
    metrics = evaluate_examples(triage_model, examples, with_needs=False)
    assert metrics["n"] == len(examples)
    assert 0.0 <= metrics["crisis_binary"]["f1"] <= 1.0


def test_no_sos4k_text_is_copied_into_the_repository() -> None:
    """Evaluation data must never be copied into code, tests, docs or corpus."""
    train, val = sos4k_path("train"), sos4k_path("val")
    if train is None or val is None:
        pytest.skip("../shared/data/sos4k is not available here")
    texts = [e.text for path in (train, val) for e in read_labelled(path)]
    probes = {text.strip()[:14] for text in texts if len(text.strip()) >= 14}
    sources = [
        *ROOT.joinpath("triage").rglob("*.py"),
        *ROOT.joinpath("triage", "data").rglob("*.jsonl"),
        *ROOT.joinpath("tests", "triage").rglob("*.*"),
        ROOT / "docs" / "triage-model-card.md",
        ROOT / "bench" / "triage_bench.py",
    ]
    blob = "\n".join(
        p.read_text(encoding="utf-8", errors="ignore") for p in sources if p.is_file()
    )
    copied = sorted(probe for probe in probes if probe in blob)
    assert copied == []
