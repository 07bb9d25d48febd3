"""Persistence: the skops artefact, its JSON sidecar and the default model.

The sidecar records what the artefact was built from (data hashes, code
fingerprint, parameters), so `stale_reason` can tell setup to rebuild an
artefact that today's code and data would not produce.
"""

from __future__ import annotations

import ast
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
from triage.lexicon import LEXICON_DIR
from triage.model import CumulativeLogisticClassifier, TriageClassifier

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).parent
ARTIFACT_DIR = PACKAGE_DIR / "artifacts"
DEFAULT_NAME = "default"
MODEL_ENV = "HOTLINE_TRIAGE_MODEL"
# 3: the feature steps live in triage.features (skops records class paths,
# so a format-2 file names classes that are no longer in triage.model).
# Older artefacts are refused at load and rebuilt by `make setup`.
ARTIFACT_FORMAT = 3
# Modules that only use a trained model: editing them never makes an
# artefact stale. Every other module (a new one too) counts as code the
# artefact is built from.
MODEL_READERS = frozenset({"__init__.py", "__main__.py", "assessment.py", "cli.py"})
# Assessed by a stale-artefact check: if a trained model cannot decide these,
# it must not be served.
PROBE_TEXTS = ("我不想活了，药已经准备好了", "thanks, see you tomorrow", "")


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
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtefactError(f"metadata is not valid JSON: {meta_path}") from error
    if not isinstance(metadata, dict):
        raise ArtefactError(f"metadata is not a JSON object: {meta_path}")
    return metadata


def code_fingerprint(package: Path = PACKAGE_DIR, lexicon: Path = LEXICON_DIR) -> str:
    """SHA-256 of the code and lexicon an artefact is built from.

    Modules count by their syntax tree without docstrings, so a comment,
    a docstring or reformatting does not force a retrain; the lexicon files
    count byte for byte.
    """
    digest = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        if path.name in MODEL_READERS:
            continue
        digest.update(path.name.encode() + b"\0")
        digest.update(_syntax_without_docstrings(path).encode() + b"\0")
    for path in sorted(lexicon.glob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _syntax_without_docstrings(path: Path) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False)


def fingerprint_of(built_from: Mapping[str, Any]) -> str:
    """One hash of everything an artefact was built from."""
    canonical = json.dumps(dict(built_from), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stale_reason(model_path: Path, built_from: Mapping[str, Any]) -> str | None:
    """Why the artefact at `model_path` must be rebuilt, or None if it is current.

    `built_from` is what training would build it from today (data hashes,
    code fingerprint, parameters). Missing, unreadable, another format,
    other inputs, or a model that fails to load or to decide the probe
    texts: each means retrain, never serve.
    """
    if not model_path.exists():
        return "no artefact yet"
    try:
        metadata = read_metadata(model_path)
    except ArtefactError as error:
        return f"unreadable ({error})"
    if metadata.get("format") != ARTIFACT_FORMAT:
        return f"artefact format {metadata.get('format')}, not {ARTIFACT_FORMAT}"
    if metadata.get("fingerprint") != fingerprint_of(built_from):
        recorded = metadata.get("built_from")
        if not isinstance(recorded, dict):
            return "no record of what it was built from"
        changed = sorted(
            key
            for key in {*recorded, *built_from}
            if recorded.get(key) != built_from.get(key)
        )
        return f"built from other inputs (changed: {', '.join(changed)})"
    try:
        load_model(model_path).estimator.decide(list(PROBE_TEXTS))
    except Exception as error:
        # Whatever a stale or damaged file fails with (AttributeError,
        # ValueError, a skops error…), the answer is the same: rebuild it.
        return f"unreadable ({type(error).__name__}: {error})"
    return None


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
