"""The fitted foresight model: everything measured on a population, in one object to fit, save and load.

:class:`ForesightModel` holds the population statistics (BG/NBD, dispersions), the risk model
(weights, references, calibration), the base rate and the horizon, and the report of how they
were fitted. The CLI fits one per run or loads a saved one; the service keeps one in its database
and refits it on a schedule; Ray fits one on the driver and ships it to the workers. Scoring takes
it as an argument, so every path computes the same risks from the same data.

    model = ForesightModel().fit(messages, events, customers)   # back-test on your own history
    model.save("model.json");  model = ForesightModel.load("model.json")
    states = model.score(messages, events, customers, as_of="2024-06-30")
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analyzer.errors import ConfigError, ModelNotFoundError, NotFittedError
from analyzer.foresight.backtest import (
    FitReport,
    activity_profile,
    activity_times,
    backtest_examples,
    fit_from_examples,
    plan_backtest,
)
from analyzer.foresight.config import ForesightConfig
from analyzer.foresight.population import PopulationStats
from analyzer.foresight.risk import RiskModel
from analyzer.foresight.scoring import score_customers
from analyzer.foresight.validate import validate_customers, validate_events, validate_messages
from analyzer.io import TimestampPolicy

__all__ = ["ForesightInputs", "ForesightModel", "prepare_inputs", "resolve_as_of"]

FORMAT = "darkfeedback.foresight/1"


@dataclass(frozen=True)
class ForesightInputs:
    """Validated inputs with opted-out customers removed, and what was set aside."""

    messages: pd.DataFrame
    events: pd.DataFrame
    customers: pd.DataFrame  # indexed by customer_id: segment, value_tier, opt_out
    rejected: pd.DataFrame
    opted_out: frozenset[str]


def _empty_messages() -> pd.DataFrame:
    return pd.DataFrame({"message_id": pd.Series(dtype=object), "customer_id": pd.Series(dtype=object),
                         "timestamp": pd.Series(dtype="datetime64[us, UTC]"), "channel": pd.Series(dtype=object),
                         "sentiment_label": pd.Series(dtype=object), "sentiment_score": pd.Series(dtype=float),
                         "themes": pd.Series(dtype=object)})


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(dtype=object), "timestamp": pd.Series(dtype="datetime64[us, UTC]"),
                         "type": pd.Series(dtype=object), "value": pd.Series(dtype=object)})


def prepare_inputs(messages: pd.DataFrame | None, events: pd.DataFrame | None, customers: pd.DataFrame | None,
                   timestamps: TimestampPolicy | None = None) -> ForesightInputs:
    """Validate the three tables (bad rows set aside with a reason) and drop opted-out customers' rows.

    Rows are put in one canonical order (customer, time, id), so a result never depends on the
    order the rows came in (a file, an API fed in any order, a Ray shuffle).
    """
    from analyzer.foresight.validate import empty_rejected

    msg_v = validate_messages(messages if messages is not None else _empty_messages(), timestamps)
    ev_v = validate_events(events if events is not None else _empty_events(), timestamps)
    cust_v = validate_customers(customers)
    parts = [r for r in (msg_v.rejected, ev_v.rejected, cust_v.rejected) if not r.empty]
    rejected = pd.concat(parts, ignore_index=True) if parts else empty_rejected()
    cust = cust_v.valid.set_index("customer_id")
    opted_out = frozenset(cust.index[cust["opt_out"]].astype(str))
    msgs = msg_v.valid.loc[~msg_v.valid["customer_id"].isin(opted_out)]
    evs = ev_v.valid.loc[~ev_v.valid["customer_id"].isin(opted_out)]
    msgs = msgs.sort_values(["customer_id", "timestamp", "message_id"], kind="stable").reset_index(drop=True)
    evs = evs.sort_values(["customer_id", "timestamp", "type", "event_id"], kind="stable").reset_index(drop=True)
    return ForesightInputs(msgs, evs, cust, rejected, opted_out)


def resolve_as_of(inputs: ForesightInputs, as_of: Any = None) -> pd.Timestamp:
    """The judgement time: ``as_of`` when given, else the last timestamp in the inputs (a re-run of an
    old export gives the answer it gave on its day)."""
    if as_of is not None:
        ts = pd.Timestamp(as_of)
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    stamps = [df["timestamp"].max() for df in (inputs.messages, inputs.events) if not df.empty]
    return pd.Timestamp(max(stamps)) if stamps else pd.Timestamp.now(tz="UTC").floor("s")


MIN_REFERENCE_CUSTOMERS = 30
"""Active customers needed for their mean risk to be severity's reference (see ForesightModel.set_reference)."""


