"""Training data and training of the default complaint-theme model.

Labelled English complaints (US airline tweets, ``negativereason``) are mapped onto the
taxonomy; positive tweets in both languages teach ``praise``; neutral tweets teach "no
theme"; a few intents of the synthetic Bitext set (augmentation only, never evaluation)
cover refunds, billing, account access and churn intent, which the tweets lack; and the
taxonomy's own descriptions and examples (es/en) anchor every theme in both languages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analyzer.settings import get_settings
from analyzer.text.intent import CHURN_INTENT, find_churn_cue
from analyzer.text.lexical import CharNgramScorer
from analyzer.text.theme_heads import PRAISE, LanguageHead, ThemeRules, agree_with_sentiment
from analyzer.text.themes import Taxonomy
from analyzer.training import corpora as data

if TYPE_CHECKING:
    from analyzer.text.pipeline import TextAnalyzer

__all__ = [
    "AIRLINE_REASON_TO_THEME",
    "BITEXT_INTENT_TO_THEME",
    "HeadConfig",
    "HeadInputs",
    "best_threshold",
    "choose_decisions",
    "churn_cues",
    "cross_fitted_decisions",
    "decide_rows",
    "featurize",
    "fit_head",
    "label_matrix",
    "micro_macro",
    "out_of_fold",
    "spanish_head_data",
    "theme_training_data",
    "train_spanish_head",
    "train_theme_heads",
]

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


# ---------------------------------------------------------------------------------------------
# Spanish theme head (LanguageHead "es"): es_airline_reasons train + the English reasons + the
# taxonomy, with thresholds and sentiment-agreement rules chosen by cross-validation.
# ---------------------------------------------------------------------------------------------

#: Languages (analyzer.text.langid) whose messages the Spanish head scores: Spanish, and messages too
#: short or unsure to tell ("und"), chosen on the training data (models/themes/MODEL_CARD.md).
SPANISH_HEAD_SERVES = ("es", "und")


@dataclass
class HeadConfig:
    """Choices of the Spanish head (chosen by 5-fold cross-validation on es_airline_reasons train;
    the grid and the results are in models/themes/MODEL_CARD.md)."""

    C: float = 4.0  # embedding model
    lexical_C: float = 4.0  # character n-gram model
    mix: float = 0.5  # weight of the embedding model's logit
    other_weight: float = 0.3  # weight of the English and synthetic rows against a Spanish row
    praise_beta: float = 0.3  # praise threshold maximises F-beta (precision counts more)
    folds: int = 5
    seed: int = 0
    praise_gates: tuple[float | None, ...] = (None, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)
    fallbacks: tuple[float | None, ...] = (None, 0.3, 0.4, 0.5, 0.6, 0.7)
    churn_thresholds: tuple[float | None, ...] = (None, 0.5, 0.6, 0.7, 0.8, 0.9)


def spanish_head_data(taxonomy: Taxonomy, *, bitext_per_intent: int = 60, seed: int = 0
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(spanish, other)`` training rows (``text``, ``themes``, ``source``; raw, not yet redacted).

    ``spanish``: es_airline_reasons ``train`` (1,800 tweets, multi-label). ``other``: the English
    complaint reasons mapped onto the taxonomy, English neutral tweets and the Spanish neutral tweets
    of es_airline_tweets ``train`` not in the reasons set (no theme), the Bitext intents (synthetic,
    augmentation only) and the taxonomy's descriptions and examples. Positive tweets are not taken
    as praise: in the Spanish labels only 29 % of positive tweets praise.
    """
    es = data.load_es_reasons("train")
    spanish = pd.DataFrame({"text": es["text"], "themes": es["themes"], "source": "es_airline_reasons"})
    en = data.load_en_airline("train")
    neg = en[(en["label"] == "negative") & en["reason"].isin(list(AIRLINE_REASON_TO_THEME))]
    frames = [pd.DataFrame({"text": neg["text"], "themes": [[AIRLINE_REASON_TO_THEME[r]] for r in neg["reason"]],
                            "source": "en_airline_tweets"})]
    neu = en[en["label"] == "neutral"]
    frames.append(pd.DataFrame({"text": neu["text"], "themes": [[] for _ in range(len(neu))],
                                "source": "en_airline_tweets"}))
    es_all = data.load_es_airline("train")
    extra = es_all[(es_all["label"] == "neutral") & ~es_all["tweet_id"].isin(set(es["tweet_id"]))]
    frames.append(pd.DataFrame({"text": extra["text"], "themes": [[] for _ in range(len(extra))],
                                "source": "es_airline_tweets"}))
    frames.append(_bitext(bitext_per_intent, seed))
    seeds = [(text, [t.id]) for t in taxonomy.themes for text in t.seed_texts()]
    frames.append(pd.DataFrame({"text": [s for s, _ in seeds], "themes": [ids for _, ids in seeds],
                                "source": "taxonomy"}))
    other = pd.concat(frames, ignore_index=True)
    known = set(taxonomy.ids)
    for df in (spanish, other):
        df["themes"] = [[t for t in row if t in known] for row in df["themes"]]
    return spanish.reset_index(drop=True), other.drop_duplicates(subset=["text"]).reset_index(drop=True)


