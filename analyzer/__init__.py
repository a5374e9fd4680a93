"""dark-feedback: read the silent signs of customers about to leave."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
