"""Durable file operations: fsync'd atomic replacement, directory fsync, private file modes.

Data files the product writes (outputs, checkpoints, the service's database and job files) are
created readable by their owner only (0600 in 0700 folders): they hold customer data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "atomic_write_json", "file_fingerprint", "fsync_dir",
           "make_private_dir", "make_private_file"]

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename or file creation in it survives a power cut (POSIX)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened; renames are durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed; a folder created here is 0700."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            path.chmod(PRIVATE_DIR_MODE)
    return path


def make_private_file(path: Path) -> None:
    """Restrict an existing file to its owner (0600); silently ignored where modes do not apply."""
    with contextlib.suppress(OSError):
        path.chmod(PRIVATE_FILE_MODE)


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` as JSON, atomically and durably (temp file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def file_fingerprint(path: str | os.PathLike[str], head_bytes: int = 1 << 20) -> dict[str, Any]:
    """Size, modification time and a hash of the first ``head_bytes`` of a file.

    Cheap evidence that a file is the one a checkpoint was made from.
    """
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        h.update(fh.read(head_bytes))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_sha256": h.hexdigest()}
