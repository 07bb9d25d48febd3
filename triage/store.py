"""Persistence: the skops artefact, its JSON sidecar and the default model."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triage.features import (
    LengthFeatures,
    NgramVectorizer,
    SignalFeatures,
    TextNormalizer,
)
from triage.model import CumulativeLogisticClassifier, TriageClassifier

logger = logging.getLogger(__name__)

ARTIFACT_DIR = Path(__file__).parent / "artifacts"
DEFAULT_NAME = "default"
MODEL_ENV = "HOTLINE_TRIAGE_MODEL"
# 3: the feature steps live in triage.features (skops records class paths,
# so a format-2 file names classes that are no longer in triage.model).
# Older artefacts are refused at load and rebuilt by `make setup`.
ARTIFACT_FORMAT = 3


class ArtefactError(RuntimeError):
    """An artefact is missing, corrupted or of an unexpected kind."""


class ModelNotFoundError(ArtefactError, FileNotFoundError):
    """No trained model artefact exists at the expected path."""


# Types skops may rebuild when loading our artefacts. Anything else in a file
# is refused before deserialisation (skops never unpickles arbitrary objects).
TRUSTED_TYPES: tuple[str, ...] = tuple(
    f"{kind.__module__}.{kind.__qualname__}"
    for kind in (
        CumulativeLogisticClassifier,
        LengthFeatures,
        NgramVectorizer,
        SignalFeatures,
        TextNormalizer,
        TriageClassifier,
    )
)


def artefact_paths(
    name: str = DEFAULT_NAME, directory: str | Path | None = None
) -> tuple[Path, Path]:
    """(model file, metadata file) for an artefact name."""
    folder = Path(directory) if directory is not None else ARTIFACT_DIR
    return folder / f"{name}.skops", folder / f"{name}.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries an artefact depends on."""
    import opencc
    import scipy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
        "opencc": str(getattr(opencc, "__version__", "unknown")),
    }


def save_model(
    estimator: TriageClassifier,
    metadata: Mapping[str, Any],
    *,
    name: str = DEFAULT_NAME,
    directory: str | Path | None = None,
) -> Path:
    """Write <name>.skops and <name>.json (metadata with the file's SHA-256)."""
    import skops.io

    model_path, meta_path = artefact_paths(name, directory)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = model_path.with_suffix(".skops.tmp")
    skops.io.dump(estimator, temporary)
    record = dict(metadata)
    record.update(
        {
            "format": ARTIFACT_FORMAT,
            "name": name,
            "sha256": _sha256(temporary),
            "libraries": library_versions(),
        }
    )
    meta_temporary = meta_path.with_suffix(".json.tmp")
    meta_temporary.write_text(
        json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    # Replace the metadata last-but-one and the model last, each atomically.
    os.replace(meta_temporary, meta_path)
    os.replace(temporary, model_path)
    return model_path


@dataclass(frozen=True)
class TriageModel:
    """A loaded artefact: the estimator plus its metadata."""

    estimator: TriageClassifier
    metadata: dict[str, Any]
    path: Path | None = None

    @property
    def version(self) -> str:
        """Version string reported in every assessment."""
        return str(self.metadata.get("version", "unversioned"))


def read_metadata(model_path: str | Path) -> dict[str, Any]:
    """Metadata of an artefact, read from the .json next to the .skops file."""
    meta_path = Path(model_path).with_suffix(".json")
    if not meta_path.exists():
        raise ArtefactError(f"metadata file missing: {meta_path}")
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    if not isinstance(metadata, dict):
        raise ArtefactError(f"metadata is not a JSON object: {meta_path}")
    return metadata


def load_model(path: str | Path | None = None) -> TriageModel:
    """Load an artefact after checking its checksum and the types it contains."""
    import skops.io

    model_path = Path(path) if path is not None else default_model_path()
    if model_path.is_dir():
        model_path = artefact_paths(DEFAULT_NAME, model_path)[0]
    if not model_path.exists():
        raise ModelNotFoundError(
            f"no triage model at {model_path}; run `hotline triage train` "
            "(or `make setup`) to build it from the authored corpus"
        )
    metadata = read_metadata(model_path)
    if metadata.get("format") != ARTIFACT_FORMAT:
        raise ArtefactError(f"unsupported artefact format in {model_path}")
    if _sha256(model_path) != metadata.get("sha256"):
        raise ArtefactError(
            f"checksum mismatch for {model_path}: the file was changed or corrupted; "
            "retrain with `hotline triage train`"
        )
    untrusted = set(skops.io.get_untrusted_types(file=model_path))
    unexpected = untrusted - set(TRUSTED_TYPES)
    if unexpected:
        raise ArtefactError(f"refusing to load unexpected types: {sorted(unexpected)}")
    estimator = skops.io.load(model_path, trusted=sorted(untrusted))
    if not isinstance(estimator, TriageClassifier):
        raise ArtefactError(f"{model_path} does not hold a TriageClassifier")
    _warn_on_version_drift(metadata)
    return TriageModel(estimator=estimator, metadata=metadata, path=model_path)


def _warn_on_version_drift(metadata: Mapping[str, Any]) -> None:
    import sklearn

    saved = metadata.get("libraries", {}).get("scikit-learn")
    if saved and saved != sklearn.__version__:
        logger.warning(
            "triage model was trained with scikit-learn %s, running %s; retrain "
            "with `hotline triage train` if results look wrong",
            saved,
            sklearn.__version__,
        )


def default_model_path() -> Path:
    """Path of the default artefact ($HOTLINE_TRIAGE_MODEL overrides it)."""
    override = os.environ.get(MODEL_ENV)
    if override:
        return Path(override)
    return artefact_paths(DEFAULT_NAME)[0]


_default_lock = threading.Lock()
_default_model: TriageModel | None = None


def get_default_model() -> TriageModel:
    """The default model, loaded once on first use (thread-safe)."""
    global _default_model
    model = _default_model
    if model is None:
        with _default_lock:
            if _default_model is None:
                _default_model = load_model()
            model = _default_model
    return model


def reset_default_model() -> None:
    """Forget the cached default model (after retraining, or in tests)."""
    global _default_model
    with _default_lock:
        _default_model = None
