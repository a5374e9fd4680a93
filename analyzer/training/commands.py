"""Glue for the training commands: load data and encoder, train, write the artifact with its metadata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from analyzer.settings import get_settings

__all__ = ["run_calibrate_onnx", "run_train_sentiment", "run_train_themes"]


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_train_sentiment(out: Path | None = None, *, epochs: int = 3, start_layer: int = 6,
                        log: Callable[[str], None] = print) -> Path:
    """Train the sentiment head on :func:`~analyzer.training.sentiment.default_training_data`."""
    from analyzer.inference.extras import require_train_extra

    require_train_extra("training the sentiment model")  # before the torch import below
    from analyzer.inference.registry import load_encoder
    from analyzer.training.sentiment import TrainConfig, default_training_data, train_sentiment

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
    from analyzer.inference.registry import load_encoder
    from analyzer.text.themes import ThemeClassifier, load_taxonomy
    from analyzer.training.themes import theme_training_data

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
        "rules": {"praise_gate": 0.9, "fallback": 0.5, "fallback_max": 2},
    })
    # The Spanish head (themes_es.npz), featurised exactly as the pipeline sees its messages.
    from analyzer.text.pipeline import TextAnalyzer, load_analyzer
    from analyzer.training.themes import train_theme_heads

    base = load_analyzer(settings, taxonomy=taxonomy)
    train_theme_heads(TextAnalyzer(base.backend, clf, settings=settings), folder, log=log)
    return folder


def run_calibrate_onnx(*, per_source: int = 400, seed: int = 0, log: Callable[[str], None] = print) -> Path:
    """Measure the activation ranges of the int8 graphs on training texts (never evaluation parts).

    Writes ``models/sentiment/onnx_ranges.json``; the next ``build-encoder`` (or first use) then
    builds graphs with fixed activation scales. Rerun after retraining the sentiment model.
    """
    import pandas as pd
    from tokenizers import Tokenizer

    from analyzer.inference.onnx_build import calibrate_ranges, write_ranges
    from analyzer.inference.registry import E5_PREFIX, encoder_folder
    from analyzer.training import corpora as data

    settings = get_settings()
    sources = {"es_airline_tweets train": data.load_es_airline("train"),
               "en_airline_tweets train": data.load_en_airline("train"),
               "opener_es_hotels train": data.load_opener_es("train")}
    texts = pd.concat([df["text"].sample(min(per_source, len(df)), random_state=seed) for df in sources.values()])
    enc_dir = encoder_folder("e5-small", settings)
    tokenizer = Tokenizer.from_file(str(enc_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=settings.max_tokens)
    log(f"calibrating activation ranges on {len(texts)} training texts")
    ranges = calibrate_ranges(enc_dir, settings.models_dir / "sentiment", texts.astype(str).tolist(),
                              tokenizer=tokenizer, prefix=E5_PREFIX)
    source = f"{per_source} random rows (seed {seed}) of each of: " + ", ".join(sources) + f"; at {_stamp()}"
    return write_ranges(settings.models_dir / "sentiment", ranges, source=source)
