"""Glue for the training commands: load data and encoder, train, write the artifact with its metadata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from analyzer.settings import get_settings

__all__ = ["run_train_sentiment", "run_train_themes"]


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_train_sentiment(out: Path | None = None, *, epochs: int = 3, start_layer: int = 6,
                        log: Callable[[str], None] = print) -> Path:
    """Train the sentiment head on :func:`~analyzer.train_sentiment.default_training_data`."""
    from analyzer.registry import load_encoder
    from analyzer.train_sentiment import TrainConfig, default_training_data, train_sentiment

    settings = get_settings()
    folder = out or settings.models_dir / "sentiment"
    encoder = load_encoder(settings.encoder, settings)
    train = default_training_data()
    cfg = TrainConfig(start_layer=start_layer, epochs=epochs)
    model, metrics = train_sentiment(encoder, train, cfg, log=log)
    model.save(folder, {
        "base_encoder": encoder.name,
        "trained_at": _stamp(),
        "config": vars(cfg),
        "training_data": train.groupby(["source", "label"]).size().rename("rows").reset_index()
        .to_dict("records"),
        "validation": metrics,
    })
    return folder


def run_train_themes(out: Path | None = None, *, taxonomy: Path | None = None,
                     log: Callable[[str], None] = print) -> Path:
    """Train the default theme model (one-vs-rest logistic regressions on e5 embeddings)."""
    from analyzer.registry import load_encoder
    from analyzer.themes import ThemeClassifier, load_taxonomy
    from analyzer.train_themes import theme_training_data

    settings = get_settings()
    folder = out or settings.models_dir / "themes"
    encoder = load_encoder(settings.encoder, settings)
    tax = load_taxonomy(taxonomy or settings.taxonomy)
    train = theme_training_data(tax)
    log(f"embedding {len(train)} training texts")
    X = encoder.encode(train["text"].tolist(), batch_size=settings.batch_size)
    clf = ThemeClassifier(tax).fit(X, train["themes"].tolist())
    clf.save(folder, {
        "base_encoder": encoder.name,
        "trained_at": _stamp(),
        "training_rows": train["source"].value_counts().to_dict(),
        "theme_rows": train["themes"].explode().value_counts().to_dict(),
        "thresholds": {t: round(float(v), 3) for t, v in zip(tax.ids, clf.threshold_, strict=True)},
    })
    return folder
