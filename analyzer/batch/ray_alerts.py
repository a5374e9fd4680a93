"""Per-customer risk and alerts on Ray, for messages and events larger than memory.

Rows are hashed by customer into buckets (``groupby(bucket).map_groups``), so every row of a
customer is in one bucket and no bucket holds more than its share. What is population-wide is
computed from per-customer summaries, gathered on the driver, and shipped back as plain objects:

1. per bucket: the last valid timestamp and each customer's activity profile -> the judgement
   time and the back-test plan (horizon, cut-offs);
2. per bucket: customer summaries at each cut-off and at the judgement time -> the
   :class:`~analyzer.foresight.population.PopulationStats` of each;
3. per bucket: back-test examples -> the risk model fitted on the driver -> one
   :class:`~analyzer.foresight.model.ForesightModel`, the same the local engine fits;
4. per bucket: scores and alerts with that model.

The result equals :func:`analyzer.foresight.compute_alerts_detailed` on the whole input (tested).
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analyzer.batch.ray_engine import from_ipc, ray_session, to_ipc, unwrap_ray_error
from analyzer.errors import ConfigError, InputFormatError
from analyzer.foresight import (
    ForesightConfig,
    ForesightInputs,
    ForesightModel,
    PopulationStats,
    RuleTable,
    customer_summaries,
    decide_alerts,
    load_rules,
    prepare_inputs,
)
from analyzer.foresight.alerts import order_alerts
from analyzer.foresight.backtest import (
    BacktestPlan,
    activity_profile,
    activity_times,
    backtest_examples,
    fit_from_examples,
    plan_backtest,
)
from analyzer.foresight.validate import empty_rejected, normalize_ids
from analyzer.io import TimestampPolicy, detect_format
from analyzer.schema import ALERT_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RayAlerts", "compute_alerts_ray"]

_TABLES = ("messages", "events", "customers", "history")
_TABLE_KEY = {"messages": "message_id", "events": "event_id", "customers": "customer_id", "history": "alert_id"}
_TIME_COL = {"messages": "timestamp", "events": "timestamp", "history": "alerted_at"}


def _bucket_of(ids: pd.Series, n_buckets: int) -> np.ndarray:
    norm = normalize_ids(ids).fillna("").astype(object)
    h = pd.util.hash_pandas_object(norm, index=False).to_numpy()
    return (h % np.uint64(n_buckets)).astype(np.int64)


def _tag(batch: pa.Table, *, table: str, n_buckets: int) -> pa.Table:
    """One row per bucket present in the batch: (bucket, table name, that part of the batch as Arrow IPC)."""
    import pyarrow as pa

    if "customer_id" not in batch.column_names:
        raise InputFormatError(f"{table}: missing required column 'customer_id'; received {batch.column_names}.")
    buckets = _bucket_of(batch.column("customer_id").to_pandas(), n_buckets)
    rows: dict[str, list[Any]] = {"_bucket": [], "_table": [], "_payload": []}
    for b in np.unique(buckets):
        rows["_bucket"].append(int(b))
        rows["_table"].append(table)
        rows["_payload"].append(to_ipc(batch.filter(pa.array(buckets == b))))
    return pa.table({"_bucket": pa.array(rows["_bucket"], pa.int64()), "_table": pa.array(rows["_table"], pa.string()),
                     "_payload": pa.array(rows["_payload"], pa.large_binary())})


def _consolidate(group: pa.Table) -> pa.Table:
    """All parts of one bucket -> one row: the bucket and one Arrow IPC payload per table."""
    import pyarrow as pa

    names = group.column("_table").to_pylist()
    blobs = group.column("_payload").to_pylist()
    row: dict[str, Any] = {"_bucket": pa.array([int(group.column("_bucket")[0].as_py())], pa.int64())}
    for t in _TABLES:
        parts = [from_ipc(b) for n, b in zip(names, blobs, strict=True) if n == t]
        row[t] = pa.array([to_ipc(pa.concat_tables(parts, promote_options="permissive")) if parts else None],
                          pa.large_binary())
    return pa.table(row)


def _frames(row: dict[str, Any]) -> dict[str, pd.DataFrame | None]:
    out: dict[str, pd.DataFrame | None] = {}
    for t in _TABLES:
        blob = row[t]
        if blob is None:
            out[t] = None
            continue
        df = from_ipc(blob).to_pandas()
        for col in df.columns:
            if df[col].dtype == object:
                df[col] = df[col].map(lambda v: v.tolist() if isinstance(v, np.ndarray) else v)
        out[t] = df
    return out


def _rows(batch: dict[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    for i in range(len(batch["_bucket"])):
        yield {k: v[i] for k, v in batch.items()}


def _payload(values: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"payload": [pickle.dumps(v) for v in values]})


class RayAlerts:
    """The four passes over the buckets (see the module docstring); each method is one Ray task body."""

    def __init__(self, config: ForesightConfig, timestamps: TimestampPolicy | None) -> None:
        self.config, self.timestamps = config, timestamps

    def inputs(self, row: dict[str, Any]) -> ForesightInputs:
        f = _frames(row)
        return prepare_inputs(f["messages"], f["events"], f["customers"], self.timestamps)

    def profile(self, batch: dict[str, np.ndarray]) -> pd.DataFrame:
        out = []
        for row in _rows(batch):
            data = self.inputs(row)
            last = [df["timestamp"].max() for df in (data.messages, data.events) if not df.empty]
            out.append((max(last) if last else None, activity_profile(activity_times(data.messages, data.events))))
        return _payload(out)

    def summaries(self, batch: dict[str, np.ndarray], *, times: list[pd.Timestamp]) -> pd.DataFrame:
        out = []
        for row in _rows(batch):
            data = self.inputs(row)
            out.append({t: customer_summaries(data.events, t, self.config.behaviour) for t in times})
        return _payload(out)

    def examples(self, batch: dict[str, np.ndarray], *, plan: BacktestPlan, as_of: pd.Timestamp,
                 stats: dict[pd.Timestamp, PopulationStats]) -> pd.DataFrame:
        out = []
        for row in _rows(batch):
            data = self.inputs(row)
            msgs, ev = data.messages, data.events
            out.append(backtest_examples(msgs.loc[msgs["timestamp"] <= as_of], ev.loc[ev["timestamp"] <= as_of],
                                         plan, stats, self.config))
        return _payload(out)

    def reference(self, batch: dict[str, np.ndarray], *, model: ForesightModel, as_of: pd.Timestamp) -> pd.DataFrame:
        return _payload([model.reference_parts(self.inputs(row), as_of) for row in _rows(batch)])

    def alerts(self, batch: dict[str, np.ndarray], *, model: ForesightModel, as_of: pd.Timestamp, table: RuleTable,
               lang: str) -> pd.DataFrame:
        out = []
        for row in _rows(batch):
            data = self.inputs(row)
            history = _frames(row)["history"]
            states, features, facts = model.score_inputs(data, as_of)
            alerts, suppressed, states = decide_alerts(states, features, facts, data.customers, table, as_of=as_of,
                                                       lang=lang, history=history)
            out.append((alerts, states, suppressed, data.rejected))
        return _payload(out)


def _dataset(ray: Any, obj: Any, table: str) -> Any:
    """A Ray Dataset from a DataFrame, a Dataset, or a path (Parquet/CSV/JSONL file or directory)."""
    if obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        return ray.data.from_pandas(obj)
    if isinstance(obj, str | os.PathLike):
        p = Path(obj)
        probe = p if p.is_file() else next((f for f in sorted(p.rglob("*")) if f.is_file()
                                            and not f.name.startswith((".", "_"))), None)
        if probe is None:
            raise InputFormatError(f"{table}: {str(p)!r} is neither a file nor a directory with data files.")
        ff = detect_format(probe)
        if ff.format == "parquet":
            return ray.data.read_parquet(str(p))
        if ff.format == "jsonl":
            return ray.data.read_json(str(p), lines=True)
        import pyarrow.csv as pcsv

        return ray.data.read_csv(str(p), parse_options=pcsv.ParseOptions(delimiter="\t" if ff.format == "tsv" else ","))
    if hasattr(obj, "map_batches"):
        return obj
    raise ConfigError(f"{table}: expected a pandas DataFrame, a Ray Dataset or a path; received {type(obj).__name__}.")


def _gather(ds: Any, fn: Any, **kwargs: Any) -> list[Any]:
    frame = ds.map_batches(fn, batch_size=1, batch_format="numpy", zero_copy_batch=False, fn_kwargs=kwargs).to_pandas()
    return [pickle.loads(p) for p in frame["payload"]]


def compute_alerts_ray(messages: Any, events: Any = None, customers: Any = None, *, as_of: Any = None,
                       lang: str = "es", model: ForesightModel | None = None, rules: Any = None, history: Any = None,
                       config: ForesightConfig | None = None, timestamps: TimestampPolicy | None = None,
                       num_buckets: int | None = None, address: str | None = None,
                       object_store_memory: int | None = None) -> pd.DataFrame:
    """:func:`analyzer.foresight.compute_alerts` on Ray, grouped by customer (see the module docstring).

    Each input may be a pandas DataFrame, a Ray Dataset or a path to a Parquet/CSV/JSONL file or a
    directory of shards (e.g. the output of the Ray batch engine for ``messages``). ``model``: a
    fitted model to use as is (default: fitted across the buckets, the same one the local engine
    fits). Returns the alerts (:data:`~analyzer.schema.ALERT_COLUMNS`, most severe first);
    ``attrs`` carries ``states`` (every customer), ``rejected``, ``suppressed``, ``as_of`` and ``model``.
    """
    if lang not in ("es", "en"):
        raise ConfigError(f"lang must be 'es' or 'en'; received {lang!r}.")
    cfg = config or (model.config if model is not None else ForesightConfig())
    table = rules if isinstance(rules, RuleTable) else load_rules(Path(rules) if rules is not None else None)
    work = RayAlerts(cfg, timestamps)
    with ray_session(address, object_store_memory=object_store_memory) as ray:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        k = num_buckets or max(8, 4 * int(ray.cluster_resources().get("CPU", 2)))
        tagged = []
        for name, obj in zip(_TABLES, (messages, events, customers, history), strict=True):
            ds = _dataset(ray, obj, name)
            if ds is not None:
                tagged.append(ds.map_batches(_tag, batch_format="pyarrow", fn_kwargs={"table": name, "n_buckets": k}))
        if not tagged:
            raise ConfigError("compute_alerts_ray needs messages or events.")
        union = tagged[0].union(*tagged[1:]) if len(tagged) > 1 else tagged[0]
        try:
            buckets = union.groupby("_bucket", num_partitions=min(k, 64)).map_groups(
                _consolidate, batch_format="pyarrow").materialize()
            profiles = _gather(buckets, work.profile)
            if as_of is not None:
                ts = pd.Timestamp(as_of)
                as_of_ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            else:
                lasts = [p[0] for p in profiles if p[0] is not None]
                as_of_ts = pd.Timestamp(max(lasts)) if lasts else pd.Timestamp.now(tz="UTC").floor("s")
            if model is None:
                model = _fit(buckets, work, profiles, as_of_ts, cfg)
            parts = _gather(buckets, work.alerts, model=model, as_of=as_of_ts, table=table, lang=lang)
        except Exception as exc:
            inner = unwrap_ray_error(exc)
            if inner is not exc:
                raise inner from exc
            raise
    alert_parts = [p[0] for p in parts if not p[0].empty]
    alerts = order_alerts(pd.concat(alert_parts, ignore_index=True) if alert_parts
                          else pd.DataFrame(columns=list(ALERT_COLUMNS)))
    states = pd.concat([p[1] for p in parts], ignore_index=False).sort_index(kind="stable") if parts else pd.DataFrame()
    rejected = [p[3] for p in parts if not p[3].empty]
    alerts.attrs.update({
        "states": states, "rejected": pd.concat(rejected, ignore_index=True) if rejected else empty_rejected(),
        "suppressed": pd.concat([p[2] for p in parts], ignore_index=True) if parts else pd.DataFrame(),
        "as_of": as_of_ts, "model": model, "customers": len(states)})
    return alerts


def _fit(buckets: Any, work: RayAlerts, profiles: list[Any], as_of: pd.Timestamp,
         cfg: ForesightConfig) -> ForesightModel:
    """Steps 1-3 of the module docstring: the plan, the population statistics and the back-test fit."""
    profile = pd.concat([p[1] for p in profiles], ignore_index=True) if profiles else pd.DataFrame(
        columns=["customer_id", "first", "last", "median_gap_days"])
    plan = plan_backtest(profile, as_of, cfg.backtest)
    times = [*plan.cutoffs, as_of]
    per_bucket = _gather(buckets, work.summaries, times=times)
    # Summaries at a time only see events up to it: the local fit filters to as_of first, so does this.
    stats = {t: PopulationStats.from_summaries(pd.concat([b[t] for b in per_bucket], ignore_index=True), t,
                                               cfg.behaviour) for t in times}
    examples = pd.DataFrame()
    if plan.cutoffs:
        parts = _gather(buckets, work.examples, plan=plan, as_of=as_of, stats={c: stats[c] for c in plan.cutoffs})
        examples = pd.concat(parts, ignore_index=True)
    risk, report = fit_from_examples(examples, plan, cfg)
    model = ForesightModel(cfg).set_fitted(as_of, stats[as_of], risk, report, plan.horizon_days)
    parts = _gather(buckets, work.reference, model=model, as_of=as_of)
    return model.set_reference(math.fsum(t for t, _ in parts), sum(n for _, n in parts))
