"""Optional features and the extra that installs them.

The default install runs the ONNX backend with neither torch nor transformers; the PyTorch
reference backend, the torch encoders and training need the ``train`` extra.  A feature asked
for without its extra raises :class:`~analyzer.errors.MissingExtraError`, which says what to
install, instead of a bare ``ModuleNotFoundError`` from deep inside.
"""

from __future__ import annotations

import importlib.util

from analyzer.errors import MissingExtraError

__all__ = ["TRAIN_PACKAGES", "require_train_extra"]

#: The import names the ``train`` extra provides and the torch path imports.
TRAIN_PACKAGES = ("torch", "transformers")


def _installed(module: str) -> bool:
    # A module blocked with ``sys.modules[name] = None`` counts as missing, as ``import`` would.
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # loaded already, without a spec
        return True


def require_train_extra(feature: str) -> None:
    """Raise :class:`MissingExtraError` unless torch and transformers are importable.

    ``feature`` names what was asked for, e.g. ``"the PyTorch backend (DARKFEEDBACK_BACKEND=torch)"``.
    Checks only that the packages can be found; nothing is imported.
    """
    missing = tuple(m for m in TRAIN_PACKAGES if not _installed(m))
    if missing:
        raise MissingExtraError(feature, extra="train", missing=missing)
