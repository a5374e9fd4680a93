"""Loaders for the public labelled datasets (read in place from ``Settings.datasets_dir``).

The data are never copied into the product (several licenses are research-only); these
functions read them where they lie and return tidy frames: ``text``, ``label`` and, where
useful, ``lang``, ``source`` and extra columns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analyzer.errors import ConfigError
from analyzer.settings import get_settings

__all__ = [
    "EN_CHURN_LABELS",
    "ES_CHURN_LABELS",
    "SENTIMENT_LABELS",
    "load_banking77",
    "load_en_airline",
    "load_en_airline_churn",
    "load_es_airline",
    "load_es_airline_churn",
    "load_es_reasons",
    "load_evomsa_es",
    "load_opener_es",
    "load_sfu_es",
    "load_uci_en",
    "load_vader",
]

SENTIMENT_LABELS = ("negative", "neutral", "positive")


def _root(datasets_dir: Path | None) -> Path:
    root = Path(datasets_dir or get_settings().datasets_dir)
    if not root.is_dir():
        raise ConfigError(
            f"datasets folder {root} does not exist. Set DARKFEEDBACK_DATASETS_DIR to the folder holding "
            "es_airline_tweets/, en_airline_tweets/, ... (the project's shared/datasets)."
        )
    return root


def load_es_airline(split: str, datasets_dir: Path | None = None) -> pd.DataFrame:
    """Spanish airline tweets; ``split`` is ``train`` or ``public_eval``."""
    df = pd.read_csv(_root(datasets_dir) / "es_airline_tweets" / f"{split}.csv", dtype={"tweet_id": str})
    return pd.DataFrame({"text": df["text"].astype(str), "label": df["airline_sentiment"], "lang": "es",
                         "source": "es_airline_tweets", "tweet_id": df["tweet_id"]})


def load_es_reasons(split: str, datasets_dir: Path | None = None) -> pd.DataFrame:
    """Spanish airline tweets with the product's complaint-theme ids (multi-label; ``split`` is
    ``train`` or ``public_eval``): ``themes`` is a list of theme ids, empty when the tweet has none."""
    df = pd.read_csv(_root(datasets_dir) / "es_airline_reasons" / f"{split}.csv", dtype={"tweet_id": str})
    themes = [[t for t in str(s).split(";") if t] if isinstance(s, str) else [] for s in df["themes"]]
    return pd.DataFrame({"text": df["text"].astype(str), "themes": themes, "label": df["airline_sentiment"],
                         "confidence": df["confidence"], "tweet_id": df["tweet_id"], "lang": "es",
                         "source": "es_airline_reasons"})


def load_en_airline(split: str, datasets_dir: Path | None = None) -> pd.DataFrame:
    """US airline tweets with the complaint reason (``negativereason``) and user handle."""
    df = pd.read_csv(_root(datasets_dir) / "en_airline_tweets" / f"{split}.csv")
    return pd.DataFrame({"text": df["text"].astype(str), "label": df["airline_sentiment"], "lang": "en",
                         "source": "en_airline_tweets", "reason": df["negativereason"].fillna(""),
                         "customer": df["name"].astype(str), "created": df["tweet_created"],
                         "unit_id": df["_unit_id"].astype(str)})


#: This project's churn-intent labels of 608 en_airline_tweets ``train`` tweets (unit ids only, never texts).
EN_CHURN_LABELS = Path(__file__).with_name("churn_intent_en_airline_train.csv")


def load_en_airline_churn(datasets_dir: Path | None = None) -> pd.DataFrame:
    """en_airline_tweets ``train`` with ``churn`` (bool) and ``labelled`` (bool) columns.

    The 608 labelled tweets are every train tweet with a word that can announce leaving ("never",
    "again", "switch", "done", "avoid", "elsewhere", "loyal", "anymore", "bye", "last time",
    "competitor", "another airline", ...), each read and labelled by hand in December 2026 with the
    guide of the evaluation labels (``analyzer/evaluation/churn.py``): 140 say the author leaves.
    The other train tweets are unlabelled (``churn`` False, ``labelled`` False); hashtags such as
    "#NeverAgain" were not among the candidate words, so a few of them do announce leaving.
    """
    en = load_en_airline("train", datasets_dir)
    labels = pd.read_csv(EN_CHURN_LABELS, dtype={"unit_id": str})
    en = en.merge(labels, on="unit_id", how="left")
    en["labelled"] = en["churn_intent"].notna()
    en["churn"] = en["churn_intent"].fillna(0).astype(bool)
    return en.drop(columns="churn_intent")


#: This project's churn-intent labels of 343 es_airline_tweets ``train`` tweets outside es_airline_reasons.
ES_CHURN_LABELS = Path(__file__).with_name("churn_intent_es_airline_train.csv")


def load_es_airline_churn(datasets_dir: Path | None = None) -> pd.DataFrame:
    """The 343 es_airline_tweets ``train`` tweets that are not in es_airline_reasons and have a word that
    can announce leaving ("nunca", "jamás", "volver", "última", "cambi…", "baja", "evit…", "recomiend…",
    "perd…", "otra compañía", "competencia", "prefiero", "olvid…", "harto", ...), each read and labelled
    for churn intent by hand in December 2026 (same guide as the English labels): only 6 announce leaving,
    most of these tweets being neutral or positive. Columns of :func:`load_es_airline` plus ``churn``."""
    es = load_es_airline("train", datasets_dir)
    labels = pd.read_csv(ES_CHURN_LABELS, dtype={"tweet_id": str})
    out = es.merge(labels, on="tweet_id", how="inner")
    out["churn"] = out["churn_intent"].astype(bool)
    return out.drop(columns="churn_intent")


def load_opener_es(split: str, datasets_dir: Path | None = None) -> pd.DataFrame:
    """OpeNER Spanish hotel-review sentences; 'none' polarity is neutral, 'mixed' is dropped."""
    df = pd.read_csv(_root(datasets_dir) / "opener_es_hotels" / "opener_es_sentences.csv")
    df = df[(df["split"] == split) & (df["sentence_polarity"] != "mixed")]
    label = df["sentence_polarity"].replace({"none": "neutral"})
    return pd.DataFrame({"text": df["text"].astype(str), "label": label, "lang": "es",
                         "source": "opener_es_hotels"}).reset_index(drop=True)


def load_uci_en(datasets_dir: Path | None = None) -> pd.DataFrame:
    """UCI labelled sentences (Amazon, Yelp, IMDb): binary positive/negative."""
    frames = []
    for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"):
        rows = []
        for line in (_root(datasets_dir) / "uci_en_sentences" / name).read_text(encoding="utf-8").splitlines():
            text, _, label = line.rpartition("\t")
            if text.strip() and label.strip() in ("0", "1"):
                rows.append((text.strip(), "positive" if label.strip() == "1" else "negative"))
        frames.append(pd.DataFrame(rows, columns=["text", "label"]).assign(source=name.split("_")[0]))
    return pd.concat(frames, ignore_index=True).assign(lang="en")


def load_sfu_es(datasets_dir: Path | None = None) -> pd.DataFrame:
    """SFU Spanish reviews: long documents, binary positive/negative."""
    df = pd.read_csv(_root(datasets_dir) / "sfu_es_reviews" / "sfu_spanish_reviews.csv")
    return pd.DataFrame({"text": df["text"].astype(str), "label": df["label"], "lang": "es",
                         "domain": df["domain"], "source": "sfu_es_reviews"})


def load_vader(datasets_dir: Path | None = None) -> pd.DataFrame:
    """VADER ground truth: mean human sentiment intensity in [-4, 4] (tweets and Amazon snippets)."""
    frames = []
    for name in ("tweets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt"):
        rows = []
        raw = (_root(datasets_dir) / "vader_groundtruth" / name).read_text(encoding="utf-8", errors="replace")
        for line in raw.splitlines():
            parts = line.split("\t", 2)
            if len(parts) == 3:
                rows.append((parts[2].strip(), float(parts[1])))
        frames.append(pd.DataFrame(rows, columns=["text", "mean_sentiment"]).assign(source=name.split("_")[0]))
    return pd.concat(frames, ignore_index=True).assign(lang="en")


def load_evomsa_es(datasets_dir: Path | None = None) -> pd.DataFrame:
    """EvoMSA Spanish tweets (TASS-style): P/N/NONE as positive/negative/neutral; NEU (mixed) dropped."""
    df = pd.read_json(_root(datasets_dir) / "evomsa_es_tweets" / "tweets.json", lines=True)
    df = df[df["klass"].isin(["P", "N", "NONE"])]
    label = df["klass"].map({"P": "positive", "N": "negative", "NONE": "neutral"})
    return pd.DataFrame({"text": df["text"].astype(str), "label": label, "lang": "es",
                         "source": "evomsa_es_tweets"}).reset_index(drop=True)


def load_banking77(split: str, datasets_dir: Path | None = None) -> pd.DataFrame:
    """BANKING77 intents; ``split`` is ``train`` or ``test``."""
    df = pd.read_csv(_root(datasets_dir) / "banking77" / f"{split}.csv")
    return pd.DataFrame({"text": df["text"].astype(str), "label": df["category"], "lang": "en"})
