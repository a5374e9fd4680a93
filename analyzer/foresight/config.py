"""Settings of the foresight stage: windows and thresholds, as frozen dataclasses that travel with a model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from analyzer.errors import ConfigError

__all__ = ["DEFAULT_COMPLAINT_THEMES", "BacktestConfig", "BehaviourConfig", "ForesightConfig", "ShiftConfig"]

DEFAULT_COMPLAINT_THEMES: tuple[str, ...] = (
    "delivery_delay", "cancellation_by_company", "lost_damaged_item", "refund_return", "billing_price",
    "product_quality", "support_responsiveness", "staff_attitude", "app_web_error", "account_access",
)
"""Complaint themes of the bundled taxonomy; a taxonomy marks its own with ``complaint: true``."""


@dataclass(frozen=True)
class BehaviourConfig:
    """Windows and thresholds of the behaviour signals (days unless said otherwise)."""

    recent_days: int = 30
    baseline_days: int = 180
    inactivity_days: tuple[int, int] = (30, 60)
    # A drop is only judged for customers who bought about monthly or more: with fewer, a quiet
    # month is what their own rhythm predicts (Poisson P(0) >= 37 %), not a change.
    min_baseline_purchases: int = 6
    error_window_days: int = 14
    min_errors: int = 3
    ticket_sla_hours: float = 24.0
    campaign_window_days: int = 60
    min_campaigns: int = 3
    min_channel_events: int = 3
    bgnbd_min_customers: int = 30
    bgnbd_penalizer: float = 1e-4
    # Activity and purchase drop: judged from about one event a month in the baseline; a drop
    # counts when this few events is unlikely (below ``activity_drop_p``) at the customer's own
    # rate with the population's week-to-week noise (negative binomial).
    min_baseline_activity: int = 6
    activity_drop_p: float = 0.05
    rating_window_days: int = 180

    def __post_init__(self) -> None:
        if self.recent_days <= 0 or self.baseline_days <= 0:
            raise ConfigError(f"recent_days and baseline_days must be > 0; received "
                              f"{self.recent_days}, {self.baseline_days}.")
        lo, hi = self.inactivity_days
        if not 0 < lo <= hi:
            raise ConfigError(f"inactivity_days must be (warn, severe) with 0 < warn <= severe; received "
                              f"{self.inactivity_days}.")
        if not 0 < self.activity_drop_p < 1:
            raise ConfigError(f"activity_drop_p must be in (0, 1); received {self.activity_drop_p}.")


@dataclass(frozen=True)
class ShiftConfig:
    """Thresholds of the tone-shift detector and the message windows."""

    min_magnitude: float = 0.5      # drop of the mean score (scale [-1, 1]) that counts as a shift
    min_stat: float = 1.5           # standardised mean-difference the split must reach
    min_messages: int = 3           # fewer messages than this cannot show a change
    noise_floor: float = 0.3        # lower bound on the score spread used to standardise
    last_k: int = 4                 # "the last k messages" of the tone evidence
    recent_days: int = 90           # window for themes, churn intent and the tone of the last k
    tone_threshold: float = 0.25    # mean score above/below this = positive/negative tone
    collapse_magnitude: float = 1.0  # a shift this large (e.g. +0.5 -> -0.5) is a collapse in tone: urgent

    def __post_init__(self) -> None:
        if self.min_messages < 2 or self.last_k < 1:
            raise ConfigError(f"min_messages must be >= 2 and last_k >= 1; received {self.min_messages}, "
                              f"{self.last_k}.")


@dataclass(frozen=True)
class BacktestConfig:
    """How the risk model learns from the user's own history (no external labels).

    Cut-off dates step back from the end of the data; at each, customers still active are
    labelled lapsed when they show no own activity within ``horizon_days`` (default: from the
    business's rhythm, three times the median gap between a customer's active days, rounded to a
    week and kept within ``horizon_bounds``). With fewer than ``min_cutoffs`` cut-offs, or too
    few lapsed or retained examples, the model keeps its priors and says so.
    """

    horizon_days: int | None = None
    horizon_bounds: tuple[int, int] = (30, 180)
    max_cutoffs: int = 6
    min_cutoffs: int = 2
    step_days: int | None = None  # default: a third of the horizon, at least 14 days
    min_history_days: int = 60
    min_examples: int = 200
    min_each_class: int = 30
    prior_strength: float = 1.0  # L2 pull towards the prior weights
    max_customers: int = 20_000  # the back-test learns from a fixed hash sample of this many customers
    lapse_gap_multiple: float = 2.0  # a customer's own horizon: at least this many of their typical gaps

    def __post_init__(self) -> None:
        lo, hi = self.horizon_bounds
        if not 7 <= lo <= hi:
            raise ConfigError("horizon_bounds must be (low, high) with 7 <= low <= high; received "
                              f"{self.horizon_bounds}.")
        if self.horizon_days is not None and self.horizon_days < 7:
            raise ConfigError(f"horizon_days must be at least 7; received {self.horizon_days}.")
        if self.min_cutoffs < 1 or self.max_cutoffs < self.min_cutoffs:
            raise ConfigError(f"need 1 <= min_cutoffs <= max_cutoffs; received {self.min_cutoffs}, {self.max_cutoffs}.")


@dataclass(frozen=True)
class ForesightConfig:
    """Everything the foresight stage is configured with; saved inside a fitted model."""

    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    shift: ShiftConfig = field(default_factory=ShiftConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    complaint_themes: tuple[str, ...] = DEFAULT_COMPLAINT_THEMES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForesightConfig:
        def build(kind: type, values: dict[str, Any]) -> Any:
            names = {f.name for f in fields(kind)}
            clean = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names}
            return kind(**clean)

        return cls(behaviour=build(BehaviourConfig, data.get("behaviour", {})),
                   shift=build(ShiftConfig, data.get("shift", {})),
                   backtest=build(BacktestConfig, data.get("backtest", {})),
                   complaint_themes=tuple(data.get("complaint_themes", DEFAULT_COMPLAINT_THEMES)))
