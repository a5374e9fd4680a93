"""Rows per second of the local engine against the Ray engine with 1 and 2 workers, in one run.

    .venv/bin/python benchmarks/ray_scaling.py --rows 600

Input: ``--rows`` real customer texts, alternating Spanish and English rows of the public
airline-tweet evaluation sets read from ``Settings.datasets_dir`` (never copied here), written
to a temporary CSV. Each engine analyses the same file with the full text pipeline. Wall times
include loading the models (once in this process for the local engine, once per actor for Ray),
so the ratio is what a user sees for a file of this size; Ray's own start-up is timed apart.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from analyzer.batch.local import run_batch
from analyzer.batch.ray_engine import load_text_process, ray_session, run_batch_ray
from analyzer.settings import get_settings


def make_input(path: Path, rows: int) -> Path:
    datasets = get_settings().datasets_dir
    es = pd.read_csv(datasets / "es_airline_tweets" / "public_eval.csv", usecols=["text"])["text"]
    en = pd.read_csv(datasets / "en_airline_tweets" / "public_eval.csv", usecols=["text"])["text"]
    half = (rows + 1) // 2
    if half > min(len(es), len(en)):
        raise SystemExit(f"--rows at most {2 * min(len(es), len(en))} with these datasets")
    texts = [t for pair in zip(es.head(half), en.head(half), strict=True) for t in pair][:rows]
    pd.DataFrame({"message_id": [f"m{i}" for i in range(rows)], "customer_id": [f"c{i % 97}" for i in range(rows)],
                  "timestamp": "2024-05-01T10:00:00Z", "channel": "social", "text": texts}).to_csv(path, index=False)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=600)
    ap.add_argument("--chunk-rows", type=int, default=100, help="rows per batch (local chunk = Ray batch)")
    args = ap.parse_args()
    settings = get_settings()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        src = make_input(Path(tmp) / "messages.csv", args.rows)
        t0 = time.perf_counter()
        process = load_text_process(settings)
        load_s = time.perf_counter() - t0
        s = run_batch(src, Path(tmp) / "local.parquet", process=process, chunk_rows=args.chunk_rows, progress=False)
        wall = time.perf_counter() - t0
        results.append({"engine": "local", "workers": 1, "threads per worker": settings.num_threads,
                        "wall s": wall, "model load s": load_s, "rows": s.rows_read})
        t0 = time.perf_counter()
        with ray_session(num_cpus=3, object_store_memory=700 * 2**20):
            ray_start = time.perf_counter() - t0
            for workers in (1, 2):
                t0 = time.perf_counter()
                s = run_batch_ray(src, Path(tmp) / f"ray{workers}", make_process=load_text_process,
                                  chunk_rows=args.chunk_rows, num_workers=workers, cpus_per_worker=1)
                results.append({"engine": "ray", "workers": workers, "threads per worker": 1,
                                "wall s": time.perf_counter() - t0, "model load s": float("nan"),
                                "rows": s.rows_read})
    base = results[0]["rows"] / results[0]["wall s"]  # type: ignore[operator]
    print(f"\n{args.rows} rows (es/en airline tweets), chunk {args.chunk_rows}, {settings.num_threads} local "
          f"threads; Ray start-up {ray_start:.1f} s (not included)\n")
    print("| engine | workers | threads/worker | wall s | rows/s | vs local |")
    print("|---|---|---|---|---|---|")
    for r in results:
        rate = r["rows"] / r["wall s"]  # type: ignore[operator]
        print(f"| {r['engine']} | {r['workers']} | {r['threads per worker']} | {r['wall s']:.1f} | "
              f"{rate:.1f} | {rate / base:.2f}x |")
    print(f"\nlocal model load: {results[0]['model load s']:.1f} s (inside its wall time)")


if __name__ == "__main__":
    main()
