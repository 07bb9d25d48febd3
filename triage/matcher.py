"""Lexicon matching: entries bucketed by their possible first characters.

Reads the small regular-expression subset the lexicon is written in (no
private `re` internals), so that each position of a text tries only the
entries that can start there.
"""

from __future__ import annotations

import re
from typing import Any

_LEADING_GROUP = re.compile(r"^\(\?:([^()]*)\)(\??)(.*)$", re.DOTALL)


def _expand_leading(pattern: str) -> list[str]:
    """Split a leading "(?:a|b)rest" into "arest", "brest".

    The regex engine skips ahead by first character only when every branch
    starts with a literal, so leading groups are expanded at compile time.
    """
    match = _LEADING_GROUP.match(pattern)
    if match is None:
        return [pattern]
    options, optional, rest = match.groups()
    expanded = [option + rest for option in options.split("|")]
    if optional:
        expanded.append(rest)
    return [item for option in expanded for item in _expand_leading(option)]


_METACHARACTERS = frozenset("\\()[]{}.*+?|^$")


def _literal_prefix(pattern: str) -> str:
    """Literal characters that every match of pattern starts with."""
    length = 0
    while length < len(pattern) and pattern[length] not in _METACHARACTERS:
        length += 1
    if length < len(pattern) and pattern[length] in "?*{":
        length -= 1  # the last literal is optional
    return pattern[:length]


_PREFIX_LIMIT = 400
_ESCAPED_LITERALS = frozenset("\\.^$*+?{}[]()|-/'\" ")


class _Unenumerable(ValueError):
    """A part of a pattern whose possible first characters are too many to list."""


def _possible_prefixes(pattern: str, length: int = 2) -> set[str] | None:
    """The strings of up to `length` characters a match of pattern can start with.

    None when the pattern is too open to enumerate (\\d, ., large classes).
    Reads the small regular-expression subset the lexicon is written in
    (literals, non-capturing groups, small character classes, lookarounds,
    bounded repeats); a prefix shorter than `length` means a match can be
    that short.
    """
    try:
        items, position = _parse_sequence(pattern, 0)
    except (_Unenumerable, IndexError):
        return None
    if position != len(pattern):
        return None
    try:
        return _sequence_prefixes(items, length)
    except _Unenumerable:
        return None


# A parsed element: ("set", chars) | ("open", _) for too many characters to
# list | ("zero", None) for an assertion | ("group", [branches]),
# each with a (low, high) repeat; a branch is a list of elements.
_Element = tuple[str, Any, int, int]


def _parse_sequence(pattern: str, position: int) -> tuple[list[Any], int]:
    """Alternatives of a sequence up to ")" or the end: [[elements], ...]."""
    branches: list[list[_Element]] = [[]]
    while position < len(pattern) and pattern[position] != ")":
        char = pattern[position]
        if char == "|":
            branches.append([])
            position += 1
            continue
        element, position = _parse_atom(pattern, position)
        low, high, position = _parse_repeat(pattern, position)
        branches[-1].append((*element, low, high))
    return [("group", branches, 1, 1)], position


def _parse_atom(pattern: str, position: int) -> tuple[tuple[str, Any], int]:
    char = pattern[position]
    if char == "(":
        if pattern.startswith(("(?=", "(?!"), position):
            _, end = _parse_sequence(pattern, position + 3)
            return ("zero", None), end + 1
        if pattern.startswith(("(?<=", "(?<!"), position):
            _, end = _parse_sequence(pattern, position + 4)
            return ("zero", None), end + 1
        if not pattern.startswith("(?:", position):
            raise _Unenumerable(pattern)
        inner, end = _parse_sequence(pattern, position + 3)
        if pattern[end] != ")":
            raise _Unenumerable(pattern)
        return ("group", inner[0][1]), end + 1
    if char == "[":
        return _parse_class(pattern, position + 1)
    if char == "\\":
        escaped = pattern[position + 1]
        if escaped == "b":
            return ("zero", None), position + 2
        if escaped in _ESCAPED_LITERALS:
            return ("set", {escaped}), position + 2
        if escaped in "dDwWsS":
            return ("open", escaped), position + 2
        raise _Unenumerable(pattern)
    if char in "^$":
        return ("zero", None), position + 1
    if char == ".":
        return ("open", "."), position + 1
    if char in "*+?{":
        raise _Unenumerable(pattern)
    return ("set", {char}), position + 1


