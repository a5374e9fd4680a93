"""Bounded load test of the service on loopback: requests/s and p50/p95 latency for analyze and ingest.

    .venv/bin/python api/loadtest.py                       # starts its own server (real models), temp SQLite
    .venv/bin/python api/loadtest.py --analyzer light      # service overhead only (no models)
    .venv/bin/python api/loadtest.py --url http://127.0.0.1:8000 --key dfk_...   # an already running server

Bounded: at most --requests requests per endpoint (capped at 5,000) and --max-seconds per phase;
the started server listens on 127.0.0.1 only and is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

KEY = "dfk_loadtest_" + "x" * 32
TEXTS = [
    "Mi pedido lleva dos semanas de retraso y nadie me contesta",
    "The app crashed again when I tried to pay, third time this week",
    "Gracias, la atención fue excelente y muy rápida",
    "I want to cancel my subscription, this is not worth the price",
    "El producto llegó roto y el reembolso no aparece. Mi teléfono es 612 345 678",
    "Great service, thanks a lot!",
]


class LightAnalyzer:
    """Service-overhead mode only: real PII redaction and language-free keyword scores, no models."""

    def analyze_frame(self, frame: Any) -> Any:
        from analyzer.text.pii import redact_batch

        texts = frame["text"].astype(str).tolist()
        red = redact_batch(texts, ["und"] * len(texts), use_ner=False)
        out = frame.drop(columns=["text"]).copy()
        neg = [any(w in t.lower() for w in ("retraso", "crash", "cancel", "roto")) for t in texts]
        out["lang"] = "und"
        out["lang_confidence"] = 0.0
        out["text_redacted"] = [r.text for r in red]
        out["pii_types"] = [sorted(set(r.types)) for r in red]
        out["sentiment_label"] = ["negative" if n else "neutral" for n in neg]
        out["sentiment_score"] = [-0.8 if n else 0.0 for n in neg]
        out["p_negative"] = [0.85 if n else 0.1 for n in neg]
        out["p_neutral"] = [0.1 if n else 0.8 for n in neg]
        out["p_positive"] = [0.05 if n else 0.1 for n in neg]
        out["sentences"] = "[]"
        out["themes"] = [[] for _ in texts]
        out["theme_evidence"] = "[]"
        return out


def _serve(port: int, data_dir: str, analyzer: str) -> None:
    import uvicorn

    from analyzer.service import create_app
    from analyzer.settings import Settings

    settings = Settings(data_dir=Path(data_dir), bootstrap_api_key=KEY, max_batch_items=1000)
    app = create_app(settings, text_analyzer=LightAnalyzer() if analyzer == "light" else None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, key: str, limit_s: float = 300) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        try:
            r = httpx.get(f"{url}/v1/ready", timeout=2)
            if r.status_code == 200:
                return
            err = r.json()["checks"]["models"].get("error")
            if err:
                raise SystemExit(f"server cannot load the models: {err} (try --analyzer light)")
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server at {url} not ready after {limit_s:.0f} s")


def _run_phase(name: str, n: int, concurrency: int, max_s: float,
               make_request: Callable[[httpx.Client, int], httpx.Response], url: str, key: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = iter(range(n))
    lock = threading.Lock()
    deadline = time.monotonic() + max_s

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as c:
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                try:
                    r = make_request(c, i)
                    code = str(r.status_code)
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                dt_s = time.perf_counter() - t0
                with lock:
                    if code in ("200", "201"):
                        latencies.append(dt_s)
                    else:
                        errors[code] = errors.get(code, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)

    def pct(q: float) -> float:
        return round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 1) if lat else float("nan")

    return {"endpoint": name, "ok": len(lat), "errors": errors, "seconds": round(wall, 2),
            "requests_per_s": round(len(lat) / wall, 1) if wall else 0.0, "p50_ms": pct(0.50), "p95_ms": pct(0.95),
            "mean_ms": round(1000 * statistics.fmean(lat), 1) if lat else float("nan")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="an already running server (default: start one on loopback)")
    ap.add_argument("--key", default=os.environ.get("DARKFEEDBACK_LOADTEST_KEY", KEY),
                    help="API key with ingest scope (for --url)")
    ap.add_argument("--requests", type=int, default=200, help="requests per endpoint (max 5000)")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1, help="texts/messages per request")
    ap.add_argument("--max-seconds", type=float, default=120.0, help="time limit per phase")
    ap.add_argument("--analyzer", choices=["real", "light"], default="real",
                    help="server's text analyzer when this script starts it")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        _serve(args.port, args.data_dir, args.analyzer)
        return 0
    n = max(1, min(args.requests, 5000))
    proc = None
    tmp = None
    url, key = args.url, args.key
    if url is None:
        tmp = tempfile.TemporaryDirectory(prefix="df-loadtest-")
        port = _free_port()
        url, key = f"http://127.0.0.1:{port}", KEY
        proc = subprocess.Popen([sys.executable, __file__, "--serve", "--port", str(port), "--data-dir", tmp.name,
                                 "--analyzer", args.analyzer])
    try:
        _wait_ready(url, key)
        run = f"lt{int(time.time())}"
        now = dt.datetime.now(dt.UTC)

        def analyze(c: httpx.Client, i: int) -> httpx.Response:
            return c.post("/v1/analyze", json={"texts": [TEXTS[(i + j) % len(TEXTS)] for j in range(args.batch)]})

        def ingest(c: httpx.Client, i: int) -> httpx.Response:
            msgs = [{"message_id": f"{run}-{i}-{j}", "customer_id": f"LT{(i * args.batch + j) % 50}",
                     "timestamp": (now - dt.timedelta(minutes=i)).isoformat(), "channel": "chat",
                     "text": TEXTS[(i + j) % len(TEXTS)]} for j in range(args.batch)]
            return c.post("/v1/messages", json={"messages": msgs})

        results = [_run_phase("POST /v1/analyze", n, args.concurrency, args.max_seconds, analyze, url, key),
                   _run_phase("POST /v1/messages", n, args.concurrency, args.max_seconds, ingest, url, key)]
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        server = args.analyzer if not args.url else "external"
        print(f"{'endpoint':<20} {'ok':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}  errors "
              f"(batch={args.batch}, concurrency={args.concurrency}, analyzer={server})")
        for r in results:
            print(f"{r['endpoint']:<20} {r['ok']:>6} {r['requests_per_s']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8}  "
                  f"{r['errors'] or '-'}")
    return 0 if all(not r["errors"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
