"""The Ray engine gives the local engine's results: same rows, labels, scores, rejected rows, summary.

With ``DARKFEEDBACK_TEST_RAY_ADDRESS`` set (CI starts ``ray start --head`` on loopback), every
test runs against that cluster; otherwise a private local Ray is started once for the module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pandas as pd
import pytest

from analyzer.batch import ColumnMapping, light_process, run_batch
from analyzer.errors import ConfigError, InputFormatError
from analyzer.io import read_table
from analyzer.settings import get_settings

RAY_ADDRESS = os.environ.get("DARKFEEDBACK_TEST_RAY_ADDRESS") or None
SECRET = "Llámame al 612 345 678"


@pytest.fixture(scope="module")
def ray_cluster(requires_ray: None):
    """The cluster every test of this module uses; returns the address a second driver can join."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    kwargs = {"log_to_driver": False, "configure_logging": False, "include_dashboard": False}
    if RAY_ADDRESS:
        ray.init(address=RAY_ADDRESS, **kwargs)
    else:
        ray.init(address="local", num_cpus=2, object_store_memory=600 * 2**20, **kwargs)
    address = RAY_ADDRESS or ray.get_runtime_context().gcs_address
    yield address
    ray.shutdown()


def _bad_and_good_csv(path: Path, n_good: int = 25) -> Path:
    """Every rejection reason a CSV can produce, between ordinary rows (several chunks)."""
    good = b"".join(b"g%d,c%d,2024-02-%02d 10:00,chat,texto %d\n" % (i, i % 4, 1 + i % 28, i) for i in range(n_good))
    path.write_bytes(
        b"message_id,customer_id,timestamp,channel,text\n"
        b"ok1,c1,2024-01-01,email,hola\n"
        b"e1,c1,2024-01-01,chat,   \n"
        b"t1,c2,2024-13-45,chat,hello\n"
        b"u1,c2,2024-01-01,chat,caf\xff\xfe " + SECRET.encode() + b"\n"
        b"l1,c3,2024-01-01,chat," + (SECRET + " long" * 5000).encode() + b"\n"
        b"m1,c3,2024-01-01,a,b,c\n"
        b",c4,,web,adios\n" + good
    )
    return path


def _frame(n_good: int = 25) -> pd.DataFrame:
    rows = [{"message_id": "e1", "customer_id": "c1", "timestamp": "2024-01-01", "channel": "chat", "text": "  "},
            {"message_id": "t1", "customer_id": "c2", "timestamp": "2024-13-45", "channel": "chat", "text": "hi"},
            {"message_id": "l1", "customer_id": "c3", "timestamp": "2024-01-01", "channel": "chat",
             "text": SECRET + " long" * 5000}]
    rows += [{"message_id": f"g{i}", "customer_id": f"c{i % 4}", "timestamp": f"2024-02-{1 + i % 28:02d} 10:00",
              "channel": "chat", "text": f"texto {i}"} for i in range(n_good)]
    return pd.DataFrame(rows)


def _as_jsonl(path: Path) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in _frame().to_dict("records")]
    lines.insert(3, '{"text": "rota"')          # bad_json
    lines.insert(5, '{"message_id": "nokey"}')  # missing_column
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _as_parquet(path: Path) -> Path:
    frame = _frame()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True)  # native timestamps
    frame.to_parquet(path, index=False, row_group_size=7)
    return path


