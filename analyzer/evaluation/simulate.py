"""A simulated customer population for the end-to-end evaluation of the foresight stage.

There is no public corpus that joins customer texts, behaviour and known churn dates, so the
join is evaluated on a simulated population built from real parts:

- **purchases** follow a BG/NBD purchase process fitted on real transactions (``online_retail``
  or ``cdnow``): each customer's rate is drawn from the fitted Gamma(r, alpha); the weekday
  profile comes from the same data; a holiday bump, a mild annual cycle and week-to-week
  Gamma noise are added on top;
- **messages** are REAL rows of ``es_airline_tweets`` / ``en_airline_tweets`` (never generated
  sentences): negative rows, with one complaint reason per customer where the data has it, for
  dissatisfied customers who write; mostly neutral/positive rows (and some negative ones) for
  everyone else;
- **logins, errors, tickets (some unanswered) and campaigns** are simulated around them.

It is built to be as hard as the field: only ``write_rate`` (default 30 %) of the dissatisfied
ever write, the rest leave silently and show only in behaviour; satisfied customers complain
now and then, dip for a while and stay (a well-resolved incident often makes them buy a bit
more); decay is gradual and noisy; some customers churn abruptly for reasons that leave no
trace. Every rate is a field of :class:`SimulationConfig`.

Each part draws from its own seeded stream, so changing one rate (say ``write_rate``) leaves
the purchase histories of the population unchanged: sweeps compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError, InputFormatError
from analyzer.foresight.bgnbd import BGNBD, BGNBDParams, rfm_summary
from analyzer.settings import get_settings

__all__ = [
    "PurchaseProcess",
    "SimulationConfig",
    "fit_purchase_process",
    "load_text_pool",
    "simulate_population",
]

_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class SimulationConfig:
    """Every rate of the simulated population (shares are of all customers unless said otherwise).

    Time: ``warmup_days`` of ordinary history (no churn) give the behaviour signals their
    6-month baseline; churn happens during the ``eval_days`` window and the ``tail_days`` after
    it, so every alert raised in the window has a known outcome ``tail_days`` later.
    """

    seed: int = 7
    n_customers: int = 2000
    start: str = "2023-01-02"
    warmup_days: int = 210
    eval_days: int = 365
    tail_days: int = 90
    purchase_source: str = "online_retail"       # or "cdnow": the real data the purchase process is fitted on
    text_split: str = "public_eval"              # rows of the tweet sets used as messages (see README)
    spanish_share: float = 0.5                   # customers who write in Spanish (the rest in English)

    # Who churns, and how.
    dissatisfied_rate: float = 0.10              # become dissatisfied, decay and churn at a known date
    silent_churn_rate: float = 0.04              # churn abruptly for reasons that leave no trace
    # Customers who leave before the evaluation window (a business always loses some): they give
    # the product's back-test on its own history real lapses to learn from. Half drift away over
    # weeks, half stop at once; none writes. Their alerts in the window are late, never targets.
    warmup_churn_rate: float = 0.12
    decay_days: tuple[int, int] = (30, 120)      # dissatisfaction onset to churn, uniform range
    decay_floor: tuple[float, float] = (0.0, 0.35)  # activity left just before churn (share of normal)
    error_cause_share: float = 0.25              # dissatisfied whose trouble shows as app errors

    # Who writes.
    write_rate: float = 0.30                     # share of the dissatisfied who ever write
    complaint_messages_mean: float = 2.5         # messages per dissatisfied writer (1 + Poisson)
    writer_negative_share: float = 0.85          # of those messages, negative rows (the rest neutral)
    same_reason_share: float = 0.7               # English complaints that stick to the customer's reason
    background_messages_per_year: float = 0.8    # ordinary messages per customer-year, everyone
    background_negative_share: float = 0.15      # ordinary messages that are negative rows anyway
    satisfied_complaint_rate: float = 0.10       # non-churners with a complaint episode who stay
    resolution_thanks_rate: float = 0.5          # of those, write a positive message afterwards
    incident_dip: float = 0.5                    # activity during a satisfied customer's incident
    incident_days: int = 21
    loyalty_bump: float = 1.15                   # activity after a resolved incident

    # Behaviour around the purchases.
    noise: float = 0.5                           # coefficient of variation of weekly activity
    holiday_amplitude: float = 0.6               # extra purchases at the late-November peak
    seasonal_amplitude: float = 0.15             # annual cycle of purchases (winter high, summer low)
    logins_per_week: float = 1.0                 # mean baseline logins per week (Gamma across customers)
    logins_per_purchase: float = 3.0             # extra logins per expected purchase
    error_rate: float = 0.02                     # errors per login, ordinary customers
    error_rate_trouble: float = 0.35             # errors per login, dissatisfied by errors
    error_bursts_per_year: float = 0.3           # outages hitting a customer (3-5 errors in a day)
    campaign_every_days: int = 14
    campaign_open_mean: float = 0.3              # mean open propensity (Beta across customers)
    unanswered_rate_dissatisfied: float = 0.35   # tickets of dissatisfied writers never answered
    unanswered_rate_satisfied: float = 0.10      # tickets of satisfied complainers never answered

    def __post_init__(self) -> None:
        shares = ("spanish_share", "dissatisfied_rate", "silent_churn_rate", "warmup_churn_rate", "error_cause_share",
                  "write_rate",
                  "writer_negative_share", "same_reason_share", "background_negative_share",
                  "satisfied_complaint_rate", "resolution_thanks_rate", "error_rate", "error_rate_trouble",
                  "campaign_open_mean", "unanswered_rate_dissatisfied", "unanswered_rate_satisfied")
        bad = {s: getattr(self, s) for s in shares if not 0.0 <= getattr(self, s) <= 1.0}
        if bad:
            raise ConfigError(f"these SimulationConfig fields are shares and must lie in [0, 1]: {bad}.")
        if self.dissatisfied_rate + self.silent_churn_rate + self.warmup_churn_rate > 1.0:
            raise ConfigError(f"dissatisfied_rate + silent_churn_rate + warmup_churn_rate must be <= 1; received "
                              f"{self.dissatisfied_rate} + {self.silent_churn_rate} + {self.warmup_churn_rate}.")
        if self.n_customers < 1 or min(self.warmup_days, self.eval_days, self.tail_days) < 1:
            raise ConfigError(f"n_customers and the day counts must be >= 1; received n_customers="
                              f"{self.n_customers}, warmup/eval/tail days={self.warmup_days}/{self.eval_days}/"
                              f"{self.tail_days}.")
        lo, hi = self.decay_days
        if not 1 <= lo <= hi:
            raise ConfigError(f"decay_days must be (min, max) with 1 <= min <= max; received {self.decay_days}.")
        if self.noise < 0 or self.purchase_source not in ("online_retail", "cdnow"):
            raise ConfigError(f"noise must be >= 0 and purchase_source 'online_retail' or 'cdnow'; received "
                              f"{self.noise}, {self.purchase_source!r}.")
        if self.text_split not in ("train", "public_eval"):
            raise ConfigError(f"text_split must be 'train' or 'public_eval'; received {self.text_split!r}.")

    @property
    def t0(self) -> pd.Timestamp:
        return pd.Timestamp(self.start, tz="UTC")

    @property
    def eval_start(self) -> pd.Timestamp:
        return self.t0 + pd.Timedelta(days=self.warmup_days)

    @property
    def eval_end(self) -> pd.Timestamp:
        return self.eval_start + pd.Timedelta(days=self.eval_days)

    @property
    def n_days(self) -> int:
        return self.warmup_days + self.eval_days + self.tail_days

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------- real inputs

@dataclass(frozen=True)
class PurchaseProcess:
    """What the simulation takes from real transactions."""

    source: str
    params: BGNBDParams            # lambda ~ Gamma(r, alpha) per day; a, b unused (churn is simulated)
    weekday: tuple[float, ...]     # purchase intensity Monday..Sunday, mean 1
    n_customers: int


def _dataset_path(*parts: str) -> Path:
    path = get_settings().datasets_dir.joinpath(*parts)
    if not path.exists():
        raise InputFormatError(f"dataset file {str(path)!r} not found; set DARKFEEDBACK_DATASETS_DIR to the "
                               f"folder holding the shared datasets.")
    return path


def _cdnow_purchases() -> pd.DataFrame:
    raw = pd.read_csv(_dataset_path("cdnow", "CDNOW_master.txt"), sep=r"\s+", dtype={"customer_id": str,
                                                                                       "date": str})
    return pd.DataFrame({"customer_id": raw["customer_id"],
                         "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d", utc=True)})


@lru_cache(maxsize=2)
def fit_purchase_process(source: str = "online_retail") -> PurchaseProcess:
    """Fit BG/NBD on the real transactions of ``source`` and read its weekday profile."""
    if source == "online_retail":
        from analyzer.evaluation.forward import load_online_retail

        purchases = load_online_retail()[["customer_id", "timestamp"]]
    elif source == "cdnow":
        purchases = _cdnow_purchases()
    else:
        raise ConfigError(f"purchase source must be 'online_retail' or 'cdnow'; received {source!r}.")
    summary = rfm_summary(purchases, purchases["timestamp"].max())
    model = BGNBD(penalizer=1e-4).fit(summary["frequency"], summary["recency"], summary["T"])
    assert model.params_ is not None
    dow = purchases["timestamp"].dt.day_of_week.value_counts().reindex(range(7), fill_value=0).to_numpy(float)
    # A weekday with no purchases at all (online_retail ships nothing on Saturdays) keeps a
    # small share so that the profile is a shape, not a hard rule.
    dow = np.maximum(dow, 0.05 * dow.mean())
    return PurchaseProcess(source, model.params_, tuple((dow / dow.mean()).tolist()), len(summary))


@lru_cache(maxsize=2)
def load_text_pool(split: str = "public_eval") -> pd.DataFrame:
    """Real tweet rows both languages: ``text, label, lang, reason, source, source_row``.

    ``source_row`` is the row's position in the loader's frame, so every simulated message can
    be traced back to the row it was taken from.
    """
    from analyzer.training.corpora import load_en_airline, load_es_airline

    en = load_en_airline(split)
    es = load_es_airline(split)
    frames = []
    for df in (es, en):
        reason = df["reason"] if "reason" in df.columns else pd.Series("", index=df.index)
        frames.append(pd.DataFrame({"text": df["text"].astype(str), "label": df["label"].astype(str),
                                    "lang": df["lang"].astype(str), "reason": reason.fillna("").astype(str),
                                    "source": df["source"].astype(str), "source_row": np.arange(len(df))}))
    pool = pd.concat(frames, ignore_index=True)
    pool = pool.loc[pool["text"].str.strip() != ""].reset_index(drop=True)
    return pool


# --------------------------------------------------------------------------- the simulation

def _rng(seed: int, part: int) -> np.random.Generator:
    return np.random.default_rng([seed, part])


def _season(cfg: SimulationConfig, weekday: np.ndarray) -> np.ndarray:
    days = pd.date_range(cfg.t0, periods=cfg.n_days, freq="D")
    doy = days.day_of_year.to_numpy(float)
    # Late-November / December peak (gift shopping) and a mild winter-high annual cycle.
    peak = cfg.holiday_amplitude * np.exp(-0.5 * ((doy - 335.0) / 18.0) ** 2)
    annual = cfg.seasonal_amplitude * np.cos(2 * np.pi * (doy - 15.0) / 365.25)
    return np.asarray(weekday[days.day_of_week.to_numpy()] * (1.0 + peak + annual))


def _stamp(cfg: SimulationConfig, day: np.ndarray, rng: np.random.Generator,
           hours: tuple[float, float] = (7.0, 23.0)) -> pd.DatetimeIndex:
    secs = rng.uniform(hours[0] * 3600, hours[1] * 3600, size=len(day))
    base = cfg.t0.to_datetime64()
    return pd.DatetimeIndex(base + day.astype("timedelta64[D]") + secs.astype("timedelta64[s]"), tz="UTC")


def _pick(pool: pd.DataFrame, mask: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        raise InputFormatError("the text pool has no rows for a requested kind of message; check the dataset "
                               "files in DARKFEEDBACK_DATASETS_DIR.")
    return np.asarray(rng.choice(idx, size=n, replace=True))


def simulate_population(config: SimulationConfig | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate ``(events, messages_raw, customers, truth)``; same config and seed, same tables.

    - ``events``: ``customer_id, timestamp, type, value, channel`` (purchase value, ticket or
      campaign id in ``value``);
    - ``messages_raw``: ``message_id, customer_id, timestamp, channel, text`` plus provenance
      (``source``, ``source_row``) and ``kind`` (why it was written: ``complaint``,
      ``incident``, ``thanks`` or ``background``) -- the text core must see only ``text``;
    - ``customers``: ``customer_id, segment, value_tier, opt_out``;
    - ``truth``: one row per customer: ``churn_date`` (NaT if they stay), ``churn_kind``
      (``dissatisfied``, ``silent`` or ``none``), ``dissatisfied``, ``writes``, ``onset``,
      ``satisfied_complainer``, ``trouble`` (dissatisfied by errors), ``lang``, ``rate_per_year``.
    """
    cfg = config or SimulationConfig()
    proc = fit_purchase_process(cfg.purchase_source)
    pool = load_text_pool(cfg.text_split)
    n, n_days = cfg.n_customers, cfg.n_days
    ids = np.array([f"sim{i:05d}" for i in range(n)])

    # --- who is who (stream 1)
    rng = _rng(cfg.seed, 1)
    lang = np.where(rng.random(n) < cfg.spanish_share, "es", "en")
    u = rng.random(n)
    dissatisfied = u < cfg.dissatisfied_rate
    silent = (u >= cfg.dissatisfied_rate) & (u < cfg.dissatisfied_rate + cfg.silent_churn_rate)
    churner = dissatisfied | silent
    churn_day = np.full(n, -1)
    first, last = cfg.warmup_days, n_days - 1
    churn_day[churner] = rng.integers(first, last + 1, size=int(churner.sum()))
    decay = rng.integers(cfg.decay_days[0], cfg.decay_days[1] + 1, size=n)
    onset_day = np.where(dissatisfied, np.maximum(churn_day - decay, 1), -1)
    floor = rng.uniform(*cfg.decay_floor, size=n)
    shape = rng.uniform(0.5, 2.0, size=n)
    writes = dissatisfied & (rng.random(n) < cfg.write_rate)
    trouble = dissatisfied & (rng.random(n) < cfg.error_cause_share)
    sat_complainer = ~churner & (rng.random(n) < cfg.satisfied_complaint_rate)
    incident_day = np.where(sat_complainer, rng.integers(30, n_days - 30, size=n), -1)
    thanks = sat_complainer & (rng.random(n) < cfg.resolution_thanks_rate)

    # --- churn before the window (stream 6, so the other streams stay as they were)
    early = (u >= cfg.dissatisfied_rate + cfg.silent_churn_rate) & (
        u < cfg.dissatisfied_rate + cfg.silent_churn_rate + cfg.warmup_churn_rate)
    rng6 = _rng(cfg.seed, 6)
    early_day = np.where(early, rng6.integers(60, max(cfg.warmup_days, 61), size=n), -1)
    early_drift = early & (rng6.random(n) < 0.5)
    early_onset = np.where(early_drift, np.maximum(early_day - rng6.integers(*cfg.decay_days, size=n), 1), -1)
    churn_day = np.where(early, early_day, churn_day)

    # --- rates (stream 2): purchase rate from the fitted BG/NBD Gamma, logins, campaigns
    rng = _rng(cfg.seed, 2)
    p = proc.params
    lam = rng.gamma(p.r, 1.0 / p.alpha, size=n)                     # purchases per day while active
    login_rate = rng.gamma(2.0, cfg.logins_per_week / 2.0, size=n) / 7.0 + cfg.logins_per_purchase * lam
    open_p = rng.beta(2.0, 2.0 * (1 - cfg.campaign_open_mean) / max(cfg.campaign_open_mean, 1e-6), size=n)
    channel = np.where(rng.random(n) < 0.5, "web", "app")
    basket = rng.lognormal(3.0, 0.6, size=n)

    # --- activity multiplier: weekly noise x dissatisfaction decay x incidents (stream 3)
    rng = _rng(cfg.seed, 3)
    t = np.arange(n_days)
    n_weeks = n_days // 7 + 1
    if cfg.noise > 0:
        k = 1.0 / cfg.noise**2
        weekly = rng.gamma(k, 1.0 / k, size=(n, n_weeks))
    else:
        weekly = np.ones((n, n_weeks))
    act = weekly[:, t // 7]
    progress = np.clip((t[None, :] - onset_day[:, None]) / np.maximum(churn_day - onset_day, 1)[:, None], 0, 1)
    decaying = dissatisfied[:, None] & (t[None, :] >= onset_day[:, None])
    act = np.where(decaying, act * (1 - (1 - floor[:, None]) * progress ** shape[:, None]), act)
    drift = np.clip((t[None, :] - early_onset[:, None]) / np.maximum(early_day - early_onset, 1)[:, None], 0, 1)
    drifting = early_drift[:, None] & (t[None, :] >= early_onset[:, None])
    act = np.where(drifting, act * (1 - (1 - floor[:, None]) * drift ** shape[:, None]), act)
    in_incident = sat_complainer[:, None] & (t[None, :] >= incident_day[:, None]) & (
        t[None, :] < incident_day[:, None] + cfg.incident_days)
    after_incident = sat_complainer[:, None] & (t[None, :] >= incident_day[:, None] + cfg.incident_days)
    act = np.where(in_incident, act * cfg.incident_dip, np.where(after_incident, act * cfg.loyalty_bump, act))
    gone = (churner | early)[:, None] & (t[None, :] >= churn_day[:, None])
    act = np.where(gone, 0.0, act)

    season = _season(cfg, np.asarray(proc.weekday))
    weekday_only = np.asarray(proc.weekday)[pd.date_range(cfg.t0, periods=n_days, freq="D").day_of_week]

    # --- events (stream 4)
    rng = _rng(cfg.seed, 4)
    frames: list[pd.DataFrame] = []

    def add(ci: np.ndarray, day: np.ndarray, etype: str, value: np.ndarray | None, chan: np.ndarray,
            hours: tuple[float, float] = (7.0, 23.0)) -> None:
        frames.append(pd.DataFrame({"customer_id": ids[ci], "timestamp": _stamp(cfg, day, rng, hours),
                                    "type": etype,
                                    "value": value if value is not None else np.full(len(ci), np.nan),
                                    "channel": chan}))

    buys = rng.poisson(lam[:, None] * season[None, :] * act) > 0
    ci, day = np.nonzero(buys)
    add(ci, day, "purchase", np.round(basket[ci] * rng.lognormal(0, 0.3, size=len(ci)), 2), channel[ci])
    logins = rng.poisson(login_rate[:, None] * weekday_only[None, :] * act)
    ci, day = np.nonzero(logins)
    counts = logins[ci, day]
    ci, day = np.repeat(ci, counts), np.repeat(day, counts)
    add(ci, day, "login", None, channel[ci])
    in_trouble = trouble[ci] & (day >= onset_day[ci]) & (day < churn_day[ci])
    err = rng.random(len(ci)) < np.where(in_trouble, cfg.error_rate_trouble, cfg.error_rate)
    add(ci[err], day[err], "error", None, channel[ci[err]])
    # Outages: a bad day of several errors for customers who are fine otherwise.
    n_bursts = rng.poisson(cfg.error_bursts_per_year * n_days / 365.0, size=n)
    bi = np.repeat(np.arange(n), n_bursts)
    bday = rng.integers(0, n_days, size=len(bi))
    alive = ~((churner | early)[bi] & (bday >= churn_day[bi]))
    bi, bday = bi[alive], bday[alive]
    reps = rng.integers(3, 6, size=len(bi))
    add(np.repeat(bi, reps), np.repeat(bday, reps), "error", None, channel[np.repeat(bi, reps)])
    # Campaigns go to everyone (churned customers too: nobody tells us they left).
    camp_days = np.arange(0, n_days, cfg.campaign_every_days)
    grid_c, grid_d = np.meshgrid(np.arange(n), camp_days, indexing="ij")
    cc, cd = grid_c.ravel(), grid_d.ravel()
    camp_id = (cd // cfg.campaign_every_days).astype(float)
    add(cc, cd, "campaign_sent", camp_id, np.full(len(cc), "email"), hours=(9.0, 9.01))
    # Opened within 0-2 days, as active as the customer is on the day they would open it.
    open_day = np.minimum(cd + rng.integers(0, 3, size=len(cc)), n_days - 1)
    opened = rng.random(len(cc)) < np.clip(open_p[cc] * act[cc, open_day], 0, 1)
    add(cc[opened], open_day[opened], "campaign_open", camp_id[opened], np.full(int(opened.sum()), "email"),
        hours=(10.0, 23.0))

    # --- messages (stream 5): real rows only
    rng = _rng(cfg.seed, 5)
    msg_rows: list[tuple[int, int, int, str]] = []   # (customer, day, pool row, kind)
    is_es = (pool["lang"] == "es").to_numpy()
    label = pool["label"].to_numpy()
    reason = pool["reason"].to_numpy()

    def lang_mask(i: int | np.integer) -> np.ndarray:
        return is_es if lang[i] == "es" else ~is_es

    neg_reasons = pool.loc[(~is_es) & (label == "negative"), "reason"]
    reason_choices = neg_reasons.value_counts(normalize=True)
    end_day = np.where(churner | early, churn_day, n_days)
    # Ordinary messages, everyone, until they leave.
    n_bg = rng.poisson(cfg.background_messages_per_year * end_day / 365.0)
    for i in np.flatnonzero(n_bg):
        days_i = rng.integers(0, end_day[i], size=n_bg[i])
        negative = rng.random(n_bg[i]) < cfg.background_negative_share
        m = lang_mask(i)
        for d_, neg in zip(days_i, negative, strict=True):
            rows = _pick(pool, m & ((label == "negative") if neg else (label != "negative")), 1, rng)
            msg_rows.append((int(i), int(d_), int(rows[0]), "background"))
    # Dissatisfied writers: complaints between onset and churn, sticking to one reason (English).
    for i in np.flatnonzero(writes):
        k_msgs = 1 + rng.poisson(max(cfg.complaint_messages_mean - 1.0, 0.0))
        days_i = np.sort(rng.integers(onset_day[i], max(churn_day[i], onset_day[i] + 1), size=k_msgs))
        own = str(rng.choice(reason_choices.index.to_numpy(), p=reason_choices.to_numpy()))
        m = lang_mask(i)
        for d_ in days_i:
            if rng.random() < cfg.writer_negative_share:
                sticky = lang[i] == "en" and rng.random() < cfg.same_reason_share
                mask = m & (label == "negative") & ((reason == own) if sticky else True)
            else:
                mask = m & (label == "neutral")
            msg_rows.append((int(i), int(d_), int(_pick(pool, mask, 1, rng)[0]), "complaint"))
    # Satisfied customers' incidents: a complaint or two, then often thanks; they stay.
    for i in np.flatnonzero(sat_complainer):
        m = lang_mask(i)
        for _ in range(1 + rng.poisson(0.5)):
            d_ = incident_day[i] + rng.integers(0, 7)
            msg_rows.append((int(i), int(d_), int(_pick(pool, m & (label == "negative"), 1, rng)[0]), "incident"))
        if thanks[i]:
            d_ = min(incident_day[i] + cfg.incident_days + rng.integers(-14, 1), n_days - 1)
            msg_rows.append((int(i), int(d_), int(_pick(pool, m & (label == "positive"), 1, rng)[0]), "thanks"))

    mr = pd.DataFrame(msg_rows, columns=["ci", "day", "row", "kind"]).sort_values(["day", "ci"], kind="stable")
    mci, mday = mr["ci"].to_numpy(), mr["day"].to_numpy()
    picked = pool.iloc[mr["row"].to_numpy()]
    messages = pd.DataFrame({
        "message_id": [f"m{j:06d}" for j in range(len(mr))],
        "customer_id": ids[mci],
        "timestamp": _stamp(cfg, mday, rng),
        "channel": np.where(rng.random(len(mr)) < 0.5, "email", "social"),
        "text": picked["text"].to_numpy(),
        "source": picked["source"].to_numpy(),
        "source_row": picked["source_row"].to_numpy(),
        "kind": mr["kind"].to_numpy(),
    })
    # Complaints and incidents open a support ticket; some are never answered.
    ticketed = messages["kind"].isin(["complaint", "incident"]).to_numpy()
    tk = messages.loc[ticketed].reset_index(drop=True)
    tid = np.arange(len(tk), dtype=float) + 1.0
    unanswered_p = np.where(tk["kind"] == "complaint", cfg.unanswered_rate_dissatisfied,
                            cfg.unanswered_rate_satisfied)
    answered = rng.random(len(tk)) >= unanswered_p
    ev_tickets = [pd.DataFrame({"customer_id": tk["customer_id"].to_numpy(), "timestamp": tk["timestamp"],
                                "type": "ticket_opened", "value": tid, "channel": "email"})]
    delay = pd.to_timedelta(rng.exponential(8.0, size=int(answered.sum())) + 0.5, unit="h")
    ev_tickets.append(pd.DataFrame({"customer_id": tk["customer_id"].to_numpy()[answered],
                                    "timestamp": tk["timestamp"].loc[answered].reset_index(drop=True) + delay,
                                    "type": "ticket_replied", "value": tid[answered], "channel": "email"}))

    events = pd.concat(frames + ev_tickets, ignore_index=True)
    events["timestamp"] = pd.to_datetime(events["timestamp"], utc=True)
    events = events.sort_values(["timestamp", "customer_id", "type"], kind="stable").reset_index(drop=True)

    # --- customers and truth
    yearly = lam * 365.0
    tier = pd.cut(pd.Series(yearly * basket).rank(pct=True), [0, 0.5, 0.8, 0.95, 1.0],
                  labels=["low", "medium", "high", "vip"]).astype(str).to_numpy()
    customers = pd.DataFrame({"customer_id": ids, "segment": lang, "value_tier": tier, "opt_out": False})

    def day_ts(d: np.ndarray) -> pd.Series:
        ts = pd.Series(cfg.t0 + pd.to_timedelta(np.where(d >= 0, d, 0), unit="D"))
        return ts.where(d >= 0, pd.NaT)

    truth = pd.DataFrame({
        "customer_id": ids,
        "churn_date": day_ts(churn_day),
        "churn_kind": np.where(dissatisfied, "dissatisfied", np.where(silent, "silent",
                                                                     np.where(early, "before_window", "none"))),
        "dissatisfied": dissatisfied,
        "writes": writes,
        "onset": day_ts(onset_day),
        "satisfied_complainer": sat_complainer,
        "trouble": trouble,
        "lang": lang,
        "rate_per_year": yearly,
    })
    return events, messages, customers, truth
