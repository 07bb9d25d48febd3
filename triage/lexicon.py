"""The lexicon, read from reviewed data files in `triage/data/lexicon/`.

Entries are written by the Hotline team from general knowledge of how people
talk about distress; no entry is taken from any dataset. Each line of
`risk.tsv`, `needs.tsv` and `idioms.tsv` is one entry: kind, name, language,
strength, the pattern (a regular expression over normalised text: NFKC,
lower case, Simplified Chinese) and an example it matches, so a clinician
can read and correct the lexicon without reading code. Lines starting with
"#" are comments. Order matters only for readability.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

LEXICON_DIR = Path(__file__).parent / "data" / "lexicon"
COLUMNS = ("kind", "name", "lang", "strength", "pattern", "example")
LANGS = ("zh", "en", "any")
STRENGTHS = (
    "crisis",
    "high",
    "combines",
    "moderate",
    "support",
    "context",
    "need",
    "suppress",
)


class LexiconError(ValueError):
    """A lexicon file is malformed."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One reviewed lexicon line."""

    kind: str
    name: str
    lang: str
    strength: str
    pattern: str
    example: str
    where: str


def read_entries(path: Path) -> list[Entry]:
    """Entries of one file, in order; LexiconError on a malformed line."""
    rows = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    reader = csv.reader(rows, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if tuple(header or ()) != COLUMNS:
        raise LexiconError(f"{path}: header must be {' '.join(COLUMNS)}")
    entries = []
    for number, fields in enumerate(reader, start=2):
        where = f"{path.name}:{number}"
        if len(fields) != len(COLUMNS):
            raise LexiconError(f"{where}: expected {len(COLUMNS)} tab-separated fields")
        entry = Entry(*fields, where=where)
        if entry.lang not in LANGS or entry.strength not in STRENGTHS:
            raise LexiconError(f"{where}: unknown lang or strength")
        if not entry.pattern:
            raise LexiconError(f"{where}: empty pattern")
        entries.append(entry)
    return entries


def load(
    directory: Path = LEXICON_DIR,
) -> tuple[
    dict[str, dict[str, tuple[str, ...]]], dict[str, tuple[str, ...]], tuple[str, ...]
]:
    """(risk lexicon by kind and name, needs lexicon by need, idioms)."""
    risk: dict[str, dict[str, list[str]]] = {}
    for entry in read_entries(directory / "risk.tsv"):
        risk.setdefault(entry.kind, {}).setdefault(entry.name, []).append(entry.pattern)
    needs: dict[str, list[str]] = {}
    for entry in read_entries(directory / "needs.tsv"):
        needs.setdefault(entry.name, []).append(entry.pattern)
    idioms = [entry.pattern for entry in read_entries(directory / "idioms.tsv")]
    return (
        {
            kind: {name: tuple(ps) for name, ps in names.items()}
            for kind, names in risk.items()
        },
        {name: tuple(ps) for name, ps in needs.items()},
        tuple(idioms),
    )


LEXICON, NEED_LEXICON, IDIOMS = load()
