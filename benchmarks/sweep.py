"""How long the scheduled sweep takes: every customer re-scored and alerted at once, vectorised.

``python benchmarks/sweep.py [--customers 100000 --events-per-customer 20]`` builds a synthetic
population (purchases, logins, campaigns, tickets, errors, ratings and analysed messages over a
year; no text model needed), fits the foresight model once (what the service does on its refit
schedule, timed apart), then times the sweep itself: validation of everything, facts, features,
explained risk and the alert decision with the cooldown history, for every customer. Prints the
seconds of each step and the rate. Target of issue 13: 100,000 customers with 2 million events
in at most 5 minutes on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import pandas as pd

from analyzer.foresight import ForesightModel, decide_alerts, load_rules, prepare_inputs


def population(n: int, per_customer: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Synthetic events, analysed messages and customers (about ``n * per_customer`` events)."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2026-10-31", tz="UTC")
    ids = np.array([f"c{i:07d}" for i in range(n)])
    counts = rng.poisson(per_customer, size=n)
    cust = np.repeat(np.arange(n), counts)
    # Some customers go quiet: their events end earlier.
    stop = np.where(rng.random(n) < 0.15, rng.uniform(30, 300, size=n), 0.0)
    age = rng.uniform(0, 365, size=len(cust))
    age = np.where(age < stop[cust], stop[cust] + rng.uniform(0, 30, size=len(cust)), age)
    kinds = rng.choice(["purchase", "login", "page_view", "campaign_sent", "campaign_open", "error", "ticket_opened",
                        "ticket_replied", "nps"], p=[0.3, 0.3, 0.1, 0.12, 0.1, 0.03, 0.02, 0.02, 0.01],
                       size=len(cust))
    value = np.where(kinds == "purchase", np.round(rng.lognormal(3, 0.6, size=len(cust)), 2), np.nan)
    value = np.where(kinds == "nps", rng.integers(0, 11, size=len(cust)).astype(float), value)
    events = pd.DataFrame({"event_id": [f"e{i}" for i in range(len(cust))], "customer_id": ids[cust],
                           "timestamp": end - pd.to_timedelta(age, unit="D"), "type": kinds,
                           "value": pd.Series(value, dtype=object).where(~np.isnan(value), None),
                           "channel": rng.choice(["web", "app", "email"], size=len(cust))})
    writers = rng.choice(n, size=n // 10, replace=False)
    mc = np.repeat(writers, 2)
    label = rng.choice(["negative", "neutral", "positive"], size=len(mc))
    score = np.where(label == "negative", -0.7, np.where(label == "positive", 0.7, 0.0))
    themes = [["delivery_delay"] if lab == "negative" and k % 3 == 0 else [] for k, lab in enumerate(label)]
    messages = pd.DataFrame({"message_id": [f"m{i}" for i in range(len(mc))], "customer_id": ids[mc],
                             "timestamp": end - pd.to_timedelta(rng.uniform(0, 200, size=len(mc)), unit="D"),
                             "channel": "chat", "sentiment_label": label, "sentiment_score": score, "themes": themes,
                             "text_redacted": "texto de ejemplo"})
    customers = pd.DataFrame({"customer_id": ids, "segment": "retail",
                              "value_tier": rng.choice(["low", "medium", "high", "vip"], size=n), "opt_out": False})
    return events, messages, customers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--events-per-customer", type=int, default=20)
    ap.add_argument("--json", default=None, help="Also write the timings as JSON here.")
    args = ap.parse_args()
    t0 = time.perf_counter()
    events, messages, customers = population(args.customers, args.events_per_customer)
    as_of = events["timestamp"].max()
    timings: dict[str, float] = {"generate_s": time.perf_counter() - t0}
    t = time.perf_counter()
    inputs = prepare_inputs(messages, events, customers)
    timings["validate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    model = ForesightModel().fit_inputs(inputs, as_of)
    timings["fit_s (refit schedule, not the sweep)"] = time.perf_counter() - t
    table = load_rules()
    t = time.perf_counter()
    states, features, facts = model.score_inputs(inputs, as_of)
    timings["score_s"] = time.perf_counter() - t
    t = time.perf_counter()
    alerts, _, _ = decide_alerts(states, features, facts, inputs.customers, table, as_of=as_of)
    timings["decide_s"] = time.perf_counter() - t
    sweep = timings["validate_s"] + timings["score_s"] + timings["decide_s"]
    report = {"customers": args.customers, "events": len(events), "messages": len(messages),
              "alerts": len(alerts), **{k: round(v, 1) for k, v in timings.items()},
              "sweep_s (validate + score + decide)": round(sweep, 1),
              "customers_per_s": round(args.customers / sweep), "target_s": 300,
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
              "model": model.report_.summary()}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
