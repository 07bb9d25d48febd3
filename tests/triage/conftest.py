"""Triage fixtures: one trained model per test session, the fixture corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from triage.corpus import CorpusError
from triage.store import (
    MODEL_ENV,
    TriageModel,
    artefact_paths,
    load_model,
    reset_default_model,
    stale_reason,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _current_default() -> TriageModel | None:
    """The default artefact, if today's code and data would build the same one."""
    from triage.train import training_inputs

    model_path, _ = artefact_paths()
    try:
        inputs = training_inputs()
    except CorpusError:
        return None
    if stale_reason(model_path, inputs) is not None:
        return None
    return load_model(model_path)


@pytest.fixture(scope="session")
def triage_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TriageModel]:
    """The default model; trained once into a temp dir if missing or stale.

    The model is also made the process default (so `triage.assess()` without a
    model argument uses it) for the duration of the session.
    """
    model = _current_default()
    if model is None:
        from triage.train import train

        output = tmp_path_factory.mktemp("triage-model")
        result = train(output_dir=output)
        model = load_model(result.path)
    previous = os.environ.get(MODEL_ENV)
    os.environ[MODEL_ENV] = str(model.path)
    reset_default_model()
    yield model
    if previous is None:
        os.environ.pop(MODEL_ENV, None)
    else:
        os.environ[MODEL_ENV] = previous
    reset_default_model()


@pytest.fixture(scope="session")
def fixture_model(tmp_path_factory: pytest.TempPathFactory) -> TriageModel:
    """A model trained on the small fixture corpus (fast; for plumbing tests)."""
    from triage.train import train

    output = tmp_path_factory.mktemp("fixture-model")
    result = train(corpus_dir=FIXTURES / "corpus", output_dir=output)
    return load_model(result.path)
