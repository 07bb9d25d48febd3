"""The lexicon as reviewed data files: well-formed, each example matches."""

from __future__ import annotations

import re

import pytest

from triage import lexicon, signals
from triage.lexicon import LEXICON_DIR, LexiconError, read_entries

FILES = ("risk.tsv", "needs.tsv", "idioms.tsv")


@pytest.mark.parametrize("file", FILES)
def test_every_entry_has_an_example_it_matches(file: str) -> None:
    entries = read_entries(LEXICON_DIR / file)
    assert entries
    wrong = [
        e.where
        for e in entries
        if not e.example or re.search(e.pattern, e.example) is None
    ]
    assert wrong == []


def test_languages_match_the_patterns() -> None:
    for file in FILES:
        for entry in read_entries(LEXICON_DIR / file):
            has_cjk = re.search(r"[\u3400-\u9fff]", entry.pattern) is not None
            assert (entry.lang == "zh") == has_cjk, entry.where


def test_signals_read_the_files() -> None:
    assert signals.LEXICON is lexicon.LEXICON
    assert signals.IDIOMS is lexicon.IDIOMS
    kinds = {e.kind for e in read_entries(LEXICON_DIR / "risk.tsv")}
    assert kinds == set(signals.LEXICON)


def test_a_malformed_line_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "risk.tsv"
    path.write_text(
        "kind\tname\tlang\tstrength\tpattern\texample\nintent\tx\tzh\tloud\t想死\t想死\n",
        encoding="utf-8",
    )
    with pytest.raises(LexiconError):
        read_entries(path)


def test_level_enum_is_exported() -> None:
    import triage
    from triage.corpus import LEVELS

    assert tuple(level.value for level in triage.Level) == LEVELS
    assert triage.Level("crisis").is_urgent and not triage.Level.MODERATE.is_urgent
    assert triage.Level.HIGH.rank > triage.Level.LOW.rank
