"""Truncation and windowing of token sequences, done here instead of inside the tokenizer.

The e5 tokenizer (a 250,000-piece XLM-R unigram model) holds about 290 MB in memory, so a
process keeps exactly one, set to neither truncate nor pad. Each caller cuts what it needs
from the full encoding: the theme and embedding paths truncate at ``Settings.max_tokens``,
the sentiment path cuts long texts into windows of the length the model was trained on. A
second tokenizer configured differently would cost another 290 MB. The cuts below equal what
``tokenizers`` does with ``enable_truncation(max_length=n)`` (stride 0) and its overflowing
encodings (tested in tests/test_tokens.py).

A sequence here is a full encoding: one leading and one trailing special token around the
content tokens (``<s> ... </s>`` for XLM-R).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Window", "truncate", "windows"]

Offsets = Sequence[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Window:
    """One window of a text: token ids and their character offsets in the text."""

    ids: list[int]
    offsets: list[tuple[int, int]]


def truncate(ids: Sequence[int], max_tokens: int) -> list[int]:
    """The first ``max_tokens - 2`` content tokens between the two special tokens."""
    if max_tokens < 3:
        raise ValueError(f"max_tokens must leave room for two special tokens and one more; got {max_tokens}")
    if len(ids) <= max_tokens:
        return list(ids)
    return [*ids[: max_tokens - 1], ids[-1]]


def windows(ids: Sequence[int], offsets: Offsets, size: int) -> list[Window]:
    """Consecutive windows of at most ``size`` tokens, each with its own special tokens."""
    if size < 3:
        raise ValueError(f"window size must leave room for two special tokens and one more; got {size}")
    if len(ids) <= size:
        return [Window(list(ids), list(offsets))]
    body, body_offsets, step = ids[1:-1], offsets[1:-1], size - 2
    return [
        Window([ids[0], *body[k : k + step], ids[-1]], [offsets[0], *body_offsets[k : k + step], offsets[-1]])
        for k in range(0, len(body), step)
    ]
