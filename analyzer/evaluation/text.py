"""Reproduce the model card: every metric, computed from the public datasets in one run.

Only evaluation parts are scored here (``public_eval``, ``test``, and sets never used in
training: SFU reviews, VADER ground truth); nothing is tuned on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from analyzer.text.pipeline import TextAnalyzer
from analyzer.text.themes import Taxonomy, Theme, ThemeClassifier
from analyzer.training import corpora as data
from analyzer.training.themes import AIRLINE_REASON_TO_THEME

__all__ = ["DEFAULT_PARTS", "PER_THEME", "TARGETS", "evaluate_all", "evaluate_banking77", "evaluate_langid",
           "evaluate_sentiment", "evaluate_themes", "evaluate_themes_es", "table_records"]

#: Parts of :func:`evaluate_all` run by default (``darkfeedback evaluate`` without ``--only``).
DEFAULT_PARTS = ("sentiment", "themes", "churn", "banking77", "langid", "pii")
#: Task name of the per-theme rows (precision, recall, F1 per theme and dataset), printed as their own table.
PER_THEME = "themes per theme"
ES_THEMES = "es_airline_reasons public_eval"
EN_THEMES = "en_airline_tweets public_eval (negativereason mapped)"

#: Targets from the issue; the table shows whether each is met.
TARGETS = {
    ("sentiment", "es_airline_tweets public_eval", "macro-F1"): 0.65,
    ("sentiment", "en_airline_tweets public_eval", "macro-F1"): 0.78,
    ("sentiment", "sfu_es_reviews (binary, document)", "macro-F1"): 0.80,
    ("sentiment", "vader_groundtruth", "Spearman(score, human mean)"): 0.65,
    ("themes", "en_airline_tweets public_eval (negativereason mapped)", "macro-F1"): 0.62,
    ("themes", "es_airline_reasons public_eval", "micro-F1"): 0.60,
    ("themes", "es_airline_reasons public_eval", "macro-F1"): 0.50,
    ("themes", "es_airline_reasons public_eval", "praise precision"): 0.70,
    ("churn", "es_airline_reasons public_eval (churn_intent labels)", "F1"): 0.50,
    ("churn", "churn-intent set (es + en + banking77)", "F1"): 0.80,
    ("themes", "banking77 test, 10 examples per theme", "accuracy"): 0.80,
    ("themes", "banking77 test, full train", "accuracy"): 0.90,
}

Row = dict[str, object]


def _row(task: str, dataset: str, metric: str, value: float, n: int, **extra: object) -> Row:
    target = TARGETS.get((task, dataset, metric))
    return {"task": task, "dataset": dataset, "metric": metric, "value": round(float(value), 4), "n": n,
            "target": target, "met": None if target is None else bool(value >= target), **extra}


def _analyze(analyzer: TextAnalyzer, texts: list[str]) -> pd.DataFrame:
    frame = analyzer.analyze_frame(pd.DataFrame({"text": texts}))
    return frame


def evaluate_sentiment(analyzer: TextAnalyzer, log: Callable[[str], None] = print) -> list[Row]:
    rows: list[Row] = []
    for name, df in (("es_airline_tweets public_eval", data.load_es_airline("public_eval")),
                     ("en_airline_tweets public_eval", data.load_en_airline("public_eval"))):
        out = _analyze(analyzer, df["text"].tolist())
        pred = out["sentiment_label"]
        rows.append(_row("sentiment", name, "macro-F1", f1_score(df["label"], pred, average="macro"), len(df)))
        rows.append(_row("sentiment", name, "accuracy", accuracy_score(df["label"], pred), len(df)))
        log(f"  {name}: macro-F1 {rows[-2]['value']}")
    sfu = data.load_sfu_es()
    out = _analyze(analyzer, sfu["text"].tolist())
    # Binary decision at document level: the more probable of the two polar classes.
    pred = np.where(out["p_positive"] >= out["p_negative"], "positive", "negative")
    rows.append(_row("sentiment", "sfu_es_reviews (binary, document)", "macro-F1",
                     f1_score(sfu["label"], pred, average="macro"), len(sfu)))
    log(f"  sfu_es_reviews: macro-F1 {rows[-1]['value']}")
    vader = data.load_vader()
    out = _analyze(analyzer, vader["text"].tolist())
    rho = spearmanr(out["sentiment_score"], vader["mean_sentiment"]).statistic
    rows.append(_row("sentiment", "vader_groundtruth", "Spearman(score, human mean)", rho, len(vader)))
    log(f"  vader: Spearman {rows[-1]['value']}")
    return rows


def _per_theme(dataset: str, themes: list[str], precision: np.ndarray, recall: np.ndarray, f1: np.ndarray,
               support: np.ndarray) -> list[Row]:
    """One row per theme (value = F1; precision, recall and support beside it)."""
    return [_row(PER_THEME, dataset, t, float(f1[k]), int(support[k]), theme=t,
                 precision=round(float(precision[k]), 4), recall=round(float(recall[k]), 4))
            for k, t in enumerate(themes)]


def evaluate_themes(analyzer: TextAnalyzer, log: Callable[[str], None] = print) -> list[Row]:
    """Complaint reasons of the English airline tweets, mapped onto the taxonomy."""
    df = data.load_en_airline("public_eval")
    df = df[(df["label"] == "negative") & df["reason"].isin(list(AIRLINE_REASON_TO_THEME))]
    gold = df["reason"].map(AIRLINE_REASON_TO_THEME).tolist()
    emb = analyzer.encode(df["text"].tolist())
    proba = analyzer.themes.predict_proba(emb)
    ids = analyzer.taxonomy.ids
    candidates = [k for k, t in enumerate(ids) if t in set(AIRLINE_REASON_TO_THEME.values())]
    primary = [ids[candidates[int(i)]] for i in proba[:, candidates].argmax(1)]
    labels = sorted(set(AIRLINE_REASON_TO_THEME.values()))
    rows = [_row("themes", EN_THEMES, "macro-F1", f1_score(gold, primary, labels=labels, average="macro"), len(df)),
            _row("themes", EN_THEMES, "accuracy", accuracy_score(gold, primary), len(df))]
    # Multi-label view: is the gold theme among the themes the product reports?
    found = analyzer.themes.decide(proba, analyzer.settings.theme_threshold_scale)
    recall = float(np.mean([g in f for g, f in zip(gold, found, strict=True)]))
    rows.append(_row("themes", EN_THEMES, "recall of gold theme in reported themes", recall, len(df)))
    prf = precision_recall_fscore_support(gold, primary, labels=labels, zero_division=0)
    rows += _per_theme(EN_THEMES + ", primary theme", labels, prf[0], prf[1], prf[2], prf[3])
    log(f"  airline themes (en): macro-F1 {rows[0]['value']}")
    return rows


def evaluate_themes_es(analyzer: TextAnalyzer, log: Callable[[str], None] = print) -> list[Row]:
    """Spanish complaint themes (es_airline_reasons public_eval) as the pipeline reports them:
    language head, thresholds, churn-intent detector and the sentiment-agreement rules."""
    df = data.load_es_reasons("public_eval")
    out = _analyze(analyzer, df["text"].tolist())
    ids = analyzer.taxonomy.ids
    Y = np.array([[t in row for t in ids] for row in df["themes"]], dtype=bool)
    P = np.array([[t in row for t in ids] for row in out["themes"]], dtype=bool)
    tp, fp, fn = (Y & P).sum(0), (~Y & P).sum(0), (Y & ~P).sum(0)
    f1 = 2 * tp / np.maximum(1, 2 * tp + fp + fn)
    precision, recall = tp / np.maximum(1, tp + fp), tp / np.maximum(1, tp + fn)
    support = Y.sum(0)
    n = len(df)
    micro = 2 * tp.sum() / max(1, 2 * tp.sum() + fp.sum() + fn.sum())
    k_praise = ids.index("praise")
    negative = (df["label"] == "negative").to_numpy()
    rows = [_row("themes", ES_THEMES, "micro-F1", micro, n),
            _row("themes", ES_THEMES, "macro-F1", float(f1[support > 0].mean()), n),
            _row("themes", ES_THEMES, "praise precision", float(precision[k_praise]), int(P[:, k_praise].sum())),
            _row("themes", ES_THEMES, "praise on tweets whose label has no praise (count)",
                 float((P[:, k_praise] & ~Y[:, k_praise]).sum()), n),
            _row("themes", ES_THEMES, "negative tweets with no theme (count)",
                 float((negative & ~P.any(1)).sum()), int(negative.sum())),
            _row("themes", ES_THEMES, "negative tweets labelled with a theme that get none (count)",
                 float((negative & Y.any(1) & ~P.any(1)).sum()), int((negative & Y.any(1)).sum()))]
    rows += _per_theme(ES_THEMES, ids, precision, recall, f1, support)
    log(f"  airline themes (es): micro-F1 {rows[0]['value']}, macro-F1 {rows[1]['value']}, "
        f"praise precision {rows[2]['value']}")
    return rows


def evaluate_banking77(analyzer: TextAnalyzer, log: Callable[[str], None] = print, seeds: int = 3) -> list[Row]:
    """BANKING77 as a user-defined taxonomy of 77 themes (the encoder is not retrained)."""
    train, test = data.load_banking77("train"), data.load_banking77("test")
    intents = sorted(train["label"].unique())
    taxonomy = Taxonomy(tuple(Theme(i, {"en": i}, {"en": i.replace("_", " ")}) for i in intents))
    x_train = analyzer.encode(train["text"].tolist())
    x_test = analyzer.encode(test["text"].tolist())
    # What a user writes about each theme (here the intent name) is part of the taxonomy.
    seed_emb = {t.id: analyzer.encode(t.seed_texts()) for t in taxonomy.themes}
    rows: list[Row] = []
    scores = []
    for seed in range(seeds):
        few = train.groupby("label").sample(n=10, random_state=seed).index.to_numpy()
        clf = ThemeClassifier(taxonomy, multi_label=False).fit(x_train[few], train["label"].iloc[few].tolist(),
                                                               seeds=seed_emb)
        scores.append(accuracy_score(test["label"], [p[0] for p in clf.predict(x_test)]))
    rows.append(_row("themes", "banking77 test, 10 examples per theme", "accuracy", float(np.mean(scores)),
                     len(test), spread=f"{min(scores):.3f}-{max(scores):.3f} over {seeds} samples"))
    clf = ThemeClassifier(taxonomy, multi_label=False).fit(x_train, train["label"].tolist(), seeds=seed_emb)
    rows.append(_row("themes", "banking77 test, full train", "accuracy",
                     accuracy_score(test["label"], [p[0] for p in clf.predict(x_test)]), len(test)))
    log(f"  banking77: 10-shot {rows[0]['value']}, full {rows[1]['value']}")
    return rows


def evaluate_langid(log: Callable[[str], None] = print) -> list[Row]:
    """Language ID on the Spanish and English evaluation tweets (their language is known)."""
    from analyzer.text.langid import detect_languages

    es = data.load_es_airline("public_eval")["text"].tolist()
    en = data.load_en_airline("public_eval")["text"].tolist()
    got = detect_languages(es + en)["lang"].to_numpy()
    gold = np.array(["es"] * len(es) + ["en"] * len(en))
    rows = [_row("langid", "es+en airline tweets public_eval", "accuracy", float(np.mean(got == gold)), len(gold)),
            _row("langid", "es+en airline tweets public_eval", "share 'und' (low confidence)",
                 float(np.mean(got == "und")), len(gold))]
    log(f"  langid: accuracy {rows[0]['value']}")
    return rows


def evaluate_all(analyzer: TextAnalyzer, *, log: Callable[[str], None] = print,
                 parts: tuple[str, ...] = DEFAULT_PARTS) -> pd.DataFrame:
    """Every metric of the model cards as one table (per-theme rows under the task :data:`PER_THEME`)."""
    rows: list[Row] = []
    t0 = time.time()
    if "sentiment" in parts:
        rows += evaluate_sentiment(analyzer, log)
    if "themes" in parts:
        rows += evaluate_themes(analyzer, log)
        rows += evaluate_themes_es(analyzer, log)
    if "churn" in parts:
        from analyzer.evaluation.churn import evaluate_churn

        rows += [_row(**r) for r in evaluate_churn(analyzer, log)]
    if "banking77" in parts:
        rows += evaluate_banking77(analyzer, log)
    if "langid" in parts:
        rows += evaluate_langid(log)
    if "pii" in parts:
        from analyzer.evaluation.pii import evaluate_pii

        pii = evaluate_pii()
        for rec in pii.to_dict("records"):
            rows.append({"task": "pii", "dataset": f"pii cases ({rec.get('lang', '')}, {rec.get('entity', '')})",
                         "metric": "recall", "value": rec.get("recall"), "n": rec.get("n", rec.get("support")),
                         "target": None, "met": None})
    log(f"evaluation took {time.time() - t0:.0f}s")
    return pd.DataFrame(rows)


def table_records(table: pd.DataFrame) -> list[dict[str, object]]:
    """The rows of an :func:`evaluate_all` table as records with only the fields each row has: a per-theme
    row keeps ``precision``/``recall``, a summary row its ``target``; the NaN the frame fills in elsewhere
    is dropped (NaN is not JSON)."""
    return [{str(k): v for k, v in rec.items() if not (isinstance(v, float) and v != v)}
            for rec in table.to_dict("records")]
