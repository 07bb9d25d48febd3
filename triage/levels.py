"""The four risk levels, most urgent first, as one enum the web app can reuse."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """A triage level; compares by urgency with `rank` (crisis highest)."""

    CRISIS = "crisis"
    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for low … 3 for crisis."""
        return _RANKS[self]

    @property
    def is_urgent(self) -> bool:
        """Crisis or high: a message a social worker must see now."""
        return self.rank >= _RANKS[Level.HIGH]


_RANKS = {Level.LOW: 0, Level.MODERATE: 1, Level.HIGH: 2, Level.CRISIS: 3}
# The same ranks keyed by plain level names, for code that holds strings.
RANK: dict[str, int] = {level.value: rank for level, rank in _RANKS.items()}
