"""Rule signals: zh/en lexicons with negation, idiom and past-tense handling."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from triage.lexicon import IDIOMS, LEXICON, NEED_LEXICON
from triage.matcher import Lexicon
from triage.normalize import Normalized, normalize_with_offsets
from triage.rules import RISK_KINDS as RISK_KINDS  # re-exported
from triage.rules import active_kinds as active_kinds
from triage.rules import emergency_needs as emergency_needs
from triage.rules import is_suppressed_only as is_suppressed_only
from triage.rules import rule_floor as rule_floor
from triage.rules import rule_needs as rule_needs

# The lexicon lives in reviewed data files (triage/data/lexicon/*.tsv, one
# entry per line with its kind, language, strength and an example); see
# triage/lexicon.py. Entries that start or end with a Latin letter get word
# boundaries.

# Negators before a match: zh phrases, with at most three characters between them
# and the match (no pronoun, 了 or punctuation in between: those open a new
# clause, as in "我不会好了我想死", where the wish is not negated).
_ZH_NEGATION = re.compile(
    r"(?:不会|不是|没有|没想过?|从没|从来没|从未|绝不|决不|并不|并没|不再|不打算|没打算|不至于|"
    r"不用担心|别担心|不要担心|并非|不可能|不想|不要)[^我你他她了，,。.!！?？;；:：\s]{0,3}$"
    r"|[不没]$"
)
_ZH_NEGATION_REACH = 7
# English: a negator, then at most three words that are not a new subject and
# no clause punctuation ("I'm not sure why I want to die" is not negated).
_EN_NEGATION = re.compile(
    r"\b(?:not|never|no|don'?t|do not|won'?t|will not|wouldn'?t|would not|isn'?t|"
    r"no longer)\b(?:[^\w.,;!?]+(?!i\b|i'm\b|you\b|he\b|she\b|they\b|we\b)[\w']+){0,3}"
    r"[^\w.,;!?]*$"
    r"|\bnot (?:like|that) (?:i|i'?m)\s*$"
)
_EN_NEGATION_REACH = 48
# A past-tense marker earlier in the same clause dampens a risk signal,
# unless the clause says it went on ("去年开始就想死", "since last year").
_PAST = re.compile(
    r"(?:以前|曾经|之前|那时|那会儿|当时|当年|年前|小时候|上学的时候|去年|前几年|那几年|"
    r"有段时间|大学时|上学时|年轻时|高中时|初中时|上个月|上上个月|个月前|"
    r"[0-9一二三四五六七八九十]{1,3}月份|"
    r"\b(?:used to|years ago|a year ago|a while ago|back then|in the past|"
    r"when i was|a few years|last year|"
    r"last (?:winter|summer|spring|autumn|fall|month)|long time ago|months ago|"
    r"weeks ago|at one point|had (?:thought|tried)|as a teen|"
    r"was in a (?:really )?dark place))"
    r"(?![^，,。.!！?？;；\n]*(?:开始|以来|到现在|至今|一直|还是|又|"
    r"\bsince\b|\bstill\b|\bagain\b))"
    r"[^，,。.!！?？;；\n]*$"
)
# A time in the past later in the same clause ("I had a panic attack last
# month"), but not a duration that reaches now ("since last month"). Last
# week is too recent to dampen anything: a threat or saved pills still stand.
_PAST_AFTER = re.compile(
    r"[^，,。.!！?？;；\n]*?(?<!since )(?<!the )(?<!this )\b(?:last (?:month|year|"
    r"winter|summer|spring|autumn|fall)|(?:weeks|months|years) ago)\b"
)
_PAST_REACH = 60
# Risk words about fiction, the news or a misunderstanding in the same clause
# ("剧里女主跳楼那集", "朋友以为我要自杀") are reported, not disclosed.
_REPORTED = re.compile(
    r"(?:剧里|电视剧|电影|新闻|小说|韩剧|美剧|纪录片|角色|男主|女主|历史课|课上|刷到|网上看到|"
    r"看到一条|听说|据说|以为我|报道|"
    r"\b(?:movie|film|the show|series|novel|news|article|"
    r"book|character|documentary|read about|heard that|thought i was|story))"
    r"[^，,。.!！?？;；\n]*$"
)
_REPORTED_REACH = 30

KINDS = (*LEXICON, "need", "idiom")
STATUSES = ("active", "negated", "idiom", "past", "reported")
# Texts longer than this go to a small cache of their own (memory stays bounded).
_CACHE_LIMIT = 2000
# Longest text read in full; longer ones are read at their head and tail.
MAX_ANALYSED = 8000


class Match(NamedTuple):
    """A lexicon hit on normalised text."""

    kind: str
    name: str
    lang: str
    start: int
    end: int
    status: str


class Signal(NamedTuple):
    """A rule signal with its span [start, end) in the original text."""

    name: str
    kind: str
    lang: str
    start: int
    end: int
    text: str
    status: str = "active"

    def to_dict(self) -> dict[str, object]:
        """Serialise for JSON (DESIGN §3 `signals` items)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "lang": self.lang,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "status": self.status,
        }


