"""Linear scores over character n-grams of words, additive over the words of a text.

A :class:`CharNgramScorer` is a TF-IDF of character n-grams taken inside words (scikit-learn's
``char_wb`` analyzer: accents stripped, lower case) followed by one linear output per theme.
Because the TF-IDF vector is L2-normalised once per text, an output's logit is a sum over the
text's n-gram occurrences, and each occurrence belongs to one word: :meth:`CharNgramScorer.word_contributions`
splits the logit (minus the bias) exactly over the words, so the theme's evidence can be shown
as a span of text, as for the embedding heads.

The vocabulary, the idf weights and the output weights are plain arrays (``save``/``load`` to an
``.npz``); nothing is unpickled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import ModelNotFoundError, NotFittedError

__all__ = ["CharNgramScorer"]

_WORD = re.compile(r"\S+")


class CharNgramScorer:
    """TF-IDF of within-word character n-grams + one linear output per column of ``Y``.

    ``fit`` learns the vocabulary (n-grams in at least ``min_df`` training texts), the idf and one
    class-balanced logistic regression per output; learned attributes end in ``_``.
    """

    def __init__(self, *, ngram_range: tuple[int, int] = (2, 5), min_df: int = 2, C: float = 4.0) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.C = C

    # -- training --------------------------------------------------------
    def fit(self, texts: Sequence[str], Y: np.ndarray, sample_weight: np.ndarray | None = None) -> CharNgramScorer:
        """``Y`` is ``[n_texts, n_outputs]`` of 0/1; an output with fewer than 2 positives gets no weights."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        vec = self._vectorizer(TfidfVectorizer)
        X = vec.fit_transform(list(texts))
        self.vocabulary_ = {str(g): int(j) for g, j in vec.vocabulary_.items()}
        self.idf_ = np.asarray(vec.idf_, dtype=np.float32)
        Y = np.asarray(Y, dtype=bool)
        w = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.coef_ = np.zeros((Y.shape[1], X.shape[1]), np.float32)
        self.intercept_ = np.full(Y.shape[1], -30.0, np.float32)
        self.trained_ = np.zeros(Y.shape[1], bool)
        for k in range(Y.shape[1]):
            y = Y[:, k]
            if y.sum() < 2 or (~y).sum() < 2:
                continue
            pos, neg = w[y].sum(), w[~y].sum()
            balanced = np.where(y, w * (pos + neg) / (2 * pos), w * (pos + neg) / (2 * neg))
            clf = LogisticRegression(C=self.C, max_iter=3000).fit(X, y, sample_weight=balanced)
            self.coef_[k], self.intercept_[k], self.trained_[k] = clf.coef_[0], clf.intercept_[0], True
        return self

    def _vectorizer(self, cls: Any) -> Any:
        return cls(analyzer="char_wb", ngram_range=tuple(self.ngram_range), min_df=self.min_df, lowercase=True,
                   strip_accents="unicode", sublinear_tf=True, dtype=np.float32)

    # -- inference -------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("CharNgramScorer is not fitted: call fit() or CharNgramScorer.load().")

    def _analyzer(self) -> Any:
        if getattr(self, "_analyze", None) is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            self._analyze = self._vectorizer(TfidfVectorizer).build_analyzer()
        return self._analyze

    def _counts(self, text: str) -> tuple[list[tuple[int, int]], list[list[int]]]:
        """Words (character spans) and the vocabulary ids of their n-gram occurrences."""
        analyze, vocab = self._analyzer(), self.vocabulary_
        spans, grams = [], []
        for m in _WORD.finditer(text):
            spans.append((m.start(), m.end()))
            grams.append([vocab[g] for g in analyze(m.group()) if g in vocab])
        return spans, grams

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """``[n_texts, n_outputs]``: the outputs' logits (bias included)."""
        self._check()
        out = np.tile(self.intercept_, (len(texts), 1)).astype(np.float32)
        for i, text in enumerate(texts):
            ids, tfidf = self._vector(text)
            if len(ids):
                out[i] += self.coef_[:, ids] @ tfidf
        return out

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        _, grams = self._counts(text)
        ids, counts = np.unique(np.fromiter((g for w in grams for g in w), dtype=np.int64), return_counts=True)
        if not len(ids):
            return ids, np.zeros(0, np.float32)
        tfidf = (1.0 + np.log(counts)) * self.idf_[ids]
        return ids, (tfidf / np.linalg.norm(tfidf)).astype(np.float32)

    def word_contributions(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Words of ``text`` (character spans) and their shares ``[n_words, n_outputs]`` of each logit.

        The shares of a text sum exactly to its logits minus the bias: an n-gram's term of the
        linear sum is split equally between its occurrences, each in one word.
        """
        self._check()
        spans, grams = self._counts(text)
        share = np.zeros((len(spans), len(self.intercept_)), np.float32)
        ids, tfidf = self._vector(text)
        if not len(ids):
            return spans, share
        flat = np.fromiter((g for w in grams for g in w), dtype=np.int64)
        per_gram = {int(g): self.coef_[:, g] * v / float((flat == g).sum()) for g, v in zip(ids, tfidf, strict=True)}
        for w, gs in enumerate(grams):
            for g in gs:
                share[w] += per_gram[g]
        return spans, share

    # -- persistence -----------------------------------------------------
    def arrays(self, prefix: str = "lex_") -> dict[str, np.ndarray]:
        """The fitted state as named arrays (to be stored in an ``.npz``)."""
        self._check()
        grams = sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)
        return {f"{prefix}grams": np.array(grams), f"{prefix}idf": self.idf_,
                f"{prefix}coef": self.coef_.astype(np.float16), f"{prefix}intercept": self.intercept_,
                f"{prefix}trained": self.trained_, f"{prefix}ngram_range": np.array(self.ngram_range)}

    @classmethod
    def from_arrays(cls, z: Any, prefix: str = "lex_") -> CharNgramScorer:
        """The scorer stored by :meth:`arrays` (``z`` is a mapping such as a loaded ``.npz``)."""
        try:
            lo, hi = (int(v) for v in z[f"{prefix}ngram_range"])
            out = cls(ngram_range=(lo, hi))
            out.vocabulary_ = {str(g): j for j, g in enumerate(z[f"{prefix}grams"])}
            out.idf_ = np.asarray(z[f"{prefix}idf"], np.float32)
            out.coef_ = np.asarray(z[f"{prefix}coef"], np.float32)
            out.intercept_ = np.asarray(z[f"{prefix}intercept"], np.float32)
            out.trained_ = np.asarray(z[f"{prefix}trained"], bool)
        except KeyError as exc:
            raise ModelNotFoundError(f"the stored character n-gram scorer lacks {exc}; retrain it "
                                     "(`darkfeedback train-themes`).") from exc
        return out

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = self.arrays()
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> CharNgramScorer:
        if not path.is_file():
            raise ModelNotFoundError(f"no character n-gram scorer at {path}; "
                                     "train one with `darkfeedback train-themes`.")
        with np.load(path) as z:
            return cls.from_arrays(z)
