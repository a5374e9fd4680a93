"""The churn-intent evaluation set, built from the public data, and the detector's precision and recall.

The set (:func:`churn_intent_set`) has three parts, none used to write or tune the detector:

- ``es``: every tweet of es_airline_reasons ``public_eval`` (927), labelled by its ``churn_intent`` theme;
- ``en``: 594 tweets of en_airline_tweets ``public_eval`` labelled for this project
  (``churn_intent_en_airline.csv``: the ids and labels, never the texts): a random sample of 300
  tweets (seed 0) and every tweet with a word that can announce leaving ("never", "again", "switch",
  "done", "lost", "avoid", "elsewhere", "loyal", "anymore", "bye", ...; 326). A tweet is churn intent
  when the author says they will not fly or buy again, are switching or thinking of switching, are
  done with the company, that it lost a customer, or tells others to stay away. The labels were
  written before the detector was run on these tweets;
- ``banking77``: the whole BANKING77 ``test`` split (3,080): ``terminate_account`` (40) is churn
  intent, every other intent (``cancel_transfer`` and card cancellations among them) is not.

Bitext's synthetic ``delete_account`` utterances are training augmentation only, never evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.text.intent import CHURN_INTENT
from analyzer.text.pipeline import TextAnalyzer
from analyzer.training import corpora as data

__all__ = ["EN_LABELS", "churn_intent_set", "evaluate_churn"]

#: This project's churn-intent labels of 594 en_airline_tweets public_eval tweets (unit ids only).
EN_LABELS = Path(__file__).with_name("churn_intent_en_airline.csv")
BUILT = "churn-intent set (es + en + banking77)"
ES = "es_airline_reasons public_eval (churn_intent labels)"


def churn_intent_set() -> pd.DataFrame:
    """Rows ``text``, ``churn`` (bool), ``part`` (es, en, banking77) and ``random`` (the en random sample)."""
    es = data.load_es_reasons("public_eval")
    frames = [pd.DataFrame({"text": es["text"], "churn": [CHURN_INTENT in t for t in es["themes"]], "part": "es",
                            "random": False})]
    labels = pd.read_csv(EN_LABELS, dtype={"unit_id": str})
    en = data.load_en_airline("public_eval").merge(labels, on="unit_id", how="inner")
    frames.append(pd.DataFrame({"text": en["text"], "churn": en["churn_intent"].astype(bool), "part": "en",
                                "random": en["in_random_sample"].astype(bool)}))
    b77 = data.load_banking77("test")
    frames.append(pd.DataFrame({"text": b77["text"], "churn": b77["label"] == "terminate_account",
                                "part": "banking77", "random": False}))
    return pd.concat(frames, ignore_index=True)


def _prf(gold: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    tp = float((gold & pred).sum())
    precision = tp / max(1.0, float(pred.sum()))
    recall = tp / max(1.0, float(gold.sum()))
    return precision, recall, 2 * tp / max(1.0, float(gold.sum() + pred.sum()))


def evaluate_churn(analyzer: TextAnalyzer, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Precision, recall and F1 of the ``churn_intent`` theme the pipeline reports, per part and overall."""
    df = churn_intent_set()
    out = analyzer.analyze_frame(df[["text"]])
    pred = np.array([CHURN_INTENT in row for row in out["themes"]], dtype=bool)
    gold = df["churn"].to_numpy(dtype=bool)
    rows: list[dict[str, Any]] = []
    parts = [(ES, df["part"].to_numpy() == "es"),
             ("en_airline_tweets public_eval, labelled sample (594)", df["part"].to_numpy() == "en"),
             ("en_airline_tweets public_eval, random part (300)", df["random"].to_numpy(dtype=bool)),
             ("banking77 test (terminate_account vs the other 76 intents)", df["part"].to_numpy() == "banking77"),
             (BUILT, np.ones(len(df), bool))]
    for name, mask in parts:
        p, r, f = _prf(gold[mask], pred[mask])
        n = int(mask.sum())
        rows += [{"task": "churn", "dataset": name, "metric": "precision", "value": p, "n": n},
                 {"task": "churn", "dataset": name, "metric": "recall", "value": r, "n": n},
                 {"task": "churn", "dataset": name, "metric": "F1", "value": f, "n": n}]
        log(f"  churn intent, {name}: P {p:.3f} R {r:.3f} F1 {f:.3f} ({int(gold[mask].sum())} of {n})")
    return rows
