"""The processing function a batch engine runs on each chunk, and its contract.

``process(frame) -> frame`` receives the canonical frame of a chunk's valid rows
(:data:`~analyzer.batch.validate.CANONICAL_COLUMNS`) and returns one row per input row, in
order. The engines load it through a :data:`ProcessFactory` (``settings -> process``), so a Ray
worker builds its own (the models load once per worker) from the driver's settings.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from analyzer.errors import ConfigError
from analyzer.settings import Settings

__all__ = ["ProcessFactory", "ProcessFn", "light_process", "load_light_process", "load_text_process", "run_process"]

ProcessFn = Callable[[pd.DataFrame], pd.DataFrame]
ProcessFactory = Callable[[Settings], ProcessFn]


def run_process(process: ProcessFn, valid: pd.DataFrame) -> pd.DataFrame:
    """Call ``process`` on a chunk's valid rows and enforce its contract (one row per row, in order)."""
    if valid.empty:
        return valid.iloc[0:0]
    out = process(valid)
    if not isinstance(out, pd.DataFrame):
        raise ConfigError(f"The processing function must return a pandas DataFrame, got {type(out).__name__}.")
    if len(out) != len(valid):
        raise ConfigError(
            f"The processing function returned {len(out)} rows for {len(valid)} input rows; it must return "
            "exactly one row per input row, in order.")
    out = out.reset_index(drop=True)
    if "source_row" not in out.columns:
        out.insert(0, "source_row", valid["source_row"].to_numpy())
    if "message_id" not in out.columns:
        out.insert(0, "message_id", valid["message_id"].to_numpy())
    return out


def light_process(frame: pd.DataFrame) -> pd.DataFrame:
    """A model-free stand-in for the text pipeline: text length and a 64-bit content hash.

    Used by tests and by ``darkfeedback analyze --pipeline light`` to exercise the file
    machinery end to end. It never copies the text itself into the output.
    """
    text = frame["text"].astype(str)
    return pd.DataFrame({
        "message_id": frame["message_id"].to_numpy(),
        "customer_id": frame["customer_id"].to_numpy(),
        "timestamp": frame["timestamp"].reset_index(drop=True),
        "channel": frame["channel"].to_numpy(),
        "text_chars": text.str.len().to_numpy(),
        "text_hash": pd.util.hash_pandas_object(text, index=False).map("{:016x}".format).to_numpy(),
    })


def load_text_process(settings: Settings) -> ProcessFn:
    """The full text pipeline (what ``darkfeedback analyze`` runs): ``load_analyzer(settings).analyze_frame``."""
    from analyzer.text.pipeline import load_analyzer

    return load_analyzer(settings).analyze_frame


def load_light_process(settings: Settings) -> ProcessFn:
    """The model-free stand-in :func:`light_process` (tests, dry runs)."""
    return light_process