def label_matrix(rows: Sequence[Sequence[str]], ids: Sequence[str]) -> np.ndarray:
    return np.array([[t in r for t in ids] for r in rows], dtype=bool).reshape(len(rows), len(ids))


@dataclass
class HeadInputs:
    """Featurised training rows of a language head (texts as the pipeline sees them: redacted)."""

    texts: list[str]  # the head's language rows
    X: np.ndarray  # their theme embeddings
    Y: np.ndarray  # their labels [n, n_themes]
    sentiment: np.ndarray  # their sentiment probabilities [n, 3] (the shipped sentiment model)
    X_other: np.ndarray
    Y_other: np.ndarray
    lexical_extra: list[str] = field(default_factory=list)  # more rows for the lexical model only
    lexical_extra_Y: np.ndarray | None = None
    cue_flags: np.ndarray | None = None

    @property
    def cues(self) -> np.ndarray:
        """Whether the churn detector's cues fire on each of the head's language rows (computed once)."""
        if self.cue_flags is None or len(self.cue_flags) != len(self.texts):
            self.cue_flags = churn_cues(self.texts)
        return self.cue_flags


def fit_head(inputs: HeadInputs, ids: Sequence[str], cfg: HeadConfig, rows: np.ndarray | None = None,
             lang: str = "es") -> LanguageHead:
    """A head fitted on the other rows and the head's language rows ``rows`` (all when None)."""
    rows = np.arange(len(inputs.texts)) if rows is None else rows
    X = np.vstack([inputs.X_other, inputs.X[rows]])
    Y = np.vstack([inputs.Y_other, inputs.Y[rows]])
    w = np.concatenate([np.full(len(inputs.X_other), cfg.other_weight), np.ones(len(rows))])
    lex_texts = [inputs.texts[i] for i in rows] + inputs.lexical_extra
    lex_Y = inputs.Y[rows] if inputs.lexical_extra_Y is None else np.vstack([inputs.Y[rows], inputs.lexical_extra_Y])
    return LanguageHead(lang, ids, mix=cfg.mix).fit(X, Y, w, lexical_texts=lex_texts, lexical_Y=lex_Y, C=cfg.C,
                                                    lexical=CharNgramScorer(C=cfg.lexical_C))


def out_of_fold(inputs: HeadInputs, ids: Sequence[str], cfg: HeadConfig,
                log: Callable[[str], None] = print) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold theme probabilities of the head's language rows, and the fold of each row."""
    from sklearn.model_selection import KFold

    n = len(inputs.texts)
    oof, folds = np.zeros((n, len(ids))), np.zeros(n, dtype=int)
    for j, (tr, te) in enumerate(KFold(cfg.folds, shuffle=True, random_state=cfg.seed).split(np.arange(n))):
        head = fit_head(inputs, ids, cfg, tr)
        z = head.logits(inputs.X[te], [inputs.texts[i] for i in te])
        oof[te] = np.nan_to_num(1.0 / (1.0 + np.exp(-z)), nan=0.0)
        folds[te] = j
        log(f"  fold {j + 1}/{cfg.folds} done")
    return oof, folds