def _parse_class(pattern: str, position: int) -> tuple[tuple[str, Any], int]:
    chars: set[str] = set()
    negated = pattern[position] == "^"
    if negated:
        position += 1
    first = True
    while first or pattern[position] != "]":
        first = False
        char = pattern[position]
        if char == "\\":
            char = pattern[position + 1]
            if char not in _ESCAPED_LITERALS:
                raise _Unenumerable(pattern)
            position += 1
        if pattern[position + 1] == "-" and pattern[position + 2] != "]":
            last = pattern[position + 2]
            if ord(last) - ord(char) >= 64:
                negated = True  # too many to list
            else:
                chars.update(chr(code) for code in range(ord(char), ord(last) + 1))
            position += 3
            continue
        chars.add(char)
        position += 1
    return ("open" if negated else "set", chars), position + 1


def _parse_repeat(pattern: str, position: int) -> tuple[int, int, int]:
    """(low, high, next position) of a quantifier; high -1 is unbounded."""
    if position >= len(pattern):
        return 1, 1, position
    char = pattern[position]
    if char == "?":
        low, high, position = 0, 1, position + 1
    elif char == "*":
        low, high, position = 0, -1, position + 1
    elif char == "+":
        low, high, position = 1, -1, position + 1
    elif char == "{":
        end = pattern.index("}", position)
        body = pattern[position + 1 : end]
        low_text, comma, high_text = body.partition(",")
        low = int(low_text or 0)
        high = (int(high_text) if high_text else -1) if comma else low
        position = end + 1
    else:
        return 1, 1, position
    if position < len(pattern) and pattern[position] == "?":
        position += 1  # lazy: the same strings
    return low, high, position


def _sequence_prefixes(items: list[_Element], length: int) -> set[str]:
    results = {""}
    for element in items:
        finished = {p for p in results if len(p) >= length}
        growing = results - finished
        if not growing:
            break
        step = _element_prefixes(element, length)
        results = finished | {(p + q)[:length] for p in growing for q in step}
        if len(results) > _PREFIX_LIMIT:
            raise _Unenumerable("too many prefixes")
    return results


def _element_prefixes(element: _Element, length: int) -> set[str]:
    kind, value, low, high = element
    if kind == "zero":
        return {""}
    if kind == "open":
        raise _Unenumerable("too many first characters")
    if kind == "set":
        once = set(value)
    else:
        once = set()
        for branch in value:
            once |= _sequence_prefixes(branch, length)
    result = ({""} if low == 0 else set()) | once
    if high == -1 or high >= 2:
        result |= {(a + b)[:length] for a in once for b in once}
    return result


