"""Feature extraction: the pipeline steps that turn normalised text into columns.

Character and word n-grams (TF-IDF), rule-signal columns and familiar-length
columns. Each step can also hand back its rows as CSR parts (`components`)
so the classifier's fast path applies its weights without building a scipy
matrix for one message.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from triage.normalize import normalize
from triage.signals import CONTEXT_FEATURES, FEATURE_NAMES, feature_vector


class TextNormalizer(TransformerMixin, BaseEstimator):
    """Pipeline step: NFKC, lower case, Traditional → Simplified (see normalize)."""

    def fit(self, X: Sequence[str], y: object = None) -> TextNormalizer:
        """Stateless; returns self."""
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Stateless, so always ready."""
        return True

    def transform(self, X: Sequence[str]) -> list[str]:
        """Normalise each text."""
        return [normalize(text) for text in X]


_LATIN_WORD = re.compile(r"[a-z][a-z']*")


class NgramVectorizer(TransformerMixin, BaseEstimator):
    """TF-IDF over character n-grams or Latin-script word n-grams.

    scikit-learn's TfidfVectorizer does the same job, but its vocabulary is a
    dict that skops loads slowly (~1.4 s here) and its per-call overhead is
    large for one message. This keeps the vocabulary as a sorted NumPy string
    array (fast to save and load) and counts n-grams with a plain dict.
    """

    def __init__(
        self,
        *,
        analyzer: str = "char",
        ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 2,
        sublinear_tf: bool = True,
    ) -> None:
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    def _grams(self, text: str) -> list[str]:
        low, high = self.ngram_range
        if self.analyzer == "char":
            units: list[str] = list(text)
            joiner = ""
        elif self.analyzer == "word":
            units = _LATIN_WORD.findall(text)
            joiner = " "
        else:
            raise ValueError(f"unknown analyzer {self.analyzer!r}")
        grams: list[str] = []
        # n-grams of size k are (k-1)-grams joined with the next unit; map()
        # over str.__add__ builds them in C.
        previous = units
        for size in range(1, high + 1):
            if size > 1:
                if joiner:
                    previous = [
                        a + joiner + b
                        for a, b in zip(previous, units[size - 1 :], strict=False)
                    ]
                else:
                    previous = list(map(str.__add__, previous, units[size - 1 :]))
            if size >= low:
                grams.extend(previous)
        return grams

    def fit(self, X: Sequence[str], y: object = None) -> NgramVectorizer:
        """Learn the vocabulary (n-grams in ≥ min_df texts) and IDF weights."""
        document_frequency: Counter[str] = Counter()
        for text in X:
            document_frequency.update(set(self._grams(text)))
        terms = sorted(t for t, c in document_frequency.items() if c >= self.min_df)
        self.terms_ = np.asarray(terms, dtype=np.str_)
        frequencies = np.asarray(
            [document_frequency[t] for t in terms], dtype=np.float64
        )
        # Smoothed IDF, as in scikit-learn's TfidfTransformer.
        self.idf_ = np.log((1.0 + len(X)) / (1.0 + frequencies)) + 1.0
        self.n_features_out_ = len(terms)
        self._index = {term: i for i, term in enumerate(terms)}
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Drop the lookup dict: it is rebuilt from terms_ on first use."""
        state = dict(self.__dict__)
        state.pop("_index", None)
        return state

    def _lookup(self) -> dict[str, int]:
        index = self.__dict__.get("_index")
        if index is None:
            index = {str(term): i for i, term in enumerate(self.terms_.tolist())}
            self._index = index
        return index

    def components(self, X: Sequence[str]) -> Components:
        """CSR parts (column indices, values, entries per row) of the TF-IDF rows."""
        lookup = self._lookup().get
        columns: list[int] = []
        lengths: list[int] = []
        for text in X:
            # map() runs the dict lookups in C; unknown n-grams give None.
            known = [c for c in map(lookup, self._grams(text)) if c is not None]
            columns.extend(known)
            lengths.append(len(known))
        width = max(self.n_features_out_, 1)
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        keys, counts = np.unique(
            rows * width + np.asarray(columns, dtype=np.int64), return_counts=True
        )
        rows, indices = np.divmod(keys, width)
        values = counts.astype(np.float64)
        if self.sublinear_tf:
            values = 1.0 + np.log(values)
        values *= self.idf_[indices]
        norms = np.sqrt(np.bincount(rows, weights=values**2, minlength=len(lengths)))
        values /= norms[rows]
        return indices, values, np.bincount(rows, minlength=len(lengths))

    def transform(self, X: Sequence[str]) -> sparse.csr_matrix:
        """L2-normalised TF-IDF rows."""
        return _csr(self.components(X), self.n_features_out_)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """The vocabulary, prefixed by analyzer."""
        return np.asarray([f"{self.analyzer}:{t}" for t in self.terms_], dtype=object)


# (column indices, values, number of entries in each row), rows in order.
Components = tuple[np.ndarray, np.ndarray, np.ndarray]


def _csr(parts: Components, width: int) -> sparse.csr_matrix:
    indices, values, lengths = parts
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return sparse.csr_matrix((values, indices, indptr), shape=(len(lengths), width))


def _dense_components(rows: np.ndarray) -> Components:
    """Components of a small dense block, zeros dropped."""
    row_index, indices = np.nonzero(rows)
    return (
        indices,
        rows[row_index, indices].astype(np.float64),
        np.bincount(row_index, minlength=rows.shape[0]),
    )


class SignalFeatures(TransformerMixin, BaseEstimator):
    """Pipeline step: rule-signal features ("context" subset or "all"), weighted."""

    def __init__(self, features: str = "context", weight: float = 1.0) -> None:
        self.features = features
        self.weight = weight

    def fit(self, X: Sequence[str], y: object = None) -> SignalFeatures:
        """Choose the feature columns; returns self."""
        names = CONTEXT_FEATURES if self.features == "context" else FEATURE_NAMES
        if self.features not in ("context", "all"):
            raise ValueError("features must be 'context' or 'all'")
        self.columns_ = np.asarray([FEATURE_NAMES.index(n) for n in names])
        return self

    def components(self, X: Sequence[str]) -> Components:
        """CSR parts of the feature rows for already-normalised texts."""
        rows = np.asarray([feature_vector(text) for text in X], dtype=np.float64)
        rows = rows.reshape(len(X), len(FEATURE_NAMES))[:, self.columns_]
        return _dense_components(rows * self.weight)

    def transform(self, X: Sequence[str]) -> sparse.csr_matrix:
        """Feature rows for already-normalised texts."""
        return _csr(self.components(X), len(self.columns_))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the rule features."""
        return np.asarray(
            [f"signal:{FEATURE_NAMES[i]}" for i in self.columns_], dtype=object
        )