def best_threshold(p: np.ndarray, y: np.ndarray, beta: float = 1.0) -> float:
    """The threshold (0.05-0.95) with the best F-beta of ``p >= t`` against ``y``."""
    best_t, best_f = 0.5, -1.0
    b2 = beta * beta
    for t in np.linspace(0.05, 0.95, 37):
        pred = p >= t
        tp = float((pred & y).sum())
        f = (1 + b2) * tp / max(1.0, b2 * float(y.sum()) + float(pred.sum()))
        if f > best_f:
            best_t, best_f = float(t), f
    return best_t


def thresholds(p: np.ndarray, Y: np.ndarray, ids: Sequence[str], cfg: HeadConfig) -> np.ndarray:
    return np.array([best_threshold(p[:, k], Y[:, k], cfg.praise_beta if t == PRAISE else 1.0)
                     for k, t in enumerate(ids)])


def churn_cues(texts: Sequence[str]) -> np.ndarray:
    """Whether the churn detector's cue patterns fire on each text."""
    return np.array([find_churn_cue(t) is not None for t in texts], dtype=bool)


def decide_rows(p: np.ndarray, thr: np.ndarray, cues: np.ndarray, sentiment: np.ndarray, ids: Sequence[str],
                rules: ThemeRules, churn_threshold: float | None) -> np.ndarray:
    """The pipeline's decisions for rows scored by one head: thresholds, then churn intent as the
    detector decides it (a cue, or the head's churn score at or above ``churn_threshold``), then
    the sentiment-agreement rules."""
    found = [[ids[int(k)] for k in np.flatnonzero(row >= thr)] for row in p]
    if CHURN_INTENT in ids:
        kc = list(ids).index(CHURN_INTENT)
        fires = cues | ((p[:, kc] >= churn_threshold) if churn_threshold is not None else False)
        found = [[t for t in row if t != CHURN_INTENT] + ([CHURN_INTENT] if f else [])
                 for row, f in zip(found, fires, strict=True)]
    agree_with_sentiment(ids, found, p, sentiment, [rules] * len(found))
    return label_matrix(found, ids)


def micro_macro(Y: np.ndarray, P: np.ndarray) -> dict[str, Any]:
    """Micro-F1, macro-F1 over the themes with support, and per-theme precision/recall/F1."""
    tp, fp, fn = (Y & P).sum(0), (~Y & P).sum(0), (Y & ~P).sum(0)
    f1 = 2 * tp / np.maximum(1, 2 * tp + fp + fn)
    support = Y.sum(0) > 0
    return {"micro_f1": float(2 * tp.sum() / max(1, 2 * tp.sum() + fp.sum() + fn.sum())),
            "macro_f1": float(f1[support].mean()), "precision": tp / np.maximum(1, tp + fp),
            "recall": tp / np.maximum(1, tp + fn), "f1": f1, "support": Y.sum(0), "predicted": P.sum(0)}


def choose_decisions(p: np.ndarray, inputs: HeadInputs, ids: Sequence[str], cfg: HeadConfig
                     ) -> tuple[np.ndarray, ThemeRules, float | None]:
    """Thresholds (best F1 per theme, F-beta for praise), then the churn score threshold and the
    rules with the best micro-F1, all on the probabilities ``p`` of the head's language rows."""
    thr = thresholds(p, inputs.Y, ids, cfg)
    best: tuple[float, ThemeRules, float | None] = (-1.0, ThemeRules(), None)
    for gate in cfg.praise_gates:
        for fallback in cfg.fallbacks:
            for churn in cfg.churn_thresholds:
                rules = ThemeRules(praise_gate=gate, fallback=fallback, fallback_max=1)
                P = decide_rows(p, thr, inputs.cues, inputs.sentiment, ids, rules, churn)
                score = micro_macro(inputs.Y, P)["micro_f1"]
                if score > best[0] + 1e-9:
                    best = (score, rules, churn)
    return thr, best[1], best[2]


