"""Truncation and windows cut from one untruncated encoding (analyzer.text.tokens), and the memory guards
that depend on them: one tokenizer per process, no PyTorch on the ONNX path."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from analyzer.text.tokens import Window, truncate, windows


def test_truncate_keeps_the_closing_special_token():
    ids = [0, *range(10, 20), 2]
    assert truncate(ids, 64) == ids
    assert truncate(ids, 5) == [0, 10, 11, 12, 2]
    assert len(truncate(ids, 5)) == 5
    with pytest.raises(ValueError, match="max_tokens"):
        truncate(ids, 2)


def test_windows_cover_every_content_token_once():
    ids = [0, *range(100, 123), 2]
    offsets = [(0, 0), *[(i, i + 1) for i in range(23)], (0, 0)]
    got = windows(ids, offsets, 10)
    assert [len(w.ids) for w in got] == [10, 10, 9]
    assert all(w.ids[0] == 0 and w.ids[-1] == 2 for w in got)
    assert [t for w in got for t in w.ids[1:-1]] == ids[1:-1]
    assert [o for w in got for o in w.offsets[1:-1]] == offsets[1:-1]
    assert windows(ids, offsets, 64) == [Window(ids, offsets)]


def test_cuts_equal_the_tokenizers_own_truncation_and_overflow(settings):
    """The pipeline's windows are exactly what tokenizers' truncation with overflow produced before."""
    from tokenizers import Tokenizer

    from analyzer.inference.registry import encoder_folder

    path = str(encoder_folder("e5-small", settings) / "tokenizer.json")
    full = Tokenizer.from_file(path)
    full.no_padding()
    full.no_truncation()
    rng = random.Random(7)
    words = ["hola", "el", "pedido", "no", "llega", "nunca", "estoy", "harto", "de", "esperar", "great",
             "service", "thanks", "¿qué?", "ñandú", "😀", "reembolso", "https://x.es/a?b=1", "@Iberia",
             "#fail", "12,50€"]
    for size in (16, 64):
        cut = Tokenizer.from_file(path)
        cut.no_padding()
        cut.enable_truncation(max_length=size)
        for _ in range(150):
            text = "query: " + " ".join(rng.choice(words) for _ in range(rng.randint(1, 90)))
            enc, ref = full.encode(text), cut.encode(text)
            assert truncate(enc.ids, size) == ref.ids
            expected = [Window(e.ids, e.offsets) for e in [ref, *ref.overflowing]]
            assert windows(enc.ids, enc.offsets, size) == expected


@pytest.mark.slow
def test_onnx_path_loads_no_torch_and_one_tokenizer(settings):
    """Analysing with the ONNX backend imports no PyTorch (thinc would, ~300 MB) and holds one tokenizer."""
    code = (
        "import gc, sys\n"
        "from tokenizers import Tokenizer\n"
        "from analyzer.text.pipeline import load_analyzer\n"
        "an = load_analyzer()\n"
        "r = an.analyze(['Hola, soy Juan Pérez y mi pedido no llega. Estoy harto.', 'Great service, thanks!'])\n"
        "assert r[0].sentiment.label == 'negative', r[0].sentiment\n"
        "assert 'torch' not in sys.modules, 'torch was imported on the ONNX path'\n"
        "n = sum(isinstance(o, Tokenizer) for o in gc.get_objects())\n"
        "assert n == 1, f'{n} tokenizers alive'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DARKFEEDBACK_BACKEND": "onnx"})
    assert proc.returncode == 0, proc.stderr[-3000:]
