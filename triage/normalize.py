"""Text normalisation with an offset map back to the original text."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

# Cc controls other than tab/newline become spaces (same length, no offsets lost);
# zero-width and bidi format characters are dropped because they are used to
# slip past keyword filters ("想\u200b死").  ZWJ (U+200D) stays: it binds emoji.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(
    r"[\u00ad\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
# Long runs of one character ("啊啊啊啊啊啊", "!!!!!!") are capped at three: the
# emphasis survives as a feature, the n-gram vocabulary does not explode.
# Digits are left alone so that doses and dates keep their value.
_RUN = re.compile(r"(\D)\1{3,}", re.DOTALL)
_MAX_RUN = 3

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Combining marks and Hangul jamo can compose with their neighbours under NFKC.
_COMBINING = re.compile(r"[\u0300-\u036f\u1100-\u11ff\u3099\u309a\u20d0-\u20ff]")
_LATIN = re.compile(r"[A-Za-z]")

# Typographic quotes and dashes fold to ASCII (same length) so that "don’t"
# matches the same lexicon entries as "don't".
_PUNCTUATION = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'"}
)

_converter_lock = threading.Lock()


@cache
def _converter() -> Any:
    """Return the OpenCC Traditional→Simplified converter (C++ build, loaded once)."""
    # tw2s rather than t2s: it also folds Taiwan variants (活著 → 活着).

    # The C++ wheel converts ~50x faster than opencc-python-reimplemented
    # (7 µs vs 340 µs for a 114-character message), see docs/triage-model-card.md.
    import opencc

    return opencc.OpenCC("tw2s")


def to_simplified(text: str) -> str:
    """Convert Traditional Chinese characters to Simplified."""
    if not _CJK.search(text):
        return text
    converter = _converter()
    # OpenCC's C++ object is not documented as thread-safe; converting is
    # microseconds, so a lock costs nothing measurable.
    with _converter_lock:
        return converter.convert(text)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus, per normalised character, its span in the original."""

    text: str
    original: str
    # starts[i]/ends[i]: original span of normalised character i; None = identity.
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            position = (
                self.starts[start] if start < len(self.starts) else len(self.original)
            )
            return position, position
        return self.starts[start], self.ends[end - 1]


def _fold_char(char: str) -> str:
    """Normalise one character: NFKC, lower case."""
    return unicodedata.normalize("NFKC", char).lower()


def _slow_fold(text: str) -> tuple[str, list[int], list[int]]:
    """Fold character by character, recording where each output char came from."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        if _INVISIBLE.match(char):
            continue
        folded = _fold_char(char)
        pieces.append(folded)
        starts.extend([index] * len(folded))
        ends.extend([index + 1] * len(folded))
    return "".join(pieces), starts, ends


def _slow_simplify(
    text: str, starts: list[int], ends: list[int]
) -> tuple[str, list[int], list[int]]:
    """Convert to Simplified one character at a time when lengths would shift."""
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    for index, char in enumerate(text):
        converted = to_simplified(char) or char
        pieces.append(converted)
        new_starts.extend([starts[index]] * len(converted))
        new_ends.extend([ends[index]] * len(converted))
    return "".join(pieces), new_starts, new_ends


def normalize_with_offsets(text: str) -> Normalized:
    """Normalise text for matching and modelling, keeping offsets to the original.

    Steps: control characters → spaces, invisible characters dropped, NFKC
    (full-width → half-width), lower case, Traditional → Simplified (OpenCC),
    runs of one character capped at three. Emoji and punctuation are kept.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    cleaned = _CONTROL.sub(" ", text).translate(_PUNCTUATION)
    starts: list[int] | None = None
    ends: list[int] | None = None
    folded = unicodedata.normalize("NFKC", cleaned).lower()
    # Character-for-character unless something was dropped, expanded or
    # composed: full-width punctuation ("，" → ",") keeps the fast path.
    if (
        len(folded) != len(cleaned)
        or _INVISIBLE.search(cleaned)
        or _COMBINING.search(cleaned)
    ):
        folded, starts, ends = _slow_fold(cleaned)
    simplified = to_simplified(folded)
    if len(simplified) != len(folded):
        if starts is None or ends is None:
            starts = list(range(len(folded)))
            ends = list(range(1, len(folded) + 1))
        simplified, starts, ends = _slow_simplify(folded, starts, ends)
    if _RUN.search(simplified):
        if starts is None or ends is None:
            starts = list(range(len(simplified)))
            ends = list(range(1, len(simplified) + 1))
        simplified, starts, ends = _cap_runs(simplified, starts, ends)
    if starts is None or ends is None:
        return Normalized(simplified, text)
    return Normalized(simplified, text, tuple(starts), tuple(ends))


def _cap_runs(
    text: str, starts: list[int], ends: list[int]
) -> tuple[str, list[int], list[int]]:
    """Cap runs of a repeated character at three; the kept chars span the run."""
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    position = 0
    for match in _RUN.finditer(text):
        run_start, run_end = match.span()
        pieces.append(text[position:run_start])
        new_starts.extend(starts[position:run_start])
        new_ends.extend(ends[position:run_start])
        pieces.append(match.group(1) * _MAX_RUN)
        new_starts.extend(starts[run_start : run_start + _MAX_RUN])
        new_ends.extend(ends[run_start : run_start + _MAX_RUN - 1])
        # The last kept character stands for the rest of the run.
        new_ends.append(ends[run_end - 1])
        position = run_end
    pieces.append(text[position:])
    new_starts.extend(starts[position:])
    new_ends.extend(ends[position:])
    return "".join(pieces), new_starts, new_ends


def normalize(text: str) -> str:
    """Return the normalised form of text (see normalize_with_offsets)."""
    return normalize_with_offsets(text).text


def detect_language(text: str) -> str:
    """Guess "zh", "en" or "mixed" from the scripts present (default "zh")."""
    has_cjk = _CJK.search(text) is not None
    latin_letters = len(_LATIN.findall(text))
    if has_cjk and latin_letters >= 3:
        return "mixed"
    if has_cjk:
        return "zh"
    if latin_letters:
        return "en"
    # Emoji-only or empty: the hotline's default language.
    return "zh"
