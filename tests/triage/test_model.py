"""The estimator: sklearn contract, fast path = pipeline, artefact safety, scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.base import clone

from triage.levels import RANK
from triage.model import TriageClassifier
from triage.normalize import normalize
from triage.policy import calibrate
from triage.store import ArtefactError, TriageModel, load_model, save_model

from .conftest import FIXTURES

TEXTS = [
    "我不想活了，药已经准备好了，今晚就吃",
    "I'm dying to see my friends",
    "请问团购什么时候到？",
    "最近总是失眠，很焦虑",
    "",
    "😭😭😭",
]


def test_sklearn_estimator_contract() -> None:
    estimator = TriageClassifier(C=3.0, crisis_threshold=0.3)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    assert not [k for k in vars(copy) if k.endswith("_")]


def test_fast_path_matches_the_pipeline(fixture_model: TriageModel) -> None:
    estimator = fixture_model.estimator
    pipeline = estimator.pipeline_
    raw = pipeline.predict_proba(TEXTS)  # raw texts, through every step
    # The fast path then applies the held-out calibration (monotone per
    # cumulative probability).
    cumulative = calibrate(np.cumsum(raw[:, :3], axis=1), estimator.calibration)
    expected = np.column_stack(
        [
            cumulative[:, 0],
            cumulative[:, 1] - cumulative[:, 0],
            cumulative[:, 2] - cumulative[:, 1],
            1.0 - cumulative[:, 2],
        ]
    )
    normalized = [normalize(text) for text in TEXTS]
    windows, _ = estimator._score_windows(normalized)
    got = np.asarray([w[0].probabilities for w in windows])
    assert np.allclose(got, expected, atol=1e-9)
    features = estimator._features(normalized)
    union = pipeline.named_steps["features"].transform(normalized)
    assert np.allclose(features.toarray(), union.toarray())


def test_scores_agree_with_levels(fixture_model: TriageModel) -> None:
    decisions = fixture_model.estimator.decide(TEXTS * 3)
    ordered = sorted(decisions, key=lambda d: d.score)
    ranks = [RANK[d.level] for d in ordered]
    assert ranks == sorted(ranks)
    assert all(0.0 <= d.score <= 1.0 for d in decisions)


def _copy_artefact(model: TriageModel, folder: Path) -> Path:
    assert model.path is not None
    target = folder / model.path.name
    shutil.copy(model.path, target)
    shutil.copy(model.path.with_suffix(".json"), target.with_suffix(".json"))
    return target


def test_round_trip(fixture_model: TriageModel, tmp_path: Path) -> None:
    path = _copy_artefact(fixture_model, tmp_path)
    again = load_model(path)
    assert again.version == fixture_model.version
    before = fixture_model.estimator.decide(TEXTS)
    after = again.estimator.decide(TEXTS)
    assert [d.level for d in before] == [d.level for d in after]


def test_tampered_artefact_is_refused(
    fixture_model: TriageModel, tmp_path: Path
) -> None:
    path = _copy_artefact(fixture_model, tmp_path)
    with path.open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ArtefactError, match="checksum"):
        load_model(path)


def test_missing_metadata_is_refused(
    fixture_model: TriageModel, tmp_path: Path
) -> None:
    path = _copy_artefact(fixture_model, tmp_path)
    path.with_suffix(".json").unlink()
    with pytest.raises(ArtefactError, match="metadata"):
        load_model(path)


class Untrusted:
    """A type no artefact of ours contains."""

    def __init__(self) -> None:
        self.payload = "anything"


def test_unexpected_types_are_refused(tmp_path: Path) -> None:
    # A correctly checksummed file that holds a foreign type is still refused.
    estimator = Untrusted()
    path = save_model(estimator, {"version": "x"}, directory=tmp_path)  # type: ignore[arg-type]
    assert "Untrusted" in " ".join(skops.io.get_untrusted_types(file=path))
    with pytest.raises(ArtefactError, match="unexpected types"):
        load_model(path)


def test_metadata_records_provenance(fixture_model: TriageModel) -> None:
    metadata = fixture_model.metadata
    assert {
        "version",
        "corpus_hash",
        "params",
        "thresholds",
        "libraries",
        "metrics",
        "sha256",
        "built_from",
        "fingerprint",
    } <= set(metadata)
    assert {"corpus", "augmentation", "real", "extra", "params", "code"} == set(
        metadata["built_from"]
    )
    assert {"scikit-learn", "numpy", "skops", "opencc"} <= set(metadata["libraries"])
    assert json.loads(json.dumps(metadata)) == metadata


def test_thresholds_come_from_out_of_fold_scores(fixture_model: TriageModel) -> None:
    from triage.corpus import load_corpus, split_corpus
    from triage.train import CV_FOLDS, DEFAULT_PARAMS, out_of_fold

    splits = split_corpus(load_corpus(FIXTURES / "corpus"))
    pool = splits["train"] + splits["dev"]
    oof = out_of_fold(DEFAULT_PARAMS, pool)
    assert len(oof.estimators) == CV_FOLDS
    # Each authored example is scored once, by the fold model that left it out.
    assert all(windows for windows in oof.windows)
    assert sorted(i for f in range(CV_FOLDS) for i in oof.indices(f)) == list(
        range(len(pool))
    )
    metadata = fixture_model.metadata
    assert metadata["tuning"]["folds"] == CV_FOLDS
    assert metadata["metrics"]["cross_validation"]["n"] == len(pool)


def _corpus_with_augmentation(
    tmp_path: Path, messages: list[dict[str, object]]
) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    augment = tmp_path / "augment"
    augment.mkdir()
    with (augment / "aug.jsonl").open("w", encoding="utf-8") as handle:
        for message in messages:
            handle.write(json.dumps(message, ensure_ascii=False) + "\n")
    return corpus


def test_augmentation_trains_but_is_never_scored(
    fixture_model: TriageModel, tmp_path: Path
) -> None:
    from triage.train import train

    corpus = _corpus_with_augmentation(
        tmp_path,
        [
            {"id": "aug-1", "text": "楼顶晾的被子收回来了，晚安", "level": "low"},
            {"id": "aug-2", "text": "Off to bed, goodnight all", "level": "low"},
        ],
    )
    metadata = train(corpus_dir=corpus, output_dir=tmp_path / "out").metadata
    assert metadata["augmentation_size"] == 2
    assert metadata["corpus_hash"] == fixture_model.metadata["corpus_hash"]
    # The version names the data it was trained on, augmentation included.
    assert metadata["version"] != fixture_model.metadata["version"]
    # Tuning and test scores cover the corpus only.
    cv = metadata["metrics"]["cross_validation"]["n"]
    assert cv == fixture_model.metadata["metrics"]["cross_validation"]["n"]
    assert (
        metadata["metrics"]["test"]["n"]
        == fixture_model.metadata["metrics"]["test"]["n"]
    )


def test_augmentation_may_not_copy_a_corpus_message(tmp_path: Path) -> None:
    from triage.corpus import load_corpus
    from triage.train import train

    copied = load_corpus(FIXTURES / "corpus")[0]
    corpus = _corpus_with_augmentation(
        tmp_path, [{"id": "aug-1", "text": copied.text + "!", "level": "low"}]
    )
    with pytest.raises(RuntimeError, match="augmentation near-duplicates"):
        train(corpus_dir=corpus, output_dir=tmp_path / "out")
