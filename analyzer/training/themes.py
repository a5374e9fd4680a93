"""Training data and training of the default complaint-theme model.

Labelled English complaints (US airline tweets, ``negativereason``) are mapped onto the
taxonomy; positive tweets in both languages teach ``praise``; neutral tweets teach "no
theme"; a few intents of the synthetic Bitext set (augmentation only, never evaluation)
cover refunds, billing, account access and churn intent, which the tweets lack; and the
taxonomy's own descriptions and examples (es/en) anchor every theme in both languages.
"""

from __future__ import annotations

import pandas as pd

from analyzer.settings import get_settings
from analyzer.text.themes import Taxonomy
from analyzer.training import corpora as data

__all__ = ["AIRLINE_REASON_TO_THEME", "BITEXT_INTENT_TO_THEME", "theme_training_data"]

AIRLINE_REASON_TO_THEME = {
    "Late Flight": "delivery_delay",
    "Cancelled Flight": "cancellation_by_company",
    "Lost Luggage": "lost_damaged_item",
    "Damaged Luggage": "lost_damaged_item",
    "Customer Service Issue": "support_responsiveness",
    "longlines": "support_responsiveness",
    "Flight Attendant Complaints": "staff_attitude",
    "Flight Booking Problems": "app_web_error",
    "Bad Flight": "product_quality",
}

BITEXT_INTENT_TO_THEME = {
    "get_refund": "refund_return",
    "track_refund": "refund_return",
    "check_refund_policy": "refund_return",
    "payment_issue": "billing_price",
    "check_invoice": "billing_price",
    "check_cancellation_fee": "billing_price",
    "recover_password": "account_access",
    "registration_problems": "account_access",
    "delete_account": "churn_intent",
    "track_order": "delivery_delay",
}


def _bitext(per_intent: int, seed: int) -> pd.DataFrame:
    folder = get_settings().datasets_dir / "bitext_support_synthetic"
    path = folder / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    df = pd.read_csv(path, usecols=["instruction", "intent"])
    df = df[df["intent"].isin(list(BITEXT_INTENT_TO_THEME))]
    n = min(per_intent, int(df["intent"].value_counts().min()))
    df = df.groupby("intent").sample(n=n, random_state=seed)
    return pd.DataFrame({"text": df["instruction"].astype(str),
                         "themes": [[BITEXT_INTENT_TO_THEME[i]] for i in df["intent"]], "source": "bitext"})


def theme_training_data(taxonomy: Taxonomy, *, bitext_per_intent: int = 60, seed: int = 0) -> pd.DataFrame:
    """Rows ``text``, ``themes`` (list of theme ids, possibly empty) and ``source``."""
    en = data.load_en_airline("train")
    es = data.load_es_airline("train")
    frames = []
    neg = en[(en["label"] == "negative") & en["reason"].isin(list(AIRLINE_REASON_TO_THEME))]
    frames.append(pd.DataFrame({"text": neg["text"], "themes": [[AIRLINE_REASON_TO_THEME[r]] for r in neg["reason"]],
                                "source": "en_airline_tweets"}))
    for df, name in ((en, "en_airline_tweets"), (es, "es_airline_tweets")):
        pos = df[df["label"] == "positive"]
        neu = df[df["label"] == "neutral"]
        frames.append(pd.DataFrame({"text": pos["text"], "themes": [["praise"]] * len(pos), "source": name}))
        frames.append(pd.DataFrame({"text": neu["text"], "themes": [[] for _ in range(len(neu))], "source": name}))
    frames.append(_bitext(bitext_per_intent, seed))
    seeds = [(text, [t.id]) for t in taxonomy.themes for text in t.seed_texts()]
    frames.append(pd.DataFrame({"text": [s for s, _ in seeds], "themes": [ids for _, ids in seeds],
                                "source": "taxonomy"}))
    out = pd.concat(frames, ignore_index=True)
    known = set(taxonomy.ids)
    out["themes"] = [[t for t in row if t in known] for row in out["themes"]]
    return out.drop_duplicates(subset=["text"]).reset_index(drop=True)
