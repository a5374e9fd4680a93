"""Speed of the text pipeline: a naive baseline against the optimized path, measured in ONE run.

    .venv/bin/python benchmarks/speed.py             # the full run (about 15 min on 2 cores)
    .venv/bin/python benchmarks/speed.py --quick     # small sizes (what CI runs, so it cannot rot)
    .venv/bin/python benchmarks/speed.py --json out/speed.json

What is compared, on the same machine, in the same process tree:

- naive: the same model (e5-small + the trained sentiment head, fp32) through a plain
  per-text forward pass: ``transformers`` + PyTorch, batch size 1;
- torch: the reference fp32 path, batched by length (``DARKFEEDBACK_BACKEND=torch``);
- onnx: the optimized path, ONNX Runtime int8 with fused attention, length-bucketed batches
  (``DARKFEEDBACK_BACKEND=onnx``, the default).

Sections: encoder throughput at 16 and 64 tokens (sequences/s), end-to-end ``analyze`` rows/s on
a 50,000-message file (CSV of real public-dataset texts with ids, customers, dates, channels) and on
a 50,000-message file of the short ones among them (at most ``SHORT_TOKENS`` tokens), the
single-message API latency (p50/p95 over loopback HTTP, real server), and the peak memory of the
``analyze`` command while streaming a 1,000,000-row file.  Run it on an otherwise idle machine:
two processes sharing two cores halve each other's speed.  The texts are rows of the public
evaluation sets in ``Settings.datasets_dir``; they are read there, never copied into the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "analyzer.cli"]
#: "Short messages" (the end-to-end target's workload): texts of at most this many tokens, prefix and
#: special tokens included -- about 15 words, a chat line.  17 % of the public evaluation tweets.
SHORT_TOKENS = 24
TARGETS = {"encoder_16": 500.0, "e2e": 300.0, "e2e_vs_naive": 4.0, "api_p95_ms": 30.0, "peak_gb": 1.5}


def _real_texts() -> list[str]:
    from analyzer.settings import get_settings

    d = get_settings().datasets_dir
    es = pd.read_csv(d / "es_airline_tweets" / "public_eval.csv")["text"]
    en = pd.read_csv(d / "en_airline_tweets" / "public_eval.csv")["text"]
    return [str(t) for t in pd.concat([es, en]).tolist()]


def _short_texts(texts: list[str]) -> list[str]:
    """The texts whose e5 encoding (with the "query: " prefix) has at most ``SHORT_TOKENS`` tokens."""
    from tokenizers import Tokenizer

    from analyzer.inference.registry import encoder_folder

    tok = Tokenizer.from_file(str(encoder_folder("e5-small") / "tokenizer.json"))
    tok.no_truncation()
    return [t for t, e in zip(texts, tok.encode_batch(["query: " + t for t in texts]), strict=True)
            if len(e.ids) <= SHORT_TOKENS]


def make_messages_file(path: Path, rows: int, texts: list[str], seed: int = 0) -> Path:
    """A messages CSV in the product's schema: real texts, sampled with replacement."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(texts), size=rows)
    start = pd.Timestamp("2026-01-01")
    with path.open("w", encoding="utf-8") as fh:
        for lo in range(0, rows, 100_000):
            hi = min(rows, lo + 100_000)
            frame = pd.DataFrame({
                "message_id": [f"m{i}" for i in range(lo, hi)],
                "customer_id": [f"c{int(x)}" for x in rng.integers(0, max(1, rows // 20), size=hi - lo)],
                "timestamp": (start + pd.to_timedelta(np.arange(lo, hi) * 37, unit="s")).strftime("%Y-%m-%dT%H:%M:%S"),
                "channel": rng.choice(["chat", "email", "review", "ticket"], size=hi - lo),
                "text": [texts[int(i)] for i in pick[lo:hi]],
            })
            frame.to_csv(fh, index=False, header=lo == 0)
    return path


# -- encoder throughput ---------------------------------------------------------------------------
def _fixed_length_ids(tokenizer: Any, texts: list[str], length: int, n: int) -> list[list[int]]:
    """``n`` sequences of exactly ``length`` tokens cut from the stream of real texts' tokens."""
    stream: list[int] = []
    for enc in tokenizer.encode_batch(["query: " + t for t in texts[: n * 2]]):
        stream += enc.ids[1:-1]
        if len(stream) >= n * (length - 2):
            break
    bos, eos = 0, 2
    return [[bos, *stream[i * (length - 2): (i + 1) * (length - 2)], eos] for i in range(n)]


def bench_encoder(texts: list[str], n: int, seconds: float) -> list[dict[str, Any]]:
    from analyzer.inference.extras import require_train_extra

    require_train_extra("the naive baseline of benchmarks/speed.py (transformers + PyTorch)")
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from analyzer.inference.backends import load_backend, token_batches
    from analyzer.inference.registry import encoder_folder
    from analyzer.settings import Settings

    folder = encoder_folder("e5-small")
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    naive_model = AutoModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False).eval()
    torch.set_num_threads(Settings().num_threads)
    max_tokens = Settings().max_batch_tokens  # what the pipeline uses
    backends = {"torch": load_backend(Settings(backend="torch")), "onnx": load_backend(Settings(backend="onnx"))}
    rows = []
    for length in (16, 64):
        ids = _fixed_length_ids(tok, texts, length, n)

        def naive(ids: list[list[int]] = ids) -> None:
            with torch.inference_mode():
                for seq in ids:  # one text per forward pass
                    naive_model(input_ids=torch.tensor([seq]))

        rates = {"naive": _rate(naive, len(ids), seconds)}
        for name, be in backends.items():
            def batched(be: Any = be, ids: list[list[int]] = ids) -> None:
                for b in token_batches(ids, 64, be.pad_id, max_batch_tokens=max_tokens):
                    be.forward(b, sentiment=False)  # trunk + base layers: the whole encoder

            rates[name] = _rate(batched, len(ids), seconds)
        rows.append({"section": f"encoder, {length} tokens", "unit": "sequences/s", **rates})
    return rows


def _rate(fn: Any, items: int, seconds: float) -> float:
    fn()  # warm-up (allocations, thread pools)
    done, t0 = 0, time.perf_counter()
    while True:
        fn()
        done += items
        if time.perf_counter() - t0 >= seconds:
            return done / (time.perf_counter() - t0)


# -- end to end: the analyze command --------------------------------------------------------------
def _run_cli(args: list[str], env: dict[str, str], *, limit_s: float | None = None) -> dict[str, Any]:
    """Run ``darkfeedback ...`` in a subprocess; wall time and peak resident memory (VmHWM)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*CLI, *args], env={**os.environ, **env}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_kb, half_kb, timed_out = 0, 0, False
    while proc.poll() is None:
        peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
        if limit_s is not None and time.perf_counter() - t0 <= limit_s / 2:
            half_kb = peak_kb
        if limit_s is not None and time.perf_counter() - t0 > limit_s:
            proc.kill()
            timed_out = True
            break
        time.sleep(0.25)
    _, err = proc.communicate()
    if proc.returncode not in (0, None) and not timed_out:
        raise RuntimeError(f"darkfeedback {' '.join(args)} failed ({proc.returncode}):\n{err[-2000:]}")
    return {"seconds": time.perf_counter() - t0, "peak_mb": peak_kb / 1024, "timed_out": timed_out,
            "peak_half_mb": half_kb / 1024}


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _summary(output: Path) -> dict[str, Any]:
    path = Path(str(output) + ".summary.json")
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def bench_end_to_end(work: Path, rows: int, naive_rows: int, *, short: bool = False) -> list[dict[str, Any]]:
    texts = _short_texts(_real_texts()) if short else _real_texts()
    kind = "short" if short else "all"
    big = make_messages_file(work / f"messages_{kind}_{rows}.csv", rows, texts)
    small = make_messages_file(work / f"messages_{kind}_{naive_rows}.csv", naive_rows, texts, seed=1)
    out: dict[str, float] = {}
    runs = {
        # The naive baseline: per-text fp32 forward passes (batch size 1) through torch.
        "naive": (small, naive_rows, {"DARKFEEDBACK_BACKEND": "torch", "DARKFEEDBACK_BATCH_SIZE": "1"}),
        "torch": (small, naive_rows, {"DARKFEEDBACK_BACKEND": "torch"}),
        "onnx": (big, rows, {"DARKFEEDBACK_BACKEND": "onnx"}),
    }
    peaks = {}
    for name, (src, n, env) in runs.items():
        dst = work / f"out_{kind}_{name}.csv"
        res = _run_cli(["analyze", str(src), "-o", str(dst), "--no-resume", "--no-progress"], env)
        summary = _summary(dst)
        if summary.get("rows_written") != n:
            raise RuntimeError(f"{name}: expected {n} rows written, the summary says {summary}")
        # The summary's rate covers the streaming run, not the model loading before it.
        out[name] = float(summary["rows_per_s"])
        peaks[name] = res["peak_mb"]
    what = (f"short messages (<= {SHORT_TOKENS} tokens, {len(texts):,} distinct texts)" if short
            else f"all public-eval tweets ({len(texts):,} distinct texts)")
    return [{"section": f"end-to-end analyze, {what}; onnx on {rows:,} rows, naive/torch on {naive_rows:,}",
             "unit": "messages/s", **out},
            {"section": "peak memory of those runs", "unit": "MB", **peaks}]


def bench_memory(work: Path, rows: int, limit_s: float) -> list[dict[str, Any]]:
    """Peak RSS while streaming a ``rows``-row file: the full pipeline (bounded in time) and the
    model-free pipeline over the whole file (every row read, validated, written, checkpointed)."""
    src = make_messages_file(work / f"messages_{rows}.csv", rows, _real_texts(), seed=2)
    light_out = work / "mem_light.csv"
    light = _run_cli(["analyze", str(src), "-o", str(light_out), "--no-resume", "--no-progress",
                      "--pipeline", "light"], {})
    full_out = work / "mem_full.csv"
    full = _run_cli(["analyze", str(src), "-o", str(full_out), "--no-resume", "--no-progress"],
                    {"DARKFEEDBACK_BACKEND": "onnx"}, limit_s=limit_s)
    full_rows = _count_lines(full_out) - 1 if full_out.is_file() else 0
    return [{"section": f"peak memory streaming {rows:,} rows", "unit": "MB",
             "light (all rows)": light["peak_mb"], "onnx": full["peak_mb"],
             # The peak at half time shows whether memory still grows with the rows streamed.
             "note": f"onnx: first {full_rows:,} rows ({'stopped at the time limit' if full['timed_out'] else 'all'}); "
                     f"peak after half the time {full['peak_half_mb']:,.0f} MB"}]


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


# -- API latency ----------------------------------------------------------------------------------
def bench_api(requests: int) -> list[dict[str, Any]]:
    out: dict[str, dict[str, float]] = {}
    for name in ("torch", "onnx"):
        proc = subprocess.run([sys.executable, str(ROOT / "api" / "loadtest.py"), "--json", "--requests", str(requests),
                               "--concurrency", "1"], env={**os.environ, "DARKFEEDBACK_BACKEND": name}, cwd=ROOT,
                              capture_output=True, text=True, timeout=900, check=True)
        results = json.loads(proc.stdout[proc.stdout.index("["):])
        out[name] = next(r for r in results if r["endpoint"].endswith("/v1/analyze"))
    return [{"section": f"API /v1/analyze, one message, {requests} requests in sequence", "unit": "ms",
             **{f"{k} p50": v["p50_ms"] for k, v in out.items()}, **{f"{k} p95": v["p95_ms"] for k, v in out.items()}}]


def _print(rows: list[dict[str, Any]]) -> None:
    print()
    for r in rows:
        values = {k: v for k, v in r.items() if k not in ("section", "unit", "note")}
        cells = "  ".join(f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())
        ratio = ""
        if r["unit"].endswith("/s") and "naive" in values and "onnx" in values:
            ratio = (f"  -> onnx/naive {values['onnx'] / values['naive']:.1f}x, "
                     f"onnx/torch {values['onnx'] / values['torch']:.1f}x")
        print(f"{r['section']} [{r['unit']}]: {cells}{ratio}" + (f"  ({r['note']})" if r.get("note") else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (CI): checks it runs, not the targets")
    ap.add_argument("--json", type=Path, help="also write the table as JSON here")
    ap.add_argument("--sections", default="encoder,e2e,e2e-short,api,memory")
    ap.add_argument("--e2e-rows", type=int, help="rows of the end-to-end file (default 50,000; 500 with --quick)")
    ap.add_argument("--naive-rows", type=int, help="rows the naive and torch baselines analyse (default 1,000)")
    ap.add_argument("--memory-seconds", type=float, help="time limit of the full-pipeline memory run (default 150)")
    args = ap.parse_args(argv)
    q = args.quick
    sections = set(args.sections.split(","))
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="df-bench-") as tmp:
        work = Path(tmp)
        if "encoder" in sections:
            rows += bench_encoder(_real_texts(), n=64 if q else 512, seconds=0.5 if q else 5.0)
            _print(rows[-2:])
        if "e2e" in sections:
            rows += bench_end_to_end(work, rows=args.e2e_rows or (500 if q else 50_000),
                                     naive_rows=args.naive_rows or (100 if q else 1_000))
            _print(rows[-2:])
        if "e2e-short" in sections:
            rows += bench_end_to_end(work, rows=args.e2e_rows or (500 if q else 50_000),
                                     naive_rows=args.naive_rows or (100 if q else 1_000), short=True)
            _print(rows[-2:])
        if "api" in sections:
            rows += bench_api(requests=20 if q else 200)
            _print(rows[-1:])
        if "memory" in sections:
            rows += bench_memory(work, rows=20_000 if q else 1_000_000,
                                 limit_s=args.memory_seconds or (30 if q else 150))
            _print(rows[-1:])
    print("\n== summary (targets on 2 cores: encoder >= 500 seq/s at 16 tokens; end-to-end >= 300 msg/s on short "
          "messages and >= 4x naive; API p95 <= 30 ms; peak <= 1.5 GB) ==")
    _print(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
