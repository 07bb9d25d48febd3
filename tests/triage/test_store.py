"""What an artefact is built from: the code fingerprint setup compares."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from triage.lexicon import LEXICON_DIR
from triage.store import MODEL_READERS, PACKAGE_DIR, code_fingerprint


@pytest.fixture
def package(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the triage modules and lexicon files to edit."""
    modules = tmp_path / "triage"
    modules.mkdir()
    for path in PACKAGE_DIR.glob("*.py"):
        shutil.copy(path, modules / path.name)
    lexicon = tmp_path / "lexicon"
    shutil.copytree(LEXICON_DIR, lexicon)
    return modules, lexicon


def test_comments_docstrings_and_formatting_do_not_count(
    package: tuple[Path, Path],
) -> None:
    modules, lexicon = package
    before = code_fingerprint(modules, lexicon)
    policy = modules / "policy.py"
    source = policy.read_text(encoding="utf-8")
    edited = source.replace('"""Decision policy:', '"""The decision policy:', 1)
    edited = edited.replace("RANK = {", "# Ranks.\nRANK = {  ", 1)
    assert edited != source
    policy.write_text(edited + "\n# a closing comment\n", encoding="utf-8")
    assert code_fingerprint(modules, lexicon) == before


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        ("policy.py", '"moderate": (0.25, 0.5)', '"moderate": (0.25, 0.55)'),
        ("features.py", "np.log1p(lengths) / 6.0", "np.log1p(lengths) / 5.0"),
        ("train.py", '"real_weight": 0.5', '"real_weight": 1.0'),
    ],
)
def test_code_that_builds_the_artefact_counts(
    package: tuple[Path, Path], module: str, old: str, new: str
) -> None:
    modules, lexicon = package
    before = code_fingerprint(modules, lexicon)
    path = modules / module
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    assert code_fingerprint(modules, lexicon) != before


def test_lexicon_files_and_new_modules_count(package: tuple[Path, Path]) -> None:
    modules, lexicon = package
    before = code_fingerprint(modules, lexicon)
    with (lexicon / "idioms.tsv").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    after_lexicon = code_fingerprint(modules, lexicon)
    assert after_lexicon != before
    (modules / "embeddings.py").write_text("WIDTH = 384\n", encoding="utf-8")
    assert code_fingerprint(modules, lexicon) != after_lexicon


def test_modules_that_only_read_a_model_do_not_count(
    package: tuple[Path, Path],
) -> None:
    modules, lexicon = package
    before = code_fingerprint(modules, lexicon)
    for name in MODEL_READERS:
        with (modules / name).open("a", encoding="utf-8") as handle:
            handle.write("\nEDITED = True\n")
    assert code_fingerprint(modules, lexicon) == before


def test_the_readers_exist() -> None:
    """A renamed reader would silently count again: keep the list true."""
    assert {path.name for path in PACKAGE_DIR.glob("*.py")} >= MODEL_READERS
