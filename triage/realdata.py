"""Real text for training and honest evaluation: PsySUICIDE (MIT).

`triage/data/psysuicide/valid.jsonl` is the validation split of PsySUICIDE
(Qiu et al., EMNLP 2024; licence beside it): 1,480 Chinese utterances from
real text counselling (`client_counselor`), a counselling chatbot
(`client_machine`), social media and synthetic dialogues, each labelled
with one or more of 11 suicide / self-harm / aggression classes. The classes
are mapped to the hotline's four levels below (the model card explains each
choice and its hard cases); a message with several classes takes the most
urgent level.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from triage.corpus import CorpusError, Example
from triage.levels import RANK

PSYSUICIDE_DIR = Path(__file__).parent / "data" / "psysuicide"
PSYSUICIDE_FILE = PSYSUICIDE_DIR / "valid.jsonl"
SOURCE_TAG = "psysuicide"
UNRELATED = "与自杀/自伤/攻击行为无关"
# Class → level. See docs/triage-model-card.md, "Real training data".
LEVEL_OF_CLASS: dict[str, str] = {
    "自杀计划": "crisis",  # suicide plan
    "自杀准备行为": "crisis",  # preparing (means gathered, goodbyes)
    "主动自杀意图": "high",  # active suicidal ideation ("I want to kill myself")
    "被动自杀意图": "high",  # passive wish to be dead ("I'd rather not wake up")
    "自杀未遂": "high",  # an attempt, mostly in the past
    "自伤意图": "high",  # wish to self-harm
    "自伤行为": "high",  # self-harm behaviour
    "用户攻击行为": "high",  # the writer's aggression towards others
    "他人攻击行为": "moderate",  # others' aggression towards the writer
    "关于自杀的探索": "moderate",  # talking about suicide, not wanting it
    UNRELATED: "low",  # none of the above: counselling talk of every kind
}


def level_of(classes: Sequence[str]) -> str:
    """The most urgent level among a message's classes."""
    unknown = [c for c in classes if c not in LEVEL_OF_CLASS]
    if unknown or not classes:
        raise CorpusError(f"unknown PsySUICIDE classes: {unknown or classes}")
    return max((LEVEL_OF_CLASS[c] for c in classes), key=RANK.__getitem__)


def is_partial(example: Example) -> bool:
    """Whether the example's level is only known to be non-urgent.

    "Unrelated to suicide, self-harm or aggression" covers small talk and
    distress alike: it says low or moderate, not which. Training uses it as
    such (model.NON_URGENT); evaluation counts it as low, which for the
    rates that matter (non-urgent flagged urgent or crisis) is the same.
    """
    return f"class:{UNRELATED}" in example.tags and len(example.tags) == 2


def load_psysuicide(path: str | Path = PSYSUICIDE_FILE) -> list[Example]:
    """PsySUICIDE as Examples (source = its source column, needs unlabelled)."""
    path = Path(path)
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            classes = record.get("labels")
            text = record.get("text")
            if not isinstance(text, str) or not isinstance(classes, list):
                raise CorpusError(f"{path}:{number}: needs text and labels")
            examples.append(
                Example(
                    id=f"psy-{record['id']}",
                    text=text,
                    level=level_of(classes),
                    lang="zh",
                    tags=(SOURCE_TAG, *(f"class:{c}" for c in classes)),
                    source=str(record.get("source", "")),
                )
            )
    return examples


def sources(examples: Sequence[Example]) -> list[str]:
    """The distinct sources, in a stable order."""
    return sorted({e.source for e in examples})
