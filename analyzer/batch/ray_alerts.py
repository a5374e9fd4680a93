"""Per-customer alerts on Ray (see :func:`compute_alerts_ray`). TEMPORARY: being reworked."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import numpy as np
import pandas as pd

from analyzer.batch.ray_engine import from_ipc as _from_ipc
from analyzer.batch.ray_engine import ray_session
from analyzer.batch.ray_engine import to_ipc as _ipc
from analyzer.batch.ray_engine import unwrap_ray_error as _unwrap
from analyzer.errors import ConfigError, InputFormatError
from analyzer.io import detect_format

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["compute_alerts_ray"]


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


# --------------------------------------------------------------------------- per-customer alerts

_TABLES = ("messages", "events", "customers", "history")
_TABLE_KEY = {"messages": "message_id", "events": "event_id", "customers": "customer_id", "history": "alert_id"}
_TIME_COL = {"messages": "timestamp", "events": "timestamp", "history": "alerted_at"}
# analyzer.foresight.behaviour fits BG/NBD as ``BGNBD(penalizer=1e-4)`` on the whole batch.
_BGNBD_PENALIZER = 1e-4
_GHOST_PREFIX = "\x00ray-ghost-"
_NEVER = 1 << 62


def _norm_ids(values: pd.Series) -> pd.Series:
    """Customer ids as analyzer.foresight compares them (strings, stripped, ``17850.0`` = ``17850``)."""
    return values.astype("string").str.strip().str.removesuffix(".0").fillna("")


def _bucket_of(ids: pd.Series, n_buckets: int) -> np.ndarray:
    h = pd.util.hash_pandas_object(_norm_ids(ids).astype(object), index=False).to_numpy()
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
        rows["_payload"].append(_ipc(batch.filter(pa.array(buckets == b))))
    return pa.table({"_bucket": pa.array(rows["_bucket"], pa.int64()), "_table": pa.array(rows["_table"], pa.string()),
                     "_payload": pa.array(rows["_payload"], pa.large_binary())})


def _consolidate(group: pa.Table) -> pa.Table:
    """All parts of one bucket -> one row: the bucket and one Arrow IPC payload per table."""
    import pyarrow as pa

    bucket = int(group.column("_bucket")[0].as_py())
    names = group.column("_table").to_pylist()
    blobs = group.column("_payload").to_pylist()
    row: dict[str, Any] = {"_bucket": pa.array([bucket], pa.int64())}
    for t in _TABLES:
        parts = [_from_ipc(b) for n, b in zip(names, blobs, strict=True) if n == t]
        merged = _ipc(pa.concat_tables(parts, promote_options="permissive")) if parts else None
        row[t] = pa.array([merged], pa.large_binary())
    return pa.table(row)


def _bucket_frames(row: dict[str, Any]) -> dict[str, pd.DataFrame | None]:
    """The bucket's tables as pandas, rows in a deterministic order (shuffles do not keep one)."""
    out: dict[str, pd.DataFrame | None] = {}
    for t in _TABLES:
        blob = row[t]
        if blob is None:
            out[t] = None
            continue
        df = _to_pandas(_from_ipc(blob))
        keys = [c for c in dict.fromkeys(("customer_id", _TIME_COL.get(t, ""), _TABLE_KEY[t])) if c in df.columns]
        if keys and len(df):
            order = df[keys[0]].astype(str)
            for c in keys[1:]:
                order = order + "\x1f" + df[c].astype(str)
            df = df.iloc[np.argsort(order.to_numpy(dtype=object), kind="stable")].reset_index(drop=True)
        out[t] = df
    return out


