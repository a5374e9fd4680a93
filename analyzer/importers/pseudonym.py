"""Pseudonymous customer ids: an e-mail address or phone number is never stored as the id.

When a customer id is an e-mail address or a phone number it is replaced by
``px_`` + the first 24 hex digits of HMAC-SHA256(secret, normalised contact), before anything is
written (importers) or stored (the service's ingest). The secret is per installation: the
``pseudonym_secret`` setting (``DARKFEEDBACK_PSEUDONYM_SECRET``) or, when unset, a random 256-bit
key created once in ``data_dir/pseudonym.key`` (0600). The same contact always gets the same id on
one installation, so tables from several sources still join, and nobody without the key can go
back from the id to the address (or test a guessed address against it).

Normalisation before hashing: e-mails are stripped and lower-cased; phone numbers keep their
digits only (``+34 600 12 34 56`` and ``0034600123456`` are one number; a number written without
its country code is a different one). Ids that are neither (a CRM record id, an order
number, an already pseudonymous id) are kept as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from analyzer.errors import ConfigError
from analyzer.io.durable import PRIVATE_FILE_MODE, make_private_dir

__all__ = ["PSEUDONYM_PREFIX", "Pseudonymizer", "is_email", "is_phone", "load_pseudonym_secret"]

PSEUDONYM_PREFIX = "px_"
SECRET_FILE = "pseudonym.key"
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_SEPARATED = re.compile(r"[\s().\-/]")


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value.strip()))


def is_phone(value: str) -> bool:
    """A phone number: digits with an optional ``+`` and separators, 7-15 digits when written with a
    ``+``, a ``00`` prefix or separators (``+34 600 12 34 56``, ``(555) 123-4567``), 9-15 when bare."""
    text = value.strip()
    if not text or not _PHONE_CHARS.match(text):
        return False
    digits = re.sub(r"\D", "", text)
    marked = text.startswith(("+", "00")) or bool(_SEPARATED.search(text))
    return 7 <= len(digits) <= 15 if marked else 9 <= len(digits) <= 15


def _normalise(value: str) -> str | None:
    text = value.strip()
    if is_email(text):
        return "email:" + text.lower()
    if is_phone(text):
        digits = re.sub(r"\D", "", text)
        return "phone:" + (digits[2:] if digits.startswith("00") else digits)
    return None


class Pseudonymizer:
    """Replaces e-mail and phone customer ids by keyed hashes (see the module docstring)."""

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) < 16:
            raise ConfigError(f"the pseudonym secret must be at least 16 bytes; received {len(key)}. Leave "
                              "DARKFEEDBACK_PSEUDONYM_SECRET unset to have one generated in data_dir.")
        self._key = key

    def contact_hash(self, normalised: str) -> str:
        return PSEUDONYM_PREFIX + hmac.new(self._key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()[:24]

    def __call__(self, value: str) -> str:
        """``value`` itself, or its pseudonym when it is an e-mail address or a phone number."""
        norm = _normalise(value)
        return value if norm is None else self.contact_hash(norm)

    def always(self, value: str) -> str:
        """A pseudonym whatever ``value`` is (for display names used as ids, e.g. a WhatsApp contact)."""
        norm = _normalise(value)
        return self.contact_hash(norm if norm is not None else "name:" + " ".join(value.split()).casefold())


def load_pseudonym_secret(secret: str | None, data_dir: Path) -> str:
    """The configured secret, or the installation's own from ``data_dir/pseudonym.key`` (created once, 0600)."""
    if secret:
        return secret
    path = Path(data_dir) / SECRET_FILE
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    make_private_dir(path.parent)
    new = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return new