_CJK = re.compile(r"[\u3400-\u9fff]")


_ALL_LEXICON = Lexicon(
    {
        **{(k, n): ps for k, groups in LEXICON.items() for n, ps in groups.items()},
        **{("need", n): ps for n, ps in NEED_LEXICON.items()},
        ("idiom", "idiom"): IDIOMS,
    }
)


def _language(fragment: str) -> str:
    return "zh" if _CJK.search(fragment) else "en"


def _is_negated(text: str, start: int, lang: str) -> bool:
    if lang == "zh":
        window = text[max(0, start - _ZH_NEGATION_REACH) : start]
        return _ZH_NEGATION.search(window) is not None
    window = text[max(0, start - _EN_NEGATION_REACH) : start]
    return _EN_NEGATION.search(window) is not None


def _is_past(text: str, start: int, end: int) -> bool:
    if _PAST.search(text, max(0, start - _PAST_REACH), start) is not None:
        return True
    return _PAST_AFTER.match(text, end, end + _PAST_REACH) is not None


def _is_reported(text: str, start: int) -> bool:
    return _REPORTED.search(text, max(0, start - _REPORTED_REACH), start) is not None


def analysed_spans(length: int) -> list[tuple[int, int]]:
    """The parts of a text of this length that are read: all of it up to
    MAX_ANALYSED characters, else its head and its tail.

    Messages are at most 4,000 characters (the web app refuses more); a
    library caller's longer paste is read where a person puts what matters
    most (the start and the end), so the cost of one call stays bounded.
    """
    if length <= MAX_ANALYSED:
        return [(0, length)]
    half = MAX_ANALYSED // 2
    return [(0, half), (length - half, length)]


def _hits(text: str) -> list[tuple[int, int, tuple[tuple[str, str], ...]]]:
    spans = analysed_spans(len(text))
    if len(spans) == 1:
        return _ALL_LEXICON.hits(text)
    found = []
    for start, end in spans:
        found.extend(
            (s + start, e + start, labels)
            for s, e, labels in _ALL_LEXICON.hits(text[start:end])
        )
    return found


def _scan(text: str) -> tuple[Match, ...]:
    hits = _hits(text)
    idioms = [(start, end) for start, end, labels in hits if labels[0][0] == "idiom"]
    found: list[Match] = [
        Match("idiom", "idiom", _language(text[s:e]), s, e, "idiom") for s, e in idioms
    ]
    # A hit's status depends only on the text around it (within the reaches
    # of the negation, past and reported checks), so repeated fragments
    # ("想死想死想死…") are checked once: the cost of a long paste stays
    # proportional to its length, not to its number of hits.
    statuses: dict[tuple[str, str, str], tuple[str, str]] = {}
    reach = max(_ZH_NEGATION_REACH, _EN_NEGATION_REACH, _PAST_REACH, _REPORTED_REACH)
    for start, end, labels in hits:
        if labels[0][0] == "idiom":
            continue
        inside_idiom = any(s <= start and end <= e for s, e in idioms)
        key = (
            text[max(0, start - reach) : start],
            text[start:end],
            text[end : end + _PAST_REACH] + ("|idiom" if inside_idiom else ""),
        )
        known = statuses.get(key)
        if known is None:
            lang = _language(text[start:end])
            if inside_idiom:
                base_status = "idiom"
            elif _is_negated(text, start, lang):
                base_status = "negated"
            else:
                base_status = "active"
            context = "active"
            if base_status == "active" and any(k in RISK_KINDS for k, _ in labels):
                context = (
                    "reported"
                    if _is_reported(text, start)
                    else "past"
                    if _is_past(text, start, end)
                    else "active"
                )
            status = base_status if base_status != "active" else context
            known = statuses[key] = (lang, status)
        lang, risk_status = known
        for kind, name in labels:
            if risk_status in ("reported", "past") and kind not in RISK_KINDS:
                status = "active"
            else:
                status = risk_status
            label = kind if name == kind else f"{kind}.{name}"
            found.append(Match(kind, label, lang, start, end, status))
    return tuple(_drop_nested(found))


