"""Ingest latency of the live service, and how fast the resulting alert reaches the feed.

``python benchmarks/ingest_latency.py [--requests 300] [--customers 2000]`` starts the service as
``darkfeedback serve`` does (uvicorn, SQLite under a temporary folder, the real text models),
back-fills a year of purchases for a population, then measures, in one run:

- ``POST /v1/messages`` with one message, as production sends it (the worker evaluates the
  customer off the request path);
- the same with ``?wait=true`` (the customer judged inside the request: what every ingest cost
  before the worker existed), as the baseline;
- the same with ``?backfill=true`` (nothing evaluated: the request path alone, no worker competing
  for the two cores);
- ``POST /v1/analyze`` of the same texts (the text models alone: the floor of any ingest);
- the delay from the ingest's answer to the alert's arrival on the SSE feed, for messages that
  say the customer is leaving.

Targets of issue 13: one-message ingest p95 <= 50 ms; the alert in the feed within 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

KEY = "dfk_benchmark_admin_key_0123456789abcdefghij"
SERVER = """
from pathlib import Path
from analyzer.service import create_app, serve_app
from analyzer.settings import Settings
settings = Settings(data_dir=Path({data!r}), bootstrap_api_key={key!r})
serve_app(create_app(settings), "127.0.0.1", {port}, log_level="warning")
"""
TEXTS = ["Hola, ¿a qué hora abrís el sábado?", "The parcel arrived, thanks", "¿Podéis cambiarme la talla del pedido?",
         "Necesito la factura del mes pasado", "Can I change my delivery address?", "Todo bien, gracias por la ayuda"]
LEAVING = ["Estoy harto, me doy de baja y me paso a la competencia", "I'm cancelling my account, I'm done with you",
           "Quiero darme de baja ya, nadie me contesta"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(data=str(data), key=KEY, port=port)])
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{base}/v1/ready", timeout=1).status_code == 200:
                return base, proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the server exited while starting")
        time.sleep(0.25)
    proc.kill()
    raise SystemExit("the server was not ready within 5 minutes (text models loading?)")


def _population(n: int, now: dt.datetime, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for k in range(n):
        gap = rng.uniform(5, 30)
        t = now - dt.timedelta(days=365)
        i = 0
        while t < now - dt.timedelta(days=1):
            events.append({"event_id": f"p{k}-{i}", "customer_id": f"c{k:05d}", "timestamp": t.isoformat(),
                           "type": "purchase", "value": round(rng.lognormvariate(3, 0.5), 2), "channel": "web"})
            t += dt.timedelta(days=rng.expovariate(1 / gap))
            i += 1
    return events


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def _row(name: str, ms: list[float]) -> dict[str, Any]:
    return {"what": name, "n": len(ms), "p50_ms": round(_pct(ms, 0.5), 1), "p95_ms": round(_pct(ms, 0.95), 1),
            "p99_ms": round(_pct(ms, 0.99), 1), "max_ms": round(max(ms), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300, help="one-message ingests measured per mode")
    ap.add_argument("--customers", type=int, default=2000, help="customers back-filled before measuring")
    ap.add_argument("--alerts", type=int, default=10, help="leaving messages timed to the feed")
    args = ap.parse_args()
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        base, proc = _start(Path(tmp))
        try:
            with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=600) as c:
                events = _population(args.customers, now)
                t0 = time.perf_counter()
                for i in range(0, len(events), 500):
                    c.post("/v1/events?backfill=true", json={"events": events[i:i + 500]}).raise_for_status()
                c.post("/v1/backfill/complete?wait=true").raise_for_status()
                backfill_s = time.perf_counter() - t0
                rng = random.Random(1)

                def one(i: int, tag: str, query: str = "") -> float:
                    cid = f"c{rng.randrange(args.customers):05d}"
                    body = {"messages": [{"message_id": f"{tag}{i}", "customer_id": cid, "timestamp": now.isoformat(),
                                          "channel": "chat", "text": TEXTS[i % len(TEXTS)]}]}
                    s = time.perf_counter()
                    c.post("/v1/messages" + query, json=body).raise_for_status()
                    return (time.perf_counter() - s) * 1000

                for i in range(20):  # warm-up
                    one(i, "w")
                queued = [one(i, "q") for i in range(args.requests)]
                held = [one(i, "h", "?backfill=true") for i in range(args.requests)]
                c.post("/v1/backfill/complete?wait=true").raise_for_status()
                waited = [one(i, "s", "?wait=true") for i in range(args.requests)]
                analysed = []
                for i in range(args.requests):
                    s = time.perf_counter()
                    c.post("/v1/analyze", json={"texts": [TEXTS[i % len(TEXTS)]]}).raise_for_status()
                    analysed.append((time.perf_counter() - s) * 1000)
                feed = _feed_delays(base, c, args.alerts, now)
                model = c.get("/v1/model").json()
        finally:
            proc.terminate()
            proc.wait(30)
    rows = [_row("ingest, one message (worker evaluates)", queued),
            _row("ingest, one message, ?wait=true (evaluated in the request)", waited),
            _row("ingest, one message, ?backfill=true (no evaluation at all)", held),
            _row("analyze, one text (the text models alone)", analysed)]
    print(f"back-fill of {len(events):,} events for {args.customers:,} customers, refit and first judgement: "
          f"{backfill_s:.1f} s (model: {model['report']['source']}, horizon {model['horizon_days']} d)")
    for r in rows:
        print(f"{r['what']:<62} n={r['n']:<4} p50 {r['p50_ms']:>7.1f} ms  p95 {r['p95_ms']:>7.1f} ms  "
              f"p99 {r['p99_ms']:>7.1f} ms")
    ratio = rows[1]["p95_ms"] / rows[0]["p95_ms"]
    print(f"p95 ratio, evaluated in the request / worker: {ratio:.2f}x (target: worker p95 <= 50 ms)")
    if feed:
        print(f"alert reaches the feed after the ingest's answer: median {statistics.median(feed):.2f} s, "
              f"max {max(feed):.2f} s over {len(feed)} alerts (target <= 5 s)")
    print(json.dumps({"rows": rows, "feed_delay_s": feed, "p95_ratio": round(ratio, 2)}))


def _feed_delays(base: str, c: httpx.Client, n: int, now: dt.datetime) -> list[float]:
    """Seconds from the ingest's answer to the alert on the SSE stream, per leaving message."""
    arrived: dict[str, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{base}/v1/alerts/stream", headers={"X-API-Key": KEY},
                          params={"heartbeat": 0.5}, timeout=None) as r:
            ready.set()
            for line in r.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("data: "):
                    data = json.loads(line[6:])
                    cid = data.get("alert", {}).get("customer_id", "")
                    arrived.setdefault(cid, time.perf_counter())

    threading.Thread(target=listen, daemon=True).start()
    ready.wait(10)
    sent: dict[str, float] = {}
    for i in range(n):
        cid = f"leaving-{i}"
        c.put(f"/v1/customers/{cid}", json={"value_tier": "vip"}).raise_for_status()
        body = {"messages": [{"message_id": f"l{i}", "customer_id": cid, "timestamp": now.isoformat(),
                              "channel": "chat", "text": LEAVING[i % len(LEAVING)]}]}
        c.post("/v1/messages", json=body).raise_for_status()
        sent[cid] = time.perf_counter()
        deadline = time.perf_counter() + 30
        while cid not in arrived and time.perf_counter() < deadline:
            time.sleep(0.01)
    stop.set()
    return [round(arrived[cid] - t, 3) for cid, t in sent.items() if cid in arrived]


if __name__ == "__main__":
    main()
