"""Theme heads for one language, and the rules that keep themes in agreement with sentiment.

A :class:`LanguageHead` scores the themes of messages in its language (``es``: trained on the
Spanish complaint themes of ``es_airline_reasons``) where the default model (mostly English
data) scores them poorly. Its logit for a theme is a mix of two linear models, both additive
over the text, so the evidence span works as for the default model:

- a logistic regression on the message's L2-normalised base embedding (a mean of token vectors:
  the logit splits exactly over tokens), and
- a logistic regression on TF-IDF character n-grams of words (:class:`~analyzer.text.lexical.CharNgramScorer`:
  the logit splits exactly over words, and each word's share goes to the tokens it covers).

A theme the head was not trained on (a theme a user added to the taxonomy) keeps the default
model's score. The head carries its own thresholds and :class:`ThemeRules`, all chosen by
cross-validation on its training data (models/themes/MODEL_CARD.md).

:func:`agree_with_sentiment` applies the rules: a negative message keeps ``praise`` only when
the praise score is high (it really praises), and a negative message that names no cause (a
complaint theme other than churn intent) over its threshold gets its most likely causes when
they are likely enough.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import ModelNotFoundError, NotFittedError
from analyzer.text.intent import CHURN_INTENT
from analyzer.text.lexical import CharNgramScorer

__all__ = ["PRAISE", "LanguageHead", "ThemeRules", "agree_with_sentiment", "load_language_heads"]

#: The theme that is not a complaint.
PRAISE = "praise"
_HEAD_FILE = "themes_{lang}.npz"
_NEVER = -30.0


@dataclass(frozen=True)
class ThemeRules:
    """How themes follow the message's sentiment (negative = the most probable sentiment class).

    ``praise_gate``: a negative message keeps ``praise`` only with a praise probability at least
    this (None: no gate). ``fallback``: a negative message with no complaint theme over its
    threshold gets its most likely complaint themes whose probability is at least this (at most
    ``fallback_max``; None: no fallback).
    """

    praise_gate: float | None = 0.9
    fallback: float | None = 0.5
    fallback_max: int = 2


def agree_with_sentiment(ids: Sequence[str], found: list[list[str]], p: np.ndarray, sentiment: np.ndarray,
                         rules: Sequence[ThemeRules]) -> None:
    """Apply each row's :class:`ThemeRules` to its decided themes ``found`` (in place).

    ``p`` holds the theme probabilities ``[n, n_themes]`` in the order of ``ids``, ``sentiment``
    the sentiment probabilities ``[n, 3]`` (negative first), ``rules`` one entry per row.
    """
    # Causes: every theme but praise and churn intent (which the churn detector decides).
    complaint = np.array([t not in (PRAISE, CHURN_INTENT) for t in ids])
    k_praise = list(ids).index(PRAISE) if PRAISE in ids else None
    for i, themes in enumerate(found):
        if int(np.argmax(sentiment[i])) != 0:
            continue
        r = rules[i]
        if k_praise is not None and r.praise_gate is not None and PRAISE in themes \
                and p[i, k_praise] < r.praise_gate:
            themes.remove(PRAISE)
        if r.fallback is None or not complaint.any() or any(t not in (PRAISE, CHURN_INTENT) for t in themes):
            continue
        scores = np.where(complaint, p[i], -1.0)
        themes.extend(ids[k] for k in np.argsort(-scores)[: r.fallback_max]
                      if scores[k] >= r.fallback and ids[k] not in themes)


class LanguageHead:
    """Theme scorer for the messages of one language: embedding model mixed with a lexical model.

    ``mix`` is the weight of the embedding model's logit (the lexical model gets ``1 - mix``).
    Fitted attributes: ``weights_ [n_themes, dim]``, ``bias_``, ``threshold_``, ``trained_``,
    ``lexical_`` (or None), ``churn_threshold_`` (the churn-intent score above which the churn
    detector fires on the model alone, or None) and ``rules_``.
    """

    def __init__(self, lang: str, ids: Sequence[str], *, mix: float = 0.5, serves: Sequence[str] | None = None) -> None:
        self.lang = lang
        self.ids = list(ids)
        self.mix = mix
        # Language codes of the messages it scores (analyzer.text.langid): its own, and possibly
        # "und" (too short or unsure to tell), where the product's main language is the best guess.
        self.serves = tuple(serves or (lang,))

    # -- training --------------------------------------------------------
    def fit(self, X: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None = None, *,
            lexical_texts: Sequence[str] | None = None, lexical_Y: np.ndarray | None = None,
            C: float = 4.0, lexical: CharNgramScorer | None = None) -> LanguageHead:
        """Fit the embedding model on ``X``/``Y`` (``[n, n_themes]`` of 0/1, class-balanced per theme,
        rows weighted by ``sample_weight``) and, if given, the lexical model on ``lexical_texts``."""
        from sklearn.linear_model import LogisticRegression

        Y = np.asarray(Y, dtype=bool)
        w = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.weights_ = np.zeros((len(self.ids), X.shape[1]), np.float32)
        self.bias_ = np.full(len(self.ids), _NEVER, np.float32)
        self.trained_ = np.zeros(len(self.ids), bool)
        for k in range(len(self.ids)):
            y = Y[:, k]
            if y.sum() < 2:
                continue
            pos, neg = w[y].sum(), w[~y].sum()
            balanced = np.where(y, w * (pos + neg) / (2 * pos), w * (pos + neg) / (2 * neg))
            clf = LogisticRegression(C=C, max_iter=3000).fit(X, y, sample_weight=balanced)
            self.weights_[k], self.bias_[k], self.trained_[k] = clf.coef_[0], clf.intercept_[0], True
        self.lexical_ = None
        if lexical_texts is not None and lexical_Y is not None:
            self.lexical_ = (lexical or CharNgramScorer()).fit(lexical_texts, lexical_Y)
        self.threshold_ = np.full(len(self.ids), 0.5)
        self.churn_threshold_: float | None = None
        self.rules_ = ThemeRules()
        return self

    # -- inference -------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "weights_"):
            raise NotFittedError(f"LanguageHead({self.lang!r}) is not fitted: call fit() or load_language_heads().")

    def _lexical_mask(self) -> np.ndarray:
        """Themes whose logit mixes in the lexical model."""
        if self.lexical_ is None:
            return np.zeros(len(self.ids), bool)
        return np.asarray(self.lexical_.trained_, bool) & self.trained_

    def embedding_scale(self) -> np.ndarray:
        """``[n_themes]``: the factor of the embedding model's logit in the head's logit."""
        return np.where(self._lexical_mask(), self.mix, 1.0).astype(np.float32)

    def logits(self, X: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """``[n, n_themes]`` logits; NaN for themes the head was not trained on."""
        self._check()
        z = (X @ self.weights_.T + self.bias_) * self.embedding_scale()
        mask = self._lexical_mask()
        if mask.any() and self.lexical_ is not None:
            z[:, mask] += (1.0 - self.mix) * self.lexical_.logits(texts)[:, mask]
        z[:, ~self.trained_] = np.nan
        return np.asarray(z)

    def lexical_token_shares(self, text: str, offsets: Sequence[tuple[int, int]], shift: int) -> np.ndarray:
        """``[n_tokens, n_themes]``: the lexical model's share of each theme's logit, per token.

        Each word's share (:meth:`CharNgramScorer.word_contributions`, times ``1 - mix``) is split
        between the tokens that overlap the word, by characters; ``offsets`` are the tokens' offsets
        in the encoded string, ``shift`` the length of the prefix before the text.
        """
        out = np.zeros((len(offsets), len(self.ids)), np.float32)
        mask = self._lexical_mask()
        if self.lexical_ is None or not mask.any():
            return out
        spans, shares = self.lexical_.word_contributions(text)
        starts = np.array([a - shift for a, _ in offsets])
        ends = np.array([b - shift for _, b in offsets])
        for (ws, we), share in zip(spans, shares, strict=True):
            overlap = np.clip(np.minimum(ends, we) - np.maximum(starts, ws), 0, None).astype(np.float32)
            total = overlap.sum()
            if total > 0:
                out += np.outer(overlap / total, np.where(mask, (1.0 - self.mix) * share, 0.0))
        return out

    # -- persistence -----------------------------------------------------
    def save(self, folder: Path, meta: dict[str, Any] | None = None) -> Path:
        self._check()
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {"ids": np.array(self.ids), "weights": self.weights_.astype(np.float16),
                                  "bias": self.bias_, "threshold": self.threshold_, "trained": self.trained_}
        if self.lexical_ is not None:
            arrays.update(self.lexical_.arrays())
        head_meta = {"lang": self.lang, "mix": self.mix, "serves": list(self.serves),
                     "churn_threshold": self.churn_threshold_,
                     "rules": asdict(self.rules_), **(meta or {})}
        arrays["meta"] = np.array(json.dumps(head_meta, ensure_ascii=False))
        path = folder / _HEAD_FILE.format(lang=self.lang)
        np.savez_compressed(path, **arrays)
        return path

    @classmethod
    def load(cls, path: Path, ids: Sequence[str]) -> LanguageHead:
        """The head stored at ``path``, mapped onto the theme ids ``ids`` (the loaded taxonomy's)."""
        if not path.is_file():
            raise ModelNotFoundError(f"no theme head at {path}; train one with `darkfeedback train-themes`.")
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            head = cls(str(meta["lang"]), ids, mix=float(meta["mix"]), serves=meta.get("serves"))
            saved = {str(t): i for i, t in enumerate(z["ids"])}
            n, d = len(head.ids), z["weights"].shape[1]
            head.weights_, head.bias_ = np.zeros((n, d), np.float32), np.full(n, _NEVER, np.float32)
            head.threshold_, head.trained_ = np.full(n, 0.5), np.zeros(n, bool)
            rows = [(k, saved[t]) for k, t in enumerate(head.ids) if t in saved and bool(z["trained"][saved[t]])]
            for k, i in rows:
                head.weights_[k], head.bias_[k] = z["weights"][i].astype(np.float32), z["bias"][i]
                head.threshold_[k], head.trained_[k] = z["threshold"][i], True
            head.lexical_ = None
            if "lex_grams" in z.files:
                lex = CharNgramScorer.from_arrays(z)
                # Outputs follow the loaded taxonomy's order; themes the scorer lacks stay untrained.
                coef = np.zeros((n, lex.coef_.shape[1]), np.float32)
                intercept, trained = np.full(n, _NEVER, np.float32), np.zeros(n, bool)
                for k, i in rows:
                    coef[k], intercept[k], trained[k] = lex.coef_[i], lex.intercept_[i], lex.trained_[i]
                lex.coef_, lex.intercept_, lex.trained_ = coef, intercept, trained
                head.lexical_ = lex
        head.churn_threshold_ = None if meta.get("churn_threshold") is None else float(meta["churn_threshold"])
        head.rules_ = ThemeRules(**meta.get("rules", {}))
        head.meta = meta  # type: ignore[attr-defined]
        return head


def load_language_heads(folder: Path, ids: Sequence[str]) -> dict[str, LanguageHead]:
    """Every ``themes_<lang>.npz`` head in ``folder``, by language (none: an empty dict)."""
    heads = {}
    for path in sorted(folder.glob(_HEAD_FILE.format(lang="*"))):
        head = LanguageHead.load(path, ids)
        heads[head.lang] = head
    return heads
