"""Analysed texts cached by their text: the simulator repeats texts, and the evaluations rerun often.

:class:`CachedTextFn` wraps the text core (or any ``text_fn``) so each distinct text is analysed
once per process, and, with a Parquet file, once ever (until the file is deleted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError

__all__ = ["CachedTextFn", "TextFn", "default_text_fn"]

TextFn = Callable[[pd.DataFrame], pd.DataFrame]


class CachedTextFn:
    """Wraps a ``text_fn`` so that each distinct text is analysed once (simulated texts repeat).

    With ``cache_path`` (a Parquet file, e.g. under the git-ignored ``out/``) the analysed rows
    persist between processes: a text in the file is never analysed again. The file holds
    only what ``text_fn`` returns (the text core writes redacted text, scores and themes) plus
    the text itself as the key; delete it when the text core's models change.
    ``text_fn`` may be ``None`` when every text is known to be in the file, or built by
    ``loader`` only when a text is missing (so a warm cache never loads the models).
    """

    def __init__(self, text_fn: TextFn | None, cache_path: str | Path | None = None, *,
                 loader: Callable[[], TextFn] | None = None) -> None:
        self.text_fn = text_fn
        self.loader = loader  # builds text_fn on the first text missing from the cache (models load lazily)
        self.cache: dict[str, dict[str, Any]] = {}
        self.seconds = 0.0
        self.cache_path = Path(cache_path) if cache_path is not None else None
        if self.cache_path is not None and self.cache_path.exists():
            stored = pd.read_parquet(self.cache_path)
            for rec in stored.to_dict("records"):
                text = str(rec.pop("text"))
                self.cache[text] = {k: (list(v) if isinstance(v, np.ndarray) else v) for k, v in rec.items()}

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        texts = frame["text"].astype(str)
        new = [t for t in pd.unique(texts) if t not in self.cache]
        if new:
            if self.text_fn is None and self.loader is not None:
                self.text_fn = self.loader()
            if self.text_fn is None:
                raise ConfigError(f"{len(new)} text(s) are not in the cache {str(self.cache_path)!r} and no "
                                  f"text_fn was given to analyse them.")
            start = time.perf_counter()
            out = self.text_fn(pd.DataFrame({"text": new}))
            self.seconds += time.perf_counter() - start
            if len(out) != len(new):
                raise ConfigError(f"text_fn returned {len(out)} rows for {len(new)} texts; it must return one "
                                  f"row per input row, in order.")
            for t, row in zip(new, out.drop(columns=["text"], errors="ignore").to_dict("records"), strict=True):
                self.cache[t] = row
            self._save()
        analysed = pd.DataFrame([self.cache[t] for t in texts], index=frame.index)
        return pd.concat([frame.drop(columns=["text"]), analysed], axis=1)

    def _save(self) -> None:
        if self.cache_path is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame([{"text": t, **row} for t, row in self.cache.items()])
        tmp = self.cache_path.with_name(self.cache_path.name + ".tmp")
        frame.to_parquet(tmp)
        tmp.replace(self.cache_path)


def default_text_fn() -> TextFn:
    from analyzer.text.pipeline import load_analyzer

    return load_analyzer().analyze_frame
