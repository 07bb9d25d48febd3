"""Authored corpus: loading, validation, fixed splits and near-duplicate checks."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from triage.normalize import normalize

LEVELS: tuple[str, ...] = ("crisis", "high", "moderate", "low")
NEEDS: tuple[str, ...] = ("supplies", "medicine", "medical", "care")
SPLITS: tuple[str, ...] = ("train", "dev", "test")
CORPUS_DIR = Path(__file__).parent / "data" / "corpus"
# Percent of ids (by stable hash) in each split.
_DEV_FROM, _TEST_FROM = 70, 85
# Character-trigram Jaccard similarity at or above which two texts are
# near-duplicates (templated variants, copy-edits); they share one split.
NEAR_DUPLICATE_JACCARD = 0.7
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)


class CorpusError(ValueError):
    """A corpus or labelled file is malformed."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message."""

    id: str
    text: str
    level: str
    needs: tuple[str, ...] = ()
    lang: str = ""
    tags: tuple[str, ...] = field(default=())
    source: str = ""


def _parse_needs(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CorpusError(f"{where}: needs must be a list of strings")
    unknown = set(value) - set(NEEDS)
    if unknown:
        raise CorpusError(f"{where}: unknown needs {sorted(unknown)}")
    return tuple(sorted(set(value)))


def _example(record: object, where: str, default_id: str, source: str) -> Example:
    if not isinstance(record, dict):
        raise CorpusError(f"{where}: expected a JSON object")
    text, level = record.get("text"), record.get("level")
    if not isinstance(text, str):
        raise CorpusError(f"{where}: text must be a string")
    if level not in LEVELS:
        raise CorpusError(f"{where}: level must be one of {', '.join(LEVELS)}")
    record_id = record.get("id", default_id)
    tags = record.get("tags") or []
    return Example(
        id=str(record_id),
        text=text,
        level=str(level),
        needs=_parse_needs(record.get("needs"), where),
        lang=str(record.get("lang") or ""),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        source=source,
    )


def read_labelled(path: str | Path) -> list[Example]:
    """Read a .jsonl (text, level[, id, needs]) or .tsv (text and level columns)."""
    path = Path(path)
    examples: list[Example] = []
    if path.suffix == ".tsv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            if not reader.fieldnames or not {"text", "level"} <= set(reader.fieldnames):
                raise CorpusError(f"{path}: needs 'text' and 'level' columns")
            for number, row in enumerate(reader, start=2):
                where = f"{path}:{number}"
                examples.append(
                    _example(row, where, f"{path.stem}-{number}", path.name)
                )
        return examples
    if path.suffix != ".jsonl":
        raise CorpusError(f"{path}: expected a .jsonl or .tsv file")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise CorpusError(f"{where}: invalid JSON ({error.msg})") from error
            examples.append(_example(record, where, f"{path.stem}-{number}", path.name))
    return examples


def load_corpus(directory: str | Path = CORPUS_DIR) -> list[Example]:
    """Load every *.jsonl file of the authored corpus, checking ids are unique."""
    directory = Path(directory)
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise CorpusError(f"no *.jsonl corpus files in {directory}")
    examples: list[Example] = []
    for path in files:
        examples.extend(read_labelled(path))
    seen: set[str] = set()
    for example in examples:
        if example.id in seen:
            raise CorpusError(f"duplicate id {example.id!r} in {directory}")
        seen.add(example.id)
    return examples


def augmentation_dir(corpus_dir: str | Path = CORPUS_DIR) -> Path:
    """Where the training-only messages for a corpus live: `augment/` beside it."""
    return Path(corpus_dir).parent / "augment"


def load_augmentation(corpus_dir: str | Path = CORPUS_DIR) -> list[Example]:
    """Authored training-only messages beside the corpus (none if absent).

    They are never split, tuned on or tested: they add training examples in
    registers where the model raised false alarms, while the test split keeps
    the corpus's own mix and the stress set measures those registers.
    """
    directory = augmentation_dir(corpus_dir)
    if not directory.is_dir():
        return []
    return load_corpus(directory)


def corpus_hash(examples: Iterable[Example]) -> str:
    """SHA-256 over ids, texts, levels and needs, independent of file order."""
    digest = hashlib.sha256()
    for example in sorted(examples, key=lambda e: e.id):
        record = [example.id, example.text, example.level, list(example.needs)]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _bucket(example_id: str) -> int:
    return int(hashlib.sha256(example_id.encode("utf-8")).hexdigest()[:8], 16) % 100


def split_of_id(example_id: str) -> str:
    """Split an id belongs to on its own (before near-duplicate grouping)."""
    bucket = _bucket(example_id)
    if bucket < _DEV_FROM:
        return "train"
    return "dev" if bucket < _TEST_FROM else "test"


def _shingles(text: str) -> set[str]:
    compact = _PUNCTUATION.sub("", normalize(text))
    if len(compact) < 3:
        return {compact} if compact else set()
    return {compact[i : i + 3] for i in range(len(compact) - 2)}


def near_duplicate_pairs(
    texts: Sequence[str], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[tuple[int, int, float]]:
    """Index pairs (i < j) whose character-trigram Jaccard is ≥ threshold."""
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    columns: list[int] = []
    sizes = np.zeros(len(texts), dtype=np.float64)
    for row, text in enumerate(texts):
        shingles = _shingles(text)
        sizes[row] = len(shingles)
        for shingle in shingles:
            rows.append(row)
            columns.append(vocabulary.setdefault(shingle, len(vocabulary)))
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, columns)),
        shape=(len(texts), max(len(vocabulary), 1)),
    )
    overlap = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    union = sizes[overlap.row] + sizes[overlap.col] - overlap.data
    jaccard = np.divide(overlap.data, union, out=np.zeros_like(union), where=union > 0)
    keep = jaccard >= threshold
    return [
        (int(i), int(j), float(score))
        for i, j, score in zip(
            overlap.row[keep], overlap.col[keep], jaccard[keep], strict=True
        )
    ]