def _drop_nested(matches: list[Match]) -> list[Match]:
    """Sort hits; drop one inside an earlier hit of the same kind and status."""
    matches.sort(key=lambda m: (m.start, -m.end))
    kept: list[Match] = []
    for match in matches:
        if any(
            k.kind == match.kind
            and k.status == match.status
            and k.start <= match.start < k.end
            for k in kept[-8:]
        ):
            continue
        kept.append(match)
    return kept


def scan(normalized_text: str) -> tuple[Match, ...]:
    """Find every lexicon hit (any status) in already-normalised text."""
    return analyze(normalized_text).matches


def detect(text: str | Normalized) -> list[Signal]:
    """Return all signals in text, with spans and matched text from the original."""
    normalized = text if isinstance(text, Normalized) else normalize_with_offsets(text)
    signals = []
    original = normalized.original
    span = normalized.original_span
    for match in scan(normalized.text):
        start, end = span(match.start, match.end)
        signals.append(
            Signal(
                match.name,
                match.kind,
                match.lang,
                start,
                end,
                original[start:end],
                match.status,
            )
        )
    return signals


def signal_kind(name: str) -> str:
    """The kind of a signal name: names are a kind, or a kind and a detail
    ("intent.jump"); staff are shown the kind."""
    return name.partition(".")[0]


FEATURE_NAMES: tuple[str, ...] = (
    *(f"{kind}:{status}" for kind in (*LEXICON, "idiom") for status in STATUSES),
    *(f"need:{name}" for name in NEED_LEXICON),
    "floor:crisis",
    "floor:high",
    "suppressed_only",
)
_FEATURE_INDEX = {name: index for index, name in enumerate(FEATURE_NAMES)}


class Analysis(NamedTuple):
    """Everything the rules say about one normalised text."""

    matches: tuple[Match, ...]
    floor: str | None
    reasons: tuple[str, ...]
    suppressed_only: bool
    features: tuple[float, ...]


def _analyze(normalized_text: str) -> Analysis:
    matches = _scan(normalized_text)
    floor, reasons = rule_floor(matches)
    suppressed_only = is_suppressed_only(matches)
    values = [0.0] * len(FEATURE_NAMES)
    for match in matches:
        if match.kind == "need":
            if match.status != "active":
                continue
            key = f"need:{match.name.removeprefix('need.')}"
        else:
            key = f"{match.kind}:{match.status}"
        index = _FEATURE_INDEX.get(key)
        if index is not None:
            values[index] = 1.0
    if floor in ("crisis", "high"):
        values[_FEATURE_INDEX[f"floor:{floor}"]] = 1.0
    if suppressed_only:
        values[_FEATURE_INDEX["suppressed_only"]] = 1.0
    return Analysis(matches, floor, tuple(reasons), suppressed_only, tuple(values))


# One message is analysed several times per assessment (model features,
# rule floor, spans, needs); the cache makes the repeats free. Long texts
# have a small cache of their own so memory stays bounded (a long message is
# still analysed once per assessment, not once per use).
_analyze_cached = lru_cache(maxsize=16384)(_analyze)
_analyze_long = lru_cache(maxsize=8)(_analyze)


def analyze(normalized_text: str) -> Analysis:
    """Hits, rule floor, suppression and model features of normalised text."""
    if len(normalized_text) > _CACHE_LIMIT:
        return _analyze_long(normalized_text)
    return _analyze_cached(normalized_text)


def clear_caches() -> None:
    """Forget cached analyses (for timing measurements and tests)."""
    _analyze_cached.cache_clear()
    _analyze_long.cache_clear()


def feature_vector(normalized_text: str) -> tuple[float, ...]:
    """Numeric rule features for the model (presence per kind and status)."""
    return analyze(normalized_text).features


# Kinds that describe how something is said rather than what risk it names.
CONTEXT_KINDS = ("question", "gratitude", "joking", "habitual", "recovery", "idiom")
# Model features: the context in which risk words appear (negated, idiomatic,
# past, reported) and the context kinds. Whether a risk word is present at all
# is left to the rule floors: as model features the hand-written risk lexicon
# made the classifier lean on it and generalise worse to unseen phrasing
# (docs/triage-model-card.md, "Method").
CONTEXT_FEATURES: tuple[str, ...] = tuple(
    name
    for name in FEATURE_NAMES
    if name.partition(":")[2] in ("negated", "idiom", "past", "reported")
    or (name.partition(":")[0] in CONTEXT_KINDS and name.endswith(":active"))
    or name == "suppressed_only"
)