def _valid_tables(frames: dict[str, pd.DataFrame | None]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Valid messages and events of customers who did not opt out (what compute_alerts profiles)."""
    from analyzer.foresight import validate_customers, validate_events, validate_messages

    msgs = frames["messages"]
    evs = frames["events"]
    m = validate_messages(msgs).valid if msgs is not None else pd.DataFrame(columns=["customer_id", "timestamp"])
    e = (validate_events(evs).valid if evs is not None
         else pd.DataFrame(columns=["customer_id", "timestamp", "type"]))
    cust = validate_customers(frames["customers"]).valid
    opted_out = set(cust.loc[cust["opt_out"], "customer_id"].astype(str))
    return m.loc[~m["customer_id"].isin(opted_out)], e.loc[~e["customer_id"].isin(opted_out)]


def _bucket_last_time(batch: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per bucket, the last valid message time and the last valid event time (pickled Timestamps,
    so their resolution survives: the local as_of is one of these very values)."""
    out = []
    for row in _rows(batch):
        m, e = _valid_tables(_bucket_frames(row))
        out.append({"payload": pickle.dumps(tuple(df["timestamp"].max() if not df.empty else None for df in (m, e)))})
    return pd.DataFrame(out, columns=["payload"])


def _global_as_of(payloads: pd.Series) -> pd.Timestamp:
    """What compute_alerts' default as_of is on the whole input: max(last message, last event)."""
    per_bucket = [pickle.loads(p) for p in payloads]
    stamps = []
    for k in range(2):  # messages first, then events, as analyzer.foresight.alerts._as_of
        values = [b[k] for b in per_bucket if b[k] is not None]
        if values:
            stamps.append(max(values))
    return max(stamps) if stamps else pd.Timestamp.now(tz="UTC")


def _bucket_population(batch: dict[str, np.ndarray], *, as_of: pd.Timestamp, behaviour_config: Any) -> pd.DataFrame:
    """Per bucket, what the population-wide steps need: every customer's RFM summary (for the
    one BG/NBD fit) and the inputs of the pooled functions (see :data:`_POOLED_FUNCTIONS`)."""
    from analyzer.foresight import BehaviourConfig, compute_behaviour_signals, rfm_summary

    cfg = dataclasses.replace(behaviour_config or BehaviourConfig(), bgnbd_min_customers=_NEVER)
    out = []
    for row in _rows(batch):
        _, e = _valid_tables(_bucket_frames(row))
        ev = e.loc[e["timestamp"] <= as_of]
        summary = rfm_summary(ev.loc[ev["type"] == "purchase"], as_of)
        rfm = summary[["frequency", "recency", "T"]].reset_index()
        rfm["customer_id"] = rfm["customer_id"].astype(str)
        recorded: dict[str, Any] = {}
        if not e.empty:
            with _pooled("record", recorded):
                compute_behaviour_signals(e, as_of, cfg)
        out.append({"payload": pickle.dumps((rfm, recorded))})
    return pd.DataFrame(out, columns=["payload"])


def _rows(batch: dict[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    n = len(batch["_bucket"])
    for i in range(n):
        yield {k: v[i] for k, v in batch.items()}


class _FittedBGNBD:
    """Stands in for ``BGNBD(...)`` inside a bucket: ``fit`` keeps the population fit."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, *args: Any, **kwargs: Any) -> _FittedBGNBD:
        return self

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        return self.model


@contextlib.contextmanager
def _population_bgnbd(model: Any) -> Iterator[None]:
    """Make analyzer.foresight.behaviour use ``model`` (fitted on all customers) in this process."""
    from analyzer.foresight import behaviour

    if model is None:
        yield
        return
    if not hasattr(behaviour, "BGNBD"):
        raise ConfigError("analyzer.foresight.behaviour no longer builds a BGNBD model the Ray engine can share "
                          "between buckets; update analyzer.batch.ray_engine.compute_alerts_ray.")
    with mock.patch.object(behaviour, "BGNBD", _FittedBGNBD(model)):
        yield


#: Functions of analyzer.foresight.behaviour whose result pools every customer of the batch (one
#: number per call, e.g. the median week-to-week dispersion). Inside a bucket they would see only
#: the bucket's customers, so the Ray engine records their inputs in every bucket, evaluates the
#: real function once on the union of those inputs, and replays that value in every bucket.
_POOLED_FUNCTIONS: tuple[str, ...] = ("_weekly_dispersion",)


def _caller() -> str:
    import sys

    return sys._getframe(2).f_code.co_name  # the foresight function that asked for the statistic


@contextlib.contextmanager
def _pooled(mode: str, store: dict[str, Any]) -> Iterator[None]:
    """``mode="record"``: keep each pooled call's arguments in ``store`` (keyed by function and
    caller) and return the real (bucket-local) value; ``mode="replay"``: return ``store``'s
    population value for that key."""
    from analyzer.foresight import behaviour

    with contextlib.ExitStack() as stack:
        for name in _POOLED_FUNCTIONS:
            real = getattr(behaviour, name, None)
            if real is None:
                continue

            def wrapper(*args: Any, _name: str = name, _real: Any = real) -> Any:
                key = f"{_name}:{_caller()}"
                if mode == "replay":
                    if key not in store:
                        raise ConfigError(f"analyzer.batch.ray_engine has no population value for {key}; "
                                          "was the input changed between passes?")
                    return store[key]
                store.setdefault(key, []).append(args)
                return _real(*args)

            stack.enter_context(mock.patch.object(behaviour, name, wrapper))
        yield


def _pooled_values(recorded: list[dict[str, list[tuple[Any, ...]]]]) -> dict[str, Any]:
    """Evaluate each pooled function once on the union of what every bucket passed to it."""
    from analyzer.foresight import behaviour

    calls: dict[str, list[tuple[Any, ...]]] = {}
    for rec in recorded:
        for key, args_list in rec.items():
            calls.setdefault(key, []).extend(args_list)
    values: dict[str, Any] = {}
    for key, args_list in calls.items():
        real = getattr(behaviour, key.split(":")[0])
        frames = [a[0] for a in args_list if len(a[0])]
        union = pd.concat(frames, ignore_index=True) if frames else args_list[0][0]
        rest = args_list[0][1:]
        if any(a[1:] != rest for a in args_list):
            raise ConfigError(f"{key}: buckets disagree on the window or thresholds; this is a bug in "
                              "analyzer.batch.ray_engine.")
        values[key] = real(union, *rest)
    return values


def _ghost_events(as_of: pd.Timestamp, like: pd.DataFrame | None) -> pd.DataFrame:
    """Three repeat buyers that no real id can equal: they let a bucket with fewer than three
    repeat buyers apply the population BG/NBD model; their output is dropped."""
    rows = []
    for i in range(3):
        for d in (2, 1):
            rows.append({"customer_id": f"{_GHOST_PREFIX}{i}", "timestamp": as_of - pd.Timedelta(days=d),
                         "type": "purchase"})
    ghosts = pd.DataFrame(rows)
    if like is not None:
        ghosts = ghosts.reindex(columns=list(dict.fromkeys([*like.columns, *ghosts.columns])))
    return ghosts


def _bucket_alerts(batch: dict[str, np.ndarray], *, as_of: pd.Timestamp, model: Any, bgnbd: Any,
                   pooled: dict[str, Any], lang: str, rules: Any, behaviour_config: Any,
                   shift_config: Any) -> pd.DataFrame:
    from analyzer.foresight import BehaviourConfig, compute_alerts_detailed

    cfg = dataclasses.replace(behaviour_config or BehaviourConfig(), bgnbd_min_customers=0 if bgnbd else _NEVER)
    out = []
    for row in _rows(batch):
        frames = _bucket_frames(row)
        events = frames["events"]
        if bgnbd is not None:
            _, e = _valid_tables(frames)
            repeat = e.loc[(e["timestamp"] <= as_of) & (e["type"] == "purchase")]
            days = repeat.assign(day=repeat["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"])
            if int((days.groupby("customer_id").size() > 1).sum()) < 3:
                ghosts = _ghost_events(as_of, events)
                events = ghosts if events is None else pd.concat([events, ghosts], ignore_index=True)
        with _population_bgnbd(bgnbd), _pooled("replay", pooled):
            result = compute_alerts_detailed(frames["messages"], events, frames["customers"], as_of=as_of,
                                             lang=lang, model=model, rules=rules, history=frames["history"],
                                             behaviour_config=cfg, shift_config=shift_config)
        alerts = result.alerts.loc[~result.alerts["customer_id"].astype(str).str.startswith(_GHOST_PREFIX)].copy()
        alerts.attrs = {}  # compute_alerts puts the rejected rows there; they travel separately
        suppressed = result.suppressed.loc[~result.suppressed["customer_id"].astype(str).str.startswith(_GHOST_PREFIX)]
        rejected = _keyed_rejections(result.rejected, frames)
        out.append({"payload": pickle.dumps((alerts.reset_index(drop=True), rejected, suppressed,
                                             int((~result.risk.index.astype(str).str.startswith(_GHOST_PREFIX)).sum())))})
    return pd.DataFrame(out, columns=["payload"])


def _keyed_rejections(rejected: pd.DataFrame, frames: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """Rejected input rows, named by customer and row key (a row number means nothing inside a bucket)."""
    rows = []
    for r in rejected.itertuples(index=False):
        table = str(r.table)
        df = frames.get(table)
        key_col = _TABLE_KEY.get(table, "")
        cid = key = None
        if df is not None and 0 <= int(r.row) < len(df):
            cid = df["customer_id"].iloc[int(r.row)]
            key = df[key_col].iloc[int(r.row)] if key_col in df.columns else None
        rows.append({"table": table, "customer_id": None if cid is None or pd.isna(cid) else str(cid),
                     "key": None if key is None or pd.isna(key) else str(key),
                     "reason": str(r.reason), "message": str(r.message)})
    return pd.DataFrame(rows, columns=["table", "customer_id", "key", "reason", "message"])


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


def compute_alerts_ray(messages: Any, events: Any = None, customers: Any = None, *, as_of: Any = None,
                       lang: str = "es", model: Any = None, rules: Any = None, history: Any = None,
                       behaviour_config: Any = None, shift_config: Any = None, num_buckets: int | None = None,
                       address: str | None = None, object_store_memory: int | None = None) -> pd.DataFrame:
    """:func:`analyzer.foresight.compute_alerts` on Ray, grouped by customer, for inputs larger than memory.

    Each input may be a pandas DataFrame, a Ray Dataset or a path to a Parquet/CSV/JSONL file or a
    directory of shards (e.g. the output of :func:`run_batch_ray` for ``messages``). Rows are
    hashed by customer into ``num_buckets`` buckets (default: 4 per CPU of the cluster, at least
    8); one bucket must fit in a worker's memory. Returns the alerts (:data:`ALERT_COLUMNS`, most
    severe first) like ``compute_alerts``; ``attrs["rejected"]`` lists bad input rows by table,
    customer and row key (``message_id`` / ``event_id``), ``attrs["suppressed"]`` the alerts held
    back by the cooldown, ``attrs["as_of"]`` the judgement time and ``attrs["customers"]`` how
    many customers were profiled.

    Rows of one customer with the same timestamp are taken in id order, not file order.
    """
    from analyzer.foresight import BGNBD, RuleTable, load_rules
    from analyzer.foresight.alerts import ALERT_COLUMNS, SEVERITIES

    if lang not in ("es", "en"):
        raise ConfigError(f"lang must be 'es' or 'en'; received {lang!r}.")
    table = rules if isinstance(rules, RuleTable) else load_rules(Path(rules) if rules is not None else None)
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
            if as_of is not None:
                ts = pd.Timestamp(as_of)
                as_of_ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            else:
                last = buckets.map_batches(_bucket_last_time, batch_size=1, batch_format="numpy",
                                           zero_copy_batch=False).to_pandas()
                as_of_ts = _global_as_of(last["payload"])
            # The population BG/NBD model: fitted once, on every customer, in customer order (as locally).
            population = buckets.map_batches(
                _bucket_population, batch_size=1, batch_format="numpy", zero_copy_batch=False,
                fn_kwargs={"as_of": as_of_ts, "behaviour_config": behaviour_config}).to_pandas()
            per_bucket = [pickle.loads(p) for p in population["payload"]]
            rfm = pd.concat([b[0] for b in per_bucket], ignore_index=True) if per_bucket else pd.DataFrame(
                {"customer_id": [], "frequency": [], "recency": [], "T": []})
            rfm = rfm.sort_values("customer_id", kind="stable")
            pooled = _pooled_values([b[1] for b in per_bucket])
            cfg_min = (behaviour_config.bgnbd_min_customers if behaviour_config is not None
                       else _default_bgnbd_min_customers())
            bgnbd = None
            if len(rfm) >= cfg_min and int((rfm["frequency"] > 0).sum()) >= 3:
                bgnbd = BGNBD(penalizer=_BGNBD_PENALIZER).fit(rfm["frequency"], rfm["recency"], rfm["T"])
            parts = buckets.map_batches(
                _bucket_alerts, batch_size=1, batch_format="numpy", zero_copy_batch=False,
                fn_kwargs={"as_of": as_of_ts, "model": model, "bgnbd": bgnbd, "pooled": pooled, "lang": lang,
                           "rules": table,
                           "behaviour_config": behaviour_config, "shift_config": shift_config},
            ).to_pandas()
        except Exception as exc:
            inner = _unwrap(exc)
            if inner is not exc:
                raise inner from exc
            raise
    results = [pickle.loads(p) for p in parts["payload"]]
    alerts_parts = [r[0] for r in results if not r[0].empty]
    alerts = (pd.concat(alerts_parts, ignore_index=True) if alerts_parts
              else pd.DataFrame(columns=list(ALERT_COLUMNS)))
    if not alerts.empty:
        order = alerts["severity"].map(SEVERITIES.index)
        alerts = (alerts.assign(_o=order, _id=alerts["alert_id"])
                  .sort_values(["_o", "risk", "_id"], ascending=[False, False, True])
                  .drop(columns=["_o", "_id"]).reset_index(drop=True))
    rejected = pd.concat([r[1] for r in results], ignore_index=True) if results else pd.DataFrame(
        columns=["table", "customer_id", "key", "reason", "message"])
    suppressed = pd.concat([r[2] for r in results], ignore_index=True) if results else pd.DataFrame(
        columns=["customer_id", "cause", "severity", "why"])
    alerts.attrs["rejected"] = rejected
    alerts.attrs["suppressed"] = suppressed
    alerts.attrs["as_of"] = as_of_ts
    alerts.attrs["customers"] = sum(r[3] for r in results)
    return alerts


def _default_bgnbd_min_customers() -> int:
    from analyzer.foresight import BehaviourConfig

    return int(BehaviourConfig().bgnbd_min_customers)
