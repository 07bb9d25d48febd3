"""The estimators: the ordinal level model and TriageClassifier (model + rules).

Features come from triage.features, the level decision from triage.policy;
saving and loading live in triage.store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from triage.context import is_bare_answer
from triage.corpus import LEVELS, NEEDS
from triage.features import (
    LengthFeatures,
    NgramVectorizer,
    SignalFeatures,
    TextNormalizer,
    block_width,
    has_content,
)
from triage.normalize import normalize
from triage.policy import (
    RANK,
    Outcome,
    Policy,
    Window,
    calibrate,
    is_context_supported,
    is_supported,
)
from triage.signals import (
    analysed_spans,
    analyze,
    emergency_needs,
    rule_needs,
    scan,
)

NEED_STRATEGIES = ("rules", "model", "union")
# Training label for "below high, moderate or low unknown" (see
# CumulativeLogisticClassifier.fit); never a predicted level.
NON_URGENT = "non-urgent"


class CumulativeLogisticClassifier(ClassifierMixin, BaseEstimator):
    """Ordinal classifier for the ordered levels low < moderate < high < crisis.

    Three binary logistic regressions estimate P(level ≥ crisis), P(≥ high)
    and P(≥ moderate) (Frank & Hall's cumulative decomposition); with
    `blend_multinomial` the cumulative sums of a multinomial logistic
    regression are averaged in. Cumulative probabilities are made monotone.
    On cross-validation over train+dev this ranked crisis and urgent messages
    above low-risk ones better than a single multinomial model.
    """

    def __init__(
        self,
        *,
        C: float = 10.0,
        class_weight: Mapping[str, float] | str | None = "balanced",
        blend_multinomial: bool = True,
        max_iter: int = 3000,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.blend_multinomial = blend_multinomial
        self.max_iter = max_iter

    def _logistic(self) -> LogisticRegression:
        weight = self.class_weight
        if isinstance(weight, Mapping):
            weight = dict(weight)
        return LogisticRegression(C=self.C, class_weight=weight, max_iter=self.max_iter)

    def fit(
        self, X: Any, y: Sequence[str], sample_weight: Any = None
    ) -> CumulativeLogisticClassifier:
        """Fit the three cumulative models (and the multinomial one).

        A row labelled NON_URGENT is known to be below high but not whether
        it is moderate or low (a real-text label such as "unrelated to
        suicide, self-harm or aggression" covers both ordinary talk and
        distress): it trains the crisis and urgent heads only.
        """
        labels = np.asarray(y, dtype=object)
        self.classes_ = np.asarray(LEVELS, dtype=object)
        partial = labels == NON_URGENT
        self.cumulative_ = []
        for rank in range(3):
            target = np.isin(labels, LEVELS[: rank + 1]).astype(int)
            rows = ~partial if rank == 2 else np.ones(len(labels), dtype=bool)
            model = None
            if rows.any() and target[rows].min() != target[rows].max():
                model = self._logistic()
                weight = None if sample_weight is None else sample_weight[rows]
                if rows.all():
                    model.fit(X, target, sample_weight=weight)
                else:
                    model.fit(
                        X[np.flatnonzero(rows)], target[rows], sample_weight=weight
                    )
            self.cumulative_.append(model)
        self.multinomial_ = None
        known = labels[~partial]
        if self.blend_multinomial and len(set(known)) > 1:
            weight = self.class_weight
            # Class weights given as a dict may name levels absent from y.
            if isinstance(weight, Mapping):
                weight = {k: v for k, v in weight.items() if k in set(known)}
            multinomial = LogisticRegression(
                C=self.C, class_weight=weight, max_iter=self.max_iter
            )
            weight = None if sample_weight is None else sample_weight[~partial]
            if partial.any():
                multinomial.fit(
                    X[np.flatnonzero(~partial)], known, sample_weight=weight
                )
            else:
                multinomial.fit(X, labels, sample_weight=weight)
            self.multinomial_ = multinomial
        return self

    def heads(self) -> tuple[np.ndarray, np.ndarray]:
        """All linear heads as one (n_features, k) weight matrix and k intercepts.

        Columns: the three cumulative models, then the multinomial classes.
        A cumulative model that could not be fitted gets a -50 intercept
        (probability ~0).
        """
        coefficients = []
        intercepts = []
        reference = next(
            m for m in (*self.cumulative_, self.multinomial_) if m is not None
        )
        width = reference.coef_.shape[1]
        for model in self.cumulative_:
            if model is None:
                coefficients.append(np.zeros(width))
                intercepts.append(-50.0)
            else:
                coefficients.append(model.coef_[0])
                intercepts.append(float(model.intercept_[0]))
        if self.multinomial_ is not None:
            coefficients.extend(self.multinomial_.coef_)
            intercepts.extend(self.multinomial_.intercept_.tolist())
        return np.column_stack(coefficients), np.asarray(intercepts)

    def cumulative_from_decisions(self, decisions: np.ndarray) -> np.ndarray:
        """P(≥ crisis), P(≥ high), P(≥ moderate) from the heads' linear outputs."""
        result = expit(decisions[:, :3])
        if self.multinomial_ is not None:
            raw = decisions[:, 3:]
            if raw.shape[1] == 1:
                positive = expit(raw[:, 0])
                probabilities = np.column_stack([1.0 - positive, positive])
            else:
                probabilities = softmax(raw, axis=1)
            classes = list(self.multinomial_.classes_)
            running = np.zeros(decisions.shape[0])
            for rank, level in enumerate(LEVELS[:3]):
                if level in classes:
                    running = running + probabilities[:, classes.index(level)]
                result[:, rank] = (result[:, rank] + running) / 2.0
        result[:, 1] = np.maximum(result[:, 1], result[:, 0])
        result[:, 2] = np.maximum(result[:, 2], result[:, 1])
        return result

    def cumulative_proba(self, X: Any) -> np.ndarray:
        """Columns P(≥ crisis), P(≥ high), P(≥ moderate), monotone.

        The logistic formulas are applied to the heads directly: the same
        numbers as each model's predict_proba (a test checks it), without its
        per-call input validation (~1 ms for one message).
        """
        weights, intercepts = self.heads()
        decisions = np.asarray(X @ weights) + intercepts
        return self.cumulative_from_decisions(decisions)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Level probabilities in LEVELS order, from the cumulative ones."""
        cumulative = self.cumulative_proba(X)
        crisis, urgent, concern = cumulative.T
        return np.column_stack(
            [crisis, urgent - crisis, concern - urgent, 1.0 - concern]
        )

    def predict(self, X: Any) -> np.ndarray:
        """Most probable level (the triage decision uses thresholds instead)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def build_pipeline(
    *,
    C: float,
    class_weight: Mapping[str, float] | str | None,
    char_ngram_range: tuple[int, int],
    word_ngram_range: tuple[int, int],
    min_df: int,
    signal_features: str,
    signal_weight: float,
    blend_multinomial: bool,
    length_measure: str = "known",
) -> Pipeline:
    """The level model: normalise → char + word n-grams + rule context → ordinal LR."""
    features = FeatureUnion(
        [
            (
                "chars",
                NgramVectorizer(
                    analyzer="char", ngram_range=char_ngram_range, min_df=min_df
                ),
            ),
            # Latin-script words only: Chinese is covered by character n-grams.
            (
                "words",
                NgramVectorizer(
                    analyzer="word", ngram_range=word_ngram_range, min_df=min_df
                ),
            ),
            ("signals", SignalFeatures(features=signal_features, weight=signal_weight)),
            ("length", LengthFeatures(measure=length_measure, min_df=min_df)),
        ]
    )
    classifier = CumulativeLogisticClassifier(
        C=C, class_weight=class_weight, blend_multinomial=blend_multinomial
    )
    return Pipeline(
        [
            ("normalize", TextNormalizer()),
            ("features", features),
            ("classifier", classifier),
        ]
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """The classifier's call on one text, before it is mapped back to spans."""

    level: str
    score: float
    probabilities: dict[str, float]
    model_level: str
    floor: str | None
    reasons: tuple[str, ...]
    capped: bool
    needs: tuple[str, ...]
    window: tuple[int, int]
    # Share of the letters and digits the model knows from training, and
    # whether the unfamiliar-text guard lowered the level.
    known_share: float = 1.0
    unfamiliar: bool = False
    # The model alone leaned urgent but had no rule evidence to back it, or
    # could not read the text well: a person should look (not a higher level).
    uncertain: bool = False
    supported: bool = True


class TriageClassifier(ClassifierMixin, BaseEstimator):
    """Risk level and needs: linear model on n-grams and rule features, plus rules.

    The decision is not argmax: crisis when P(crisis) ≥ crisis_threshold, else
    high when P(crisis)+P(high) ≥ urgent_threshold, else moderate when
    P(not low) ≥ moderate_threshold, else low. Rules then raise the level
    (an explicit plan with means is crisis whatever the model says) and cap
    it at `suppressed_cap` when the only risk words are negated, idiomatic,
    in the past tense or reported ("我不是想死", "笑死", "I used to …"), as
    the corpus labels such messages moderate or low. Texts longer than
    `window` characters are scored in overlapping windows and the most urgent
    window decides.
    """

    def __init__(
        self,
        *,
        C: float = 10.0,
        class_weight: Mapping[str, float] | str | None = "balanced",
        char_ngram_range: tuple[int, int] = (1, 3),
        word_ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        signal_features: str = "context",
        signal_weight: float = 1.0,
        blend_multinomial: bool = True,
        crisis_threshold: float = 0.5,
        urgent_threshold: float = 0.5,
        moderate_threshold: float = 0.5,
        use_rules: bool = True,
        suppressed_cap: str | None = "moderate",
        length_measure: str = "known",
        min_known_share: float | None = None,
        unfamiliar_cap: str | None = "moderate",
        needs_C: float = 10.0,
        needs_threshold: float = 0.5,
        needs_strategy: Mapping[str, str] | None = None,
        window: int = 600,
        stride: int = 300,
        unsupported_crisis_threshold: float | None = None,
        unsupported_urgent_threshold: float | None = None,
        calibration: Sequence[Sequence[float]] | None = None,
        segment: int | None = 300,
        second_opinion_C: float = 1.0,
        second_opinion_threshold: float | None = None,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.char_ngram_range = char_ngram_range
        self.word_ngram_range = word_ngram_range
        self.min_df = min_df
        self.signal_features = signal_features
        self.signal_weight = signal_weight
        self.blend_multinomial = blend_multinomial
        self.crisis_threshold = crisis_threshold
        self.urgent_threshold = urgent_threshold
        self.moderate_threshold = moderate_threshold
        self.use_rules = use_rules
        self.suppressed_cap = suppressed_cap
        self.length_measure = length_measure
        self.min_known_share = min_known_share
        self.unfamiliar_cap = unfamiliar_cap
        self.needs_C = needs_C
        self.needs_threshold = needs_threshold
        self.needs_strategy = needs_strategy
        self.window = window
        self.stride = stride
        self.unsupported_crisis_threshold = unsupported_crisis_threshold
        self.unsupported_urgent_threshold = unsupported_urgent_threshold
        self.calibration = calibration
        self.segment = segment
        self.second_opinion_C = second_opinion_C
        self.second_opinion_threshold = second_opinion_threshold

    # -- fitting -------------------------------------------------------------

    def fit(
        self,
        X: Sequence[str],
        y: Sequence[str],
        needs: Sequence[Sequence[str] | None] | None = None,
        sample_weight: Sequence[float] | None = None,
        real: Sequence[bool] | None = None,
    ) -> TriageClassifier:
        """Fit the level pipeline, the second-opinion head and, when needs are
        given, the needs models. `real` marks real (not authored) messages."""
        labels = np.asarray(y, dtype=object)
        unknown = set(labels) - {*LEVELS, NON_URGENT}
        if unknown:
            raise ValueError(f"unknown levels: {sorted(map(str, unknown))}")
        if len(X) != len(labels):
            raise ValueError("X and y have different lengths")
        self.pipeline_ = build_pipeline(
            C=self.C,
            class_weight=self.class_weight,
            char_ngram_range=tuple(self.char_ngram_range),
            word_ngram_range=tuple(self.word_ngram_range),
            min_df=self.min_df,
            signal_features=self.signal_features,
            signal_weight=self.signal_weight,
            blend_multinomial=self.blend_multinomial,
            length_measure=self.length_measure,
        )
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64)
        self.pipeline_.fit(list(X), labels, classifier__sample_weight=weights)
        self.__dict__.pop("_heads", None)
        self.classes_ = np.asarray(LEVELS, dtype=object)
        self._fit_needs(list(X), needs)
        self._fit_second_opinion(list(X), labels, weights, real)
        return self

    def _fit_second_opinion(
        self,
        X: list[str],
        labels: np.ndarray,
        weights: np.ndarray | None,
        real: Sequence[bool] | None,
    ) -> None:
        """A binary urgent head fitted only on messages with no risk signal.

        Without a signal the level model's P(urgent) ranks real counselling
        talk poorly: it learned urgency mostly from authored messages, and
        ordinary talk about life, death and family reads like them to a bag
        of n-grams. This head sees only the messages where that is the whole
        question, with real text weighing as much in total as authored text,
        so a model-only urgent call needs its agreement (the threshold is
        tuned by cross-validation in train.unsupported_thresholds).
        """
        normalized = self.pipeline_.named_steps["normalize"].transform(X)
        rows = np.asarray(
            [not is_supported(analyze(text).matches) for text in normalized]
        )
        width = sum(
            block_width(step)
            for _, step in self.pipeline_.named_steps["features"].transformer_list
        )
        self.second_opinion_coef_ = np.zeros(width)
        self.second_opinion_intercept_ = 50.0  # unfitted: always agrees
        self.second_opinion_fitted_ = False
        target = np.isin(labels, ("crisis", "high")).astype(int)
        if not rows.any() or target[rows].min() == target[rows].max():
            return
        weight = np.ones(len(X)) if weights is None else np.asarray(weights, float)
        weight = weight.copy()
        if real is not None:
            is_real = np.asarray(real, dtype=bool)
            authored_total = weight[rows & ~is_real].sum()
            real_total = weight[rows & is_real].sum()
            if authored_total > 0 and real_total > 0:
                weight[is_real] *= authored_total / real_total
        chosen = np.flatnonzero(rows)
        features = self._features([normalized[i] for i in chosen])
        model = LogisticRegression(
            C=self.second_opinion_C, class_weight="balanced", max_iter=3000
        )
        model.fit(features, target[chosen], sample_weight=weight[chosen])
        self.second_opinion_coef_ = model.coef_[0]
        self.second_opinion_intercept_ = float(model.intercept_[0])
        self.second_opinion_fitted_ = True

    def _fit_needs(
        self, X: list[str], needs: Sequence[Sequence[str] | None] | None
    ) -> None:
        """One binary LR per need on the shared features.

        Rows whose needs are None (e.g. extra data without needs labels) are
        left out of the needs models.
        """
        features = self.pipeline_.named_steps["features"]
        width = sum(block_width(step) for _, step in features.transformer_list)
        self.needs_coef_ = np.zeros((len(NEEDS), width))
        self.needs_intercept_ = np.full(len(NEEDS), -np.inf)
        self.needs_fitted_ = np.zeros(len(NEEDS), dtype=bool)
        if needs is None:
            return
        if len(needs) != len(X):
            raise ValueError("needs and X have different lengths")
        rows = [index for index, row in enumerate(needs) if row is not None]
        if not rows:
            return
        known = [X[index] for index in rows]
        features = self._features(
            self.pipeline_.named_steps["normalize"].transform(known)
        )
        for index, need in enumerate(NEEDS):
            target = np.asarray([need in (needs[row] or ()) for row in rows], dtype=int)
            if target.min() == target.max():
                continue  # nothing to learn; rules alone serve this need
            model = LogisticRegression(
                C=self.needs_C, class_weight="balanced", max_iter=3000
            )
            model.fit(features, target)
            self.needs_coef_[index] = model.coef_[0]
            self.needs_intercept_[index] = model.intercept_[0]
            self.needs_fitted_[index] = True

    # -- scoring -------------------------------------------------------------

    def _features(self, normalized: Sequence[str]) -> sparse.csr_matrix:
        """Shared feature matrix (the FeatureUnion's output) for normalised texts."""
        union = self.pipeline_.named_steps["features"]
        texts = list(normalized)
        blocks = [step.transform(texts) for _, step in union.transformer_list]
        return sparse.hstack(blocks, format="csr")

    def _stacked_heads(self) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Every linear head (levels, then needs) as one weight matrix, cached."""
        cached = self.__dict__.get("_heads")
        if cached is None:
            weights, intercepts = self.pipeline_.named_steps["classifier"].heads()
            unfitted = np.where(self.needs_fitted_, self.needs_intercept_, -50.0)
            weights = np.ascontiguousarray(
                np.hstack(
                    [weights, self.needs_coef_.T, self.second_opinion_coef_[:, None]]
                )
            )
            intercepts = np.concatenate(
                [
                    intercepts,
                    unfitted,
                    [self.second_opinion_intercept_],
                ]
            )
            union = self.pipeline_.named_steps["features"]
            cached = (weights, intercepts, [step for _, step in union.transformer_list])
            self._heads = cached
        return cached

    def _linear_outputs(self, normalized: Sequence[str]) -> np.ndarray:
        """Linear outputs of all heads: features @ weights + intercepts.

        The same numbers as building the FeatureUnion matrix and calling each
        model (a test checks it), computed block by block with NumPy: scipy
        sparse construction and scikit-learn's input validation cost ~1 ms per
        call, which would be most of the single-message latency budget.
        """
        weights, intercepts, blocks = self._stacked_heads()
        texts = list(normalized)
        outputs = np.tile(intercepts, (len(texts), 1))
        offset = 0
        for block in blocks:
            indices, values, lengths = block.components(texts)
            width = block_width(block)
            if len(indices):
                contributions = values[:, None] * weights[indices + offset]
                nonempty = lengths > 0
                starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[nonempty]
                outputs[nonempty] += np.add.reduceat(contributions, starts, axis=0)
            offset += width
        return outputs

    def __getstate__(self) -> dict[str, Any]:
        """Drop the cached stacked heads: they are rebuilt after loading."""
        state = dict(self.__dict__)
        state.pop("_heads", None)
        return state

    def _windows_of(self, text: str) -> list[tuple[int, int, bool]]:
        """(start, end, scored by the model) spans of a text.

        Up to `segment` characters the text is one span. A longer text is
        read sentence by sentence (sentences packed into spans of at most
        `segment` characters) so that the level comes from its riskiest
        part, not from its length; `window`-sized spans over the whole text
        are read by the rules only, for evidence that spans sentences.
        """
        limit = self.segment or self.window
        if len(text) <= limit:
            return [(0, len(text), True)]
        windows: list[tuple[int, int, bool]] = []
        for begin, end in analysed_spans(len(text)):
            windows.extend(
                (start, stop, True)
                for start, stop in _segments(text, begin, end, limit)
            )
            if end - begin <= self.window:
                windows.append((begin, end, False))
                continue
            last = end - self.window
            starts = list(range(begin, last + 1, self.stride))
            if starts[-1] != last:
                starts.append(last)
            windows.extend((start, start + self.window, False) for start in starts)
        return windows

    def _length_block(self) -> LengthFeatures:
        """The pipeline's length step (it also knows the familiar content units)."""
        return self.pipeline_.named_steps["features"].named_transformers["length"]

    def _score_windows(
        self, normalized: Sequence[str]
    ) -> tuple[list[list[Window]], np.ndarray]:
        """Per text: its windows with probabilities, floors; and needs probabilities."""
        spans = [self._windows_of(text) for text in normalized]
        pieces = [
            text[s:e]
            for text, text_spans in zip(normalized, spans, strict=True)
            for s, e, _ in text_spans
        ]
        classifier = self.pipeline_.named_steps["classifier"]
        outputs = self._linear_outputs(pieces)
        heads = outputs.shape[1] - len(NEEDS) - 1
        second_opinions = expit(outputs[:, -1])
        cumulative = calibrate(
            classifier.cumulative_from_decisions(outputs[:, :heads]), self.calibration
        )
        crisis, urgent, concern = cumulative.T
        probabilities = np.column_stack(
            [crisis, urgent - crisis, concern - urgent, 1.0 - concern]
        )
        need_probabilities = np.where(
            self.needs_fitted_, expit(outputs[:, heads:-1]), 0.0
        )
        _, known_shares = self._length_block().known_shares(pieces)
        windows: list[list[Window]] = []
        need_rows = np.zeros((len(normalized), len(NEEDS)))
        row = 0
        for index, text_spans in enumerate(spans):
            text_windows = []
            for start, end, scored in text_spans:
                analysis = analyze(pieces[row])
                use = self.use_rules
                text_windows.append(
                    Window(
                        start=start,
                        end=end,
                        probabilities=probabilities[row] if scored else _RULES_ONLY,
                        floor=analysis.floor if use else None,
                        reasons=analysis.reasons if use else (),
                        suppressed_only=use and analysis.suppressed_only,
                        known_share=float(known_shares[row]),
                        supported=not use or is_supported(analysis.matches),
                        part=scored and len(text_spans) > 1,
                        second_opinion=float(second_opinions[row]),
                        context_supported=use
                        and is_context_supported(analysis.matches),
                        bare_answer=is_bare_answer(pieces[row]),
                    )
                )
                if scored:
                    need_rows[index] = np.maximum(
                        need_rows[index], need_probabilities[row]
                    )
                row += 1
            windows.append(text_windows)
        return windows, need_rows

    def policy(self, thresholds: tuple[float, float, float] | None = None) -> Policy:
        """The decision policy at (crisis, urgent, moderate) thresholds.

        By default the fitted thresholds; tuning passes candidate ones.
        """
        crisis, urgent, moderate = thresholds or (
            self.crisis_threshold,
            self.urgent_threshold,
            self.moderate_threshold,
        )
        return Policy(
            crisis_threshold=crisis,
            urgent_threshold=urgent,
            moderate_threshold=moderate,
            unsupported_crisis_threshold=self.unsupported_crisis_threshold,
            unsupported_urgent_threshold=self.unsupported_urgent_threshold,
            second_opinion_threshold=self.second_opinion_threshold,
            suppressed_cap=self.suppressed_cap,
            min_known_share=self.min_known_share,
            unfamiliar_cap=self.unfamiliar_cap,
        )

    def decide_normalized(
        self,
        normalized: Sequence[str],
        thresholds: tuple[float, float, float] | None = None,
    ) -> list[Decision]:
        """Decisions for already-normalised texts."""
        policy = self.policy(thresholds)
        windows, need_rows = self._score_windows(normalized)
        decisions = []
        for text, text_windows, need_row in zip(
            normalized, windows, need_rows, strict=True
        ):
            if not has_content(text):
                decisions.append(_EMPTY_DECISION)
                continue
            best: tuple[int, float] | None = None
            chosen: tuple[Window, Outcome] | None = None
            leaning = 0
            for window in text_windows:
                outcome = policy.level_of(window)
                leaning = max(leaning, RANK[outcome.leaning])
                key = (RANK[outcome.level], outcome.score)
                if best is None or key > best:
                    best, chosen = key, (window, outcome)
            assert chosen is not None
            window, outcome = chosen
            # The model leaned higher than the evidence allowed, or could not
            # read the text: a person should look.
            uncertain = leaning > RANK[outcome.level] or outcome.unfamiliar
            if len(analysed_spans(len(text))) > 1:
                uncertain = True  # only the head and tail were read
            decisions.append(
                Decision(
                    level=outcome.level,
                    score=outcome.score,
                    probabilities={
                        name: float(p)
                        for name, p in zip(LEVELS, window.probabilities, strict=True)
                    },
                    model_level=outcome.model_level,
                    floor=window.floor,
                    reasons=window.reasons,
                    capped=outcome.capped,
                    needs=self._needs(text, need_row),
                    window=(window.start, window.end),
                    known_share=window.known_share,
                    unfamiliar=outcome.unfamiliar,
                    uncertain=uncertain,
                    supported=window.supported,
                )
            )
        return decisions

    def _needs(self, text: str, probabilities: np.ndarray) -> tuple[str, ...]:
        matches = scan(text) if self.use_rules else ()
        from_rules = rule_needs(matches) if self.use_rules else set()
        forced = emergency_needs(matches)
        strategy = dict(self.needs_strategy or {})
        chosen = []
        for index, need in enumerate(NEEDS):
            how = strategy.get(need, "union")
            by_model = bool(
                self.needs_fitted_[index]
                and probabilities[index] >= self.needs_threshold
            )
            by_rules = need in from_rules
            if not self.needs_fitted_[index]:
                how = "rules"  # nothing learned for this need
            wanted = {
                "rules": by_rules,
                "model": by_model,
                "union": by_model or by_rules,
            }[how]
            if wanted or need in forced:
                chosen.append(need)
        return tuple(chosen)

    def decide(self, X: Sequence[str]) -> list[Decision]:
        """Full decisions (level, score, probabilities, rules, needs) for raw texts."""
        return self.decide_normalized([normalize(text) for text in X])

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Risk level per text (thresholds and rules applied)."""
        return np.asarray([d.level for d in self.decide(X)], dtype=object)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Model probabilities in `classes_` order (most urgent window per text)."""
        decisions = self.decide(X)
        return np.asarray(
            [
                [d.probabilities[str(level)] for level in self.classes_]
                for d in decisions
            ]
        )

    def predict_needs(self, X: Sequence[str]) -> list[tuple[str, ...]]:
        """Needs tags per text."""
        return [d.needs for d in self.decide(X)]


# Probabilities of a span read by the rules only (the model says nothing).
_RULES_ONLY = np.asarray([0.0, 0.0, 0.0, 1.0])
# Sentence ends: a span of a long text never cuts a sentence it can hold.
_SENTENCE_END = re.compile(r"[。！？!?；;…\n]+|\.(?:\s|$)")


def _segments(text: str, begin: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Sentences of text[begin:end] packed into spans of at most `limit`."""
    spans: list[tuple[int, int]] = []
    start = last_cut = begin
    cuts = [m.end() for m in _SENTENCE_END.finditer(text, begin, end)]
    for cut in [*cuts, end]:
        if cut - start > limit:
            if last_cut > start:
                spans.append((start, last_cut))
                start = last_cut
            while cut - start > limit:  # one sentence longer than the limit
                spans.append((start, start + limit))
                start += limit
        last_cut = cut
    if start < end:
        spans.append((start, end))
    return spans


# Empty, whitespace-only or punctuation-only input: nothing to assess. The
# model would otherwise read "very short message" alone, which the corpus
# associates with terse crisis messages.
_EMPTY_DECISION = Decision(
    level="low",
    score=0.0,
    probabilities={"crisis": 0.0, "high": 0.0, "moderate": 0.0, "low": 1.0},
    model_level="low",
    floor=None,
    reasons=("no text to assess",),
    capped=False,
    needs=(),
    window=(0, 0),
)