# Units of readable content: a CJK character, a Latin-script word, an emoji.
_CONTENT_UNIT = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[a-z][a-z']*"
    r"|[\u2190-\u2bff\u3297\u3299\U0001f000-\U0001faff]"
)
# Every letter or digit in any script, or an emoji: what "all of the text" counts.
_CONTENT = re.compile(r"[^\W_]|[\u2190-\u2bff\u3297\u3299\U0001f000-\U0001faff]")


class LengthFeatures(TransformerMixin, BaseEstimator):
    """Pipeline step: how much familiar text there is, and how long the text is.

    With `measure="known"` (the default) the length columns count only the
    characters of content units seen in training (CJK characters, Latin words
    and emoji in ≥ `min_df` training texts); digits, markup, links and
    gibberish do not count. A raw length column let length alone push a long
    out-of-domain string (a URL, a block of digits, code) to crisis, because
    in the corpus longer messages are more often urgent and the n-grams of
    such a string carry no evidence either way. The last column is the share
    of letters and digits that are *not* familiar.
    """

    def __init__(self, *, measure: str = "known", min_df: int = 2) -> None:
        self.measure = measure
        self.min_df = min_df

    def fit(self, X: Sequence[str], y: object = None) -> LengthFeatures:
        """Learn the familiar content units (in ≥ min_df training texts)."""
        if self.measure not in ("known", "raw"):
            raise ValueError("measure must be 'known' or 'raw'")
        frequency: Counter[str] = Counter()
        for text in X:
            frequency.update(set(_CONTENT_UNIT.findall(text)))
        units = sorted(u for u, c in frequency.items() if c >= self.min_df)
        self.units_ = np.asarray(units, dtype=np.str_)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Drop the lookup set: it is rebuilt from units_ on first use."""
        state = dict(self.__dict__)
        state.pop("_known", None)
        return state

    def _lookup(self) -> frozenset[str]:
        known = self.__dict__.get("_known")
        if known is None:
            known = frozenset(str(unit) for unit in self.units_.tolist())
            self._known = known
        return known

    def known_shares(self, X: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(familiar characters, share of letters and digits that are familiar)."""
        known_units = self._lookup()
        familiar = np.zeros(len(X))
        shares = np.ones(len(X))
        for row, text in enumerate(X):
            known = sum(
                len(unit) for unit in _CONTENT_UNIT.findall(text) if unit in known_units
            )
            total = len(_CONTENT.findall(text))
            familiar[row] = known
            if total:
                shares[row] = min(known / total, 1.0)
        return familiar, shares

    def components(self, X: Sequence[str]) -> Components:
        """CSR parts of the five columns."""
        raw = np.asarray([len(text) for text in X], dtype=np.float64)
        familiar, shares = self.known_shares(X)
        lengths = familiar if self.measure == "known" else raw
        columns = [
            np.log1p(lengths) / 6.0,
            lengths < 8,
            lengths < 20,
            raw > 200,
            1.0 - shares,
        ]
        return _dense_components(np.column_stack(columns).astype(np.float64))

    def transform(self, X: Sequence[str]) -> sparse.csr_matrix:
        """Five columns per text."""
        return _csr(self.components(X), 5)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the columns."""
        return np.asarray(
            [
                "length:log",
                "length:<8",
                "length:<20",
                "length:>200",
                "unfamiliar share",
            ],
            dtype=object,
        )


def block_width(block: Any) -> int:
    """Number of output columns of a feature block."""
    width = getattr(block, "n_features_out_", None)
    return int(width) if width is not None else len(block.get_feature_names_out())


def has_content(text: str) -> bool:
    """Whether there is anything to read: a letter, digit, CJK character or emoji."""
    return _CONTENT.search(text) is not None
