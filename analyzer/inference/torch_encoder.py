"""A transformer text encoder (``transformers`` + ``torch``) with length-bucketed batching.

The encoder is split into a *trunk* (embeddings and lower layers) and *branches* (upper
layers).  Task heads that fine-tune upper layers (sentiment) carry their own copy of those
layers; the trunk runs once per text and every branch reuses its output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from analyzer.errors import ModelNotFoundError
from analyzer.text.tokens import truncate

__all__ = ["Batch", "TextEncoder", "mean_pool"]


@dataclass
class Batch:
    """Token ids of a batch of texts, padded, with the positions of the texts in the input."""

    index: np.ndarray  # positions in the caller's list
    input_ids: torch.Tensor
    attention_mask: torch.Tensor


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors that are not padding."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``[B, T]`` 0/1 mask to the ``[B, 1, 1, T]`` additive form that BERT layers take."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def run_layers(layers: Iterable[nn.Module], hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = additive_mask(attention_mask, hidden.dtype)
    for layer in layers:
        out = layer(hidden, attention_mask=mask)
        # transformers 4.x returns a tuple, 5.x the tensor itself.
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


class TextEncoder:
    """A BERT-shaped encoder loaded from a local Hugging Face folder, never from the network.

    ``prefix`` is prepended to every text (e5 models expect ``"query: "``).
    """

    def __init__(self, model: Any, tokenizer: Any, *, name: str, prefix: str = "",
                 max_tokens: int = 256) -> None:
        self.model: Any = model.eval()
        self.tokenizer: Any = tokenizer
        self.name = name
        self.prefix = prefix
        self.max_tokens = max_tokens
        self.pad_id = int(getattr(model.config, "pad_token_id", 0) or 0)

    @classmethod
    def from_folder(cls, folder: str | Path, *, name: str | None = None, prefix: str = "",
                    max_tokens: int = 256) -> TextEncoder:
        """Load any local Hugging Face folder holding a BERT-like model and a fast tokenizer."""
        from tokenizers import Tokenizer
        from transformers import AutoModel

        folder = Path(folder)
        if not (folder / "config.json").is_file() or not (folder / "tokenizer.json").is_file():
            raise ModelNotFoundError(
                f"{folder} is not a Hugging Face model folder: config.json and tokenizer.json are "
                "required. Point to a folder saved with save_pretrained(), or use a registry name "
                "such as 'e5-small'."
            )
        from transformers.utils import logging as hf_logging

        # The load report lists the unused pooler as "missing"; it is expected, so keep it quiet
        # for this call only (the library's global logging setting is restored).
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            model = AutoModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False,
                                              attn_implementation="sdpa")
        finally:
            hf_logging.set_verbosity(verbosity)
            hf_logging.enable_progress_bar()
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()
        # Untruncated: callers cut what they need (analyzer.text.tokens), so one tokenizer serves all.
        tokenizer.no_truncation()
        return cls(model, tokenizer, name=name or folder.name, prefix=prefix, max_tokens=max_tokens)

    # -- structure -------------------------------------------------------
    @property
    def layers(self) -> nn.ModuleList:
        layers: nn.ModuleList = self.model.encoder.layer
        return layers

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    # -- tokenization ----------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids, truncated at ``max_tokens``."""
        encodings = self.tokenizer.encode_batch([self.prefix + t for t in texts])
        return [truncate(e.ids, self.max_tokens) for e in encodings]

    def batches(self, ids: Sequence[Sequence[int]], batch_size: int) -> Iterator[Batch]:
        """Length-sorted batches so padding is small; ``Batch.index`` restores the order."""
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(ids[i]) for i in idx)
            input_ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                seq = ids[i]
                input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
                mask[row, : len(seq)] = 1
            yield Batch(idx, input_ids, mask)

    # -- forward ---------------------------------------------------------
    def trunk(self, batch: Batch, upto: int) -> torch.Tensor:
        """Hidden states after the embeddings and the first ``upto`` layers."""
        hidden = self.model.embeddings(input_ids=batch.input_ids)
        return run_layers(self.layers[:upto], hidden, batch.attention_mask)

    def branch(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int) -> torch.Tensor:
        """Run this encoder's own layers ``start..`` on trunk output."""
        return run_layers(self.layers[start:], hidden, attention_mask)

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], *, batch_size: int = 64, normalize: bool = True) -> np.ndarray:
        """Sentence embeddings (mean pooling, L2-normalised), shape ``[len(texts), dim]``."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        for batch in self.batches(self.tokenize(texts), batch_size):
            hidden = self.branch(self.trunk(batch, 0), batch.attention_mask, 0)
            pooled = mean_pool(hidden, batch.attention_mask)
            if normalize:
                pooled = nn.functional.normalize(pooled, dim=-1)
            out[batch.index] = pooled.float().numpy()
        return out