def near_duplicate_groups(examples: Sequence[Example]) -> list[str]:
    """Per example, the smallest id of its near-duplicate group (itself if alone).

    Groups are the connected components of the near-duplicate pairs
    (union-find), so a chain of templated variants forms one group.
    """
    parent = list(range(len(examples)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for i, j, _ in near_duplicate_pairs([e.text for e in examples]):
        a, b = root(i), root(j)
        if a != b:
            # Keep the smaller id as the group's representative.
            if examples[b].id < examples[a].id:
                a, b = b, a
            parent[b] = a
    return [examples[root(i)].id for i in range(len(examples))]


def assign_splits(examples: Sequence[Example]) -> dict[str, str]:
    """Fixed split per id; near-duplicates all go to the split of the smallest id.

    The base split is a hash of the id, so adding messages never moves old
    ones; near-duplicate groups are then kept together so that no test
    message has a near-copy in training.
    """
    groups = near_duplicate_groups(examples)
    return {e.id: split_of_id(group) for e, group in zip(examples, groups, strict=True)}


def cross_validation_folds(examples: Sequence[Example], folds: int) -> list[int]:
    """Fold number (0 … folds-1) per example, stable and near-duplicate aware.

    Like the splits, a fold is a hash of the group's id, so near-copies share
    a fold and out-of-fold scores are not flattered by a copy in training.
    """
    groups = near_duplicate_groups(examples)
    return [
        int(hashlib.sha256(f"fold:{group}".encode()).hexdigest()[:8], 16) % folds
        for group in groups
    ]


def split_corpus(examples: Sequence[Example]) -> dict[str, list[Example]]:
    """Return {"train": [...], "dev": [...], "test": [...]} (deterministic)."""
    assignment = assign_splits(examples)
    splits: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for example in examples:
        splits[assignment[example.id]].append(example)
    return splits


def cross_split_near_duplicates(
    splits: dict[str, list[Example]], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[tuple[str, str, float]]:
    """Near-duplicate id pairs that sit in different splits (should be empty)."""
    everything = [(name, e) for name, items in splits.items() for e in items]
    pairs = near_duplicate_pairs([e.text for _, e in everything], threshold)
    return [
        (everything[i][1].id, everything[j][1].id, score)
        for i, j, score in pairs
        if everything[i][0] != everything[j][0]
    ]


def near_duplicates_between(
    examples: Sequence[Example],
    others: Sequence[Example],
    threshold: float = NEAR_DUPLICATE_JACCARD,
) -> list[tuple[str, str, float]]:
    """(id, other id, score) for each example with a near-copy among others."""
    texts = [e.text for e in examples] + [e.text for e in others]
    count = len(examples)
    return [
        (examples[i].id, others[j - count].id, score)
        for i, j, score in near_duplicate_pairs(texts, threshold)
        if i < count <= j
    ]