def _assert_same_run(local_out: Path, ray_out: Path, local_summary, ray_summary) -> None:
    from analyzer.batch.ray_engine import read_shards

    pd.testing.assert_frame_equal(read_shards(ray_out), pd.read_parquet(local_out))
    local_rej = pd.read_parquet(local_out.with_name(local_out.name.replace(".parquet", ".rejected.parquet")))
    pd.testing.assert_frame_equal(read_shards(ray_summary.rejected_path), local_rej)
    for field in ("rows_read", "rows_written", "rows_rejected", "rejected_by_reason"):
        assert getattr(ray_summary, field) == getattr(local_summary, field), field
    saved = json.loads(Path(str(ray_out) + ".summary.json").read_text())
    assert saved["rows_read"] == saved["rows_written"] + saved["rows_rejected"]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_light_pipeline_same_rows_and_rejections_as_local(ray_cluster: str, tmp_path: Path, kind: str) -> None:
    from analyzer.batch.ray_engine import load_light_process, run_batch_ray

    if kind == "csv":
        src = _bad_and_good_csv(tmp_path / "in.csv")
    else:
        src = _as_jsonl(tmp_path / "in.jsonl") if kind == "jsonl" else _as_parquet(tmp_path / "in.parquet")
    local = run_batch(src, tmp_path / "local.parquet", process=light_process, chunk_rows=8, progress=False)
    ray_s = run_batch_ray(src, tmp_path / "ray_out", make_process=load_light_process, chunk_rows=8, num_workers=2)
    _assert_same_run(tmp_path / "local.parquet", tmp_path / "ray_out", local, ray_s)
    assert ray_s.rows_rejected >= 2
    if kind == "csv":
        assert set(ray_s.rejected_by_reason) == {"bad_timestamp", "empty_text", "malformed_row",
                                                 "text_too_long", "undecodable"}
        rejected_bytes = b"".join(p.read_bytes() for p in Path(ray_s.rejected_path).glob("*.parquet"))
        assert SECRET.encode() not in rejected_bytes  # never the text, as locally
    if kind == "jsonl":
        assert {"bad_json", "missing_column"} <= set(ray_s.rejected_by_reason)


def test_directory_of_shards_keeps_each_shard_apart(ray_cluster: str, tmp_path: Path) -> None:
    from analyzer.batch.ray_engine import SOURCE_FILE_COL, load_light_process, read_shards, run_batch_ray

    shards = tmp_path / "shards"
    (shards / "day=2").mkdir(parents=True)
    _bad_and_good_csv(shards / "part-0.csv", n_good=5)
    _bad_and_good_csv(shards / "day=2" / "part-1.csv", n_good=12)
    (shards / "README.md").write_text("not data")  # ignored: not a data file
    (shards / "_SUCCESS").write_text("")
    s = run_batch_ray(shards, tmp_path / "out", make_process=load_light_process, chunk_rows=6, num_workers=2)
    out = read_shards(tmp_path / "out")
    rej = read_shards(s.rejected_path)
    expected_rows = 0
    for rel in ("part-0.csv", "day=2/part-1.csv"):
        local = run_batch(shards / rel, tmp_path / f"{rel.replace('/', '_')}.parquet", process=light_process,
                          chunk_rows=6, progress=False)
        mine = out.loc[out[SOURCE_FILE_COL] == rel].drop(columns=SOURCE_FILE_COL).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, pd.read_parquet(tmp_path / f"{rel.replace('/', '_')}.parquet"))
        # Rejected rows have one shape everywhere: source_file names the shard (empty for a single file).
        mine_rej = rej.loc[rej[SOURCE_FILE_COL] == rel].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine_rej, read_table(local.rejected_path).assign(**{SOURCE_FILE_COL: rel}))
        expected_rows += local.rows_read
    assert s.rows_read == expected_rows == s.rows_written + s.rows_rejected
    assert out[SOURCE_FILE_COL].tolist() == sorted(out[SOURCE_FILE_COL].tolist())  # shards in order


def test_bad_arguments_fail_before_anything_runs(ray_cluster: str, tmp_path: Path) -> None:
    from analyzer.batch.ray_engine import load_light_process, run_batch_ray

    src = _bad_and_good_csv(tmp_path / "in.csv")
    with pytest.raises(InputFormatError, match="--text-col"):
        run_batch_ray(src, tmp_path / "o", make_process=load_light_process, mapping=ColumnMapping(text="body"))
    with pytest.raises(ConfigError, match="directory of Parquet shards"):
        run_batch_ray(src, tmp_path / "o.csv", make_process=load_light_process)
    with pytest.raises(InputFormatError, match=r"no \.csv"):
        (tmp_path / "empty").mkdir()
        run_batch_ray(tmp_path / "empty", tmp_path / "o", make_process=load_light_process)
    assert not (tmp_path / "o").exists()


def test_missing_ray_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from analyzer.batch.ray_engine import RayNotInstalledError, load_light_process, run_batch_ray
    from analyzer.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    src = _bad_and_good_csv(tmp_path / "in.csv")
    with pytest.raises(RayNotInstalledError, match=r"pip install 'dark-feedback\[ray\]'"):
        run_batch_ray(src, tmp_path / "o", make_process=load_light_process, address="127.0.0.1:1")
    result = CliRunner().invoke(app, ["analyze", str(src), "-o", str(tmp_path / "o"), "--engine", "ray",
                                      "--pipeline", "light"])
    assert result.exit_code == 2  # ExitCode.INPUT: the option cannot be used as installed; the message says how
    assert "dark-feedback[ray]" in result.output