def cross_fitted_decisions(oof: np.ndarray, folds: np.ndarray, inputs: HeadInputs, ids: Sequence[str],
                           cfg: HeadConfig) -> np.ndarray:
    """Decisions on each fold with thresholds and rules chosen on the other folds' out-of-fold
    probabilities: an estimate of the head's quality on unseen Spanish messages."""
    P = np.zeros_like(inputs.Y)
    for j in np.unique(folds):
        rest, te = folds != j, folds == j
        sub = HeadInputs([t for t, r in zip(inputs.texts, rest, strict=True) if r], inputs.X[rest], inputs.Y[rest],
                         inputs.sentiment[rest], inputs.X_other, inputs.Y_other)
        thr, rules, churn = choose_decisions(oof[rest], sub, ids, cfg)
        P[te] = decide_rows(oof[te], thr, inputs.cues[te], inputs.sentiment[te], ids, rules, churn)
    return P


def train_spanish_head(inputs: HeadInputs, ids: Sequence[str], cfg: HeadConfig | None = None,
                       log: Callable[[str], None] = print) -> tuple[LanguageHead, dict[str, Any]]:
    """Fit the head on every row; thresholds, rules and churn threshold from out-of-fold
    probabilities; returns the head and its cross-validated metrics."""
    cfg = cfg or HeadConfig()
    oof, folds = out_of_fold(inputs, ids, cfg, log)
    cv = micro_macro(inputs.Y, cross_fitted_decisions(oof, folds, inputs, ids, cfg))
    thr, rules, churn = choose_decisions(oof, inputs, ids, cfg)
    head = fit_head(inputs, ids, cfg)
    head.threshold_ = np.where(head.trained_, thr, 0.5)
    head.rules_, head.churn_threshold_ = rules, churn
    report = {"cv_micro_f1": round(cv["micro_f1"], 4), "cv_macro_f1": round(cv["macro_f1"], 4),
              "cv_per_theme": {t: {"precision": round(float(cv["precision"][k]), 3),
                                   "recall": round(float(cv["recall"][k]), 3), "f1": round(float(cv["f1"][k]), 3),
                                   "support": int(cv["support"][k])} for k, t in enumerate(ids)},
              "config": {k: v for k, v in vars(cfg).items() if not isinstance(v, tuple)}}
    log(f"Spanish head: cross-validated micro-F1 {cv['micro_f1']:.3f}, macro-F1 {cv['macro_f1']:.3f}")
    return head, report


def featurize(analyzer: TextAnalyzer, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Texts as the pipeline sees them (language detected, PII redacted), their theme embeddings and
    sentiment probabilities (exactly as :meth:`TextAnalyzer.analyze` computes them) and languages."""
    from analyzer.text.langid import detect_languages
    from analyzer.text.pii import redact_batch

    s = analyzer.settings
    langs = detect_languages(list(texts), s.lang_candidates, min_confidence=s.lang_min_confidence)["lang"].tolist()
    clean = [r.text for r in redact_batch(list(texts), langs)]
    probs, emb = analyzer.embed_messages(clean)
    return clean, emb, probs, langs


def train_theme_heads(analyzer: TextAnalyzer, folder: Path, cfg: HeadConfig | None = None,
                      log: Callable[[str], None] = print) -> Path:
    """Train the Spanish head (``themes_es.npz``) and write it next to the default theme model."""
    taxonomy = analyzer.taxonomy
    spanish, other = spanish_head_data(taxonomy)
    log(f"featurising {len(spanish)} Spanish and {len(other)} other training texts")
    st, sX, sP, _ = featurize(analyzer, spanish["text"].tolist())
    _, oX, _, _ = featurize(analyzer, other["text"].tolist())
    inputs = HeadInputs(st, sX, label_matrix(spanish["themes"].tolist(), taxonomy.ids), sP, oX,
                        label_matrix(other["themes"].tolist(), taxonomy.ids))
    head, report = train_spanish_head(inputs, taxonomy.ids, cfg, log)
    head.serves = SPANISH_HEAD_SERVES
    return head.save(folder, {
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training_rows": {"es_airline_reasons train": len(spanish), **other["source"].value_counts().to_dict()},
        "thresholds": {t: round(float(v), 3) for t, v in zip(taxonomy.ids, head.threshold_, strict=True)},
        **report,
    })
