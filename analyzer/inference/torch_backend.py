"""The fp32 PyTorch backend: the reference the heads were trained with (``Settings.backend == "torch"``).

Kept apart from :mod:`analyzer.inference.backends` so the default ONNX path never imports torch or
transformers; this module is imported only when the torch backend is asked for, and needs the
``train`` extra (``pip install 'dark-feedback[train]'``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from analyzer.inference.base import Forward, TokenBatch
from analyzer.inference.extras import require_train_extra
from analyzer.settings import Settings

if TYPE_CHECKING:
    from analyzer.inference.torch_encoder import TextEncoder
    from analyzer.inference.torch_sentiment import SentimentModel

__all__ = ["TorchBackend", "load_torch_backend"]


class TorchBackend:
    """The fp32 PyTorch path: :class:`TextEncoder` + :class:`SentimentModel` as trained."""

    name = "torch"
    concurrent = False  # one forward at a time (a lock), on torch's own thread pool

    def __init__(self, encoder: TextEncoder, sentiment: SentimentModel) -> None:
        self.encoder, self.sentiment = encoder, sentiment
        self.tokenizer = encoder.tokenizer
        self.prefix, self.pad_id, self.dim = encoder.prefix, encoder.pad_id, encoder.dim
        self.labels = tuple(sentiment.labels)
        self.temperature = sentiment.temperature
        self.sentiment_meta = sentiment.meta
        self.window_tokens = int(sentiment.meta.get("config", {}).get("max_tokens", encoder.max_tokens))
        self._lock = threading.Lock()

    def forward(self, batch: TokenBatch, *, sentiment: bool = True, base: bool = True) -> Forward:
        import torch

        from analyzer.inference.torch_encoder import Batch

        mask = torch.from_numpy(batch.mask).long()
        tb = Batch(batch.index, torch.from_numpy(batch.input_ids), mask)
        # torch modules are not safe to share between threads mid-forward (API workers).
        with self._lock, torch.inference_mode():
            trunk = self.encoder.trunk(tb, self.sentiment.start_layer)
            logits = self.sentiment.logits_from_trunk(trunk, mask).float().numpy() if sentiment else None
            hidden = (self.encoder.branch(trunk, mask, self.sentiment.start_layer).float().numpy()
                      if base else None)
        return Forward(logits, hidden)


def load_torch_backend(settings: Settings) -> TorchBackend:
    """The encoder named by ``Settings.encoder`` and the sentiment model of ``Settings.models_dir``, in fp32."""
    require_train_extra("the PyTorch backend (DARKFEEDBACK_BACKEND=torch)")
    from analyzer.inference.registry import load_encoder
    from analyzer.inference.torch_sentiment import SentimentModel

    encoder = load_encoder(settings.encoder, settings)
    return TorchBackend(encoder, SentimentModel.load(settings.models_dir / "sentiment", encoder))
