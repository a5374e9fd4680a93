"""The inference backends: batching, the ONNX graphs against the PyTorch reference, the cache."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from analyzer.inference.backends import TokenBatch, mean_pool_np, token_batches

TEXTS = [
    "Mi pedido lleva dos semanas de retraso y nadie me contesta",
    "Great service, thanks!",
    "ok",
    "El vuelo salió con tres horas de retraso. No vuelvo a volar con ustedes, fatal.",
    "I was charged twice for the same order and support never answered my emails",
    "La app se cierra cada vez que intento pagar con tarjeta",
    "Thank you so much for the quick refund, really appreciated",
    "¿Alguien sabe a qué hora abre el mostrador de facturación en Barajas?",
]


# -- batching (fast) ---------------------------------------------------------------------------
def test_token_batches_restore_order_and_pad_right():
    ids = [[0, 5, 2], [0, 5, 6, 7, 8, 2], [0, 2], [0, 9, 9, 2]]
    seen = {}
    for b in token_batches(ids, batch_size=2, pad_id=1):
        assert isinstance(b, TokenBatch)
        for row, i in enumerate(b.index):
            n = len(ids[i])
            assert b.lengths[row] == n
            assert b.input_ids[row, :n].tolist() == ids[i]
            assert (b.input_ids[row, n:] == 1).all()
            assert b.mask[row].sum() == n
            seen[int(i)] = True
    assert sorted(seen) == [0, 1, 2, 3]


def test_token_batches_respect_the_token_budget():
    ids = [[1] * n for n in (3, 3, 3, 3, 50, 50, 100)]
    batches = list(token_batches(ids, batch_size=64, pad_id=0, max_batch_tokens=120))
    assert all(len(b.index) * b.input_ids.shape[1] <= 120 or len(b.index) == 1 for b in batches)
    assert sorted(int(i) for b in batches for i in b.index) == list(range(len(ids)))
    # Short rows still travel together.
    assert len(batches[0].index) == 4


def test_mean_pool_ignores_padding():
    hidden = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=np.float32)
    pooled = mean_pool_np(hidden, mask)
    np.testing.assert_allclose(pooled[0], hidden[0, :2].mean(0))
    np.testing.assert_allclose(pooled[1], hidden[1, 0])


# -- the graphs against PyTorch (slow: real models) ------------------------------------------
@pytest.fixture(scope="module")
def torch_backend(settings):
    from analyzer.inference.backends import load_backend

    return load_backend(settings.model_copy(update={"backend": "torch"}))


@pytest.fixture(scope="module")
def onnx_backend(settings):
    from analyzer.inference.backends import load_backend

    return load_backend(settings.model_copy(update={"backend": "onnx"}))


def _forward_all(backend, texts):
    ids = [e.ids for e in backend.tokenizer.encode_batch([backend.prefix + t for t in texts])]
    logits = np.zeros((len(texts), 3), np.float32)
    pooled = np.zeros((len(texts), backend.dim), np.float32)
    for b in token_batches(ids, 4, backend.pad_id):
        f = backend.forward(b)
        logits[b.index] = f.logits
        pooled[b.index] = mean_pool_np(f.hidden, b.mask)
    return logits, pooled


def _cos(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.slow
@pytest.mark.requires_train
def test_fp32_graphs_equal_pytorch(settings, torch_backend, tmp_path):
    """Built node by node, the fp32 graphs compute exactly what the PyTorch modules compute."""
    from tokenizers import Tokenizer

    from analyzer.inference.backends import OnnxBackend
    from analyzer.inference.onnx_build import build_onnx_graphs
    from analyzer.inference.registry import encoder_folder

    folder = build_onnx_graphs(encoder_folder("e5-small", settings), settings.models_dir / "sentiment",
                               tmp_path / "fp32", quantize=False)
    tok = Tokenizer.from_str(torch_backend.tokenizer.to_str())
    fp32 = OnnxBackend(folder, tok, prefix=torch_backend.prefix, pad_id=torch_backend.pad_id,
                       sentiment_meta=torch_backend.sentiment_meta, num_threads=1)
    lt, pt = _forward_all(torch_backend, TEXTS)
    lo, po = _forward_all(fp32, TEXTS)
    np.testing.assert_allclose(lo, lt, atol=2e-3)
    assert _cos(po, pt).min() > 0.99999


@pytest.mark.slow
@pytest.mark.requires_train
@pytest.mark.requires_datasets("es_airline_tweets", "en_airline_tweets")
def test_int8_graphs_stay_close_to_pytorch(torch_backend, onnx_backend, datasets_dir):
    """int8 dynamic quantization moves scores a little; decisions and embeddings stay close."""
    import pandas as pd

    assert onnx_backend.quantized
    texts = [*TEXTS,
             *pd.read_csv(datasets_dir / "es_airline_tweets" / "public_eval.csv")["text"].head(60).tolist(),
             *pd.read_csv(datasets_dir / "en_airline_tweets" / "public_eval.csv")["text"].head(60).tolist()]
    lt, pt = _forward_all(torch_backend, texts)
    lo, po = _forward_all(onnx_backend, texts)
    assert (lt.argmax(1) == lo.argmax(1)).mean() >= 0.85
    assert _cos(po, pt).mean() >= 0.99
    assert _cos(po, pt).min() >= 0.97


@pytest.mark.slow
def test_fused_dequantization_computes_the_same_numbers(settings, onnx_backend, tmp_path):
    """MatMulInteger -> Cast -> Mul chains become MatMulIntegerToFloat with identical outputs."""
    import onnx
    import onnxruntime as ort

    from analyzer.inference import onnx_build
    from analyzer.inference.registry import encoder_folder

    fused_path = onnx_backend.folder / "trunk.onnx"
    fused_ops = {n.op_type for n in onnx.load(str(fused_path)).graph.node}
    assert "MatMulIntegerToFloat" in fused_ops and not {"MatMulInteger", "Cast"} & fused_ops

    enc_dir, sent_dir = encoder_folder("e5-small", settings), settings.models_dir / "sentiment"
    models, _ = onnx_build._fp32_models(enc_dir, sent_dir)
    calibration = json.loads((sent_dir / onnx_build.RANGES_FILE).read_text())
    ranges = onnx_build._smooth(models["trunk"], calibration["channels"]["trunk"], calibration["ranges"]["trunk"])
    onnx.save(models["trunk"], str(tmp_path / "fp32.onnx"))
    onnx_build._quantize(tmp_path / "fp32.onnx", tmp_path / "unfused.onnx", ranges, fuse=False)
    assert "MatMulInteger" in {n.op_type for n in onnx.load(str(tmp_path / "unfused.onnx")).graph.node}

    ids = [e.ids for e in onnx_backend.tokenizer.encode_batch([onnx_backend.prefix + t for t in TEXTS])]
    batch = next(token_batches(ids, len(ids), onnx_backend.pad_id))
    feeds = {"input_ids": batch.input_ids.astype(np.int32), "lengths": batch.lengths.astype(np.int32)}
    outs = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"],
                                 disabled_optimizers=onnx_build.DISABLED_OPTIMIZERS).run(None, feeds)[0]
            for p in (fused_path, tmp_path / "unfused.onnx")]
    np.testing.assert_allclose(outs[0], outs[1], rtol=0, atol=1e-5)


@pytest.mark.slow
def test_int8_scores_do_not_depend_on_the_other_texts_in_the_batch(onnx_backend):
    """Fixed activation ranges: a text gets the same logits alone and in any batch."""
    assert json.loads((onnx_backend.folder / "graphs.json").read_text())["static_ranges"]
    alone, _ = _forward_all(onnx_backend, TEXTS[:1])
    for others in (TEXTS[1:4], TEXTS[4:]):
        together, _ = _forward_all(onnx_backend, [TEXTS[0], *others])
        np.testing.assert_allclose(together[0], alone[0], atol=1e-4)


@pytest.mark.slow
@pytest.mark.requires_train
def test_pipeline_gives_the_same_answers_on_both_backends(settings):
    from analyzer.text.pipeline import load_analyzer

    fast = load_analyzer(settings.model_copy(update={"backend": "onnx"})).analyze(TEXTS)
    ref = load_analyzer(settings.model_copy(update={"backend": "torch"})).analyze(TEXTS)
    assert [r.text_redacted for r in fast] == [r.text_redacted for r in ref]
    assert sum(a.label == b.label for a, b in zip(fast, ref, strict=True)) >= len(TEXTS) - 1
    assert max(abs(a.score - b.score) for a, b in zip(fast, ref, strict=True)) < 0.35
    assert fast[0].label == "negative" and fast[6].label == "positive"


@pytest.mark.slow
def test_onnx_cache_is_reused_and_keyed_by_the_weights(settings, tmp_path):
    import shutil

    from analyzer.inference.backends import onnx_folder

    models = tmp_path / "models"
    shutil.copytree(settings.models_dir / "sentiment", models / "sentiment")
    s = settings.model_copy(update={"models_dir": models, "cache_dir": tmp_path / "cache"})
    # Share the rebuilt encoder folder rather than rebuilding it.
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "e5-small").symlink_to(settings.cache_dir / "e5-small")
    first = onnx_folder(s, quantize=False)
    stamp = (first / "trunk.onnx").stat().st_mtime_ns
    assert onnx_folder(s, quantize=False) == first
    assert (first / "trunk.onnx").stat().st_mtime_ns == stamp  # not rebuilt
    meta = models / "sentiment" / "sentiment.json"
    meta.write_text(meta.read_text().replace('"temperature"', '"temperature_note": "retrained", "temperature"'))
    assert onnx_folder(s, quantize=False) != first  # a new model gets new graphs


# -- the default install: no torch, no transformers -------------------------------------------
_HEAVY = "[m for m in ('torch', 'transformers') if m in sys.modules]"


def test_default_path_imports_neither_torch_nor_transformers():
    """Every module of the ONNX path imports, in a fresh process, without pulling in torch or transformers."""
    code = (
        "import sys\n"
        "import analyzer, analyzer.text.pipeline, analyzer.inference.backends, analyzer.inference.registry\n"
        "import analyzer.inference.onnx_build, analyzer.inference.e5_rebuild, analyzer.batch.local, analyzer.cli\n"
        "from analyzer.text.sentences import import_spacy\n"
        "import_spacy()  # spaCy's thinc imports torch whenever it can\n"
        f"assert not {_HEAVY}, {_HEAVY}\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_torch_backend_without_the_train_extra_says_what_to_install():
    """With torch and transformers absent (blocked in a fresh process), asking for them names the extra."""
    code = (
        "import sys\n"
        "sys.modules['torch'] = sys.modules['transformers'] = None  # as if not installed\n"
        "from analyzer.errors import MissingExtraError\n"
        "from analyzer.inference.backends import load_backend\n"
        "from analyzer.inference.registry import load_encoder\n"
        "from analyzer.settings import Settings\n"
        "for call in (lambda: load_backend(Settings(backend='torch')), lambda: load_encoder('e5-small')):\n"
        "    try:\n"
        "        call()\n"
        "    except MissingExtraError as exc:\n"
        "        print(exc)\n"
        "    else:\n"
        "        raise SystemExit('no MissingExtraError')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("the PyTorch backend (DARKFEEDBACK_BACKEND=torch) needs torch and transformers")
    assert all(line.endswith("pip install 'dark-feedback[train]'") for line in lines)


@pytest.mark.slow
def test_onnx_path_does_not_need_torch_models(tmp_path):
    """The default path runs from the ONNX graphs alone: torch and transformers are never imported."""
    code = (
        "import sys\n"
        "from analyzer.text.pipeline import load_analyzer\n"
        "ta = load_analyzer()\n"
        "assert ta.backend.name == 'onnx', ta.backend.name\n"
        "[r] = ta.analyze(['Mi pedido no ha llegado y nadie me responde'])\n"
        "assert r.label == 'negative', r\n"
        f"assert not {_HEAVY}, {_HEAVY}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
