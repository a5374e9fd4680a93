"""Checkpoints of a batch run: where it stopped, what it wrote, bound to its configuration.

A checkpoint is replaced atomically after every unit of work (a chunk for the local engine, a
shard for the Ray engine), once the outputs it points at are flushed and fsynced. A rerun with
the same input and options continues from it; anything different is refused with the list of
what changed, so a resumed output never mixes two runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzer.errors import InputFormatError
from analyzer.io import atomic_write_json

__all__ = ["config_changes", "load_checkpoint", "write_checkpoint"]


def write_checkpoint(path: Path, data: dict[str, Any]) -> None:
    """Replace the checkpoint atomically (a module function, so tests can interrupt it)."""
    atomic_write_json(path, data)


def config_changes(saved: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(config_changes(a, b, f"{prefix}{key}."))
        elif a != b:
            out.append(f"{prefix}{key} (was {a!r}, now {b!r})")
    return out


def load_checkpoint(path: Path, config: dict[str, Any], *, resume: bool, output: Path) -> dict[str, Any] | None:
    """The saved checkpoint to continue from, or None to start over (``resume=False`` removes it)."""
    if not path.exists():
        return None
    if not resume:
        path.unlink()
        return None
    try:
        saved: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"Checkpoint {str(path)!r} is unreadable ({exc}); "
                               "rerun with --no-resume to start over.") from exc
    changes = config_changes(saved.get("config", {}), config)
    if changes:
        raise InputFormatError(
            f"Cannot resume into {str(output)!r}: the checkpoint was made with a different input or options: "
            f"{'; '.join(changes[:6])}. Rerun with --no-resume to start over (this overwrites the output).")
    return saved
