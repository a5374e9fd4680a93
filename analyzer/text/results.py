"""From sentiment logits to calibrated probabilities, scores and results (numpy only).

Kept apart from :mod:`analyzer.inference.torch_sentiment` (the PyTorch model and its training-time code) so
that the ONNX inference path never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Files of a trained sentiment model in its folder (``models/sentiment/``).
ARTIFACT_WEIGHTS = "sentiment.safetensors"
ARTIFACT_META = "sentiment.json"

__all__ = ["ARTIFACT_META", "ARTIFACT_WEIGHTS", "SentimentResult", "calibrated_probabilities", "polarity_scores",
           "sentiment_results"]


@dataclass(frozen=True)
class SentimentResult:
    """A sentiment decision with its calibrated probabilities."""

    label: str
    score: float
    probabilities: dict[str, float] = field(default_factory=dict)


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
    scores = polarity_scores(probabilities)
    return [
        SentimentResult(labels[int(np.argmax(p))], float(s),
                        {lab: float(v) for lab, v in zip(labels, p, strict=True)})
        for p, s in zip(probabilities, scores, strict=True)
    ]
