"""What every inference backend takes and gives: token batches in, a :class:`Forward` out.

Shared by the ONNX backend (:mod:`analyzer.inference.backends`) and the PyTorch backend
(:mod:`analyzer.inference.torch_backend`); numpy only, so either can be imported alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = ["Backend", "Forward", "TokenBatch", "mean_pool_np", "token_batches"]


@dataclass
class TokenBatch:
    """Right-padded token ids of some texts, with their positions in the caller's list."""

    index: np.ndarray  # positions in the caller's list
    input_ids: np.ndarray  # int64 [B, T]
    lengths: np.ndarray  # int64 [B]: real tokens per row

    @property
    def mask(self) -> np.ndarray:
        """``[B, T]`` float32, 1 on real tokens."""
        width = self.input_ids.shape[1]
        return (np.arange(width)[None, :] < self.lengths[:, None]).astype(np.float32)


@dataclass
class Forward:
    """What one forward pass produced; a part not asked for is None."""

    logits: np.ndarray | None  # [B, n_labels] sentiment logits, before temperature
    hidden: np.ndarray | None  # [B, T, D] base-encoder token states (theme embeddings, evidence)


def token_batches(ids: Sequence[Sequence[int]], batch_size: int, pad_id: int, *,
                  max_batch_tokens: int | None = None) -> Iterator[TokenBatch]:
    """Length-sorted batches, so padding is small; ``TokenBatch.index`` restores the order.

    With ``max_batch_tokens``, a batch also stops growing once ``rows x width`` would pass it:
    short chat messages then travel in large batches and long reviews in small ones.
    """
    order = np.argsort([len(x) for x in ids], kind="stable")
    start = 0
    while start < len(order):
        stop = min(start + batch_size, len(order))
        if max_batch_tokens:
            # ``order`` is sorted by length, so the last row of a batch sets its width.
            while stop - start > 1 and (stop - start) * len(ids[order[stop - 1]]) > max_batch_tokens:
                stop -= 1
        idx = order[start:stop]
        lengths = np.array([len(ids[i]) for i in idx], dtype=np.int64)
        input_ids = np.full((len(idx), int(lengths.max())), pad_id, dtype=np.int64)
        for row, i in enumerate(idx):
            input_ids[row, : lengths[row]] = ids[i]
        yield TokenBatch(idx, input_ids, lengths)
        start = stop


def mean_pool_np(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the token vectors that are not padding: ``[B, T, D] -> [B, D]``."""
    summed = np.einsum("btd,bt->bd", hidden, mask)
    return np.asarray(summed / np.clip(mask.sum(1, keepdims=True), 1.0, None), dtype=np.float32)


class Backend(Protocol):
    """What the pipeline needs from an inference engine."""

    name: str
    # The base encoder's, one per process (~290 MB): no truncation, no padding; the pipeline
    # cuts windows and truncates (analyzer.text.tokens).
    tokenizer: Tokenizer
    prefix: str
    pad_id: int
    dim: int
    labels: tuple[str, ...]
    temperature: float
    window_tokens: int  # the text length the sentiment model was trained on
    concurrent: bool  # whether two forward calls from two threads run in parallel
    sentiment_meta: dict[str, Any]

    def forward(self, batch: TokenBatch, *, sentiment: bool = True, base: bool = True) -> Forward: ...
