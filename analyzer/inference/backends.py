"""Inference backends: the encoder's trunk, the sentiment branch and the base branch, on
ONNX Runtime (int8, the default fast path) or on PyTorch (fp32, the reference:
:mod:`analyzer.inference.torch_backend`, imported only when asked for; it needs the ``train`` extra).

Both take the same :class:`TokenBatch` (right-padded token ids) and return the same
:class:`Forward` (raw sentiment logits, base-encoder token states; both in
:mod:`analyzer.inference.base`, re-exported here), so the pipeline above
them does not know which one runs.  The trunk runs once per batch; each branch only when its
output is asked for (a sentence-level sentiment pass needs no theme embedding, a prototype
embedding needs no sentiment).

The ONNX graphs are built from the same weights by :mod:`analyzer.inference.onnx_build`, cached under
``Settings.cache_dir/onnx/<fingerprint>``, once, by ``darkfeedback build-encoder`` or on
first use; nothing is downloaded.
"""

from __future__ import annotations

import itertools
import json
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analyzer.errors import ConfigError, ModelNotFoundError
from analyzer.inference.base import Backend, Forward, TokenBatch, mean_pool_np, token_batches
from analyzer.settings import Settings
from analyzer.text.results import ARTIFACT_META

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = ["Backend", "Forward", "OnnxBackend", "TokenBatch", "load_backend", "mean_pool_np", "onnx_folder",
           "token_batches"]


class OnnxBackend:
    """The int8 ONNX Runtime path: three sessions (trunk, sentiment branch, base branch).

    Each session computes on the calling thread (one intra-op thread); a batch is cut into
    ``num_threads`` groups of rows that run side by side on a small pool.  Parallelism inside
    each operator cost a thread wake-up per operator and layer: ~10 ms of a single chat message's
    18 layers on 2 cores without spin-waiting, and spin-waiting steals the core that tokenizing
    and Python need.  Rows in parallel cost nothing when there is one row, and as much as
    operator threads on batches (benchmarks/speed.py).
    """

    name = "onnx"
    concurrent = True  # sessions compute on the calling thread: callers may run side by side

    def __init__(self, folder: Path, tokenizer: Tokenizer, *, prefix: str, pad_id: int,
                 sentiment_meta: dict[str, Any], num_threads: int) -> None:
        import onnxruntime as ort

        from analyzer.inference.onnx_build import DISABLED_OPTIMIZERS

        meta = json.loads((folder / "graphs.json").read_text())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # The arena keeps the largest batch's activations reserved for good (+330 MB after one batch of
        # 64 x 64 tokens); plain allocations measured as fast here and keep the process near its weights.
        opts.enable_cpu_mem_arena = False
        self.sessions = {g: ort.InferenceSession(str(folder / f"{g}.onnx"), opts, providers=["CPUExecutionProvider"],
                                                 disabled_optimizers=DISABLED_OPTIMIZERS)
                         for g in ("trunk", "sentiment", "base")}
        head = np.load(folder / "classifier.npz")
        self._w, self._b = head["weight"].astype(np.float32), head["bias"].astype(np.float32)
        self.folder = folder
        self.tokenizer, self.prefix, self.pad_id = tokenizer, prefix, pad_id
        self.dim = int(meta["hidden_size"])
        self.labels = tuple(meta["labels"])
        self.temperature = float(meta["temperature"])
        self.quantized = bool(meta["quantized"])
        self.sentiment_meta = sentiment_meta
        self.window_tokens = int(sentiment_meta.get("config", {}).get("max_tokens", 256))
        self.num_threads = max(1, int(num_threads))
        # Sessions may be run from several threads at once (API workers too): no lock is needed.
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _rows(self, input_ids: np.ndarray, lengths: np.ndarray, sentiment: bool,
              base: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Trunk and branches for some rows, on the calling thread; padded to these rows' width."""
        width = int(lengths.max())
        feeds = {"input_ids": np.ascontiguousarray(input_ids[:, :width], dtype=np.int32),
                 "lengths": lengths.astype(np.int32)}
        trunk = self.sessions["trunk"].run(None, feeds)[0]
        branch_feeds = {"hidden_in": trunk, "lengths": feeds["lengths"]}
        top = self.sessions["sentiment"].run(None, branch_feeds)[0] if sentiment else None
        hidden = self.sessions["base"].run(None, branch_feeds)[0] if base else None
        return top, hidden

    def _groups(self, lengths: np.ndarray) -> list[slice]:
        """Consecutive row groups of about equal tokens, one per thread (rows come sorted by length)."""
        n = min(self.num_threads, len(lengths))
        if n <= 1:
            return [slice(0, len(lengths))]
        cum = np.cumsum(lengths)
        # The row where the running token count reaches k/n of the total closes group k.
        cuts = sorted({0, len(lengths), *(int(np.searchsorted(cum, cum[-1] * k / n)) + 1 for k in range(1, n))})
        return [slice(a, b) for a, b in itertools.pairwise(cuts)]

    def forward(self, batch: TokenBatch, *, sentiment: bool = True, base: bool = True) -> Forward:
        groups = self._groups(batch.lengths)
        if len(groups) == 1:
            parts = [self._rows(batch.input_ids, batch.lengths, sentiment, base)]
        else:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.num_threads, thread_name_prefix="onnx-rows")
            futures = [self._pool.submit(self._rows, batch.input_ids[g], batch.lengths[g], sentiment, base)
                       for g in groups]
            parts = [f.result() for f in futures]
        logits = hidden = None
        if sentiment:
            top = _stack([p[0] for p in parts], batch.input_ids.shape[1])
            logits = mean_pool_np(top, batch.mask) @ self._w.T + self._b
        if base:
            hidden = _stack([p[1] for p in parts], batch.input_ids.shape[1])
        return Forward(logits, hidden)


