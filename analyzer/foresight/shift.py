"""Tone-change detection, per customer and turn by turn within a conversation.

A *shift* is a change of tone against the customer's own baseline, not a single angry
message: the sequence of sentiment scores is split once (the split that best separates an
earlier from a later level, as in binary segmentation) and a shift is reported when the later
level is lower by at least ``min_magnitude`` and the split is statistically clear. It comes
with its magnitude, start date and the messages that show it.

Within a live conversation, :func:`cusum_drop_scores` accumulates each turn's drop below an
EWMA baseline of the turns before it (a one-sided CUSUM, online, no look-ahead), and
:class:`TurnShiftConfig` flags the turns where that sum is high; :func:`turn_drop_scores` is
the simpler one-turn drop below the running mean.

The per-message sentiment comes from the text core (``sentiment_score``). For evaluation on
dialogues without it, :func:`vader_score_fn` is a stand-in scorer behind the same
``score_fn(texts) -> np.ndarray in [-1, 1]`` interface, so the text core's model can replace it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError
from analyzer.foresight.config import DEFAULT_COMPLAINT_THEMES, ShiftConfig

__all__ = [
    "COMPLAINT_THEMES",
    "ScoreFn",
    "Shift",
    "TurnShiftConfig",
    "compute_message_signals",
    "cusum_drop_scores",
    "detect_shift",
    "turn_drop_scores",
    "vader_score_fn",
]

ScoreFn = Callable[[Sequence[str]], np.ndarray]
"""Maps texts to sentiment scores in [-1, 1] (negative .. positive)."""

COMPLAINT_THEMES: frozenset[str] = frozenset(DEFAULT_COMPLAINT_THEMES)


@dataclass(frozen=True)
class Shift:
    """A detected tone change inside one score sequence."""

    start: int           # index of the first message of the new (lower) level
    before_mean: float
    after_mean: float
    stat: float

    @property
    def magnitude(self) -> float:
        return self.before_mean - self.after_mean


def detect_shift(scores: Sequence[float] | np.ndarray, config: ShiftConfig | None = None) -> Shift | None:
    """The clearest downward change of level in ``scores`` (time-ordered), or ``None``.

    The later segment always runs to the last message: what matters is the tone now.
    """
    cfg = config or ShiftConfig()
    s = np.asarray(scores, dtype=float)
    n = s.size
    if n < cfg.min_messages:
        return None
    best: Shift | None = None
    for k in range(1, n):
        before, after = s[:k], s[k:]
        diff = float(before.mean() - after.mean())
        resid = np.concatenate([before - before.mean(), after - after.mean()])
        sigma = max(float(np.sqrt((resid**2).sum() / max(n - 2, 1))), cfg.noise_floor)
        stat = diff / sigma * np.sqrt(k * (n - k) / n)
        if best is None or stat > best.stat:
            best = Shift(k, float(before.mean()), float(after.mean()), float(stat))
    if best is None or best.magnitude < cfg.min_magnitude or best.stat < cfg.min_stat:
        return None
    return best


def turn_drop_scores(scores: Sequence[float] | np.ndarray, *, prior: float = 0.0,
                     prior_weight: float = 1.0) -> np.ndarray:
    """For each turn, how far it falls below the running mean of the turns before it.

    The running mean starts at ``prior`` with weight ``prior_weight`` turns, so the first turn
    is compared with a neutral expectation. Online: turn ``t`` never sees turns after it.
    """
    s = np.asarray(scores, dtype=float)
    prev_sum = prior * prior_weight + np.concatenate([[0.0], np.cumsum(s)[:-1]])
    prev_n = prior_weight + np.arange(s.size)
    return np.asarray(prev_sum / prev_n - s)


def cusum_drop_scores(scores: Sequence[float] | np.ndarray, *, alpha: float = 0.3, k: float = 0.1,
                      prior: float = 0.0) -> np.ndarray:
    """One-sided CUSUM of tone drops against the conversation's own EWMA baseline (online).

    The baseline ``b_t`` is an exponentially weighted mean of the turns before ``t`` (weight
    ``alpha`` on the newest, starting at ``prior``); each turn adds its drop below the
    baseline minus a slack ``k`` and the sum never goes below 0::

        C_t = max(0, C_{t-1} + (b_t - s_t) - k)

    A single sour turn adds little; several turns below the customer's own level accumulate,
    so ``C_t >= h`` flags a *sustained* change of tone (Page's CUSUM). Turn ``t`` never sees
    later turns.
    """
    if not 0.0 <= alpha <= 1.0 or k < 0:
        raise ConfigError(f"alpha must be in [0, 1] and k >= 0; received alpha={alpha}, k={k}.")
    s = np.asarray(scores, dtype=float)
    out = np.empty(s.size)
    base, c = prior, 0.0
    for t, v in enumerate(s):
        c = max(0.0, c + (base - v) - k)
        out[t] = c
        base = (1.0 - alpha) * base + alpha * v
    return out


@dataclass(frozen=True)
class TurnShiftConfig:
    """The turn-level tone-shift detector: flag turn ``t`` when ``C_t >= h`` and its score <= ``max_score``.

    Defaults are the values tuned for F1 on MWOZ (uss_satisfaction_dialogues) with the text
    core's sentiment model as scorer; :func:`analyzer.evaluation.foresight.evaluate_shift`
    re-tunes them on MWOZ for each scorer and reports on SGD.
    """

    alpha: float = 0.3
    k: float = 0.1
    h: float = 0.5
    max_score: float = 1.0

    def flags(self, scores: Sequence[float] | np.ndarray, prior: float = 0.0) -> np.ndarray:
        s = np.asarray(scores, dtype=float)
        return (cusum_drop_scores(s, alpha=self.alpha, k=self.k, prior=prior) >= self.h) & (s <= self.max_score)


def vader_score_fn() -> ScoreFn:
    """VADER compound score as a stand-in English scorer (lexicon-based, no training).

    Loaded lazily; the text core's sentiment model replaces it behind the same interface.
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()

    def score(texts: Sequence[str]) -> np.ndarray:
        return np.array([analyzer.polarity_scores(str(t))["compound"] for t in texts], dtype=float)

    return score


def _tone(mean: float, threshold: float) -> str:
    return "positive" if mean > threshold else "negative" if mean < -threshold else "neutral"


MESSAGE_SIGNAL_COLUMNS: tuple[str, ...] = (
    "customer_id", "n_messages", "last_message_at", "n_last", "n_negative_last", "n_positive_last",
    "earlier_tone", "shift_detected", "shift_magnitude", "shift_start", "shift_message_ids",
    "shift_before_mean", "shift_after_mean", "churn_intent_ids", "complaint_themes", "top_theme",
    "theme_message_ids", "praise_count", "negative_message_ids", "message_quotes", "tone_collapse",
)

MAX_QUOTES = 5
"""Quotes kept per customer as evidence (the most recent negative or theme-bearing messages)."""


def _quote(mid: str, ts: pd.Timestamp, channel: object, text: object) -> dict[str, str]:
    return {"message_id": mid, "date": ts.strftime("%Y-%m-%d"), "channel": str(channel),
            "text": "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)}


def compute_message_signals(messages: pd.DataFrame, as_of: pd.Timestamp | None = None,
                            config: ShiftConfig | None = None,
                            complaint_themes: frozenset[str] | set[str] | tuple[str, ...] = COMPLAINT_THEMES
                            ) -> pd.DataFrame:
    """Per-customer tone and theme facts from validated, analysed messages.

    Messages after ``as_of`` are ignored. Returns :data:`MESSAGE_SIGNAL_COLUMNS`;
    ``message_quotes`` maps message ids to ``{message_id, date, channel, text}`` where ``text``
    is the text core's ``text_redacted`` (PII already replaced; empty when the column is absent),
    for the messages cited as evidence. ``complaint_themes`` are the taxonomy's complaint themes.
    """
    cfg = config or ShiftConfig()
    complaints = frozenset(complaint_themes)
    if messages.empty:
        return pd.DataFrame(columns=list(MESSAGE_SIGNAL_COLUMNS))
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else messages["timestamp"].max()
    if as_of_ts.tzinfo is None:
        as_of_ts = as_of_ts.tz_localize("UTC")
    # Only the columns used, as arrays: slicing wide frames per customer dominated the cost.
    cols = ["customer_id", "timestamp", "message_id", "sentiment_score", "sentiment_label", "themes"]
    extra = [c for c in ("channel", "text_redacted") if c in messages.columns]
    msgs = messages.loc[messages["timestamp"] <= as_of_ts, cols + extra]
    if msgs.empty:
        return pd.DataFrame(columns=list(MESSAGE_SIGNAL_COLUMNS))
    msgs = msgs.sort_values(["customer_id", "timestamp"], kind="stable")
    cid_all = msgs["customer_id"].astype(str).to_numpy()
    ts_index = pd.DatetimeIndex(msgs["timestamp"])
    ids_all = msgs["message_id"].astype(str).to_numpy()
    score_all = msgs["sentiment_score"].to_numpy(dtype=float)
    label_all = msgs["sentiment_label"].astype(str).to_numpy()
    themes_all = msgs["themes"].to_numpy()
    chan_all = msgs["channel"].astype(str).to_numpy() if "channel" in extra else np.full(len(msgs), "unknown")
    text_all = msgs["text_redacted"].to_numpy() if "text_redacted" in extra else np.full(len(msgs), None)
    is_recent = np.asarray(ts_index > as_of_ts - pd.Timedelta(days=cfg.recent_days))
    bounds = np.flatnonzero(np.r_[True, cid_all[1:] != cid_all[:-1], True])
    rows = []
    for lo, hi in pairwise(bounds):
        scores, labels, ids = score_all[lo:hi], label_all[lo:hi], ids_all[lo:hi]
        n = hi - lo
        # Tone now = the last k messages WITHIN the recent window: a complaint from a year ago
        # is not today's tone (on the simulated back-test, stale messages drove most false
        # tone alerts). Older messages still form the baseline the shift is measured against.
        n_recent = int(is_recent[lo:hi].sum())
        last = slice(n - min(cfg.last_k, n_recent), n)
        earlier = scores[: last.start]
        shift = detect_shift(scores, cfg) if n_recent else None
        themes: Counter[str] = Counter()
        theme_ids: dict[str, list[str]] = {}
        churn_ids: list[str] = []
        praise = 0
        for j in range(lo, hi):
            if not is_recent[j]:
                continue
            for t in themes_all[j]:
                if t in complaints:
                    themes[t] += 1
                    theme_ids.setdefault(t, []).append(ids_all[j])
                elif t == "churn_intent":
                    churn_ids.append(ids_all[j])
                elif t == "praise":
                    praise += 1
        shift_ids = ([i for i, v in zip(ids[shift.start:], scores[shift.start:], strict=True) if v < 0]
                     if shift else [])
        negative_ids = [str(ids[j]) for j in range(last.start, last.stop) if labels[j] == "negative"]
        cited = set(shift_ids) | set(churn_ids) | set(negative_ids) | {i for v in theme_ids.values() for i in v}
        quotes = {str(ids_all[j]): _quote(str(ids_all[j]), ts_index[j], chan_all[j], text_all[j])
                  for j in range(hi - 1, lo - 1, -1) if ids_all[j] in cited}
        rows.append({
            "customer_id": cid_all[lo],
            "n_messages": n,
            "last_message_at": ts_index[hi - 1],
            "n_last": last.stop - last.start,
            "n_negative_last": int((labels[last] == "negative").sum()),
            "n_positive_last": int((labels[last] == "positive").sum()),
            "earlier_tone": _tone(float(earlier.mean()), cfg.tone_threshold) if earlier.size else None,
            "shift_detected": shift is not None,
            "shift_magnitude": shift.magnitude if shift else 0.0,
            "shift_start": ts_index[lo + shift.start] if shift else pd.NaT,
            # The evidence of a shift: messages of the new level that are negative themselves.
            "shift_message_ids": [str(i) for i in shift_ids],
            "shift_before_mean": shift.before_mean if shift else np.nan,
            "shift_after_mean": shift.after_mean if shift else np.nan,
            "churn_intent_ids": churn_ids,
            "complaint_themes": dict(themes),
            "top_theme": themes.most_common(1)[0][0] if themes else None,
            "theme_message_ids": theme_ids,
            "praise_count": praise,
            "negative_message_ids": negative_ids,
            "message_quotes": dict(list(quotes.items())[:MAX_QUOTES]),
            # A collapse: a large fall of the customer's own tone to a negative level.
            "tone_collapse": bool(shift is not None and shift.magnitude >= cfg.collapse_magnitude
                                  and shift.after_mean < -cfg.tone_threshold),
        })
    return pd.DataFrame(rows, columns=list(MESSAGE_SIGNAL_COLUMNS))
