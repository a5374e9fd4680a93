"""dark-feedback: read the silent signs of customers about to leave.

The public API::

    import analyzer
    results = analyzer.analyze(["Mi pedido no ha llegado", "Great service, thanks!"])
    frame = analyzer.analyze_frame(df)            # DataFrame with a "text" column
    text_analyzer = analyzer.load_analyzer()      # the loaded models, to reuse

Heavy modules (torch, transformers, spaCy) are imported on first use of a name that needs
them, so ``import analyzer`` is cheap and nothing is loaded at import time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from analyzer.errors import (
    AnalyzerError,
    ConfigError,
    InputFormatError,
    ModelBuildError,
    ModelNotFoundError,
    NotFittedError,
    RowError,
)
from analyzer.settings import Settings, get_settings

if TYPE_CHECKING:
    import pandas as pd

    from analyzer.batch import BatchSummary, ColumnMapping, run_batch
    from analyzer.foresight import compute_alerts, run_alerts
    from analyzer.inference.registry import load_encoder
    from analyzer.text.pipeline import TextAnalyzer, load_analyzer
    from analyzer.text.results import MessageAnalysis, SentenceSentiment, SentimentResult, ThemeMatch
    from analyzer.text.themes import Taxonomy, Theme, load_taxonomy

__version__ = "0.1.0"
__all__ = [
    "AnalyzerError",
    "BatchSummary",
    "ColumnMapping",
    "ConfigError",
    "InputFormatError",
    "MessageAnalysis",
    "ModelBuildError",
    "ModelNotFoundError",
    "NotFittedError",
    "RowError",
    "SentenceSentiment",
    "SentimentResult",
    "Settings",
    "Taxonomy",
    "TextAnalyzer",
    "Theme",
    "ThemeMatch",
    "__version__",
    "analyze",
    "analyze_frame",
    "compute_alerts",
    "get_settings",
    "load_analyzer",
    "load_encoder",
    "load_taxonomy",
    "run_alerts",
    "run_batch",
]

_LAZY = {
    "BatchSummary": "analyzer.batch",
    "ColumnMapping": "analyzer.batch",
    "run_batch": "analyzer.batch",
    "MessageAnalysis": "analyzer.text.results",
    "SentenceSentiment": "analyzer.text.results",
    "TextAnalyzer": "analyzer.text.pipeline",
    "load_analyzer": "analyzer.text.pipeline",
    "load_encoder": "analyzer.inference.registry",
    "SentimentResult": "analyzer.text.results",
    "Taxonomy": "analyzer.text.themes",
    "Theme": "analyzer.text.themes",
    "ThemeMatch": "analyzer.text.results",
    "load_taxonomy": "analyzer.text.themes",
    "compute_alerts": "analyzer.foresight",
    "run_alerts": "analyzer.foresight",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")


def analyze(texts: list[str]) -> list[MessageAnalysis]:
    """Analyse a list of texts with the default models (loaded once per process)."""
    from analyzer.text.pipeline import load_analyzer

    return load_analyzer().analyze(texts)


def analyze_frame(frame: pd.DataFrame, text_column: str = "text") -> pd.DataFrame:
    """Analyse a DataFrame of messages with the default models; returns one row per input row."""
    from analyzer.text.pipeline import load_analyzer

    return load_analyzer().analyze_frame(frame, text_column)
