"""The authored corpus: format, fixed splits, no near-duplicates across splits."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from triage.corpus import (
    CORPUS_DIR,
    LEVELS,
    NEEDS,
    CorpusError,
    Example,
    cross_split_near_duplicates,
    cross_validation_folds,
    load_augmentation,
    load_corpus,
    near_duplicate_pairs,
    near_duplicates_between,
    read_labelled,
    split_corpus,
    split_of_id,
)

from .conftest import FIXTURES


@pytest.fixture(scope="module")
def corpus() -> list[Example]:
    return load_corpus()


def test_corpus_records_are_well_formed(corpus: list[Example]) -> None:
    assert len({e.id for e in corpus}) == len(corpus)
    for example in corpus:
        assert example.level in LEVELS
        assert set(example.needs) <= set(NEEDS)
        assert example.text.strip()


def test_every_level_is_in_every_split(corpus: list[Example]) -> None:
    splits = split_corpus(corpus)
    for name, examples in splits.items():
        assert {e.level for e in examples} == set(LEVELS), name


def test_split_is_deterministic_and_independent_of_order(corpus: list[Example]) -> None:
    first = {n: sorted(e.id for e in v) for n, v in split_corpus(corpus).items()}
    shuffled = list(corpus)
    random.Random(7).shuffle(shuffled)
    second = {n: sorted(e.id for e in v) for n, v in split_corpus(shuffled).items()}
    assert first == second


def test_split_of_id_is_stable() -> None:
    # Fixed by the id alone, so adding messages never moves existing ones.
    assert [split_of_id(f"zhu-{i:04d}") for i in range(1, 6)] == [
        split_of_id(f"zhu-{i:04d}") for i in range(1, 6)
    ]
    shares = Counter(split_of_id(f"x-{i}") for i in range(10_000))
    assert 0.65 < shares["train"] / 10_000 < 0.75


def test_no_near_duplicates_across_splits(corpus: list[Example]) -> None:
    assert cross_split_near_duplicates(split_corpus(corpus)) == []


def test_near_duplicates_are_detected_and_kept_together() -> None:
    texts = [
        "封控第三十天了，我真的好累，不想活了",
        "封控第三十天了，我真的好累，不想活了！",
        "今天团购的菜到了",
    ]
    assert [(i, j) for i, j, _ in near_duplicate_pairs(texts)] == [(0, 1)]
    # Ids whose own hashes land in different splits still end up together.
    ids = [f"t-{i}" for i in range(200)]
    a = next(i for i in ids if split_of_id(i) == "train")
    b = next(i for i in ids if split_of_id(i) == "test")
    examples = [
        Example(a, texts[0], "high"),
        Example(b, texts[1], "high"),
        Example("t-other", texts[2], "low"),
    ]
    splits = split_corpus(examples)
    where = {e.id: name for name, items in splits.items() for e in items}
    assert where[a] == where[b]


def test_cross_validation_folds_keep_near_duplicates_together() -> None:
    near_copies = [
        Example(f"cv-{i}", f"封控第{n}天了，我真的好累，晚上总是睡不着", "moderate")
        for i, n in enumerate(["三十", "三十一", "三十二"])
    ]
    # Texts with no trigram in common, so none of them are near-duplicates.
    others = [
        Example(
            f"cv-other-{i}", "".join(chr(0x4E00 + 50 * i + k) for k in range(6)), "low"
        )
        for i in range(60)
    ]
    folds = cross_validation_folds([*near_copies, *others], 5)
    assert len(set(folds[:3])) == 1
    # Every fold is used, and adding examples never moves the old ones.
    assert set(folds) == set(range(5))
    assert cross_validation_folds(others, 5) == folds[3:]


def _stress_set() -> list[Example]:
    return read_labelled(CORPUS_DIR.parent / "stress" / "calm_registers.jsonl")


def test_the_stress_set_is_held_out_from_the_corpus(corpus: list[Example]) -> None:
    stress = _stress_set()
    assert len(stress) >= 400
    assert {e.id for e in stress}.isdisjoint(e.id for e in corpus)
    assert near_duplicates_between(stress, corpus) == []


def test_augmentation_copies_neither_the_corpus_nor_the_stress_set(
    corpus: list[Example],
) -> None:
    augmentation = load_augmentation()
    assert len(augmentation) >= 400
    assert {e.id for e in augmentation}.isdisjoint(e.id for e in corpus)
    # A near-copy of a test or stress message in training would flatter both.
    assert near_duplicates_between(augmentation, [*corpus, *_stress_set()]) == []


def test_read_labelled_jsonl_and_tsv() -> None:
    jsonl = read_labelled(FIXTURES / "labelled.jsonl")
    tsv = read_labelled(FIXTURES / "extra.tsv")
    assert [e.level for e in jsonl] == ["crisis", "high", "moderate", "low"]
    assert len(tsv) == 6 and tsv[0].id == "extra-2"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", "not json\n", "invalid JSON"),
        ("bad.jsonl", '{"text": "x", "level": "urgent"}\n', "level must be"),
        ("bad.jsonl", '{"text": 5, "level": "low"}\n', "text must be"),
        ("bad.jsonl", '{"text": "x", "level": "low", "needs": ["cash"]}\n', "needs"),
        ("bad.tsv", "message\tlevel\nhi\tlow\n", "'text' and 'level'"),
        ("bad.csv", "text,level\n", ".jsonl or .tsv"),
    ],
)
def test_read_labelled_rejects_bad_files(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        read_labelled(path)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    line = '{"id": "a-1", "text": "x", "level": "low"}\n'
    (tmp_path / "a.jsonl").write_text(line)
    (tmp_path / "b.jsonl").write_text(line)
    with pytest.raises(CorpusError, match="duplicate id"):
        load_corpus(tmp_path)