def test_cli_joins_a_running_cluster_by_address(ray_cluster: str, tmp_path: Path) -> None:
    src = _bad_and_good_csv(tmp_path / "in.csv")
    env = {**os.environ, "RAY_ADDRESS": ""}
    cmd = [sys.executable, "-m", "analyzer.cli", "analyze", str(src), "-o", str(tmp_path / "out"),
           "--engine", "ray", "--address", ray_cluster, "--workers", "1", "--pipeline", "light", "--chunk-rows", "9"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rows rejected" in proc.stdout
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    local = run_batch(src, tmp_path / "l.parquet", process=light_process, chunk_rows=9, progress=False)
    assert (summary["rows_read"], summary["rows_written"], summary["rejected_by_reason"]) == (
        local.rows_read, local.rows_written, local.rejected_by_reason)


# --------------------------------------------------------------------------- real models


def _mixed_es_en(path: Path, n_per_lang: int = 24) -> Path:
    datasets = get_settings().datasets_dir
    es = pd.read_csv(datasets / "es_airline_tweets" / "public_eval.csv", usecols=["text"]).head(n_per_lang)
    en = pd.read_csv(datasets / "en_airline_tweets" / "public_eval.csv", usecols=["text"]).head(n_per_lang)
    texts = [t for pair in zip(es["text"], en["text"], strict=True) for t in pair]
    frame = pd.DataFrame({"message_id": [f"m{i}" for i in range(len(texts))],
                          "customer_id": [f"c{i % 7}" for i in range(len(texts))],
                          "timestamp": [f"2024-03-{1 + i % 28:02d}T09:{i % 60:02d}:00Z" for i in range(len(texts))],
                          "channel": "social", "text": texts})
    frame.loc[3, "text"] = "   "                 # empty_text
    frame.loc[8, "timestamp"] = "el martes"      # bad_timestamp
    frame.loc[13, "text"] = "x" * 20_001         # text_too_long
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.requires_datasets("es_airline_tweets", "en_airline_tweets")
def test_full_text_pipeline_same_labels_and_scores_as_local(ray_cluster: str, tmp_path: Path, text_analyzer,
                                                             datasets_dir: Path) -> None:
    from analyzer.batch.ray_engine import load_text_process, read_shards, run_batch_ray

    src = _mixed_es_en(tmp_path / "mixed.csv")
    local = run_batch(src, tmp_path / "local.parquet", process=text_analyzer.analyze_frame, chunk_rows=16,
                      progress=False)
    ray_s = run_batch_ray(src, tmp_path / "ray_out", make_process=load_text_process, chunk_rows=16, num_workers=2)
    a, b = pd.read_parquet(tmp_path / "local.parquet"), read_shards(tmp_path / "ray_out")
    assert list(b.columns) == list(a.columns) and len(a) == len(b) == 45
    exact = [c for c in a.columns if a[c].dtype != float]
    for col in exact:
        assert a[col].astype(str).tolist() == b[col].astype(str).tolist(), col
    floats = [c for c in a.columns if a[c].dtype == float]
    assert {"sentiment_score", "p_negative"} <= set(floats)
    # Same model, same batches; only the torch thread count differs (2 here, 1 per Ray worker).
    pd.testing.assert_frame_equal(a[floats], b[floats], check_exact=False, atol=1e-5, rtol=0)
    assert set(a["lang"]) >= {"es", "en"}
    assert ray_s.rejected_by_reason == local.rejected_by_reason == {
        "bad_timestamp": 1, "empty_text": 1, "text_too_long": 1}
    pd.testing.assert_frame_equal(read_shards(ray_s.rejected_path), pd.read_parquet(local.rejected_path))


# --------------------------------------------------------------------------- per-customer alerts


def _analysed_messages(raw: pd.DataFrame) -> pd.DataFrame:
    """Stand-in text-core output (deterministic labels from the text), so no model is needed."""
    h = raw["text"].map(lambda s: zlib.crc32(s.encode()) % 3)
    msgs = raw[["message_id", "customer_id", "timestamp", "channel"]].copy()
    msgs["sentiment_label"] = h.map({0: "negative", 1: "neutral", 2: "positive"})
    msgs["sentiment_score"] = h.map({0: -0.7, 1: 0.05, 2: 0.6})
    msgs["themes"] = [["delivery_delay"] if k == 0 and i % 2 else [] for i, k in enumerate(h)]
    return msgs


@pytest.mark.requires_datasets("online_retail")
def test_alerts_grouped_by_customer_equal_compute_alerts(ray_cluster: str, tmp_path: Path) -> None:
    from analyzer.batch.ray_alerts import compute_alerts_ray
    from analyzer.evaluation.simulate import SimulationConfig, simulate_population
    from analyzer.foresight import compute_alerts_detailed

    datasets = get_settings().datasets_dir
    if not (datasets / "online_retail").exists():
        pytest.skip("shared datasets not available (set DARKFEEDBACK_DATASETS_DIR)")
    events, raw, customers, _ = simulate_population(SimulationConfig(
        seed=3, n_customers=150, warmup_days=200, eval_days=120, tail_days=90, dissatisfied_rate=0.2))
    msgs = _analysed_messages(raw)
    msgs.loc[0, "sentiment_score"] = 7.0               # a bad row: reported, not fatal
    events.loc[5, "type"] = "teleport"
    customers.loc[customers.index[:5], "opt_out"] = True
    msgs.to_parquet(tmp_path / "messages.parquet", index=False)  # one input from files, as on a cluster
    local = compute_alerts_detailed(msgs, events, customers)
    assert local.facts["p_alive"].notna().any()      # the population BG/NBD model is in play
    # Many small buckets: most hold fewer than the 30 customers a BG/NBD fit needs.
    mine = compute_alerts_ray(tmp_path / "messages.parquet", events, customers, num_buckets=24)
    # One model: the back-test and the population statistics fitted from per-bucket summaries are
    # the local engine's (nothing patched, no stand-in customers).
    assert mine.attrs["model"].to_dict() == local.model.to_dict()
    assert len(mine) == len(local.alerts) > 5
    pd.testing.assert_frame_equal(mine.sort_values("alert_id").reset_index(drop=True),
                                  local.alerts.sort_values("alert_id").reset_index(drop=True), check_dtype=False)
    assert mine["severity"].tolist() == local.alerts["severity"].tolist()  # same priority order
    assert mine.attrs["as_of"] == local.as_of
    assert mine.attrs["customers"] == len(local.states)
    states = mine.attrs["states"].sort_index()
    assert states["risk"].tolist() == pytest.approx(local.states.sort_index()["risk"].tolist(), abs=1e-12)
    got = mine.attrs["rejected"].groupby(["table", "reason"]).size().to_dict()
    want = local.rejected.groupby(["table", "reason"]).size().to_dict()
    assert got == want and got
    assert set(mine["customer_id"]).isdisjoint(customers.loc[customers["opt_out"], "customer_id"])


@pytest.mark.parametrize("case", ["named out of order", "interleaved", "one file out of order"])
def test_shard_files_are_put_back_in_input_order(tmp_path: Path, case: str) -> None:
    """Ray's write can put chunks out of order (a late one-row chunk's file named first; one file
    holding chunks in arrival order: both seen once in the suite). The engine puts each shard's rows
    back in input order by ``source_row``."""
    from analyzer.batch.ray_engine import files_in_input_order

    chunks = {"named out of order": [[12, 13, 14], [0, 1, 2], [18], [6, 7, 8]],
              "interleaved": [[0, 18], [6, 7], [12]],
              "one file out of order": [[0, 1, 32, 33, 16, 17]]}[case]
    for name, rows in zip(["a", "b", "c", "d"], chunks, strict=False):
        pd.DataFrame({"source_row": rows, "text": [f"t{r}" for r in rows]}).to_parquet(tmp_path / f"{name}.parquet")
    pd.DataFrame({"source_row": pd.Series([], dtype="int64"), "text": pd.Series([], dtype=object)}).to_parquet(
        tmp_path / "e.parquet")
    files = files_in_input_order(tmp_path)
    rows = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)["source_row"].tolist()
    assert rows == sorted(r for chunk in chunks for r in chunk)
    assert len(files) == (5 if case == "named out of order" else 1)
