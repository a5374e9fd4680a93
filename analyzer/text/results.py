"""Every result type of the text core, and the numpy steps from sentiment logits to results.

The types carry their explanation: a sentiment with its calibrated probabilities, a theme with
the span of text that shows it, a message with its language confidence, the kinds of PII that
were redacted and its per-sentence sentiment. :meth:`MessageAnalysis.to_record` is the one
conversion of a result into a row of the analysed-messages table (:data:`analyzer.schema.ANALYSED_COLUMNS`):
native lists and dicts, no JSON text, converted once at the edge.

Nothing here imports torch (:mod:`analyzer.inference.torch_sentiment` holds the PyTorch model),
so the ONNX inference path never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: Files of a trained sentiment model in its folder (``models/sentiment/``).
ARTIFACT_WEIGHTS = "sentiment.safetensors"
ARTIFACT_META = "sentiment.json"

__all__ = [
    "ARTIFACT_META",
    "ARTIFACT_WEIGHTS",
    "MessageAnalysis",
    "SentenceSentiment",
    "SentimentResult",
    "ThemeMatch",
    "calibrated_probabilities",
    "polarity_scores",
    "sentiment_results",
]

# Scores and probabilities are rounded to this many decimals in records (the noise between
# backends and thread counts is far below it).
_DECIMALS = 4


@dataclass(frozen=True)
class SentimentResult:
    """A sentiment decision with its calibrated probabilities."""

    label: str
    """"negative", "neutral" or "positive": the most probable class."""
    score: float
    """Polarity in [-1, 1]: ``p_positive - p_negative``."""
    probabilities: dict[str, float] = field(default_factory=dict)
    """Calibrated probability of each label (they sum to 1)."""


@dataclass(frozen=True)
class SentenceSentiment:
    """Sentiment of one sentence, with its character span in the redacted text."""

    start: int
    end: int
    label: str
    score: float
    """Polarity in [-1, 1] of the sentence alone."""

    def to_record(self) -> dict[str, Any]:
        """``{start, end, label, score}`` with plain Python values."""
        return {"start": int(self.start), "end": int(self.end), "label": self.label,
                "score": round(float(self.score), _DECIMALS)}


@dataclass(frozen=True)
class ThemeMatch:
    """A theme found in a text, with its probability and the span of text that shows it."""

    theme: str
    """Theme id of the taxonomy."""
    probability: float
    evidence: str
    """The words of the redacted text that contribute most to the theme (``text[start:end]``)."""
    start: int
    end: int

    def to_record(self) -> dict[str, Any]:
        """``{theme, probability, evidence, start, end}`` with plain Python values."""
        return {"theme": self.theme, "probability": round(float(self.probability), _DECIMALS),
                "evidence": self.evidence, "start": int(self.start), "end": int(self.end)}


@dataclass(frozen=True)
class MessageAnalysis:
    """Everything the text core says about one message (the text is already redacted)."""

    text_redacted: str
    lang: str
    """"es", "en", "other" or "und" (see :mod:`analyzer.text.langid`)."""
    lang_confidence: float
    pii_types: list[str]
    """Types of the redacted entities, in text order with repeats (``[PERSON]``, ``[PHONE]``, ...)."""
    sentiment: SentimentResult
    sentences: list[SentenceSentiment] = field(default_factory=list)
    """Per-sentence sentiment; empty when the message has a single sentence."""
    themes: list[ThemeMatch] = field(default_factory=list)
    """Themes found, most probable first, each with its evidence."""

    @property
    def label(self) -> str:
        return self.sentiment.label

    @property
    def score(self) -> float:
        return self.sentiment.score

    def to_dict(self) -> dict[str, Any]:
        """The dataclass as nested dicts (every field, unrounded)."""
        return asdict(self)

    def to_record(self) -> dict[str, Any]:
        """The message's row of the analysed-messages table, without the input columns it is joined to.

        Keys in the order of :data:`analyzer.schema.ANALYSED_COLUMNS`; values are native: ``pii_types``
        (sorted, unique) and ``themes`` are lists of strings, ``sentences`` and ``theme_evidence`` lists
        of dicts; scores and probabilities rounded to 4 decimals.
        """
        p = self.sentiment.probabilities
        return {
            "lang": self.lang,
            "lang_confidence": round(float(self.lang_confidence), _DECIMALS),
            "text_redacted": self.text_redacted,
            "pii_types": sorted(set(self.pii_types)),
            "sentiment_label": self.sentiment.label,
            "sentiment_score": round(float(self.sentiment.score), _DECIMALS),
            "p_negative": round(float(p["negative"]), _DECIMALS),
            "p_neutral": round(float(p["neutral"]), _DECIMALS),
            "p_positive": round(float(p["positive"]), _DECIMALS),
            "sentences": [s.to_record() for s in self.sentences],
            "themes": [m.theme for m in self.themes],
            "theme_evidence": [m.to_record() for m in self.themes],
        }


def calibrated_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` (temperature scaling, fitted on held-out training data)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(1, keepdims=True), dtype=np.float32)


def polarity_scores(probabilities: np.ndarray) -> np.ndarray:
    """Polarity score in [-1, 1]: ``p_positive - p_negative`` (labels negative, neutral, positive)."""
    return np.asarray(probabilities[:, 2] - probabilities[:, 0])


def sentiment_results(probabilities: np.ndarray, labels: Sequence[str]) -> list[SentimentResult]:
    """One :class:`SentimentResult` per row of calibrated ``probabilities`` (columns in ``labels`` order)."""
    scores = polarity_scores(probabilities)
    return [
        SentimentResult(labels[int(np.argmax(p))], float(s),
                        {lab: float(v) for lab, v in zip(labels, p, strict=True)})
        for p, s in zip(probabilities, scores, strict=True)
    ]