class ForesightModel:
    """Population statistics + risk model + base rate + horizon, fitted on one population.

    ``ForesightModel(config)`` only stores the configuration; :meth:`fit` learns (attributes
    ending in ``_``) and returns the model; :meth:`save`/:meth:`load` keep it as JSON.
    """

    def __init__(self, config: ForesightConfig | None = None) -> None:
        self.config = config or ForesightConfig()

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, messages: pd.DataFrame | None, events: pd.DataFrame | None, customers: pd.DataFrame | None = None,
            *, as_of: Any = None, timestamps: TimestampPolicy | None = None) -> ForesightModel:
        """Fit on the user's own history: population statistics at ``as_of`` and the back-test."""
        inputs = prepare_inputs(messages, events, customers, timestamps)
        return self.fit_inputs(inputs, resolve_as_of(inputs, as_of))

    def fit_inputs(self, inputs: ForesightInputs, as_of: pd.Timestamp) -> ForesightModel:
        cfg = self.config
        msgs = inputs.messages.loc[inputs.messages["timestamp"] <= as_of]
        evs = inputs.events.loc[inputs.events["timestamp"] <= as_of]
        plan = plan_backtest(activity_profile(activity_times(msgs, evs)), as_of, cfg.backtest)
        stats = {c: PopulationStats.fit(evs, c, cfg.behaviour) for c in plan.cutoffs}
        examples = backtest_examples(msgs, evs, plan, stats, cfg)
        risk, report = fit_from_examples(examples, plan, cfg)
        population = PopulationStats.fit(evs, as_of, cfg.behaviour)
        self.set_fitted(as_of, population, risk, report, plan.horizon_days)
        return self.set_reference(*self.reference_parts(inputs, as_of))

    def fit_priors(self, events: pd.DataFrame, as_of: pd.Timestamp, *, horizon_days: int = 90,
                   why: str = "asked for the priors") -> ForesightModel:
        """The label-free priors with population statistics fitted on ``events`` (validated)."""
        population = PopulationStats.fit(events, as_of, self.config.behaviour)
        return self.set_fitted(as_of, population, RiskModel.priors(), FitReport("priors", horizon_days, why=why),
                               horizon_days)

    def set_fitted(self, as_of: pd.Timestamp, population: PopulationStats, risk: RiskModel, report: FitReport,
                   horizon_days: int) -> ForesightModel:
        """Install parts fitted elsewhere (the Ray engine fits them from per-bucket summaries)."""
        self.as_of_ = pd.Timestamp(as_of)
        self.population_ = population
        self.risk_ = risk
        self.report_ = report
        self.horizon_days_ = int(horizon_days)
        # The rate severity is measured against until set_reference() sets the typical active
        # customer's: the back-test's lapse rate, or under the priors the risk of a customer with no signal.
        self.base_rate_ = (report.base_rate if report.source == "backtest"
                           else 1.0 / (1.0 + math.exp(-risk.bias)))
        return self

    def reference_parts(self, inputs: ForesightInputs, as_of: pd.Timestamp) -> tuple[float, int]:
        """The sum of the risks of the customers not lapsed at ``as_of``, and their number.

        Parts, so that an engine holding the customers in buckets (Ray) adds them up; see
        :meth:`set_reference`.
        """
        states = self.score_inputs(inputs, as_of)[0]
        active = states.loc[~states["lapsed"].astype(bool), "risk"].to_numpy(dtype=float)
        return math.fsum(active), len(active)

    def set_reference(self, total: float, n: int) -> ForesightModel:
        """Severity's reference: the mean risk of the customers still active when the model was fitted.

        A customer's ``odds_ratio`` is their odds of lapsing over this typical active customer's, so a
        severity bar means the same in a business where most first-time buyers never return (a high
        lapse rate at the back-test's cut-offs) and in one with loyal regulars. Rounded to 6 decimals:
        an engine that adds the parts in another order gets the same model.
        """
        if n >= MIN_REFERENCE_CUSTOMERS:  # fewer: "typical" means little; the fit's own rate stays
            self.base_rate_ = round(min(max(total / n, 1e-4), 1 - 1e-4), 6)
        return self

    @property
    def fitted(self) -> bool:
        return hasattr(self, "risk_")

    def _check(self) -> None:
        if not self.fitted:
            raise NotFittedError("ForesightModel is not fitted; call fit(messages, events) or load a saved model.")

    # -- scoring -----------------------------------------------------------------------------
    def score_inputs(self, inputs: ForesightInputs, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                                   pd.DataFrame]:
        """``(states, features, facts)`` at ``as_of`` (see :func:`~analyzer.foresight.scoring.score_customers`)."""
        self._check()
        return score_customers(inputs.messages, inputs.events, as_of, population=self.population_, risk=self.risk_,
                               base_rate=self.base_rate_, config=self.config, horizon_days=self.horizon_days_)

    def score(self, messages: pd.DataFrame | None, events: pd.DataFrame | None, customers: pd.DataFrame | None = None,
              *, as_of: Any = None, timestamps: TimestampPolicy | None = None) -> pd.DataFrame:
        """Every customer's state at ``as_of``: risk, odds ratio to the typical active customer's, lapse, reasons."""
        inputs = prepare_inputs(messages, events, customers, timestamps)
        return self.score_inputs(inputs, resolve_as_of(inputs, as_of))[0]

    # -- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {"format": FORMAT, "as_of": self.as_of_.isoformat(), "horizon_days": self.horizon_days_,
                "base_rate": self.base_rate_, "population": self.population_.to_dict(), "risk": self.risk_.to_dict(),
                "report": self.report_.to_dict(), "config": self.config.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForesightModel:
        if data.get("format") != FORMAT:
            raise ConfigError(f"not a saved foresight model (format {data.get('format')!r}, expected {FORMAT!r}); "
                              "save one with `darkfeedback alerts --save-model PATH` or ForesightModel.save().")
        model = cls(ForesightConfig.from_dict(data.get("config", {})))
        model.as_of_ = pd.Timestamp(data["as_of"])
        model.population_ = PopulationStats.from_dict(data["population"])
        model.risk_ = RiskModel.from_dict(data["risk"])
        model.report_ = FitReport.from_dict(data["report"])
        model.horizon_days_ = int(data["horizon_days"])
        model.base_rate_ = float(data["base_rate"])
        return model

    def save(self, path: str | os.PathLike[str]) -> Path:
        from analyzer.io import atomic_write_json

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(p, self.to_dict())
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ForesightModel:
        p = Path(path)
        if not p.is_file():
            raise ModelNotFoundError(f"no saved foresight model at {str(p)!r}; fit and save one with "
                                     "`darkfeedback alerts ... --save-model PATH`.")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{str(p)!r} is not valid JSON ({exc}); it is not a saved foresight model.") from exc
        return cls.from_dict(data)

    def __repr__(self) -> str:
        if not self.fitted:
            return "ForesightModel(unfitted)"
        return (f"ForesightModel(as_of={self.as_of_.date()}, source={self.report_.source}, "
                f"horizon={self.horizon_days_}d, base_rate={self.base_rate_:.3f})")