def _stack(parts: Sequence[np.ndarray | None], width: int) -> np.ndarray:
    """Row groups of token states ``[b_i, t_i, D]`` as one right-padded ``[B, width, D]`` array."""
    arrays = [p for p in parts if p is not None]
    if len(arrays) == 1 and arrays[0].shape[1] == width:
        return arrays[0]
    out = np.zeros((sum(a.shape[0] for a in arrays), width, arrays[0].shape[2]), dtype=np.float32)
    row = 0
    for a in arrays:
        out[row: row + a.shape[0], : a.shape[1]] = a
        row += a.shape[0]
    return out


def onnx_folder(settings: Settings, *, rebuild: bool = False, quantize: bool = True) -> Path:
    """The cached ONNX graphs for the current encoder and sentiment model, built if missing."""
    from analyzer.inference.onnx_build import build_onnx_graphs, graphs_fingerprint
    from analyzer.inference.registry import encoder_folder

    if settings.encoder != "e5-small":
        raise ConfigError(f"the ONNX backend is built for the 'e5-small' encoder; got encoder {settings.encoder!r}. "
                          "Use DARKFEEDBACK_BACKEND=torch for other encoders.")
    enc_dir, sent_dir = encoder_folder("e5-small", settings), settings.models_dir / "sentiment"
    if not (sent_dir / ARTIFACT_META).is_file():
        raise ModelNotFoundError(f"no sentiment model in {sent_dir}; train one with `darkfeedback train-sentiment` "
                                 "or set DARKFEEDBACK_MODELS_DIR.")
    tag = graphs_fingerprint(enc_dir, sent_dir) + ("" if quantize else "-fp32")
    folder = settings.cache_dir / "onnx" / tag
    if rebuild or not (folder / "graphs.json").is_file():
        build_onnx_graphs(enc_dir, sent_dir, folder, quantize=quantize)
        # Graphs of earlier weights are of no further use (a process still using one keeps its open files).
        for old in folder.parent.iterdir():
            if old.is_dir() and old.name.split("-")[0] != tag.split("-")[0] and (old / "graphs.json").is_file():
                shutil.rmtree(old, ignore_errors=True)
    return folder


def load_backend(settings: Settings) -> Backend:
    """The backend named by ``Settings.backend`` ("onnx" or "torch"), loaded once per call.

    Only the torch backend imports torch and transformers (the ``train`` extra); without them it
    raises :class:`~analyzer.errors.MissingExtraError` with the ``pip install`` that fixes it.
    """
    if settings.backend == "torch":
        from analyzer.inference.torch_backend import load_torch_backend

        return load_torch_backend(settings)
    from tokenizers import Tokenizer

    from analyzer.inference.registry import E5_PREFIX, encoder_folder

    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ModelNotFoundError("the ONNX backend needs onnxruntime: pip install onnxruntime, "
                                 "or set DARKFEEDBACK_BACKEND=torch") from exc
    folder = onnx_folder(settings)
    tokenizer = Tokenizer.from_file(str(encoder_folder("e5-small", settings) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    meta = json.loads((settings.models_dir / "sentiment" / ARTIFACT_META).read_text())
    config = json.loads((encoder_folder("e5-small", settings) / "config.json").read_text())
    return OnnxBackend(folder, tokenizer, prefix=E5_PREFIX, pad_id=int(config.get("pad_token_id", 0) or 0),
                       sentiment_meta=meta, num_threads=settings.num_threads)