class Lexicon:
    """Lexicon entries bucketed by their first characters.

    A single alternation of hundreds of entries makes the regex engine try
    every branch at each position (~15 µs for a 50-character message); here
    the few positions that can start an entry are found in one pass and only
    the entries sharing those first characters are tried. Every entry is
    tried on its own, so overlapping hits of different kinds at one position
    ("舍曲林" psychiatric, "舍曲林吃完" medication stopped) are all found.
    """

    def __init__(self, groups: dict[tuple[str, str], tuple[str, ...]]) -> None:
        labels: dict[str, list[tuple[str, str]]] = {}
        for label, patterns in groups.items():
            for pattern in patterns:
                for item in _expand_leading(pattern):
                    labels.setdefault(item, []).append(label)
        self.chinese: dict[str, list[Entry]] = {}
        self.latin: dict[str, list[Entry]] = {}
        # Entries without a literal first character are searched everywhere.
        self.unanchored: list[Entry] = []
        for item, item_labels in labels.items():
            prefix = _literal_prefix(item)
            is_latin = bool(prefix) and prefix[0].isascii() and prefix[0].isalpha()
            compiled = re.compile(rf"(?:{item})(?![a-z])" if is_latin else item)
            entry = (compiled, tuple(item_labels))
            if is_latin:
                latin_keys = _possible_prefixes(item, 3) or {prefix[:3]}
                for key in latin_keys:
                    self.latin.setdefault(key, []).append(entry)
                continue
            # Every two-character start the entry can have, so that a common
            # first character ("我", "他") only triggers entries whose second
            # character is also there.
            keys = _possible_prefixes(item) or ({prefix[:2]} if prefix else set())
            if not keys or "" in keys:
                self.unanchored.append(entry)
                continue
            for key in keys:
                self.chinese.setdefault(key, []).append(entry)
        self.chinese_starts = frozenset(key[0] for key in self.chinese)

    def hits(self, text: str) -> list[tuple[int, int, tuple[tuple[str, str], ...]]]:
        """Every (start, end, labels) hit, overlapping hits included."""
        tried: list[tuple[int, list[Entry]]] = []
        chinese = self.chinese
        # Only characters that can start a non-Latin entry are looked up; the
        # intersection with the text's characters runs in C.
        for char in self.chinese_starts.intersection(text):
            position = text.find(char)
            while position != -1:
                if char in chinese:
                    tried.append((position, chinese[char]))
                pair = text[position : position + 2]
                if len(pair) == 2 and pair in chinese:
                    tried.append((position, chinese[pair]))
                position = text.find(char, position + 1)
        if self.latin and _LATIN_LETTER.search(text):
            latin = self.latin
            for word in _WORD_START.finditer(text):
                position = word.start()
                for end in (position + 1, position + 2, position + 3):
                    bucket = latin.get(text[position:end])
                    if bucket is not None:
                        tried.append((position, bucket))
        found = []
        for position, bucket in tried:
            for pattern, labels in bucket:
                match = pattern.match(text, position)
                if match is not None and match.end() > position:
                    found.append((position, match.end(), labels))
        for pattern, labels in self.unanchored:
            for match in pattern.finditer(text):
                if match.end() > match.start():
                    found.append((match.start(), match.end(), labels))
        return found


Entry = tuple[re.Pattern[str], tuple[tuple[str, str], ...]]


_LATIN_LETTER = re.compile(r"[a-z]")
_WORD_START = re.compile(r"(?<![a-z0-9'])[a-z]")


# Characters used to fill an open part of a pattern when writing an example.
_FILLERS = {"d": "1", "w": "a", "s": " ", "D": "a", "W": " ", "S": "a"}


def example_of(pattern: str) -> str:
    """A short text the pattern matches, or "" when none is found.

    Takes the first alternative of each group and the fewest repeats; a
    test checks every lexicon example against its entry.
    """
    try:
        items, position = _parse_sequence(pattern, 0)
    except (_Unenumerable, IndexError, ValueError):
        return ""
    if position != len(pattern):
        return ""
    compiled = re.compile(pattern)
    for minimum in (0, 1):
        text = _write(items, pattern, minimum)
        if text is not None and compiled.search(text):
            return text
    return ""


def _write(items: list[Any], pattern: str, minimum: int) -> str | None:
    parts = []
    for kind, value, low, high in items:
        count = max(low, min(minimum, high if high != -1 else minimum))
        if kind == "zero" or count == 0:
            continue
        if kind == "set":
            one = min(value, key=lambda c: (not c.isalnum(), c))
        elif kind == "open":
            one = _FILLERS.get(value, "a") if isinstance(value, str) else "的"
        else:
            sub = _write(value[0], pattern, minimum)
            if sub is None:
                return None
            one = sub
        parts.append(one * count)
    return "".join(parts)
